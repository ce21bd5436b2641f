"""Scoring messages, stored per (message, scorer), against the real FerretDB and Ollama.

The offline classifier on a sim-tiny prison batch: every message scored once, re-scoring
replaces, a second scorer adds beside the first. An LLM judge on sim-tiny (word salad, but
JSON by structured output) recorded, then replayed with no model server. The judge's
parsing, where a small model fails, on hand-written answers.
"""

from __future__ import annotations

import pytest

from analysis_fixtures import prison_batch
from scripted import ScriptedModel
from simulator.actions.experiments import import_file
from simulator.actions.experiment_runs import runs_of
from simulator.actions.scoring import ScorerChoice, build_scorer, message_scores, score_conversations
from simulator.analysis.judging import JudgeAnswerError, parse_outcome, parse_score
from simulator.analysis.outcomes import Outcome
from simulator.analysis.rubrics import ScoreRubric
from simulator.analysis.scorers import JudgeScorer, ToxicityClassifier
from simulator.config import Settings
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.store import schema

TOXIC = "You are a worthless piece of garbage, I will break your legs."
POLITE = "Good morning, may I have some yard time?"


@pytest.fixture
async def yard(store, settings, prison_on_sim_tiny):
    experiment = await import_file(store, settings.user, prison_on_sim_tiny)
    batch_id, outcome = await prison_batch(store, settings, experiment, experiment.experiment.llms[0], n_messages=4,
                                           repeats=1)
    assert outcome.completed == 4
    return experiment, batch_id


async def test_the_offline_classifier_scores_each_message_once_and_a_new_scorer_adds(store, settings, yard):
    experiment, batch_id = yard
    _, conversations = await runs_of(store, str(experiment.id), str(batch_id))
    seen = []
    summary = await score_conversations(store, ToxicityClassifier(), conversations,
                                        progress=lambda done, total: seen.append((done, total)))
    assert (summary.scored, summary.skipped, summary.failed) == (16, 0, 0)
    assert seen[0] == (0, 16) and seen[-1] == (16, 16)
    assert await store.db[schema.SCORES].count_documents({}) == 16

    again = await score_conversations(store, ToxicityClassifier(), conversations)
    assert (again.scored, again.skipped) == (0, 16)  # nothing new to score
    redo = await score_conversations(store, ToxicityClassifier(), conversations, again=True)
    assert redo.scored == 16 and await store.db[schema.SCORES].count_documents({}) == 16  # replaced, not doubled

    class Shouting:  # a second scorer: adds its own documents, leaves the classifier's alone
        name, batch_size = "shouting", 5

        async def score(self, texts):
            from simulator.analysis.scorers import checked_scores
            return [checked_scores({"caps": sum(c.isupper() for c in t) / max(1, len(t))}) for t in texts]

    before = {d["_id"]: d["scores"] for d in await store.db[schema.SCORES].find({"scorer": "classifier"}).to_list()}
    await score_conversations(store, Shouting(), conversations)
    assert await store.db[schema.SCORES].count_documents({}) == 32
    after = {d["_id"]: d["scores"] for d in await store.db[schema.SCORES].find({"scorer": "classifier"}).to_list()}
    assert after == before
    shown = await message_scores(store, conversations[0].id)
    assert sorted(shown) == [0, 1, 2, 3] and set(shown[0]) == {"classifier.toxicity", "shouting.caps"}
    assert all(0 <= v <= 1 for values in shown.values() for v in values.values())


async def test_the_classifier_tells_a_threat_from_a_greeting():
    toxic, polite = await ToxicityClassifier().score([TOXIC, POLITE])
    assert toxic.scores["toxicity"] > 0.9 and polite.scores["toxicity"] < 0.3


