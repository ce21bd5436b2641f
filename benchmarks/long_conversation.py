"""Does a message cost more late in a long conversation? Message ~1000 versus message ~10.

One 1,000-message conversation with the full shared transcript (the heaviest view) and a
zero-latency model, so the cost is the engine's and the database's.

    .venv/bin/python benchmarks/long_conversation.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import statistics

from _support import bench_store, timed_conversation

from simulator import aio


async def main(n_messages: int) -> None:
    async with bench_store() as (store, settings, experiment):
        turns = (await timed_conversation(store, settings, experiment, n_messages, "shared"))[:n_messages]
        early = statistics.median(turns[1:21])
        late = statistics.median(turns[n_messages - 20:n_messages])
        print(f"message ~10: {early:.3f} ms; message ~{n_messages}: {late:.3f} ms; "
              f"ratio {late / early:.2f}x (median of messages 1-20 and of the last 20)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    aio.run(main(parser.parse_args().messages))
