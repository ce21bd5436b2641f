"""`simulator explore` as a researcher starts it: one-line errors, the access rules, the security
headers, exports and search, and that browsing every page leaves the database as it was.

The explorer runs as the real command in a child process against the session's FerretDB;
requests go to it over loopback with httpx.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import services
from scripted import ScriptedModel, is_summary_call
from simulator.actions import conversations as conv
from simulator.actions.browse import transcript
from simulator.actions.experiments import import_file
from simulator.cli.export import render_export
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_spec

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"
STARTUP = 60.0


class Explorer:
    """`simulator explore` in a child process on a free port, until `stop`."""

    def __init__(self, env: dict[str, str], *args: str, host: str = "127.0.0.1"):
        self.port = services.free_port()
        self.host = host
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "explore", "--host", host, "--port", str(self.port), *args],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = self._wait_for_banner()
        self.base = f"http://{host}:{self.port}"

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + STARTUP
        while not _listening(self.host, self.port):
            if self.process.poll() is not None:
                raise AssertionError(f"explore exited: {self.process.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("explore did not start listening")
            time.sleep(0.1)
        return self.process.stdout.readline()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def explore_once(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", "explore", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_bad_port_is_one_line(cli_env):
    assert one_error_line(explore_once(cli_env, "--port", "70000")) == \
        "error: simulator explore: argument --port: 70000 is out of range (allowed: 0 to 65535) " \
        "(see `simulator explore --help`)"


def test_a_database_that_is_down_is_one_line_naming_it(cli_env):
    closed = services.free_port()
    env = {**cli_env, "MONGODB_URI": f"mongodb://researcher:s3cret@127.0.0.1:{closed}", "DB_TIMEOUT_MS": "500"}
    line = one_error_line(explore_once(env, "--port", "0"))
    assert f"cannot reach MongoDB at 127.0.0.1:{closed}: connection refused" in line and "s3cret" not in line


def test_a_port_in_use_is_one_line(cli_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = one_error_line(explore_once(cli_env, "--port", str(port)))
    assert line.startswith(f"error: cannot listen on 127.0.0.1 port {port}: Address already in use")
    assert "--port" in line


def problem_line(page: httpx.Response) -> str:
    assert page.status_code == 503
    return page.text.split('<p class="problem">', 1)[1].split("</p>", 1)[0]


def test_a_database_that_stops_while_browsing_is_a_page_with_one_line(tools, private_state, cli_env):
    uri = services.start_ferretdb(tools, private_state, services.free_port(), "sqlite")
    explorer = Explorer({**cli_env, "MONGODB_URI": uri, "DB_TIMEOUT_MS": "1000"})
    try:
        assert httpx.get(explorer.base + "/experiments").status_code == 200
        pid, port = services.Service(services.FERRETDB_SERVICES["sqlite"], private_state).running()
        os.kill(pid, signal.SIGKILL)
        problems = [problem_line(httpx.get(explorer.base + "/experiments", timeout=30)) for _ in range(2)]
        assert all(p.startswith(f"cannot reach MongoDB at 127.0.0.1:{port}: ") for p in problems), problems
        assert "connection refused" in problems[1]  # the first may find its pooled connection closed instead
        assert explorer.process.poll() is None  # the explorer itself goes on
    finally:
        explorer.stop()


def test_another_address_needs_the_token_on_every_request(cli_env):
    explorer = Explorer(cli_env, host="127.0.0.2")  # loopback, but not the default address
    try:
        assert "?token=" in explorer.banner and "needed on every request" in explorer.process.stdout.readline()
        token = explorer.banner.split("?token=", 1)[1].split()[0]
        with httpx.Client(base_url=explorer.base) as client:
            assert client.get("/experiments").status_code == 401
            assert client.get("/static/explorer.css").status_code == 401
            assert client.get("/experiments?token=wrong").status_code == 401
            assert client.get("/experiments", headers={"authorization": "Bearer wrong"}).status_code == 401
            assert client.get("/experiments", headers={"authorization": f"Bearer {token}"}).status_code == 200
            first = client.get(f"/experiments?q=yard&token={token}")
            assert first.status_code == 303 and first.headers["location"] == "/experiments?q=yard"
            cookie = first.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            assert client.get("/experiments?q=yard").status_code == 200  # the cookie carries it now
    finally:
        explorer.stop()


@pytest.fixture
async def populated(store, settings):
    """A prison run with a message whose text looks like a regular expression and one with leakage, and a
    run whose runner was killed."""
    experiment = await import_file(store, settings.user, SMALL)
    spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=4,
                     days=2, seed=3)
    cid = await conv.create(store, settings.user, experiment, spec)
    replies = ["Stay (back) from gate a.b now.", "Let me out.\nUser: and then the rest", "Fine.", "The yard is cold."]
    model = ScriptedModel(lambda messages, options, n: "A quiet day." if is_summary_call(messages)
                          else replies.pop(0))
    await conv.run(store, settings, cid, ModelSettings(), model=model)
    killed = await conv.create(store, settings.user, experiment, spec)  # marked running, but no runner holds it
    await store.conversations.start_run(killed, 1)
    return experiment, cid, killed


async def snapshot(store) -> dict[str, tuple[int, list[str]]]:
    """Every collection's document count and index names: what a write would change."""
    state = {}
    database = store.client[store.server.database]
    for name in sorted(await database.list_collection_names()):
        collection = database[name]
        indexes = sorted([i["name"] async for i in await collection.list_indexes()])
        state[name] = (await collection.count_documents({}), indexes)
    return state


