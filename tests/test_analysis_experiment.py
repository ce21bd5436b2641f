"""`simulator score`, `simulator label` and `simulator analyze experiment` as a researcher runs them.

A prison batch on sim-tiny (1v1 and 2v1, both goals) is scored with the offline classifier
and labelled by a judge and from a CSV file, through the real command in a child process
against the real FerretDB and Ollama; the analysis prints its tables and writes CSV and PNG
files. Bad input is one line and a non-zero exit with nothing written. The offline path is
run with every socket connection audited: nothing but the local database may be reached.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis_fixtures import prison_batch
from simulator.actions.experiments import import_file
from simulator.store import schema

ROOT = Path(__file__).resolve().parent.parent

# The child refuses uvloop (libuv connects without Python's socket module, so the audit hook
# would not see it) and records every socket connection and name lookup through audit events.
AUDITED = r"""
import json, socket, sys
sys.modules["uvloop"] = None
seen = []
def audit(event, args):
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            seen.append(address[0])
    elif event == "socket.getaddrinfo":
        seen.append(str(args[0]))
sys.addaudithook(audit)
from simulator.cli.main import main
code = main(sys.argv[1:])
print("CONNECTIONS " + json.dumps(sorted(set(seen))), file=sys.stderr)
sys.exit(code)
"""
LOCAL = {"127.0.0.1", "::1", "localhost"}


def simulator(cli_env, *args: str, audited: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command in a child; `audited`: also with HTTP(S) proxies pointing at a closed port, so an HTTP
    library that would reach out fails loudly, and every connection recorded."""
    if audited:
        closed = "http://127.0.0.1:9"
        command, env = [sys.executable, "-c", AUDITED, *args], {**cli_env, "HTTP_PROXY": closed, "HTTPS_PROXY": closed}
    else:
        command, env = [sys.executable, "-m", "simulator", *args], cli_env
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def connections(done: subprocess.CompletedProcess) -> set[str]:
    line = next(l for l in done.stderr.splitlines() if l.startswith("CONNECTIONS "))
    return set(json.loads(line.split(" ", 1)[1]))


@pytest.fixture
async def yard(store, settings, prison_on_sim_tiny):
    experiment = await import_file(store, settings.user, prison_on_sim_tiny)
    batch_id, outcome = await prison_batch(store, settings, experiment, experiment.experiment.llms[0], n_messages=6)
    assert outcome.completed == 8
    return experiment, batch_id


async def test_score_label_and_analyze_from_the_command_line(store, settings, cli_env, tmp_path, yard):
    experiment, batch_id = yard
    scored = simulator(cli_env, "score", str(experiment.id), audited=True)
    assert scored.returncode == 0, scored.stderr
    assert "classifier: scored 48 messages of 8 conversations; 0 were scored before" in scored.stdout
    assert connections(scored) <= LOCAL, connections(scored)

    judged = simulator(cli_env, "label", "judge", str(experiment.id), "--model", "ollama/sim-tiny")
    assert judged.returncode == 0, judged.stderr
    assert "judge:ollama/sim-tiny: labelled 8 conversations" in judged.stdout

    conversations = sorted(await store.conversations.in_batch(batch_id), key=lambda c: c.id)
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["conversation_id", "goal_achieved", "third", "note"])
        writer.writerows([[conversations[0].id, "Yes", "2", "gate opened"], [conversations[1].id, "NotTried", "", ""],
                          [conversations[2].id, "No", "", ""]])
    imported = simulator(cli_env, "label", "import", str(labels), "--annotator", "bob")
    assert imported.returncode == 0 and "imported 3 labels" in imported.stdout, imported.stderr

    output = tmp_path / "out"
    analysed = simulator(cli_env, "analyze", "experiment", experiment.experiment.name, "--batch", str(batch_id),
                         "-o", str(output), audited=True)
    assert analysed.returncode == 0, analysed.stderr
    assert connections(analysed) <= LOCAL, connections(analysed)
    screen = analysed.stdout
    print(screen)
    for title in ("Scores per role", "Scores per role by third", "Persuasion", "Agreement of annotators",
                  "Logistic regression", "OLS of each conversation"):
        assert title in screen, title
    assert "8 conversations (8 completed), 48 messages; scores: classifier.toxicity" in screen
    names = {p.name for p in output.iterdir()}
    assert {"scores_by_role.csv", "scores_by_conversation.csv", "scores_by_third.csv", "scores_by_index.csv",
            "persuasion.csv", "agreement.csv", "logistic_success.csv", "ols_toxic_share.csv", "messages.csv",
            "conversations.csv", "labels.csv", "toxicity_over_conversation.png", "persuasion.png",
            "agreement.png"} <= names
    with (output / "persuasion.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["variant.goal"], r["runs"]) for r in rows] == [
        ("ollama/sim-tiny", "escape", "4"), ("ollama/sim-tiny", "yard_time", "4")]
    with (output / "agreement.csv").open() as handle:
        pair = next(csv.DictReader(handle))
    assert (pair["annotator_a"], pair["annotator_b"], pair["n"]) == ("bob", "judge:ollama/sim-tiny", "3")
    assert all((output / n).stat().st_size > 10_000 for n in names if n.endswith(".png"))
    with (output / "logistic_success.csv").open() as handle:  # no attempts: the file says why it has no terms
        assert next(csv.DictReader(handle)) == {"note": "no attempts labelled yet"}


