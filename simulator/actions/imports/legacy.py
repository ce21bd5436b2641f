"""`simulator import legacy SOURCE`: the original LLM Interaction Simulator's database as this project's documents.

The original (mobs-fbk/llm_interaction_simulator, src/components/*: `to_document`) stores:

- experiments: starting_message; llms [{model, temperature, top_k, top_p}]; roles [{name, sections
  [{index, title, content}], placeholders}]; shared_sections and summarizer_sections; placeholders;
  note, favourite, creator, conversation_ids, creation_date;
- conversations: n_messages, days, speaker_selection_method, starting_message, llm,
  agent_combination [[role, n], ...], creator, favourite, creation_date, messages_ids (in order);
- messages: index (per day, from 0), day (from 1), role (the speaker's name before `_`), speaker,
  content. Each day opens with the Researcher's message: the starting message, and from day 2 on
  the starting message followed by "\\nDay i summary:\\n <summary>" for every day before.

They become (all checked before anything is stored; any document of the wrong shape refuses the
whole import in one line naming it):

- an experiment per original one, named after its roles and original id: its shared sections as
  shared sections, each role's own sections (by index) as that role's prompt, "## Title" blocks but
  a "Starting prompt" bare, the summarizer's sections as the summarizer's prompt; the original
  placeholders (<GUARD_NOUN>, <GUARD_POSS>, <GUARD_PRON>, <GUARD_POSSPRON>, <GUARD_NUM>,
  <GUARD_VERB_X>, <AGENTS_NUM>, <ROLES_NUM>) translated to template variables ({{ guard.noun }},
  {{ guard.poss }}, {{ guard.they }}, {{ guard.their }}, {{ guard.num }}, {{ guard.verb('x') }},
  {{ agents.num }}, {{ roles.num }}); validated as any experiment file is;
- a completed role-experiment conversation per original conversation an experiment lists: agent
  counts from agent_combination, its participants as they spoke, messages numbered from 0 over the
  days (day from 0, role lower-cased), the Researcher's messages left out: the first day's is the
  starting message, and each later day's gives the summary of the day before (stored as that
  day's summary) where it begins with the previous opening as written;
- `imported_from` on each, with the original ids (the messages' in order). Ids derive from the
  original ids, so a second import stores nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from bson import ObjectId

from simulator.actions.experiments import validate_document
from simulator.actions.imports import ImportReport, is_stored, stable_id
from simulator.core.agents import Agent
from simulator.core.conversation import Prepared, Status
from simulator.core.experiment import ROLE_NAME, RESERVED_ROLE_NAMES, Experiment, LLMSetting
from simulator.core.model_spec import parse_spec
from simulator.core.prompts import agent_prompt, summarizer_prompt
from simulator.core.templates import TemplateProblem, translate_legacy_tags
from simulator.engine.selection import METHODS
from simulator.errors import ValidationError
from simulator.protocols.roles import role_spec
from simulator.store import Message, Store

SOURCE = "llm_interaction_simulator"
RESEARCHER = "researcher"
STARTING_PROMPT = "starting prompt"  # the original renders this section without its title
DEFAULT_SUMMARIZER = "Summarize the day's conversation."  # for an original without summarizer sections
DEFAULT_ROLE_PROMPT = "You are {{ agent.name }}."  # for a role without sections of its own
SUMMARY = re.compile(r"Day (?P<day>\d+) summary:\n ?(?P<text>.*)", re.DOTALL)


@dataclass
class LegacyConversation:
    document: dict[str, Any]
    messages: list[Message]
    summaries: dict[int, str]  # day (from 0) -> summary


@dataclass
class LegacyPlan:
    experiments: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[LegacyConversation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- shapes ------------------------------------------------------------------------------------------

def _need(doc: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    """A field of the original's shape, or one ValidationError naming the document and the field."""
    value = doc.get(key)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        names = " or ".join(k.__name__ for k in _tuple(kinds))
        raise ValidationError(f"{where}: {key} must be {names}, got {type(value).__name__}")
    return value


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _id(doc: Any, where: str) -> ObjectId:
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), ObjectId):
        raise ValidationError(f"{where}: not a document with an ObjectId _id")
    return doc["_id"]


