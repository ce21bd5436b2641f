"""Outcome labels: an LLM judge over an experiment's runs, people one conversation at a time or
from a CSV file, and adjudication where annotators disagree.

Every label is stored with its annotator, one per (conversation, annotator), so labelling
again replaces. A person sees only their own labels while annotating (blind to the others);
an adjudicator sees everyone's, and their label settles the conversation. Runs that did not
complete are not judged: they are counted apart in the analysis, never as "NotTried".
A CSV import is checked completely (every row, every conversation id) before anything is
written, and refused with one line naming the first bad row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bson import ObjectId

from simulator.actions.experiments import StoredExperiment
from simulator.analysis.errors import AnalysisError
from simulator.analysis.judging import together
from simulator.analysis.outcome_judge import OutcomeJudge
from simulator.analysis.outcomes import Outcome, final_outcome, outcome
from simulator.analysis.rubrics import OutcomeRubric, as_document, digest, outcome_rubric, read_rubric
from simulator.config import Settings
from simulator.core.conversation import Conversation, Status
from simulator.core.model_spec import parse_spec
from simulator.errors import NotFound, ValidationError
from simulator.files import read_text
from simulator.llm.factory import ModelSettings, build_chat_model
from simulator.store import Store
from simulator.store.labels import ADJUDICATOR, JUDGE, PERSON, OutcomeLabel

Progress = Callable[[int, int], None]
OUTCOME = "outcome"
MAX_IMPORT_BYTES = 5_000_000
JUDGED_AT_ONCE = 8


@dataclass(frozen=True)
class JudgeSummary:
    annotator: str
    labelled: int  # conversations judged in this run
    unusable: int  # of those, answers that did not parse
    skipped: int  # labelled by this judge before
    not_completed: int  # runs that did not complete: not judged, counted apart


async def stored_outcome_rubric(store: Store, experiment: StoredExperiment, path: Path | None,
                                user: str) -> OutcomeRubric:
    """From the file (stored with the experiment when its creator gives it), else the stored one, else the default."""
    if path is not None:
        rubric = read_rubric(path, OUTCOME)
        if experiment.experiment.creator == user:
            await store.rubrics.save(experiment.id, OUTCOME, as_document(rubric), user)
        return rubric
    stored = await store.rubrics.get(experiment.id, OUTCOME)
    return outcome_rubric(stored, "the stored outcome rubric") if stored else OutcomeRubric()


async def label_with_judge(store: Store, settings: Settings, model_settings: ModelSettings,
                           experiment: StoredExperiment, conversations: list[Conversation], user: str, *,
                           model: str | None = None, rubric: Path | None = None, again: bool = False,
                           progress: Progress | None = None) -> JudgeSummary:
    """Label every completed run the judge has not labelled yet; each label is stored as it comes.

    Runs are judged JUDGED_AT_ONCE at a time (the endpoint's limiter decides how many calls
    really run together), so a local server's parallel slots or a remote API are kept busy.
    """
    rules = await stored_outcome_rubric(store, experiment, rubric, user)
    spec = model or experiment.experiment.llms[0].model
    annotator = f"judge:{parse_spec(spec)}"
    completed = [c for c in conversations if c.status is Status.COMPLETED]
    before = set() if again else {l.conversation_id for l in await store.labels.for_conversations(
        [c.id for c in completed], annotator=annotator)}
    todo = [c for c in completed if c.id not in before]

    async def judge_one(conversation: Conversation) -> bool:
        # one model stack per conversation, scoped by it: replay finds each call however the runs interleave
        judge = OutcomeJudge(build_chat_model(spec, settings, model_settings, store.model_calls,
                                              scope=f"outcome:{conversation.id}"), rules)
        judged = await judge.label(conversation, await store.messages.list(conversation.id))
        found = judged.outcome
        await store.labels.save_many([OutcomeLabel(
            conversation.id, annotator, JUDGE, found.goal_achieved if found else None, found.third if found else None,
            error=judged.error, detail=judged.detail, rubric=digest(rules))])
        return found is None

    unusable = 0
    for start in range(0, len(todo), JUDGED_AT_ONCE):
        if progress:
            progress(start, len(todo))
        unusable += sum(await together(judge_one(c) for c in todo[start:start + JUDGED_AT_ONCE]))
    if progress:
        progress(len(todo), len(todo))
    return JudgeSummary(annotator, len(todo), unusable, len(before), len(conversations) - len(completed))


async def save_label(store: Store, conversation_id: ObjectId, annotator: str, checked: Outcome, note: str = "",
                     kind: str = PERSON) -> OutcomeLabel:
    """A person's (or an adjudicator's) label of one conversation, replacing their earlier one."""
    label = OutcomeLabel(conversation_id, annotator, kind, checked.goal_achieved, checked.third, note=note)
    await store.labels.save_many([label])
    return label


async def own_labels(store: Store, conversation_ids: list[ObjectId], annotator: str) -> dict[ObjectId, OutcomeLabel]:
    """This annotator's labels only: what a blind annotator may see."""
    return {l.conversation_id: l for l in await store.labels.for_conversations(conversation_ids, annotator=annotator)}


