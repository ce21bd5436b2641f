"""Conversations of any protocol: create one from a run specification, run or resume it.

Creating checks the specification with its protocol and renders every prompt first, then
stores it (status pending), so a run can be resumed, replayed or cited later without the
experiment changing under it. Running wires the protocol's strategies to the turn loop,
the store and the model stacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from dataclasses import dataclass
from typing import Any, Iterable

import bson
from bson import ObjectId
from pymongo.errors import PyMongoError

from simulator import protocols
from simulator.actions.experiments import StoredExperiment
from simulator.actions.leasing import Lease, LeaseLost, claim, new_owner
from simulator.actions.provenance import record_start
from simulator.config import Settings
from simulator.core.conversation import Conversation, Usage
from simulator.core.ids import parse_id
from simulator.core.model_spec import parse_spec
from simulator.core.run_spec import RunSpec, StopSettings
from simulator.engine.loop import Observer, Observers, TurnLoop
from simulator.engine.selection import ManualChooser
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import (CostBudget, Keyword, SelfReplication, Stop, StopCondition, TokenBudget,
                                    WallClock)
from simulator.errors import ModelError, SimulatorError, ValidationError
from simulator.llm.factory import ModelSettings, build_chat_model
from simulator.llm.types import ChatModel, ModelCallError, Reply, chat_options
from simulator.llm.usage import MeteredModel, UsageMeter
from simulator.logs import get_logger
from simulator.store import Message, Status, Store
from simulator.store.connection import store_error
from simulator.store.retry import DatabaseLost

log = get_logger("conversations")

MAX_DOCUMENT_BYTES = 15_000_000  # under MongoDB's 16 MiB, with room for what a run adds (status, usage, outcome)


def checked(spec: RunSpec, experiment: StoredExperiment | None = None) -> RunSpec:
    """The spec as its protocol accepts it, with its seed drawn; raises before anything is written."""
    protocol = protocols.get(spec.protocol)
    if protocol.needs_experiment:
        if experiment is None:
            raise ValidationError(f"a {protocol.title.lower()} needs an experiment")
        spec = dataclasses.replace(spec, experiment_id=experiment.id)
    spec = protocol.check(spec, experiment.experiment if experiment else None)
    if spec.seed is None:
        spec = dataclasses.replace(spec, seed=random.SystemRandom().randrange(1, 2**31))
    return spec


def build_document(user: str, spec: RunSpec, experiment: StoredExperiment | None = None) -> dict[str, Any]:
    """Check a spec and render every prompt: the pending conversation, ready to insert."""
    spec = checked(spec, experiment)
    prepared = protocols.get(spec.protocol).prepare(spec, experiment.experiment if experiment else None,
                                                    random.Random(spec.seed))
    document = {**spec.to_document(), **prepared.to_document(), "creator": user, "stop_reason": None, "runs": 0}
    size = len(bson.encode(document))
    if size > MAX_DOCUMENT_BYTES:  # MongoDB refuses documents over 16 MB: refuse it here, before anything is written
        raise ValidationError(f"this conversation's rendered prompts take {size / 1e6:.1f} MB, more than the "
                              f"{MAX_DOCUMENT_BYTES / 1e6:.0f} MB a stored conversation may hold",
                              "use fewer agents or shorter prompts")
    return document


async def preflight(settings: Settings, model_settings: ModelSettings, specs: Iterable[RunSpec]) -> None:
    """Every model the runs will call, usable, before anything is written: its endpoint is known, a key it
    needs is set, and its provider's check passes (an Ollama model is on its server, pulled now when
    missing; an API server answers the API its endpoint names). One line when it is not."""
    from simulator.llm import providers

    for model in sorted({llm.model for spec in specs for llm in spec.llms}):
        provider, endpoint = providers.resolve(parse_spec(model), settings)
        chat_model = provider.chat_model(endpoint, parse_spec(model).name, timeout=model_settings.retry.timeout,
                                         on_pull=model_settings.on_pull)
        await provider.preflight(chat_model)


async def create(store: Store, user: str, experiment: StoredExperiment | None, spec: RunSpec) -> ObjectId:
    """Store a pending conversation with all its settings and prompts; returns its id."""
    return await store.conversations.create(build_document(user, spec, experiment))


def conversation_id(reference: str) -> ObjectId:
    return parse_id(reference, "conversation", "ids are 24 hex characters; the menus and batch status list them")


def as_turn(message: Message) -> Turn:
    return Turn(message.index, message.day, message.speaker, message.role, message.content, message.round)


class StoreRecorder:
    """The engine's Recorder, backed by the messages and summaries collections; writes only while leased."""

    def __init__(self, store: Store, conversation: ObjectId, lease: Lease):
        self.store, self.conversation, self.lease = store, conversation, lease

    async def append(self, turn: Turn, reply: Reply, raw: str, note: str | None) -> Turn:
        await self.lease.ensure()
        message = Message(conversation_id=self.conversation, index=turn.index, day=turn.day, role=turn.role,
                          speaker=turn.speaker, content=turn.content, raw_content=raw, usage=reply.usage(),
                          latency=round(reply.latency, 4), round=turn.round, lease=self.lease.epoch,
                          logprobs=None if reply.logprobs is None else [t.to_document() for t in reply.logprobs])
        if note:
            message.usage = {**message.usage, "note": note}
        if await self.store.messages.append(message):
            return turn
        stored = await self.store.messages.get(self.conversation, turn.index)  # another run wrote it first
        log.warning("message %d of %s was already stored; keeping the stored one", turn.index, self.conversation)
        return as_turn(stored)

    async def save_summary(self, day: int, content: str, reply: Reply) -> None:
        await self.lease.ensure()
        await self.store.summaries.save(self.conversation, day, content, usage=reply.usage())


