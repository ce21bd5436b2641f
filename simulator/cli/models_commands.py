"""`simulator models ...`: what models are available, and one reply from one of them."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from simulator.cli.progress import PullProgressBar
from simulator.cli.render import shown
from simulator.cli.values import ATTEMPTS, SEED, TIMEOUT, number, whole
from simulator.config import Settings, describe_url
from simulator.core.model_spec import parse_spec
from simulator.errors import ConfigError, ModelError
from simulator.llm import providers
from simulator.llm.factory import CallMode, ModelSettings, build_chat_model
from simulator.llm.retry import RetryPolicy
from simulator.llm.types import ChatOptions, ModelCallError, Reply


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="model commands")
    sub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="every endpoint (API, URL, key set or not) and the models it serves")
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
    chat.add_argument("--logprobs", type=whole(0, 20), metavar="N",
                      help="print each token's log-probability and its N best alternatives (0 to 20)")
    chat.add_argument("--attempts", type=ATTEMPTS, default=3, help="tries before giving up (1 to 100, default 3)")
    chat.add_argument("--timeout", type=TIMEOUT, default=60.0, help="seconds per try (more than 0; default 60)")
    chat.set_defaults(handler=chat_command)


async def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Each endpoint from the registry and the settings, with the models it lists where it can be asked."""
    console = Console()
    table = Table(title="Endpoints (model specs are ENDPOINT/MODEL)")
    for column in ("endpoint", "API", "URL", "key", "models"):
        table.add_column(column, overflow="fold")
    for endpoint in providers.endpoints(settings).values():
        provider = providers.get(endpoint.api)
        key = "-" if not endpoint.key_env else (f"{endpoint.key_env} set" if endpoint.key else f"{endpoint.key_env} unset")
        table.add_row(shown(endpoint.name), endpoint.api, shown(describe_url(endpoint.url)), key,
                      shown(await _models(provider, endpoint)))
    console.print(table)
    return 0


async def _models(provider: providers.Provider, endpoint: providers.Endpoint) -> str:
    """What the endpoint lists, or why it could not be asked (no key at the provider's own server, not running)."""
    try:
        provider.check(endpoint, endpoint.name)
    except ConfigError:
        return "(not configured)"
    try:
        names = await provider.list_models(endpoint)
    except ModelError as exc:
        return f"(not reachable: {exc.cause if isinstance(exc, ModelCallError) else exc.message})"
    return ", ".join(f"{endpoint.name}/{name}" for name in names) if names else "(lists none)"


async def chat_command(args: argparse.Namespace, settings: Settings) -> int:
    progress = PullProgressBar(args.model)
    options = ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout), mode=CallMode.LIVE,
                            on_pull=progress)
    model = build_chat_model(args.model, settings, options)
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
        {"role": "user", "content": args.text}]
    if args.logprobs is not None:
        _refuse_without_logprobs(args.model, settings)
    try:
        reply = await model.chat(messages, ChatOptions(temperature=args.temperature, top_p=args.top_p,
                                                       top_k=args.top_k, seed=args.seed, max_tokens=args.max_tokens,
                                                       logprobs=args.logprobs))
    finally:
        progress.close()
    print(reply.text.strip())
    if args.logprobs is not None:
        _print_logprobs(reply)
    Console(stderr=True).print(
        f"[dim]{model.spec}: {reply.prompt_tokens} prompt + {reply.completion_tokens} completion tokens, "
        f"{reply.latency * 1000:.0f} ms[/dim]")
    return 0


def _refuse_without_logprobs(spec_text: str, settings: Settings) -> None:
    spec = parse_spec(settings.model_aliases.get(spec_text, spec_text))
    provider, endpoint = providers.resolve(spec, settings)
    if not provider.capabilities.logprobs:
        raise ConfigError(f"{spec}: the {provider.title} gives no log-probabilities",
                          "use an endpoint that does: llamacpp/..., openai/..., or a vLLM endpoint")


def _print_logprobs(reply: Reply) -> None:
    if reply.logprobs is None:
        print("(the server sent no log-probabilities)")
        return
    for token in reply.logprobs:
        alternatives = "  ".join(f"{t!r} {lp:.3f}" for t, lp in token.top)
        print(f"{token.token!r:>16} {token.logprob:8.3f}   {alternatives}")
