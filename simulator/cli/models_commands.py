"""`simulator models ...`: what models are available, and one reply from one of them."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from simulator.cli.progress import PullProgressBar
from simulator.cli.render import shown
from simulator.cli.values import ATTEMPTS, SEED, TIMEOUT, number, whole
from simulator.config import DEFAULT_OPENAI_BASE_URL, Settings, describe_url
from simulator.llm.factory import CallMode, ModelSettings, build_chat_model
from simulator.llm.retry import RetryPolicy
from simulator.llm.types import ChatOptions


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="model commands")
    sub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="models on the configured Ollama; whether OpenAI is configured")
    listing.set_defaults(handler=list_command)
    chat = sub.add_parser("chat", help="print one reply with its tokens and latency")
    chat.add_argument("model", help="model spec, e.g. ollama/sim-tiny or openai/gpt-4o-mini")
    chat.add_argument("text", help="the user message")
    chat.add_argument("--system", help="a system prompt")
    chat.add_argument("--temperature", type=number(0, 2), help="0 to 2")
    chat.add_argument("--top-p", type=number(0, 1, low_open=True), help="more than 0, at most 1")
    chat.add_argument("--top-k", type=whole(1, 1000), help="1 to 1000")
    chat.add_argument("--seed", type=SEED, help="0 to 2147483647")
    chat.add_argument("--max-tokens", type=whole(1, 100_000), help="1 to 100000")
    chat.add_argument("--attempts", type=ATTEMPTS, default=3, help="tries before giving up (1 to 100, default 3)")
    chat.add_argument("--timeout", type=TIMEOUT, default=60.0, help="seconds per try (more than 0; default 60)")
    chat.set_defaults(handler=chat_command)


async def list_command(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.llm.ollama_provider import OllamaChatModel  # the ollama package only when a command talks to it

    console = Console()
    models = await OllamaChatModel("", settings.ollama_host).list_models()
    table = Table(title=f"Ollama at {shown(describe_url(settings.ollama_host))}")
    for column in ("spec", "size", "parameters", "digest"):
        table.add_column(column)
    for model in models:
        table.add_row(shown(f"ollama/{model['name']}"), f"{model['size'] / 1e6:.1f} MB", shown(model["parameters"] or ""),
                      (model["digest"] or "")[:12])
    console.print(table)
    if settings.openai_api_key or settings.openai_base_url:
        key = "API key set" if settings.openai_api_key else "no API key"
        console.print(f"OpenAI: configured ({shown(describe_url(settings.openai_base_url or DEFAULT_OPENAI_BASE_URL))}, "
                      f"{key})")
    else:
        console.print("OpenAI: not configured (set OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible server)")
    return 0


async def chat_command(args: argparse.Namespace, settings: Settings) -> int:
    progress = PullProgressBar(args.model)
    options = ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout), mode=CallMode.LIVE,
                            on_pull=progress)
    model = build_chat_model(args.model, settings, options)
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
        {"role": "user", "content": args.text}]
    try:
        reply = await model.chat(messages, ChatOptions(temperature=args.temperature, top_p=args.top_p,
                                                       top_k=args.top_k, seed=args.seed, max_tokens=args.max_tokens))
    finally:
        progress.close()
    print(reply.text.strip())
    Console(stderr=True).print(
        f"[dim]{model.spec}: {reply.prompt_tokens} prompt + {reply.completion_tokens} completion tokens, "
        f"{reply.latency * 1000:.0f} ms[/dim]")
    return 0
