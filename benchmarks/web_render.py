"""Explorer page speed on a large database: a 1,000-message conversation among 10^5 stored messages.

A private FerretDB (on PostgreSQL, the default store; see _support.bench_ferretdb) gets 10^5
messages of about 800 characters and 10^5 classifier scores of them, written with insert_many
(an analysed database: a `$in` on scores would read them all), then one prison conversation
of 1,000 messages over 5 days with its summaries, a classifier score per message and leakage
on every tenth message (raw reply beside the cleaned one), written through the repositories.
`simulator explore` serves that database from a child process, as a researcher runs it, and
this script times over loopback, median of --repeats after one warm-up:
  conversation page   GET /conversations/<id>: the database reads, the transcript built, the
                      HTML rendered and sent (the target: under 300 ms)
  in Chromium         the same page opened in headless Debian chromium, navigation start to
                      the load event (when /usr/bin/chromium is there)
  experiments list, conversations list, search for a phrase across every message
so the cost of the pages around it, and of a full-text search on FerretDB v1 (a $regex that
reads every message), is printed beside it; then the page's two large reads alone (what the
database costs of it). The machine's load average is printed: other work on the 2 cores slows
every figure, and the explorer's own CPU time per page shows its share.

    .venv/bin/python benchmarks/web_render.py [--messages 100000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from _support import ROOT, InstantModel, bench_store, message_text, prefill_messages

from simulator import aio
from simulator.actions import conversations
from simulator.core.conversation import Status, Usage
from simulator.batch.plan import create_batch
from simulator.batch.runner import run_batch
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_batch, role_spec
from simulator.store import Message
from simulator.store.scores import MessageScore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LENGTH, DAYS = 1000, 5
TARGET_MS = 300.0


async def prefill_scores(store, n: int, per_conversation: int = 20) -> None:
    """`n` classifier scores of messages of other conversations, straight into the collection."""
    from bson import ObjectId

    batch, cid = [], ObjectId()
    for number in range(n):
        if number % per_conversation == 0:
            cid = ObjectId()
        index = number % per_conversation
        batch.append(MessageScore(cid, index, "classifier", {"toxicity": (number % 89) / 89}).document())
        if len(batch) == 5000:
            await store.db["scores"].insert_many(batch, ordered=False)
            batch = []
    if batch:
        await store.db["scores"].insert_many(batch, ordered=False)


async def long_conversation(store, settings, experiment):
    """A finished 1v1 prison run of LENGTH messages over DAYS days, scored, with leakage cut from some replies."""
    spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1},
                     n_messages=LENGTH, days=DAYS, seed=1)
    cid = await conversations.create(store, settings.user, experiment, spec)
    agents = (await store.conversations.get(cid)).agents
    per_day = LENGTH // DAYS
    messages = []
    for i in range(LENGTH):
        agent = agents[i % len(agents)]
        content = message_text(i, 300)
        raw = f"{content}\n{agents[(i + 1) % 2].name}: and I answer for them" if i % 10 == 0 else content
        messages.append(Message(cid, i, i // per_day, agent.role, agent.name, content, raw_content=raw,
                                usage={"prompt_tokens": 400, "completion_tokens": 60}))
    await store.messages.append_many(messages)
    for day in range(DAYS):
        await store.summaries.save(cid, day, message_text(10_000 + day, 600))
    await store.scores.save_many([MessageScore(cid, i, "classifier", {"toxicity": (i % 97) / 97})
                                  for i in range(LENGTH)])
    await store.conversations.finish(cid, Status.COMPLETED, "message budget reached", Usage(400 * LENGTH, 60 * LENGTH),
                                     LENGTH)
    return cid


async def small_batch(store, settings, experiment):
    """A finished batch of 8 cells (2 LLM settings x 1v1, 2v1 x 2 repeats) on the instant model."""
    plan = role_batch(llms=experiment.experiment.llms, max_agents={"guard": 2, "prisoner": 1}, every_combination=True,
                      n_messages=4, repeats=2, seed=3)
    planned = await create_batch(store, settings.user, experiment, plan)
    await run_batch(store, settings, planned.id, ModelSettings(), model_for=lambda cid: InstantModel())
    return planned.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ExplorerProcess:
    def __init__(self, settings):
        self.port = free_port()
        env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "DB_NAME": settings.db_name,
               "SIM_LOG_DIR": tempfile.mkdtemp(prefix="sim-bench-logs-")}
        self.process = subprocess.Popen([sys.executable, "-m", "simulator", "explore", "--port", str(self.port)],
                                        env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        print(self.process.stdout.readline().strip(), flush=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_get(client: httpx.Client, path: str, repeats: int, pid: int) -> tuple[float, float, int]:
    """Median milliseconds of a GET after one warm-up, the server's CPU milliseconds per GET, and the
    page's size in bytes."""
    size = len(client.get(path).content)
    durations, cpu = [], cpu_seconds(pid)
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(durations), (cpu_seconds(pid) - cpu) * 1000 / repeats, size