def researcher_stops(settings: StopSettings) -> list[StopCondition]:
    """The stop conditions a researcher adds to any protocol's own."""
    stops: list[StopCondition] = []
    if settings.keyword:
        stops.append(Keyword(settings.keyword))
    if settings.detect_cycles:
        stops.append(SelfReplication())
    if settings.token_budget:
        stops.append(TokenBudget(settings.token_budget))
    if settings.cost_budget:
        stops.append(CostBudget(settings.cost_budget))
    return stops


@dataclass(frozen=True)
class Outcome:
    conversation_id: ObjectId
    status: Status
    reason: str
    messages: int
    model_down: bool = False  # failed because a model server did not answer (after every retry)


async def load_state(store: Store, conversation: Conversation, days: int) -> ConversationState:
    agents = list(conversation.agents)
    n = conversation.spec.n_messages
    if conversation.runs == 0 and not conversation.copied_prefix:  # never started, nothing stored: skip the queries
        return ConversationState(agents=agents, n_messages=n, days=days)
    stored = await store.messages.list(conversation.id)
    turns = []
    for message in stored:  # contiguous prefix only: resume continues at the first gap
        if message.index != len(turns):
            break
        turns.append(as_turn(message))
    summary_docs = await store.summaries.list(conversation.id)
    # Usage is summed from what is stored, so it is right even after a kill -9.
    usages = [m.usage for m in stored[:len(turns)]] + [s.get("usage") or {} for s in summary_docs]
    return ConversationState(agents=agents, n_messages=n, days=days, turns=turns,
                             summaries={s["day"]: s["content"] for s in summary_docs},
                             prompt_tokens=sum(u.get("prompt_tokens", 0) for u in usages),
                             completion_tokens=sum(u.get("completion_tokens", 0) for u in usages),
                             cost=sum(u.get("cost", 0.0) for u in usages))


def model_stacks(conversation: Conversation, settings: Settings, model_settings: ModelSettings,
                 store: Store, usage: UsageMeter, call_scope: str | None = None) -> list[ChatModel]:
    """One metered model stack per LLM setting; settings naming the same model share one stack. Calls are
    recorded under (and replayed from) `call_scope`, this conversation's id unless another's is given
    (`simulator reproduce` replays the source's calls into a new conversation)."""
    stacks: dict[str, ChatModel] = {}
    for llm in conversation.spec.llms:
        if llm.model not in stacks:
            stacks[llm.model] = build_chat_model(llm.model, settings, model_settings, store.model_calls,
                                                 scope=call_scope or str(conversation.id))
    return [MeteredModel(stacks[llm.model], usage, priced=False) for llm in conversation.spec.llms]


async def run(store: Store, settings: Settings, reference: ObjectId | str, model_settings: ModelSettings, *,
              observer: Observer | None = None, chooser: ManualChooser | None = None,
              wall_clock: float | None = None, model: ChatModel | None = None,
              extra_stop: StopCondition | None = None, owner: str | None = None, run_id: str = "",
              force: bool = False, call_scope: str | None = None) -> Outcome:
    """Run (or resume) a conversation until a stop condition; status and reason are stored.

    The conversation is leased first (simulator/actions/leasing.py): LeaseHeld while another
    live runner holds it, unless `force`, which waits for that lease to expire. `model`
    replaces every model stack built from the stored spec (scripted models in tests and
    benchmarks); everything else is the same path a real run takes. `extra_stop` adds a
    condition from outside, such as a batch-wide token budget.
    """
    cid = reference if isinstance(reference, ObjectId) else conversation_id(reference)
    if (await store.conversations.get(cid)).status is Status.COMPLETED:
        raise ValidationError(f"conversation {cid} is already completed")
    lease = await claim(store, cid, owner=owner or new_owner(), run=run_id, wait=force)
    try:
        conversation = await store.conversations.get(cid)  # as the previous holder left it
        if conversation.status is Status.COMPLETED:
            raise ValidationError(f"conversation {cid} is already completed ({conversation.stop_reason})")
        return await _run_leased(store, settings, conversation, lease, model_settings, observer=observer,
                                 chooser=chooser, wall_clock=wall_clock, model=model, extra_stop=extra_stop,
                                 call_scope=call_scope)
    finally:
        with contextlib.suppress(PyMongoError):
            await asyncio.shield(lease.release())


