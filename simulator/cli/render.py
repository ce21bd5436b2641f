"""Rendering conversations: the one place that decides how a transcript reads.

`simulator show`, the live view of a run, the menus' paged view and the txt export all
draw on these: the header line, the section a message opens (a day, or a round), the
colour of a speaker (by role in role experiments, by participant elsewhere).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from simulator import protocols
from simulator.actions.browse import Transcript
from simulator.core.conversation import Conversation
from simulator.core.safe_text import visible
from simulator.engine.state import Turn

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def shown(text: object) -> str:
    """Data inside rich markup: its own brackets escaped, control characters made visible."""
    return escape(visible(str(text)))


def role_colours(roles: Iterable[str]) -> dict[str, str]:
    return {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(dict.fromkeys(roles))}


def by_role(conversation: Conversation) -> bool:
    """Role experiments colour by role; protocols where each participant is its own voice, by speaker."""
    return protocols.get(conversation.spec.protocol).has_roles


class Colours:
    def __init__(self, conversation: Conversation):
        self.by_role = by_role(conversation)
        self.colours = role_colours(a.role if self.by_role else a.name for a in conversation.agents)

    def of(self, speaker: str, role: str) -> str:
        return self.colours.get(role if self.by_role else speaker, "white")


def section(conversation: Conversation, day: int, round_: int | None) -> str | None:
    """The heading a message falls under: its day in protocols with days, else its round, else none."""
    if by_role(conversation):
        return f"Day {day + 1}"
    return f"Round {round_ + 1}" if round_ is not None else None


def header(conversation: Conversation) -> str:
    spec = conversation.spec
    models = " + ".join(dict.fromkeys(l.model for l in spec.llms))
    agents = ", ".join(a.name for a in conversation.agents)
    if by_role(conversation):
        shape = (f"{spec.n_messages} messages over {spec.option('days', 1)} day(s) · "
                 f"{spec.option('speaker_selection')}")
    else:
        shape = f"{spec.protocol} · up to {spec.n_messages} messages"
    return (f"[bold]{shown(conversation.title)}[/bold]  conversation {conversation.id}  "
            f"[dim]{shown(models)} · {shown(agents)} · {shown(shape)} · by {shown(conversation.creator or '?')} · "
            f"status {conversation.status.value}[/dim]")


class LiveTranscript:
    """The engine's observer for a run shown in the terminal: prints each turn as it is stored."""

    def __init__(self, console: Console, conversation: Conversation):
        self.console = console
        self.conversation = conversation
        self.colours = Colours(conversation)
        self.readable = protocols.get(conversation.spec.protocol).readable
        self.section_shown: str | None = None

    def on_turn(self, turn: Turn, note: str | None) -> None:
        heading = section(self.conversation, turn.day, turn.round)
        if heading != self.section_shown:
            self.section_shown = heading
            if heading and (self.conversation.spec.option("days", 1) > 1 or turn.round is not None):
                self.console.rule(f"[bold]{shown(heading)}")
        print_turn(self.console, turn.index, turn.speaker, self.readable(turn.role, turn.content),
                   self.colours.of(turn.speaker, turn.role))
        if note:
            self.console.print(f"[dim]   ({shown(note)})[/dim]")

    def on_summary(self, day: int, content: str) -> None:
        print_summary(self.console, day, content)


def print_turn(console: Console, index: int, speaker: str, content: str, colour: str,
               scores: Mapping[str, float] | None = None) -> None:
    console.print(f"[dim]{index:>3}[/dim] [bold {colour}]{shown(speaker)}[/bold {colour}]: {shown(content)}"
                  + (f"  [dim]\\[{escape(score_text(scores))}][/dim]" if scores else ""), highlight=False)


def score_text(scores: Mapping[str, float]) -> str:
    """A message's stored scores, e.g. "classifier.toxicity 0.95"."""
    return ", ".join(f"{name} {value:.2f}" for name, value in sorted(scores.items()))


def print_summary(console: Console, day: int, content: str) -> None:
    console.print(Panel(shown(content), title=f"Summary of day {day + 1}", border_style="dim", expand=False))


def print_messages(console: Console, transcript: Transcript, messages: list, continued_from: str | None = None,
                   scores: Mapping[int, Mapping[str, float]] | None = None) -> None:
    """Messages with their section rules, each day's summary after the day's last message.
    `continued_from`: the section the previous page ended in, so its rule says "(continued)";
    `scores`: message index -> its stored scores, shown after the message."""
    conversation = transcript.conversation
    colours = Colours(conversation)
    readable = protocols.get(conversation.spec.protocol).readable
    summaries = {s["day"]: s["content"] for s in transcript.summaries}
    last_of_day = {m.day: m.index for m in transcript.messages}
    current = None
    for i, message in enumerate(messages):
        heading = section(conversation, message.day, message.round)
        if heading != current:
            if heading:
                continued = " (continued)" if i == 0 and heading == continued_from else ""
                console.rule(f"[bold]{shown(heading)}{continued}")
            current = heading
        print_turn(console, message.index, message.speaker, readable(message.role, message.content),
                   colours.of(message.speaker, message.role), (scores or {}).get(message.index))
        if last_of_day.get(message.day) == message.index and message.day in summaries:
            print_summary(console, message.day, summaries[message.day])


def print_opening(console: Console, conversation: Conversation) -> None:
    console.print(header(conversation), highlight=False)
    if conversation.prepared.starting_message:
        console.print(Panel(shown(conversation.prepared.starting_message), title="Starting message",
                            border_style="dim"))


def print_ending(console: Console, conversation: Conversation) -> None:
    if conversation.ending:
        console.print(f"[dim]{conversation.status.value}: {shown(conversation.ending)}[/dim]", highlight=False)


def print_conversation(console: Console, transcript: Transcript) -> None:
    print_opening(console, transcript.conversation)
    print_messages(console, transcript, transcript.messages)
    print_ending(console, transcript.conversation)


def transcript_lines(transcript: Transcript) -> Iterator[str]:
    """The plain-text export: title, starting message, sections, turns and summaries."""
    conversation = transcript.conversation
    by_day = {s["day"]: s["content"] for s in transcript.summaries}
    yield f"# {visible(conversation.title)} — conversation {conversation.id}"
    yield ""
    if conversation.prepared.starting_message:
        yield visible(conversation.prepared.starting_message)
        yield ""
    current, day = None, None
    for m in transcript.messages:
        heading = section(conversation, m.day, m.round)
        if heading != current:
            if day is not None and day in by_day and m.day != day:
                yield from ("", f"[Summary of day {day + 1}] {visible(by_day[day])}")
            current = heading
            if heading:
                yield from ("", f"== {heading} ==")
        day = m.day
        yield f"{visible(m.speaker)}: {visible(m.content)}"
    if day is not None and day in by_day:
        yield from ("", f"[Summary of day {day + 1}] {visible(by_day[day])}")
