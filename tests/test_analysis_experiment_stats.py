"""The role-experiment statistics, checked by hand: thirds, scores over the conversation, final
labels and pairwise agreement; and the report's persuasion and role tables over a small
hand-built experiment (frames built from typed records, no database)."""

from __future__ import annotations

import pytest
from bson import ObjectId

from simulator.analysis import (AnalysisError, FinalOutcome, Outcome, PairAgreement, RoleScore, final_outcome,
                                outcome, pairwise_agreement, role_scores_over_conversation, third_of)
from simulator.analysis.frames import experiment_frames
from simulator.analysis.report import experiment_report
from simulator.core.agents import Agent
from simulator.core.conversation import Conversation, Prepared, Status
from simulator.core.experiment import LLMSetting
from simulator.protocols.roles import role_spec
from simulator.store.labels import OutcomeLabel
from simulator.store.messages import Message
from simulator.store.scores import MessageScore


@pytest.mark.parametrize("n, thirds", [
    (6, [1, 1, 2, 2, 3, 3]),
    (4, [1, 1, 2, 3]),        # 3i // 4: 0, 0, 1, 2
    (3, [1, 2, 3]),
    (1, [1]),
    (7, [1, 1, 1, 2, 2, 3, 3]),  # 3i // 7: 0 0 0 1 1 2 2
])
def test_thirds_of_a_conversation(n, thirds):
    assert [third_of(i, n) for i in range(n)] == thirds


def test_a_message_outside_the_conversation_has_no_third():
    with pytest.raises(AnalysisError, match="not within"):
        third_of(6, 6)


def test_role_scores_over_the_conversation_with_a_role_silent_at_a_position():
    # thirds of two conversations; the prisoner never speaks in third 3
    records = [(1, "guard", 0.2), (1, "prisoner", 0.9), (2, "guard", 0.8), (2, "guard", 0.6), (2, "prisoner", 0.1),
               (3, "guard", 1.0), (1, "guard", 0.4)]
    result = role_scores_over_conversation(records, roles=["guard", "prisoner"])
    assert list(result) == [1, 2, 3]
    assert result[1]["guard"] == RoleScore(2, pytest.approx(0.3), 0.0)
    assert result[1]["prisoner"] == RoleScore(1, 0.9, 1.0)
    assert result[1]["all"] == RoleScore(3, pytest.approx(1.5 / 3), pytest.approx(1 / 3))
    assert result[2]["guard"] == RoleScore(2, pytest.approx(0.7), 1.0)
    assert result[3]["prisoner"] == RoleScore(0, None, None)
    assert result[3]["all"] == RoleScore(1, 1.0, 1.0)
    with pytest.raises(AnalysisError, match="position"):
        role_scores_over_conversation([(-1, "guard", 0.5)])


def test_outcome_labels_are_checked():
    assert outcome("Yes", "2") == Outcome("Yes", 2)
    assert outcome("NotTried", "") == Outcome("NotTried")
    with pytest.raises(AnalysisError, match="only goes with"):
        outcome("No", 1)
    with pytest.raises(AnalysisError, match="1, 2 or 3"):
        outcome("Yes", 4)
    with pytest.raises(AnalysisError, match="goal achieved must be"):
        outcome("yes")


def test_the_final_label_is_agreed_single_adjudicated_or_missing():
    yes2, yes3, no = Outcome("Yes", 2), Outcome("Yes", 3), Outcome("No")
    assert final_outcome([yes2, Outcome("Yes", 2)]) == FinalOutcome(yes2, "agreed", 2)
    assert final_outcome([yes2, Outcome("Yes")]) == FinalOutcome(yes2, "agreed", 2)  # one did not name a third
    assert final_outcome([yes2, yes3]) == FinalOutcome(Outcome("Yes"), "agreed", 2)  # agreed goal, third unknown
    assert final_outcome([no, None]) == FinalOutcome(no, "single", 1)  # an unusable judge answer does not count
    assert final_outcome([yes2, no]) == FinalOutcome(None, "disagreed", 2)
    assert final_outcome([yes2, no], adjudication=no) == FinalOutcome(no, "adjudicated", 2)
    assert final_outcome([None]) == FinalOutcome(None, "unlabelled", 0)


def test_pairwise_agreement_over_the_items_both_labelled():
    labels = {"judge": {"c1": "Yes", "c2": "No", "c3": "NotTried", "c4": "Yes"},
              "alice": {"c1": "Yes", "c2": "Yes"},
              "bob": {"c9": "No"}}
    pairs = pairwise_agreement(labels)
    # judge vs alice on c1, c2: p_o 1/2; judge Yes 1/2 No 1/2, alice Yes 2/2: p_e 1/2; kappa 0
    assert pairs[0] == PairAgreement("judge", "alice", 2, 0.5, pytest.approx(0.0))
    assert pairs[1] == PairAgreement("judge", "bob", 0, None, None)
    assert [(p.annotator_a, p.annotator_b) for p in pairs] == [("judge", "alice"), ("judge", "bob"), ("alice", "bob")]


