"""Which conversations an analysis covers: all of an experiment's, or one batch's.

Scoring, labelling and the analysis all start here, so `--batch` means the same everywhere
and a batch of another experiment is refused before anything is read or written.
"""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from simulator.actions.experiments import StoredExperiment, find
from simulator.core.conversation import Conversation
from simulator.core.ids import is_id
from simulator.errors import NotFound, ValidationError
from simulator.store import Store


def object_id(text: str, what: str) -> ObjectId:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not a {what} id", "ids are 24 hex characters") from None


async def runs_of(store: Store, experiment: str, batch: str | None = None) -> tuple[StoredExperiment,
                                                                                       list[Conversation]]:
    """An experiment (id or name) and its conversations, or only one batch's; oldest first. `experiment` may
    also be a batch id or one conversation's id: that batch's or that conversation's runs, of its experiment."""
    if is_id(experiment) and batch is None:
        single = await _batch_or_conversation(store, ObjectId(experiment))
        if single is not None:
            return single
    stored = await find(store, experiment)
    batch_id = object_id(batch, "batch") if batch else None
    if batch_id is not None and (await store.batches.get(batch_id)).experiment_id != stored.id:
        raise ValidationError(f"batch {batch_id} is not a batch of experiment {stored.experiment.name!r}")
    conversations = await store.conversations.find(experiment_id=stored.id, batch_id=batch_id)
    if not conversations:
        what = f"batch {batch_id}" if batch_id else f"experiment {stored.experiment.name!r}"
        raise NotFound(f"{what} has no conversations", "run some first: `simulator run` or `simulator batch`")
    return stored, sorted(conversations, key=lambda c: c.id)  # ids grow with creation: a batch's cells in order


async def _batch_or_conversation(store: Store, oid: ObjectId) -> tuple[StoredExperiment, list[Conversation]] | None:
    """The runs an id names when it is a batch's or a conversation's (None when it is neither)."""
    try:
        batch = await store.batches.get(oid)
        conversations = await store.conversations.find(batch_id=oid)
        experiment_id = batch.experiment_id
    except NotFound:
        try:
            conversation = await store.conversations.get(oid)
        except NotFound:
            return None
        conversations, experiment_id = [conversation], conversation.spec.experiment_id
    if experiment_id is None:
        raise ValidationError(f"{oid} is not a run of a role experiment; analyze it with its protocol's analysis",
                              "simulator analyze telephone|iterated-learning ID")
    stored = await find(store, str(experiment_id))
    return stored, sorted(conversations, key=lambda c: c.id)