async def test_headers_read_only_exports_and_search(cli_env, store, populated):
    experiment, cid, killed = populated
    before = await snapshot(store)
    explorer = Explorer(cli_env)
    try:
        async with httpx.AsyncClient(base_url=explorer.base, timeout=60) as client:
            page = await client.get("/experiments")
            assert page.status_code == 200 and "Small prison" in page.text
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
            assert page.headers["x-content-type-options"] == "nosniff"
            assert (await client.post("/experiments")).status_code == 405
            assert (await client.get("/experiments", headers={"host": "attacker.example"})).status_code == 421
            assert (await client.get("/conversations/nonsense")).status_code == 404
            assert "cannot" in (await client.get(f"/conversations/{'0' * 24}")).text.lower()

            shown = await transcript(store, cid)
            for fmt in ("txt", "jsonl", "csv"):
                export = await client.get(f"/conversations/{cid}/export.{fmt}")
                assert export.status_code == 200 and export.text == render_export(fmt, shown)
                assert export.headers["content-disposition"] == f'attachment; filename="conversation-{cid}.{fmt}"'

            found = await client.get("/search", params={"q": "(back) from gate a.b"})
            assert found.status_code == 200 and f"/conversations/{cid}#m-0" in found.text
            assert "<mark>(back) from gate a.b</mark>" in found.text
            assert "#m-0" not in (await client.get("/search", params={"q": "gate a.c"})).text  # "." is literal
            assert "#m-0" not in (await client.get("/search", params={"q": "gate", "role": "prisoner"})).text
            assert "#m-0" in (await client.get("/search", params={"q": "GATE", "experiment": str(experiment.id),
                                                                   "creator": "alice"})).text

            assert 'id="status">stalled<' in (await client.get(f"/conversations/{killed}")).text
            assert (await client.get("/conversations")).text.count('class="status status-stalled"') == 1

            for path in ("/experiments", f"/experiments/{experiment.id}", f"/experiments/{experiment.id}/analysis",
                         "/conversations", f"/conversations/{cid}", "/batches", "/search?q=yard"):
                assert (await client.get(path)).status_code == 200, path
    finally:
        explorer.stop()
    assert await snapshot(store) == before
