"""The issue's end-to-end run on the real model, smollm2:135m (SmolLM2-135M-Instruct).

A prison batch (1v1 and 2v1, both goals, 2 repeats: 8 conversations of 6 messages, 60
tokens a turn) is scored by the offline classifier (`simulator score`, every connection
audited), labelled by the LLM judge on the same model (`simulator label judge`) and, for
two conversations, by a person through the Analyse menu; then `simulator analyze
experiment` prints the tables and writes CSV and PNG files. It prints what it saw: the
judge's usable answers and the tables (`pytest -s` shows them; `--basetemp DIR` keeps the
figures).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from analysis_fixtures import prison_batch
from menu_driver import DOWN, ESC, drive, menu_env
from simulator.actions.experiments import import_file
from simulator.core.experiment import LLMSetting
from test_analysis_experiment import LOCAL, connections, simulator

PRISON = Path(__file__).resolve().parent.parent / "prompts" / "prison.yaml"
MODEL = "ollama/smollm2:135m"
START = "LLM Interaction Simulator"

pytestmark = pytest.mark.real_model


async def test_prison_batch_on_smollm2_scored_labelled_and_analysed(store, settings, cli_env, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))
    experiment = await import_file(store, settings.user, PRISON)
    llm = LLMSetting(model=MODEL, temperature=0.7, top_p=0.9, max_tokens=60)
    started = time.perf_counter()
    batch_id, outcome = await prison_batch(store, settings, experiment, llm, n_messages=6, repeats=2, seed=2026)
    phases = {"batch": time.perf_counter() - started}
    assert (outcome.completed, outcome.total) == (8, 8)
    runs = sorted(await store.conversations.in_batch(batch_id), key=lambda c: c.id)
    assert {(tuple(c.spec.option("agent_counts").values()), c.spec.option("variants")["goal"]) for c in runs} == \
        {((1, 1), "escape"), ((1, 1), "yard_time"), ((2, 1), "escape"), ((2, 1), "yard_time")}

    scored = simulator(cli_env, "score", str(experiment.id), audited=True)
    assert scored.returncode == 0 and "scored 48 messages of 8 conversations" in scored.stdout, scored.stderr
    assert connections(scored) <= LOCAL

    started = time.perf_counter()
    judged = simulator(cli_env, "label", "judge", str(experiment.id), "--model", MODEL)
    phases["judge"] = time.perf_counter() - started
    assert judged.returncode == 0 and f"judge:{MODEL}: labelled 8 conversations" in judged.stdout, judged.stderr
    print("\n" + judged.stdout.strip())

    steps = [(START, "select\r"), ("Experiments: 1", "prison\r"), ("Experiment 'Prison yard'", "analyse\r"),
             ("Analyse 'Prison yard'", "annotate\r"),
             ("Annotate as alice: 0 of 8", "\r"), ("Goal achieved?", "\r"),  # the first run: Yes,
             ("In which third", DOWN + DOWN + "\r"), ("Note (optional)", "asked for the gate\r"),  # in the last third
             ("Annotate as alice: 1 of 8", DOWN + "\r"), ("Goal achieved?", DOWN + DOWN + "\r"),  # the second: NotTried
             ("Note (optional)", "\r"),
             ("Annotate as alice: 2 of 8", ESC), ("Analyse 'Prison yard'", ESC), ("Experiment 'Prison yard'", ESC),
             ("Experiments: 1", ESC), (START, "exit\r")]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    assert f"saved: Yes (third 3) for conversation {runs[0].id}" in run.screen

    output = tmp_path / "analysis"
    analysed = simulator(cli_env, "analyze", "experiment", "Prison yard", "-o", str(output), audited=True)
    assert analysed.returncode == 0, analysed.stderr
    assert connections(analysed) <= LOCAL
    print(analysed.stdout)
    assert "8 conversations (8 completed), 48 messages; scores: classifier.toxicity" in analysed.stdout
    with (output / "persuasion.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["variant.goal"], r["runs"]) for r in rows] == [("escape", "4"), ("yard_time", "4")]
    with (output / "agreement.csv").open() as handle:
        pair = next(csv.DictReader(handle))
    assert (pair["annotator_a"], pair["annotator_b"], pair["n"]) == ("alice", f"judge:{MODEL}", "2")
    with (output / "scores_by_role.csv").open() as handle:
        roles = {r["role"]: int(r["n"]) for r in csv.DictReader(handle) if r["variant.goal"] == "escape"}
    assert roles["all"] == 24 and roles["guard"] + roles["prisoner"] == 24
    figures = sorted(p.name for p in output.glob("*.png"))
    assert figures == ["agreement.png", "persuasion.png", "toxicity_over_conversation.png"]
    print(f"figures in {output}: {', '.join(figures)}")
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in phases.items()))
