"""The experiment list and the experiment menu: every experiment command, one keypress away."""

from __future__ import annotations

import re
from pathlib import Path

from bson import ObjectId

from simulator.actions import browse
from simulator.actions import experiments as actions
from simulator.actions.design import check_note, parse_count
from simulator.cli.menus import analysis, design, perform
from simulator.cli.menus.conversations import browse_conversations
from simulator.cli.menus.filters import choose_filters
from simulator.cli.menus.session import Session
from simulator.cli.render import shown
from simulator.core.safe_text import visible
from simulator.cli.menus.ui import BACK, Option
from simulator.errors import ValidationError

FILTER = "__filter__"


def row_title(doc: dict, conversations: int) -> str:
    star = "★" if doc.get("favourite") else " "
    when = doc["created_at"].strftime("%Y-%m-%d %H:%M") if doc.get("created_at") else "?"
    roles = ", ".join(r["name"] for r in doc.get("roles", []))
    models = ", ".join(sorted({l["model"] for l in doc.get("llms", [])}))
    return (f"{star} {doc['name'][:32]:<32} {doc.get('creator', '')[:12]:<12} {when}  {conversations:>4} conv.  "
            f"{roles[:24]:<24} {models[:40]}")


async def select_experiment(session: Session) -> None:
    filters = browse.Filters()
    while True:
        ok, docs = await session.ui.attempt(actions.list_experiments(
            session.store, creator=filters.creator, favourite=filters.favourite, model=filters.model))
        if not ok:
            return
        ok, counts = await session.ui.attempt(browse.conversation_counts(session.store, [d["_id"] for d in docs]))
        counts = counts or {}
        options = [Option(f"Filter… (showing {filters.describe()})", FILTER)]
        options += [Option(row_title(d, counts.get(d["_id"], 0)), d["_id"]) for d in docs] + [Option("Back", BACK)]
        choice = await session.ui.select(f"Experiments: {len(docs)} ({filters.describe()})", options)
        if choice is None:
            return
        if choice == FILTER:
            filters = await choose_filters(session, filters, conversations=False)
        else:
            await experiment_menu(session, choice)


def describe(session: Session, stored: actions.StoredExperiment, conversations: int) -> None:
    e = stored.experiment
    source = f", duplicated from {e.duplicated_from}" if e.duplicated_from else ""
    session.console.print(
        f"[bold]{'★ ' if e.favourite else ''}{shown(e.name)}[/bold]  [dim]{stored.id} by {shown(e.creator or '?')}"
        f"{shown(source)} · roles {shown(', '.join(e.role_names))} · "
        f"{shown(', '.join(l.label() for l in e.llms))} · {conversations} conversation(s)[/dim]", highlight=False)
    if e.note:
        session.console.print(f"[dim]note: {shown(e.note)}[/dim]", highlight=False)


async def experiment_menu(session: Session, experiment_id: ObjectId) -> None:
    ui = session.ui
    while True:
        ok, stored = await ui.attempt(actions.find(session.store, str(experiment_id)))
        if not ok:
            return
        counts = await browse.conversation_counts(session.store, [stored.id])
        describe(session, stored, counts.get(stored.id, 0))
        choice = await ui.select(f"Experiment {stored.experiment.name!r}", [
            Option("Perform new conversations", "perform"),
            Option("Duplicate and update", "duplicate"),
            Option("Favourite and note", "favourite"),
            Option("Export to file", "export"),
            Option("Show rendered prompts", "prompts"),
            Option("Conversations of this experiment", "conversations"),
            Option("Analyse: scores, outcome labels, tables and figures", "analyse"),
            Option("Delete", "delete"),
            Option("Back", BACK),
        ])
        if choice is None:
            return
        if choice == "perform":
            await perform.perform(session, stored)
        elif choice == "duplicate":
            copy = await design.duplicate_and_update(session, stored)
            if copy is not None:
                experiment_id = copy.id  # carry on with the copy, as the original tool did
        elif choice == "favourite":
            await favourite_and_note(session, stored)
        elif choice == "export":
            await export(session, stored)
        elif choice == "prompts":
            await show_prompts(session, stored)
        elif choice == "conversations":
            await browse_conversations(session, experiment_id=stored.id,
                                       title=f"Conversations of {stored.experiment.name!r}")
        elif choice == "analyse":
            await analysis.analysis_menu(session, stored)
        elif choice == "delete":
            if await delete(session, stored):
                return