def _sections(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a list of sections")
    for i, section in enumerate(value):
        if not isinstance(section, dict):
            raise ValidationError(f"{where}[{i}]: expected {{index, title, content}}")
        _need(section, "index", int, f"{where}[{i}]")
        _need(section, "title", str, f"{where}[{i}]")
        _need(section, "content", str, f"{where}[{i}]")
    return sorted(value, key=lambda s: s["index"])


def role_name(name: str) -> str:
    """An original role name as this project's: lower case, `_` for spaces and dashes."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


# --- experiments -------------------------------------------------------------------------------------

def translate(text: str, roles: Iterable[str], where: str) -> str:
    """The original's placeholders as template variables; an unknown one is a ValidationError naming `where`."""
    for role in roles:
        tag = role.upper()
        text = text.replace(f"<{tag}_POSSPRON>", "{{ %s.their }}" % role).replace(f"<{tag}_PRON>",
                                                                                 "{{ %s.they }}" % role)
    try:
        return translate_legacy_tags(text, tuple(roles))
    except TemplateProblem as exc:
        raise ValidationError(f"{where}: {exc}") from None


def _block(section: Mapping[str, Any], roles: list[str], where: str) -> str:
    content = translate(section["content"].strip(), roles, where)
    title = section["title"].strip()
    return content if title.lower() == STARTING_PROMPT else f"## {title}\n{content}"


def experiment_data(doc: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    """The original experiment as an experiment file's data (validated by the caller) and its role names."""
    raw_roles = _need(doc, "roles", list, where)
    roles = []
    for i, role in enumerate(raw_roles):
        if not isinstance(role, dict):
            raise ValidationError(f"{where}: roles[{i}] must be a mapping")
        name = role_name(_need(role, "name", str, f"{where} roles[{i}]"))
        if not ROLE_NAME.fullmatch(name) or name in RESERVED_ROLE_NAMES:
            raise ValidationError(f"{where}: role {role['name']!r} cannot be a role name here "
                                  f"(lower-case letters, digits and _, not {', '.join(sorted(RESERVED_ROLE_NAMES))})")
        roles.append(name)
    role_data = [_role(role, name, roles, f"{where} roles[{i}]")
                 for i, (role, name) in enumerate(zip(raw_roles, roles))]
    shared = [s for s in _sections(doc.get("shared_sections", []), f"{where} shared_sections") if s["content"].strip()]
    summarizer = _sections(doc.get("summarizer_sections", []), f"{where} summarizer_sections")
    llms = [_llm(llm, f"{where} llms[{i}]") for i, llm in enumerate(_need(doc, "llms", list, where))]
    data = {"name": f"{', '.join(roles)[:80]} (legacy {doc['_id']})",
            "starting_message": translate(_need(doc, "starting_message", str, where), roles,
                                          f"{where} starting_message"),
            "llms": [{"model": l.model, "temperature": l.temperature, "top_k": l.top_k, "top_p": l.top_p}
                     for l in llms],
            "sections": [{"title": title, "shared": True, "content": translate(s["content"].strip(), roles, where)}
                         for title, s in zip(_unique_titles(s["title"] for s in shared), shared)],
            "roles": role_data,
            "summarizer": {"prompt": "\n\n".join(_block(s, roles, f"{where} summarizer_sections")
                                                 for s in summarizer if s["content"].strip()) or DEFAULT_SUMMARIZER},
            "note": doc.get("note") if isinstance(doc.get("note"), str) else "",
            "favourite": doc.get("favourite") is True}
    return data, roles


def _role(role: Mapping[str, Any], name: str, roles: list[str], where: str) -> dict[str, Any]:
    own = [s for s in _sections(role.get("sections", []), f"{where} sections") if s["content"].strip()]
    return {"name": name, "prompt": "\n\n".join(_block(s, roles, where) for s in own) or DEFAULT_ROLE_PROMPT,
            "sections": []}


def _unique_titles(titles: Iterable[str]) -> list[str]:
    """Section titles as this project needs them: one line, unique regardless of case ("Rules (2)")."""
    seen: set[str] = set()
    unique = []
    for title in titles:
        base = " ".join(title.split())[:100] or "Section"
        candidate, n = base, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{base} ({n})"
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def _llm(doc: Any, where: str) -> LLMSetting:
    """An original LLM setting ({model, temperature, top_k, top_p}) with this project's model spec."""
    if not isinstance(doc, dict):
        raise ValidationError(f"{where}: expected {{model, temperature, top_k, top_p}}")
    model = _need(doc, "model", str, where)
    try:
        spec = str(parse_spec(model))
    except ValidationError as exc:
        raise ValidationError(f"{where}: model {model!r}: {exc.message}") from None
    temperature = doc.get("temperature", 0.7)
    top_k, top_p = doc.get("top_k"), doc.get("top_p")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or (top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int))) \
            or (top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)))):
        raise ValidationError(f"{where}: temperature, top_k and top_p must be numbers")
    return LLMSetting(model=spec, temperature=float(temperature), top_k=top_k,
                      top_p=float(top_p) if top_p is not None else None)


