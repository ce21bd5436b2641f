"""Batches over worker processes and Ray actors: a killed worker's cells are taken over, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from bson import ObjectId

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "tests" / "data" / "small_prison.yaml")


def start_batch(env: dict, *extra: str, cells: int, messages: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator", "batch", SMALL, "--llm", "1", "--max-agents",
                             "guard=1,prisoner=1", "--messages", str(messages), "--repeat", str(cells), "--seed", "9",
                             "--no-record", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


async def batch_of(process: subprocess.Popen) -> ObjectId:
    first = process.stdout.readline()
    assert first.startswith("batch "), first + process.stderr.read()
    return ObjectId(first.split()[1].rstrip(":"))


async def kill_one_worker_mid_batch(store, batch_id: ObjectId, process: subprocess.Popen) -> int:
    """Wait until the workers are busy, kill -9 one of them; returns its pid."""
    while True:
        assert process.poll() is None, process.stderr.read()
        workers = [w for w in await store.workers.of_batch(batch_id) if not w.finished]
        if len(workers) >= 2 and sum(w.messages for w in workers) >= 20:
            victim = workers[0].pid
            os.kill(victim, signal.SIGKILL)
            return victim
        await asyncio.sleep(0.05)


async def assert_completed_whole(store, batch_id: ObjectId, messages: int) -> None:
    batch = await store.batches.get(batch_id)
    for cell in batch.cells:
        conversation = await store.conversations.get(cell.conversation_id)
        stored = await store.messages.list(cell.conversation_id)
        assert conversation.status.value == "completed", (cell.n, conversation.status, conversation.error)
        assert [m.index for m in stored] == list(range(messages)), cell.n
        epochs = [m.lease for m in stored]
        assert epochs == sorted(epochs), epochs  # runners took turns, never interleaved


async def test_a_killed_worker_of_three_leaves_its_cells_to_the_others(store, cli_env):
    process = start_batch(cli_env, "--workers", "3", "--concurrency", "3", cells=9, messages=40)
    batch_id = await batch_of(process)
    victim = await kill_one_worker_mid_batch(store, batch_id, process)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "3 worker processes" in out and "died; the others took over its cells" in out
    assert f"batch {batch_id} completed: 9 of 9 completed" in out.replace("\n", " ")
    await assert_completed_whole(store, batch_id, 40)
    workers = await store.workers.of_batch(batch_id)
    assert victim in {w.pid for w in workers} and sum(w.completed for w in workers) <= 9


async def test_sixteen_cells_through_ray_auto_then_again_with_a_ray_worker_killed(store, cli_env):
    process = start_batch(cli_env, "--ray", "auto", "--workers", "2", "--concurrency", "4", cells=16, messages=10)
    batch_id = await batch_of(process)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "2 Ray at auto" in out and f"batch {batch_id} completed: 16 of 16 completed" in out.replace("\n", " ")
    await assert_completed_whole(store, batch_id, 10)

    process = start_batch(cli_env, "--ray", "auto", "--workers", "2", "--concurrency", "2", cells=16, messages=30)
    batch_id = await batch_of(process)
    await kill_one_worker_mid_batch(store, batch_id, process)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert f"batch {batch_id} completed: 16 of 16 completed" in out.replace("\n", " ")
    await assert_completed_whole(store, batch_id, 30)
