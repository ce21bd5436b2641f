"""A fork's condition as people read it, from the `changes` its lineage stores: what the CLI, the explorer
and the analyses group forks by."""

from __future__ import annotations

from typing import Any, Mapping


def describe_changes(changes: Mapping[str, Any]) -> str:
    """A stored `changes` document in one line: `llm=guard=ollama/x temperature=1`, or `same conditions`."""
    parts = [f"{k}={v}" for k, v in changes.items() if k not in ("role_prompts", "seed")]
    parts += [f"prompt[{p['role']}]={p['source']}" for p in changes.get("role_prompts") or ()]
    return " ".join(parts) or "same conditions"
