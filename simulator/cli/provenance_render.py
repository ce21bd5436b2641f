"""A conversation's provenance and lineage as lines: `simulator provenance` and under `simulator show`."""

from __future__ import annotations

from simulator.actions.forks import describe


def provenance_lines(record: dict, *, calls: bool = False) -> list[str]:
    """The record as a researcher reads it; the same lines `show` prints under a transcript."""
    env = record.get("environment") or {}
    git = env.get("git")
    lines = [f"conversation {record['conversation_id']}"]
    if not env:
        lines.append("no provenance stored: this run was never started, or started before provenance was kept")
    else:
        revision = f"git {git['revision'][:12]}{' (dirty)' if git['dirty'] else ''}" if git else "not from a checkout"
        lines += [f"simulator {env.get('simulator')} · {revision}",
                  f"Python {env.get('python')} ({env.get('implementation')}) on {env.get('platform')}",
                  "packages: " + ", ".join(f"{p['name']} {p['value']}" for p in env.get("packages") or [])]
        lines.append(f"seed {record.get('seed')} · " + "; ".join(
            " ".join(f"{k}={v}" for k, v in llm.items()) for llm in record.get("llms") or []))
        lines.append("prompt sha256: " + ", ".join(f"{p['name']} {p['value'][:12]}"
                                                    for p in record.get("prompt_hashes") or []))
    if record.get("forked_from"):
        lineage = record["forked_from"]
        lines.append(f"forked from {lineage['conversation_id']} at message {lineage['at']}: "
                     f"{describe(lineage.get('changes') or {})}")
    for model in record.get("models") or []:
        lines.append(f"model {model['model']}: digest {', '.join(model['digests']) or 'not reported by its server'}")
    lines.append(f"{len(record.get('calls') or [])} recorded calls")
    if calls:
        for n, call in enumerate(record.get("calls") or []):
            options = " ".join(f"{k}={v}" for k, v in call["options"].items() if k != "json_schema")
            lines.append(f"  {n:4d} {call['model']} {options} request {call['request_hash'][:12]}")
    return lines
