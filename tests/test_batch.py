"""The batch runner: scripted-model logic, then a real sweep on sim-tiny killed half way."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripted import ScriptedModel, is_summary_call, speaker_of
from simulator.actions.experiments import import_file
from simulator.batch.plan import create_batch
from simulator.batch.runner import BatchProgress, cell_table, run_batch
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_batch

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"


def echo(messages, options, n):
    return "summary" if is_summary_call(messages) else f"{speaker_of(messages)} here."


@pytest.fixture
async def small(store, settings):
    return await import_file(store, settings.user, SMALL)


def spec(small, **overrides):
    values = dict(llms=small.experiment.llms, max_agents={"guard": 2, "prisoner": 2}, n_messages=4,
                  every_combination=True, repeats=2, seed=1)
    values.update(overrides)
    return role_batch(**values)


@pytest.mark.both_stores
async def test_batch_is_stored_before_it_runs(store, settings, small):
    planned = await create_batch(store, settings.user, small, spec(small))
    assert planned.cells == 2 * 2 * 4 and planned.estimated_calls == 16 * (4 + 1)
    batch = await store.batches.get(planned.id)
    ids = [c.conversation_id for c in batch.cells]
    docs = await store.conversations.in_batch(planned.id)
    assert sorted(d.id for d in docs) == sorted(ids) and {d.status.value for d in docs} == {"pending"}
    assert [tuple(c.values["agent_counts"].values()) for c in batch.cells[:4]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert [c.values["llm"] for c in batch.cells[:8]] == [0] * 4 + [1] * 4
    assert len({d.spec.seed for d in docs}) == 16


@pytest.mark.both_stores
async def test_runs_concurrently_and_a_failed_cell_does_not_stop_the_others(store, settings, small):
    planned = await create_batch(store, settings.user, small, spec(small, repeats=1))
    batch = await store.batches.get(planned.id)
    doomed = batch.cells[2].conversation_id
    options = ModelSettings()
    active = {"now": 0, "peak": 0}

    class Tracked(ScriptedModel):
        async def chat(self, messages, opts):
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
            await asyncio.sleep(0.01)
            active["now"] -= 1
            return await super().chat(messages, opts)

    def model_for(cid):
        return Tracked(["Prisoner_999: not mine"] if cid == doomed else echo, options.meter)

    outcome = await run_batch(store, settings, planned.id, options, concurrency=3, model_for=model_for)
    assert (outcome.status, outcome.completed, outcome.failed, outcome.total) == ("failed", 7, 1, 8)
    assert active["peak"] == 3
    _, rows = await cell_table(store, planned.id)
    assert [r.status for r in rows].count("completed") == 7
    assert next(r for r in rows if r.conversation_id == doomed).error.count("no usable text") == 1


@pytest.mark.both_stores
async def test_token_budget_pauses_and_resume_finishes(store, settings, small):
    planned = await create_batch(store, settings.user, small, spec(small, repeats=1, token_budget=100))
    options = ModelSettings()
    progress = BatchProgress(total=0)
    outcome = await run_batch(store, settings, planned.id, options, concurrency=2, progress=progress,
                              model_for=lambda cid: ScriptedModel(echo, options.meter))
    assert outcome.status == "stopped" and outcome.completed < 8
    assert (await store.batches.get(planned.id)).note == "token budget of 100 reached"
    assert progress.tokens >= 100
    again = ModelSettings()
    outcome = await run_batch(store, settings, planned.id, again, concurrency=2, token_budget=10**9,
                              model_for=lambda cid: ScriptedModel(echo, again.meter))
    assert outcome.status == "completed" and outcome.completed == 8
    for row in (await cell_table(store, planned.id))[1]:
        assert row.messages == 4


@pytest.mark.both_stores
async def test_each_conversation_counts_only_its_own_tokens(store, settings, small):
    planned = await create_batch(store, settings.user, small, spec(small, repeats=1))
    options = ModelSettings()  # one meter shared by the whole batch
    outcome = await run_batch(store, settings, planned.id, options, concurrency=8,
                              model_for=lambda cid: ScriptedModel(echo, options.meter))
    assert outcome.completed == 8 and options.meter.prompt_tokens == 8 * 5 * 10
    for doc in await store.conversations.in_batch(planned.id):
        assert doc.usage.prompt_tokens == 5 * 10  # 4 turns + 1 summary, 10 tokens each


async def test_sixteen_on_sim_tiny_killed_half_way_then_resumed(store, cli_env):
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "batch", str(SMALL), "--llm", "1", "--llm", "2",
         "--max-agents", "guard=2,prisoner=2", "--all-combinations", "--messages", "8", "--repeat", "2",
         "--concurrency", "2", "--seed", "5", "--no-record"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = process.stdout.readline()
    assert first.startswith("batch ") and "16 conversations" in first, first
    from simulator.cli.batch_commands import batch_id_of
    batch_id = batch_id_of(first.split()[1].rstrip(":"))
    while True:
        _, rows = await cell_table(store, batch_id)
        if sum(r.status == "completed" for r in rows) >= 8:
            break
        assert process.poll() is None, process.stderr.read()
        await asyncio.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {r.conversation_id: r for r in (await cell_table(store, batch_id))[1]}
    finished_before = {cid for cid, r in before.items() if r.status == "completed"}
    assert 8 <= len(finished_before) < 16

    resumed = subprocess.run([sys.executable, "-m", "simulator", "batch", "resume", str(batch_id), "--no-record"],
                             env=cli_env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    _, after = await cell_table(store, batch_id)
    assert len(after) == 16 and all(r.status == "completed" for r in after)
    assert len(await store.conversations.in_batch(batch_id)) == 16
    for row in after:
        messages = await store.messages.list(row.conversation_id)
        assert [m.index for m in messages] == list(range(8))
        if row.conversation_id in finished_before:
            assert row.runs == 1  # never run again
        else:
            assert row.runs == before[row.conversation_id].runs + 1
    status = subprocess.run([sys.executable, "-m", "simulator", "batch", "status", str(batch_id)],
                            env=cli_env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "16 completed" in status.stdout


@pytest.mark.both_stores
async def test_a_batch_refuses_manual_speaker_selection_before_storing_anything(store, settings, small):
    from simulator.errors import ValidationError

    with pytest.raises(ValidationError, match="cannot use manual speaker selection"):
        await create_batch(store, settings.user, small, spec(small, speaker_selection="manual"))
    assert await store.conversations.rows() == [] and await store.db["batches"].count_documents({}) == 0
