"""Control of running batches: a killed launcher takes its workers with it, `batch stop` reaches every
runner through the database, and lists and grids read whole through a pipe at 80 columns."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from test_workers import assert_completed_whole, batch_of, start_batch

from simulator.batch.runner import derive_status


def simulator(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


async def busy_workers(store, batch_id, process, messages: int = 10) -> list[int]:
    while True:
        assert process.poll() is None, process.stderr.read()
        workers = [w for w in await store.workers.of_batch(batch_id) if not w.finished]
        if len(workers) >= 2 and sum(w.messages for w in workers) >= messages:
            return [w.pid for w in workers]
        await asyncio.sleep(0.05)


async def test_kill_9_of_the_launcher_stops_its_workers_and_resume_completes(store, cli_env):
    process = start_batch(cli_env, "--workers", "2", "--concurrency", "2", cells=6, messages=60)
    batch_id = await batch_of(process)
    pids = await busy_workers(store, batch_id, process)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert not any(alive(pid) for pid in pids), "a worker outlived its launcher by 15 s"
    statuses = [c.status.value for c in await store.conversations.in_batch(batch_id)]
    assert "completed" not in statuses or statuses.count("completed") < 6
    result = simulator("batch", "resume", str(batch_id), "--workers", "2", env=cli_env)
    assert result.returncode == 0, result.stderr
    await assert_completed_whole(store, batch_id, 60)


async def test_batch_stop_reaches_the_workers_then_resume_finishes(store, cli_env):
    process = start_batch(cli_env, "--workers", "2", "--concurrency", "2", cells=6, messages=60)
    batch_id = await batch_of(process)
    await busy_workers(store, batch_id, process)
    stopped = simulator("batch", "stop", str(batch_id), env=cli_env)
    assert stopped.returncode == 0 and "asked to stop" in stopped.stdout, stopped.stdout + stopped.stderr
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "continue with: simulator batch resume" in out
    statuses = [c.status.value for c in await store.conversations.in_batch(batch_id)]
    assert "running" not in statuses and derive_status(statuses) == "stopped", statuses
    status = simulator("batch", "status", str(batch_id), env={**cli_env, "COLUMNS": "80"})
    assert "stopped" in status.stdout and "stop requested by alice" in status.stdout
    other = simulator("batch", "stop", str(batch_id), env={**cli_env, "SIM_USER": "bob"})
    assert other.returncode != 0 and "only alice may stop" in other.stderr
    resumed = simulator("batch", "resume", str(batch_id), "--workers", "2", env=cli_env)
    assert resumed.returncode == 0, resumed.stderr
    await assert_completed_whole(store, batch_id, 60)


async def test_lists_and_a_grid_read_whole_through_a_pipe_at_80_columns(store, cli_env):
    process = start_batch(cli_env, "--workers", "2", cells=3, messages=4)
    batch_id = await batch_of(process)
    out, _ = process.communicate(timeout=120)
    assert f"tokens\nbatch {batch_id} completed" in out  # the progress line ends before the report
    env = {**cli_env, "COLUMNS": "80"}
    for args in (("batch", "status", str(batch_id)), ("batch", "list"), ("list", "--experiment", "Small prison"),
                 ("list", "--protocol", "roles", "--status", "completed")):
        result = simulator(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert "…" not in result.stdout and all(len(line) <= 80 for line in result.stdout.splitlines()), args
    listed = simulator("list", "--experiment", "Small prison", env=env).stdout
    ids = [str(c.id) for c in await store.conversations.in_batch(batch_id)]
    assert all(cid in listed for cid in ids) and "3 conversation(s)" in listed
    assert str(batch_id) in simulator("batch", "list", env=env).stdout
    assert "0 conversation(s)" in simulator("list", "--status", "failed", env=env).stdout
