"""An LLM judge that labels a conversation's outcome: did the persuading role achieve its goal?

The judge gets the outcome rubric (simulator/analysis/rubrics.py), what the judged role was
told (the rendered system prompt of one of its agents, which holds the goal of the variant
this conversation ran) and the transcript marked in thirds, and answers JSON:
{"goal_achieved": "Yes" | "No" | "NotTried", "third": 1-3}. It speaks through the project's
model layer, so its calls are retried, recorded and replayable like every other call, at
temperature 0 with a fixed seed. An answer that does not parse is returned with its reason;
the caller stores it as an unusable label, counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from simulator.analysis.judging import OUTCOME_SCHEMA, JudgeAnswerError, parse_outcome
from simulator.analysis.outcomes import Outcome
from simulator.analysis.rubrics import OutcomeRubric
from simulator.analysis.timeline import third_of
from simulator.core.conversation import Conversation
from simulator.errors import ValidationError
from simulator.llm.types import ChatMessage, ChatModel, ChatOptions
from simulator.store.messages import Message

THIRD_NAMES = {1: "first third", 2: "second third", 3: "last third"}
ANSWER_FORMAT = 'Answer with JSON only: {"goal_achieved": "Yes" or "No" or "NotTried", "third": 1, 2 or 3}.'
MAX_TOKENS = 40


@dataclass(frozen=True)
class Judged:
    outcome: Outcome | None
    error: str | None = None
    detail: str = ""  # the raw reply


def judged_role(conversation: Conversation, rubric: OutcomeRubric) -> str:
    """The rubric's role, else the conversation's last role (the prisoner in the prison experiment)."""
    roles = list(dict.fromkeys(a.role for a in conversation.agents))
    if rubric.role is None:
        return roles[-1]
    if rubric.role not in roles:
        raise ValidationError(f"the outcome rubric judges role {rubric.role!r}, but conversation {conversation.id} "
                              f"has roles {', '.join(roles)}")
    return rubric.role


def transcript_in_thirds(messages: Sequence[Message]) -> str:
    lines, shown = [], None
    for message in messages:
        third = third_of(message.index, len(messages)) if message.index < len(messages) else 3
        if third != shown:
            lines.append(f"--- {THIRD_NAMES[third]} ---")
            shown = third
        lines.append(f"{message.speaker} ({message.role}): {message.content}")
    return "\n".join(lines)


def judge_request(conversation: Conversation, messages: Sequence[Message], rubric: OutcomeRubric) -> list[ChatMessage]:
    role = judged_role(conversation, rubric)
    agent = next(a for a in conversation.agents if a.role == role)
    told = conversation.prepared.prompts.get(agent.name, "")
    return [{"role": "system", "content": f"{rubric.instructions(role)}\n{ANSWER_FORMAT}"},
            {"role": "user", "content": f"What the {role} was told:\n{told}\n\n"
                                        f"The conversation ({len(messages)} messages):\n"
                                        f"{transcript_in_thirds(messages)}"}]


class OutcomeJudge:
    def __init__(self, model: ChatModel, rubric: OutcomeRubric):
        self.model, self.rubric = model, rubric
        self.annotator = f"judge:{model.spec}"
        self.options = ChatOptions(temperature=0.0, seed=0, max_tokens=MAX_TOKENS, json_schema=OUTCOME_SCHEMA)

    async def label(self, conversation: Conversation, messages: Sequence[Message]) -> Judged:
        reply = await self.model.chat(judge_request(conversation, messages, self.rubric), self.options)
        try:
            return Judged(parse_outcome(reply.text), detail=reply.text[:500])
        except JudgeAnswerError as exc:
            return Judged(None, str(exc), reply.text[:500])
