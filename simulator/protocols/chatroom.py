"""The chatroom: models share a room until a self-replicating message ("quine") takes it over.

N participants (the same model may appear several times) share a room that starts from
one or more initial messages. Each step one participant, chosen uniformly at random (it
may speak twice in a row), sees the last `max_context` messages and replies. Roles in
that window alternate backwards from the newest, which is always the user turn, so every
participant reads the room as a dialogue ending in a message to answer. Each call has a
seed derived from the run's seed and the step, so a run is reproducible where the model
honours seeds, and a resumed run draws the same speakers.

The room has converged when, for some distance d from 1 to 5, the last `min_quine_length`
messages taken every d-th going back from the newest are pairwise similar: the indel
(Levenshtein-style) ratio on 0-100, as rapidfuzz.fuzz.ratio computes it, rounded to an
integer, above `threshold` (default 99, so identical up to rounding), or identical with
`exact`. The run stops there and records the period d and the repeating messages.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from rapidfuzz import fuzz

from simulator.core.agents import Agent
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import Experiment
from simulator.core.run_spec import RunSpec
from simulator.core.sweep import Axis, BatchPlan
from simulator.core.grid import repeat_values
from simulator.engine.leakage import Verbatim
from simulator.engine.selection import ManualChooser
from simulator.engine.state import ConversationState
from simulator.engine.stops import MessageBudget, Stop, StopCondition
from simulator.errors import ValidationError
from simulator.llm.types import ChatMessage, ChatModel
from simulator.protocols.base import MAX_TOKENS, TEMPERATURE, Common, EngineParts, Option, Protocol, room_llms

MAX_DISTANCE = 5
PARTICIPANT_ROLE = "participant"


def similarity(a: str, b: str) -> int:
    """The indel ratio of two texts on 0-100, rounded to an integer (Python's round: 99.5 -> 100)."""
    return round(fuzz.ratio(a, b))


def find_cycle(contents: Sequence[str], min_length: int = 3, threshold: int = 99, exact: bool = False,
               max_distance: int = MAX_DISTANCE) -> tuple[int, list[str]] | None:
    """(period, the repeating messages oldest first) when the newest messages have converged, else None."""
    newest_first = list(reversed(contents))
    for distance in range(1, max_distance + 1):
        picked = newest_first[::distance][:min_length]
        if len(picked) < min_length:
            continue
        if all(a == b if exact else similarity(a, b) > threshold for a, b in zip(picked, picked[1:])):
            return distance, list(reversed(picked))
    return None


class QuineConvergence(StopCondition):
    def __init__(self, min_length: int, threshold: int, exact: bool):
        self.min_length, self.threshold, self.exact = min_length, threshold, exact

    def check(self, state: ConversationState) -> Stop | None:
        window = (self.min_length - 1) * MAX_DISTANCE + 1
        found = find_cycle([t.content for t in state.turns[-window:]], self.min_length, self.threshold, self.exact)
        return Stop(f"converged on a self-replicating cycle of period {found[0]}") if found else None


class UniformRandom:
    """Anyone, uniformly, the same participant possibly again; seeded per step, so resume draws alike."""

    name = "uniform_random"

    def __init__(self, seed: int):
        self.seed = seed

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        return random.Random(f"{self.seed}:{state.next_index}").choice(state.agents), None


@dataclass(frozen=True)
class RoomWindow:
    """The last `max_context` messages of the room, the newest as the user turn, roles alternating back."""

    system_prompts: Mapping[str, str]
    initial: tuple[str, ...]
    max_context: int
    name: str = "room"

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        history = [*self.initial, *(t.content for t in state.turns)][-self.max_context:]
        messages: list[ChatMessage] = []
        if self.system_prompts.get(agent.name):
            messages.append({"role": "system", "content": self.system_prompts[agent.name]})
        last = len(history) - 1
        messages += [{"role": "user" if (last - i) % 2 == 0 else "assistant", "content": text}
                     for i, text in enumerate(history)]
        return messages


class Chatroom(Protocol):
    name = "chatroom"
    title = "Chatroom"
    command = "chatroom"
    summary = "models share a room until a self-replicating message takes over (stops on a converged cycle)"
    inputs = (
        Option("models", "the participants' model specs (the same may appear twice); repeat the flag for a "
                         "sweep over rooms", "texts", flag="--models", required=True, repeatable=True),
        Option("max_iterations", "steps (messages) at most", "int", default=100, low=1, high=100_000),
        TEMPERATURE, MAX_TOKENS,
    )
    options = (
        Option("initial_prompts", "the room's first messages", "texts", default=("Hello! What shall we talk about?",)),
        Option("system_prompts", "one system prompt for all, or exactly one per participant", "texts", default=()),
        Option("max_context", "messages each participant sees", "int", default=10, low=1, high=1_000),
        Option("min_quine_length", "repeating messages needed to call a cycle", "int", default=3, low=2, high=50),
        Option("threshold", "similarity (0-100, rounded) a repeat must exceed", "int", default=99, low=0, high=100),
        Option("exact", "a repeat must be identical", "flag", default=False),
    )
    tools = {"import": "store the self-replicating-prompts study's log2_*.json logs found under DIR, with the "
                       "room's convergence verdict"}

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        rooms = [room_llms(room, values, common.aliases) for room in (values.get("models") or [])]
        if not rooms:
            raise ValidationError("--models is required (one model spec per participant)")
        base = RunSpec(protocol=self.name, llms=rooms[0],
                       n_messages=self.inputs[1].check(values.get("max_iterations")),
                       options={o.name: values.get(o.name) for o in self.options}, seed=common.seed,
                       stops=common.stops)
        axes = []
        if len(rooms) > 1:
            axes.append(Axis("models", tuple(range(len(rooms))),
                             lambda spec, i: dataclasses.replace(spec, llms=rooms[i])))
        if common.repeats != 1:
            axes.append(Axis("repeat", repeat_values(common.repeats)))
        return BatchPlan(base=base, axes=tuple(axes), token_budget=common.token_budget,
                         description={"rooms": [{"models": [l.model for l in room]} for room in rooms]})

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        spec = super().check(spec)
        if not 1 <= len(spec.llms) <= 50:
            raise ValidationError(f"--models: a room has 1 to 50 participants, got {len(spec.llms)}")
        prompts = spec.option("system_prompts")
        if len(prompts) not in (0, 1, len(spec.llms)):
            raise ValidationError(f"--system-prompts: give one for everyone or exactly one per participant "
                                  f"({len(spec.llms)}), got {len(prompts)}")
        return spec

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        agents = tuple(Agent(f"lm{i + 1}", PARTICIPANT_ROLE, i) for i in range(len(spec.llms)))
        prompts = spec.option("system_prompts")
        system = {a.name: (prompts[0] if len(prompts) == 1 else prompts[i]) if prompts else ""
                  for i, a in enumerate(agents)}
        return Prepared(title=f"Chatroom of {len(agents)}", agents=agents, prompts=system)

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        spec = conversation.spec
        stop = MessageBudget(spec.n_messages) | QuineConvergence(spec.option("min_quine_length"),
                                                                 spec.option("threshold"), spec.option("exact"))
        return EngineParts(selector=UniformRandom(spec.seed),
                           view=RoomWindow(conversation.prepared.prompts, tuple(spec.option("initial_prompts")),
                                           spec.option("max_context")),
                           stop=stop, cleaner=Verbatim())

    def outcome(self, conversation: Conversation, state: ConversationState, stop: Stop) -> dict[str, Any]:
        spec = conversation.spec
        found = find_cycle([t.content for t in state.turns], spec.option("min_quine_length"),
                           spec.option("threshold"), spec.option("exact"))
        if found is None:
            return {"converged": False}
        period, repeating = found
        return {"converged": True, "period": period, "repeating": repeating, "at_message": state.next_index - 1}
