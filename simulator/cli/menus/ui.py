"""Prompts for the menus: questionary questions where Esc and Ctrl-C mean "back".

Every prompt returns None when the researcher presses Esc or Ctrl-C, and each menu
level treats None as "go back one level", so nothing ever ends in a traceback. Answers
are checked as they are typed (questionary keeps the text and shows the problem), so an
invalid answer never loses what was typed. Errors from an action are shown on one line;
unexpected ones also go to the log with their traceback.

Every question, choice and line shown passes `visible()`: a name holding an ESC sequence or
a direction override is shown as its escape, never sent raw to the terminal.

Prompts read from the current prompt_toolkit app session, so tests drive them through
`create_pipe_input()`; `before_prompt` lets a test see each question as it is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Sequence, TypeVar

import questionary
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from questionary import Choice
from rich.console import Console
from rich.markup import escape

from simulator.core.safe_text import visible
from simulator.errors import SimulatorError
from simulator.logs import get_logger, log_dir

log = get_logger("menus")
T = TypeVar("T")

BACK = "__back__"

_back_keys = KeyBindings()


@_back_keys.add("escape")
def _escape(event) -> None:
    """Esc cancels like Ctrl-C. Not eager: Esc followed by a key is still Alt+key (Alt+Enter)."""
    event.app.exit(exception=KeyboardInterrupt, style="class:aborting")


_multiline_keys = KeyBindings()


@_multiline_keys.add("c-d")
def _done(event) -> None:
    event.current_buffer.validate_and_handle()


@dataclass(frozen=True)
class Option:
    """One line of a select: what is shown and what comes back."""

    title: str
    value: Any


def _checker(check: Callable[[str], Any] | None) -> Callable[[str], bool | str] | None:
    if check is None:
        return None

    def validate(text: str) -> bool | str:
        try:
            check(text)
        except SimulatorError as exc:
            return exc.one_line()
        return True

    return validate


class Ui:
    """The menus' prompts and one-line messages, on one rich Console."""

    def __init__(self, console: Console, before_prompt: Callable[[str], None] | None = None):
        self.console = console
        self.before_prompt = before_prompt

    # --- asking -----------------------------------------------------------------------------

    async def ask(self, question: questionary.Question, message: str, *, multiline: bool = False) -> Any:
        app = question.application
        extra = [_back_keys] + ([_multiline_keys] if multiline else [])
        app.key_bindings = merge_key_bindings([b for b in (app.key_bindings, *extra) if b is not None])
        app.ttimeoutlen = 0.05  # a lone Esc byte is Esc after 50 ms, not half a second
        app.timeoutlen = 0.4  # Esc waits this long for a following key (Alt+key) before it means back
        if self.before_prompt is not None:
            self.before_prompt(message)
        try:
            return await question.unsafe_ask_async()
        except (KeyboardInterrupt, EOFError):
            return None

    async def select(self, message: str, options: Sequence[Option], default: Any = None) -> Any:
        """The chosen option's value; None on Esc, Ctrl-C or a `Back` option."""
        message = visible(message)
        choices = [Choice(visible(o.title), value=o.value) for o in options]
        initial = next((c for c in choices if c.value == default), None) if default is not None else None
        question = questionary.select(message, choices=choices, default=initial, use_search_filter=True,
                                      use_jk_keys=False, instruction="(arrows or type to filter; Esc: back)")
        answer = await self.ask(question, message)
        return None if answer == BACK else answer

    async def text(self, message: str, *, default: str = "", check: Callable[[str], Any] | None = None,
                   multiline: bool = False, instruction: str | None = None) -> str | None:
        if multiline and instruction is None:
            instruction = "(Enter: new line; Ctrl-D or Alt+Enter: done; Esc: back)"
        message = visible(message)
        question = questionary.text(message, default=default, validate=_checker(check), multiline=multiline,
                                    instruction=instruction)
        return await self.ask(question, message, multiline=multiline)

    async def value(self, message: str, parse: Callable[[str], T], *, default: str = "",
                    instruction: str | None = None) -> T | None:
        """A typed answer turned into a value by `parse`, which also checks it while typing."""
        answer = await self.text(message, default=default, check=parse, instruction=instruction)
        return None if answer is None else parse(answer)

    async def password(self, message: str) -> str | None:
        message = visible(message)
        return await self.ask(questionary.password(message), message)

    async def confirm(self, message: str, default: bool = False) -> bool | None:
        message = visible(message)
        return await self.ask(questionary.confirm(message, default=default), message)

    async def checkbox(self, message: str, options: Iterable[tuple[str, Any, bool]], *,
                       at_least_one: bool = False) -> list[Any] | None:
        message = visible(message)
        choices = [Choice(visible(title), value=value, checked=checked) for title, value, checked in options]

        def validate(chosen: list[Any]) -> bool | str:
            return True if chosen or not at_least_one else "choose at least one (space toggles)"

        question = questionary.checkbox(message, choices=choices, validate=validate,
                                        instruction="(space: toggle, Enter: done, Esc: back)")
        return await self.ask(question, message)

    # --- telling ----------------------------------------------------------------------------

    def say(self, text: str, style: str | None = None) -> None:
        self.console.print(escape(visible(text)), style=style, highlight=False)

    def error(self, exc: BaseException) -> None:
        """One line on screen; a bug's traceback goes to the log, never to the screen."""
        if isinstance(exc, SimulatorError):
            self.console.print(f"[red]error:[/red] {escape(visible(exc.one_line()))}", highlight=False)
            return
        log.error("unexpected error in the menus", exc_info=(type(exc), exc, exc.__traceback__))
        path = log_dir() / "simulator.log"
        self.console.print(f"[red]unexpected error:[/red] {escape(type(exc).__name__)} (details in {path})",
                           highlight=False)

    async def attempt(self, work: Awaitable[T]) -> tuple[bool, T | None]:
        """Run an action; on failure show one line and report False, so the menu goes on."""
        try:
            return True, await work
        except SimulatorError as exc:
            log.info("menu action failed: %s", exc.one_line())
            self.error(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: one line here, the traceback in the log
            self.error(exc)
        return False, None