async def test_a_judge_on_a_real_model_is_recorded_and_replays_with_no_server(store, settings, yard):
    experiment, batch_id = yard
    _, conversations = await runs_of(store, str(experiment.id), str(batch_id))
    choice = ScorerChoice(kind="judge", model="ollama/sim-tiny")
    live = await build_scorer(store, settings, ModelSettings(retry=RetryPolicy(attempts=1, timeout=30)), experiment,
                              choice, settings.user)
    summary = await score_conversations(store, live, conversations[:2])
    recorded = {d["_id"]: (d["scores"], d["error"]) for d in await store.db[schema.SCORES].find().to_list()}
    assert summary.scored == 8 and len(recorded) == 8
    print(f"\nsim-tiny judge: {summary.scored - summary.failed} of {summary.scored} answers usable")

    nowhere = Settings(**{**settings.__dict__, "ollama_host": "http://127.0.0.1:9"})
    replay = await build_scorer(store, nowhere, ModelSettings(mode=CallMode.REPLAY), experiment, choice, settings.user)
    await score_conversations(store, replay, conversations[:2], again=True)
    replayed = {d["_id"]: (d["scores"], d["error"]) for d in await store.db[schema.SCORES].find().to_list()}
    assert replayed == recorded


async def test_judge_answers_are_read_defensively():
    rubric = ScoreRubric()
    assert parse_score('{"toxicity": 7}', rubric) == 0.7
    assert parse_score('Sure! ```json\n{"toxicity": 0}\n```', rubric) == 0.0
    assert parse_score('{"toxicity": 3} and {"toxicity": 9}', rubric) == 0.3
    for answer, reason in [('{"toxicity": 25}', "outside 0-10"), ("It is quite rude.", "no JSON"),
                           ('{"toxicity": "high"}', "not a number"), ('{"score": 3}', "no 'toxicity'"),
                           ('{"toxicity": 3', "no JSON"), ("{'toxicity': 3}", "invalid JSON")]:
        with pytest.raises(JudgeAnswerError, match=reason):
            parse_score(answer, rubric)
    assert parse_outcome('{"goal_achieved": "Yes", "third": 2}') == Outcome("Yes", 2)
    assert parse_outcome('{"goal_achieved": "Yes", "third": 7}') == Outcome("Yes", None)  # the goal still counts
    assert parse_outcome('{"goal_achieved": "No", "third": 2}') == Outcome("No", None)
    with pytest.raises(JudgeAnswerError, match="'Maybe'"):
        parse_outcome('{"goal_achieved": "Maybe"}')


async def test_a_judge_counts_answers_it_cannot_use_instead_of_failing():
    model = ScriptedModel(['{"toxicity": 9}', "no idea", '{"toxicity": 11}', '{"toxicity": 2}'])
    results = await JudgeScorer(model, ScoreRubric()).score(["a", "b", "c", "d"])
    assert [r.scores for r in results] == [{"toxicity": 0.9}, {}, {}, {"toxicity": 0.2}]
    assert [r.error for r in results] == [None, "no JSON object in the answer", "toxicity 11 is outside 0-10", None]
    options = model.calls[0][1]
    assert options.temperature == 0 and options.json_schema["properties"]["toxicity"]["maximum"] == 10


async def test_a_judge_call_that_fails_for_good_stops_the_batch_with_its_own_error():
    from simulator.llm.types import ModelCallError

    def script(messages, options, n):
        if n == 1:
            raise ModelCallError("ollama/x", "http://127.0.0.1:9", "connection refused", retryable=False)
        return '{"toxicity": 1}'

    with pytest.raises(ModelCallError, match="connection refused"):  # itself, not an exception group
        await JudgeScorer(ScriptedModel(script), ScoreRubric()).score(["a", "b", "c"])


async def test_the_local_classifier_says_which_extra_it_needs(tmp_path):
    from simulator.analysis.scorers import LocalClassifier
    from simulator.errors import ConfigError

    (tmp_path / "config.json").write_text('{"architectures": ["RobertaForSequenceClassification"]}')
    scorer = LocalClassifier(tmp_path)  # transformers and torch are an optional extra, not installed here
    with pytest.raises(ConfigError, match="needs transformers and torch") as failed:
        await scorer.score(["hello"])
    assert failed.value.hint == "pip install 'llm-interaction-simulator[local-classifier]'"
