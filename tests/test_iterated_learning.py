"""Iterated learning in the light-box world: the world, the parsers, the protocol, a real run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.actions.learning_analysis import load_records
from simulator.analysis.iterated_learning import records, shares
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.iterated_learning import (DEFAULT_TRUTH, INPUTS, biased, example_accuracy, generations,
                                                    hypothesis_accuracy, light, original_examples, parse_examples,
                                                    parse_hypothesis)

LEARNING = PROTOCOLS["iterated_learning"]
TRUTH = {"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}


def test_the_world_has_243_hypotheses_and_31_inputs():
    assert 3 ** 5 == 243 and len(INPUTS) == 31


@pytest.mark.parametrize("chosen, expected", [
    ({"A"}, "on"), ({"B"}, "off"), ({"C"}, "und"), ({"B", "D"}, "off"), ({"B", "C"}, "und"), ({"C", "A"}, "on"),
    ({"A", "B", "C", "D", "screen"}, "on"), ({"D", "C", "B"}, "und")])
def test_the_light_is_on_if_any_is_on_else_und_if_any_is_und_else_off(chosen, expected):
    assert light(TRUTH, chosen) == expected


def test_accuracies_by_hand():
    guess = {"A": "on", "B": "on", "C": "und", "D": "off", "screen": "off"}  # B and screen wrong: 3 of 5
    assert hypothesis_accuracy(guess, TRUTH) == 0.6
    examples = [(frozenset({"A"}), "on"), (frozenset({"B"}), "off"), (frozenset({"screen"}), "on"),
                (frozenset({"C", "D"}), "und")]
    # the guess predicts A on (right), B on (wrong), screen off (wrong), C+D und (right): 2 of 4
    assert example_accuracy(guess, examples) == 0.5
    assert biased(guess) and not biased(TRUTH)


@pytest.mark.parametrize("text, expected", [
    ('{"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}', TRUTH),
    ('Here it is:\n```json\n{"a": "ON", "b": "off", "c": "undetermined", "d": "off", "Screen": "on"}\n```', TRUTH),
    ('{"rule": {"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}}', TRUTH),
    ('{"A": "on", "B": "off", "C": "und", "D": "off"}', None),  # screen missing
    ('{"A": "on", "B": "maybe", "C": "und", "D": "off", "screen": "on"}', None),
    ('{"A": "on", "B": "off"', None),  # cut off
    ("The light turns on with A.", None),
    ("[1, 2, 3]", None),
])
def test_rules_are_parsed_defensively(text, expected):
    assert parse_hypothesis(text) == expected


def test_examples_are_parsed_defensively_and_bad_items_counted():
    good, bad = parse_examples('{"examples": [{"objects": ["A", "screen"], "light": "on"}, '
                               '{"objects": ["Q"], "light": "on"}, {"objects": ["B"], "light": "dim"}, '
                               '{"objects": ["c", "D"], "light": "UND"}]}')
    assert good == [(frozenset({"A", "screen"}), "on"), (frozenset({"C", "D"}), "und")] and bad == 2
    assert parse_examples("no JSON here") == ([], 1)
    assert parse_examples('[{"objects": ["B"], "light": "off"}]') == ([(frozenset({"B"}), "off")], 0)


def scripted_learner(messages, options, n):
    """Rules that drift to the biased one; examples that follow it; one reply that is not JSON."""
    task = messages[-1]["content"]
    if "new observations" in task:
        return '{"examples": [{"objects": ["screen"], "light": "off"}, {"objects": ["A"], "light": "on"}]}'
    if n == 0:
        return "I think the screen matters."  # invalid: counted, not a crash
    return '{"A": "on", "B": "off", "C": "und", "D": "off", "screen": "off"}'


async def test_a_scripted_chain_counts_invalid_replies_and_passes_examples_on(store, settings):
    plan = LEARNING.plan({"llm": "ollama/sim-tiny", "generations": 3, "examples": 2, "bias": "screen_off",
                          "filters": ["mismatch"]}, Common(seed=4))
    spec = plan.cells(4)[0].spec
    assert spec.n_messages == 9 and conv.checked(spec).option("truth") == DEFAULT_TRUTH
    cid = await conv.create(store, settings.user, None, spec)
    model = ScriptedModel(scripted_learner)
    outcome = await conv.run(store, settings, cid, ModelSettings(), model=model)
    assert outcome.messages == 9
    messages = await store.messages.list(cid)
    assert [(m.round, m.role) for m in messages[:3]] == [(0, "infer"), (0, "check"), (0, "produce")]
    # generation 2 infers from what generation 1 produced; the mismatch filter names wrong original examples
    second_infer = model.calls[3][0][-1]["content"]
    assert "screen -> light off" in second_infer and "A -> light on" in second_infer
    assert "gets these original observations wrong" in model.calls[1][0][-1]["content"]
    assert model.calls[0][1].json_schema["required"] == ["A", "B", "C", "D", "screen"]
    conversation = await store.conversations.get(cid)
    gens = generations([conv.as_turn(m) for m in messages], ["infer", "check", "produce"],
                       original_examples(conversation))
    table = records(str(cid), "mismatch", "screen_off", DEFAULT_TRUTH, original_examples(conversation), gens)
    assert [r.biased for r in table] == [True, True, True]  # the check turn gave the biased rule each time
    assert table[0].invalid == 1 and table[1].invalid == 0  # the first infer reply was not JSON
    assert shares(table)[0].biased_share == 1.0 and table[0].accuracy_truth == 0.8


@pytest.mark.real_model
async def test_three_generations_on_smollm2_complete_with_invalid_outputs_counted(cli_env, store):
    run = subprocess.run([sys.executable, "-m", "simulator", "iterated-learning", "--llm", "ollama/smollm2:135m",
                          "--generations", "3", "--examples", "4", "--bias", "screen_off", "--filter", "none",
                          "--filter", "self", "--max-tokens", "120", "--seed", "5"],
                         env=cli_env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    batch = run.stdout.split()[1].rstrip(":")
    rows = await load_records(store, conv.conversation_id(batch))
    assert sorted((r.filter, r.generation) for r in rows) == [(f, g) for f in ("none", "self") for g in (1, 2, 3)]
    assert all(r.invalid >= 0 for r in rows)
    analysed = subprocess.run([sys.executable, "-m", "simulator", "analyze", "iterated-learning", batch, "-o",
                               str(cli_env["SIM_LOG_DIR"]) + "/il"], env=cli_env, capture_output=True, text=True,
                              timeout=300)
    assert analysed.returncode == 0, analysed.stderr
    assert "Iterated learning, batch" in analysed.stdout and "wrote 3 files" in analysed.stdout
    print("\nsmollm2 iterated learning:", [(r.filter, r.generation, r.biased, r.invalid) for r in rows])
