"""Imports of other tools' records: the backrooms study's logs, the chatroom study's logs, the original
simulator's database. Parsing is tested as plain functions; storing, idempotence, the convergence verdict,
`analyze experiment` over imported runs and hostile folders against the test server.

Log formats are the studies' (scottviteri/UniversalBackrooms and forks: BackroomsLogs/*.txt; the
self-replicating-prompts chatroom: log2_*.json from Room.to_disk; mobs-fbk/llm_interaction_simulator:
src/components/* to_document); the contents below are written here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import bson
import pytest
from bson import ObjectId

from simulator.actions.analysis import analyse_experiment
from simulator.actions.imports import backrooms, chatroom, legacy, legacy_source
from simulator.errors import ValidationError

OLD_FORMAT = """
Claude 1:
ls -al

Claude 2:
total 42
drwxr-xr-x  2 root root  4096 Jun 13 23:59 .

Claude 1:
cat notes.txt

Example:
a line that looks like a header

Claude 2:
Step 1:
think

Claude 1:
That is enough for today. ^C^C

Claude 1 has ended the conversation with ^C^C.
"""

NEW_FORMAT = """### Backrooms Run ###
Template: dreamsim3
Models: k2, gpt5
Started: 2025-09-06T15:49:00+00:00

### Round 1/2

### Kimi 1 ###
./dreamsim.exe "a whale hotel"
--- Reasoning Summary (logs only) ---
the other model never saw this

### GPT 2 ###
[Rendering dream space...]

### Round 2/2

### Kimi 1 ###
> look around

### GPT 2 ###
A warm, dark corridor.
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- backrooms, plain ----------------------------------------------------------------------------------

def test_old_format_log_keeps_participants_as_written_and_header_like_lines_as_text():
    log = backrooms.parse_log(OLD_FORMAT, "opus_opus_cli_20241018_131801.txt")
    assert (log.models, log.template, log.header) == (("opus", "opus"), "cli", "Name:")
    assert log.started == datetime(2024, 10, 18, 13, 18, 1, tzinfo=timezone.utc)
    assert log.participants == ("Claude 1", "Claude 2")
    assert [t.speaker for t in log.turns] == ["Claude 1", "Claude 2", "Claude 1", "Claude 2", "Claude 1"]
    assert log.turns[2].content == "cat notes.txt\n\nExample:\na line that looks like a header"
    assert log.turns[3].content == "Step 1:\nthink"
    assert log.ended_by == "Claude 1" and log.turns[-1].content == "That is enough for today. ^C^C"


def test_new_format_log_with_a_forks_run_block_rounds_and_reasoning():
    log = backrooms.parse_log(NEW_FORMAT, "logs/k2_gpt5_dreamsim3_20250906_154900.txt")
    assert (log.models, log.template, log.header, log.ended_by) == (("k2", "gpt5"), "dreamsim3", "### Name ###", None)
    assert [(t.speaker, t.round) for t in log.turns] == [("Kimi 1", 0), ("GPT 2", 0), ("Kimi 1", 1), ("GPT 2", 1)]
    assert log.turns[0].content == './dreamsim.exe "a whale hotel"'
    assert "never saw this" in log.turns[0].raw


def test_a_template_name_with_underscores_keeps_them():
    log = backrooms.parse_log("### Claude 1 ###\nhi\n\n### Claude 2 ###\nhello\n",
                              "sonnet_opus_student_teacher_20240901_101010.txt")
    assert (log.models, log.template) == (("sonnet", "opus"), "student_teacher")


@pytest.mark.parametrize("name, text, problem", [
    ("notes.txt", "### A ###\nhi\n", "not named"),
    ("a_b_cli_20241399_000000.txt", "### A ###\nhi\n", "not a date"),
    ("a_b_cli_20241018_131801.txt", "hello\n### A ###\nhi\n", "text before the first speaker header"),
    ("a_b_cli_20241018_131801.txt", "just text, no headers\n", "text before"),
    ("a_b_cli_20241018_131801.txt", "### A\x1b[2J ###\nhi\n", "control"),
])
def test_a_malformed_log_is_one_line_naming_it(name, text, problem):
    with pytest.raises(ValidationError, match=problem) as caught:
        backrooms.parse_log(text, name)
    assert caught.value.one_line().startswith(name)


