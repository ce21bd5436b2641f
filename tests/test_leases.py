"""Leases: one runner at a time per conversation, takeovers, and concurrent runners that never double a message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.actions import conversations as conv
from simulator.actions import leasing
from simulator.actions.experiments import import_file
from simulator.actions.leasing import LeaseHeld, LeaseLost, claim, is_live
from simulator.batch.plan import create_batch
from simulator.protocols.roles import role_batch, role_spec
from simulator.store.leases import LeaseRecord

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"


@pytest.fixture
async def small(store, settings):
    return await import_file(store, settings.user, SMALL)


async def pending(store, settings, small, n_messages=6):
    spec = role_spec(llm=small.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=n_messages,
                     seed=3)
    return await conv.create(store, settings.user, small, spec)


@pytest.mark.both_stores
async def test_a_second_runner_is_refused_while_the_first_holds_it_then_takes_over(store, settings, small):
    cid = await pending(store, settings, small)
    first = await claim(store, cid, owner="alpha")
    with pytest.raises(LeaseHeld, match=r"is being run by alpha \(epoch 1, lease expires in"):
        await claim(store, cid, owner="beta")
    await first.release()
    second = await claim(store, cid, owner="beta")
    assert second.epoch == 2 and (await store.leases.latest(cid)).owner == "beta"
    await second.release()


@pytest.mark.both_stores
async def test_a_lost_lease_stops_writes(store, settings, small, monkeypatch):
    monkeypatch.setattr(leasing, "VERIFY_EVERY", 0.0)
    cid = await pending(store, settings, small)
    lease = await claim(store, cid, owner="alpha")
    await lease.ensure()  # still ours
    taken = LeaseRecord(cid, 2, "beta", "elsewhere", 1, "", lease.record.claimed_at, lease.record.expires_at)
    assert await store.leases.claim(taken)
    with pytest.raises(LeaseLost, match="lease lost to beta"):
        await lease.ensure()
    assert not await store.leases.claim(taken)  # the same epoch cannot be claimed twice


@pytest.mark.both_stores
async def test_a_dead_local_holder_or_an_expired_lease_is_not_live(store, settings, small):
    cid = await pending(store, settings, small)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lease = await claim(store, cid, owner="ghost")
    record = lease.record
    assert is_live(record)
    assert not is_live(LeaseRecord(**{**vars(record), "pid": int(dead.stdout)}))
    assert is_live(LeaseRecord(**{**vars(record), "host": "another-machine", "pid": int(dead.stdout)}))
    assert not is_live(LeaseRecord(**{**vars(record), "expires_at": record.claimed_at}))
    await lease.release()
    assert not is_live(await store.leases.latest(cid))


def simulator(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


async def assert_whole(store, cid, n: int) -> None:
    """Exactly messages 0..n-1, and runners did not interleave: epochs never go back along the index."""
    messages = await store.messages.list(cid)
    assert [m.index for m in messages] == list(range(n)), cid
    epochs = [m.lease for m in messages]
    assert epochs == sorted(epochs), epochs


async def test_two_batch_resumes_and_two_resumes_at_once_never_double_a_message(store, settings, small, cli_env):
    for trial in range(10):
        plan = role_batch(llms=small.experiment.llms[:1], max_agents={"guard": 1, "prisoner": 1}, n_messages=12,
                          repeats=4, seed=trial)
        planned = await create_batch(store, settings.user, small, plan)
        both = [simulator("batch", "resume", str(planned.id), "--no-record", "--workers", "1", env=cli_env)
                for _ in range(2)]
        single = await pending(store, settings, small, n_messages=12)
        pair = [simulator("resume", str(single), "--no-record", env=cli_env) for _ in range(2)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in both + pair]
        assert all(code == 0 for code, _ in results[:2]), results[:2]
        codes = sorted(code for code, _ in results[2:])
        assert codes[0] == 0, results[2:]
        if codes[1] != 0:  # the loser was told, in one line, who held it or that it was done
            loser = next(err for code, err in results[2:] if code != 0).strip()
            assert len(loser.splitlines()) == 1 and ("is being run by" in loser or "already completed" in loser)
        for cell in (await store.batches.get(planned.id)).cells:
            await assert_whole(store, cell.conversation_id, 12)
            assert (await store.conversations.get(cell.conversation_id)).status.value == "completed"
        await assert_whole(store, single, 12)
