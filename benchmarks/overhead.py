"""Per-message overhead of the engine plus persistence, with a zero-latency model.

    .venv/bin/python benchmarks/overhead.py [--messages 500]
"""

from __future__ import annotations

import argparse
import statistics

from _support import bench_store, percentile, timed_conversation

from simulator import aio


async def main(n_messages: int) -> None:
    async with bench_store() as (store, settings, experiment):
        for view in ("last_k", "shared"):
            per_turn = (await timed_conversation(store, settings, experiment, n_messages, view))[1:-1]
            # the first turn (warm-up) and the summary are left out
            print(f"per-message overhead, view {view}, {len(per_turn)} messages (engine + FerretDB, instant model): "
                  f"median {statistics.median(per_turn):.3f} ms, p95 {percentile(per_turn, 0.95):.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    aio.run(main(parser.parse_args().messages))
