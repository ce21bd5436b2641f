"""The one specification of a run: what single runs, batches, resume and the menus share.

Before this, a single run and a batch cell were two request types that drifted apart
(batches could not set a stop keyword, cycle detection or a cost budget). Now every front
end builds a RunSpec, the protocol named in it checks it completely before anything is
written, and the conversation document stores it (`to_document`), so `resume` reads back
exactly what was asked for (`from_document`).

Protocol-specific settings live in `options`, a plain mapping the protocol validates and
reads through its own typed view; everything every protocol shares is a field here.
Conversations stored before protocols existed have no `protocol` field: they are role
experiments whose options sit at the top level, and `from_document` reads them as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from bson import ObjectId

from simulator.core.experiment import LLMSetting

ROLES = "roles"
LEGACY_ROLE_OPTIONS = ("agent_counts", "days", "speaker_selection", "view", "last_k", "variants")


@dataclass(frozen=True)
class StopSettings:
    """Stop conditions a researcher adds to a protocol's own."""

    keyword: str | None = None
    detect_cycles: bool = False
    token_budget: int | None = None
    cost_budget: float | None = None

    def to_document(self) -> dict[str, Any]:
        return {"keyword": self.keyword, "detect_cycles": self.detect_cycles, "token_budget": self.token_budget,
                "cost_budget": self.cost_budget}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> "StopSettings":
        doc = doc or {}
        return cls(keyword=doc.get("keyword"), detect_cycles=bool(doc.get("detect_cycles")),
                   token_budget=doc.get("token_budget"), cost_budget=doc.get("cost_budget"))


def llm_document(llm: LLMSetting) -> dict[str, Any]:
    return {k: v for k, v in vars(llm).items() if v is not None}


def llm_from_document(doc: Mapping[str, Any]) -> LLMSetting:
    return LLMSetting(**{k: doc[k] for k in LLMSetting.__dataclass_fields__ if k in doc})


@dataclass(frozen=True)
class RunSpec:
    protocol: str
    llms: tuple[LLMSetting, ...]  # role experiments: one; chatroom and backrooms: one per participant
    n_messages: int
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    stops: StopSettings = StopSettings()
    experiment_id: ObjectId | None = None
    batch_id: ObjectId | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "llms", tuple(self.llms))
        # as stored: lists, not tuples, so a spec read back equals the one written
        object.__setattr__(self, "options", MappingProxyType(_plain(dict(self.options))))

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def with_options(self, **changes: Any) -> "RunSpec":
        return replace(self, options={**self.options, **changes})

    def to_document(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "llm": llm_document(self.llms[0]),
                "llms": [llm_document(l) for l in self.llms], "n_messages": self.n_messages,
                "seed": self.seed, "stops": self.stops.to_document(), "options": _plain(dict(self.options)),
                "experiment_id": self.experiment_id, "batch_id": self.batch_id}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "RunSpec":
        protocol = doc.get("protocol") or ROLES
        if "options" in doc:
            options = dict(doc["options"])
        else:  # stored before protocols existed: a role experiment with its settings at the top level
            options = {k: doc[k] for k in LEGACY_ROLE_OPTIONS if k in doc}
        llms = doc.get("llms") or [doc["llm"]]
        return cls(protocol=protocol, llms=tuple(llm_from_document(l) for l in llms), n_messages=doc["n_messages"],
                   options=options, seed=doc.get("seed"), stops=StopSettings.from_document(doc.get("stops")),
                   experiment_id=doc.get("experiment_id"), batch_id=doc.get("batch_id"))


def _plain(value: Any) -> Any:
    """Mappings and tuples as the dicts and lists BSON stores."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
