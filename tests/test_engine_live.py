"""The engine end to end on the real sim-tiny model and FerretDB, through the CLI."""

import asyncio
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import services

from simulator.actions.conversations import conversation_id

ROOT = Path(__file__).resolve().parent.parent
PRISON = str(ROOT / "prompts" / "prison.yaml")
SMALL = str(ROOT / "tests" / "data" / "small_prison.yaml")


def simulator_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator", *args]


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(simulator_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


def started_id(stdout_line: str) -> str:
    assert stdout_line.startswith("conversation "), stdout_line
    return stdout_line.split()[1]


async def test_two_guards_one_prisoner_twelve_messages_two_days(cli_env, store):
    result = run_cli("run", PRISON, "--llm", "ollama/sim-tiny", "--agents", "guard=2,prisoner=1", "--messages", "12",
                     "--days", "2", "--seed", "3", env=cli_env)
    assert result.returncode == 0, result.stderr
    cid = conversation_id(started_id(result.stdout.splitlines()[0]))
    messages = await store.messages.list(cid)
    assert [m.index for m in messages] == list(range(12))
    assert [m.day for m in messages] == [0] * 6 + [1] * 6
    assert all(m.content.strip() and m.raw_content for m in messages)
    summaries = await store.summaries.list(cid)
    assert [s["day"] for s in summaries] == [0, 1] and all(s["content"].strip() for s in summaries)
    doc = await store.conversations.get(cid)
    assert doc.status.value == "completed" and doc.spec.option("agent_counts") == {"guard": 2, "prisoner": 1}
    assert doc.usage.prompt_tokens > 0 and doc.usage.completion_tokens > 0
    assert "completed: message budget reached (12)" in result.stdout.replace("\n", " ")

    shown = run_cli("show", str(cid), env=cli_env)
    assert shown.returncode == 0
    assert "Day 1" in shown.stdout and "Day 2" in shown.stdout and "Summary of day 2" in shown.stdout
    jsonl = run_cli("export", str(cid), "--format", "jsonl", "--with-summaries", env=cli_env).stdout.splitlines()
    records = [json.loads(line) for line in jsonl]
    messages = [r for r in records if r["kind"] == "message"]
    assert [r["index"] for r in messages] == list(range(12))
    assert [r["day"] for r in records if r["kind"] == "summary"] == [1, 2]  # days count from 1, as "Day 1"
    assert {r["day"] for r in messages} == {1, 2} and {r["agent_counts"] for r in messages} == {"guard=2;prisoner=1"}
    assert {(r["model"], r["experiment_name"], r["seed"] is not None, r["status"]) for r in messages} == {
        ("ollama/sim-tiny", messages[0]["experiment_name"], True, "completed")}
    rows = list(csv.DictReader(io.StringIO(run_cli("export", str(cid), "--format", "csv", env=cli_env).stdout)))
    assert len(rows) == 12 and list(rows[0])[:8] == ["experiment_id", "experiment_name", "protocol", "conversation_id",
                                                     "status", "seed", "agent_counts", "kind"]
    assert {"model", "temperature", "top_k", "top_p", "day", "round", "cut", "created_at"} <= set(rows[0])
    assert [r["day"] for r in rows] == ["1"] * 6 + ["2"] * 6


async def test_same_seed_at_temperature_zero_replays_the_same_conversation(cli_env, store, tmp_path):
    experiment = tmp_path / "cold.yaml"
    experiment.write_text(Path(PRISON).read_text().replace("temperature: 0.7", "temperature: 0"))
    contents = []
    for _ in range(2):
        result = run_cli("run", str(experiment), "--llm", "2", "--agents", "guard=1,prisoner=1", "--messages", "4",
                         "--seed", "8", "--no-record", env=cli_env)  # sim-tiny; tests/test_real_model.py does smollm2
        assert result.returncode == 0, result.stderr
        cid = conversation_id(started_id(result.stdout.splitlines()[0]))
        contents.append([(m.speaker, m.content) for m in await store.messages.list(cid)])
    assert contents[0] == contents[1]


async def test_kill_minus_9_at_random_points_then_resume_keeps_exactly_40(cli_env, store):
    rng = random.Random(2026)
    killed_mid_run = 0
    for trial in range(20):
        process = subprocess.Popen(simulator_cmd("run", SMALL, "--agents", "guard=1,prisoner=2", "--messages", "40",
                                                 "--days", "2", "--seed", str(trial), "--no-record"),
                                   env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        cid = conversation_id(started_id(process.stdout.readline()))
        target = rng.randint(0, 39)
        while await store.messages.count(cid) < target and process.poll() is None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(rng.uniform(0, 0.004))  # land anywhere inside the next turn (a few ms on sim-tiny)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if (await store.conversations.get(cid)).status.value != "completed":
            killed_mid_run += 1
            resumed = run_cli("resume", str(cid), "--no-record", env=cli_env)
            assert resumed.returncode == 0, resumed.stderr
        messages = await store.messages.list(cid)
        assert [m.index for m in messages] == list(range(40)), f"trial {trial}"
        assert [s["day"] for s in await store.summaries.list(cid)] == [0, 1]
        assert (await store.conversations.get(cid)).status.value == "completed"
    assert killed_mid_run >= 18


async def test_model_server_down_mid_run_fails_then_resume_completes(cli_env, store, tools, tmp_path):
    state = tmp_path / "ollama-down"
    port = services.free_port()
    host = services.start_ollama(tools, state, port)
    env = {**cli_env, "OLLAMA_HOST": host}
    process = subprocess.Popen(simulator_cmd("run", PRISON, "--llm", "ollama/sim-tiny", "--agents",
                                             "guard=1,prisoner=1", "--messages", "30", "--seed", "4", "--attempts",
                                             "3", "--timeout", "10", "--no-record"),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cid = conversation_id(started_id(process.stdout.readline()))
    while await store.messages.count(cid) < 5:
        await asyncio.sleep(0.01)
    services.Service("ollama", state).stop()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"conversation {cid} failed" in stderr and "gave up after 3 attempts" in stderr
    doc = await store.conversations.get(cid)
    assert doc.status.value == "failed" and f"127.0.0.1:{port}" in doc.error
    stored_before = await store.messages.count(cid)
    assert 5 <= stored_before < 30

    services.start_ollama(tools, state, port)
    try:
        resumed = run_cli("resume", str(cid), "--no-record", env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert f"resuming {cid} at message {stored_before} of 30 (was failed)" in resumed.stdout.replace("\n", " ")
        assert [m.index for m in await store.messages.list(cid)] == list(range(30))
        assert (await store.conversations.get(cid)).status.value == "completed"
    finally:
        services.Service("ollama", state).stop()


async def test_ctrl_c_stops_a_run_cleanly_and_resume_finishes(cli_env, store):
    process = subprocess.Popen(simulator_cmd("run", SMALL, "--agents", "guard=1,prisoner=1", "--messages", "40",
                                             "--seed", "6", "--no-record"),
                               env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cid = conversation_id(started_id(process.stdout.readline()))
    while await store.messages.count(cid) < 5:
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr
    doc = await store.conversations.get(cid)
    assert doc.status.value == "stopped" and doc.stop_reason == "interrupted"
    stored = await store.messages.count(cid)
    assert 5 <= stored < 40
    resumed = run_cli("resume", str(cid), "--no-record", env=cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert [m.index for m in await store.messages.list(cid)] == list(range(40))
