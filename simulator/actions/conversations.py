"""Conversations: create one from an experiment, run or resume it, read it back.

Creating stores every setting and the exact rendered prompts first (status pending),
so a run can be resumed, replayed or cited later without the experiment changing
under it. Running wires the engine to the store and the model stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any, Mapping

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import PyMongoError

from simulator.actions.experiments import StoredExperiment
from simulator.config import Settings
from simulator.core.agents import Agent, name_agents
from simulator.core.experiment import LLMSetting
from simulator.core.model_spec import parse_spec
from simulator.core.prompts import agent_prompt, check_counts, check_variants, starting_message, summarizer_prompt
from simulator.engine.context import VIEWS, Framing, make_view
from simulator.engine.loop import Observer, Summarizing, TurnLoop
from simulator.engine.selection import (METHODS, AlternateRoles, Auto, Manual, ManualChooser, RandomNoRepeat,
                                        RoundRobin, SpeakerSelector)
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import (CostBudget, Keyword, MessageBudget, SelfReplication, Stop, StopCondition,
                                    TokenBudget, WallClock)
from simulator.errors import ModelError, NotFound, ValidationError
from simulator.llm.factory import ModelSettings, build_chat_model
from simulator.llm.types import ChatModel, ChatOptions, Reply
from simulator.llm.usage import MeteredModel, UsageMeter
from simulator.logs import get_logger
from simulator.store import Message, Status, Store

log = get_logger("conversations")


@dataclass(frozen=True)
class ConversationRequest:
    """Everything that defines one conversation, as the researcher asked for it."""

    llm: LLMSetting
    agent_counts: Mapping[str, int]
    n_messages: int
    days: int = 1
    speaker_selection: str = "round_robin"
    view: str = "shared"
    last_k: int = 10
    seed: int | None = None
    variants: Mapping[str, str] = field(default_factory=dict)
    stop_keyword: str | None = None
    detect_cycles: bool = False
    token_budget: int | None = None
    cost_budget: float | None = None
    batch_id: ObjectId | None = None


def choose_llm(stored: StoredExperiment, spec: str | None) -> LLMSetting:
    """The experiment's LLM setting for a spec (or 1-based index); a new spec gets defaults."""
    llms = stored.experiment.llms
    if not spec:
        return llms[0]
    if spec.isdigit():
        if not 1 <= int(spec) <= len(llms):
            raise ValidationError(f"--llm {spec}: this experiment has LLM settings 1 to {len(llms)}")
        return llms[int(spec) - 1]
    model = str(parse_spec(spec))
    return next((l for l in llms if l.model == model), LLMSetting(model=model))


def check_request(stored: StoredExperiment, request: ConversationRequest) -> None:
    if not 1 <= request.n_messages <= 100_000:
        raise ValidationError(f"messages must be 1 to 100000, got {request.n_messages}")
    if not 1 <= request.days <= request.n_messages:
        raise ValidationError(f"days must be 1 to the number of messages ({request.n_messages}), got {request.days}")
    if request.speaker_selection not in METHODS:
        raise ValidationError(f"unknown speaker selection {request.speaker_selection!r} (known: {', '.join(METHODS)})")
    if request.view not in VIEWS:
        raise ValidationError(f"unknown context view {request.view!r} (known: {', '.join(VIEWS)})")


def build_document(user: str, stored: StoredExperiment, request: ConversationRequest) -> dict[str, Any]:
    """Validate a request and render every prompt: the pending conversation, ready to insert."""
    check_request(stored, request)
    experiment = stored.experiment
    counts = check_counts(experiment, dict(request.agent_counts))
    variants = check_variants(experiment, dict(request.variants))
    seed = request.seed if request.seed is not None else random.SystemRandom().randrange(1, 2**31)
    agents = name_agents(counts, random.Random(seed))
    return {
        "experiment_id": stored.id,
        "experiment_name": experiment.name,
        "llm": {k: v for k, v in vars(request.llm).items() if v is not None},
        "n_messages": request.n_messages,
        "days": request.days,
        "speaker_selection": request.speaker_selection,
        "view": request.view,
        "last_k": request.last_k,
        "agent_counts": counts,
        "agents": [{"name": a.name, "role": a.role} for a in agents],
        "variants": variants,
        "seed": seed,
        "stops": {"keyword": request.stop_keyword, "detect_cycles": request.detect_cycles,
                  "token_budget": request.token_budget, "cost_budget": request.cost_budget},
        "prompts": {a.name: agent_prompt(experiment, a, counts, variants) for a in agents},
        "summarizer_prompt": summarizer_prompt(experiment, counts, variants),
        "starting_message": starting_message(experiment, counts, variants),
        "max_paragraphs": experiment.max_paragraphs,
        "creator": user,
        "batch_id": request.batch_id,
        "stop_reason": None,
        "runs": 0,
    }


