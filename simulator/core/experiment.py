"""The experiment a researcher designs and shares, and its strict validation.

Pure: data in, an Experiment or a ValidationError out. Every problem is reported with
its path (`roles[1].sections[2].content: empty`), all at once, before anything is stored.

File shape (YAML or JSON):

    name, starting_message, note, favourite
    llms:      [{model, temperature, top_k, top_p, max_tokens}]
    sections:  [{title, shared, content}]    the section titles every agent's prompt has,
                                             in order; a shared one carries its content,
                                             a private one is filled in by every role
    roles:     [{name, prompt, sections: [{title, content}]}]
    summarizer: {prompt, sections: [{title, content}]}
    variants:  {goal: [escape, yard_time]}   choices a run picks; the first is the default
    max_paragraphs: 1                        a turn keeps at most this many paragraphs (a
                                             small model asked for one or two sentences
                                             often runs on for several); default: all
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from simulator.core.model_spec import parse_spec
from simulator.core.safe_text import NAME_UNSAFE as UNSAFE_NAME, check_name
from simulator.core.templates import TemplateProblem, Vocabulary, check_template
from simulator.errors import ValidationError

MAX_TEXT = 20_000
MAX_NAME = 120
MAX_ROLES = 12
MAX_LLMS = 20
MAX_SECTIONS = 30
MAX_VARIANTS = 10
MAX_PARAGRAPHS = 50
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
RESERVED_ROLE_NAMES = frozenset({"agent", "agents", "role", "roles", "variant", "summarizer", "system", "user",
                                 "assistant"})
PROVENANCE_FIELDS = ("id", "_id", "creator", "created_at", "duplicated_from", "imported_from")


@dataclass(frozen=True)
class LLMSetting:
    model: str
    temperature: float = 0.7
    top_k: int | None = None
    top_p: float | None = None
    max_tokens: int | None = None

    def label(self) -> str:
        parts = [self.model, f"t={self.temperature:g}"]
        if self.top_k is not None:
            parts.append(f"top_k={self.top_k}")
        if self.top_p is not None:
            parts.append(f"top_p={self.top_p:g}")
        return " ".join(parts)


@dataclass(frozen=True)
class SectionTitle:
    title: str
    shared: bool = False
    content: str = ""  # only shared sections carry content here


@dataclass(frozen=True)
class Section:
    title: str
    content: str


@dataclass(frozen=True)
class Role:
    name: str
    prompt: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Summarizer:
    prompt: str
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class Experiment:
    name: str
    starting_message: str
    llms: tuple[LLMSetting, ...]
    sections: tuple[SectionTitle, ...]
    roles: tuple[Role, ...]
    summarizer: Summarizer
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""
    favourite: bool = False
    max_paragraphs: int | None = None
    creator: str = ""
    created_at: datetime | None = None
    duplicated_from: str | None = None

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def default_variants(self) -> dict[str, str]:
        return {name: choices[0] for name, choices in self.variants.items()}

    def to_document(self) -> dict[str, Any]:
        """The shape stored in MongoDB and written to files (same as the file format)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "starting_message": self.starting_message,
            "llms": [_drop_none({"model": l.model, "temperature": l.temperature, "top_k": l.top_k,
                                 "top_p": l.top_p, "max_tokens": l.max_tokens}) for l in self.llms],
            "sections": [{"title": s.title, "shared": s.shared, **({"content": s.content} if s.shared else {})}
                         for s in self.sections],
            "roles": [{"name": r.name, "prompt": r.prompt,
                       "sections": [{"title": s.title, "content": s.content} for s in r.sections]}
                      for r in self.roles],
            "summarizer": {"prompt": self.summarizer.prompt,
                           "sections": [{"title": s.title, "content": s.content} for s in self.summarizer.sections]},
            "variants": {k: list(v) for k, v in self.variants.items()},
            "note": self.note,
            "favourite": self.favourite,
        }
        if self.max_paragraphs is not None:
            doc["max_paragraphs"] = self.max_paragraphs
        return doc


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- validation -------------------------------------------------------------------------

class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}" if path else message)

    def raise_if_any(self, what: str) -> None:
        if not self.items:
            return
        shown = self.items[:8]
        more = f"; and {len(self.items) - 8} more" if len(self.items) > 8 else ""
        raise ValidationError(f"{what} is invalid: " + "; ".join(shown) + more)


