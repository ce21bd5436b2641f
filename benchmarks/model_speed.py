"""Prompt-processing and generation speed of the local models, in tokens per second.

    python benchmarks/model_speed.py [--baseline PATH_TO_OTHER_OLLAMA]

Sends prison-sized prompts (about 200, 400 and 800 tokens, each opening with different
text so no cached prefix is reused) and reads Ollama's own counters (prompt_eval_count
and _duration, eval_count and _duration). With --baseline, a second private server runs
another Ollama build on the same prompts in the same run, and the ratio is printed: that
is how the vector-instruction build was compared with the old `-O2 -g` one.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import ollama

from _support import ROOT, bench_ollama

MODELS = ("smollm2:135m", "sim-tiny")
CORPUS = (ROOT / "scripts" / "corpus.txt").read_text(encoding="utf-8").split()


def prompt(number: int, words: int) -> list[dict[str, str]]:
    start = (number * 97) % max(1, len(CORPUS) - words)
    text = " ".join(CORPUS[start:start + words])
    return [{"role": "system", "content": f"Log entry {number}. You are a guard at Blackmoor prison."},
            {"role": "user", "content": f"{text}\n\nWhat do you say to the prisoner?"}]


async def measure(host: str, model: str) -> tuple[float, float, int, int]:
    """(prompt tokens/s, generated tokens/s, prompt tokens, generated tokens) over 9 calls."""
    client = ollama.AsyncClient(host=host)
    await client.chat(model=model, messages=prompt(0, 20), options={"num_predict": 4})  # load it
    prompt_tokens = prompt_ns = gen_tokens = gen_ns = 0
    for number, words in enumerate((150, 300, 600) * 3, start=1):
        reply = await client.chat(model=model, messages=prompt(number, words),
                                  options={"num_predict": 64, "temperature": 0, "seed": number})
        prompt_tokens += reply.prompt_eval_count or 0
        prompt_ns += reply.prompt_eval_duration or 0
        gen_tokens += reply.eval_count or 0
        gen_ns += reply.eval_duration or 0
    return prompt_tokens / (prompt_ns / 1e9), gen_tokens / (gen_ns / 1e9), prompt_tokens, gen_tokens


async def measure_build(host: str) -> dict[str, tuple[float, float, int, int]]:
    return {model: await measure(host, model) for model in MODELS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another ollama binary to compare with, in the same run")
    args = parser.parse_args()
    builds = {"this build": None, **({"baseline": args.baseline} if args.baseline else {})}
    results = {}
    for label, binary in builds.items():
        with bench_ollama(binary) as host:
            results[label] = asyncio.run(measure_build(host))
    for label, figures in results.items():
        for model, (pp, tg, n_prompt, n_gen) in figures.items():
            print(f"{label:>12} {model:14} prompt processing {pp:7.1f} tokens/s ({n_prompt} tokens), "
                  f"generation {tg:6.1f} tokens/s ({n_gen} tokens)")
    if args.baseline:
        print(f"baseline: {args.baseline}")
        this, base = results["this build"], results["baseline"]
        for model in MODELS:
            print(f"{model}: prompt processing {this[model][0] / base[model][0]:.2f}x, "
                  f"generation {this[model][1] / base[model][1]:.2f}x the baseline")


if __name__ == "__main__":
    main()
