"""An LLM judge that scores messages, through the project's own model layer.

Any configured model ("ollama/smollm2:135m", "openai/gpt-4o-mini") reads the rubric
(simulator/analysis/rubrics.py) and one message, and answers JSON with a whole number on the
rubric's scale; structured output asks the server to keep to that schema. The model is the
usual stack (retry, limits, record or replay), so every judge call is recorded in
model_calls and a re-run with --replay gives the same scores with no model server.
Temperature 0 and a fixed seed, so a judge asked twice answers alike. An answer that does
not parse becomes a Scored with the reason (counted, shown, never a crash).
"""

from __future__ import annotations

from typing import Sequence

from simulator.analysis.judging import JudgeAnswerError, parse_score, score_schema, together
from simulator.analysis.rubrics import ScoreRubric
from simulator.analysis.scorers.base import Scored
from simulator.llm.types import ChatModel, ChatOptions

JUDGE_MAX_TOKENS = 40  # '{"toxicity": 7}' is about 8 tokens; room for a model that adds whitespace


class JudgeScorer:
    batch_size = 16  # calls started together; the endpoint's limiter decides how many run at once

    def __init__(self, model: ChatModel, rubric: ScoreRubric, name: str = "judge"):
        self.model, self.rubric, self.name = model, rubric, name
        self.options = ChatOptions(temperature=0.0, seed=0, max_tokens=JUDGE_MAX_TOKENS,
                                   json_schema=score_schema(rubric))

    async def score(self, texts: Sequence[str]) -> list[Scored]:
        return await together(self._one(text) for text in texts)

    async def _one(self, text: str) -> Scored:
        messages = [{"role": "system", "content": self.rubric.instructions
                     + f'\nAnswer with JSON only: {{"{self.rubric.score}": a whole number 0 to {self.rubric.scale}}}.'},
                    {"role": "user", "content": f"Message: {text}"}]
        reply = await self.model.chat(messages, self.options)
        try:
            value = parse_score(reply.text, self.rubric)
        except JudgeAnswerError as exc:
            return Scored(error=str(exc), detail=reply.text[:500])
        return Scored({self.rubric.score: value}, detail=reply.text[:500])
