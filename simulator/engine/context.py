"""Context views: what a speaker sees. The same loop serves every topology.

- SharedTranscript: the day's whole transcript (group chat: prison, chatroom seeds)
- LastK:            only the last k messages of the day (chatroom)
- Round:            own turns as assistant, others' as user, no names (backrooms)
- Chain:            only the previous output (telephone game, iterated learning)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from simulator.core.agents import Agent
from simulator.engine.state import ConversationState, Turn
from simulator.llm.types import ChatMessage


@dataclass(frozen=True)
class Framing:
    """The fixed texts of a conversation that every view draws on."""

    system_prompts: dict[str, str]  # agent name -> system prompt
    starting_message: str


def opening(framing: Framing, state: ConversationState, day: int) -> str:
    """The starting message, plus every earlier day's summary."""
    parts = [framing.starting_message]
    for d in range(day):
        if d in state.summaries:
            parts.append(f"Summary of day {d + 1}:\n{state.summaries[d]}")
    if day > 0:
        parts.append(f"Day {day + 1} begins.")
    return "\n\n".join(parts)


def _append(messages: list[ChatMessage], role: str, content: str) -> None:
    """Add a message, joining it to the last one when the role repeats (many chat templates
    need alternating roles). The joined message is a new dict: lists handed out stay valid."""
    if messages and messages[-1]["role"] == role and role != "system":
        messages[-1] = {"role": role, "content": messages[-1]["content"] + "\n\n" + content}
    else:
        messages.append({"role": role, "content": content})


class ContextView(Protocol):
    name: str

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]: ...


class SharedTranscript:
    name = "shared"

    def __init__(self, framing: Framing, last_k: int | None = None, named: bool = True):
        self.framing = framing
        self.last_k = last_k
        self.named = named
        # (agent, day) -> (turns already folded in, messages): each turn is folded in once, so
        # building message 1000's view costs what message 10's did (see benchmarks/long_conversation.py)
        self._built: dict[tuple[str, int], tuple[int, list[ChatMessage]]] = {}

    def _fold(self, messages: list[ChatMessage], agent: Agent, turns: list[Turn]) -> None:
        for turn in turns:
            if turn.speaker == agent.name:
                _append(messages, "assistant", turn.content)
            else:
                _append(messages, "user", f"{turn.speaker}: {turn.content}" if self.named else turn.content)

    def _start(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        return [{"role": "system", "content": self.framing.system_prompts[agent.name]},
                {"role": "user", "content": opening(self.framing, state, day)}]

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        turns = state.day_turns(day)
        if self.last_k:
            messages = self._start(agent, state, day)
            self._fold(messages, agent, turns[-self.last_k:])
        else:
            seen, messages = self._built.get((agent.name, day), (0, []))
            if not messages or seen > len(turns):
                seen, messages = 0, self._start(agent, state, day)
            self._fold(messages, agent, turns[seen:])
            self._built[(agent.name, day)] = (len(turns), messages)
            messages = list(messages)
        if messages[-1]["role"] == "assistant":
            messages.append({"role": "user", "content": f"(Continue as {agent.name}.)"})
        return messages


class LastK(SharedTranscript):
    name = "last_k"

    def __init__(self, framing: Framing, k: int):
        super().__init__(framing, last_k=k)


class Round(SharedTranscript):
    """Backrooms: each participant sees the others' replies as plain user turns."""

    name = "round"

    def __init__(self, framing: Framing):
        super().__init__(framing, named=False)


class Chain:
    """Each link sees only the previous output (or the starting message for the first)."""

    name = "chain"

    def __init__(self, framing: Framing):
        self.framing = framing

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        previous = state.turns[-1].content if state.turns else opening(self.framing, state, day)
        return [{"role": "system", "content": self.framing.system_prompts[agent.name]},
                {"role": "user", "content": previous}]


VIEWS = ("shared", "last_k", "round", "chain")


def make_view(name: str, framing: Framing, k: int = 10) -> ContextView:
    if name == "shared":
        return SharedTranscript(framing)
    if name == "last_k":
        return LastK(framing, k)
    if name == "round":
        return Round(framing)
    if name == "chain":
        return Chain(framing)
    raise ValueError(f"unknown context view {name!r} (known: {', '.join(VIEWS)})")