def experiment_document(doc: Mapping[str, Any], source: str) -> tuple[dict[str, Any], Experiment]:
    """The stored experiment of an original one, validated as an experiment file is."""
    oid = _id(doc, f"{source}: an experiment")
    where = f"{source}: experiment {oid}"
    data, _ = experiment_data(doc, where)
    experiment = validate_document(data, where)
    created = doc.get("creation_date")
    # the original id is in its name too, so two original experiments of one name stay apart in lists
    document = {"_id": stable_id("legacy-experiment", str(oid)), **experiment.to_document(),
                "creator": doc.get("creator") if isinstance(doc.get("creator"), str) else "",
                "duplicated_from": None, "imported_from": {"source": SOURCE, "experiment_id": oid}}
    if isinstance(created, datetime):
        document["created_at"] = created
    return document, experiment


# --- conversations -----------------------------------------------------------------------------------

def _counts(doc: Mapping[str, Any], roles: list[str], where: str) -> dict[str, int]:
    combination = _need(doc, "agent_combination", list, where)
    counts: dict[str, int] = {}
    for i, pair in enumerate(combination):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], int) and not isinstance(pair[1], bool)):
            raise ValidationError(f"{where}: agent_combination[{i}] must be [role, number of agents]")
        name = role_name(pair[0])
        if name not in roles:
            raise ValidationError(f"{where}: agent_combination names role {pair[0]!r}, not one of the experiment's")
        if not 1 <= pair[1] <= 50:
            raise ValidationError(f"{where}: agent_combination gives {pair[0]!r} {pair[1]} agents (1 to 50)")
        counts[name] = pair[1]
    return {role: counts[role] for role in roles if role in counts}  # in the experiment's role order


def _message(doc: Any, where: str) -> dict[str, Any]:
    _id(doc, where)
    for key, kind in (("index", int), ("day", int), ("role", str), ("speaker", str), ("content", str)):
        _need(doc, key, kind, where)
    if doc["day"] < 1:
        raise ValidationError(f"{where}: day {doc['day']} (the original counts days from 1)")
    return doc


def _summaries(openers: Mapping[int, str]) -> dict[int, str]:
    """Day (from 0) -> summary, recovered from each day's opening: the previous opening, then
    "\\nDay i summary:\\n <text>", as the original appends them."""
    found = {}
    for day, text in openers.items():
        before = openers.get(day - 1)
        if before is None or not text.startswith(before + "\n"):
            continue
        match = SUMMARY.fullmatch(text[len(before) + 1:])
        if match and int(match["day"]) == day - 1:
            found[day - 2] = match["text"]
    return found


def conversation_plan(doc: Mapping[str, Any], experiment: Experiment, experiment_id: ObjectId,
                      original_experiment: ObjectId, messages: Mapping[ObjectId, dict[str, Any]],
                      source: str) -> LegacyConversation | str:
    """The stored conversation of an original one, or a note saying why it was left out."""
    oid = _id(doc, f"{source}: a conversation")
    where = f"{source}: conversation {oid}"
    roles = list(experiment.role_names)
    counts = _counts(doc, roles, where)
    if set(counts) != set(roles):
        return f"conversation {oid} left out: it has agents of only some of its experiment's roles"
    ids = _need(doc, "messages_ids", list, where)
    turns, openers, turn_ids, opener_ids = [], {}, [], []
    for i, mid in enumerate(ids):
        if not isinstance(mid, ObjectId) or mid not in messages:
            raise ValidationError(f"{where}: messages_ids[{i}] is not a message the source holds")
        message = messages[mid]
        if message["role"].strip().lower() == RESEARCHER:
            openers.setdefault(message["day"], message["content"])
            opener_ids.append(mid)
            continue
        if role_name(message["role"]) not in counts:
            raise ValidationError(f"{where}: message {mid} has role {message['role']!r}, not one of the experiment's")
        turns.append(message)
        turn_ids.append(mid)
    if not turns:
        return f"conversation {oid} left out: no agent spoke in it"
    return _conversation(doc, experiment, experiment_id, original_experiment, counts, turns, turn_ids, openers,
                         opener_ids, where)