# --- the report over a hand-built experiment --------------------------------------------------

def conversation(model: str, goal: str, guards: int, status: Status = Status.COMPLETED) -> Conversation:
    agents = tuple([Agent(f"Guard_{100 + i}", "guard") for i in range(guards)] + [Agent("Prisoner_200", "prisoner")])
    spec = role_spec(llm=LLMSetting(model=model), agent_counts={"guard": guards, "prisoner": 1}, n_messages=3,
                     variants={"goal": goal})
    return Conversation(ObjectId(), spec, Prepared("Prison yard", agents, {}), status=status)


def messages(c: Conversation, turns: list[tuple[str, str]]) -> list[Message]:
    return [Message(c.id, i, 0, role, speaker, f"turn {i}") for i, (speaker, role) in enumerate(turns)]


@pytest.fixture
def experiment():
    a, b = conversation("ollama/a", "escape", 1), conversation("ollama/a", "escape", 2)
    c, d = conversation("ollama/b", "escape", 1), conversation("ollama/b", "escape", 1, Status.FAILED)
    e = conversation("ollama/b", "escape", 2)  # nobody labelled it
    turns = {e.id: [("Guard_100", "guard"), ("Guard_101", "guard"), ("Prisoner_200", "prisoner")],
             a.id: [("Guard_100", "guard"), ("Prisoner_200", "prisoner"), ("Guard_100", "guard")],
             b.id: [("Guard_100", "guard"), ("Guard_101", "guard"), ("Guard_100", "guard")],  # the prisoner never speaks
             c.id: [("Guard_100", "guard"), ("Prisoner_200", "prisoner"), ("Guard_100", "guard")],
             d.id: [("Guard_100", "guard")]}
    stored = {cid: messages(next(x for x in (a, b, c, d, e) if x.id == cid), t) for cid, t in turns.items()}
    toxicity = {a.id: [0.9, 0.1, 0.6], b.id: [0.2, 0.4, 0.8], c.id: [0.0, 0.7, 0.3], d.id: [0.5], e.id: [0.6] * 3}
    scores = [MessageScore(cid, i, "classifier", {"toxicity": v}) for cid, vs in toxicity.items()
              for i, v in enumerate(vs)]
    labels = [OutcomeLabel(a.id, "judge:x", "judge", "Yes", 3), OutcomeLabel(a.id, "alice", "person", "Yes", 3),
              OutcomeLabel(b.id, "judge:x", "judge", "NotTried"), OutcomeLabel(b.id, "alice", "person", "No"),
              OutcomeLabel(c.id, "judge:x", "judge", None, error="no JSON object in the answer"),
              OutcomeLabel(c.id, "alice", "person", "No"),
              OutcomeLabel(d.id, "judge:x", "judge", "Yes")]  # a failed run: counted apart whatever its label
    return (a, b, c, d, e), experiment_frames([a, b, c, d, e], stored, scores, labels)


def test_frames_hold_one_row_per_message_with_factors_scores_and_final_labels(experiment):
    (a, b, c, d, e), data = experiment
    assert data.factors == ["model", "variant.goal", "agents.guard", "agents.prisoner", "days", "speaker_selection",
                            "batch_id"]
    assert data.score_columns == ["classifier.toxicity"] and len(data.messages) == 13
    row = data.messages.iloc[0]
    assert (row["model"], row["variant.goal"], row["agents.guard"], row["third"]) == ("ollama/a", "escape", 1, 1)
    finals = data.conversations.set_index("conversation_id")
    assert finals.loc[str(a.id), ["goal_achieved", "goal_third", "label"]].tolist() == ["Yes", 3, "agreed"]
    assert finals.loc[str(b.id), "label"] == "disagreed"
    assert finals.loc[str(c.id), ["goal_achieved", "label"]].tolist() == ["No", "single"]
    assert finals.loc[str(d.id), "label"] == "not completed"


