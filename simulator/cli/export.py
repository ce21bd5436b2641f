"""Exports of a conversation: txt (readable), jsonl (a message per line), csv, json (the whole run).

One module for every front end (`simulator export`, the menus), so the files they write agree. The
csv and jsonl rows are ready for an analysis: each carries its run's experiment, protocol, seed,
status and agent counts, the speaker's model and sampling parameters, whether the reply was cut,
and the message's stored scores (`score.<scorer>.<name>`); with summaries, a row per day summary
(`kind` summary). Days count from 1 in every export, as the transcript's "Day 1" does (stored
documents count from 0). A batch or an experiment exports into one file, its runs' rows together.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Mapping

from simulator.actions.browse import Transcript
from simulator.cli.render import transcript_lines
from simulator.core.csv_cells import safe_row

FORMATS = ("txt", "jsonl", "csv", "json")


def _plain(value):
    """ObjectIds and datetimes as JSON reads them."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def message_record(m) -> dict:
    return {"index": m.index, "day": m.day + 1, "speaker": m.speaker, "role": m.role, "content": m.content,
            "raw_content": m.raw_content, "usage": m.usage, "latency": m.latency, "created_at": m.created_at,
            **({"round": m.round} if m.round is not None else {})}


ROW_COLUMNS = ["experiment_id", "experiment_name", "protocol", "conversation_id", "status", "seed", "agent_counts",
               "kind", "day", "round", "index", "speaker", "role", "model", "temperature", "top_k", "top_p",
               "max_tokens", "created_at", "cut", "content", "raw_content", "prompt_tokens", "completion_tokens",
               "latency"]


def analysis_rows(shown: Transcript, scores: Mapping[int, Mapping[str, float]] | None = None,
                  with_summaries: bool = False) -> list[dict]:
    """One flat row per message (and per day summary when asked), with everything an analysis joins on."""
    c = shown.conversation
    counts = c.spec.option("agent_counts") or {}
    run = {"experiment_id": str(c.spec.experiment_id or ""), "experiment_name": c.title, "protocol": c.spec.protocol,
           "conversation_id": str(c.id), "status": c.status.value, "seed": c.spec.seed,
           "agent_counts": ";".join(f"{role}={n}" for role, n in counts.items())}
    llm_of = {a.name: c.spec.llms[a.llm] for a in c.agents if 0 <= a.llm < len(c.spec.llms)}
    rows = []
    for m in shown.messages:
        llm = llm_of.get(m.speaker) or c.spec.llms[0]
        rows.append({**run, "kind": "message", "day": m.day + 1, "round": m.round, "index": m.index,
                     "speaker": m.speaker, "role": m.role, "model": llm.model, "temperature": llm.temperature,
                     "top_k": llm.top_k, "top_p": llm.top_p, "max_tokens": llm.max_tokens,
                     "created_at": _plain(m.created_at), "cut": m.content != m.raw_content, "content": m.content,
                     "raw_content": m.raw_content, "prompt_tokens": m.usage.get("prompt_tokens", 0),
                     "completion_tokens": m.usage.get("completion_tokens", 0), "latency": m.latency,
                     **{f"score.{name}": value for name, value in (scores or {}).get(m.index, {}).items()}})
    if with_summaries:
        rows += [{**run, "kind": "summary", "day": s["day"] + 1, "content": s["content"]} for s in shown.summaries]
    return rows


def render_rows(fmt: str, rows: list[dict]) -> str:
    """Rows of one or many runs as csv (every score column any row has, after the fixed ones) or jsonl."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False, default=_plain) + "\n" for r in rows)
    score_columns = sorted({k for r in rows for k in r if k.startswith("score.")})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ROW_COLUMNS + score_columns)
    for row in rows:  # text cells a spreadsheet would run as formulas get a leading quote (core/csv_cells.py)
        writer.writerow(safe_row(["" if row.get(k) is None else row.get(k) for k in ROW_COLUMNS + score_columns]))
    return out.getvalue()


def run_record(shown: Transcript) -> dict:
    """Configuration and history of a run, as one JSON object."""
    c = shown.conversation
    return {"conversation_id": c.id, "protocol": c.spec.protocol, "title": c.title, "creator": c.creator,
            "status": c.status.value, "created_at": c.created_at, "ending": c.ending, "outcome": dict(c.outcome),
            "usage": c.usage.to_document(), "config": {**c.spec.to_document(), **c.prepared.to_document()},
            "forked_from": c.forked_from, "provenance": dict(c.provenance),  # lineage and provenance (issue 25)
            "messages": [message_record(m) for m in shown.messages],
            "summaries": [{"day": s["day"] + 1, "content": s["content"]} for s in shown.summaries]}


def render_export(fmt: str, shown: Transcript, scores: Mapping[int, Mapping[str, float]] | None = None,
                  with_summaries: bool = False) -> str:
    """The export as text that encodes as UTF-8: a lone surrogate a model sent becomes the escape `\\udXXX`,
    which JSON reads back as the same character (txt already shows it escaped)."""
    text = render_rows(fmt, analysis_rows(shown, scores, with_summaries)) if fmt in ("csv", "jsonl") \
        else _render(fmt, shown)
    return utf8(text)


def utf8(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if SURROGATE.search(text) else text


SURROGATE = re.compile("[\ud800-\udfff]")


def _render(fmt: str, shown: Transcript) -> str:
    if fmt == "json":
        return json.dumps(run_record(shown), ensure_ascii=False, indent=2, default=_plain) + "\n"
    return "\n".join(transcript_lines(shown)) + "\n"
