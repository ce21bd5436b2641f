"""Hardening, one class of defect per section: secrets, hostile names, resource exhaustion, options checked
before anything is written, and a model server that goes away under a batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bson import json_util

from fault_server import FaultServer
from simulator.store import schema

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "tests" / "data" / "small_prison.yaml")
KEY = "sk-test-Zq81TOPSECRETkey4711"
PASSWORD = "Pw0rd-in-a-url-9931"


def simulator(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


async def everything_stored(store) -> str:
    """Every document of every collection, as one text to search."""
    docs = [await store.db[name].find().to_list() for name in schema.COLLECTIONS]
    return json_util.dumps(docs)


def logs_of(env: dict) -> str:
    folder = Path(env["SIM_LOG_DIR"])
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()) if folder.exists() else ""


# --- secrets ---------------------------------------------------------------------------------

async def test_an_api_key_echoed_by_a_server_appears_nowhere(store, cli_env):
    echo = FaultServer("echo")
    try:
        env = {**cli_env, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": echo.url + "/v1"}
        result = simulator("run", SMALL, "--llm", "openai/gpt-4o-mini", "--agents", "guard=1,prisoner=1",
                           "--messages", "2", "--attempts", "2", "--timeout", "5", env=env)
    finally:
        echo.close()
    assert result.returncode == 1 and "Authorization: Bearer ***" in result.stderr  # the echo, scrubbed
    everywhere = result.stdout + result.stderr + logs_of(cli_env) + await everything_stored(store)
    assert KEY not in everywhere and "TOPSECRET" not in everywhere
    conversation = (await store.conversations.rows())[0]
    assert conversation.status == "failed"


@pytest.mark.parametrize("variable, command", [
    ("OLLAMA_HOST", ("models", "list")),
    ("OLLAMA_HOST", ("models", "chat", "ollama/sim-tiny", "hello", "--seed", "1")),
    ("OPENAI_BASE_URL", ("models", "list")),
])
async def test_a_password_inside_a_server_url_is_never_shown_logged_or_stored(store, cli_env, settings, variable,
                                                                             command):
    host = settings.ollama_host.split("://", 1)[1]
    env = {**cli_env, variable: f"http://researcher:{PASSWORD}@{host}" + ("/v1" if variable == "OPENAI_BASE_URL" else "")}
    result = simulator(*command, env=env)
    assert PASSWORD not in result.stdout + result.stderr + logs_of(cli_env) + await everything_stored(store)


async def test_a_database_password_never_reaches_the_screen(cli_env, settings):
    env = {**cli_env, "MONGODB_URI": f"mongodb://alice:{PASSWORD}@127.0.0.1:1/", "DB_TIMEOUT_MS": "300"}
    result = simulator("db", "ping", env=env)
    assert result.returncode == 1 and PASSWORD not in result.stdout + result.stderr + logs_of(cli_env)


def test_the_scrubber_masks_secret_shapes_it_was_not_told_about():
    from simulator.secrets import scrub, scrub_value

    assert scrub("GET http://bob:hunter22@host:1/x failed") == "GET http://bob:***@host:1/x failed"
    assert scrub("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer ***"
    assert scrub("key sk-abcdefghijkl123 leaked") == "key sk-*** leaked"
    assert scrub_value({"a": ["x Bearer abcdefghijk", 3]}) == {"a": ["x Bearer ***", 3]}


# --- hostile names -----------------------------------------------------------------------------

HOSTILE_NAMES = ["bad\x1b[31mred", "right\u202eto-left", "nul\x00byte", "bell\x07", "c1\x9bcsi", "two\nlines",
                 "mark\u200ehere", "isolate\u2066x"]


def hostile_experiment(where: str, hostile: str) -> dict:
    import yaml

    data = yaml.safe_load(Path(SMALL).read_text())
    data["variants"] = {"goal": ["escape", "yard"]}
    if where == "name":
        data["name"] = hostile
    elif where == "section_title":
        data["sections"][0]["title"] = hostile
        data["roles"][0]["sections"][0]["title"] = hostile
        data["roles"][1]["sections"][0]["title"] = hostile
    elif where == "variant_value":
        data["variants"]["goal"][1] = hostile
    else:
        data["llms"][0]["model"] = "ollama/" + hostile
    return data


@pytest.mark.parametrize("where", ["name", "section_title", "variant_value", "model"])
@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_control_and_direction_characters_are_refused_in_every_name(where, hostile):
    from simulator.core.experiment import parse_experiment
    from simulator.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        parse_experiment(hostile_experiment(where, hostile))
    assert "contains a control or text-direction character" in caught.value.message
    assert not any(c in caught.value.message for c in "\x00\x07\x1b\x9b\u202e\u200e\u2066")


@pytest.mark.parametrize("where", ["name", "model"])
def test_the_command_line_refuses_them_in_one_line(tmp_path, cli_env, where):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_experiment(where, "bad\x1b[31mred")))
    result = simulator("experiment", "import", str(path), env=cli_env)
    assert result.returncode == 1 and "contains a control or text-direction character" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "\x1b[31m" not in result.stderr


@pytest.mark.parametrize("variable", ["SIM_USER", "DB_NAME"])
@pytest.mark.parametrize("value", ["bob\x1b[2J", "   ", "a\u202eb"])
def test_hostile_or_blank_identity_and_database_names_are_refused(cli_env, variable, value):
    result = simulator("db", "ping", env={**cli_env, variable: value})
    if value.strip() == "" and variable == "DB_NAME":
        return  # a blank DB_NAME means the default database
    if value.strip() == "":
        assert result.returncode == 0  # a blank SIM_USER is unset, never the empty user
        return
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1 and "\x1b" not in result.stderr


MARKUP = ["[/bold] x", "[link=file:///etc/passwd]click[/link]", "[red]red[/red]", "[bold"]


@pytest.mark.parametrize("name", MARKUP)
async def test_names_that_look_like_markup_are_shown_as_written(tmp_path, cli_env, store, name):
    import yaml

    data = yaml.safe_load(Path(SMALL).read_text())
    data["name"] = name
    path = tmp_path / "markup.yaml"
    path.write_text(yaml.safe_dump(data))
    assert simulator("experiment", "import", str(path), env=cli_env).returncode == 0
    for command in (("experiment", "list"), ("experiment", "show", name),
                    ("experiment", "prompts", name, "--agents", "guard=1,prisoner=1")):
        result = simulator(*command, env={**cli_env, "COLUMNS": "200"})
        assert result.returncode == 0, (command, result.stderr)
        assert "\x1b]8;" not in result.stdout  # no live terminal hyperlink
    listed = simulator("experiment", "list", env={**cli_env, "COLUMNS": "200"}).stdout
    assert name in listed


async def test_control_characters_in_messages_are_shown_as_escapes(tmp_path, cli_env, store, settings):
    from scripted import ScriptedModel
    from simulator.actions import conversations as conv
    from simulator.actions.experiments import import_file
    from simulator.llm.factory import ModelSettings
    from simulator.protocols.roles import role_spec

    small = await import_file(store, "alice", Path(SMALL))
    cid = await conv.create(store, "alice", small, role_spec(llm=small.experiment.llms[0],
                                                             agent_counts={"guard": 1, "prisoner": 1}, n_messages=2))
    hostile = "clear \x1b[2J screen \u202e reversed \x07"
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel([hostile]))
    for command in (("show", str(cid)), ("export", str(cid), "--format", "txt")):
        out = simulator(*command, env=cli_env).stdout
        assert "\x1b[2J" not in out and "\u202e" not in out and "\x07" not in out
        assert "\\x1b[2J" in out and "\\u202e" in out


# --- resource exhaustion ------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "folder", "/dev/urandom"])
def test_endless_or_blocking_files_end_at_once_in_little_memory(tmp_path, cli_env, source):
    if source == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)
    elif source == "folder":
        path = tmp_path / "folder.yaml"
        path.mkdir()
    else:
        path = Path(source)
    peak_file = tmp_path / "peak"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, str(peak_file), sys.executable, "-m", "simulator",
                             "experiment", "import", str(path)], env=cli_env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and "not a regular file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert elapsed < 1.0 + STARTUP_ALLOWANCE, elapsed
    peak_mb = int(peak_file.read_text()) / 1024
    assert peak_mb < 100, peak_mb


# Runs a command and writes its peak RSS (kB). A child forked straight from pytest would count
# pytest's own memory at the fork (Linux keeps the high-water mark across exec), so the command
# is forked from this small interpreter instead.
PEAK_OF_CHILD = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
STARTUP_ALLOWANCE = 3.0  # the interpreter and the CLI's own start, on a loaded 2-core machine


def test_an_object_with_90000_keys_is_checked_in_linear_time(tmp_path):
    from simulator.core.experiment_file import decode_experiment_file

    raw = json.dumps({f"k{i}": i for i in range(90_000)}).encode()[:1_000_000 - 20]
    raw = raw[:raw.rfind(b",")] + b"}"
    started = time.monotonic()
    decode_experiment_file(raw, "keys.json")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("args, message", [
    (("--max-agents", "guard=50,prisoner=50", "--all-combinations", "--repeat", "100"),
     "more than the limit of 10,000"),
    (("--max-agents", "guard=1,prisoner=1", "--repeat", "100001"), "out of range (allowed: 1 to 100000)"),
    (("--max-agents", "guard=51,prisoner=1"), "maximum agents must be 1 to 50 per role, got guard=51"),
])
async def test_a_plan_too_large_is_refused_before_anything_is_written(cli_env, store, args, message):
    before = await everything_stored(store)
    result = simulator("batch", SMALL, "--messages", "2", *args, env=cli_env)
    assert result.returncode != 0 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert await everything_stored(store) == before


# --- every option checked before anything is written -------------------------------------------

BAD_OPTIONS = [
    ("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "nan"), ("--attempts", "0"), ("--concurrency", "0"),
    ("--budget-tokens", "-5"), ("--budget-cost", "nan"), ("--budget-cost", "inf"), ("--messages", "٣"),
    ("--messages", "0"), ("--seed", "-1"), ("--seed", "99999999999"), ("--days", "0"), ("--last-k", "0"),
    ("--speaker", "telepathy"), ("--agents", "guard=x"), ("--agents", "guard=-1"), ("--agents", "guard=1,guard=2"),
    ("--wall-clock", "0"), ("--repeat", "0"), ("--workers", "0"), ("--variant", "goal"),
]


@pytest.mark.parametrize("flag, value", BAD_OPTIONS)
async def test_a_bad_option_is_one_line_naming_it_and_writes_nothing(cli_env, store, flag, value):
    args = {"--agents": "guard=1,prisoner=1", "--messages": "2", "--llm": "2"}
    args[flag] = value
    before = await everything_stored(store)
    result = simulator("run", SMALL, *[x for pair in args.items() for x in pair], env=cli_env)
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.stderr, result.stderr
    assert flag.lstrip("-").split("-")[0] in lines[0] or value in lines[0], lines[0]
    assert await everything_stored(store) == before


@pytest.mark.parametrize("args, env_extra, message", [
    (("--llm", "openai/gpt-4o-mini"), {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}, "needs OPENAI_API_KEY"),
    (("--llm", "ollama/no-such-model-here"), {}, "pulling it failed"),
    (("--speaker", "manual", "--llm", "2"), {}, "manual speaker selection needs a terminal"),
    (("--llm", "2"), {"OLLAMA_HOST": "http://127.0.0.1:1"}, "connection refused"),
    (("--llm", "7"), {}, "this experiment has LLM settings 1 to 2"),
])
async def test_what_only_a_run_would_find_is_found_before_anything_is_written(cli_env, store, args, env_extra,
                                                                             message):
    before = await everything_stored(store)
    result = simulator("run", SMALL, "--agents", "guard=1,prisoner=1", "--messages", "2", "--attempts", "1", *args,
                       env={**cli_env, **env_extra})
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert await everything_stored(store) == before  # not even the experiment of the file


@pytest.mark.parametrize("variable, value", [("OLLAMA_HOST", "http://h:99999"), ("OLLAMA_HOST", "ftp://x"),
                                             ("OPENAI_BASE_URL", "not a url"), ("DB_TIMEOUT_MS", "0"),
                                             ("DB_WRITE_CONCURRENCY", "-2"), ("DB_NAME", "a.b")])
def test_a_malformed_setting_is_one_line_on_every_command(cli_env, variable, value):
    for command in (("db", "ping"), ("models", "list"), ("experiment", "list")):
        result = simulator(*command, env={**cli_env, variable: value})
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert variable in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("destination, message", [("/no/such/folder/out.txt", "does not exist"),
                                                  ("/tmp", "is a folder")])
async def test_an_export_destination_is_checked_before_any_work(cli_env, destination, message):
    result = simulator("export", "6b0000000000000000000000", "-o", destination, env=cli_env)
    assert result.returncode == 1 and message in result.stderr


# --- a model server that goes away ---------------------------------------------------------------

async def test_a_batch_pauses_when_the_model_server_fails_and_keeps_its_queue(cli_env, store):
    server = FaultServer("500")  # answers the model list, fails every chat: a server that went bad mid-study
    try:
        result = simulator("batch", SMALL, "--llm", "ollama/faulty", "--max-agents", "guard=1,prisoner=1",
                           "--messages", "4", "--repeat", "12", "--workers", "1", "--concurrency", "1",
                           "--attempts", "1", "--no-record", env={**cli_env, "OLLAMA_HOST": server.url})
    finally:
        server.close()
    assert result.returncode == 1, result.stdout
    assert "paused: 3 cells in a row failed because the model server did not answer" in result.stderr
    batch = await store.batches.get(__import__("bson").ObjectId(result.stdout.split()[1].rstrip(":")))
    statuses = [(await store.conversations.get(c.conversation_id)).status.value for c in batch.cells]
    assert statuses.count("failed") == 3 and statuses.count("pending") == 9  # the queue kept, resumable
