"""The one turn loop every protocol runs through.

    while not stop(state):
        speaker = selector.next(state)
        view    = context.view_for(speaker, state)
        reply   = model.chat(view)               # the speaker's model, through the wrappers
        turn    = cleaner.clean(reply)           # leakage parsing; empty -> retried
        recorder.append(turn)                    # persisted now, before the next turn
        end of day -> summary                    # persisted too (protocols with days)

A protocol chooses the strategies (selector, view, stops, cleaner, summarizing); the loop
talks to the models and to a Recorder and never sees MongoDB. Everything it needs to
continue after a crash is in the stored turns and summaries: message i is turn i, and in
protocols with rounds it belongs to round i // participants.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from simulator.core.agents import Agent
from simulator.engine.context import ContextView
from simulator.engine.leakage import Cleaner, drop_unfinished_sentence
from simulator.engine.selection import SpeakerSelector
from simulator.engine.state import ConversationState, Turn, day_of, is_last_of_day
from simulator.engine.stops import Stop, StopCondition
from simulator.errors import ModelError
from simulator.llm.types import ChatModel, ChatOptions, Reply
from simulator.llm.usage import UsageMeter
from simulator.logs import get_logger

log = get_logger("engine")


class Recorder(Protocol):
    async def append(self, turn: Turn, reply: Reply, raw: str, note: str | None) -> Turn:
        """Persist a turn; returns the turn actually stored at that index."""

    async def save_summary(self, day: int, content: str, reply: Reply) -> None: ...


class Observer(Protocol):
    def on_turn(self, turn: Turn, note: str | None) -> None: ...

    def on_summary(self, day: int, content: str) -> None: ...


class Observers:
    """Several observers as one (the screen, a batch's counters, a protocol's log file)."""

    def __init__(self, *observers: Observer | None):
        self.observers = [o for o in observers if o is not None]

    def on_turn(self, turn: Turn, note: str | None) -> None:
        for observer in self.observers:
            observer.on_turn(turn, note)

    def on_summary(self, day: int, content: str) -> None:
        for observer in self.observers:
            observer.on_summary(day, content)


class EmptyTurn(ModelError):
    """The model gave nothing usable after cleaning, several times."""


def call_seed(seed: int | None, index: int, attempt: int) -> int | None:
    """A distinct, reproducible seed per turn and try, derived from the conversation seed."""
    if seed is None:
        return None
    return (seed * 1_000_003 + index * 7_919 + attempt * 104_729) % 2_147_483_647


@dataclass
class Summarizing:
    system_prompt: str

    def messages(self, day: int, turns: list[Turn]) -> list[dict[str, str]]:
        transcript = "\n".join(f"{t.speaker}: {t.content}" for t in turns)
        return [{"role": "system", "content": self.system_prompt},
                {"role": "user", "content": f"Transcript of day {day + 1}:\n{transcript}\n\n"
                                            f"Write the summary of day {day + 1}."}]


class TurnLoop:
    """`models[i]` and `options[i]` serve the participants whose `llm` is i; summaries use the first."""

    def __init__(self, *, models: Sequence[ChatModel], options: Sequence[ChatOptions], selector: SpeakerSelector,
                 view: ContextView, stop: StopCondition, cleaner: Cleaner, recorder: Recorder,
                 summarizing: Summarizing | None, seed: int | None, meter: UsageMeter,
                 observer: Observer | None = None, rounds: bool = False, empty_retries: int = 3,
                 schemas: Mapping[str, Mapping[str, Any]] | None = None,
                 logprobs: Mapping[str, int] | None = None):
        self.models, self.options, self.selector, self.view = list(models), list(options), selector, view
        self.stop, self.cleaner, self.recorder, self.summarizing = stop, cleaner, recorder, summarizing
        self.seed, self.meter, self.observer = seed, meter, observer or Observers()
        self.rounds, self.empty_retries = rounds, empty_retries
        self.schemas = schemas or {}  # participant name -> JSON schema its replies must follow
        self.logprobs = logprobs or {}  # participant name -> how many top log-probabilities to ask for

    async def run(self, state: ConversationState) -> Stop:
        self._base = (state.prompt_tokens - self.meter.prompt_tokens,
                      state.completion_tokens - self.meter.completion_tokens, state.cost - self.meter.cost)
        while True:
            await self._close_finished_days(state)
            stop = self.stop.check(state)
            if stop:
                if not stop.resumable:
                    await self._summarise_open_day(state)
                return stop
            index = state.next_index
            day = day_of(index, state.n_messages, state.days)
            agent, note = await self.selector.next(state)
            reply, text = await self._produce(agent, state, day, index)
            turn = Turn(index=index, day=day, speaker=agent.name, role=agent.role, content=text,
                        round=index // len(state.agents) if self.rounds else None)
            turn = await self.recorder.append(turn, reply, reply.text, note)
            state.turns.append(turn)
            self._sync_usage(state)
            self.observer.on_turn(turn, note)
            if self.summarizing is not None and is_last_of_day(index, state.n_messages, state.days):
                await self._summarise(state, day)

    def _sync_usage(self, state: ConversationState) -> None:
        """Totals so far: what was stored before this run plus every call of this run."""
        state.prompt_tokens = self._base[0] + self.meter.prompt_tokens
        state.completion_tokens = self._base[1] + self.meter.completion_tokens
        state.cost = self._base[2] + self.meter.cost

    async def _produce(self, agent: Agent, state: ConversationState, day: int, index: int) -> tuple[Reply, str]:
        messages = self.view.view_for(agent, state, day)
        last_raw = ""
        for attempt in range(self.empty_retries):
            options = dataclasses.replace(self.options[agent.llm], seed=call_seed(self.seed, index, attempt),
                                          json_schema=self.schemas.get(agent.name),
                                          logprobs=self.logprobs.get(agent.name))
            reply = await self.models[agent.llm].chat(messages, options)
            cleaned = self.cleaner.clean(reply.text, agent, state.agents, reply.truncated)
            if cleaned.text:
                return reply, cleaned.text
            last_raw = reply.text
            log.info("turn %d: %s gave no usable text (try %d): %r", index, agent.name, attempt + 1, reply.text[:200])
        raise EmptyTurn(f"{agent.name} gave no usable text in {self.empty_retries} tries at message {index} "
                        f"(last reply: {last_raw[:80]!r})")

    async def _summarise(self, state: ConversationState, day: int) -> None:
        turns = state.day_turns(day)
        if self.summarizing is None or not turns or day in state.summaries:
            return
        reply = await self.models[0].chat(self.summarizing.messages(day, turns),
                                          dataclasses.replace(self.options[0], seed=call_seed(self.seed, -1 - day, 0)))
        text = reply.text.strip()
        content = (drop_unfinished_sentence(text) if reply.truncated else text) or "(the summarizer wrote nothing)"
        await self.recorder.save_summary(day, content, reply)
        state.summaries[day] = content
        self._sync_usage(state)
        self.observer.on_summary(day, content)

    async def _close_finished_days(self, state: ConversationState) -> None:
        """After a crash between a day's last message and its summary, write the summary first."""
        current = day_of(state.next_index, state.n_messages, state.days) if state.next_index < state.n_messages \
            else state.days
        for day in range(current):
            if day not in state.summaries and state.day_turns(day):
                await self._summarise(state, day)

    async def _summarise_open_day(self, state: ConversationState) -> None:
        if state.turns:
            await self._summarise(state, state.turns[-1].day)