# --- chatroom, plain ------------------------------------------------------------------------------------

def room_log(contents: list[tuple[str, str]], models=("qwen:0.5b-chat", "tinydolphin:1.1b"), max_iterations=100):
    return {"config": {"max_iterations": max_iterations, "max_memory": 10, "models": list(models),
                       "system_prompts": [""] * len(models)},
            "chat_history": [{"content": text, "model": model, "seed": None if model == "given" else i}
                             for i, (model, text) in enumerate(contents)]}


def test_chatroom_log_given_prompts_are_the_initial_prompts_and_models_map_to_participants():
    log = chatroom.parse_log(room_log([("given", "Hi"), ("tinydolphin:1.1b", "Hello"), ("qwen:0.5b-chat", "LOL")]),
                             "log2_2024_05_01_10_00_00.json")
    assert log.initial == ("Hi",) and log.turns == ((1, "Hello"), (0, "LOL")) and log.seeds == (1, 2)
    assert log.system_prompts == () and log.started == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("data, problem", [
    ({"config": 3}, "expected"),
    (room_log([("someone else", "x")]), "not in config.models"),
    (room_log([("qwen:0.5b-chat", "x"), ("given", "late")]), "after the participants started"),
    (room_log([("given", "only prompts")]), "no message from the participants"),
    ({**room_log([("qwen:0.5b-chat", "x")]), "config": {"models": [], "max_iterations": 5}}, "config.models"),
])
def test_a_chatroom_log_of_another_shape_is_refused(data, problem):
    with pytest.raises(ValidationError, match=problem):
        chatroom.parse_log(data, "log2_x.json")


def test_the_rooms_verdict_is_the_live_runs():
    converged = chatroom.parse_log(room_log([("given", "Hi"), ("qwen:0.5b-chat", "Hello"),
                                             ("tinydolphin:1.1b", "LOL"), ("qwen:0.5b-chat", "LOL"),
                                             ("qwen:0.5b-chat", "LOL")]), "log2_a.json")
    document, messages = chatroom.conversation_document(converged, "log2_a.json", "00" * 32, "alice")
    assert document["outcome"] == {"converged": True, "period": 1, "repeating": ["LOL"] * 3, "at_message": 3}
    assert document["stop_reason"] == "converged on a self-replicating cycle of period 1"
    assert [m.speaker for m in messages] == ["lm1", "lm2", "lm1", "lm1"]
    open_ended = chatroom.parse_log(room_log([("qwen:0.5b-chat", "a"), ("qwen:0.5b-chat", "b")], max_iterations=5),
                                    "log2_b.json")
    document, _ = chatroom.conversation_document(open_ended, "log2_b.json", "11" * 32, "alice")
    assert document["outcome"] == {"converged": False}
    assert document["stop_reason"] == "imported: 2 messages, no self-replicating cycle"


# --- the original simulator's database, plain ---------------------------------------------------------

def llm() -> dict:
    return {"model": "llama3:latest", "temperature": 0.7, "top_k": 40, "top_p": 0.9}


