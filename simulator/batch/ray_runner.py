"""Batch workers as Ray actors, spread over a cluster's nodes (`simulator batch ... --ray ADDRESS|auto`).

Ray is an optional extra (`pip install 'llm-interaction-simulator[ray]'`). Each actor runs
the same worker body as a local worker process (simulator/batch/workers.py): it leases cells
from the shared MongoDB, so machines near the model servers share one batch, and a killed
actor's cells are taken over by the others when its lease runs out (at once when it ran on
the starting machine, whose processes can be seen). Actors are placed on the live nodes in
turn, by node affinity, so every node works (Ray's SPREAD strategy and a soft affinity both put
actors that ask for no CPU wherever they liked: all four on one node of two, in tests); an actor
whose node is lost before it starts is lost like any other. Each records its node's address in
its worker document
(`simulator batch workers ID`); `--endpoints` gives each actor its model server.

What travels over the network: the WorkerJob (the database's address and name, the model servers,
the batch id, concurrency and retry limits) to each actor, without a password or an API key
(simulator/batch/node_secrets.py: each actor takes those from its own node's environment), and
the actor's owner id back. Every message and count goes through MongoDB.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import replace
from typing import Any

from simulator.batch.node_secrets import with_node_secrets, without_secrets
from simulator.batch.workers import WorkerJob, work
from simulator.errors import ConfigError
from simulator.logs import get_logger

log = get_logger("batch.ray")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, an optional extra", "pip install 'llm-interaction-simulator[ray]'") from None
    return ray


def local_node_address(address: str) -> str | None:
    """The node address this process must join as when the cluster runs on this machine's loopback
    range (`scripts/services.py ray up`: the head at 127.0.0.2): Ray otherwise looks for a raylet at
    the machine's own address and finds none. None for any other address (Ray finds the node)."""
    host = address.rsplit(":", 1)[0]
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def check_reachable(address: str, resume: str, timeout: float = 3.0) -> None:
    """One line at once when nothing listens at a `HOST:PORT` address: Ray itself would retry for
    minutes (measured: still waiting after 200 s)."""
    host, _, port = address.rpartition(":")
    if not host or "://" in address or not port.isdigit():
        return  # `auto`, a ray:// client address: Ray's own checks
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"no Ray cluster answers at {address} ({exc.strerror or exc})",
                          "start one (`ray start --head` on its first machine, or scripts/services.py ray up "
                          f"here), then `{resume}`") from None


def connect(ray: Any, address: str, resume: str = "simulator batch resume BATCH_ID") -> None:
    if ray.is_initialized():
        return
    check_reachable(address, resume)
    options: dict[str, Any] = {}
    if address != "auto" and local_node_address(address):
        options["_node_ip_address"] = local_node_address(address)
    try:
        ray.init(address=None if address == "auto" else address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False, configure_logging=False, **options)
    except ray.exceptions.AuthenticationError:
        raise ConfigError(f"the Ray cluster at {address} wants its token",
                          "export RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH (or RAY_AUTH_TOKEN) as the cluster's "
                          "nodes have them; scripts/services.py ray up prints them") from None
    except ConnectionError:  # something answered at the address (check_reachable) but would not let us in
        raise ConfigError(f"the Ray cluster at {address} refused this connection",
                          "a cluster with token authentication (scripts/services.py ray up starts one) needs "
                          "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN exported as its nodes have "
                          "them; the same Ray version must run everywhere") from None


def placements(ray: Any, count: int) -> list[Any]:
    """A scheduling strategy per actor: the live nodes in turn, by address (one node: Ray's SPREAD)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = sorted((n for n in ray.nodes() if n.get("Alive")), key=lambda n: n["NodeManagerAddress"])
    if len(nodes) < 2:
        return ["SPREAD"] * count
    return [NodeAffinitySchedulingStrategy(nodes[i % len(nodes)]["NodeID"], soft=False) for i in range(count)]


class RayWorkers:
    """Actors running worker jobs; `running()` and `lost()` as LocalWorkers has them."""

    def __init__(self, jobs: list[WorkerJob], address: str):
        ray = self.ray = _ray()
        connect(ray, address, f"simulator batch resume {jobs[0].batch_id}")

        @ray.remote(max_restarts=0, max_task_retries=0)
        class Worker:
            def run(self, job: WorkerJob) -> str:
                import ray as ray_here

                from simulator import aio
                from simulator.config import load_settings

                settings = with_node_secrets(job.settings, load_settings())
                return aio.run(work(replace(job, settings=settings, node=ray_here.util.get_node_ip_address()))).owner

            def pid(self) -> int:
                import os

                return os.getpid()

        # num_cpus=0: a worker waits on the network and the database; it must not hold a core to be placed
        self.actors = [Worker.options(scheduling_strategy=strategy, num_cpus=0).remote()
                       for strategy in placements(ray, len(jobs))]
        self.started_here = address == "auto"
        self.refs = [actor.run.remote(replace(job, settings=without_secrets(job.settings)))
                     for actor, job in zip(self.actors, jobs)]
        self._lost: list[int] | None = None  # known once joined

    def running(self) -> bool:
        done, _ = self.ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        return len(done) < len(self.refs)

    def lost(self) -> list[int]:
        """Actors that died (killed, their node lost) or failed (their node's settings refused, say): the
        others take their cells over; why an actor failed is in the log."""
        if self._lost is not None:
            return self._lost
        lost = []
        for i, ref in enumerate(self.refs):
            done, _ = self.ray.wait([ref], timeout=0)
            if done:
                try:
                    self.ray.get(ref)
                except self.ray.exceptions.RayActorError:  # ActorDiedError, ActorUnavailableError (node lost)
                    lost.append(i + 1)
                except self.ray.exceptions.RayError as exc:
                    log.warning("Ray actor %d failed: %s", i + 1, str(exc).strip().splitlines()[-1][:300])
                    lost.append(i + 1)
        return lost

    def interrupt(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref)

    def join(self, timeout: float = 60.0) -> None:
        self.ray.wait(self.refs, num_returns=len(self.refs), timeout=timeout)
        self._lost = self.lost()
        if self.started_here:
            self.ray.shutdown()