async def test_bad_input_is_one_line_and_writes_nothing(store, settings, cli_env, tmp_path, yard):
    experiment, batch_id = yard
    output = tmp_path / "never"
    for args, message in [
        (["analyze", "experiment", str(experiment.id), "--by", "variant.mood", "-o", str(output)],
         "error: cannot group by variant.mood (factors: model, variant.goal, agents.guard, agents.prisoner"),
        (["analyze", "experiment", str(experiment.id), "--score", "judge.toxicity", "-o", str(output)],
         "error: no stored score judge.toxicity (scored: nothing yet"),
        (["analyze", "experiment", "No such yard"], "error: no experiment 'No such yard'"),
        (["score", str(experiment.id), "--batch", "123"], "error: '123' is not a batch id"),
        (["score", str(experiment.id), "--scorer", "moderation"], "error: the moderation scorer needs OPENAI_API_KEY"),
        (["score", str(experiment.id), "--scorer", "local", "--path", str(tmp_path)],
         "is not a transformers model folder (no config.json)"),
    ]:
        done = simulator(cli_env, *args)
        assert done.returncode == 1, (args, done.stdout)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, done.stderr)
    assert not output.exists()
    assert await store.db[schema.SCORES].count_documents({}) == 0

    conversation = (await store.conversations.in_batch(batch_id))[0]
    bad = tmp_path / "bad.csv"
    for rows, message in [
        ([[conversation.id, "Yes", "2"], [conversation.id, "Maybe", ""]],
         "line 3: goal achieved must be Yes, No, NotTried; got 'Maybe'; nothing was imported"),
        ([[conversation.id, "No", "2"]], "line 2: a third (2) only goes with goal achieved 'Yes', not 'No'"),
        ([[conversation.id, "Yes", ""], ["64b000000000000000000000", "No", ""]],
         "line 3: no conversation 64b000000000000000000000; nothing was imported"),
        ([["not-an-id", "No", ""]], "line 2: 'not-an-id' is not a conversation id"),
    ]:
        with bad.open("w", newline="") as handle:
            csv.writer(handle).writerows([["conversation_id", "goal_achieved", "third"], *rows])
        done = simulator(cli_env, "label", "import", str(bad), "--annotator", "bob")
        assert done.returncode == 1 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
            done.stderr
    assert await store.db[schema.LABELS].count_documents({}) == 0


async def test_the_notebook_api_loads_frames_even_inside_a_running_event_loop(store, settings, yard):
    from simulator.actions.analysis import load

    experiment, batch_id = yard
    data = load("Prison yard", settings=settings)  # this test's loop is running, as a notebook's is
    assert len(data.conversations) == 8 and len(data.messages) == 48
    assert {"model", "variant.goal", "agents.guard", "agents.prisoner"} <= set(data.messages.columns)
    per_goal = data.messages.groupby("variant.goal").size().to_dict()
    assert per_goal == {"escape": 24, "yard_time": 24}
    only_batch = load(str(experiment.id), batch=str(batch_id), settings=settings)
    assert len(only_batch.conversations) == 8 and only_batch.score_columns == []