def original_database(experiments: int = 2, conversations: int = 2) -> dict[str, list[dict]]:
    """Documents in the original's schema: each experiment's conversations are 1 guard v 2 prisoners over 2
    days; every day opens with the Researcher's message, day 2's carrying day 1's summary."""
    docs: dict[str, list[dict]] = {"experiments": [], "conversations": [], "messages": []}
    for e in range(experiments):
        conversation_ids = []
        for c in range(conversations):
            cid, ids, opener = ObjectId(), [], f"Morning {e}.{c}: <AGENTS_NUM> people, <GUARD_NUM> <GUARD_NOUN>."
            for day in (1, 2):
                speakers = [("Researcher", "Researcher"), ("Guard_123", "Guard"), ("Prisoner_456", "Prisoner"),
                            ("Prisoner_789", "Prisoner")]
                for index, (speaker, role) in enumerate(speakers):
                    message = {"_id": ObjectId(), "index": index, "day": day, "role": role, "speaker": speaker,
                               "content": opener if index == 0 else f"day {day}: {speaker} speaks"}
                    docs["messages"].append(message)
                    ids.append(message["_id"])
                opener += f"\nDay {day} summary:\n The yard was calm on day {day}."
            docs["conversations"].append({
                "_id": cid, "n_messages": 8, "days": 2, "speaker_selection_method": "round_robin",
                "starting_message": "Morning.", "llm": llm(), "agent_combination": [["guard", 1], ["prisoner", 2]],
                "creator": "bob", "favourite": c == 0, "creation_date": datetime(2024, 5, 1, tzinfo=timezone.utc),
                "messages_ids": ids})
            conversation_ids.append(cid)
        docs["experiments"].append({
            "_id": ObjectId(), "starting_message": "Morning in the yard: <GUARD_NUM> <GUARD_NOUN>.",
            "llms": [llm()],
            "roles": [{"name": "guard", "numerical_name": True, "placeholders": ["<GUARD_NOUN>"], "sections": [
                          {"index": 0, "title": "Starting prompt", "content": "You are a guard; <GUARD_PRON> watches."},
                          {"index": 2, "title": "Goal", "content": "Keep <GUARD_POSSPRON> yard calm."}]},
                      {"name": "prisoner", "numerical_name": True, "placeholders": [], "sections": [
                          {"index": 0, "title": "Starting prompt", "content": "You are a prisoner."}]}],
            "shared_sections": [{"index": 1, "title": "Setting", "content": "<AGENTS_NUM> people, <ROLES_NUM> roles."}],
            "summarizer_sections": [{"index": 0, "title": "Summary", "content": "Summarize the day."}],
            "placeholders": ["<AGENTS_NUM>", "<ROLES_NUM>"], "note": f"experiment {e}", "favourite": False,
            "creator": "bob", "conversation_ids": conversation_ids,
            "creation_date": datetime(2024, 4, 1, tzinfo=timezone.utc)})
    return docs


