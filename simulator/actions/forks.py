"""Counterfactual forks: a stored conversation's first K messages, continued under changed conditions.

A fork is a new conversation of the source's protocol whose messages 0..K-1 (with their days)
and the summaries of the days they complete are copies of the source's; the turn loop then
continues it to the source's length exactly as `resume` would, because everything the loop
needs is in the stored turns (simulator/engine/loop.py). What changed (the models of some or
all participants, sampling settings, a role's system prompt, the seed) is stored as the
lineage `forked_from` {conversation_id, at, changes}, so a fork of a fork is a tree.

Nothing half-written: the copies are written under the fork's id first and the fork's
conversation document last, so a failure leaves no fork that could run from a partial prefix.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from bson import ObjectId

from simulator import protocols
from simulator.actions.provenance import sha256
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import LLMSetting
from simulator.core.forks import describe_changes
from simulator.core.model_aliases import find_alias
from simulator.core.model_spec import parse_spec
from simulator.core.run_spec import RunSpec
from simulator.engine.state import day_sizes
from simulator.errors import ValidationError
from simulator.store import Message, Store

SEED_RANGE = 2**31


@dataclass(frozen=True)
class RolePrompt:
    role: str
    source: str  # where the text came from (a file name), for the lineage
    text: str


@dataclass(frozen=True)
class ForkChanges:
    """One condition: what a fork changes from message K on. `llm` is `SPEC` (every participant) or
    `TARGET=SPEC` (the participants with that role or name)."""

    llm: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    role_prompts: tuple[RolePrompt, ...] = ()

    def sampling(self) -> dict[str, Any]:
        values = {"temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                  "max_tokens": self.max_tokens}
        return {k: v for k, v in values.items() if v is not None}

    def to_document(self) -> dict[str, Any]:
        """What changed, as stored in the lineage (prompts by source and hash; the text is in `prompts`)."""
        doc: dict[str, Any] = {"llm": self.llm, **self.sampling()}
        if self.role_prompts:
            doc["role_prompts"] = [{"role": p.role, "source": p.source, "sha256": sha256(p.text)}
                                   for p in self.role_prompts]
        return {k: v for k, v in doc.items() if v is not None}

    def label(self) -> str:
        """The condition in one line (how analyses and the batch grid group forks)."""
        return describe(self.to_document())


describe = describe_changes  # where the CLI and the explorer look for it


def conditions(llms: Iterable[str | None], temperatures: Iterable[float | None], base: ForkChanges) -> list[ForkChanges]:
    """The sweep of conditions: every --llm value crossed with every --temperature value."""
    return [dataclasses.replace(base, llm=llm, temperature=t)
            for llm, t in itertools.product(list(llms) or [None], list(temperatures) or [None])]


def resolved_model(text: str, aliases: Mapping[str, str]) -> str:
    alias = find_alias(text, aliases)
    return alias.spec if alias is not None else str(parse_spec(text))


def _with_sampling(llm: LLMSetting, changes: ForkChanges, model: str | None = None) -> LLMSetting:
    return dataclasses.replace(llm, **changes.sampling(), **({"model": model} if model else {}))


def changed_spec(conversation: Conversation, changes: ForkChanges, aliases: Mapping[str, str]) -> tuple[RunSpec, Prepared]:
    """The source's spec and prepared inputs with a condition applied; raises on an unknown target or role."""
    spec, prepared = conversation.spec, conversation.prepared
    llms = [_with_sampling(llm, changes) for llm in spec.llms]
    agents = list(prepared.agents)
    if changes.llm:
        target, _, model_text = changes.llm.rpartition("=")
        model = resolved_model(model_text, aliases)
        if not target:
            llms = [dataclasses.replace(llm, model=model) for llm in llms]
        else:
            agents, llms = _retarget(agents, llms, target, model)
    prompts = dict(prepared.prompts)
    for change in changes.role_prompts:
        names = [a.name for a in agents if a.role == change.role]
        if not names:
            raise ValidationError(f"--role-prompt {change.role}: no participant has that role "
                                  f"(roles here: {', '.join(sorted({a.role for a in agents}))})")
        if not any(prompts.get(n) for n in names):
            raise ValidationError(f"--role-prompt {change.role}: that role has no system prompt in a "
                                  f"{protocols.get(spec.protocol).title.lower()}, so there is nothing to replace")
        prompts.update(dict.fromkeys(names, change.text))
    return dataclasses.replace(spec, llms=tuple(llms)), dataclasses.replace(prepared, agents=tuple(agents),
                                                                             prompts=prompts)


def _retarget(agents: list, llms: list[LLMSetting], target: str, model: str) -> tuple[list, list[LLMSetting]]:
    """Give the participants named or with the role `target` their own LLM setting for `model`: in place when
    they are the only users of their setting (a chatroom's), else as a new setting (a role experiment's)."""
    chosen = [i for i, a in enumerate(agents) if target in (a.role, a.name)]
    if not chosen:
        raise ValidationError(f"--llm {target}=...: no participant has that role or name "
                              f"(roles: {', '.join(sorted({a.role for a in agents}))})")
    llms = list(llms)
    for index in sorted({agents[i].llm for i in chosen}):
        users = [i for i, a in enumerate(agents) if a.llm == index]
        if set(users) <= set(chosen):
            llms[index] = dataclasses.replace(llms[index], model=model)
            continue
        llms.append(dataclasses.replace(llms[index], model=model))
        for i in users:
            if i in chosen:
                agents[i] = dataclasses.replace(agents[i], llm=len(llms) - 1)
    return agents, llms


def days_of(conversation: Conversation) -> int:
    spec = conversation.spec
    return int(spec.option("days", 1) or 1) if protocols.get(spec.protocol).has_days else 1


