"""What an analysis is asked about: a batch, one conversation (a `--repeat 1` run makes no batch) or an
experiment, each with its runs of one protocol; so every `analyze` takes any of them and says which."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId

from simulator.actions.experiments import find as find_experiment
from simulator.core.conversation import Conversation
from simulator.core.ids import is_id
from simulator.errors import NotFound, ValidationError
from simulator.store import Store


@dataclass(frozen=True)
class RunTarget:
    kind: str  # batch, conversation or experiment
    id: ObjectId
    conversations: list[Conversation]

    def describe(self) -> str:
        runs = len(self.conversations)
        return f"{self.kind} {self.id}: {runs} run{'s' if runs != 1 else ''}"


async def find_runs(store: Store, reference: str, protocol: str, title: str) -> RunTarget:
    """The runs of `protocol` that `reference` names: a batch id, a conversation id, or an experiment's id or
    name; one line when it names none, or names something with no such runs."""
    target = await _target(store, reference, protocol)
    if not target.conversations:
        raise ValidationError(f"{target.kind} {target.id} has no {title} runs")
    return target


async def _target(store: Store, reference: str, protocol: str) -> RunTarget:
    if is_id(reference):
        oid = ObjectId(reference)
        try:
            await store.batches.get(oid)
            return RunTarget("batch", oid, await store.conversations.find(batch_id=oid, protocol=protocol))
        except NotFound:
            pass
        try:
            conversation = await store.conversations.get(oid)
            return RunTarget("conversation", oid, [conversation] if conversation.spec.protocol == protocol else [])
        except NotFound:
            pass
    try:
        experiment = await find_experiment(store, reference)
    except NotFound:
        raise NotFound(f"{reference!r} is no batch, conversation or experiment",
                       "simulator batch list and simulator list print ids") from None
    return RunTarget("experiment", experiment.id,
                     await store.conversations.find(experiment_id=experiment.id, protocol=protocol))
