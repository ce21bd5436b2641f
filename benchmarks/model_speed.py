"""Prompt-processing and generation speed of the local models, in tokens per second.

    python benchmarks/model_speed.py [--baseline PATH_TO_OTHER_OLLAMA]

Sends prison-sized prompts (about 200, 400 and 800 tokens, each opening with different
text so no cached prefix is reused) and reads Ollama's own counters (prompt_eval_count
and _duration, eval_count and _duration). With --baseline, a second private server runs
another Ollama build on the same prompts in the same run, and the ratio is printed: that
is how the vector-instruction build was compared with the old `-O2 -g` one. smollm2:135m is
also measured on the project's llama.cpp server (the same GGUF; its own `timings` counters), so
the two local servers are compared in one run.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import aiohttp
import ollama

from _support import ROOT, bench_llamacpp, bench_ollama

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


async def measure_llamacpp(url: str) -> tuple[float, float, int, int]:
    """The same 9 calls on llama-server's OpenAI API, read from the `timings` it adds to each answer."""
    prompt_tokens = prompt_ms = gen_tokens = gen_ms = 0.0
    async with aiohttp.ClientSession() as session:
        for number, words in ((0, 20), *enumerate((150, 300, 600) * 3, start=1)):
            body = {"model": "smollm2:135m", "messages": prompt(number, words), "max_tokens": 64 if number else 4,
                    "temperature": 0, "seed": number, "cache_prompt": False}
            async with session.post(f"{url}/chat/completions", json=body) as response:
                timings = (await response.json())["timings"]
            if number:  # the first call only loads
                prompt_tokens += timings["prompt_n"]
                prompt_ms += timings["prompt_ms"]
                gen_tokens += timings["predicted_n"]
                gen_ms += timings["predicted_ms"]
    return prompt_tokens / (prompt_ms / 1e3), gen_tokens / (gen_ms / 1e3), int(prompt_tokens), int(gen_tokens)


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
    with bench_llamacpp() as url:
        llamacpp = asyncio.run(measure_llamacpp(url))
    for label, figures in results.items():
        for model, (pp, tg, n_prompt, n_gen) in figures.items():
            print(f"{label:>12} {model:14} prompt processing {pp:7.1f} tokens/s ({n_prompt} tokens), "
                  f"generation {tg:6.1f} tokens/s ({n_gen} tokens)")
    pp, tg, n_prompt, n_gen = llamacpp
    ollama_pp, ollama_tg = results["this build"]["smollm2:135m"][:2]
    print(f"{'llama.cpp':>12} {'smollm2:135m':14} prompt processing {pp:7.1f} tokens/s ({n_prompt} tokens), "
          f"generation {tg:6.1f} tokens/s ({n_gen} tokens); {pp / ollama_pp:.2f}x and {tg / ollama_tg:.2f}x Ollama")
    if args.baseline:
        print(f"baseline: {args.baseline}")
        this, base = results["this build"], results["baseline"]
        for model in MODELS:
            print(f"{model}: prompt processing {this[model][0] / base[model][0]:.2f}x, "
                  f"generation {this[model][1] / base[model][1]:.2f}x the baseline")


if __name__ == "__main__":
    main()
