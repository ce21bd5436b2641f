"""Hardening, round three (issue 24): one section per finding, each case checking that a refused input
wrote nothing, and further cases of the same class beside the one reported.

Commands run in this process (`cli`), not one subprocess each, so the whole file stays fast; only the
SIGTERM case needs a process of its own."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bson import ObjectId, json_util
from pymongo import MongoClient

from simulator.store import schema
from simulator.store.storable import decode

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "tests" / "data" / "small_prison.yaml")
RUN = ("run", SMALL, "--agents", "guard=1,prisoner=1", "--messages", "2", "--attempts", "1", "--timeout", "20")


# --- helpers -------------------------------------------------------------------------------------

def cli(*argv: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    """`simulator ARGV` in this process, with `env` as its whole environment: (exit code, stdout, stderr).
    Run in a thread with a deadline, so a read that never ends fails the test instead of hanging it."""
    from simulator.cli.main import main

    out, err, result = io.StringIO(), io.StringIO(), []
    saved = dict(os.environ)

    def target() -> None:
        try:
            result.append(main(list(argv)))
        except SystemExit as exc:  # argparse refusing a flag
            result.append(exc.code)

    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            thread.join(timeout)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not thread.is_alive(), f"simulator {' '.join(argv)} still running after {timeout} s"
    return int(result[0] or 0), out.getvalue(), err.getvalue()


def one_line_error(code: int, err: str) -> str:
    """The one line a refused input gives: non-zero exit, no traceback, no catch-all."""
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, (code, err)
    assert "unexpected error" not in err and "Traceback" not in err and "cannot reach MongoDB" not in err, err
    return lines[0]


@pytest.fixture
def db(settings):
    client = MongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=5000)
    yield client[settings.db_name]
    client.drop_database(settings.db_name)
    client.close()


def everything(db) -> str:
    """Every document of every collection, as one text to compare before and after."""
    return json_util.dumps([list(db[name].find()) for name in schema.COLLECTIONS])


def refused_and_nothing_written(db, env: dict, *argv: str) -> str:
    before = everything(db)
    code, _, err = cli(*argv, env=env)
    line = one_line_error(code, err)
    assert everything(db) == before, f"{argv} wrote something"
    return line


class ShapedServer:
    """An Ollama server whose chat answer is the JSON body given (a reply of any shape), or that hangs."""

    def __init__(self, body: bytes | None = None, *, hang: float = 0.0):
        self.body, self.hang = body, hang
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(json.dumps({"models": [{"name": "shaped:latest", "model": "shaped:latest",
                                                   "digest": "sha256:abc", "size": 1}]}).encode())

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(server.hang)
                self._send(server.body or b"{}")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def ollama_answer(content, prompt=3, completion=2) -> bytes:
    """An Ollama /api/chat answer; numbers are written as given (10**30 stays an integer of 31 digits)."""
    message = json.dumps({"role": "assistant", "content": content})
    return (f'{{"model": "shaped", "done": true, "message": {message}, "prompt_eval_count": {prompt}, '
            f'"eval_count": {completion}}}').encode()


def shaped_run(db, cli_env, body: bytes, **extra_env) -> tuple[int, str, dict, list[dict]]:
    server = ShapedServer(body)
    try:
        code, _, err = cli(*RUN, "--llm", "ollama/shaped", env={**cli_env, "OLLAMA_HOST": server.url, **extra_env})
    finally:
        server.close()
    conversation = decode(db.conversations.find_one())  # as the store reads it back (simulator/store/storable.py)
    return code, err, conversation, decode(list(db.messages.find({"conversation_id": conversation["_id"]}).sort("index")))


# --- 1. telephone import: identity by content, never outside the folder -------------------------------

def published(root: Path, generations: list[str], *, model="GPT-4o", text_id="t1", seed="0",
              initial="Once upon a time.") -> Path:
    folder = root / "Results" / model / "rephrase" / text_id / f"seed_{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"initial_story": initial, "prompt_init": ["Rephrase this."], "prompt_update": ["Again."],
            "stories": [[g] for g in generations]}
    file = folder / "output0.json"
    file.write_text(json.dumps(data))
    return file


async def chains(store) -> dict[str, list[str]]:
    found = {}
    for doc in await store.db.conversations.find({"protocol": "telephone"}).to_list():
        found[str(doc["_id"])] = [m.content for m in await store.messages.list(doc["_id"])]  # read back decoded
        assert len(found[str(doc["_id"])]) == doc["n_messages"], "a chain grew past its document's count"
    return found


async def test_a_second_tree_at_the_same_path_is_another_chain_and_never_appends(store, settings, tmp_path):
    from simulator.actions.telephone import import_chains

    published(tmp_path / "a", ["one", "two"])
    published(tmp_path / "b", [f"gen {i}" for i in range(50)])
    first = await import_chains(store, settings.user, tmp_path / "a")
    second = await import_chains(store, settings.user, tmp_path / "b")
    assert (second.stored, second.already, second.messages) == (1, 0, 50) and first.ids != second.ids
    stored = await chains(store)
    assert sorted(len(texts) for texts in stored.values()) == [2, 50]
    assert stored[str(first.ids[0])] == ["one", "two"]


async def test_a_changed_file_is_a_new_chain_and_the_same_file_again_stores_nothing(store, settings, tmp_path):
    from simulator.actions.telephone import import_chains

    file = published(tmp_path, ["one", "two"])
    await import_chains(store, settings.user, tmp_path)
    again = await import_chains(store, settings.user, tmp_path)
    assert (again.stored, again.already, again.messages) == (0, 1, 0)
    file.write_text(file.read_text().replace("two", "TWO"))
    changed = await import_chains(store, settings.user, tmp_path)
    assert (changed.stored, changed.messages) == (1, 2)
    assert sorted(map(tuple, (await chains(store)).values())) == [("one", "TWO"), ("one", "two")]


async def test_a_chain_imported_before_digests_is_completed_not_doubled(store, settings, tmp_path):
    from simulator.actions.telephone import chain_id, import_chains, read_chain
    from simulator.store import Message

    file = published(tmp_path, ["one", "two", "three"])
    chain = read_chain(file, "GPT-4o/rephrase/t1/seed_0/output0.json")
    legacy = chain_id(chain.relative)  # as the earlier import named it, cut off after one message
    await store.conversations.create_once({**chain.spec.to_document(), **chain.prepared.to_document(), "_id": legacy,
                                           "creator": "alice", "status": "completed", "runs": 0})
    await store.messages.append_many([Message(conversation_id=legacy, index=0, day=0, role="generation",
                                              speaker="GPT-4o", content="one", raw_content="one")])
    report = await import_chains(store, settings.user, tmp_path)
    assert (report.stored, report.already, report.messages, report.ids) == (0, 1, 2, [legacy])


@pytest.mark.parametrize("case", ["two-files-one-path", "link-out", "linked-folder", "link-in", "seed-200-digits",
                                  "seed-arabic", "deep-json", "huge-number", "40-MB-story", "stories-not-text",
                                  "not-utf8", "fifo"])
async def test_a_bad_tree_is_refused_whole_and_stores_nothing(store, settings, tmp_path, case):
    from simulator.actions.telephone import import_chains
    from simulator.errors import ValidationError

    root = tmp_path / "tree"
    published(root, ["fine"], text_id="good")
    outside = published(tmp_path / "elsewhere", ["secret"])
    folder = root / "Results" / "GPT-4o" / "rephrase"
    if case == "two-files-one-path":
        published(root / "copy", ["other"], text_id="good")
    elif case == "link-out":
        (folder / "x" / "seed_0").mkdir(parents=True)
        (folder / "x" / "seed_0" / "output0.json").symlink_to(outside)
    elif case == "linked-folder":
        (folder / "y").symlink_to(outside.parent.parent)
    elif case == "link-in":
        (folder / "z").symlink_to(folder / "good")
    elif case in ("seed-200-digits", "seed-arabic"):
        published(root, ["x"], text_id="s", seed="9" * 200 if case == "seed-200-digits" else "٣")
    elif case == "deep-json":
        (published(root, ["x"], text_id="d")).write_text('{"stories": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif case == "huge-number":
        (published(root, ["x"], text_id="n")).write_text('{"initial_story": "a", "stories": [[1' + "0" * 10_000 + "]]}")
    elif case == "40-MB-story":
        published(root, ["x" * 40_000_000], text_id="big")
    elif case == "stories-not-text":
        (published(root, ["x"], text_id="w")).write_text(json.dumps({"initial_story": "a", "stories": [[{"a": 1}]]}))
    elif case == "not-utf8":
        (published(root, ["x"], text_id="u")).write_bytes(b'{"initial_story": "\xff"}')
    else:
        fifo = folder / "f" / "seed_0"
        fifo.mkdir(parents=True)
        os.mkfifo(fifo / "output0.json")
    with pytest.raises(ValidationError):
        await import_chains(store, settings.user, root)
    assert await store.db.conversations.count_documents({}) == 0 and await store.db.messages.count_documents({}) == 0


async def test_text_the_database_cannot_hold_as_is_is_imported_faithfully_and_again_without_error(
        store, settings, tmp_path):
    from simulator.actions.telephone import import_chains

    stories = ["nul \x00 here", "lone \ud800 surrogate", "escape \uffff0000 lookalike", "$where"]
    published(tmp_path, stories, model="$where")
    assert (await import_chains(store, settings.user, tmp_path)).messages == 4
    assert list((await chains(store)).values()) == [stories]
    again = await import_chains(store, settings.user, tmp_path)
    assert (again.stored, again.already, again.messages) == (0, 1, 0)


# --- 2. every file through the one bounded reader ---------------------------------------------------

@pytest.fixture
def judged(cli_env, db):
    """An experiment with one completed run, so a judge gets as far as reading its rubric."""
    code, _, err = cli(*RUN, "--llm", "ollama/sim-tiny", env=cli_env)
    assert code == 0, err
    return "Small prison"


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "folder"])
@pytest.mark.parametrize("door", ["label import", "label judge --rubric", "score --rubric", "telephone --texts",
                                  "backrooms --template-file"])
def test_every_file_door_refuses_endless_or_blocking_files_at_once(tmp_path, cli_env, db, request, source, door):
    judged = request.getfixturevalue("judged") if "rubric" in door else "Small prison"
    path = Path(source)
    if source == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)
    elif source == "folder":
        path = tmp_path / "folder.yaml"
        path.mkdir()
    argv = {"label import": ("label", "import", str(path), "--annotator", "bob"),
            "label judge --rubric": ("label", "judge", judged, "--rubric", str(path), "--model", "ollama/sim-tiny"),
            "score --rubric": ("score", judged, "--scorer", "judge", "--rubric", str(path), "--model",
                               "ollama/sim-tiny"),
            "telephone --texts": ("telephone", "--llm", "ollama/sim-tiny", "--texts", str(path)),
            "backrooms --template-file": ("backrooms", "--lm", "ollama/sim-tiny", "ollama/sim-tiny",
                                          "--template-file", str(path))}[door]
    started = time.monotonic()
    line = refused_and_nothing_written(db, cli_env, *argv)
    assert time.monotonic() - started < 10 and "not a regular file" in line, line


# --- 3. NUL and other characters the store cannot hold as they are -----------------------------------

@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "lone \udfff end", "\uffff", "\uffffnan", "\uffff0000",
                                   "\uffffint:12", float("nan"), float("inf"), float("-inf"), 2**70, -(2**80),
                                   {"k": ["x\x00", {"n": float("nan")}]}])
async def test_any_value_is_stored_and_read_back_as_it_was(store, value):
    from simulator.store.scrubbed import ScrubbedCollection

    collection = ScrubbedCollection(store.db["probe"])
    await collection.insert_one({"_id": 1, "v": value, "list": [value]})
    found = await collection.find_one({"v": value})  # a filter with the same value finds it
    back = (await collection.find({"_id": 1}).to_list())[0]
    for doc in (found, back):
        assert json_util.dumps(doc["v"]) == json_util.dumps(value) and json_util.dumps(doc["list"]) == json_util.dumps(
            [value])


async def test_a_write_the_database_refuses_is_named_as_such(store):
    from simulator.store.scrubbed import StoreRefused

    with pytest.raises(StoreRefused, match="refused to store a document in conversations: it is larger than"):
        await store.conversations.create_once({"_id": ObjectId(), "big": "x" * 17_000_000})
    with pytest.raises(StoreRefused, match=r"refused to store a document in conversations: .*\$where"):
        await store.conversations.create_once({"_id": ObjectId(), "extras": {"$where": 1}})
    assert await store.db.conversations.count_documents({}) == 0


def test_a_reply_with_nul_completes_and_shows_as_an_escape(cli_env, db):
    code, err, conversation, messages = shaped_run(db, cli_env, ollama_answer("yes\x00no \ud83d"))
    assert code == 0 and conversation["status"] == "completed", err
    assert [m["raw_content"] for m in messages] == ["yes\x00no \ud83d"] * 2
    code, shown, err = cli("export", str(conversation["_id"]), "--format", "txt", env=cli_env)
    assert code == 0, err
    assert "\\x00" in shown and "\x00" not in shown and "\\ud83d" in shown and "\ud83d" not in shown
    code, lines, err = cli("export", str(conversation["_id"]), "--format", "jsonl", env=cli_env)
    assert code == 0 and json.loads(lines.splitlines()[0])["raw_content"] == "yes\x00no \ud83d", err


def test_a_backrooms_template_with_nul_runs(tmp_path, cli_env, db):
    template = tmp_path / "nul.jsonl"
    line = json.dumps({"system_prompt": "You are \u0000 {lm1_actor}.", "context": [{"role": "user", "content": "hi"}]})
    template.write_text(line + "\n" + line + "\n")
    server = ShapedServer(ollama_answer("fine"))
    try:
        code, _, err = cli("backrooms", "--lm", "ollama/shaped", "ollama/shaped", "--template-file", str(template),
                           "--max-turns", "1", env={**cli_env, "OLLAMA_HOST": server.url})
    finally:
        server.close()
    assert code == 0, err
    assert db.conversations.find_one()["status"] == "completed"


# --- 4. model replies of any shape -----------------------------------------------------------------

@pytest.mark.parametrize("prompt, completion, counted", [
    ("1" + "0" * 30, "2", (100_000_000, 2)), ("-400", "-1", (0, 0)), ("1e400", "3", (100_000_000, 3)),
    ('"abc"', "null", (0, 0)), ("2.5", "[1, 2]", (0, 0)), ("true", "7", (0, 7)), ("NaN", "1", (0, 1)),
])
def test_absurd_token_counts_are_sanitised_and_kept_raw(cli_env, db, prompt, completion, counted):
    code, err, conversation, messages = shaped_run(db, cli_env, ollama_answer("ok", prompt, completion))
    assert code == 0 and conversation["status"] == "completed", err
    usage = messages[0]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == counted and "raw_usage" in usage
    recorded = decode(db.model_calls.find_one()["reply"])
    assert recorded["raw_usage"] is not None and (recorded["prompt_tokens"], recorded["completion_tokens"]) == counted


@pytest.mark.parametrize("content", ["x" * 5_000_000, 42, ["a", {"b": 1}], None])
def test_replies_of_any_size_or_type_are_bounded_and_stored(cli_env, db, content):
    code, err, conversation, messages = shaped_run(db, cli_env, ollama_answer(content), SIM_MAX_REPLY_CHARS="2000")
    assert conversation["status"] in ("completed", "failed") and "unexpected error" not in err, err
    assert all(len(m["raw_content"]) <= 2000 for m in messages)
    if isinstance(content, str):
        assert code == 0 and messages[0]["usage"]["cut_from"] == 5_000_000


async def test_a_run_that_fails_for_any_reason_is_marked_failed_with_it(store, settings):
    from simulator.actions import conversations as conv
    from simulator.actions.experiments import import_file
    from simulator.llm.factory import ModelSettings
    from simulator.protocols.roles import role_spec

    class Broken:
        spec, endpoint = "scripted/broken", "scripted"

        async def chat(self, messages, options):
            raise RuntimeError("a bug")

    small = await import_file(store, "alice", Path(SMALL))
    cid = await conv.create(store, "alice", small, role_spec(llm=small.experiment.llms[0],
                                                             agent_counts={"guard": 1, "prisoner": 1}, n_messages=2))
    with pytest.raises(RuntimeError):
        await conv.run(store, settings, cid, ModelSettings(), model=Broken())
    stored = await store.conversations.get(cid)
    assert stored.status.value == "failed" and "RuntimeError" in (stored.stop_reason or "") + str(stored.error or "")


def test_sigterm_marks_a_run_stopped_like_ctrl_c(cli_env, db):
    server = ShapedServer(ollama_answer("slow"), hang=30)
    try:
        process = subprocess.Popen([sys.executable, "-m", "simulator", *RUN, "--llm", "ollama/shaped"],
                                   env={**cli_env, "OLLAMA_HOST": server.url}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not db.conversations.find_one({"status": "running"}):
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        server.close()
    assert process.returncode == 143 and "terminated" in err, err
    assert db.conversations.find_one()["status"] == "stopped"


# --- 5. one parser for every number and URL ----------------------------------------------------------

@pytest.mark.parametrize("argv", [
    RUN[:2] + ("--agents", "guard=٢,prisoner=1", "--messages", "2"),
    ("batch", SMALL, "--max-agents", "guard=٣,prisoner=1", "--messages", "2"),
    ("batch", SMALL, "--max-agents", "guard=1,prisoner=1", "--messages", "2", "--endpoints", "javascript:alert(1)"),
    ("batch", SMALL, "--max-agents", "guard=1,prisoner=1", "--messages", "2", "--endpoints", "http://h:99999"),
    ("batch", SMALL, "--max-agents", "guard=1,prisoner=1", "--messages", "2", "--endpoints", "http://١٢٧.0.0.1"),
    RUN[:2] + ("--agents", "guard=1,prisoner=1", "--messages", "1_0"),
    RUN[:2] + ("--agents", "guard=1,prisoner=1", "--messages", "2", "--seed", "０"),
    RUN[:2] + ("--agents", "guard=1,prisoner=1", "--messages", "9" * 10_000),
    RUN[:2] + ("--agents", "guard=" + "9" * 10_000 + ",prisoner=1", "--messages", "2"),
    ("telephone", "--llm", "ollama/sim-tiny", "--temperature", "１"),
    ("telephone", "--llm", "ollama/sim-tiny", "--generations", "۵"),
    ("chatroom", "--models", "ollama/sim-tiny", "--max-context", "1e400"),
    ("experiment", "prompts", SMALL, "--agents", "guard=٢,prisoner=1"),
    ("explore", "--port", "٣"),
])
def test_numbers_and_urls_in_flags_are_ascii_and_in_range(cli_env, db, argv):
    refused_and_nothing_written(db, cli_env, *argv)


@pytest.mark.parametrize("variable, value", [
    ("OLLAMA_HOST", "http://١٢٧.0.0.1:11434"), ("OLLAMA_HOST", "javascript:alert(1)"), ("OLLAMA_HOST", "http://:80"),
    ("SIM_LLAMACPP_PORT", "٣"), ("DB_TIMEOUT_MS", "9" * 10_000), ("SIM_MAX_REPLY_CHARS", "-5"),
    ("MONGODB_URI", "mongodb://u:Pw0rd-9931@[::1"), ("MONGODB_URI", "mongodb://127.0.0.1:27017/?authMechanism=BOGUS"),
    ("MONGODB_URI", "mongodb://127.0.0.1:27017/?tls=maybe"), ("MONGODB_URI", "mongodb://127.0.0.1:٢٧٠١٧"),
    ("SIM_ENDPOINTS", "lab=ollama http://h:0"),
])
def test_a_malformed_setting_is_one_line_naming_it(cli_env, db, variable, value):
    line = refused_and_nothing_written(db, {**cli_env, variable: value}, "experiment", "list")
    assert variable.split("_")[0] in line and "Pw0rd" not in line, line


# --- 6. no "unexpected error" from input ------------------------------------------------------------

def test_an_export_to_a_full_disk_is_one_line(cli_env, db, tmp_path):
    code, err, conversation, _ = shaped_run(db, cli_env, ollama_answer("fine"))
    assert code == 0, err
    assert "No space left" in refused_and_nothing_written(db, cli_env, "export", str(conversation["_id"]), "--format",
                                                          "txt", "-o", "/dev/full")
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    assert "no one reads" in refused_and_nothing_written(db, cli_env, "export", str(conversation["_id"]), "-o",
                                                         str(fifo))


DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("door, suffix, text", [
    ("texts", ".json", DEEP_JSON), ("texts", ".yaml", DEEP_JSON), ("texts", ".json", "[{\"id\": 1" + "0" * 10_000 + "}]"),
    ("texts", ".json", '[{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]'),
    ("texts", ".yaml", "- &a {id: a, text: x}\n- *a\n"), ("template", ".jsonl", DEEP_JSON),
    ("template", ".jsonl", '{"system_prompt": "a", "context": [], "n": 1' + "0" * 10_000 + "}"),
    ("template", ".jsonl", '{"system_prompt": "a {lm' + "9" * 5000 + '_actor}", "context": []}'),
    ("experiment", ".json", DEEP_JSON), ("experiment", ".yaml", "a: " + "1" * 10_000),
    ("rubric", ".yaml", DEEP_JSON), ("rubric", ".json", '{"prompt": "p", "prompt": "q"}'),
])
def test_hostile_input_files_are_one_line(tmp_path, cli_env, db, request, door, suffix, text):
    judged = request.getfixturevalue("judged") if door == "rubric" else "Small prison"
    path = tmp_path / f"input{suffix}"
    path.write_text(text)
    argv = {"texts": ("telephone", "--llm", "ollama/sim-tiny", "--texts", str(path)),
            "template": ("backrooms", "--lm", "ollama/sim-tiny", "ollama/sim-tiny", "--template-file", str(path)),
            "experiment": ("experiment", "import", str(path)),
            "rubric": ("score", judged, "--scorer", "judge", "--rubric", str(path), "--model", "ollama/sim-tiny")}[door]
    refused_and_nothing_written(db, cli_env, *argv)


def test_a_label_file_with_hostile_cells_is_one_line(tmp_path, cli_env, db):
    path = tmp_path / "labels.csv"
    path.write_text("conversation_id,goal_achieved,note\n" + "6b" * 12 + ",Yes," + "x" * 200_000 + "\n")
    refused_and_nothing_written(db, cli_env, "label", "import", str(path), "--annotator", "bob")
    path.write_bytes(b"conversation_id,goal_achieved\n\xff\xfe,Yes\n")
    refused_and_nothing_written(db, cli_env, "label", "import", str(path), "--annotator", "bob")


# --- 7. CSV exports a spreadsheet cannot run -----------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


async def test_csv_exports_neutralise_formulas_in_the_cli_and_the_explorer(store, settings, cli_env, tmp_path):
    import csv

    import httpx

    from scripted import ScriptedModel
    from simulator.actions import conversations as conv
    from simulator.actions.experiments import import_file
    from simulator.llm.factory import ModelSettings
    from simulator.protocols.roles import role_spec
    from simulator.web.access import Access
    from simulator.web.analyses import Analyses
    from simulator.web.app import create_app

    small = await import_file(store, "alice", Path(SMALL))
    cid = await conv.create(store, "alice", small, role_spec(llm=small.experiment.llms[0],
                                                             agent_counts={"guard": 1, "prisoner": 1},
                                                             n_messages=len(FORMULAS) + 1))
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(FORMULAS + ["-0.25"]))
    out = tmp_path / "out.csv"
    app = create_app(store, settings, Analyses(tmp_path / "analyses"), Access(None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        served = (await client.get(f"/conversations/{cid}/export.csv")).text
    from simulator.actions.browse import transcript
    from simulator.cli.export import render_export

    out.write_text(render_export("csv", await transcript(store, cid)))
    for text in (out.read_bytes().decode(), served):  # read_text would turn \r into \n
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        replies = [r["raw_content"] for r in rows]  # the model's words as given (content is cleaned)
        assert replies == ["'" + f for f in FORMULAS] + ["-0.25"], replies


def test_the_cell_rule():
    from simulator.core.csv_cells import safe_cell

    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "plain", 3, -4.5, "-", "+")] == \
        ["'=1", "+1", "-1", "'@a", "'\tx", "'\rx", "plain", 3, -4.5, "'-", "'+"]


# --- 8. the explorer's token -------------------------------------------------------------------------

@pytest.mark.parametrize("host, token, ok", [("0.0.0.0", "a", False), ("0.0.0.0", "x" * 31, False),
                                             ("0.0.0.0", "x" * 32, True), ("127.0.0.1", "a", True),
                                             ("0.0.0.0", "bad token with spaces and more than 32 chars", False),
                                             ("0.0.0.0", None, True)])
def test_a_token_on_another_address_is_as_strong_as_a_generated_one(host, token, ok):
    from simulator.errors import ValidationError
    from simulator.web.server import access_for

    if ok:
        access, _ = access_for(host, token)
        assert len(access.token or "") >= (32 if host != "127.0.0.1" else 0)
    else:
        with pytest.raises(ValidationError):
            access_for(host, token)


def test_explore_refuses_a_short_token_before_listening(cli_env, db):
    line = refused_and_nothing_written(db, cli_env, "explore", "--host", "0.0.0.0", "--token", "a", "--port", "0")
    assert "at least 32" in line


# --- 9. smaller points -------------------------------------------------------------------------------

def test_experiment_show_escapes_direction_overrides_as_show_does(tmp_path, cli_env, db):
    import yaml

    data = yaml.safe_load(Path(SMALL).read_text())
    data["starting_message"] = "right\u202eto-left \x1b[2J"
    path = tmp_path / "rlo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert cli("experiment", "import", str(path), env=cli_env)[0] == 0
    code, out, err = cli("experiment", "show", "Small prison", env=cli_env)
    assert code == 0 and "\u202e" not in out and "\x1b" not in out and "\\u202e" in out, err


def test_a_backrooms_template_with_a_duplicate_key_is_refused(tmp_path, cli_env, db):
    path = tmp_path / "dup.jsonl"
    path.write_text('{"system_prompt": "a", "system_prompt": "b", "context": []}\n')
    line = refused_and_nothing_written(db, cli_env, "backrooms", "--lm", "ollama/sim-tiny", "ollama/sim-tiny",
                                       "--template-file", str(path))
    assert "appears twice" in line
