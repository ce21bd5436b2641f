"""Reading an LLM judge's answer: JSON, defensively, with a reason for every answer it refuses.

Judges are asked for JSON with a schema (structured output where the server supports it:
Ollama's `format`, OpenAI's `response_format`), but a small model still answers out of
range, and a server without structured output may answer prose or cut the JSON at the
token limit. None of that may stop a run over hundreds of messages: each refused answer
raises JudgeAnswerError with a short reason, which the caller stores and counts.

The first {...} in the reply is read, so an answer wrapped in prose or a ```json fence
still parses.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Awaitable, Iterable, TypeVar

from simulator.analysis.outcomes import GOAL_LABELS, Outcome
from simulator.analysis.persuasion import YES
from simulator.analysis.rubrics import ScoreRubric

OBJECT = re.compile(r"\{.*\}", re.DOTALL)
T = TypeVar("T")


class JudgeAnswerError(ValueError):
    """A judge's reply that cannot be used; the message is the reason, stored with the label or score."""


def score_schema(rubric: ScoreRubric) -> dict[str, Any]:
    return {"type": "object", "required": [rubric.score],
            "properties": {rubric.score: {"type": "integer", "minimum": 0, "maximum": rubric.scale}}}


OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["goal_achieved"],
    "properties": {"goal_achieved": {"type": "string", "enum": list(GOAL_LABELS)},
                   "third": {"type": "integer", "minimum": 1, "maximum": 3}}}


def json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a reply."""
    found = OBJECT.search(text or "")
    if found is None:
        raise JudgeAnswerError("no JSON object in the answer")
    candidate = found.group(0)
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        value = _shortest_object(candidate)
    if not isinstance(value, dict):
        raise JudgeAnswerError("the answer is not a JSON object")
    return value


def _shortest_object(candidate: str) -> Any:
    """The first complete object when text follows it (`{...} and {...}`)."""
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(candidate)
    except json.JSONDecodeError as exc:
        raise JudgeAnswerError(f"invalid JSON ({exc.msg})") from None
    return value


def parse_score(text: str, rubric: ScoreRubric) -> float:
    """The judge's whole number on 0..scale, divided by the scale: a score in [0, 1]."""
    value = json_object(text).get(rubric.score)
    if value is None:
        raise JudgeAnswerError(f"no {rubric.score!r} in the answer")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JudgeAnswerError(f"{rubric.score} is {value!r}, not a number")
    if not 0 <= value <= rubric.scale:
        raise JudgeAnswerError(f"{rubric.score} {value!r} is outside 0-{rubric.scale}")
    return float(value) / rubric.scale


def parse_outcome(text: str) -> Outcome:
    """goal_achieved and, with "Yes", the third; a third that is not 1-3, or comes with another label, is dropped."""
    answer = json_object(text)
    goal = answer.get("goal_achieved")
    if goal not in GOAL_LABELS:
        raise JudgeAnswerError(f"goal_achieved is {goal!r}, not one of {', '.join(GOAL_LABELS)}")
    third = answer.get("third")
    usable = goal == YES and type(third) is int and 1 <= third <= 3
    return Outcome(goal, third if usable else None)


async def together(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Run judge calls at once; the first that fails for good cancels the rest and is raised as itself
    (one line for the researcher, not an exception group)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