class _Reader:
    """Typed field access that records a problem instead of raising."""

    def __init__(self, problems: _Problems):
        self.problems = problems

    def mapping(self, value: Any, path: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problems.add(path, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.problems.add(path, f"field names must be text, got {_kind(key)}")
            elif key not in allowed:
                self.problems.add(_join(path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(k for k in value if isinstance(k, str))):
            self.problems.add(_join(path, key), "missing")
        return value

    def text(self, value: Any, path: str, *, limit: int = MAX_TEXT, allow_empty: bool = False,
             name: bool = False) -> str:
        """Text, checked; a `name` (shown in lists and on the terminal) must also be plain: one line, no
        control or direction-override characters (see core/safe_text.py)."""
        if not isinstance(value, str):
            self.problems.add(path, f"expected text, got {_kind(value)}")
            return ""
        if name:
            try:
                check_name(value, path)
            except ValidationError as exc:
                self.problems.add(path, exc.message.split(": ", 1)[1])
                return value
        if not allow_empty and not value.strip():
            self.problems.add(path, "empty")
        elif len(value) > limit:
            self.problems.add(path, f"too long ({len(value)} characters, at most {limit})")
        elif "\x00" in value:
            self.problems.add(path, "contains a NUL character")
        elif not _encodable(value):
            self.problems.add(path, "contains an invalid character (a lone UTF-16 surrogate)")
        return value

    def number(self, value: Any, path: str, low: float, high: float, *, integer: bool = False,
               low_open: bool = False) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.problems.add(path, f"expected {'a whole number' if integer else 'a number'}, got {_kind(value)}")
            return None
        if value != value or value < low or value > high or (low_open and value == low):
            shown = f"{value:.6g}" if abs(value) < 1e15 or value != value else "a huge number"
            self.problems.add(path, f"{shown} is out of range ({'(' if low_open else '['}{low:g}, {high:g}])")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.problems.add(path, f"expected true or false, got {_kind(value)}")
            return False
        return value

    def listing(self, value: Any, path: str, low: int, high: int) -> list[Any]:
        if not isinstance(value, list):
            self.problems.add(path, f"expected a list, got {_kind(value)}")
            return []
        if len(value) < low:
            self.problems.add(path, "empty" if low == 1 else f"needs at least {low} items")
        elif len(value) > high:
            self.problems.add(path, f"too many items ({len(value)}, at most {high})")
            return []
        return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


TOP_FIELDS = {"name", "starting_message", "llms", "sections", "roles", "summarizer", "variants", "note",
              "favourite", "max_paragraphs", *PROVENANCE_FIELDS}


def parse_experiment(data: Any, *, what: str = "experiment") -> Experiment:
    """Validate a decoded file or stored document; raises one ValidationError listing every problem."""
    problems = _Problems()
    read = _Reader(problems)
    top = read.mapping(data, "", TOP_FIELDS, {"name", "starting_message", "llms", "sections", "roles", "summarizer"})
    if top is None:
        problems.raise_if_any(what)
        raise AssertionError("unreachable")

    name = read.text(top.get("name", ""), "name", limit=MAX_NAME, name=True) if "name" in top else ""
    starting_message = read.text(top.get("starting_message"), "starting_message") if "starting_message" in top else ""
    note = read.text(top.get("note", ""), "note", allow_empty=True)
    favourite = read.boolean(top.get("favourite", False), "favourite")
    max_paragraphs = read.number(top["max_paragraphs"], "max_paragraphs", 1, MAX_PARAGRAPHS, integer=True) \
        if top.get("max_paragraphs") is not None else None
    variants = _variants(read, top.get("variants", {}))
    llms = tuple(_llm(read, item, f"llms[{i}]")
                 for i, item in enumerate(read.listing(top.get("llms"), "llms", 1, MAX_LLMS)) if "llms" in top)
    titles = _titles(read, top.get("sections"), problems) if "sections" in top else ()
    roles = _roles(read, top.get("roles"), titles, problems) if "roles" in top else ()
    summarizer = _summarizer(read, top.get("summarizer")) if "summarizer" in top else Summarizer("")
    problems.raise_if_any(what)

    experiment = Experiment(
        name=name.strip(), starting_message=starting_message, llms=tuple(l for l in llms if l), sections=titles,
        roles=roles, summarizer=summarizer, variants=variants, note=note, favourite=favourite,
        max_paragraphs=max_paragraphs, creator=str(top.get("creator") or ""),
        created_at=top.get("created_at") if isinstance(top.get("created_at"), datetime) else None,
        duplicated_from=str(top["duplicated_from"]) if top.get("duplicated_from") else None,
    )
    _check_templates(experiment, problems)
    problems.raise_if_any(what)
    return experiment


def _llm(read: _Reader, value: Any, path: str) -> LLMSetting | None:
    item = read.mapping(value, path, {"model", "temperature", "top_k", "top_p", "max_tokens"}, {"model"})
    if item is None:
        return None
    model = read.text(item.get("model", ""), f"{path}.model", limit=200, name=True) if "model" in item else ""
    if model.strip() and not UNSAFE_NAME.search(model):  # already reported
        try:
            model = str(parse_spec(model))
        except ValidationError as exc:
            read.problems.add(f"{path}.model", exc.message)
    temperature = read.number(item.get("temperature", 0.7), f"{path}.temperature", 0, 2)
    top_k = read.number(item["top_k"], f"{path}.top_k", 1, 1000, integer=True) if item.get("top_k") is not None else None
    top_p = read.number(item["top_p"], f"{path}.top_p", 0, 1, low_open=True) if item.get("top_p") is not None else None
    max_tokens = (read.number(item["max_tokens"], f"{path}.max_tokens", 1, 100_000, integer=True)
                  if item.get("max_tokens") is not None else None)
    return LLMSetting(model=model, temperature=float(temperature if temperature is not None else 0.7), top_k=top_k,
                      top_p=top_p, max_tokens=max_tokens)


def _titles(read: _Reader, value: Any, problems: _Problems) -> tuple[SectionTitle, ...]:
    titles: list[SectionTitle] = []
    seen: set[str] = set()
    for i, item in enumerate(read.listing(value, "sections", 0, MAX_SECTIONS)):
        path = f"sections[{i}]"
        entry = read.mapping(item, path, {"title", "shared", "content"}, {"title"})
        if entry is None:
            continue
        title = read.text(entry.get("title", ""), f"{path}.title", limit=MAX_NAME,
                          name=True).strip() if "title" in entry else ""
        shared = read.boolean(entry.get("shared", False), f"{path}.shared")
        content = ""
        if shared:
            content = read.text(entry.get("content"), f"{path}.content") if "content" in entry else ""
            if "content" not in entry:
                problems.add(f"{path}.content", "missing (a shared section carries its content)")
        elif "content" in entry:
            problems.add(f"{path}.content", "a private section's content belongs in each role's sections")
        if title and title.casefold() in seen:
            problems.add(f"{path}.title", f"duplicate section title {title!r}")
        seen.add(title.casefold())
        titles.append(SectionTitle(title, shared, content))
    return tuple(titles)


def _roles(read: _Reader, value: Any, titles: tuple[SectionTitle, ...], problems: _Problems) -> tuple[Role, ...]:
    private = [t.title for t in titles if not t.shared]
    shared = {t.title for t in titles if t.shared}
    roles: list[Role] = []
    names: set[str] = set()
    for i, item in enumerate(read.listing(value, "roles", 1, MAX_ROLES)):
        path = f"roles[{i}]"
        entry = read.mapping(item, path, {"name", "prompt", "sections"}, {"name", "prompt"})
        if entry is None:
            continue
        name = read.text(entry.get("name", ""), f"{path}.name", limit=40, name=True) if "name" in entry else ""
        if name and not ROLE_NAME.fullmatch(name):
            problems.add(f"{path}.name", f"{name!r} must be lower-case letters, digits and _ (starting with a "
                                         f"letter), so templates can name it")
        elif name in RESERVED_ROLE_NAMES:
            problems.add(f"{path}.name", f"{name!r} is reserved for template variables")
        elif name in names:
            problems.add(f"{path}.name", f"duplicate role name {name!r}")
        names.add(name)
        prompt = read.text(entry.get("prompt"), f"{path}.prompt") if "prompt" in entry else ""
        sections: list[Section] = []
        for j, raw in enumerate(read.listing(entry.get("sections", []), f"{path}.sections", 0, MAX_SECTIONS)):
            spath = f"{path}.sections[{j}]"
            section = read.mapping(raw, spath, {"title", "content"}, {"title", "content"})
            if section is None:
                continue
            title = read.text(section.get("title", ""), f"{spath}.title", limit=MAX_NAME, name=True).strip()
            content = read.text(section.get("content"), f"{spath}.content") if "content" in section else ""
            if title in shared:
                problems.add(f"{spath}.title", f"{title!r} is a shared section; its content is in sections[]")
            elif title and title not in private:
                problems.add(f"{spath}.title", f"{title!r} is not one of the section titles "
                                               f"({', '.join(private) or 'none are private'})")
            elif any(s.title == title for s in sections):
                problems.add(f"{spath}.title", f"duplicate section {title!r}")
            sections.append(Section(title, content))
        have = {s.title for s in sections}
        for title in private:
            if title not in have:
                problems.add(f"{path}.sections", f"missing {title!r} (every role fills in every private section)")
        order = {t: k for k, t in enumerate(private)}
        roles.append(Role(name, prompt, tuple(sorted(sections, key=lambda s: order.get(s.title, len(order))))))
    return tuple(roles)


def _summarizer(read: _Reader, value: Any) -> Summarizer:
    entry = read.mapping(value, "summarizer", {"prompt", "sections"}, {"prompt"})
    if entry is None:
        return Summarizer("")
    prompt = read.text(entry.get("prompt"), "summarizer.prompt") if "prompt" in entry else ""
    sections = []
    titles: set[str] = set()
    for j, raw in enumerate(read.listing(entry.get("sections", []), "summarizer.sections", 0, MAX_SECTIONS)):
        path = f"summarizer.sections[{j}]"
        section = read.mapping(raw, path, {"title", "content"}, {"title", "content"})
        if section is None:
            continue
        title = read.text(section.get("title", ""), f"{path}.title", limit=MAX_NAME, name=True).strip()
        if title in titles:
            read.problems.add(f"{path}.title", f"duplicate section {title!r}")
        titles.add(title)
        sections.append(Section(title, read.text(section.get("content"), f"{path}.content") if "content" in section
                                else ""))
    return Summarizer(prompt, tuple(sections))


def _variants(read: _Reader, value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        read.problems.add("variants", f"expected a mapping of name to choices, got {_kind(value)}")
        return {}
    if len(value) > MAX_VARIANTS:
        read.problems.add("variants", f"too many ({len(value)}, at most {MAX_VARIANTS})")
        return {}
    variants: dict[str, tuple[str, ...]] = {}
    for name, choices in value.items():
        path = f"variants.{name}"
        if not isinstance(name, str) or not VARIANT_NAME.fullmatch(name):
            read.problems.add(path, "variant names are lower-case letters, digits and _")
            continue
        items = read.listing(choices, path, 1, 10)
        texts = [read.text(c, f"{path}[{i}]", limit=40, name=True) for i, c in enumerate(items)]
        if len(set(texts)) != len(texts):
            read.problems.add(path, "duplicate choices")
        variants[name] = tuple(texts)
    return variants


def _check_templates(experiment: Experiment, problems: _Problems) -> None:
    """Every template is checked now, so a bad one never reaches the database."""
    roles, variants = experiment.role_names, experiment.variants
    for_agents = Vocabulary(roles, variants, with_agent=True)
    for_all = Vocabulary(roles, variants, with_agent=False)

    def check(path: str, text: str, vocabulary: Vocabulary) -> None:
        try:
            check_template(text, vocabulary)
        except TemplateProblem as exc:
            problems.add(path, str(exc))

    check("starting_message", experiment.starting_message, for_all)
    for i, title in enumerate(experiment.sections):
        if title.shared:
            check(f"sections[{i}].content", title.content, for_agents)
    for i, role in enumerate(experiment.roles):
        check(f"roles[{i}].prompt", role.prompt, for_agents)
        for j, section in enumerate(role.sections):
            check(f"roles[{i}].sections[{j}].content", section.content, for_agents)
    check("summarizer.prompt", experiment.summarizer.prompt, for_all)
    for j, section in enumerate(experiment.summarizer.sections):
        check(f"summarizer.sections[{j}].content", section.content, for_all)
