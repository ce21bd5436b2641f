"""Viewing a conversation page by page: turns coloured by role, day headers, summaries.

A long run does not scroll away: it is shown PAGE_SIZE messages at a time, each day's
summary right after that day's last message, and the researcher pages on or back.
"""

from __future__ import annotations

from bson import ObjectId
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from simulator.actions.browse import Transcript, transcript
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option
from simulator.cli.render import print_summary, print_turn, role_colours

PAGE_SIZE = 40


def page_count(n_messages: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-n_messages // size))


def print_page(console: Console, shown: Transcript, page: int, size: int = PAGE_SIZE) -> None:
    doc, messages = shown.doc, shown.messages
    pages = page_count(len(messages), size)
    colours = role_colours(a["role"] for a in doc["agents"])
    summaries = {s["day"]: s["content"] for s in shown.summaries}
    last_of_day = {m.day: m.index for m in messages}
    if page == 0:
        agents = ", ".join(a["name"] for a in doc["agents"])
        console.print(f"[bold]{escape(doc.get('experiment_name', ''))}[/bold]  conversation {doc['_id']}  "
                      f"[dim]{escape(doc['llm']['model'])} · {escape(agents)} · {doc['n_messages']} messages over "
                      f"{doc['days']} day(s) · {doc['speaker_selection']} · by {escape(doc.get('creator', '?'))} · "
                      f"status {doc['status']}[/dim]", highlight=False)
        console.print(Panel(escape(doc["starting_message"]), title="Starting message", border_style="dim"))
    chunk = messages[page * size:(page + 1) * size]
    day = None
    for message in chunk:
        if message.day != day:
            continued = day is None and page > 0 and message.index > 0 and messages[page * size - 1].day == message.day
            day = message.day
            console.rule(f"[bold]Day {day + 1}" + (" (continued)" if continued else ""))
        print_turn(console, message.index, message.speaker, message.role, message.content, colours)
        if last_of_day.get(message.day) == message.index and message.day in summaries:
            print_summary(console, message.day, summaries[message.day])
    if page == pages - 1:
        ending = doc.get("error") or doc.get("stop_reason")
        if ending:
            console.print(f"[dim]{doc['status']}: {escape(ending)}[/dim]", highlight=False)
        if not messages:
            console.print("[dim](no messages yet)[/dim]")
    if pages > 1:
        console.print(f"[dim]page {page + 1} of {pages} · messages {chunk[0].index}–{chunk[-1].index} "
                      f"of {len(messages)}[/dim]", highlight=False)


async def view(session: Session, conversation_id: ObjectId) -> None:
    shown = await transcript(session.store, conversation_id)
    pages = page_count(len(shown.messages))
    page = 0
    while True:
        print_page(session.console, shown, page)
        if pages == 1:
            return
        options = ([Option("Next page", "next")] if page < pages - 1 else []) + \
                  ([Option("Previous page", "previous")] if page > 0 else []) + \
                  [Option("First page", "first"), Option("Last page", "last"), Option("Back", BACK)]
        choice = await session.ui.select(f"Page {page + 1} of {pages}", options)
        if choice is None:
            return
        page = {"next": page + 1, "previous": page - 1, "first": 0, "last": pages - 1}[choice]
