"""Conversation lists and the conversation menu: view, resume, export, favourite, delete."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bson import ObjectId

from simulator.actions import browse
from simulator.actions import conversations as runs
from simulator.cli.export import render_export
from simulator.cli.menus.filters import choose_filters
from simulator.cli.menus.session import Session, interruptible
from simulator.cli.menus.ui import BACK, Option
from simulator.cli.menus.view import view
from simulator.cli.render import LiveTranscript
from simulator.errors import ValidationError
from simulator.core.conversation import Conversation, Status
from simulator.store.conversations import ConversationRow

FILTER = "__filter__"


def row_title(row: ConversationRow) -> str:
    star = "★" if row.favourite else " "
    when = row.created_at.strftime("%Y-%m-%d %H:%M") if row.created_at else "?"
    agents = "v".join(str(n) for n in row.agent_counts.values()) or f"{row.participants}p"
    return (f"{star} {when}  {row.creator[:12]:<12} {row.title[:28]:<28} {row.model[:22]:<22} "
            f"{agents:<5} {row.status:<9} {row.messages}/{row.n_messages} msgs  …{str(row.id)[-6:]}")


async def browse_conversations(session: Session, experiment_id: ObjectId | None = None, title: str = "") -> None:
    """A filterable list, newest first; choosing one opens its menu."""
    filters = browse.Filters()
    while True:
        ok, rows = await session.ui.attempt(browse.list_conversations(session.store, filters,
                                                                      experiment_id=experiment_id))
        if not ok:
            return
        heading = f"{title or 'Conversations'}: {len(rows)} ({filters.describe()})"
        options = [Option(f"Filter… (showing {filters.describe()})", FILTER)]
        options += [Option(row_title(r), r.id) for r in rows] + [Option("Back", BACK)]
        choice = await session.ui.select(heading, options)
        if choice is None:
            return
        if choice == FILTER:
            filters = await choose_filters(session, filters, conversations=True)
        else:
            await conversation_menu(session, choice)


async def conversation_menu(session: Session, conversation_id: ObjectId) -> None:
    ui = session.ui
    while True:
        ok, conversation = await ui.attempt(session.store.conversations.get(conversation_id))
        if not ok:
            return
        star = "★ " if conversation.favourite else ""
        options = [Option("View", "view")]
        if conversation.status is not Status.COMPLETED:
            options.append(Option(f"Resume (status {conversation.status.value})", "resume"))
        options += [Option("Export to file", "export"),
                    Option("Remove favourite mark" if conversation.favourite else "Mark as favourite", "favourite"),
                    Option("Delete", "delete"), Option("Back", BACK)]
        choice = await ui.select(f"{star}Conversation {conversation_id} of {conversation.title or '?'} "
                                 f"by {conversation.creator or '?'}", options)
        if choice is None:
            return
        if choice == "view":
            await ui.attempt(view(session, conversation_id))
        elif choice == "resume":
            await resume(session, conversation)
        elif choice == "export":
            await export(session, conversation)
        elif choice == "favourite":
            ok, _ = await ui.attempt(browse.set_favourite(session.store, session.user, conversation_id,
                                                          not conversation.favourite))
            if ok:
                ui.say("favourite " + ("removed" if conversation.favourite else "marked"))
        elif choice == "delete":
            if await delete(session, conversation):
                return


def menu_chooser(session: Session):
    """Manual speaker selection in the menus: Esc stops the run (resumable) instead of choosing."""

    async def choose(state):
        name = await session.ui.select("Who speaks next?", [Option(a.name, a.name) for a in state.agents])
        if name is None:
            raise asyncio.CancelledError  # the run stores itself as stopped, as on Ctrl-C
        return state.agent(name)

    return choose


async def resume(session: Session, conversation: Conversation) -> None:
    ui, cid = session.ui, conversation.id
    ok, _ = await ui.attempt(_check_creator(conversation, session.user, "resume"))
    if not ok:
        return
    done = await session.store.messages.first_missing_index(cid)
    ui.say(f"resuming at message {done} of {conversation.spec.n_messages} (was {conversation.status.value}); "
           f"Ctrl-C stops")
    observer = LiveTranscript(session.console, conversation)
    chooser = menu_chooser(session) if conversation.spec.option("speaker_selection") == "manual" else None
    ok, finished = await ui.attempt(interruptible(runs.run(session.store, session.settings, cid,
                                                           session.model_settings(), observer=observer,
                                                           chooser=chooser)))
    if not ok:
        return
    completed, outcome = finished
    if not completed:
        ui.say("stopped; it can be resumed from here later", style="yellow")
    else:
        ui.say(f"{outcome.status.value}: {outcome.reason} — {outcome.messages} messages stored")


async def export(session: Session, conversation: Conversation) -> None:
    ui = session.ui
    fmt = await ui.select("Format", [Option("text (txt)", "txt"), Option("JSON lines (jsonl)", "jsonl"),
                                     Option("CSV", "csv"), Option("the whole run as JSON (json)", "json")])
    if fmt is None:
        return
    path = await ui.text("File to write", default=f"conversation-{conversation.id}.{fmt}", check=_writable)
    if path is None:
        return
    ok, shown = await ui.attempt(browse.transcript(session.store, conversation.id))
    if not ok:
        return
    text = render_export(fmt, shown, with_summaries=True)  # the menu asks nothing more: the whole run
    try:
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except OSError as exc:
        ui.error(ValidationError(f"cannot write {path}: {exc.strerror or exc}"))
        return
    ui.say(f"wrote {len(shown.messages)} messages to {path}")


def _writable(text: str) -> None:
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise ValidationError("give a file name")
    if path.is_dir():
        raise ValidationError(f"{text} is a folder")
    if not path.parent.exists():
        raise ValidationError(f"the folder {path.parent} does not exist")


async def delete(session: Session, conversation: Conversation) -> bool:
    """True when deleted. The creator check comes first, so nobody confirms what they may not do."""
    ui = session.ui
    ok, _ = await ui.attempt(_check_creator(conversation, session.user, "delete"))
    if not ok:
        return False
    sure = await ui.confirm(f"Delete conversation {conversation.id} with its messages and summaries?", default=False)
    if not sure:
        return False
    ok, deleted = await ui.attempt(browse.delete(session.store, session.user, conversation.id))
    if ok:
        ui.say(f"deleted conversation {conversation.id}: {deleted.messages} messages, {deleted.summaries} summaries")
    return ok


async def _check_creator(conversation: Conversation, user: str, action: str) -> None:
    browse.require_creator(conversation, user, action)
