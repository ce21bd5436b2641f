"""How long each import takes for 10,000 messages (the target: under 10 s), and a second import of the same.

Writes the inputs in a temporary folder (backrooms logs in the new format, chatroom log2_*.json files,
a mongodump of the original simulator's database with 2-day conversations of 1 guard v 2 prisoners),
imports each into a fresh database (MONGODB_URI, else a private FerretDB on PostgreSQL), then imports
it again (everything skipped), and prints wall seconds and messages per second. The time includes
reading, checking and mapping every file or document; the legacy figure also its experiments.

    .venv/bin/python benchmarks/imports.py [--messages 10000] [--per-conversation 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import bson
from bson import ObjectId

from _support import bench_store

from simulator import aio
from simulator.actions.imports import backrooms, chatroom, legacy, legacy_source

TEXT = "The corridor bends again; the lights hum, the carpet is damp and the exit sign points back the way we came."


def backrooms_logs(folder: Path, conversations: int, per: int) -> None:
    for c in range(conversations):
        turns = "".join(f"\n### Claude {i % 2 + 1} ###\n{TEXT} ({c}.{i})\n" for i in range(per))
        (folder / f"opus_opus_cli_20240101_{c // 60:04d}{c % 60:02d}.txt").write_text(turns, encoding="utf-8")


def chatroom_logs(folder: Path, conversations: int, per: int) -> None:
    for c in range(conversations):
        history = [{"content": "Hello!", "model": "given", "seed": None}] + [
            {"content": f"{TEXT} ({c}.{i})", "model": "qwen:0.5b-chat" if i % 2 else "tinydolphin:1.1b", "seed": i}
            for i in range(per)]
        data = {"config": {"max_iterations": per, "max_memory": 10, "models": ["qwen:0.5b-chat", "tinydolphin:1.1b"],
                           "system_prompts": ["", ""]}, "chat_history": history}
        (folder / f"log2_2024_01_01_00_{c // 60:02d}_{c % 60:02d}.json").write_text(json.dumps(data), encoding="utf-8")


def legacy_dump(folder: Path, conversations: int, per: int) -> None:
    """The original's schema: 10 conversations an experiment, 2 days each, the Researcher opening each day."""
    llm = {"model": "llama3:latest", "temperature": 0.7, "top_k": 40, "top_p": 0.9}
    docs: dict[str, list[dict]] = {"experiments": [], "conversations": [], "messages": []}
    speakers = [("Guard_123", "Guard"), ("Prisoner_456", "Prisoner"), ("Prisoner_789", "Prisoner")]
    for e in range(max(1, conversations // 10)):
        ids_of_experiment = []
        for c in range(10):
            ids, opener = [], "Morning in the yard: <GUARD_NUM> <GUARD_NOUN>."
            for day in (1, 2):
                for index in range(per // 2 + 1):
                    speaker, role = ("Researcher", "Researcher") if index == 0 else speakers[index % 3]
                    message = {"_id": ObjectId(), "index": index, "day": day, "role": role, "speaker": speaker,
                               "content": opener if index == 0 else f"{TEXT} ({e}.{c}.{day}.{index})"}
                    docs["messages"].append(message)
                    ids.append(message["_id"])
                opener += f"\nDay {day} summary:\n The yard was calm on day {day}."
            conversation = {"_id": ObjectId(), "n_messages": per, "days": 2, "speaker_selection_method": "round_robin",
                            "starting_message": "Morning.", "llm": llm,
                            "agent_combination": [["guard", 1], ["prisoner", 2]], "creator": "bench",
                            "favourite": False, "creation_date": datetime(2024, 5, 1, tzinfo=timezone.utc),
                            "messages_ids": ids}
            docs["conversations"].append(conversation)
            ids_of_experiment.append(conversation["_id"])
        docs["experiments"].append({
            "_id": ObjectId(), "starting_message": "Morning: <GUARD_NUM> <GUARD_NOUN>.", "llms": [llm],
            "roles": [{"name": "guard", "sections": [{"index": 0, "title": "Starting prompt", "content": "A guard."}]},
                      {"name": "prisoner", "sections": [{"index": 0, "title": "Starting prompt",
                                                         "content": "A prisoner."}]}],
            "shared_sections": [], "summarizer_sections": [{"index": 0, "title": "Summary", "content": "Summarize."}],
            "note": "", "favourite": False, "creator": "bench", "conversation_ids": ids_of_experiment,
            "creation_date": datetime(2024, 4, 1, tzinfo=timezone.utc)})
    for name, documents in docs.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))


async def timed(store, kind: str, folder: Path) -> tuple[float, object]:
    start = time.perf_counter()
    if kind == "legacy":
        report = await legacy.import_plan(store, legacy.plan(legacy_source.read_dump(folder)))
    else:
        report = await (backrooms if kind == "backrooms" else chatroom).import_logs(store, "bench", folder)
    return time.perf_counter() - start, report


async def main(messages: int, per: int) -> None:
    conversations = max(1, messages // per)
    writers = {"backrooms": backrooms_logs, "chatroom": chatroom_logs, "legacy": legacy_dump}
    print(f"{'import':10} {'conversations':>13} {'messages':>9} {'first s':>8} {'msg/s':>8} {'again s':>8}")
    for kind, write in writers.items():
        with tempfile.TemporaryDirectory(prefix=f"sim-bench-{kind}-") as tmp:
            write(Path(tmp), conversations, per)
            async with bench_store() as (store, _settings, _experiment):
                first, report = await timed(store, kind, Path(tmp))
                again, repeat = await timed(store, kind, Path(tmp))
            assert report.stored and not repeat.stored and not report.refused, (report, repeat)
            print(f"{kind:10} {report.stored:>13} {report.messages:>9} {first:>8.2f} {report.messages / first:>8.0f} "
                  f"{again:>8.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--per-conversation", type=int, default=100)
    arguments = parser.parse_args()
    aio.run(main(arguments.messages, arguments.per_conversation))
