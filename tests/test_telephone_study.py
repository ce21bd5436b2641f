"""The telephone study's own metric definitions (`analyze telephone --metrics study`).

Test data (tests/data/telephone_study/, from jeremyperez2/TelephoneGameLLM at commit 40493115 and
llm_culture/data/parameters/stories.json): the ten initial texts whose published metric value is their
folder name (Difficulty11.57, Positivity-0.5106, ...), and four published gpt-3.5-turbo-0125 rephrase
chains (seed_1 of Difficulty11.57, Length518.0, Positivity-0.5106, Positivity0.5994) in the study's
layout, keeping the fields the import reads (initial_story, stories, prompt_init, prompt_update).

The expected attractors were computed by hand from those four files with the study's own procedure
(utils.py and run_initial_vs_last_story.py): textstat 0.7.3's gunning_fog and NLTK's VADER called
directly, hashtags removed from each generation, `len` of each generation from generation 1 on, and
scipy.stats.linregress of the last (and the 10th) column on the first, nothing from this project.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.actions.telephone import import_chains
from simulator.analysis.telephone import Chain, attractors, chain_series
from simulator.analysis import telephone_study as study
from simulator.analysis.metrics import positivity as project_positivity
from simulator.errors import ConfigError

DATA = Path(__file__).parent / "data" / "telephone_study"

# (metric, generation) -> (position, strength), by hand (see the module docstring)
HAND = {("difficulty", "final"): (13.08772923467328, 0.8572069854038995),
        ("difficulty", "10"): (11.248884343303777, 0.8220011350984707),
        ("length", "final"): (294.9803512691616, 0.6732488760383066),
        ("length", "11"): (320.908373223206, 0.6410442398007788),
        ("positivity", "final"): (-1.0, 0.03096291344623814),
        ("positivity", "10"): (0.5785048841527414, 0.6454013741314062)}


def published_texts() -> list[dict[str, str]]:
    return json.loads((DATA / "initial_texts.json").read_text(encoding="utf-8"))


def test_difficulty_gives_the_five_published_difficulty_texts_their_published_values():
    for item in published_texts():
        if item["name"].startswith("Difficulty"):
            assert study.difficulty(item["prompt"]) == float(item["name"].removeprefix("Difficulty"))


def test_positivity_gives_the_published_values_where_the_projects_vader_misses_one():
    misses = 0
    for item in published_texts():
        if item["name"].startswith("Positivity"):
            published = float(item["name"].removeprefix("Positivity"))
            assert study.positivity(item["prompt"]) == published
            misses += project_positivity(item["prompt"]) != published
    assert misses == 1  # vaderSentiment's own algorithm: -0.9638 for the published -0.9738


def test_generations_lose_their_hashtags_and_the_initial_text_keeps_them():
    chain = Chain("m", "rephrase", "t", 1, ("Start #here", "A #tag and #two_words. #", "plain"))
    series = chain_series(chain, {"length": study.length}, prepare=study.prepared)
    assert series["length"] == [11.0, len("A  and . #"), 5.0]


def test_length_is_fitted_on_generation_one_and_its_intermediate_is_the_studys_column_ten():
    # lengths at generations 0..12 of three chains; the fit uses generation 1 (x) against the last and
    # against generation 11 (the study's column 10); generation 0 plays no part
    runs = [[999] + [100 + g for g in range(12)], [5] + [200 + g for g in range(12)],
            [70] + [300 + g for g in range(12)]]
    runs[0][-1], runs[1][-1], runs[2][-1] = 150, 200, 250  # final = 100 + 0.5 x generation 1
    chains = [Chain("m", "i", str(i), 1, tuple("x" for _ in r)) for i, r in enumerate(runs)]
    rows = attractors(chains, [{"length": [float(v) for v in r]} for r in runs], "length", intermediate=10, start=1)
    final = next(r for r in rows if r.generation == "final")
    assert (final.start, final.result.slope, final.result.strength) == (1, 0.5, 0.5)
    assert final.result.position == pytest.approx(200.0)  # 100 / (1 - 0.5)
    assert [r.generation for r in rows] == ["final", 11]


def test_toxicity_comes_from_a_detoxify_or_toxigen_label_or_is_refused():
    assert study.toxicity_from({"toxicity": 0.25, "insult": 0.5}) == 0.25
    assert study.toxicity_from({"toxic": 0.75, "obscene": 0.1}) == 0.75
    assert study.toxicity_from({"label_0": 0.9, "label_1": 0.1}) == 0.1
    with pytest.raises(ConfigError, match="no toxicity label"):
        study.toxicity_from({"positive": 0.9})


def test_without_a_classifier_toxicity_is_left_out_with_a_note():
    definitions = study.study_metrics()
    assert set(definitions.metrics) == {"length", "difficulty", "positivity"}
    assert definitions.notes and "--local-classifier" in definitions.notes[0]
    assert definitions.fit("length").start == 1 and definitions.fit("difficulty").clip is None
    assert set(study.study_metrics(lambda text: 0.0).metrics) == {"length", "difficulty", "positivity", "toxicity"}


OFFLINE_CHILD = r"""
import json, socket
attempts = []
def refuse(self, address, *args, **kwargs):
    attempts.append(repr(address))
    raise OSError("network disabled by tests/test_telephone_study.py")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from simulator.analysis import telephone_study as study
text = "Optical neural networks (ONNs) are promising for accelerating deep learning tasks. #research"
print(json.dumps({"values": [study.difficulty(text), study.positivity(text), study.length(study.prepared(1, text))],
                  "attempts": attempts}))
"""


def test_the_study_metrics_load_and_measure_with_the_network_removed():
    """First use in a fresh process (where a lazy download would happen), inside a network namespace with no
    interfaces where the kernel allows it, and with every socket connect refused and recorded."""
    namespace = subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NLTK_", "HF_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([*(["unshare", "-n"] if namespace else []), sys.executable, "-c", OFFLINE_CHILD], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [] and all(isinstance(v, float) for v in report["values"])


def test_other_textstat_versions_are_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(study.metadata, "version", lambda package: "0.7.13")
    with pytest.raises(ConfigError, match="textstat 0.7.3"):
        study.check_versions()


async def test_published_chains_analysed_with_the_study_metrics_give_the_hand_computed_attractors(
        cli_env, store, settings, tmp_path):
    report = await import_chains(store, settings.user, DATA)
    assert report.found == 4
    done = subprocess.run([sys.executable, "-m", "simulator", "analyze", "telephone", "--model",
                           "published/gpt-3.5-turbo-0125", "--instruction", "rephrase", "--metrics", "study",
                           "-o", str(tmp_path / "out")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "note: toxicity left out" in done.stdout and "study definitions" in done.stdout
    with (tmp_path / "out" / "attractors.csv").open(encoding="utf-8") as rows:
        found = {(r["metric"], r["generation"]): r for r in csv.DictReader(rows)}
    assert set(found) == set(HAND)
    for key, (position, strength) in HAND.items():
        assert round(float(found[key]["position"]), 3) == round(position, 3), key
        assert round(float(found[key]["strength"]), 3) == round(strength, 3), key
        assert found[key]["definitions"] == "study"
    assert found[("length", "final")]["regressed_on_generation"] == "1"