async def _run_leased(store: Store, settings: Settings, conversation: Conversation, lease: Lease,
                      model_settings: ModelSettings, *, observer: Observer | None, chooser: ManualChooser | None,
                      wall_clock: float | None, model: ChatModel | None, extra_stop: StopCondition | None,
                      call_scope: str | None = None) -> Outcome:
    cid = conversation.id
    protocol = protocols.get(conversation.spec.protocol)
    # This conversation's own tally: the meter in model_settings may be shared by a whole batch.
    own_usage = UsageMeter()
    models = [MeteredModel(model, own_usage, priced=False)] * len(conversation.spec.llms) if model is not None \
        else model_stacks(conversation, settings, model_settings, store, own_usage, call_scope)
    parts = protocol.engine(conversation, models, chooser)
    state = await load_state(store, conversation, parts.days)
    observers = Observers(observer, *protocol.observers(conversation, state))
    stops = [parts.stop, *researcher_stops(conversation.spec.stops), *([WallClock(wall_clock)] if wall_clock else []),
             *([extra_stop] if extra_stop is not None else [])]
    loop = TurnLoop(models=models, options=[chat_options(l) for l in conversation.spec.llms],
                    selector=parts.selector, view=parts.view, stop=_any(stops), cleaner=parts.cleaner,
                    recorder=StoreRecorder(store, cid, lease), summarizing=parts.summarizing,
                    seed=conversation.spec.seed, meter=own_usage, observer=observers, rounds=parts.rounds,
                    schemas=parts.schemas, logprobs=parts.logprobs)
    await record_start(store, conversation)
    await store.conversations.start_run(cid, runs=lease.epoch)
    try:
        ending: Stop = await loop.run(state)
    except LeaseLost as exc:  # another runner holds it now: leave the conversation to it
        return Outcome(cid, Status.STOPPED, exc.message, state.next_index)
    except ModelError as exc:
        await _finish(store, lease, state, Status.FAILED, exc.one_line())
        return Outcome(cid, Status.FAILED, exc.one_line(), state.next_index,
                       model_down=isinstance(exc, ModelCallError) and exc.server_down)
    except PyMongoError as exc:  # the database failed for good: record it once it is back, if it comes back soon
        reason = str(exc) if isinstance(exc, DatabaseLost) else store_error(exc, settings.mongodb_uri).one_line()
        log.warning("conversation %s: %s", cid, reason)
        await _record_failure(store, lease, state, reason)
        return Outcome(cid, Status.FAILED, reason, state.next_index)
    except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C, SIGTERM (simulator/aio.py), a stopped batch
        with contextlib.suppress(LeaseLost):
            await asyncio.shield(_finish(store, lease, state, Status.STOPPED, "interrupted"))
        raise
    except SimulatorError as exc:  # e.g. a write the database refused: the run failed, and says why
        await _record_failure(store, lease, state, exc.one_line())
        return Outcome(cid, Status.FAILED, exc.one_line(), state.next_index)
    except Exception as exc:  # a bug: never left `running`; the traceback goes to the log by the caller
        await _record_failure(store, lease, state, f"unexpected error: {type(exc).__name__} (details in the log)")
        raise
    status = Status.STOPPED if ending.resumable else Status.COMPLETED
    try:
        await _finish(store, lease, state, status, ending.reason, protocol.outcome(conversation, state, ending))
    except LeaseLost as exc:
        return Outcome(cid, Status.STOPPED, exc.message, state.next_index)
    return Outcome(cid, status, ending.reason, state.next_index)


def _any(stops: list[StopCondition]) -> StopCondition:
    combined = stops[0]
    for stop in stops[1:]:
        combined = combined | stop
    return combined


RECORD_FAILURE_WITHIN = 20.0  # seconds to wait for the database to come back and take the failure; after
# that the run is shown as stalled (its lease lapsed), never as running, and `resume` continues it


async def _record_failure(store: Store, lease: Lease, state: ConversationState, reason: str) -> bool:
    """Mark the run failed with its reason as soon as the database answers again, so it never stays
    `running` with no error; unless another runner took the conversation over meanwhile."""
    deadline = time.monotonic() + RECORD_FAILURE_WITHIN
    while True:
        try:
            if await lease.held_in_store():
                await store.conversations.finish(lease.record.conversation_id, Status.FAILED, reason,
                                                 Usage(state.prompt_tokens, state.completion_tokens, state.cost),
                                                 n_stored=state.next_index)
            return True
        except PyMongoError:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(2.0)


async def _finish(store: Store, lease: Lease, state: ConversationState, status: Status, reason: str,
                  outcome: dict[str, Any] | None = None) -> None:
    """Record how the run ended, unless the lease was lost (the new holder records its own ending)."""
    await lease.ensure()
    await store.conversations.finish(lease.record.conversation_id, status, reason,
                                     Usage(state.prompt_tokens, state.completion_tokens, state.cost),
                                     n_stored=state.next_index, outcome=outcome)
