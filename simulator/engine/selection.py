"""Speaker selection strategies: each a small object with `async next(state) -> (Agent, note)`.

Choices depend only on the stored turns and the seed, so a resumed conversation picks
the same way it would have without the interruption (except `auto` and `manual`).
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Awaitable, Callable, Protocol, Sequence

from simulator.core.agents import Agent
from simulator.engine.state import ConversationState
from simulator.errors import ModelError
from simulator.llm.types import ChatModel, ChatOptions
from simulator.logs import get_logger

log = get_logger("engine.selection")


class SpeakerSelector(Protocol):
    name: str

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        """The next speaker, and a note when something unusual happened (a fallback)."""


class RoundRobin:
    name = "round_robin"

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        return state.agents[state.next_index % len(state.agents)], None


class RandomNoRepeat:
    """Uniform over everyone but the previous speaker; seeded per index for resumability."""

    name = "random"

    def __init__(self, seed: int):
        self.seed = seed

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        rng = random.Random(f"{self.seed}:{state.next_index}")
        last = state.last_speaker()
        candidates = [a for a in state.agents if a.name != last] or state.agents
        return rng.choice(candidates), None


class AlternateRoles:
    """Cycle through roles; within a role, cycle through its agents."""

    name = "alternate_roles"

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        roles = list(dict.fromkeys(a.role for a in state.agents))
        i = state.next_index
        role = roles[i % len(roles)]
        members = [a for a in state.agents if a.role == role]
        return members[(i // len(roles)) % len(members)], None


ManualChooser = Callable[[ConversationState], Awaitable[Agent]]


class Manual:
    name = "manual"

    def __init__(self, choose: ManualChooser):
        self.choose = choose

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        return await self.choose(state), None


def _first_mention(text: str, agent: Agent) -> int | None:
    """Where an answer first names this agent: full name, with a space or no separator, or its number."""
    name = re.escape(agent.name.lower()).replace("_", "[_ ]?")
    found = re.search(rf"(?<![a-z0-9]){name}(?![0-9])", text)
    if found is None:
        found = re.search(rf"(?<![\w.]){re.escape(agent.name.split('_')[-1])}(?![\w])", text)
    return found.start() if found else None


def match_agent(answer: str, agents: Sequence[Agent], last: str | None) -> Agent | None:
    """Find the agent a small model meant: the earliest named one, else a role.

    Real answers run on ("The answer is Prisoner_310 (Prisoner) because the one who spoke to
    Guard_431 ..."), so the first name wins, and the one who just spoke only when nobody else
    is named.
    """
    text = answer.lower()
    mentions = sorted((at, i) for i, a in enumerate(agents) if (at := _first_mention(text, a)) is not None)
    named = [agents[i] for _, i in mentions]
    if named:
        return next((a for a in named if a.name != last), named[0])
    for role in dict.fromkeys(a.role for a in agents):
        if re.search(rf"\b{re.escape(role)}s?\b", text):
            members = [a for a in agents if a.role == role]
            return next((a for a in members if a.name != last), members[0])
    return None


class Auto:
    """An LLM reads the transcript and names the next speaker.

    Robust to small models: tolerant matching, a few tries, then round robin, and the
    fallback is recorded on the message.
    """

    name = "auto"

    ANSWER_TOKENS = 48  # a name, or a sentence around one: real answers name the choice early

    def __init__(self, model: ChatModel, options: ChatOptions, attempts: int = 2, window: int = 12):
        self.model = model
        self.options = dataclasses.replace(options, max_tokens=min(options.max_tokens or self.ANSWER_TOKENS,
                                                                   self.ANSWER_TOKENS))
        self.attempts = attempts
        self.window = window

    def prompt(self, state: ConversationState) -> list[dict[str, str]]:
        names = ", ".join(f"{a.name} ({a.role})" for a in state.agents)
        transcript = "\n".join(f"{t.speaker}: {t.content}" for t in state.turns[-self.window:]) or "(nobody yet)"
        return [{"role": "system", "content": "You choose who speaks next in a conversation. "
                                              "Answer with exactly one name and nothing else."},
                {"role": "user", "content": f"Participants: {names}\n\nConversation so far:\n{transcript}\n\n"
                                            f"Who should speak next? Answer with one name from: "
                                            f"{', '.join(a.name for a in state.agents)}."}]

    async def next(self, state: ConversationState) -> tuple[Agent, str | None]:
        last = state.last_speaker()
        for attempt in range(self.attempts):
            try:
                reply = await self.model.chat(self.prompt(state), self.options)
            except ModelError as exc:
                log.warning("auto selection call failed: %s", exc.message)
                break
            agent = match_agent(reply.text, state.agents, last)
            if agent is not None and (agent.name != last or len(state.agents) == 1):
                return agent, None
            log.info("auto selection could not use %r (attempt %d)", reply.text[:80], attempt + 1)
        return after(state.agents, last), "auto selection fell back to round robin"


def after(agents: Sequence[Agent], last: str | None) -> Agent:
    """The agent after the one who just spoke, in order: round robin that never repeats a speaker."""
    names = [a.name for a in agents]
    return agents[(names.index(last) + 1) % len(agents)] if last in names else agents[0]


METHODS = ("round_robin", "random", "auto", "manual", "alternate_roles")
