"""Which conversations an analysis covers: all of an experiment's, or one batch's.

Scoring, labelling and the analysis all start here, so `--batch` means the same everywhere
and a batch of another experiment is refused before anything is read or written.
"""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from simulator.actions.experiments import StoredExperiment, find
from simulator.core.conversation import Conversation
from simulator.errors import NotFound, ValidationError
from simulator.store import Store


def object_id(text: str, what: str) -> ObjectId:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not a {what} id", "ids are 24 hex characters") from None


async def runs_of(store: Store, experiment: str, batch: str | None = None) -> tuple[StoredExperiment,
                                                                                       list[Conversation]]:
    """An experiment (id or name) and its conversations, or only one batch's; oldest first."""
    stored = await find(store, experiment)
    batch_id = object_id(batch, "batch") if batch else None
    if batch_id is not None and (await store.batches.get(batch_id)).experiment_id != stored.id:
        raise ValidationError(f"batch {batch_id} is not a batch of experiment {stored.experiment.name!r}")
    conversations = await store.conversations.find(experiment_id=stored.id, batch_id=batch_id)
    if not conversations:
        what = f"batch {batch_id}" if batch_id else f"experiment {stored.experiment.name!r}"
        raise NotFound(f"{what} has no conversations", "run some first: `simulator run` or `simulator batch`")
    return stored, sorted(conversations, key=lambda c: c.id)  # ids grow with creation: a batch's cells in order
