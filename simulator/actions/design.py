"""Designing an experiment step by step: the checks each answer gets as it is typed.

The create and duplicate-and-update menus build the experiment as a plain dict (the
file shape, see simulator/core/experiment.py) one answer at a time. Each answer is
checked here the moment it is given, with the same rules the full validation applies
later, so a mistake is reported on the field that has it while the text is still there.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from simulator.actions.experiments import StoredExperiment, insert, validate_document
from simulator.config import Settings
from simulator.core.experiment import (MAX_NAME, MAX_PARAGRAPHS, MAX_ROLES, MAX_SECTIONS, MAX_TEXT,
                                       RESERVED_ROLE_NAMES,
                                       ROLE_NAME)
from simulator.core.model_spec import parse_spec
from simulator.core.parsing import parse_number, parse_whole
from simulator.core.templates import TemplateProblem, Vocabulary, check_template
from simulator.core.wording import role_wordings
from simulator.errors import ValidationError
from simulator.store import Store

DEFAULT_MODEL = "ollama/sim-tiny"
PREFERRED_LOCAL = ("smollm2:135m",)  # local models known to write text, best first
DEFAULT_TEMPERATURE = 0.7


# --- one answer at a time ------------------------------------------------------------------

def check_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise ValidationError("the name is empty")
    if len(name) > MAX_NAME:
        raise ValidationError(f"the name is too long ({len(name)} characters, at most {MAX_NAME})")
    return name


def check_model(text: str) -> str:
    return str(parse_spec(text))


def _number(text: str, what: str, low: float, high: float, *, integer: bool, low_open: bool = False) -> float | int:
    raw = text.strip()
    try:
        return parse_whole(raw, int(low), int(high)) if integer else parse_number(raw, low, high, low_open=low_open)
    except ValueError as exc:
        raise ValidationError(f"{what}: {exc}") from None


def parse_temperature(text: str) -> float:
    """Blank means the default, 0.7."""
    return float(_number(text, "temperature", 0, 2, integer=False)) if text.strip() else DEFAULT_TEMPERATURE


def parse_top_k(text: str) -> int | None:
    """Blank means unset (the model's own default)."""
    return int(_number(text, "top_k", 1, 1000, integer=True)) if text.strip() else None


def parse_top_p(text: str) -> float | None:
    return float(_number(text, "top_p", 0, 1, integer=False, low_open=True)) if text.strip() else None


def parse_max_tokens(text: str) -> int | None:
    """Blank means unset (the model's own limit)."""
    return int(_number(text, "max tokens", 1, 100_000, integer=True)) if text.strip() else None


def parse_max_paragraphs(text: str) -> int | None:
    """Blank means no limit; a turn longer than this keeps its first paragraphs."""
    return int(_number(text, "max paragraphs", 1, MAX_PARAGRAPHS, integer=True)) if text.strip() else None


async def default_model(settings: Settings) -> str:
    """The best local text model that answers: one the project ships for text (smollm2:135m), else any
    other model on the local Ollama but the bigram test model, else DEFAULT_MODEL (word salad, but it runs)."""
    from simulator.llm import providers
    from simulator.errors import ModelError

    ollama = providers.endpoints(settings)["ollama"]
    try:
        names = [n.removesuffix(":latest") for n in await providers.get("ollama").list_models(ollama)]
    except ModelError:
        return DEFAULT_MODEL
    chosen = next((n for n in PREFERRED_LOCAL if n in names), None) or \
        next((n for n in names if n != DEFAULT_MODEL.split("/", 1)[1]), None)
    return f"ollama/{chosen}" if chosen else DEFAULT_MODEL


def parse_count(text: str, what: str, low: int, high: int) -> int:
    return int(_number(text, what, low, high, integer=True))


def split_titles(text: str, what: str = "section titles", *, allow_empty: bool = True) -> list[str]:
    """`Setting, Goal, Personality` -> the titles; unique (ignoring case), at most 30."""
    titles = [t.strip() for t in text.split(",") if t.strip()]
    if not titles and not allow_empty:
        raise ValidationError(f"give at least one of the {what}")
    if len(titles) > MAX_SECTIONS:
        raise ValidationError(f"too many {what} ({len(titles)}, at most {MAX_SECTIONS})")
    seen: set[str] = set()
    for title in titles:
        if len(title) > MAX_NAME:
            raise ValidationError(f"{title[:20]!r}...: too long (at most {MAX_NAME} characters)")
        if title.casefold() in seen:
            raise ValidationError(f"{title!r} is given twice")
        seen.add(title.casefold())
    return titles


def parse_role_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValidationError("give at least one role, e.g. guard, prisoner")
    if len(names) > MAX_ROLES:
        raise ValidationError(f"too many roles ({len(names)}, at most {MAX_ROLES})")
    for name in names:
        if not ROLE_NAME.fullmatch(name):
            raise ValidationError(f"{name!r}: role names are lower-case letters, digits and _, starting with a letter")
        if name in RESERVED_ROLE_NAMES:
            raise ValidationError(f"{name!r} is reserved for template variables")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationError(f"{duplicates[0]!r} is given twice")
    return names


def check_content(text: str, roles: tuple[str, ...], variants: Mapping[str, tuple[str, ...]],
                  with_agent: bool) -> str:
    """A prompt text: not empty, not too long, and a template that uses only what exists."""
    if not text.strip():
        raise ValidationError("empty")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"too long ({len(text)} characters, at most {MAX_TEXT})")
    try:
        check_template(text, Vocabulary(tuple(roles), dict(variants), with_agent=with_agent))
    except TemplateProblem as exc:
        raise ValidationError(str(exc)) from None
    return text


