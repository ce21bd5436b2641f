"""Outcome labels by an LLM judge: recorded, replayed with no server, failed runs never judged,
answers it cannot use counted; rubrics from a file or stored with the experiment."""

from __future__ import annotations

import pytest

from analysis_fixtures import prison_batch
from scripted import ScriptedModel
from simulator.actions.annotation import label_with_judge, stored_outcome_rubric
from simulator.actions.experiments import import_file
from simulator.analysis.outcome_judge import OutcomeJudge, judge_request
from simulator.analysis.outcomes import Outcome
from simulator.analysis.rubrics import DEFAULT_OUTCOME_PROMPT, OutcomeRubric, read_rubric
from simulator.config import Settings
from simulator.core.conversation import Status, Usage
from simulator.errors import ValidationError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy


@pytest.fixture
async def yard(store, settings, prison_on_sim_tiny):
    experiment = await import_file(store, settings.user, prison_on_sim_tiny)
    batch_id, _ = await prison_batch(store, settings, experiment, experiment.experiment.llms[0], n_messages=6,
                                     repeats=1)
    runs = sorted(await store.conversations.in_batch(batch_id), key=lambda c: c.id)
    await store.conversations.finish(runs[3].id, Status.FAILED, "injected failure", Usage(), 6)  # a failed run
    return experiment, await store.conversations.in_batch(batch_id)


async def test_the_judge_labels_completed_runs_records_and_replays(store, settings, yard):
    experiment, runs = yard
    live = ModelSettings(retry=RetryPolicy(attempts=1, timeout=60))
    first = await label_with_judge(store, settings, live, experiment, runs, "alice", model="ollama/sim-tiny")
    assert (first.annotator, first.labelled, first.not_completed) == ("judge:ollama/sim-tiny", 3, 1)
    labels = {l.conversation_id: l for l in await store.labels.for_conversations([c.id for c in runs])}
    failed = next(c for c in runs if c.status is Status.FAILED)
    assert failed.id not in labels and len(labels) == 3
    assert all(l.kind == "judge" and l.rubric and l.detail for l in labels.values())
    print(f"\nsim-tiny outcome judge: {first.labelled - first.unusable} of {first.labelled} answers usable: "
          + ", ".join(str(l.goal_achieved) for l in labels.values()))

    again = await label_with_judge(store, settings, live, experiment, runs, "alice", model="ollama/sim-tiny")
    assert (again.labelled, again.skipped) == (0, 3)  # each run is judged once unless asked again

    nowhere = Settings(**{**settings.__dict__, "ollama_host": "http://127.0.0.1:9"})
    replay = await label_with_judge(store, nowhere, ModelSettings(mode=CallMode.REPLAY), experiment, runs, "alice",
                                    model="ollama/sim-tiny", again=True)
    assert replay.labelled == 3
    replayed = {l.conversation_id: l for l in await store.labels.for_conversations([c.id for c in runs])}
    assert [(l.goal_achieved, l.third, l.error) for l in replayed.values()] == \
        [(l.goal_achieved, l.third, l.error) for l in labels.values()]


async def test_the_judge_sees_the_goal_and_the_thirds_and_counts_unusable_answers(store, yard):
    experiment, runs = yard
    run = next(c for c in runs if c.status is Status.COMPLETED)
    messages = await store.messages.list(run.id)
    request = judge_request(run, messages, OutcomeRubric())
    prisoner = next(a for a in run.agents if a.role == "prisoner")
    assert "achieved the goal the prisoner was given" in request[0]["content"]
    assert run.prepared.prompts[prisoner.name] in request[1]["content"]  # the goal of this run's variant
    body = request[1]["content"]
    assert body.index("--- first third ---") < body.index("--- second third ---") < body.index("--- last third ---")
    model = ScriptedModel(['{"goal_achieved": "Yes", "third": 3}', "The prisoner tried hard."])
    judge = OutcomeJudge(model, OutcomeRubric())
    assert (await judge.label(run, messages)).outcome == Outcome("Yes", 3)
    unusable = await judge.label(run, messages)
    assert unusable.outcome is None and unusable.error == "no JSON object in the answer"
    assert model.calls[0][1].json_schema["properties"]["goal_achieved"]["enum"] == ["Yes", "No", "NotTried"]
    with pytest.raises(ValidationError, match="judges role 'warden'"):
        judge_request(run, messages, OutcomeRubric(role="warden"))


async def test_a_rubric_file_is_stored_with_the_experiment_only_by_its_creator(store, yard, tmp_path):
    experiment, _ = yard
    path = tmp_path / "rubric.yaml"
    path.write_text("role: guard\nprompt: Did the {role} keep order?\n")
    assert await stored_outcome_rubric(store, experiment, None, "alice") == OutcomeRubric()  # the default
    assert await stored_outcome_rubric(store, experiment, path, "bob") == OutcomeRubric("guard", "Did the {role} "
                                                                                                 "keep order?")
    assert await store.rubrics.get(experiment.id, "outcome") is None  # bob used it, but may not change it
    await stored_outcome_rubric(store, experiment, path, "alice")
    assert await stored_outcome_rubric(store, experiment, None, "bob") == OutcomeRubric("guard", "Did the {role} "
                                                                                                "keep order?")
    text = tmp_path / "plain.txt"
    text.write_text("Did the {role} get out?")
    assert read_rubric(text, "outcome") == OutcomeRubric(prompt="Did the {role} get out?")
    assert "{role}" in DEFAULT_OUTCOME_PROMPT
    bad = tmp_path / "bad.yaml"
    for content, message in [("persona: guard\n", "unknown field(s) persona"), ("prompt: ''\n", "non-empty text"),
                             ("role: [1, 2]\n", "role must be a role's name"), ("a: [", "not valid YAML")]:
        bad.write_text(content)
        with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            read_rubric(bad, "outcome")
    score = tmp_path / "score.yaml"
    score.write_text("score: Toxic Level\n")
    with pytest.raises(ValidationError, match="score must be a name"):
        read_rubric(score, "score")
