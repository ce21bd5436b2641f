"""Iterated learning in the light-box world: the world, the parsers, the protocol, a real run."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import pytest

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.actions.learning_analysis import analyse, load_records
from simulator.actions.run_target import find_runs
from simulator.analysis.iterated_learning import records, shares
from simulator.batch.plan import create_batch
from simulator.llm.factory import ModelSettings
from simulator.llm.types import Reply, TokenLogprob
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.iterated_learning import (DEFAULT_TRUTH, INPUTS, OBJECTS, STATES, biased, example_accuracy,
                                                    generations, hypothesis_accuracy, light, original_examples,
                                                    parse_examples, parse_hypothesis)

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


@pytest.mark.both_stores
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


# --- the posterior from log-probabilities, through the store and the analysis --------------------

LN3 = math.log(1 / 3)
E10 = math.exp(-10)  # the study's log-probability for a status not among the top ones, as a probability
EXAMPLES = '{"examples": [{"objects": ["screen"], "light": "off"}, {"objects": ["A"], "light": "on"}]}'
# generation 1: every status of every object at ln(1/3); generation 2: A..D certain (only the written status,
# at log-probability 0) and the screen off or on at ln(1/2) each, und not among the top log-probabilities
FIRST = ({"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}, {o: [(s, LN3) for s in STATES]
                                                                          for o in OBJECTS})
SECOND = ({"A": "on", "B": "off", "C": "und", "D": "off", "screen": "off"},
          {"A": [("on", 0.0)], "B": [("off", 0.0)], "C": [("und", 0.0)], "D": [("off", 0.0)],
           "screen": [("off", math.log(0.5)), ("on", math.log(0.5))]})


def rule_tokens(rule, tops) -> tuple[TokenLogprob, ...]:
    """The rule as GPT's tokenizer writes it: '{"', 'A', '":', ' "', 'on', '",', ' "', 'B', ..., '"}'."""
    tokens = [TokenLogprob('{"', 0.0)]
    for i, obj in enumerate(OBJECTS):
        chosen = rule[obj]
        tokens += [TokenLogprob(obj, 0.0), TokenLogprob('":', 0.0), TokenLogprob(' "', 0.0),
                   TokenLogprob(chosen, dict(tops[obj])[chosen], tuple(tops[obj]))]
        tokens += [TokenLogprob('",', 0.0), TokenLogprob(' "', 0.0)] if i < len(OBJECTS) - 1 else \
            [TokenLogprob('"}', 0.0)]
    return tuple(tokens)


class LogprobLearner:
    """Replies as a server that gives log-probabilities (llama.cpp's, OpenAI's) would, with hand-made ones."""

    spec = "scripted/logprobs"
    endpoint = "scripted"

    def __init__(self):
        self.calls = []

    async def chat(self, messages, options):
        self.calls.append((messages[-1]["content"], options))
        if "new observations" in messages[-1]["content"]:
            return Reply(text=EXAMPLES)
        generation = sum(1 for task, o in self.calls if "new observations" not in task) - 1
        tokens = rule_tokens(*(FIRST, SECOND)[generation % 2])
        return Reply(text="".join(t.token for t in tokens), logprobs=tokens)


async def learning_batch(store, settings, model, *, filters, repeats=1):
    plan = LEARNING.plan({"llm": "ollama/sim-tiny", "generations": 2, "examples": 2, "filters": filters},
                         Common(seed=3, repeats=repeats))
    planned = await create_batch(store, settings.user, None, plan)
    for conversation in await store.conversations.find(batch_id=planned.id):
        await conv.run(store, settings, conversation.id, ModelSettings(), model=model)
    return planned.id


def read_csv(path):
    with path.open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


