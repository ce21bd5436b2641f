"""Rich rendering of conversations: turns coloured by role, day headers, summaries."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from simulator.engine.state import Turn

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def role_colours(roles: Iterable[str]) -> dict[str, str]:
    return {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(dict.fromkeys(roles))}


class LiveTranscript:
    """The engine's observer for `simulator run`: prints each turn as it is stored."""

    def __init__(self, console: Console, roles: Iterable[str], days: int, first_day_shown: int = -1):
        self.console = console
        self.colours = role_colours(roles)
        self.days = days
        self.day_shown = first_day_shown

    def on_turn(self, turn: Turn, note: str | None) -> None:
        if turn.day != self.day_shown:
            self.day_shown = turn.day
            if self.days > 1:
                self.console.rule(f"[bold]Day {turn.day + 1} of {self.days}")
        print_turn(self.console, turn.index, turn.speaker, turn.role, turn.content, self.colours)
        if note:
            self.console.print(f"[dim]   ({escape(note)})[/dim]")

    def on_summary(self, day: int, content: str) -> None:
        print_summary(self.console, day, content)


def print_turn(console: Console, index: int, speaker: str, role: str, content: str,
               colours: dict[str, str]) -> None:
    colour = colours.get(role, "white")
    console.print(f"[dim]{index:>3}[/dim] [bold {colour}]{escape(speaker)}[/bold {colour}]: {escape(content)}",
                  highlight=False)


def print_summary(console: Console, day: int, content: str) -> None:
    console.print(Panel(escape(content), title=f"Summary of day {day + 1}", border_style="dim", expand=False))


def print_conversation(console: Console, doc: dict[str, Any], messages: list, summaries: list[dict]) -> None:
    colours = role_colours(a["role"] for a in doc["agents"])
    agents = ", ".join(f"{a['name']}" for a in doc["agents"])
    console.print(f"[bold]{escape(doc.get('experiment_name', ''))}[/bold]  conversation {doc['_id']}  "
                  f"[dim]{doc['llm']['model']} · {agents} · {doc['n_messages']} messages over {doc['days']} day(s) · "
                  f"{doc['speaker_selection']} · status {doc['status']}[/dim]", highlight=False)
    console.print(Panel(escape(doc["starting_message"]), title="Starting message", border_style="dim"))
    by_day = {s["day"]: s["content"] for s in summaries}
    day = None
    for message in messages:
        if message.day != day:
            if day is not None and day in by_day:
                print_summary(console, day, by_day[day])
            day = message.day
            console.rule(f"[bold]Day {day + 1}")
        print_turn(console, message.index, message.speaker, message.role, message.content, colours)
    if day is not None and day in by_day:
        print_summary(console, day, by_day[day])
    ending = doc.get("error") or doc.get("stop_reason")
    if ending:
        console.print(f"[dim]{doc['status']}: {escape(ending)}[/dim]")