def check_text(text: str) -> str:
    """A text whose template can not be checked yet (the roles are not known): present and not too long."""
    if not text.strip():
        raise ValidationError("empty")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"too long ({len(text)} characters, at most {MAX_TEXT})")
    return text


def check_note(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ValidationError(f"the note is too long (at most {MAX_TEXT} characters)")
    return text


# --- the template variables a text may use ---------------------------------------------------

def template_variables(roles: tuple[str, ...], variants: Mapping[str, tuple[str, ...]],
                       with_agent: bool) -> list[tuple[str, str]]:
    """(expression, what it gives with 1 / 2 agents of the role), for the researcher to copy.

    The first role is shown in full; the others have the same attributes.
    """
    shown: list[tuple[str, str]] = []
    if with_agent:
        shown += [("{{ agent.name }}, {{ agent.role }}", "this agent's name (e.g. Guard_117) and role"),
                  ("{{ role.noun }} ...", "this agent's own role: every attribute below")]
    if roles:
        r = roles[0]
        one, two = role_wordings({r: 1})[r], role_wordings({r: 2})[r]
        shown += [
            (f"{{{{ {r}.noun }}}}, {{{{ {r}.poss }}}}", f"{one.noun}, {one.poss} / {two.noun}, {two.poss}"),
            (f"{{{{ {r}.num }}}}, {{{{ {r}.num_word }}}}", f"{one.num}, {one.num_word} / {two.num}, {two.num_word}"),
            (f"{{{{ {r}.they }}}}, {{{{ {r}.them }}}}, {{{{ {r}.their }}}}",
             f"{one.they}, {one.them}, {one.their} / {two.they}, {two.them}, {two.their}"),
            (f"{{{{ {r}.verb('watch') }}}}", f"{one.verb('watch')} / {two.verb('watch')}"),
            (f"{{% if {r}.plural %}}...{{% else %}}...{{% endif %}}", "text for several / for one"),
        ]
        shown += [(f"{{{{ {other}.noun }}}} ...", f"the same for {other}") for other in roles[1:]]
    shown.append(("{{ agents.num }}, {{ roles.num }}, .num_word", "how many agents / roles in all (e.g. 3, three)"))
    shown += [(f"{{{{ variant.{name} }}}}", " / ".join(choices)) for name, choices in variants.items()]
    if roles:
        u = roles[0].upper()
        shown.append((f"<{u}_NOUN> <{u}_POSS> <{u}_NUM> <{u}_VERB_WATCH>",
                      "the original tool's tags, still understood"))
        shown.append(("<AGENTS_NUM> <ROLES_NUM>", "the same, for the totals"))
    return shown


# --- the draft: which texts an experiment still needs --------------------------------------

@dataclass(frozen=True)
class Slot:
    """One text of the experiment: where it goes, how to call it, what it may use."""

    kind: str  # shared | role_prompt | role_section | summarizer_prompt | summarizer_section
    label: str
    role: str | None = None
    title: str | None = None

    @property
    def with_agent(self) -> bool:
        return not self.kind.startswith("summarizer")


def empty_draft() -> dict[str, Any]:
    return {"name": "", "starting_message": "", "llms": [], "sections": [], "roles": [],
            "summarizer": {"prompt": "", "sections": []}, "variants": {}, "favourite": False, "note": ""}


def draft_of(stored: StoredExperiment) -> dict[str, Any]:
    return copy.deepcopy(stored.experiment.to_document())


def set_sections(draft: dict[str, Any], titles: list[str], shared: set[str]) -> None:
    """New section titles; contents already typed for a title that stays are kept."""
    old = {s["title"]: s for s in draft["sections"]}
    draft["sections"] = [{"title": t, "shared": t in shared,
                          **({"content": old.get(t, {}).get("content", "")} if t in shared else {})} for t in titles]
    _sync_role_sections(draft)


def set_roles(draft: dict[str, Any], names: list[str]) -> None:
    old = {r["name"]: r for r in draft["roles"]}
    draft["roles"] = [old.get(n, {"name": n, "prompt": "", "sections": []}) for n in names]
    _sync_role_sections(draft)


def set_summarizer_sections(draft: dict[str, Any], titles: list[str]) -> None:
    old = {s["title"]: s["content"] for s in draft["summarizer"]["sections"]}
    draft["summarizer"]["sections"] = [{"title": t, "content": old.get(t, "")} for t in titles]


def _sync_role_sections(draft: dict[str, Any]) -> None:
    private = [s["title"] for s in draft["sections"] if not s["shared"]]
    for role in draft["roles"]:
        old = {s["title"]: s["content"] for s in role["sections"]}
        role["sections"] = [{"title": t, "content": old.get(t, "")} for t in private]


def slots(draft: dict[str, Any]) -> list[Slot]:
    """Every text the experiment needs, in the order the menus ask for them."""
    found = [Slot("shared", f"Shared section {s['title']!r}", title=s["title"])
             for s in draft["sections"] if s["shared"]]
    for role in draft["roles"]:
        found.append(Slot("role_prompt", f"{role['name']}: prompt (who this role is)", role=role["name"]))
        found += [Slot("role_section", f"{role['name']}: section {s['title']!r}", role=role["name"], title=s["title"])
                  for s in role["sections"]]
    found.append(Slot("summarizer_prompt", "Summarizer: prompt"))
    found += [Slot("summarizer_section", f"Summarizer: section {s['title']!r}", title=s["title"])
              for s in draft["summarizer"]["sections"]]
    return found


def _holder(draft: dict[str, Any], slot: Slot) -> dict[str, Any]:
    if slot.kind == "shared":
        return next(s for s in draft["sections"] if s["title"] == slot.title)
    if slot.kind == "summarizer_prompt":
        return draft["summarizer"]
    if slot.kind == "summarizer_section":
        return next(s for s in draft["summarizer"]["sections"] if s["title"] == slot.title)
    role = next(r for r in draft["roles"] if r["name"] == slot.role)
    return role if slot.kind == "role_prompt" else next(s for s in role["sections"] if s["title"] == slot.title)


def _field(slot: Slot) -> str:
    return "prompt" if slot.kind.endswith("prompt") else "content"


def slot_text(draft: dict[str, Any], slot: Slot) -> str:
    return _holder(draft, slot).get(_field(slot), "")


def set_slot_text(draft: dict[str, Any], slot: Slot, text: str) -> None:
    _holder(draft, slot)[_field(slot)] = text


def role_names(draft: dict[str, Any]) -> tuple[str, ...]:
    return tuple(r["name"] for r in draft["roles"])


def variants_of(draft: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in (draft.get("variants") or {}).items()}


def check_slot(draft: dict[str, Any], slot: Slot, text: str) -> str:
    return check_content(text, role_names(draft), variants_of(draft), slot.with_agent)


# --- saving ----------------------------------------------------------------------------------

async def create(store: Store, user: str, draft: Mapping[str, Any]) -> StoredExperiment:
    """Validate the whole experiment (every prompt rendered for 1 and 2 agents), then store it once."""
    experiment = validate_document(dict(draft), "the new experiment")
    await refuse_taken_name(store, experiment.name, "the new experiment")
    return await insert(store, dataclasses.replace(experiment, creator=user, duplicated_from=None))


async def refuse_taken_name(store: Store, name: str, what: str) -> None:
    """Lookups by name need one experiment per name: a designed one gets a name of its own."""
    if await store.experiments.list({"name": name}):
        raise ValidationError(f"{what} is invalid: name: an experiment named {name!r} exists",
                              "choose another name")


async def duplicate_and_update(store: Store, user: str, source: StoredExperiment,
                               draft: Mapping[str, Any]) -> StoredExperiment:
    """A copy owned by `user` with the changed parts; a favourite mark is the copy's own."""
    experiment = validate_document(dict(draft), "the duplicate")
    await refuse_taken_name(store, experiment.name, "the duplicate")
    return await insert(store, dataclasses.replace(experiment, creator=user, duplicated_from=str(source.id)))