@pytest.mark.both_stores
async def test_the_posterior_entropy_is_read_from_stored_log_probabilities(store, settings, tmp_path):
    model = LogprobLearner()
    batch = await learning_batch(store, settings, model, filters=["none"], repeats=2)
    # the infer turns ask for the study's 5 top log-probabilities, the produce turns for none
    assert {(("new observations" in task), o.logprobs) for task, o in model.calls} == {(False, 5), (True, None)}
    stored = [m for c in await store.conversations.find(batch_id=batch) for m in await store.messages.list(c.id)]
    assert [m.logprobs is not None for m in stored] == [True, False] * 4
    assert stored[0].logprobs[4] == {"token": "on", "logprob": LN3, "top": [{"token": s, "logprob": LN3}
                                                                             for s in STATES]}

    result = analyse(await load_records(store, await chains_of(store, batch)), tmp_path)
    assert result.note is None and [f.name for f in result.files] == [
        "generations.csv", "shares.csv", "biased_share.png", "entropy.png"]
    first, second = read_csv(tmp_path / "shares.csv")
    # generation 1: every hypothesis has P = (1/3)^5 = 1/243, so H = ln 243; each screen status 1/3; the 81
    # hypotheses with the screen off hold 81/243 = 1/3; the mass sums to 1
    assert (first["generation"], first["posteriors"]) == ("1", "2")
    assert float(first["entropy"]) == pytest.approx(math.log(243), rel=1e-13)
    assert [float(first[f"p_screen_{s}"]) for s in STATES] == pytest.approx([1 / 3] * 3, rel=1e-13)
    assert float(first["biased_mass"]) == pytest.approx(1 / 3, rel=1e-13)
    assert float(first["hypothesis_mass"]) == pytest.approx(1.0, rel=1e-13)
    # generation 2: P(h) is a product of q_o(status): A..D (1, e^-10, e^-10), the screen (1/2 on, 1/2 off, e^-10
    # und), with Z1 = 1 + 2e^-10, Zs = 1 + e^-10, h1 = -sum q ln q = 2 e^-10 * 10, hs = ln 2 + 10 e^-10:
    # H = -sum_h P ln P = sum_o h_o prod_{o' != o} Z_o' = 4 h1 Z1^3 Zs + hs Z1^4 (not renormalised)
    #   = 4 * 9.07999e-4 * 1.000318 + 0.693601 * 1.000363 = 0.003633 + 0.693853 = 0.697486
    z1, zs, h1, hs = 1 + 2 * E10, 1 + E10, 20 * E10, math.log(2) + 10 * E10
    by_hand = 4 * h1 * z1 ** 3 * zs + hs * z1 ** 4
    assert by_hand == pytest.approx(0.697486, abs=1e-6)
    assert (second["generation"], second["posteriors"]) == ("2", "2")
    assert float(second["entropy"]) == pytest.approx(by_hand, rel=1e-12)
    # P(screen) as the study reads it: 1/2, 1/2 and 0 for und (not among the top log-probabilities)
    assert [float(second[f"p_screen_{s}"]) for s in STATES] == pytest.approx([0.5, 0.5, 0.0], rel=1e-13)
    # screen off: q(off) = 1/2 times A..D's Z1^4; the whole mass is Z1^4 Zs
    assert float(second["biased_mass"]) == pytest.approx(0.5 * z1 ** 4, rel=1e-12)
    assert float(second["hypothesis_mass"]) == pytest.approx(z1 ** 4 * zs, rel=1e-12)
    # the numbers in the CSV keep 15 significant digits: all a double resolves, without binary noise
    assert float(second["entropy"]) == pytest.approx(result.shares[1].entropy, rel=1e-14)
    assert "0000000000" not in (tmp_path / "shares.csv").read_text()
    chains = read_csv(tmp_path / "generations.csv")
    assert [(r["generation"], float(r["entropy"]) == float(r["entropy_infer"])) for r in chains] == \
        [("1", True), ("2", True)] * 2
    assert chains[1]["logprobs_screen"] == f"on={math.log(0.5)!r},off={math.log(0.5)!r}"


async def chains_of(store, batch):
    return (await find_runs(store, str(batch), "iterated_learning", "iterated-learning")).conversations


async def test_chains_without_log_probabilities_get_a_one_line_note(store, settings, cli_env, tmp_path):
    batch = await learning_batch(store, settings, ScriptedModel(scripted_learner), filters=["self"])
    result = analyse(await load_records(store, await chains_of(store, batch)), tmp_path / "direct")
    note = ("no log-probabilities recorded: the runs' server (ollama/sim-tiny) did not give them; "
            "entropy columns left out")
    assert result.note == note
    assert [f.name for f in result.files] == ["generations.csv", "shares.csv", "biased_share.png"]
    assert not (tmp_path / "direct" / "entropy.png").exists()
    for name in ("generations.csv", "shares.csv"):
        header = (tmp_path / "direct" / name).read_text().splitlines()[0]
        assert "entropy" not in header and "screen" not in header
    shown = subprocess.run([sys.executable, "-m", "simulator", "analyze", "iterated-learning", str(batch), "-o",
                            str(tmp_path / "cli")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert note in shown.stdout.splitlines() and "wrote 3 files" in shown.stdout
    assert f"analysed batch {batch}: 1 run" in shown.stdout


async def test_one_chain_without_a_batch_is_analysed_by_its_conversation_id(store, settings, cli_env, tmp_path):
    batch = await learning_batch(store, settings, ScriptedModel(scripted_learner), filters=["none"])
    (chain,) = await store.conversations.find(batch_id=batch)
    shown = subprocess.run([sys.executable, "-m", "simulator", "analyze", "iterated-learning", str(chain.id), "-o",
                            str(tmp_path / "one")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert f"analysed conversation {chain.id}: 1 run" in shown.stdout
    assert (tmp_path / "one" / "shares.csv").read_text().count("\n") > 1
    wrong = subprocess.run([sys.executable, "-m", "simulator", "analyze", "iterated-learning", "0" * 24],
                           env=cli_env, capture_output=True, text=True, timeout=300)
    assert wrong.returncode != 0 and "is no batch, conversation or experiment" in wrong.stderr


@pytest.mark.real_model
async def test_three_generations_on_smollm2_complete_with_invalid_outputs_counted(cli_env, store):
    run = subprocess.run([sys.executable, "-m", "simulator", "iterated-learning", "--llm", "ollama/smollm2:135m",
                          "--generations", "3", "--examples", "4", "--bias", "screen_off", "--filter", "none",
                          "--filter", "self", "--max-tokens", "120", "--seed", "5"],
                         env=cli_env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    batch = run.stdout.split()[1].rstrip(":")
    rows = await load_records(store, await chains_of(store, batch))
    assert sorted((r.filter, r.generation) for r in rows) == [(f, g) for f in ("none", "self") for g in (1, 2, 3)]
    assert all(r.invalid >= 0 for r in rows)
    analysed = subprocess.run([sys.executable, "-m", "simulator", "analyze", "iterated-learning", batch, "-o",
                               str(cli_env["SIM_LOG_DIR"]) + "/il"], env=cli_env, capture_output=True, text=True,
                              timeout=300)
    assert analysed.returncode == 0, analysed.stderr
    assert "Iterated learning, batch" in analysed.stdout and "wrote 3 files" in analysed.stdout
    print("\nsmollm2 iterated learning:", [(r.filter, r.generation, r.biased, r.invalid) for r in rows])
