"""The 64 x 20 sweep at 100 ms over 1 and N worker processes: time against the ideal, CPU per call.

Every conversation runs at once, so the ideal is 21 calls x 100 ms = 2.1 s (20 messages and
one end-of-day summary). Each configuration runs a fresh batch in one FerretDB on PostgreSQL,
through the worker processes `simulator batch --workers N` starts (simulator/batch/workers.py),
recording every model call as a batch does by default. Printed per configuration:

- sweep: first cell started to last cell finished (from the conversations' timings), / ideal;
- command: the whole run including starting the worker processes, / ideal;
- CPU ms per call: the workers' own CPU (from their worker documents) over the calls answered,
  and the database's (FerretDB and its PostgreSQL, from /proc), which shares the same cores.

Then the same two workers pinned to 1 core and to 2 cores (the figure per core added), and,
with --before REV, the CPU per call of one in-process runner at another revision against this
checkout, alternated, in the same run.

    .venv/bin/python benchmarks/workers_sweep.py [--workers N] [--before REV] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import ROOT, SMALL, SlowEndpoint, bench_ferretdb

DELAY = 0.1
CONVERSATIONS, MESSAGES = 64, 20
CALLS = CONVERSATIONS * (MESSAGES + 1)
IDEAL = (MESSAGES + 1) * DELAY


def spec():
    from simulator.core.experiment import LLMSetting
    from simulator.protocols.roles import role_batch

    return role_batch(llms=(LLMSetting(model="openai/bench", temperature=0.5),), max_agents={"guard": 1, "prisoner": 1},
                      n_messages=MESSAGES, repeats=CONVERSATIONS, seed=1)


async def planned_batch(uri: str, endpoint: str):
    from simulator.actions.experiments import import_file
    from simulator.batch.plan import create_batch
    from simulator.config import Settings
    from simulator.store import connect

    settings = Settings(mongodb_uri=uri, db_name=f"bench_{uuid.uuid4().hex[:8]}", user="bench",
                        openai_base_url=endpoint, openai_api_key="bench")
    store = await connect(settings)
    experiment = await import_file(store, settings.user, SMALL)
    planned = await create_batch(store, settings.user, experiment, spec())
    return store, settings, planned.id


async def sweep_seconds(store, batch_id) -> float:
    conversations = await store.conversations.in_batch(batch_id)
    assert all(c.status.value == "completed" for c in conversations), "a cell did not complete"
    started = min(c.timings["started_at"] for c in conversations)
    finished = max(c.timings["finished_at"] for c in conversations)
    return (finished - started).total_seconds()


def clock_ticks(pid: str) -> int:
    """CPU of a process and of its children it has waited for, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime


def database_pids(uri: str) -> list[str]:
    """The FerretDB serving `uri` and the PostgreSQL under it (postmaster and backends); [] if not ours."""
    port = uri.rsplit(":", 1)[1].split("/")[0]
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                processes[entry.name] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    ferretdb = [pid for pid, line in processes.items() if "ferretdb" in line and f"127.0.0.1:{port}" in line]
    if not ferretdb:
        return []  # MONGODB_URI points elsewhere
    state = processes[ferretdb[0]].split("--state-dir=")[1].split()[0].rsplit("/", 1)[0]
    postmaster = [pid for pid, line in processes.items() if line.startswith(("postgres ", "/usr/lib/postgresql"))
                  and f"{state}/postgres" in line]
    return ferretdb + postmaster + [pid for pid in processes if pid not in postmaster and _parent(pid) in postmaster]


def database_cpu(uri: str) -> float:
    """CPU seconds used so far by the database's processes (nan when it is not a local one)."""
    ticks, pids = 0, database_pids(uri)
    for pid in pids:
        try:
            ticks += clock_ticks(pid)
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK") if pids else float("nan")


def pin(pids: list, cores: set[int]) -> None:
    for pid in pids:
        try:
            os.sched_setaffinity(int(pid), cores)
        except OSError:
            continue


