"""Viewing a conversation page by page: turns coloured by role or participant, sections, summaries.

A long run does not scroll away: it is shown PAGE_SIZE messages at a time, each day's
summary right after that day's last message, and the researcher pages on or back.
"""

from __future__ import annotations

from typing import Mapping

from bson import ObjectId
from rich.console import Console

from simulator.actions.browse import Transcript, transcript
from simulator.actions.scoring import message_scores
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option
from simulator.cli.render import print_ending, print_messages, print_opening, section

PAGE_SIZE = 40


def page_count(n_messages: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-n_messages // size))


def print_page(console: Console, shown: Transcript, page: int, size: int = PAGE_SIZE,
               scores: Mapping[int, Mapping[str, float]] | None = None) -> None:
    messages = shown.messages
    pages = page_count(len(messages), size)
    if page == 0:
        print_opening(console, shown.conversation)
    chunk = messages[page * size:(page + 1) * size]
    previous = messages[page * size - 1] if page > 0 and chunk else None
    print_messages(console, shown, chunk, continued_from=section(shown.conversation, previous.day, previous.round)
                   if previous else None, scores=scores)
    if page == pages - 1:
        print_ending(console, shown.conversation)
        if not messages:
            console.print("[dim](no messages yet)[/dim]")
    if pages > 1:
        console.print(f"[dim]page {page + 1} of {pages} · messages {chunk[0].index}–{chunk[-1].index} "
                      f"of {len(messages)}[/dim]", highlight=False)


async def view(session: Session, conversation_id: ObjectId) -> None:
    shown = await transcript(session.store, conversation_id)
    scores = await message_scores(session.store, conversation_id)  # shown beside each message, if scored
    pages = page_count(len(shown.messages))
    page = 0
    while True:
        print_page(session.console, shown, page, scores=scores)
        if pages == 1:
            return
        options = ([Option("Next page", "next")] if page < pages - 1 else []) + \
                  ([Option("Previous page", "previous")] if page > 0 else []) + \
                  [Option("First page", "first"), Option("Last page", "last"), Option("Back", BACK)]
        choice = await session.ui.select(f"Page {page + 1} of {pages}", options)
        if choice is None:
            return
        page = {"next": page + 1, "previous": page - 1, "first": 0, "last": pages - 1}[choice]