async def create(store: Store, user: str, stored: StoredExperiment, request: ConversationRequest) -> ObjectId:
    """Store a pending conversation with all its settings and prompts; returns its id."""
    return await store.conversations.create(build_document(user, stored, request))


def conversation_id(reference: str) -> ObjectId:
    try:
        return ObjectId(reference)
    except (InvalidId, TypeError):
        raise NotFound(f"{reference!r} is not a conversation id", "ids are 24 hex characters; "
                       "`simulator conversations` lists them") from None


class StoreRecorder:
    """The engine's Recorder, backed by the messages and summaries collections."""

    def __init__(self, store: Store, conversation: ObjectId):
        self.store, self.conversation = store, conversation

    async def append(self, turn: Turn, reply: Reply, raw: str, note: str | None) -> Turn:
        message = Message(conversation_id=self.conversation, index=turn.index, day=turn.day, role=turn.role,
                          speaker=turn.speaker, content=turn.content, raw_content=raw, usage=reply.usage(),
                          latency=round(reply.latency, 4))
        if note:
            message.usage = {**message.usage, "note": note}
        if await self.store.messages.append(message):
            return turn
        stored = await self.store.messages.get(self.conversation, turn.index)  # another run wrote it first
        log.warning("message %d of %s was already stored; keeping the stored one", turn.index, self.conversation)
        return Turn(stored.index, stored.day, stored.speaker, stored.role, stored.content)

    async def save_summary(self, day: int, content: str, reply: Reply) -> None:
        await self.store.summaries.save(self.conversation, day, content, usage=reply.usage())


def make_selector(method: str, seed: int, model, options: ChatOptions,
                  chooser: ManualChooser | None) -> SpeakerSelector:
    if method == "round_robin":
        return RoundRobin()
    if method == "random":
        return RandomNoRepeat(seed)
    if method == "alternate_roles":
        return AlternateRoles()
    if method == "auto":
        return Auto(model, options)
    if chooser is None:
        raise ValidationError("manual speaker selection needs a terminal to choose in")
    return Manual(chooser)


def make_stop(doc: dict[str, Any], wall_clock: float | None) -> StopCondition:
    stop: StopCondition = MessageBudget(doc["n_messages"])
    settings = doc.get("stops") or {}
    if settings.get("keyword"):
        stop = stop | Keyword(settings["keyword"])
    if settings.get("detect_cycles"):
        stop = stop | SelfReplication()
    if settings.get("token_budget"):
        stop = stop | TokenBudget(settings["token_budget"])
    if settings.get("cost_budget"):
        stop = stop | CostBudget(settings["cost_budget"])
    if wall_clock:
        stop = stop | WallClock(wall_clock)
    return stop


@dataclass(frozen=True)
class Outcome:
    conversation_id: ObjectId
    status: Status
    reason: str
    messages: int


