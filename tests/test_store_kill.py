"""kill -9 of PostgreSQL or of FerretDB during a run: the run fails with one line naming the
database, and `resume`, once the services are started again the way `make services` starts
them, completes the conversation with nothing lost or doubled.

Each test kills servers of its own (private_state), never the session's.
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import services

from bson import ObjectId

from simulator.config import Settings
from simulator.store import connect

SMALL = str(Path(__file__).resolve().parent / "data" / "small_prison.yaml")
MESSAGES = 60


async def count_messages(settings: Settings, cid) -> int:
    store = await connect(settings)
    try:
        return await store.messages.count(cid)
    finally:
        await store.close()


@pytest.mark.parametrize("victim", ["postgres", "ferretdb"])
async def test_kill_minus_9_mid_run_fails_in_one_line_then_resume_completes(victim, tools, private_state, cli_env):
    port = services.free_port()
    uri = services.start_ferretdb(tools, private_state, port, "postgresql")
    env = {**cli_env, "MONGODB_URI": uri, "DB_TIMEOUT_MS": "1000"}
    settings = Settings(mongodb_uri=uri, db_name=env["DB_NAME"], user="alice", db_timeout_ms=1000)
    process = subprocess.Popen([sys.executable, "-m", "simulator", "run", SMALL, "--agents", "guard=1,prisoner=1",
                                "--messages", str(MESSAGES), "--seed", "5", "--no-record"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    cid = ObjectId(process.stdout.readline().split()[1])  # "conversation ID ..."
    store = await connect(settings)
    while await store.messages.count(cid) < 10 and process.poll() is None:
        await asyncio.sleep(0.005)
    await store.close()
    os.kill(services.Service(victim, private_state).running()[0], signal.SIGKILL)

    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert f"lost database {settings.db_name} at 127.0.0.1:{port}" in lines[0], lines[0]
    assert ("PostgreSQL" in lines[0]) == (victim == "postgres")
    assert "make services" in lines[0] and f"simulator resume {cid}" in lines[0]
    stored = await count_messages_after_restart(tools, private_state, port, settings, cid)
    assert 10 <= stored < MESSAGES

    resumed = subprocess.run([sys.executable, "-m", "simulator", "resume", str(cid), "--no-record"], env=env,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    store = await connect(settings)
    try:
        stored = await store.db.messages.find({"conversation_id": cid}, {"index": 1}).sort("index", 1).to_list()
        assert [m["index"] for m in stored] == list(range(MESSAGES))  # each once: nothing lost, nothing doubled
        assert (await store.db.conversations.find_one({"_id": cid}))["status"] == "completed"
    finally:
        await store.close()


async def count_messages_after_restart(tools, state, port, settings, cid) -> int:
    """Start the services again as `make services` does: the killed one comes back, the other is reused."""
    assert services.start_ferretdb(tools, state, port, "postgresql") == settings.mongodb_uri
    return await count_messages(settings, cid)