def test_report_persuasion_keeps_failed_and_undecided_runs_apart(experiment):
    _, data = experiment
    table = experiment_report(data, by=["model"]).table("persuasion").frame.set_index("model")
    # model a: a Yes (agreed), b disagreed (no final label): P(attempt) 1/1, P(success) 1/1
    assert table.loc["ollama/a", ["Yes", "No", "NotTried", "no_final_label", "not_completed"]].tolist() == [1, 0, 0, 1, 0]
    assert table.loc["ollama/a", "p_attempt"] == 1.0 and table.loc["ollama/a", "p_success_given_attempt"] == 1.0
    # model b: c No (alice alone; the judge's answer did not parse), d failed, e unlabelled: P(attempt) 1, P(success) 0
    assert table.loc["ollama/b", ["Yes", "No", "not_completed", "no_final_label"]].tolist() == [0, 1, 1, 1]
    assert table.loc["ollama/b", "p_success_given_attempt"] == 0.0


def test_report_scores_per_role_count_each_message_once_and_keep_silent_roles(experiment):
    (a, b, c, d, e), data = experiment
    report = experiment_report(data, by=["model"])
    table = report.table("scores_by_role").frame.set_index(["model", "role"])
    # model a: guard 0.9, 0.6 (a) and 0.2, 0.4, 0.8 (b): mean 2.9/5, share > 0.5 3/5; prisoner 0.1
    assert table.loc[("ollama/a", "guard"), "mean"] == pytest.approx(2.9 / 5)
    assert table.loc[("ollama/a", "guard"), "share_above_half"] == pytest.approx(3 / 5)
    assert table.loc[("ollama/a", "all"), ["n", "share_above_half"]].tolist() == [6, pytest.approx(3 / 6)]
    per_conversation = report.table("scores_by_conversation").frame.set_index(["conversation_id", "role"])
    assert per_conversation.loc[(str(b.id), "prisoner"), "n"] == 0  # never spoke: n 0, no mean
    assert per_conversation.loc[(str(b.id), "prisoner"), ["mean", "share_above_half"]].isna().all()
    thirds = report.table("scores_by_third").frame.set_index(["model", "role", "third"])
    assert thirds.loc[("ollama/a", "guard", 3), "mean"] == pytest.approx((0.6 + 0.8) / 2)


def test_report_agreement_uses_usable_labels_of_completed_runs(experiment):
    _, data = experiment
    pairs = experiment_report(data).table("agreement").frame
    # judge:x and alice on a (Yes, Yes) and b (NotTried, No); c's judge label is unusable, d did not complete
    assert pairs.iloc[0][["annotator_a", "annotator_b", "n", "observed"]].tolist() == ["alice", "judge:x", 2, 0.5]


def test_report_refuses_an_unknown_factor_or_score(experiment):
    _, data = experiment
    with pytest.raises(AnalysisError, match="cannot group by variant.mood"):
        experiment_report(data, by=["variant.mood"])
    with pytest.raises(AnalysisError, match="no stored score judge.toxicity"):
        experiment_report(data, scores=["judge.toxicity"])


def test_report_ols_of_the_toxic_share_recovers_hand_computed_coefficients(experiment):
    _, data = experiment
    table = experiment_report(data).table("ols_toxic_share")
    terms = table.frame[table.frame["role"] == "all"].set_index("term")["coefficient"]
    # completed runs' shares above 0.5: a (model a, 1 guard) 2/3, b (a, 2) 1/3, c (b, 1) 1/3, e (b, 2) 1; the failed
    # d is left out. A balanced 2 x 2 design: each effect is a difference of margins, 1/6 for the model and 1/6 per
    # guard, and the intercept 7/12 - 0.5/6 - 1.5/6 = 1/4 (model a, no guard).
    assert terms.to_dict() == {"Intercept": pytest.approx(0.25), "model[ollama/b]": pytest.approx(1 / 6),
                               "agents.guard": pytest.approx(1 / 6)}
    assert "left out variant.goal: one level among these runs" in table.notes  # said once for every role
    logistic = experiment_report(data).table("logistic_success")  # one Yes, one No: too few runs to fit
    assert logistic.frame.empty and any(n.startswith("not estimable") for n in logistic.notes)


def test_report_alpha_per_rubric_question_over_every_annotator(experiment):
    _, data = experiment
    table = experiment_report(data).table("alpha").frame.set_index("question")
    # goal on a (Yes, Yes) and b (No, NotTried): o = {Yes-Yes: 2, No-NotTried: 2}, n_c = 2, 1, 1, n = 4;
    # D_o = 2/4, D_e = (2*1 + 2*1 + 1*1) * 2 / (4*3) = 10/12, alpha = 1 - 0.5 / (10/12) = 0.4
    assert table.loc["goal_achieved", ["level", "annotators", "units"]].tolist() == ["nominal", 2, 2]
    assert table.loc["goal_achieved", "alpha"] == pytest.approx(0.4)
    assert table.loc["third", "alpha"] == 1.0 and table.loc["third", "units"] == 1  # a: 3 and 3
