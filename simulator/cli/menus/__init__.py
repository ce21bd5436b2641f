"""The interactive menus (`simulator` with no arguments): questionary prompts, rich output.

app.py logs in and runs the start menu; one module per menu level; ui.py holds the
prompts (Esc and Ctrl-C go back one level). No business logic here: each action calls
the same functions as the commands (simulator/actions, the batch runner).
"""