async def favourite_and_note(session: Session, stored: actions.StoredExperiment) -> None:
    ui, e = session.ui, stored.experiment
    choice = await ui.select("Favourite and note", [
        Option("Remove favourite mark" if e.favourite else "Mark as favourite", "favourite"),
        Option("Edit note", "note"), Option("Back", BACK)])
    if choice == "favourite":
        ok, _ = await ui.attempt(actions.set_favourite(session.store, session.user, str(stored.id), not e.favourite))
        if ok:
            ui.say("favourite " + ("removed" if e.favourite else "marked"))
    elif choice == "note":
        ok, _ = await ui.attempt(_check_creator(stored, session.user, "change"))
        if not ok:
            return
        note = await ui.text("Note", default=e.note, check=check_note)
        if note is not None:
            ok, _ = await ui.attempt(actions.set_note(session.store, session.user, str(stored.id), note))
            if ok:
                ui.say("note saved")


async def _check_creator(stored: actions.StoredExperiment, user: str, action: str) -> None:
    actions.require_creator(stored, user, action)


def _export_path(text: str) -> Path:
    path = Path(text.strip()).expanduser()
    if not path.name.lower().endswith((".yaml", ".yml", ".json")):
        raise ValidationError("use a .yaml, .yml or .json file name")
    if not path.parent.exists():
        raise ValidationError(f"the folder {path.parent} does not exist")
    return path


async def export(session: Session, stored: actions.StoredExperiment) -> None:
    slug = re.sub(r"[^a-z0-9]+", "-", stored.experiment.name.lower()).strip("-") or "experiment"
    path = await session.ui.value("File to write (.yaml, .yml or .json)", _export_path, default=f"{slug}.yaml")
    if path is None:
        return
    ok, _ = await session.ui.attempt(actions.export_file(session.store, str(stored.id), path))
    if ok:
        session.ui.say(f"exported {stored.experiment.name!r} to {path}")


async def show_prompts(session: Session, stored: actions.StoredExperiment) -> None:
    """The exact prompts every agent and the summarizer get, for counts the researcher picks."""
    ui, e = session.ui, stored.experiment
    counts: dict[str, int] = {}
    for role in e.role_names:
        n = await ui.value(f"How many {role} agents? (1-50)", lambda t: parse_count(t, "agents", 1, 50), default="1")
        if n is None:
            return
        counts[role] = n
    variants: dict[str, str] = {}
    for name, choices in e.variants.items():
        choice = await ui.select(f"Variant {name}", [Option(c, c) for c in choices], default=choices[0])
        if choice is None:
            return
        variants[name] = choice
    ok, rendered = await ui.attempt(_rendered(e, counts, variants))
    for heading, text in rendered or []:
        session.console.rule(f"[bold]{shown(heading)}")
        session.console.print(visible(text), markup=False, highlight=False)


async def _rendered(experiment, counts, variants):
    return actions.rendered_prompts(experiment, counts, variants)


async def delete(session: Session, stored: actions.StoredExperiment) -> bool:
    ui = session.ui
    ok, _ = await ui.attempt(_check_creator(stored, session.user, "delete"))
    if not ok:
        return False
    sure = await ui.confirm(f"Delete {stored.experiment.name!r} with all its conversations and messages?",
                            default=False)
    if not sure:
        return False
    ok, deleted = await ui.attempt(actions.delete(session.store, session.user, str(stored.id)))
    if ok:
        ui.say(f"deleted {stored.experiment.name!r}: {deleted.conversations} conversations, "
               f"{deleted.messages} messages, {deleted.summaries} summaries")
    return ok