def write_dump(folder: Path, docs: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in docs.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return folder


def test_original_documents_map_to_experiments_conversations_messages_and_summaries():
    mapped = legacy.plan(legacy_source.LegacyData("dump", **original_database(1, 1)))
    experiment = mapped.experiments[0]
    assert experiment["starting_message"] == "Morning in the yard: {{ guard.num }} {{ guard.noun }}."
    assert experiment["roles"][0]["prompt"] == ("You are a guard; {{ guard.they }} watches.\n\n"
                                                "## Goal\nKeep {{ guard.their }} yard calm.")
    assert experiment["sections"] == [{"title": "Setting", "shared": True,
                                       "content": "{{ agents.num }} people, {{ roles.num }} roles."}]
    conversation = mapped.conversations[0]
    document = conversation.document
    assert document["options"]["agent_counts"] == {"guard": 1, "prisoner": 2}
    assert document["options"]["days"] == 2 and document["n_messages"] == 6
    assert document["starting_message"].startswith("Morning 0.0: <AGENTS_NUM> people")  # what the agents read
    assert [(m.index, m.day, m.role, m.speaker) for m in conversation.messages][:4] == [
        (0, 0, "guard", "Guard_123"), (1, 0, "prisoner", "Prisoner_456"), (2, 0, "prisoner", "Prisoner_789"),
        (3, 1, "guard", "Guard_123")]
    assert conversation.summaries == {0: "The yard was calm on day 1."}  # day 2's summary was never shown
    assert len(document["imported_from"]["message_ids"]) == 6


@pytest.mark.parametrize("damage, problem", [
    (lambda d: d["messages"][1].update(day="1"), "day must be int"),
    (lambda d: d["conversations"][0].update(agent_combination=[["warden", 1]]), "role 'warden'"),
    (lambda d: d["conversations"][0]["messages_ids"].append(ObjectId()), "not a message the source holds"),
    (lambda d: d["experiments"][0]["llms"][0].update(temperature="hot"), "must be numbers"),
    (lambda d: d["experiments"][0].update(starting_message="<WARDEN_NOUN> arrives"), "unknown tag"),
    (lambda d: d["experiments"][0]["roles"][0].update(name="agent"), "cannot be a role name"),
])
def test_a_document_of_the_wrong_shape_refuses_the_whole_source_in_one_line(damage, problem):
    docs = original_database(1, 1)
    damage(docs)
    with pytest.raises(ValidationError, match=problem) as caught:
        legacy.plan(legacy_source.LegacyData("dump", **docs))
    assert "\n" not in caught.value.one_line()


def test_a_dump_missing_a_collection_or_not_bson_is_refused(tmp_path):
    folder = write_dump(tmp_path / "dump", original_database(1, 1))
    (folder / "messages.bson").write_bytes(b"\x10\x00\x00\x00garbage")
    with pytest.raises(ValidationError, match="messages.bson: not a BSON dump"):
        legacy_source.read_dump(folder)
    (folder / "messages.bson").unlink()
    with pytest.raises(ValidationError, match="no messages.bson"):
        legacy_source.read_dump(folder)


# --- against the server ---------------------------------------------------------------------------------

def simulator(cli_env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=cli_env, capture_output=True, text=True,
                          timeout=300)


async def test_backrooms_logs_of_both_formats_are_stored_once_and_a_bad_one_refused(store, settings, tmp_path):
    write(tmp_path / "logs", "opus_opus_cli_20241018_131801.txt", OLD_FORMAT)
    write(tmp_path / "logs" / "fork", "k2_gpt5_dreamsim3_20250906_154900.txt", NEW_FORMAT)
    write(tmp_path / "logs", "opus_opus_cli_20241018_131802.txt", b"\xff\xfe not utf-8")
    first = await backrooms.import_logs(store, settings.user, tmp_path / "logs")
    assert (first.found, first.stored, first.skipped, first.messages) == (3, 2, 0, 9)
    assert first.refused == ["opus_opus_cli_20241018_131802.txt: not UTF-8 text (byte 0xff at offset 0)"]
    again = await backrooms.import_logs(store, settings.user, tmp_path / "logs")
    assert (again.stored, again.skipped, again.messages) == (0, 2, 0)
    old = await store.conversations.get(first.ids[1])  # sorted by path: fork/... first
    assert old.prepared.title == "Backrooms: cli (imported)"
    assert [a.name for a in old.agents] == ["Claude 1", "Claude 2"]
    assert old.outcome == {"ended_with_stop": True, "stopped_by": "Claude 1"}
    assert old.stop_reason == "stop keyword '^C^C' said by Claude 1"
    new = await store.conversations.get(first.ids[0])
    assert [(m.speaker, m.round) for m in await store.messages.list(new.id)] == [
        ("Kimi 1", 0), ("GPT 2", 0), ("Kimi 1", 1), ("GPT 2", 1)]
    assert new.outcome["ended_with_stop"] is False


async def test_chatroom_logs_converged_and_not_are_stored_with_their_verdict(store, settings, tmp_path):
    import json

    write(tmp_path / "logs", "log2_2024_05_01_10_00_00.json", json.dumps(room_log(
        [("given", "Hi"), ("qwen:0.5b-chat", "Hello"), ("tinydolphin:1.1b", "Repeat after me: LOL"),
         ("qwen:0.5b-chat", "Repeat after me: LOL"), ("tinydolphin:1.1b", "Repeat after me: LOL")])))
    write(tmp_path / "logs", "log2_2024_05_01_11_00_00.json", json.dumps(room_log(
        [("given", "Hi"), ("qwen:0.5b-chat", "one"), ("tinydolphin:1.1b", "two")], max_iterations=2)))
    first = await chatroom.import_logs(store, settings.user, tmp_path / "logs")
    assert (first.stored, first.messages, first.refused) == (2, 6, [])
    again = await chatroom.import_logs(store, settings.user, tmp_path / "logs")
    assert (again.stored, again.skipped) == (0, 2)
    converged, open_ended = [await store.conversations.get(cid) for cid in first.ids]
    assert converged.outcome["converged"] is True and converged.outcome["period"] == 1
    assert converged.spec.option("initial_prompts") == ["Hi"]
    assert open_ended.outcome == {"converged": False} and open_ended.stop_reason == "message budget reached (2)"


async def test_a_legacy_dump_imported_twice_stores_once_and_analyses_like_native_runs(cli_env, store, tmp_path):
    docs = original_database(2, 2)
    folder = write_dump(tmp_path / "dump", docs)
    first = simulator(cli_env, "import", "legacy", str(folder))
    assert first.returncode == 0, first.stderr
    assert "4 original conversations found: 4 stored, 0 skipped (already stored), 0 refused; 24 messages" \
        in first.stdout
    again = simulator(cli_env, "import", "legacy", str(folder))
    assert "0 stored, 4 skipped" in again.stdout and "0 messages added" in again.stdout
    assert len(await store.experiments.list()) == 2
    experiment = next(e for e in await store.experiments.list() if e["note"] == "experiment 0")
    analysis = await analyse_experiment(store, str(experiment["_id"]))
    assert len(analysis.data.conversations) == 2 and len(analysis.data.messages) == 12
    assert set(analysis.data.messages["role"]) == {"guard", "prisoner"}
    conversation = await store.conversations.get(analysis.data.conversations["conversation_id"].map(ObjectId)[0])
    assert [s["content"] for s in await store.summaries.list(conversation.id)] == ["The yard was calm on day 1."]


async def test_a_legacy_database_on_a_server_is_read_and_one_missing_a_collection_refused(store, settings):
    source = store.client[f"{settings.db_name}_original"]
    try:
        experiment = original_database(1, 0)["experiments"][0]
        await source.experiments.insert_one(experiment)
        await source.create_collection("conversations")
        uri = settings.mongodb_uri
        with pytest.raises(ValidationError, match="no messages collection"):
            await legacy_source.read_database(uri, source.name, settings)
        await source.create_collection("messages")
        data = await legacy_source.read_database(uri, source.name, settings)
        report = await legacy.import_plan(store, legacy.plan(data))
        assert report.notes[0] == "1 experiments" and len(await store.experiments.list()) == 1
        with pytest.raises(ValidationError, match="this project's own database"):
            await legacy_source.read_database(uri, settings.db_name, settings)
    finally:
        await store.client.drop_database(source.name)


@pytest.mark.parametrize("command", ["backrooms", "chatroom", "legacy"])
async def test_hostile_folders_are_refused_in_one_line_with_nothing_stored(command, cli_env, store, tmp_path):
    folder = tmp_path / "in"
    outside = write(tmp_path / "elsewhere", "secret.txt", "not yours")
    args = ["import", "legacy", str(folder)] if command == "legacy" else [command, "import", str(folder)]
    if command == "legacy":
        write_dump(folder, original_database(1, 1))
        (folder / "messages.bson").unlink()
        os.symlink(outside, folder / "messages.bson")
    else:
        write(folder, "ok_ok_cli_20241018_131801.txt" if command == "backrooms" else "log2_a.json", "x")
        os.symlink(outside, folder / ("link_link_cli_20241018_131801.txt" if command == "backrooms" else "log2_b.json"))
    linked = simulator(cli_env, *args)
    assert linked.returncode == 1 and "symbolic link" in linked.stderr and linked.stderr.count("\n") == 1
    (folder / ("messages.bson" if command == "legacy" else
               "link_link_cli_20241018_131801.txt" if command == "backrooms" else "log2_b.json")).unlink()
    huge = folder / ("messages.bson" if command == "legacy" else
                     "big_big_cli_20241018_131801.txt" if command == "backrooms" else "log2_big.json")
    with huge.open("wb") as sparse:  # over the limit without writing it: a sparse file
        sparse.truncate(legacy_source.MAX_DUMP_BYTES + 1 if command == "legacy" else
                        backrooms.MAX_LOG_BYTES + 1 if command == "backrooms" else chatroom.MAX_LOG_BYTES + 1)
    too_big = simulator(cli_env, *args)
    assert too_big.returncode == 1 and "file too large" in too_big.stderr
    assert await store.conversations.find() == [] and await store.experiments.list() == []