async def load_state(store: Store, doc: dict[str, Any]) -> ConversationState:
    agents = [Agent(a["name"], a["role"]) for a in doc["agents"]]
    if doc.get("runs", 0) == 0:  # never started, so nothing can be stored: skip the queries
        return ConversationState(agents=agents, n_messages=doc["n_messages"], days=doc["days"])
    stored = await store.messages.list(doc["_id"])
    expected = 0
    turns = []
    for message in stored:  # contiguous prefix only: resume continues at the first gap
        if message.index != expected:
            break
        turns.append(Turn(message.index, message.day, message.speaker, message.role, message.content))
        expected += 1
    summary_docs = await store.summaries.list(doc["_id"])
    summaries = {s["day"]: s["content"] for s in summary_docs}
    # Usage is summed from what is stored, so it is right even after a kill -9.
    usages = [m.usage for m in stored[:len(turns)]] + [s.get("usage") or {} for s in summary_docs]
    return ConversationState(agents=agents, n_messages=doc["n_messages"], days=doc["days"], turns=turns,
                             summaries=summaries, prompt_tokens=sum(u.get("prompt_tokens", 0) for u in usages),
                             completion_tokens=sum(u.get("completion_tokens", 0) for u in usages),
                             cost=sum(u.get("cost", 0.0) for u in usages))


async def run(store: Store, settings: Settings, reference: ObjectId | str, model_settings: ModelSettings, *,
              observer: Observer | None = None, chooser: ManualChooser | None = None,
              wall_clock: float | None = None, model: ChatModel | None = None,
              extra_stop: StopCondition | None = None) -> Outcome:
    """Run (or resume) a conversation until a stop condition; status and reason are stored.

    `model` replaces the model stack built from the stored spec (scripted models in tests
    and benchmarks); everything else is the same path a real run takes. `extra_stop` adds a
    condition from outside, such as a batch-wide token budget.
    """
    cid = reference if isinstance(reference, ObjectId) else conversation_id(reference)
    doc = await store.conversations.get(cid)
    if doc["status"] == Status.COMPLETED.value:
        raise ValidationError(f"conversation {cid} is already completed ({doc.get('stop_reason')})")
    llm = doc["llm"]
    options = ChatOptions(temperature=llm.get("temperature"), top_k=llm.get("top_k"), top_p=llm.get("top_p"),
                          max_tokens=llm.get("max_tokens"))
    if model is None:
        model = build_chat_model(llm["model"], settings, model_settings, store.model_calls, scope=str(cid))
    # This conversation's own tally: the meter in model_settings may be shared by a whole batch.
    own_usage = UsageMeter()
    model = MeteredModel(model, own_usage, prices=None)
    state = await load_state(store, doc)
    framing = Framing(system_prompts=doc["prompts"], starting_message=doc["starting_message"])
    stop = make_stop(doc, wall_clock)
    if extra_stop is not None:
        stop = stop | extra_stop
    loop = TurnLoop(model=model, selector=make_selector(doc["speaker_selection"], doc["seed"], model, options, chooser),
                    view=make_view(doc["view"], framing, doc.get("last_k", 10)), stop=stop,
                    recorder=StoreRecorder(store, cid), summarizing=Summarizing(doc["summarizer_prompt"]),
                    options=options, seed=doc["seed"], meter=own_usage, observer=observer,
                    max_paragraphs=doc.get("max_paragraphs"))
    await store.conversations.start_run(cid)
    try:
        ending: Stop = await loop.run(state)
    except ModelError as exc:
        await _finish(store, cid, state, Status.FAILED, exc.one_line())
        return Outcome(cid, Status.FAILED, exc.one_line(), state.next_index)
    except PyMongoError as exc:  # the database failed for good: say so on the conversation if we still can
        reason = f"database error: {str(exc)[:300]}"
        log.warning("conversation %s: %s", cid, reason)
        with contextlib.suppress(PyMongoError):
            await _finish(store, cid, state, Status.FAILED, reason)
        return Outcome(cid, Status.FAILED, reason, state.next_index)
    except (asyncio.CancelledError, KeyboardInterrupt):
        await asyncio.shield(_finish(store, cid, state, Status.STOPPED, "interrupted"))
        raise
    status = Status.STOPPED if ending.resumable else Status.COMPLETED
    await _finish(store, cid, state, status, ending.reason)
    return Outcome(cid, status, ending.reason, state.next_index)


async def _finish(store: Store, cid: ObjectId, state: ConversationState, status: Status, reason: str) -> None:
    await store.conversations.finish(cid, status, reason, usage={"prompt_tokens": state.prompt_tokens,
                                                                  "completion_tokens": state.completion_tokens,
                                                                  "cost": state.cost},
                                     n_stored=state.next_index)
