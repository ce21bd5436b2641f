"""A Ray cluster of two nodes on this machine (`scripts/services.py ray up`): a batch's actors work on both
nodes, the worker node's raylet is killed mid-batch, and the head's actors finish every cell exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pickle

from bson import ObjectId
from processes import group_members
from test_workers import assert_completed_whole, batch_of, start_batch

from simulator.batch.node_secrets import with_node_secrets, without_secrets
from simulator.batch.ray_runner import check_reachable
from simulator.errors import ConfigError
from simulator.batch.workers import WorkerJob
from simulator.config import load_settings

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parent.parent
HEAD, WORKER = "127.0.0.2", "127.0.0.3"


def services(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "services.py"), "ray", *args, "--state", str(state)],
                          capture_output=True, text=True, timeout=180)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def raylet_of(state: Path, node: int) -> int:
    """The raylet among the processes of node `node`'s `ray start` (its process group)."""
    leader = json.loads((state / "run" / f"ray-node-{node}.pid").read_text())["pid"]
    for pid in group_members(leader):
        if b"raylet/raylet" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError(f"no raylet in node {node}'s process group")


async def busy_on_both_nodes(store, batch_id, process: subprocess.Popen) -> list:
    """Wait until a worker runs on each node and the worker node's is in the middle of a cell."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            found = [(w.node, w.pid, w.completed) for w in await store.workers.of_batch(batch_id)]
            raise AssertionError(f"the batch ended first; workers {found}: {process.stdout.read()[-500:]}")
        workers = {w.node: w for w in await store.workers.of_batch(batch_id) if not w.finished}
        if workers.keys() == {HEAD, WORKER} and workers[WORKER].messages >= 5 and workers[WORKER].running:
            return list(workers.values())
        await asyncio.sleep(0.05)
    raise AssertionError("the workers never ran on both nodes")


async def assert_left_to_the_head(store, batch_id, head: str, lost: str) -> None:
    """Each cell ended under a lease of the head's actor, or of the lost node's actor when it finished the cell
    before it died (its workers outlive their raylet by about 2 s); any lease the lost actor died holding was
    followed by the head's."""
    for cell in (await store.batches.get(batch_id)).cells:
        leases = await store.leases.collection.find({"conversation_id": cell.conversation_id}).sort("epoch", 1) \
            .to_list()
        assert {lease["owner"] for lease in leases} <= {head, lost}, leases
        assert leases[-1]["released"] and (leases[-1]["owner"] == head or len(leases) == 1), leases
        died_holding = [lease for lease in leases if lease["owner"] == lost and not lease.get("released")]
        assert all(leases[-1]["epoch"] > lease["epoch"] for lease in died_holding), leases


async def test_two_nodes_one_lost_mid_batch_every_cell_once(store, cli_env, private_state):
    port = free_port(HEAD)
    started = services(private_state, "up", "--nodes", "2", "--ray-port", str(port))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"RAY_ADDRESS={HEAD}:{port}" in started.stdout
        token = dict(line.split("=", 1) for line in started.stdout.splitlines() if line.startswith("RAY_AUTH_"))
        assert token["RAY_AUTH_MODE"] == "token" and Path(token["RAY_AUTH_TOKEN_PATH"]).stat().st_mode & 0o077 == 0
        # one cell at a time per actor, so the first actor up cannot finish the batch before the other starts
        process = start_batch({**cli_env, **token}, "--ray", f"{HEAD}:{port}", "--workers", "2", "--concurrency", "2",
                              cells=12, messages=30)
        batch_id = await batch_of(process)
        owners = {w.node: w.owner for w in await busy_on_both_nodes(store, batch_id, process)}
        listed = subprocess.run([sys.executable, "-m", "simulator", "batch", "workers", str(batch_id)],
                                env={**cli_env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=60)
        assert HEAD in listed.stdout and WORKER in listed.stdout, listed.stdout + listed.stderr

        os.kill(raylet_of(private_state, 2), signal.SIGKILL)
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "died; the others took over its cells" in out
        assert f"batch {batch_id} completed: 12 of 12 completed" in out.replace("\n", " ")
        await assert_completed_whole(store, batch_id, 30)
        await assert_left_to_the_head(store, batch_id, owners[HEAD], owners[WORKER])
    finally:
        stopped = services(private_state, "down")
        assert stopped.returncode == 0, stopped.stderr
    assert not [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                if str(private_state / "ray").encode() in _cmdline(pid)]  # nothing of the cluster is left


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_ray_job_carries_no_secret_and_each_node_puts_its_own_back():
    here = load_settings({"MONGODB_URI": "mongodb://alice:s3cret@db1:27017,db2:27017/?authMechanism=PLAIN",
                          "OPENAI_API_KEY": "sk-here", "ANTHROPIC_API_KEY": "ak-here", "LAB_KEY": "lab-here",
                          "SIM_ENDPOINTS": "lab=openai http://lab:8000/v1 LAB_KEY", "DB_NAME": "study"})
    sent = without_secrets(here)
    wire = pickle.dumps(WorkerJob(settings=sent, batch_id=ObjectId(), run="r", concurrency=2))
    assert sent.secrets() == [] and not any(s.encode() in wire for s in here.secrets())
    assert sent.mongodb_uri == "mongodb://alice@db1:27017,db2:27017/?authMechanism=PLAIN" and sent.db_name == "study"
    node = load_settings({"MONGODB_URI": "mongodb://alice:node-pw@db1:27017,db2:27017/", "OPENAI_API_KEY": "sk-node",
                          "LAB_KEY": "lab-node", "SIM_ENDPOINTS": "lab=openai http://lab:8000/v1 LAB_KEY"})
    there = with_node_secrets(sent, node)
    assert there.mongodb_uri == "mongodb://alice:node-pw@db1:27017,db2:27017/?authMechanism=PLAIN"
    assert (there.openai_api_key, there.extra_endpoints[0].key, there.db_name) == ("sk-node", "lab-node", "study")
    stranger = load_settings({"MONGODB_URI": "mongodb://bob:other@db1:27017,db2:27017/"})
    assert with_node_secrets(sent, stranger).mongodb_uri == sent.mongodb_uri  # another user's password is not used


def test_no_cluster_at_the_address_is_one_line_at_once():
    started = time.monotonic()
    with pytest.raises(ConfigError) as refused:
        check_reachable(f"{HEAD}:{free_port(HEAD)}", "simulator batch resume B")
    assert "no Ray cluster answers at 127.0.0.2:" in refused.value.one_line() and time.monotonic() - started < 5
    assert "simulator batch resume B" in refused.value.one_line()