def _conversation(doc: Mapping[str, Any], experiment: Experiment, experiment_id: ObjectId,
                  original_experiment: ObjectId, counts: dict[str, int], turns: list[dict[str, Any]],
                  turn_ids: list[ObjectId], openers: dict[int, str], opener_ids: list[ObjectId],
                  where: str) -> LegacyConversation:
    cid = stable_id("legacy-conversation", str(doc["_id"]))
    method = _need(doc, "speaker_selection_method", str, where)
    days = _need(doc, "days", int, where)
    llm = _llm(_need(doc, "llm", dict, where), f"{where} llm")
    spec = role_spec(llm=llm, agent_counts=counts, n_messages=len(turns), days=max(1, min(days, len(turns))),
                     speaker_selection=method if method in METHODS else "round_robin", experiment_id=experiment_id)
    agents = tuple(Agent(name, role_name(role), 0) for name, role in
                   dict.fromkeys((t["speaker"], t["role"]) for t in turns))
    starting = openers.get(1) or _need(doc, "starting_message", str, where)
    try:
        prepared = Prepared(title=experiment.name, agents=agents,
                            prompts={a.name: agent_prompt(experiment, a, counts, {}) for a in agents},
                            starting_message=starting, summarizer_prompt=summarizer_prompt(experiment, counts, {}))
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.message}") from None
    created = doc.get("creation_date") if isinstance(doc.get("creation_date"), datetime) else None
    document = {**spec.to_document(), **prepared.to_document(), "_id": cid,
                "creator": doc.get("creator") if isinstance(doc.get("creator"), str) else "",
                "favourite": doc.get("favourite") is True, "status": Status.COMPLETED.value,
                "stop_reason": "imported from the original LLM Interaction Simulator", "runs": 0,
                "stored_messages": len(turns),
                "imported_from": {"source": SOURCE, "experiment_id": original_experiment, "conversation_id": doc["_id"],
                                  "message_ids": turn_ids, "researcher_message_ids": opener_ids,
                                  "n_messages": doc.get("n_messages"), "days": days,
                                  "speaker_selection_method": method}}
    if created:
        document["created_at"] = created
    messages = [Message(conversation_id=cid, index=i, day=t["day"] - 1, role=role_name(t["role"]),
                        speaker=t["speaker"], content=t["content"], raw_content=t["content"],
                        **({"created_at": created} if created else {}))
                for i, t in enumerate(turns)]
    return LegacyConversation(document, messages, _summaries(openers))


def plan(data: Any) -> LegacyPlan:
    """Every document checked and mapped before anything is stored; the first problem refuses all of it."""
    messages = {}
    for i, doc in enumerate(data.messages):
        mid = _id(doc, f"{data.source}: messages[{i}]")
        messages[mid] = _message(doc, f"{data.source}: message {mid}")
    conversations = {_id(doc, f"{data.source}: conversations[{i}]"): doc for i, doc in enumerate(data.conversations)}
    result, listed = LegacyPlan(), set()
    for doc in data.experiments:
        document, experiment = experiment_document(doc, data.source)
        result.experiments.append(document)
        listed_ids = doc.get("conversation_ids", [])
        if not isinstance(listed_ids, list):
            raise ValidationError(f"{data.source}: experiment {doc['_id']}: conversation_ids must be a list")
        for cid in listed_ids:
            if cid in listed or cid not in conversations:
                result.notes += [] if cid in listed else [f"experiment {doc['_id']} lists conversation {cid}, "
                                                          f"which the source does not hold"]
                continue
            listed.add(cid)
            found = conversation_plan(conversations[cid], experiment, document["_id"], doc["_id"], messages,
                                      data.source)
            if isinstance(found, str):  # left out, and why
                result.notes.append(found)
            else:
                result.conversations.append(found)
    orphans = len(set(conversations) - listed)
    if orphans:
        result.notes.append(f"{orphans} conversations left out: no experiment lists them")
    return result


async def import_plan(store: Store, plan_: LegacyPlan) -> ImportReport:
    """Store what `plan` mapped: experiments, then each conversation's messages, summaries and document."""
    report = ImportReport("original conversations", found=len(plan_.conversations), notes=list(plan_.notes))
    for document in plan_.experiments:
        if not await store.experiments.find_one({"_id": document["_id"]}):
            await store.experiments.insert(document)
    for conversation in plan_.conversations:
        cid = conversation.document["_id"]
        report.ids.append(cid)
        if await is_stored(store, cid):
            report.skipped += 1
            continue
        report.messages += await store.messages.append_many(conversation.messages)
        for day, text in sorted(conversation.summaries.items()):
            await store.summaries.save(cid, day, text)
        new = await store.conversations.create_once(conversation.document)
        report.stored += new
        report.skipped += not new
    report.notes.insert(0, f"{len(plan_.experiments)} experiments")
    return report
