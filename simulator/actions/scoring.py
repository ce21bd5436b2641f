"""Scoring an experiment's messages: pick a scorer, score what is not scored yet, store as it goes.

One path for every scorer (simulator/analysis/scorers/): the messages of the chosen
conversations are read, those this scorer already scored are skipped (unless `again`), the
rest go to the scorer a batch at a time, and each batch is stored before the next one starts,
so an interrupted run loses at most one batch and the next run continues where it stopped.
Scores are keyed per (message, scorer): scoring again replaces, and a new scorer adds
beside the others. An LLM judge's rubric comes from a file, else the one stored with the
experiment, else the default; the experiment's creator giving a file also stores it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bson import ObjectId

from simulator.actions.experiments import StoredExperiment
from simulator.analysis.rubrics import ScoreRubric, as_document, read_rubric, score_rubric
from simulator.analysis.scorers import DEFAULT_MODERATION_MODEL, column
from simulator.config import Settings
from simulator.core.conversation import Conversation
from simulator.errors import ValidationError
from simulator.llm.factory import ModelSettings, build_chat_model
from simulator.store import Message, Store
from simulator.store.scores import MessageScore

if TYPE_CHECKING:
    from simulator.analysis.scorers import Scorer

Progress = Callable[[int, int], None]  # done, total


@dataclass(frozen=True)
class ScorerChoice:
    """What a front end asked for; `kind` is one of simulator.analysis.scorers.KINDS."""

    kind: str = "classifier"
    model: str | None = None  # judge: a model spec (default: the experiment's first LLM)
    rubric: Path | None = None  # judge: a rubric file
    name: str | None = None  # judge or local: the name scores are stored under (default "judge" / "local")
    path: Path | None = None  # local: the model folder
    moderation_model: str = DEFAULT_MODERATION_MODEL


@dataclass(frozen=True)
class ScoringSummary:
    scorer: str
    conversations: int
    scored: int  # messages scored in this run
    failed: int  # of those, messages the scorer could not score (e.g. a judge answer that did not parse)
    skipped: int  # messages this scorer had scored before


async def build_scorer(store: Store, settings: Settings, model_settings: ModelSettings, experiment: StoredExperiment,
                       choice: ScorerChoice, user: str) -> Scorer:
    """The scorer a front end chose, ready to score; its package is imported only now."""
    from simulator.analysis.scorers import JudgeScorer, LocalClassifier, ToxicityClassifier

    if choice.kind == "classifier":
        return ToxicityClassifier()
    if choice.kind == "moderation":
        from simulator.analysis.scorers.moderation import ModerationScorer, moderation_model  # the openai client

        return ModerationScorer(moderation_model(settings, model_settings, store.model_calls, choice.moderation_model))
    if choice.kind == "judge":
        name = choice.name or "judge"
        rubric = await judge_rubric(store, experiment, name, choice.rubric, user)
        model = choice.model or experiment.experiment.llms[0].model
        stack = build_chat_model(model, settings, model_settings, store.model_calls, scope=f"score:{name}")
        return JudgeScorer(stack, rubric, name)
    if choice.kind == "local":
        if choice.path is None:
            raise ValidationError("the local scorer needs the model folder (--path)")
        return LocalClassifier(choice.path, choice.name or "local")
    raise ValidationError(f"unknown scorer {choice.kind!r} (known: classifier, moderation, judge, local)")


async def judge_rubric(store: Store, experiment: StoredExperiment, name: str, path: Path | None,
                       user: str) -> ScoreRubric:
    """From the file (stored with the experiment when its creator gives it), else the stored one, else the default."""
    purpose = f"score:{name}"
    if path is not None:
        rubric = read_rubric(path, "score")
        if experiment.experiment.creator == user:
            await store.rubrics.save(experiment.id, purpose, as_document(rubric), user)
        return rubric
    stored = await store.rubrics.get(experiment.id, purpose)
    return score_rubric(stored, f"the stored rubric {purpose}") if stored else ScoreRubric()


async def score_conversations(store: Store, scorer: Scorer, conversations: list[Conversation], *,
                              again: bool = False, progress: Progress | None = None) -> ScoringSummary:
    """Score every message the scorer has not scored yet (all of them with `again`), a batch at a time."""
    ids = [c.id for c in conversations]
    done_before = set() if again else {(s.conversation_id, s.index)
                                       for s in await store.scores.for_conversations(ids, scorer.name)}
    pending: list[Message] = []
    skipped = 0
    for conversation in conversations:
        for message in await store.messages.list(conversation.id):
            if (message.conversation_id, message.index) in done_before:
                skipped += 1
            else:
                pending.append(message)
    failed = 0
    if progress:
        progress(0, len(pending))
    for start in range(0, len(pending), scorer.batch_size):
        batch = pending[start:start + scorer.batch_size]
        results = await scorer.score([m.content for m in batch])
        await store.scores.save_many([MessageScore(m.conversation_id, m.index, scorer.name, r.scores, r.error,
                                                   r.detail) for m, r in zip(batch, results)])
        failed += sum(r.error is not None for r in results)
        if progress:
            progress(start + len(batch), len(pending))
    return ScoringSummary(scorer.name, len(conversations), len(pending), failed, skipped)


async def message_scores(store: Store, conversation_id: ObjectId) -> dict[int, dict[str, float]]:
    """Each message's scores as "<scorer>.<score>" -> value, for showing beside the transcript."""
    shown: dict[int, dict[str, float]] = {}
    for stored in await store.scores.for_conversations([conversation_id]):
        values = shown.setdefault(stored.index, {})
        values.update({column(stored.scorer, name): value for name, value in stored.scores.items()})
    return shown
