"""Create experiment, and duplicate-and-update: the experiment built one checked answer at a time.

The draft is a plain dict in the file shape. Each answer is checked as it is typed
(simulator/actions/design.py); the whole experiment is validated when saved, and if
that fails the researcher picks the part to fix with everything typed still there.
Leaving with Esc keeps the draft in the session, and Create offers to continue it.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rich.markup import escape
from rich.table import Table

from simulator.actions import design as rules
from simulator.actions.experiments import StoredExperiment
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option, Ui
from simulator.core.experiment import MAX_LLMS

PARTS = (("start", "Starting message"), ("llms", "LLMs and their sampling parameters"),
         ("sections", "Section titles, shared or private"), ("roles", "Roles"),
         ("summarizer", "Summarizer sections"), ("favourite", "Favourite and note"),
         ("contents", "Contents of the sections and prompts"))


# --- one part each -----------------------------------------------------------------------------

async def ask_name(ui: Ui, draft: dict, message: str = "Name of the experiment") -> bool:
    name = await ui.value(message, rules.check_name, default=draft["name"])
    if name is None:
        return False
    draft["name"] = name
    return True


async def ask_start(ui: Ui, draft: dict) -> bool:
    roles, variants = rules.role_names(draft), rules.variants_of(draft)

    def check(text: str) -> str:  # role variables can be checked once roles exist; else when saving
        return rules.check_content(text, roles, variants, False) if roles else rules.check_text(text)

    show_variables(ui, draft, with_agent=False, where="the starting message")  # before it is typed, not after
    text = await ui.text("Starting message (the first thing said in the room)", default=draft["starting_message"],
                         check=check, multiline=True)
    if text is None:
        return False
    draft["starting_message"] = text
    return True


async def ask_llms(ui: Ui, draft: dict) -> bool:
    before, llms = draft["llms"], []
    while True:
        n, old = len(llms) + 1, (before[len(llms)] if len(llms) < len(before) else {})
        answers = []
        for message, parse, default in (
                (f"LLM {n}: model spec (provider/name)", rules.check_model, old.get("model", rules.DEFAULT_MODEL)),
                (f"LLM {n}: temperature (0 to 2, default {rules.DEFAULT_TEMPERATURE:g})", rules.parse_temperature,
                 _shown(old.get("temperature", rules.DEFAULT_TEMPERATURE))),
                (f"LLM {n}: top_k (1 to 1000; blank: the model's default)", rules.parse_top_k,
                 _shown(old.get("top_k"))),
                (f"LLM {n}: top_p (above 0, at most 1; blank: the model's default)", rules.parse_top_p,
                 _shown(old.get("top_p"))),
                (f"LLM {n}: max tokens per reply (1 to 100000; blank: the model's own limit)", rules.parse_max_tokens,
                 _shown(old.get("max_tokens")))):
            text = await ui.text(message, default=default, check=parse)
            if text is None:
                return False
            answers.append(parse(text))
        model, temperature, top_k, top_p, max_tokens = answers
        llms.append({k: v for k, v in {"model": model, "temperature": temperature, "top_k": top_k, "top_p": top_p,
                                       "max_tokens": max_tokens}.items() if v is not None})
        if len(llms) >= MAX_LLMS:
            break
        more = await ui.confirm("Add another LLM?", default=len(llms) < len(before))
        if more is None:
            return False
        if not more:
            break
    draft["llms"] = llms
    text = await ui.text(f"Longest turn in paragraphs (1 to {rules.MAX_PARAGRAPHS}; blank: no limit; a longer "
                         f"turn keeps its first paragraphs)", default=_shown(draft.get("max_paragraphs")),
                         check=rules.parse_max_paragraphs)
    if text is None:
        return False
    paragraphs = rules.parse_max_paragraphs(text)
    if paragraphs is None:
        draft.pop("max_paragraphs", None)
    else:
        draft["max_paragraphs"] = paragraphs
    return True


def _shown(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


async def ask_sections(ui: Ui, draft: dict) -> bool:
    titles = await ui.value("Section titles every agent's prompt has, in order (comma-separated, e.g. "
                            "Setting, Goal, Personality)", rules.split_titles,
                            default=", ".join(s["title"] for s in draft["sections"]))
    if titles is None:
        return False
    was_shared = {s["title"] for s in draft["sections"] if s["shared"]}
    shared: list[str] = []
    if titles:
        chosen = await ui.checkbox("Which sections are shared (the same text for every role)? "
                                   "The others are private: each role writes its own",
                                   [(t, t, t in was_shared) for t in titles])
        if chosen is None:
            return False
        shared = chosen
    rules.set_sections(draft, titles, set(shared))
    return True


async def ask_roles(ui: Ui, draft: dict) -> bool:
    names = await ui.value("Roles (comma-separated, lower case, e.g. guard, prisoner)", rules.parse_role_names,
                           default=", ".join(rules.role_names(draft)))
    if names is None:
        return False
    rules.set_roles(draft, names)
    return True


async def ask_summarizer(ui: Ui, draft: dict) -> bool:
    titles = await ui.value("Summarizer section titles (comma-separated; blank for none)",
                            lambda t: rules.split_titles(t, "summarizer section titles"),
                            default=", ".join(s["title"] for s in draft["summarizer"]["sections"]))
    if titles is None:
        return False
    rules.set_summarizer_sections(draft, titles)
    return True


async def ask_favourite(ui: Ui, draft: dict) -> bool:
    favourite = await ui.confirm("Mark as favourite?", default=bool(draft["favourite"]))
    if favourite is None:
        return False
    note = await ui.text("Note (optional)", default=draft["note"], check=rules.check_note)
    if note is None:
        return False
    draft["favourite"], draft["note"] = favourite, note
    return True


def show_variables(ui: Ui, draft: dict, with_agent: bool, where: str | None = None) -> None:
    where = where or ("agents' prompts" if with_agent else "the summarizer")
    table = Table(title=f"Template variables for {where}",
                  title_justify="left", show_edge=False)
    table.add_column("write")
    table.add_column("gives (1 agent / 2 agents)", style="dim")
    for expression, meaning in rules.template_variables(rules.role_names(draft), rules.variants_of(draft),
                                                        with_agent):
        table.add_row(escape(expression), escape(meaning))
    ui.console.print(table)


async def ask_contents(ui: Ui, draft: dict, *, only_missing: bool) -> bool:
    shown: set[bool] = set()
    for slot in rules.slots(draft):
        current = rules.slot_text(draft, slot)
        if only_missing and current.strip():
            continue
        if slot.with_agent not in shown:
            show_variables(ui, draft, slot.with_agent)
            shown.add(slot.with_agent)
        text = await ui.text(slot.label, default=current, multiline=True,
                             check=lambda t, slot=slot: rules.check_slot(draft, slot, t))
        if text is None:
            return False
        rules.set_slot_text(draft, slot, text)
    return True


async def ask_part(ui: Ui, draft: dict, part: str) -> bool:
    if part == "contents":
        return await ask_contents(ui, draft, only_missing=False)
    step: Callable[[Ui, dict], Awaitable[bool]] = {
        "name": ask_name, "start": ask_start, "llms": ask_llms, "sections": ask_sections, "roles": ask_roles,
        "summarizer": ask_summarizer, "favourite": ask_favourite}[part]
    return await step(ui, draft)


# --- saving, and fixing what the full validation finds ---------------------------------------

def guess_part(message: str) -> str:
    """The part a validation message points at (`...is invalid: starting_message: ...`); texts otherwise."""
    for marker, part in (("starting_message", "start"), ("llms", "llms"), ("invalid: name", "name")):
        if marker in message:
            return part
    return "contents"


async def save(session: Session, draft: dict,
               store_it: Callable[[dict], Awaitable[StoredExperiment]]) -> StoredExperiment | None:
    ui = session.ui
    while True:
        try:
            return await store_it(draft)
        except Exception as exc:  # noqa: BLE001 - shown as one line; the draft stays for fixing
            ui.error(exc)
            guess = guess_part(getattr(exc, "message", ""))
        part = await ui.select("Fix which part? Everything typed is kept",
                               [Option("Name", "name")] + [Option(label, key) for key, label in PARTS] +
                               [Option("Leave it (the draft is kept for later)", BACK)], default=guess)
        if part is None:
            return None
        await ask_part(ui, draft, part)


# --- the two flows ---------------------------------------------------------------------------

async def create_experiment(session: Session) -> StoredExperiment | None:
    ui = session.ui
    if session.draft is not None:
        choice = await ui.select(f"An unfinished experiment {session.draft['name'] or '(unnamed)'!r} is kept",
                                 [Option("Continue it", "continue"), Option("Start a new one", "new"),
                                  Option("Back", BACK)])
        if choice is None:
            return None
        if choice == "new":
            session.draft = None
    if session.draft is None:
        session.draft = rules.empty_draft()
        session.draft["llms"] = [{"model": await rules.default_model(session.settings)}]
    draft = session.draft
    # roles before the starting message: it may use their variables, shown before it is typed
    for part in ("name", "llms", "sections", "roles", "start", "summarizer", "favourite"):
        if not await ask_part(ui, draft, part):
            ui.say("the draft is kept; Create experiment continues it", style="dim")
            return None
    if not await ask_contents(ui, draft, only_missing=False):
        ui.say("the draft is kept; Create experiment continues it", style="dim")
        return None
    stored = await save(session, draft, lambda d: rules.create(session.store, session.user, d))
    if stored is not None:
        session.draft = None
        ui.say(f"created {stored.experiment.name!r} ({stored.id})", style="green")
    return stored


async def duplicate_and_update(session: Session, source: StoredExperiment) -> StoredExperiment | None:
    """A copy owned by whoever makes it; only the parts picked are asked again."""
    ui = session.ui
    draft = rules.draft_of(source)
    draft["favourite"] = False
    if not await _ask_copy_name(ui, draft, source):
        return None
    parts = await ui.checkbox("Which parts do you want to change? (none: an exact copy)",
                              [(label, key, False) for key, label in PARTS])
    if parts is None:
        return None
    for key, _ in PARTS:
        if key in parts and key != "contents" and not await ask_part(ui, draft, key):
            return None
    if not await ask_contents(ui, draft, only_missing="contents" not in parts):
        return None
    copy = await save(session, draft, lambda d: rules.duplicate_and_update(session.store, session.user, source, d))
    if copy is not None:
        ui.say(f"duplicated as {copy.experiment.name!r} ({copy.id}), owned by {session.user}", style="green")
    return copy


async def _ask_copy_name(ui: Ui, draft: dict, source: StoredExperiment) -> bool:
    draft["name"] = f"{source.experiment.name} (copy)"
    return await ask_name(ui, draft, "Name of the copy")
