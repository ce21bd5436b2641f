"""Per-message overhead of the engine plus persistence, with a zero-latency model.

    .venv/bin/python benchmarks/overhead.py [--messages 500]
"""

from __future__ import annotations

import argparse
import statistics

from _support import InstantModel, TurnClock, bench_store, percentile

from simulator import aio
from simulator.actions import conversations
from simulator.llm.factory import ModelSettings


async def main(n_messages: int) -> None:
    async with bench_store() as (store, settings, experiment):
        for view in ("last_k", "shared"):
            request = conversations.ConversationRequest(llm=experiment.experiment.llms[0],
                                                        agent_counts={"guard": 1, "prisoner": 1},
                                                        n_messages=n_messages, view=view, last_k=10, seed=1)
            cid = await conversations.create(store, settings.user, experiment, request)
            options = ModelSettings()
            clock = TurnClock()
            await conversations.run(store, settings, cid, options, model=InstantModel(options.meter),
                                    observer=clock)
            per_turn = clock.durations_ms()[1:-1]  # drop the first turn (warm-up) and the summary
            print(f"per-message overhead, view {view}, {len(per_turn)} messages (engine + FerretDB, instant model): "
                  f"median {statistics.median(per_turn):.3f} ms, p95 {percentile(per_turn, 0.95):.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    aio.run(main(parser.parse_args().messages))