def _parent(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return ""


async def on_workers(uri: str, endpoint: str, count: int, cores: set[int] | None = None) -> dict:
    """The sweep over `count` worker processes (optionally pinned to `cores`)."""
    from simulator.batch.workers import LocalWorkers, WorkerJob, shares

    store, settings, batch_id = await planned_batch(uri, endpoint)
    try:
        job = WorkerJob(settings=settings, batch_id=batch_id, run=uuid.uuid4().hex[:8], concurrency=CONVERSATIONS)
        started, database = time.perf_counter(), database_cpu(uri)
        workers = LocalWorkers(shares(job, count))
        if cores:
            for process in workers.processes:
                os.sched_setaffinity(process.pid, cores)
        while workers.running():
            await asyncio.sleep(0.05)
        command, database = time.perf_counter() - started, database_cpu(uri) - database
        records = await store.workers.of_batch(batch_id)
        calls = sum(r.calls for r in records)
        assert calls == CALLS, f"{calls} calls answered, expected {CALLS}"
        return {"sweep": await sweep_seconds(store, batch_id), "command": command,
                "cpu_ms": 1000 * sum(r.cpu_seconds for r in records) / calls, "database_ms": 1000 * database / calls}
    finally:
        await store.client.drop_database(settings.db_name)
        await store.close()


async def in_process(uri: str, endpoint: str) -> dict:
    """One runner in this process (what any revision can run): CPU per call of the whole call path."""
    from simulator.batch.runner import run_batch
    from simulator.llm.factory import CallMode, ModelSettings

    store, settings, batch_id = await planned_batch(uri, endpoint)
    try:
        cpu, database = time.process_time(), database_cpu(uri)
        await run_batch(store, settings, batch_id, ModelSettings(concurrency=CONVERSATIONS, mode=CallMode.RECORD),
                        concurrency=CONVERSATIONS)
        cpu, database = time.process_time() - cpu, database_cpu(uri) - database
        return {"sweep": await sweep_seconds(store, batch_id), "cpu_ms": 1000 * cpu / CALLS,
                "database_ms": 1000 * database / CALLS}
    finally:
        await store.client.drop_database(settings.db_name)
        await store.close()


def at_revision(tree: Path, uri: str, endpoint: str) -> dict:
    """`in_process` run with the simulator package of `tree` (this checkout or another revision's)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run([sys.executable, __file__, "--in-process", uri, endpoint], env=env, text=True,
                            capture_output=True, cwd=tree)
    if result.returncode != 0:
        raise SystemExit(f"the in-process sweep failed in {tree}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def show(label: str, figures: dict) -> None:
    parts = [f"sweep {figures['sweep']:.2f} s = {figures['sweep'] / IDEAL:.2f}x"]
    if "command" in figures:
        parts.append(f"command {figures['command']:.2f} s = {figures['command'] / IDEAL:.2f}x")
    parts.append(f"CPU per call: runner {figures['cpu_ms']:.2f} ms, database {figures['database_ms']:.2f} ms")
    print(f"{label:<34} " + "   ".join(parts), flush=True)


def compare_revisions(uri: str, endpoint: str, before: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sim-bench-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), before], check=True,
                       capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(rounds):
                for name, where in (("before", tree), ("after", ROOT)):
                    runs[name].append(at_revision(where, uri, endpoint))
                    show(f"one runner in-process, {name}", runs[name][-1])
            for key, what in (("cpu_ms", "runner"), ("database_ms", "database")):
                mean = {name: sum(r[key] for r in results) / len(results) for name, results in runs.items()}
                print(f"{what} CPU per call, {before} -> this checkout: {mean['before']:.2f} -> {mean['after']:.2f} ms "
                      f"(after/before = {mean['after'] / mean['before']:.2f}, {rounds} alternated rounds)")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def main() -> int:
    from simulator import aio
    from simulator.batch.workers import default_workers

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=max(2, default_workers()))
    parser.add_argument("--before", metavar="REV", help="also measure one runner at this git revision")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", nargs=2, metavar=("URI", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(aio.run(in_process(*args.in_process))))
        return 0
    cores = sorted(os.sched_getaffinity(0))
    print(f"{CONVERSATIONS} conversations x {MESSAGES} messages at {DELAY * 1000:.0f} ms a call: ideal {IDEAL:.1f} s; "
          f"{len(cores)} cores; load average {os.getloadavg()[0]:.1f} before starting")
    endpoint = SlowEndpoint(DELAY)
    try:
        with bench_ferretdb() as uri:
            show("1 worker", aio.run(on_workers(uri, endpoint.url, 1)))
            show(f"{args.workers} workers", aio.run(on_workers(uri, endpoint.url, args.workers)))
            if len(cores) >= 2:  # everything (workers, database, endpoint) on 1 core, then on 2
                servers = [*database_pids(uri), endpoint.process.pid]
                pin(servers, {cores[0]})
                one = aio.run(on_workers(uri, endpoint.url, 1, {cores[0]}))
                pin(servers, set(cores[:2]))
                two = aio.run(on_workers(uri, endpoint.url, 2, set(cores[:2])))
                pin(servers, set(cores))
                show("all on 1 core (taskset), 1 worker", one)
                show("all on 2 cores (taskset), 2 workers", two)
                print(f"the second core: sweep {one['sweep'] / two['sweep']:.2f}x faster")
            budget = 1000 * len(cores) * 1.25 * IDEAL / CALLS
            print(f"1.25x the ideal on {len(cores)} cores needs at most {budget:.1f} ms of CPU per call, runner and "
                  f"database together (with the database on other machines: {budget:.1f} ms for the runners alone)")
            if args.before:
                compare_revisions(uri, endpoint.url, args.before, args.rounds)
    finally:
        endpoint.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
