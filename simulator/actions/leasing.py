"""Holding a conversation while it runs: claim a lease, renew it by heartbeat, stop when it is lost.

Any number of runners (processes, machines, Ray actors) may work on the same batch: a runner
claims a conversation before running it (simulator/store/leases.py: the claim is an atomic
insert of the next epoch), and renews the lease every third of its length, checking that no
newer epoch exists; once one does, or once it could not renew before the lease ran out, it
stops before writing another message. No one may claim a live lease before it expires, so
between renewals a write needs no read of its own: `ensure` asks the database only when the
last check is older than VERIFY_EVERY (a third of the lease, a margin for clocks that
disagree between machines), which the heartbeat normally prevents (profiled: that read
before every write was a third of the store's work per model call). The unique (conversation, index) of
messages makes the one write that may race a takeover harmless: the second writer adopts the
stored message. A lease is live until it expires or is released, or, when its holder ran on
this machine, until that process is gone (so a kill -9 here is taken over at once; elsewhere
after LEASE_SECONDS).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bson import ObjectId
from pymongo.errors import PyMongoError

from simulator.errors import SimulatorError
from simulator.logs import get_logger
from simulator.store import Store
from simulator.store.leases import LeaseRecord

log = get_logger("leasing")

LEASE_SECONDS = float(os.environ.get("SIM_LEASE_SECONDS") or 30.0)
VERIFY_EVERY = LEASE_SECONDS / 3  # a write checks for a newer epoch itself when the last check is older


class LeaseHeld(SimulatorError):
    """Another live runner holds the conversation."""


class LeaseLost(SimulatorError):
    """This runner's lease was taken over (or could not be renewed in time): it must stop writing."""


HOST = socket.gethostname()


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def now() -> datetime:
    return datetime.now(timezone.utc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def is_live(record: LeaseRecord | None, at: datetime | None = None) -> bool:
    if record is None or record.released or record.expires_at <= (at or now()):
        return False
    return record.host != HOST or _pid_alive(record.pid)


def describe_holder(record: LeaseRecord) -> str:
    left = max(0.0, (record.expires_at - now()).total_seconds())
    return f"{record.owner} (epoch {record.epoch}, lease expires in {left:.0f} s)"


class Lease:
    """A claimed conversation: renewed in the background, checked before every write."""

    def __init__(self, store: Store, record: LeaseRecord, seconds: float = LEASE_SECONDS):
        self.store, self.record, self.seconds = store, record, seconds
        self.lost_to: str | None = None
        self.valid_until = time.monotonic() + seconds
        self.verified = time.monotonic()
        self._heartbeat: asyncio.Task | None = None

    @property
    def epoch(self) -> int:
        return self.record.epoch

    def start(self) -> "Lease":
        self._heartbeat = asyncio.create_task(self._beat())
        return self

    async def _beat(self) -> None:
        while self.lost_to is None:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.renew()
            except PyMongoError as exc:  # the database is away: ensure() stops writes once the lease runs out
                log.info("lease of %s not renewed: %s", self.record.conversation_id, str(exc)[:200])

    async def renew(self) -> None:
        await self._verify()
        if self.lost_to is None:
            expires = now() + timedelta(seconds=self.seconds)
            await self.store.leases.renew(self.record, expires)
            self.record = replace(self.record, expires_at=expires)
            self.valid_until = time.monotonic() + self.seconds

    async def _verify(self) -> None:
        latest = await self.store.leases.latest(self.record.conversation_id)
        self.verified = time.monotonic()
        if latest is not None and latest.epoch != self.record.epoch:
            self.lost_to = latest.owner

    async def held_in_store(self) -> bool:
        """Whether no newer lease exists, asked of the database (after an outage the local clock says
        nothing: no runner could take over without claiming a newer epoch)."""
        await self._verify()
        return self.lost_to is None

    async def ensure(self) -> None:
        """Raise LeaseLost unless this runner still holds the conversation; called before every write."""
        if self.lost_to is None and time.monotonic() >= self.valid_until:
            self.lost_to = "nobody (the lease ran out before it could be renewed)"
        elif self.lost_to is None and time.monotonic() - self.verified >= VERIFY_EVERY:
            await self._verify()
        if self.lost_to is not None:
            raise LeaseLost(f"conversation {self.record.conversation_id}: lease lost to {self.lost_to}; "
                            f"stopped before writing")

    async def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self.lost_to is None:
            await self.store.leases.release(self.record)


async def claim(store: Store, conversation_id: ObjectId, *, owner: str, run: str = "",
                wait: bool = False, seconds: float = LEASE_SECONDS) -> Lease:
    """Hold the conversation; LeaseHeld while another live runner does (or wait for it to expire)."""
    while True:
        latest = await store.leases.latest(conversation_id)
        if latest is not None and latest.owner != owner and is_live(latest):
            if not wait:
                raise LeaseHeld(f"conversation {conversation_id} is being run by {describe_holder(latest)}",
                                "wait for it to finish, or use --force to take over once its lease has expired")
            await asyncio.sleep(min(1.0, max(0.05, (latest.expires_at - now()).total_seconds())))
            continue
        at = now()
        record = LeaseRecord(conversation_id=conversation_id, epoch=(latest.epoch if latest else 0) + 1, owner=owner,
                             host=HOST, pid=os.getpid(), run=run, claimed_at=at,
                             expires_at=at + timedelta(seconds=seconds))
        if await store.leases.claim(record):
            return Lease(store, record, seconds).start()
        # another runner claimed this epoch a moment earlier: look again (it is live now)
