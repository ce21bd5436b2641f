"""Batch workers as Ray actors, spread over a cluster's nodes (`simulator batch ... --ray ADDRESS|auto`).

Ray is an optional extra (`pip install 'llm-interaction-simulator[ray]'`). Each actor runs
the same worker body as a local worker process (simulator/batch/workers.py): it leases cells
from the shared MongoDB, so machines near the model servers share one batch, and a killed
actor's cells are taken over by the others when its lease runs out (at once when it ran on
the starting machine, whose processes can be seen). Actors are placed with Ray's SPREAD
strategy, one per node first; `--endpoints` gives each actor its model server.
"""

from __future__ import annotations

from typing import Any

from simulator.batch.workers import WorkerJob, work
from simulator.errors import ConfigError


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, an optional extra", "pip install 'llm-interaction-simulator[ray]'") from None
    return ray


class RayWorkers:
    """Actors running worker jobs; `running()` and `lost()` as LocalWorkers has them."""

    def __init__(self, jobs: list[WorkerJob], address: str):
        ray = self.ray = _ray()
        if not ray.is_initialized():
            ray.init(address=None if address == "auto" else address, ignore_reinit_error=True,
                     log_to_driver=False, include_dashboard=False, configure_logging=False)

        @ray.remote(max_restarts=0, max_task_retries=0)
        class Worker:
            def run(self, job: WorkerJob) -> str:
                from simulator import aio

                return aio.run(work(job)).owner

            def pid(self) -> int:
                import os

                return os.getpid()

        # num_cpus=0: a worker waits on the network and the database; it must not hold a core to be placed
        self.actors = [Worker.options(scheduling_strategy="SPREAD", num_cpus=0).remote() for _ in jobs]
        self.started_here = address == "auto"
        self.refs = [actor.run.remote(job) for actor, job in zip(self.actors, jobs)]
        self._lost: list[int] | None = None  # known once joined

    def running(self) -> bool:
        done, _ = self.ray.wait(self.refs, num_returns=len(self.refs), timeout=0)
        return len(done) < len(self.refs)

    def lost(self) -> list[int]:
        """Actors that died (killed): the others take their cells over."""
        if self._lost is not None:
            return self._lost
        lost = []
        for i, ref in enumerate(self.refs):
            done, _ = self.ray.wait([ref], timeout=0)
            if done:
                try:
                    self.ray.get(ref)
                except self.ray.exceptions.RayActorError:
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
