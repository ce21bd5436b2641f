"""Experiments: import, export, list, duplicate, favourite, note, delete, show prompts."""

from __future__ import annotations

import dataclasses
import re
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from bson import ObjectId

from simulator.actions import ownership
from simulator.core.agents import name_agents
from simulator.core.experiment import MAX_TEXT, Experiment, parse_experiment
from simulator.core.ids import is_id
from simulator.core.experiment_file import MAX_FILE_BYTES, decode_experiment_file, encode_experiment
from simulator.core.prompts import (agent_prompt, check_counts, check_variants, starting_message,
                                    summarizer_prompt)
from simulator.errors import NotFound, ValidationError
from simulator.files import read_limited, write_text
from simulator.store import Store


@dataclass(frozen=True)
class StoredExperiment:
    id: ObjectId
    experiment: Experiment


def check_renders(experiment: Experiment) -> None:
    """Render every prompt for 1 and 2 agents per role and every variant choice."""
    for n in (1, 2):
        counts = {r: n for r in experiment.role_names}
        choices = [{}] + [{name: c} for name, cs in experiment.variants.items() for c in cs]
        for chosen in choices:
            variants = check_variants(experiment, chosen)
            starting_message(experiment, counts, variants)
            summarizer_prompt(experiment, counts, variants)
            for agent in {a.role: a for a in name_agents(counts, random.Random(0))}.values():
                agent_prompt(experiment, agent, counts, variants)


def validate_document(data: Any, what: str) -> Experiment:
    experiment = parse_experiment(data, what=what)
    try:
        check_renders(experiment)
    except ValidationError as exc:
        raise ValidationError(f"{what} is invalid: {exc.message}") from None
    return experiment


def read_file(user: str, path: Path) -> StoredExperiment:
    """A file validated completely, with the id it will be stored under; nothing is written yet, so a
    run of it can be checked whole before the experiment is stored (`store_new`)."""
    raw = read_limited(path, MAX_FILE_BYTES, str(path))
    data = decode_experiment_file(raw, path.name)
    experiment = validate_document(data, path.name)
    return StoredExperiment(ObjectId(), dataclasses.replace(experiment, creator=user, duplicated_from=None))


async def import_file(store: Store, user: str, path: Path) -> StoredExperiment:
    """Validate completely, then insert once; a rejected file writes nothing."""
    return await store_unique(store, read_file(user, path))


async def store_unique(store: Store, stored: StoredExperiment) -> StoredExperiment:
    """Insert under a name no other experiment has: a taken one gets a number (`Prison (2)`), so a
    re-imported export never makes two experiments that lookups by name cannot tell apart."""
    name = await free_name(store, stored.experiment.name)
    return await store_new(store, dataclasses.replace(stored, experiment=dataclasses.replace(stored.experiment,
                                                                                            name=name)))


async def free_name(store: Store, name: str) -> str:
    """`name`, or `name (N)` with the smallest N no experiment has."""
    pattern = f"^{re.escape(name)}( \\(\\d+\\))?$"
    taken = {d["name"] for d in await store.experiments.list({"name": {"$regex": pattern}})}
    if name not in taken:
        return name
    return next(f"{name} ({n})" for n in range(2, len(taken) + 3) if f"{name} ({n})" not in taken)


async def store_new(store: Store, stored: StoredExperiment) -> StoredExperiment:
    experiment = stored.experiment
    await store.experiments.insert({"_id": stored.id, **experiment.to_document(), "creator": experiment.creator,
                                    "duplicated_from": experiment.duplicated_from})
    return stored


async def insert(store: Store, experiment: Experiment) -> StoredExperiment:
    return await store_new(store, StoredExperiment(ObjectId(), experiment))


async def find(store: Store, reference: str) -> StoredExperiment:
    """By id, or by exact name when exactly one experiment has it."""
    if is_id(reference):
        document = await store.experiments.find_one({"_id": ObjectId(reference)})
    else:
        matches = await store.experiments.list({"name": reference})
        if len(matches) > 1:
            raise ValidationError(f"{len(matches)} experiments are named {reference!r}; use the id",
                                  "`simulator experiment list` shows ids")
        document = matches[0] if matches else None
    if document is None:
        raise NotFound(f"no experiment {reference!r}", "`simulator experiment list` shows what exists")
    return StoredExperiment(document["_id"], parse_experiment(document, what=f"stored experiment {reference}"))


