"""Exports an analysis can use: a batch into one CSV with each run's settings and each message's scores."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

from test_workers import batch_of, start_batch


def simulator(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=300)


async def test_a_batch_exports_into_one_csv_with_settings_and_scores(store, cli_env, tmp_path):
    process = start_batch(cli_env, "--workers", "1", cells=2, messages=4)
    batch_id = await batch_of(process)
    process.communicate(timeout=120)
    scored = simulator("score", "Small prison", "--batch", str(batch_id), env=cli_env)
    assert scored.returncode == 0, scored.stderr
    out = tmp_path / "batch.csv"
    result = simulator("export", "--batch", str(batch_id), "--format", "csv", "--with-summaries", "-o", str(out),
                       env=cli_env)
    assert result.returncode == 0 and "of 2 run(s)" in result.stdout, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    messages = [r for r in rows if r["kind"] == "message"]
    assert len(messages) == 8 and len({r["conversation_id"] for r in messages}) == 2
    assert {r["experiment_name"] for r in rows} == {"Small prison"} and {r["protocol"] for r in rows} == {"roles"}
    assert {r["agent_counts"] for r in messages} == {"guard=1;prisoner=1"}
    assert {r["model"] for r in messages} == {"ollama/sim-tiny"} and all(r["seed"] for r in messages)
    assert all(0 <= float(r["score.classifier.toxicity"]) <= 1 for r in messages)
    assert {r["day"] for r in rows} == {"1"}
    refused = simulator("export", "--batch", str(batch_id), "--format", "txt", env=cli_env)
    assert refused.returncode != 0 and "exports as csv or jsonl" in refused.stderr
    analysed = simulator("analyze", "experiment", str(batch_id), "-o", str(tmp_path / "by_batch"), env=cli_env)
    assert analysed.returncode == 0, analysed.stderr
    assert "analysed 2 run(s) of experiment 'Small prison'" in analysed.stdout
    one = str(messages[0]["conversation_id"])
    analysed = simulator("analyze", "experiment", one, "-o", str(tmp_path / "one"), env=cli_env)
    assert analysed.returncode == 0 and "analysed 1 run(s)" in analysed.stdout, analysed.stderr