def completed_days(conversation: Conversation, at: int) -> set[int]:
    """Days whose every message is before `at`: their summaries belong to the copied prefix."""
    ends = itertools.accumulate(day_sizes(conversation.spec.n_messages, days_of(conversation)))
    return {day for day, end in enumerate(ends) if end <= at}


async def check_source(store: Store, source: Conversation, at: int) -> list[Message]:
    """The source's first `at` messages; one line when the source cannot be forked there."""
    if not 0 <= at < source.spec.n_messages:
        raise ValidationError(f"--at {at}: a fork starts at a message of the source, 0 to "
                              f"{source.spec.n_messages - 1} (it has {source.spec.n_messages})")
    messages = await store.messages.list(source.id)
    prefix = messages[:at]
    if len(prefix) < at or any(m.index != i for i, m in enumerate(prefix)):
        raise ValidationError(f"--at {at}: conversation {source.id} has only "
                              f"{next((i for i, m in enumerate(messages) if m.index != i), len(messages))} "
                              f"messages stored from the start")
    return prefix


def fork_document(source: Conversation, user: str, spec: RunSpec, prepared: Prepared, at: int,
                  changes: Mapping[str, Any], batch_id: ObjectId | None) -> dict[str, Any]:
    """The fork's pending conversation: the changed spec and inputs, its lineage, no provenance yet."""
    spec = dataclasses.replace(spec, batch_id=batch_id)
    document = {**spec.to_document(), **prepared.to_document(), "creator": user, "stop_reason": None, "runs": 0,
                "forked_from": {"conversation_id": source.id, "at": at, "changes": dict(changes),
                                "root": (source.forked_from or {}).get("root") or source.id}}
    return document


async def copy_prefix(store: Store, source: Conversation, fork_id: ObjectId, prefix: list[Message], at: int) -> None:
    """The source's messages before `at`, and the summaries of the days they complete, under the fork's id.
    Usage is not copied: the fork did not spend those tokens."""
    copies = [dataclasses.replace(m, conversation_id=fork_id, usage={}, lease=None) for m in prefix]
    await store.messages.append_many(copies)
    days = completed_days(source, at)
    for summary in await store.summaries.list(source.id):
        if summary["day"] in days:
            await store.summaries.save(fork_id, summary["day"], summary["content"])


@dataclass(frozen=True)
class PlannedFork:
    source: ObjectId
    condition: str
    repeat: int
    conversation_id: ObjectId


async def create_forks(store: Store, user: str, sources: list[Conversation], at: int, changes: list[ForkChanges],
                       repeats: int, aliases: Mapping[str, str], seed: int | None = None,
                       batch_id: ObjectId | None = None) -> list[PlannedFork]:
    """Every fork of sources x conditions x repeats, each with its own seed (`seed`, `seed+1`, ... when given,
    else drawn): checked completely first, then stored prefix-first."""
    rng = random.SystemRandom()
    plans = []
    for source in sources:
        prefix = await check_source(store, source, at)
        for change in changes:
            spec, prepared = changed_spec(source, change, aliases)
            for repeat in range(repeats):
                fork_seed = (seed + len(plans)) % SEED_RANGE if seed is not None else rng.randrange(1, SEED_RANGE)
                lineage = {**change.to_document(), "seed": fork_seed}
                document = fork_document(source, user, dataclasses.replace(spec, seed=fork_seed), prepared, at,
                                         lineage, batch_id)
                plans.append((source, prefix, change.label(), repeat, {"_id": ObjectId(), **document}))
    forks = []
    for source, prefix, label, repeat, document in plans:
        await copy_prefix(store, source, document["_id"], prefix, at)
        await store.conversations.create_once(document)
        forks.append(PlannedFork(source.id, label, repeat, document["_id"]))
    return forks


async def create_fork_batch(store: Store, user: str, sources: list[Conversation], forks: list[PlannedFork],
                            batch_id: ObjectId, at: int) -> None:
    """The forks as a batch (source x condition x repeat), so `batch status`, `batch resume` and the
    explorer's grid treat a sweep of forks like any other."""
    first = sources[0]
    await store.batches.insert({
        "_id": batch_id, "protocol": first.spec.protocol, "experiment_id": first.spec.experiment_id,
        "experiment_name": f"forks of {first.title} at {at}", "creator": user, "status": "pending",
        "grid": {"axes": ["source", "condition", "repeat"], "forks_at": at},
        "cells": [{"n": n, "source": str(f.source), "condition": f.condition, "repeat": f.repeat,
                   "conversation_id": f.conversation_id} for n, f in enumerate(forks)]})


def same_protocol(sources: list[Conversation]) -> None:
    kinds = {s.spec.protocol for s in sources}
    if len(kinds) > 1:
        raise ValidationError(f"forks in one batch need sources of one protocol, got {', '.join(sorted(kinds))}")


@dataclass(frozen=True)
class TreeNode:
    conversation: Conversation
    children: tuple["TreeNode", ...]


async def fork_tree(store: Store, conversation_id: ObjectId) -> TreeNode:
    """The tree a conversation belongs to, from its root (the conversation every fork started from)."""
    conversation = await store.conversations.get(conversation_id)
    root_id = (conversation.forked_from or {}).get("root") or conversation.id
    root = await store.conversations.get(root_id)
    level, children_of = [root], {}
    while level:  # one query per generation
        forks = await store.conversations.forks_of([c.id for c in level])
        for fork in forks:
            children_of.setdefault(fork.forked_from["conversation_id"], []).append(fork)
        level = forks

    def node(c: Conversation) -> TreeNode:
        return TreeNode(c, tuple(node(child) for child in children_of.get(c.id, [])))

    return node(root)
