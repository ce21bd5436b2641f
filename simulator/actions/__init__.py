"""Use cases shared by the commands and the menus: each takes a Store and plain values.

The CLI and the menus only gather input and render output; the rules (who may
change what, what is deleted with what) live here, once.
"""
