"""Exports of a conversation: txt (readable), jsonl (a message per line), csv, json (the whole run).

One module for every front end (`simulator export`, the menus), so the files they write agree.
"""

from __future__ import annotations

import csv
import io
import json

from simulator.actions.browse import Transcript
from simulator.cli.render import transcript_lines

FORMATS = ("txt", "jsonl", "csv", "json")


def _plain(value):
    """ObjectIds and datetimes as JSON reads them."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def message_record(m) -> dict:
    return {"index": m.index, "day": m.day, "speaker": m.speaker, "role": m.role, "content": m.content,
            "raw_content": m.raw_content, "usage": m.usage, "latency": m.latency, "created_at": m.created_at,
            **({"round": m.round} if m.round is not None else {})}


def run_record(shown: Transcript) -> dict:
    """Configuration and history of a run, as one JSON object."""
    c = shown.conversation
    return {"conversation_id": c.id, "protocol": c.spec.protocol, "title": c.title, "creator": c.creator,
            "status": c.status.value, "created_at": c.created_at, "ending": c.ending, "outcome": dict(c.outcome),
            "usage": c.usage.to_document(), "config": {**c.spec.to_document(), **c.prepared.to_document()},
            "messages": [message_record(m) for m in shown.messages],
            "summaries": [{"day": s["day"], "content": s["content"]} for s in shown.summaries]}


def render_export(fmt: str, shown: Transcript) -> str:
    conversation, messages, summaries = shown.conversation, shown.messages, shown.summaries
    cid = str(conversation.id)
    if fmt == "json":
        return json.dumps(run_record(shown), ensure_ascii=False, indent=2, default=_plain) + "\n"
    if fmt == "jsonl":
        lines = [json.dumps({"conversation_id": cid, **message_record(m)}, ensure_ascii=False, default=_plain)
                 for m in messages]
        lines += [json.dumps({"conversation_id": cid, "summary_of_day": s["day"], "content": s["content"]},
                             ensure_ascii=False) for s in summaries]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["conversation_id", "index", "day", "speaker", "role", "content", "raw_content",
                         "prompt_tokens", "completion_tokens", "latency"])
        for m in messages:
            writer.writerow([cid, m.index, m.day, m.speaker, m.role, m.content, m.raw_content,
                             m.usage.get("prompt_tokens", 0), m.usage.get("completion_tokens", 0), m.latency])
        return out.getvalue()
    return "\n".join(transcript_lines(shown)) + "\n"
