"""Shared set-up for the benchmarks: a real FerretDB, an instant model, a slow endpoint.

Benchmarks print figures; they are not tests. Each starts its own FerretDB (built and
cached by scripts/services.py; on PostgreSQL unless a backend is named) in a temporary
folder unless MONGODB_URI is set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import services  # noqa: E402

from simulator.protocols.roles import role_spec  # noqa: E402
from simulator.actions import conversations  # noqa: E402
from simulator.actions.experiments import import_file  # noqa: E402
from simulator.config import Settings  # noqa: E402
from simulator.llm.factory import ModelSettings  # noqa: E402
from simulator.llm.types import Reply  # noqa: E402
from simulator.store import connect  # noqa: E402

SMALL = ROOT / "tests" / "data" / "small_prison.yaml"


@contextlib.contextmanager
def bench_ferretdb(backend: str | None = None):
    """MONGODB_URI if set (and no backend asked for), else a private FerretDB on `backend`
    (default PostgreSQL) in a temporary folder, stopped and removed afterwards."""
    uri = os.environ.get("MONGODB_URI")
    if uri and backend is None:
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp:
        state = Path(tmp)
        state.chmod(0o711)  # PostgreSQL runs as its own user, who must enter the folder
        try:
            yield services.start_ferretdb(services.build_all(), state, services.free_port(), backend)
        finally:
            services.down(state)


@contextlib.asynccontextmanager
async def bench_store(backend: str | None = None, uri: str | None = None):
    """A fresh database on `uri`, or on a private FerretDB (see bench_ferretdb), dropped afterwards."""
    with contextlib.ExitStack() as stack:
        uri = uri or stack.enter_context(bench_ferretdb(backend))
        settings = Settings(mongodb_uri=uri, db_name=f"bench_{uuid.uuid4().hex[:8]}", user="bench")
        store = await connect(settings)
        try:
            experiment = await import_file(store, settings.user, SMALL)
            yield store, settings, experiment
        finally:
            await store.client.drop_database(settings.db_name)
            await store.close()


@contextlib.contextmanager
def bench_ollama(binary: Path | None = None):
    """An Ollama serving the local models: OLLAMA_HOST if set, else a private one.

    `binary` starts a private server from another Ollama build (to compare builds in one run).
    """
    host = os.environ.get("OLLAMA_HOST")
    if host and binary is None:
        yield host if "://" in host else f"http://{host}"
        return
    with tempfile.TemporaryDirectory(prefix="sim-bench-ollama-") as tmp:
        tools = services.build_all()
        if binary is not None:
            tools = dataclasses.replace(tools, ollama=binary)
        state = Path(tmp)
        try:
            yield services.start_ollama(tools, state, services.free_port())
        finally:
            services.Service("ollama", state).stop()


@contextlib.contextmanager
def bench_llamacpp():
    """llama.cpp's llama-server serving smollm2:135m: SIM_LLAMACPP_URL if set, else a private one."""
    url = os.environ.get("SIM_LLAMACPP_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="sim-bench-llamacpp-") as tmp:
        state = Path(tmp)
        try:
            yield services.start_llamacpp(services.build_all(), state, services.free_port())
        finally:
            services.Service("llamacpp", state).stop()


class InstantModel:
    """Answers at once: what is left to measure is the engine and the database."""

    spec, endpoint = "instant/model", "instant"

    def __init__(self, meter=None):
        self.meter = meter
        self.n = 0

    async def chat(self, messages, options):
        self.n += 1
        reply = Reply(text=f"Reply number {self.n}, about the yard and the gate.", prompt_tokens=50,
                      completion_tokens=10)
        if self.meter is not None:
            self.meter.add(self.spec, reply)
        return reply


class SlowEndpoint:
    """benchmarks/slow_endpoint.py in its own process, on a free loopback port."""

    def __init__(self, delay: float):
        port = services.free_port()
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("slow_endpoint.py")),
                                         str(port), str(delay)])
        self.url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 10
        while not services.port_open(port):
            if time.monotonic() > deadline:
                raise RuntimeError("the slow endpoint did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class TurnClock:
    """An engine observer that records when each turn was stored."""

    def __init__(self):
        self.stamps: list[float] = [time.perf_counter()]

    def on_turn(self, turn, note) -> None:
        self.stamps.append(time.perf_counter())

    def on_summary(self, day, content) -> None:
        self.stamps.append(time.perf_counter())

    def durations_ms(self) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.stamps, self.stamps[1:])]


async def timed_conversation(store, settings, experiment, n_messages: int, view: str) -> list[float]:
    """Run one 1v1 conversation on the instant model; milliseconds each turn (and the summary) took."""
    request = role_spec(llm=experiment.experiment.llms[0],
                        agent_counts={"guard": 1, "prisoner": 1},
                        n_messages=n_messages, view=view, last_k=10, seed=1)
    cid = await conversations.create(store, settings.user, experiment, request)
    options = ModelSettings()
    clock = TurnClock()
    await conversations.run(store, settings, cid, options, model=InstantModel(options.meter), observer=clock)
    return clock.durations_ms()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


WORDS = (ROOT / "scripts" / "corpus.txt").read_text(encoding="utf-8").split()


def message_text(number: int, chars: int = 800) -> str:
    """About `chars` characters of corpus words, starting somewhere different for each number."""
    start = (number * 7919) % (len(WORDS) - 400)
    return " ".join(WORDS[start:start + 400])[:chars]


async def prefill_messages(store, n: int, per_conversation: int = 20, chars: int = 800,
                           sample_every: int = 997) -> tuple[list, list]:
    """Insert `n` messages of ~`chars` characters (conversations of `per_conversation`) with insert_many,
    straight into the collection; returns sampled (message ids, conversation ids) to query later."""
    from datetime import datetime, timezone

    from bson import ObjectId

    ids, conversations_ = [], []
    batch, now, cid = [], datetime.now(timezone.utc), ObjectId()
    for number in range(n):
        if number % per_conversation == 0:
            cid = ObjectId()
        doc = {"_id": ObjectId(), "conversation_id": cid, "index": number % per_conversation, "day": 0,
               "role": "guard", "speaker": "Guard_101", "content": message_text(number, chars), "raw_content": "",
               "usage": {"prompt_tokens": 50, "completion_tokens": 10}, "latency": 0.001, "created_at": now}
        if number % sample_every == 0:
            ids.append(doc["_id"])
            conversations_.append(cid)
        batch.append(doc)
        if len(batch) == 5000:
            await store.db["messages"].insert_many(batch, ordered=False)
            batch = []
    if batch:
        await store.db["messages"].insert_many(batch, ordered=False)
    return ids, conversations_
