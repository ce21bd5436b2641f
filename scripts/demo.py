#!/usr/bin/env python3
"""The main job `make demo` runs against the services `make services` started."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import ollama


def step(title: str, argv: list[str]) -> None:
    print(f"\n$ {' '.join(argv)}", flush=True)
    result = subprocess.run(argv, check=False)
    if result.returncode != 0:
        sys.exit(f"demo: `{title}` failed (exit {result.returncode})")


async def one_reply(host: str) -> None:
    client = ollama.AsyncClient(host=host)
    started = time.perf_counter()
    response = await client.chat(
        model="sim-tiny",
        messages=[{"role": "system", "content": "You are Guard_117, a prison guard."},
                  {"role": "user", "content": "Prisoner_204: Good morning, guard. Is it yard time?"}],
        options={"temperature": 0.8, "seed": 42},
    )
    elapsed = time.perf_counter() - started
    print(f"\nsim-tiny (Ollama at {host}) replied in {elapsed * 1000:.0f} ms "
          f"({response.prompt_eval_count} prompt + {response.eval_count} completion tokens):")
    print(f"  Guard_117: {response.message.content.strip()}")


def main() -> None:
    step("db ping", [os.path.join(os.path.dirname(sys.executable), "simulator"), "db", "ping"])
    asyncio.run(one_reply(os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")))


if __name__ == "__main__":
    main()