@dataclass(frozen=True)
class Disagreement:
    conversation: Conversation
    labels: list[OutcomeLabel]  # the usable annotator labels, which differ


async def disagreements(store: Store, conversations: list[Conversation]) -> list[Disagreement]:
    """Conversations whose annotators disagree and that nobody has adjudicated yet."""
    labels = await store.labels.for_conversations([c.id for c in conversations])
    found = []
    for conversation in conversations:
        mine = [l for l in labels if l.conversation_id == conversation.id]
        usable = [l for l in mine if l.kind != ADJUDICATOR and l.usable]
        adjudicated = any(l.kind == ADJUDICATOR for l in mine)
        if not adjudicated and final_outcome(Outcome(l.goal_achieved, l.third) for l in usable).how == "disagreed":
            found.append(Disagreement(conversation, usable))
    return found


async def import_labels(store: Store, path: Path, annotator: str | None = None, *,
                        adjudication: bool = False) -> int:
    """Labels from a CSV file with columns conversation_id, goal_achieved, third (optional), note (optional)
    and annotator (unless given); every row is checked before any is stored."""
    rows = read_csv(path)
    labels = [_row_label(row, f"{path} line {n}", annotator, adjudication) for n, row in enumerate(rows, start=2)]
    for line, label in enumerate(labels, start=2):
        if not await _exists(store, label.conversation_id):
            raise ValidationError(f"{path} line {line}: no conversation {label.conversation_id}; nothing was imported")
    return await store.labels.save_many(labels)


async def _exists(store: Store, conversation_id: ObjectId) -> bool:
    try:
        await store.conversations.get(conversation_id)
    except NotFound:
        return False
    return True


def read_csv(path: Path) -> list[dict[str, str]]:
    text = read_text(path, MAX_IMPORT_BYTES, str(path), encoding="utf-8-sig")  # the one bounded reader
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        columns = set(reader.fieldnames or [])
    except csv.Error as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
    needed = {"conversation_id", "goal_achieved"} - columns
    if needed:
        raise ValidationError(f"{path}: missing column(s) {', '.join(sorted(needed))}",
                              "columns: conversation_id, goal_achieved, third, note, annotator")
    if not rows:
        raise ValidationError(f"{path} has no labels")
    return rows


def _row_label(row: dict[str, str], where: str, annotator: str | None, adjudication: bool) -> OutcomeLabel:
    who = (annotator or row.get("annotator") or "").strip()
    if not who:
        raise ValidationError(f"{where}: no annotator (give --annotator or an annotator column); nothing was imported")
    try:
        cid = ObjectId((row.get("conversation_id") or "").strip())
    except Exception:
        raise ValidationError(f"{where}: {row.get('conversation_id')!r} is not a conversation id; "
                              "nothing was imported") from None
    try:
        checked = outcome((row.get("goal_achieved") or "").strip(), (row.get("third") or "").strip() or None)
    except AnalysisError as exc:
        raise ValidationError(f"{where}: {exc.message}; nothing was imported") from None
    return OutcomeLabel(cid, who, ADJUDICATOR if adjudication else PERSON, checked.goal_achieved, checked.third,
                        note=(row.get("note") or "").strip())