def in_chromium(url: str, repeats: int) -> float | None:
    """Median milliseconds from navigation start to the load event in headless chromium."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                                args=CHROMIUM_ARGS)
        page = context.new_page()
        page.goto(url)
        durations = []
        for _ in range(repeats):
            page.goto(url, wait_until="load")
            durations.append(page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd"))
        context.close()
    return statistics.median(durations)


async def prepare(messages: int):
    """Fill a benchmark database; returns the context manager (kept open) and what the timing needs."""
    manager = bench_store()
    store, settings, experiment = await manager.__aenter__()
    started = time.perf_counter()
    await prefill_messages(store, messages)
    await prefill_scores(store, messages)
    cid = await long_conversation(store, settings, experiment)
    batch_id = await small_batch(store, settings, experiment)
    stored = await store.messages.count(cid)
    print(f"stored {messages:,} messages and scores + a conversation of {stored:,} in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return manager, store, settings, cid, batch_id


async def reads(store, cid, repeats: int) -> None:
    """The page's two large reads on their own, one after the other (the page makes them together)."""
    for label, read in (("its 1,000 messages", store.messages.list),
                        ("their 1,000 scores", store.scores.for_conversation)):
        durations = []
        for _ in range(repeats):
            started = time.perf_counter()
            await read(cid)
            durations.append((time.perf_counter() - started) * 1000)
        print(f"  reading {label} alone: median {statistics.median(durations):.0f} ms", flush=True)


def measure(settings, cid, batch_id, repeats: int) -> None:
    explorer = ExplorerProcess(settings)
    try:
        with httpx.Client(base_url=explorer.base, timeout=120) as client:
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
            page, cpu, size = timed_get(client, f"/conversations/{cid}", repeats, explorer.process.pid)
            print(f"conversation page, {LENGTH:,} messages: median {page:.0f} ms over {repeats}, explorer CPU "
                  f"{cpu:.0f} ms per page ({size / 1024:.0f} KB of HTML; target < {TARGET_MS:.0f} ms: "
                  f"{'met' if page < TARGET_MS else 'MISSED'})", flush=True)
            browser = in_chromium(f"{explorer.base}/conversations/{cid}", repeats)
            if browser is not None:
                print(f"  in headless chromium, navigation start to load event: median {browser:.0f} ms")
            for label, path in (("experiments list", "/experiments"), ("conversations list", "/conversations"),
                                ("batch grid, 8 cells", f"/batches/{batch_id}"),
                                ("search a phrase in every message", f"/search?q={quote('the yard at dawn')}")):
                took, cpu, _ = timed_get(client, path, max(3, repeats // 2), explorer.process.pid)
                print(f"{label}: median {took:.0f} ms (explorer CPU {cpu:.0f} ms)", flush=True)
            print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        explorer.stop()


async def main_async(messages: int, repeats: int) -> None:
    manager, store, settings, cid, batch_id = await prepare(messages)
    try:
        await asyncio.to_thread(measure, settings, cid, batch_id, repeats)
        await reads(store, cid, repeats)
    finally:
        await manager.__aexit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages stored besides the conversation")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    aio.run(main_async(args.messages, args.repeats))


if __name__ == "__main__":
    main()