def require_creator(stored: StoredExperiment, user: str, action: str) -> None:
    ownership.require_creator(stored.experiment.creator, user, action, f"experiment {stored.id}",
                              "duplicate it to get your own copy")


async def export_file(store: Store, reference: str, path: Path) -> StoredExperiment:
    stored = await find(store, reference)
    document = {**stored.experiment.to_document(), "id": str(stored.id), "creator": stored.experiment.creator}
    if stored.experiment.created_at:
        document["created_at"] = stored.experiment.created_at.isoformat()
    if stored.experiment.duplicated_from:
        document["duplicated_from"] = stored.experiment.duplicated_from
    write_text(path, encode_experiment(document, path.name), f"cannot write {path}")
    return stored


async def list_experiments(store: Store, *, creator: str | None = None, favourite: bool | None = None,
                           model: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {}
    if creator:
        query["creator"] = creator
    if favourite is not None:
        query["favourite"] = favourite
    if model:
        query["llms.model"] = model
    return await store.experiments.list(query)


async def duplicate(store: Store, user: str, reference: str, name: str | None = None,
                    changes: Mapping[str, Any] | None = None) -> StoredExperiment:
    """Anyone may duplicate; the copy belongs to whoever made it."""
    source = await find(store, reference)
    document = {**source.experiment.to_document(), **(changes or {})}
    if name:
        document["name"] = name
    elif "name" not in (changes or {}):
        document["name"] = f"{source.experiment.name} (copy)"
    experiment = validate_document(document, "the duplicate")
    copy = dataclasses.replace(experiment, creator=user, duplicated_from=str(source.id), favourite=False)
    return await insert(store, copy)


async def set_favourite(store: Store, user: str, reference: str, favourite: bool) -> StoredExperiment:
    stored = await find(store, reference)
    require_creator(stored, user, "change")
    await store.experiments.update(stored.id, {"favourite": favourite})
    return stored


async def set_note(store: Store, user: str, reference: str, note: str) -> StoredExperiment:
    stored = await find(store, reference)
    require_creator(stored, user, "change")
    if len(note) > MAX_TEXT:
        raise ValidationError(f"note too long (at most {MAX_TEXT} characters)")
    await store.experiments.update(stored.id, {"note": note})
    return stored


@dataclass(frozen=True)
class Deleted:
    conversations: int
    messages: int
    summaries: int


async def delete(store: Store, user: str, reference: str) -> Deleted:
    """Remove the experiment with its conversations, messages and summaries.

    Children go first and the experiment last, so an interrupted delete can be run again.
    """
    stored = await find(store, reference)
    require_creator(stored, user, "delete")
    conversation_ids = await store.conversations.ids_of_experiment(stored.id)
    deleted = await delete_conversations(store, conversation_ids)
    await store.experiments.delete(stored.id)
    return deleted


async def delete_conversations(store: Store, conversation_ids: list[ObjectId]) -> Deleted:
    """What hangs off the conversations first (messages, summaries, scores, labels, leases), the
    conversations last, so an interrupted delete can run again."""
    messages = await store.messages.delete_for(conversation_ids)
    summaries = await store.summaries.delete_for(conversation_ids)
    for repository in (store.scores, store.labels, store.leases):
        await repository.delete_for(conversation_ids)
    conversations = await store.conversations.delete(conversation_ids)
    return Deleted(conversations, messages, summaries)


def rendered_prompts(experiment: Experiment, counts: Mapping[str, int],
                     variants: Mapping[str, str] | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(heading, text) for the starting message, every agent and the summarizer."""
    counts = check_counts(experiment, counts)
    chosen = check_variants(experiment, variants or {})
    shown = [("Starting message", starting_message(experiment, counts, chosen))]
    for agent in name_agents(counts, random.Random(seed)):
        shown.append((f"{agent.name} ({agent.role})", agent_prompt(experiment, agent, counts, chosen)))
    shown.append(("Summarizer", summarizer_prompt(experiment, counts, chosen)))
    return shown
