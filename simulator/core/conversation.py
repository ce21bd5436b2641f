"""A stored conversation as the layers above the store see it: one typed object, not a dict.

The store reads documents into these (`from_document`) and nothing above it indexes raw
fields, so a field renamed or added is changed in one place. Everything a run needs to
continue after a crash is here: the specification, the participants and the exact
rendered prompts, frozen when the conversation was created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from bson import ObjectId

from simulator.core.agents import Agent
from simulator.core.named import from_pairs, to_pairs
from simulator.core.run_spec import RunSpec


class Status(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


# A run in one of these has ended and recorded how many messages it stored (`stored_messages`).
ENDED = (Status.COMPLETED.value, Status.FAILED.value, Status.STOPPED.value)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_document(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "cost": self.cost}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> "Usage":
        doc = doc or {}
        return cls(int(doc.get("prompt_tokens") or 0), int(doc.get("completion_tokens") or 0),
                   float(doc.get("cost") or 0.0))


@dataclass(frozen=True)
class Prepared:
    """What a protocol renders before a run, stored with the conversation and never re-rendered."""

    title: str  # the experiment's name, or the protocol's with its template
    agents: tuple[Agent, ...]
    prompts: Mapping[str, str]  # participant name -> system prompt; stored as {name, value} pairs (core/named.py)
    starting_message: str = ""
    summarizer_prompt: str = ""
    max_paragraphs: int | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)  # protocol-specific inputs (contexts, log file)

    def to_document(self) -> dict[str, Any]:
        return {"experiment_name": self.title,
                "agents": [{"name": a.name, "role": a.role, "llm": a.llm} for a in self.agents],
                "prompts": to_pairs(self.prompts), "starting_message": self.starting_message,
                "summarizer_prompt": self.summarizer_prompt, "max_paragraphs": self.max_paragraphs,
                "extras": dict(self.extras)}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Prepared":
        return cls(title=doc.get("experiment_name", ""),
                   agents=tuple(Agent(a["name"], a["role"], a.get("llm", 0)) for a in doc["agents"]),
                   prompts=from_pairs(doc.get("prompts")), starting_message=doc.get("starting_message", ""),
                   summarizer_prompt=doc.get("summarizer_prompt", ""), max_paragraphs=doc.get("max_paragraphs"),
                   extras=doc.get("extras") or {})


@dataclass(frozen=True)
class Conversation:
    id: ObjectId
    spec: RunSpec
    prepared: Prepared
    creator: str = ""
    status: Status = Status.PENDING
    favourite: bool = False
    runs: int = 0
    usage: Usage = Usage()
    error: str | None = None
    stop_reason: str | None = None
    outcome: Mapping[str, Any] = field(default_factory=dict)  # what the protocol found (a chatroom's cycle)
    created_at: datetime | None = None
    timings: Mapping[str, datetime] = field(default_factory=dict)  # started_at, finished_at of the last run
    # a fork's lineage: {conversation_id, at, changes}; its messages before `at` are copies of the source's
    forked_from: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)  # how the run was made (actions/provenance.py)

    @property
    def copied_prefix(self) -> int:
        """How many leading messages were copied from another conversation, not generated in this one."""
        return int((self.forked_from or {}).get("at") or 0)

    @property
    def agents(self) -> tuple[Agent, ...]:
        return self.prepared.agents

    @property
    def title(self) -> str:
        return self.prepared.title

    @property
    def ending(self) -> str | None:
        """Why it stopped or failed, for display."""
        return self.error or self.stop_reason

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Conversation":
        return cls(id=doc["_id"], spec=RunSpec.from_document(doc), prepared=Prepared.from_document(doc),
                   creator=doc.get("creator", ""), status=Status(doc.get("status", "pending")),
                   favourite=bool(doc.get("favourite")), runs=int(doc.get("runs") or 0),
                   usage=Usage.from_document(doc.get("usage")), error=doc.get("error"),
                   stop_reason=doc.get("stop_reason"), outcome=doc.get("outcome") or {},
                   created_at=doc.get("created_at"), timings=doc.get("timings") or {},
                   forked_from=doc.get("forked_from"), provenance=doc.get("provenance") or {})
