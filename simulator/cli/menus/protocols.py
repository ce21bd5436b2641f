"""Running a protocol from the menus: its entries and questions come from the protocol registry.

Every protocol that needs no experiment gets an entry; its questions are its declared
inputs and options (ranges and defaults shown, each answer checked as it is typed), and
the runs go through the same preview and batch runner as an experiment's.
"""

from __future__ import annotations

from typing import Any

from simulator.cli.menus.perform import preview_and_run
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option as Choice
from simulator.protocols import PROTOCOLS, Option, Protocol
from simulator.protocols.base import Common


def menu_protocols() -> list[Protocol]:
    """The protocols the start menu runs directly (role experiments start from their experiment)."""
    return [p for p in PROTOCOLS.values() if not p.needs_experiment]


async def protocols_menu(session: Session) -> None:
    choices = [Choice(f"{p.title}: {p.summary}", p.name) for p in menu_protocols()] + [Choice("Back", BACK)]
    name = await session.ui.select("Run a protocol", choices)
    if name is not None:
        await run_protocol(session, PROTOCOLS[name])


async def ask(session: Session, option: Option) -> tuple[bool, Any]:
    """(answered, value); not answered when the researcher goes back (Esc)."""
    ui = session.ui
    question = option.help[:1].upper() + option.help[1:]
    if option.kind == "flag":
        answer = await ui.confirm(question, default=bool(option.default))
        return answer is not None, answer
    if option.kind == "choice" and option.repeatable:  # several: a sweep over them
        answer = await ui.checkbox(question, [(c, c, c == (option.default or option.choices[0]))
                                              for c in option.choices], at_least_one=True)
        return answer is not None, answer
    if option.kind == "choice":
        answer = await ui.select(question, [Choice(c, c) for c in option.choices], default=option.default)
        return answer is not None, answer
    shown = option.describe_range()
    if option.kind == "texts":
        question += " (one per line)"
    elif shown:
        question += f" ({shown})"
    default = "\n".join(option.default) if option.kind == "texts" and option.default else \
        "" if option.default in (None, (), {}) else str(option.default)
    answer = await ui.text(question, default=default, check=option.parse_text, multiline=option.kind == "texts")
    return answer is not None, None if answer is None else option.parse_text(answer)


async def run_protocol(session: Session, protocol: Protocol) -> None:
    values: dict[str, Any] = {}
    for option in protocol.asked():
        answered, value = await ask(session, option)
        if not answered:
            return
        values[option.name] = value
    ok, plan = await session.ui.attempt(_plan(protocol, values, session.settings.model_aliases))
    if ok:
        await preview_and_run(session, plan)


async def _plan(protocol: Protocol, values: dict[str, Any], aliases):
    return protocol.plan(values, Common(aliases=aliases))
