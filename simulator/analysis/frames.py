"""An experiment's runs as pandas DataFrames: the tables a notebook and `analyze experiment` start from.

Built from typed records (conversations, messages, stored scores and labels) with no I/O;
simulator.actions.analysis loads the records and calls `experiment_frames`.

- `conversations`: one row per conversation with its factors (model, variant.<name>,
  agents.<role>, days, speaker_selection, batch_id), status and final outcome label
  (goal_achieved, goal_third, label: agreed | single | adjudicated | disagreed | unlabelled |
  not completed);
- `messages`: one row per message (conversation_id, index, day, role, speaker, content, third)
  with the conversation's factors and one column per score, "<scorer>.<score>", NaN where that
  scorer has not scored the message;
- `scores`: the same scores in long form (conversation_id, index, scorer, score, value), and
  `score_failures` the messages a scorer could not score, with the reason;
- `labels`: one row per stored label (conversation_id, annotator, kind, goal_achieved, third,
  note, error), adjudications included.

Ids are strings, so the frames write to CSV and join without bson.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from simulator.analysis.outcomes import Outcome, final_outcome
from simulator.analysis.scorers import column
from simulator.analysis.timeline import third_of
from simulator.core.conversation import Conversation, Status
from simulator.core.forks import describe_changes
from simulator.store.labels import ADJUDICATOR, OutcomeLabel
from simulator.store.messages import Message
from simulator.store.scores import MessageScore

NOT_COMPLETED = "not completed"
FACTOR_PREFIXES = ("variant.", "agents.", "fork.")
SCALAR_FACTORS = ("model", "days", "speaker_selection", "batch_id")


@dataclass
class ExperimentData:
    conversations: pd.DataFrame
    messages: pd.DataFrame
    scores: pd.DataFrame
    score_failures: pd.DataFrame
    labels: pd.DataFrame
    factors: list[str] = field(default_factory=list)  # factor columns, on conversations and messages
    score_columns: list[str] = field(default_factory=list)  # "<scorer>.<score>" columns of messages


def conversation_factors(conversation: Conversation) -> dict[str, Any]:
    spec = conversation.spec
    row: dict[str, Any] = {"model": " + ".join(dict.fromkeys(l.model for l in spec.llms))}
    row.update({f"variant.{k}": v for k, v in (spec.option("variants") or {}).items()})
    row.update({f"agents.{k}": v for k, v in (spec.option("agent_counts") or {}).items()})
    row.update(days=spec.option("days", 1), speaker_selection=spec.option("speaker_selection") or "",
               batch_id=str(spec.batch_id) if spec.batch_id else "")
    if conversation.forked_from:  # a fork: its source, where it parted, and what changed from there on
        lineage = conversation.forked_from
        row.update({"fork.source": str(lineage.get("conversation_id")), "fork.at": int(lineage.get("at") or 0),
                    "fork.condition": describe_changes(lineage.get("changes") or {})})
    return row


def final_labels(conversation: Conversation, labels: Sequence[OutcomeLabel]) -> dict[str, Any]:
    """goal_achieved, goal_third and how the final label was reached; runs that did not complete have none."""
    if conversation.status is not Status.COMPLETED:
        return {"goal_achieved": None, "goal_third": None, "label": NOT_COMPLETED, "annotators": 0}
    usable = [Outcome(l.goal_achieved, l.third) for l in labels if l.kind != ADJUDICATOR and l.usable]
    adjudications = [l for l in labels if l.kind == ADJUDICATOR and l.usable]
    adjudication = Outcome(adjudications[-1].goal_achieved, adjudications[-1].third) if adjudications else None
    final = final_outcome(usable, adjudication)
    return {"goal_achieved": final.outcome.goal_achieved if final.outcome else None,
            "goal_third": final.outcome.third if final.outcome else None, "label": final.how,
            "annotators": final.annotators}


def experiment_frames(conversations: Sequence[Conversation], messages: Mapping[Any, Sequence[Message]],
                      scores: Iterable[MessageScore], labels: Iterable[OutcomeLabel]) -> ExperimentData:
    """The frames of these conversations; `messages` maps a conversation id to its messages."""
    labels = list(labels)
    factors_of = {c.id: conversation_factors(c) for c in conversations}
    factors = _factor_names(factors_of.values())
    conversation_rows = [{"conversation_id": str(c.id), "status": c.status.value, **factors_of[c.id],
                          "n_messages": c.spec.n_messages, "messages": len(messages.get(c.id, ())),
                          **final_labels(c, [l for l in labels if l.conversation_id == c.id])}
                         for c in conversations]
    long_scores, failures = _score_rows(scores)
    score_frame = pd.DataFrame(long_scores, columns=["conversation_id", "index", "scorer", "score", "value"])
    message_frame, score_columns = _message_frame(conversations, messages, factors_of, score_frame)
    label_frame = pd.DataFrame([{"conversation_id": str(l.conversation_id), "annotator": l.annotator, "kind": l.kind,
                                 "goal_achieved": l.goal_achieved, "third": l.third, "note": l.note, "error": l.error}
                                for l in labels],
                               columns=["conversation_id", "annotator", "kind", "goal_achieved", "third", "note",
                                        "error"])
    return ExperimentData(pd.DataFrame(conversation_rows), message_frame, score_frame,
                          pd.DataFrame(failures, columns=["conversation_id", "index", "scorer", "error"]),
                          label_frame, factors, score_columns)


def _factor_names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    names = list(dict.fromkeys(k for row in rows for k in row))
    return [n for n in names if n in SCALAR_FACTORS or n.startswith(FACTOR_PREFIXES)]


def _score_rows(scores: Iterable[MessageScore]) -> tuple[list[tuple], list[tuple]]:
    values, failures = [], []
    for stored in scores:
        cid = str(stored.conversation_id)
        if stored.error is not None:
            failures.append((cid, stored.index, stored.scorer, stored.error))
        values.extend((cid, stored.index, stored.scorer, name, value) for name, value in stored.scores.items())
    return values, failures


def _message_frame(conversations: Sequence[Conversation], messages: Mapping[Any, Sequence[Message]],
                   factors_of: Mapping[Any, Mapping[str, Any]], scores: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    rows = []
    for c in conversations:
        stored = messages.get(c.id, ())
        rows.extend({"conversation_id": str(c.id), "index": m.index, "day": m.day, "role": m.role,
                     "speaker": m.speaker, "content": m.content,
                     "third": third_of(m.index, len(stored)) if m.index < len(stored) else 3, **factors_of[c.id]}
                    for m in stored)
    frame = pd.DataFrame(rows, columns=["conversation_id", "index", "day", "role", "speaker", "content", "third"]
                         if not rows else None)
    if scores.empty:
        return frame, []
    wide = scores.assign(column=[column(s, n) for s, n in zip(scores["scorer"], scores["score"])]) \
        .pivot_table(index=["conversation_id", "index"], columns="column", values="value", aggfunc="first")
    columns = list(wide.columns)
    return frame.merge(wide.reset_index(), on=["conversation_id", "index"], how="left"), columns
