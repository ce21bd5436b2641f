"""The protocol mechanism: one registry that the CLI, the menus, checks and the batch planner read."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bson import ObjectId

from menu_driver import CTRL_D, drive, menu_env
from simulator.cli.main import build_parser
from simulator.cli.menus.protocols import menu_protocols
from simulator.core.run_spec import RunSpec, StopSettings
from simulator.errors import ValidationError
from simulator.protocols import PROTOCOLS, Option
from simulator.protocols.base import Protocol

ROOT = Path(__file__).resolve().parent.parent
START = "LLM Interaction Simulator"
# commands that are not a protocol's: the database, models, experiments, and what works on any run
GENERIC_COMMANDS = {"db", "models", "experiment", "resume", "show", "export", "batch", "analyze", "score", "label",
                    "explore", "list", "import", "fork", "provenance", "reproduce", "publish", "search"}


def subcommands() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def test_the_registry_lists_every_protocol_once():
    assert list(PROTOCOLS) == ["roles", "chatroom", "backrooms", "telephone", "iterated_learning"]
    assert all(isinstance(p, Protocol) and PROTOCOLS[p.name] is p for p in PROTOCOLS.values())
    assert len({p.command for p in PROTOCOLS.values()}) == len(PROTOCOLS)


def test_every_run_command_comes_from_the_registry_with_every_declared_option():
    commands = subcommands()
    assert set(commands) - GENERIC_COMMANDS == {p.command for p in PROTOCOLS.values()}
    for protocol in PROTOCOLS.values():
        flags = {flag for action in commands[protocol.command]._actions for flag in action.option_strings}
        assert {o.cli_flag for o in protocol.asked()} <= flags, protocol.name
        assert {"--seed", "--repeat", "--stop-keyword", "--detect-cycles", "--budget-tokens", "--budget-cost"} <= flags
        derived = {o.name for o in protocol.options if not o.asked}
        assert not derived & {a.dest for a in commands[protocol.command]._actions}


def test_help_shows_every_options_range_and_default():
    text = " ".join(subprocess.run([sys.executable, "-m", "simulator", "chatroom", "--help"], capture_output=True,
                                   text=True).stdout.split())
    assert "--max-context MAX_CONTEXT messages each participant sees (1 to 1000; default 10)" in text
    assert "--threshold THRESHOLD similarity (0-100, rounded) a repeat must exceed (0 to 100; default 99)" in text


def test_the_menu_offers_every_protocol_that_needs_no_experiment():
    assert [p.name for p in menu_protocols()] == [p.name for p in PROTOCOLS.values() if not p.needs_experiment]
    assert [p.name for p in menu_protocols()] == ["chatroom", "backrooms", "telephone", "iterated_learning"]


@pytest.mark.parametrize("option, value, message", [
    (Option("n", "n", "int", low=1, high=5), 0, "--n: 0 is out of range (1 to 5)"),
    (Option("n", "n", "int", low=1, high=5), 2.5, "--n: expected a whole number"),
    (Option("n", "n", "int", low=1, high=5), True, "--n: expected a whole number"),
    (Option("x", "x", "float", low=0, high=2), math.nan, "--x: nan is out of range (0 to 2)"),
    (Option("x", "x", "float", low=0, high=2), math.inf, "--x: inf is out of range"),
    (Option("c", "c", "choice", choices=("a", "b")), "z", "--c: 'z' is not one of a, b"),
    (Option("r", "the agents", "counts", required=True, flag="--agents"), None, "--agents is required (the agents)"),
    (Option("r", "r", "counts", low=1, high=50, flag="--agents"), {"guard": 51}, "--agents guard: 51 is out of range"),
    (Option("t", "t", "texts"), ["ok", " "], "--t: give one or more non-empty texts"),
])
def test_options_are_checked_with_one_line_naming_the_flag(option, value, message):
    with pytest.raises(ValidationError) as caught:
        option.check(value)
    assert caught.value.message.startswith(message), caught.value.message


def test_menu_answers_are_parsed_by_the_same_declarations():
    assert Option("n", "n", "int", low=1, high=5, default=3).parse_text("  ") == 3
    assert Option("a", "a", "counts", low=1, high=9).parse_text("guard=2, prisoner=1") == {"guard": 2, "prisoner": 1}
    assert Option("m", "m", "texts", repeatable=True).parse_text("a\n\nb\n") == [("a", "b")]
    with pytest.raises(ValidationError, match="'x' is not a whole number"):
        Option("n", "n", "int").parse_text("x")


def test_a_conversation_stored_before_protocols_reads_as_a_role_experiment():
    legacy = {"_id": ObjectId(), "llm": {"model": "ollama/sim-tiny", "temperature": 0.7}, "n_messages": 6,
              "days": 2, "speaker_selection": "random", "view": "shared", "last_k": 10,
              "agent_counts": {"guard": 1, "prisoner": 1}, "variants": {"goal": "escape"}, "seed": 5,
              "stops": {"keyword": None, "detect_cycles": True, "token_budget": None, "cost_budget": None}}
    spec = RunSpec.from_document(legacy)
    assert spec.protocol == "roles" and spec.llms[0].model == "ollama/sim-tiny" and spec.seed == 5
    assert dict(spec.options) == {"agent_counts": {"guard": 1, "prisoner": 1}, "days": 2,
                                  "speaker_selection": "random", "view": "shared", "last_k": 10,
                                  "variants": {"goal": "escape"}}
    assert spec.stops == StopSettings(detect_cycles=True)
    assert PROTOCOLS["roles"].check_options(spec.options)["days"] == 2


async def test_a_chatroom_from_the_menus_asks_the_declared_questions_and_runs(store, settings, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))
    chatroom = PROTOCOLS["chatroom"]
    answers = {"models": "ollama/sim-tiny\rollama/sim-tiny" + CTRL_D, "max_iterations": "\x15" + "5\r",
               "initial_prompts": CTRL_D, "system_prompts": CTRL_D, "exact": "n"}
    steps = [(START, "protocol\r"), ("Run a protocol", "chatroom\r")]
    for option in chatroom.asked():
        steps.append((option.help[:1].upper() + option.help[1:20], answers.get(option.name, "\r")))
    steps += [("Start them now?", "y"), (START, "exit\r")]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    rows = await store.conversations.rows()
    assert [(r.protocol, r.status, r.n_messages) for r in rows] == [("chatroom", "completed", 5)]
    assert "1 conversation(s), about 5 model calls" in re.sub(r"\x1b\[[0-9;]*m", "", run.screen)


async def test_a_batch_of_chatrooms_runs_through_the_batch_runner(cli_env, store):
    result = subprocess.run([sys.executable, "-m", "simulator", "chatroom", "--models", "ollama/sim-tiny",
                             "ollama/sim-tiny", "--models", "ollama/smollm2:135m", "ollama/smollm2:135m",
                             "--repeat", "3", "--max-iterations", "3", "--max-tokens", "16", "--seed", "8",
                             "--no-record"], env=cli_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("batch ") and "6 conversations" in first, first
    batch = await store.batches.get(ObjectId(first.split()[1].rstrip(":")))
    assert batch.protocol == "chatroom" and batch.axes == ["models", "repeat"]
    assert [(c.values["models"], c.values["repeat"]) for c in batch.cells] == [
        (m, r) for m in (0, 1) for r in (0, 1, 2)]
    conversations = {c.id: c for c in await store.conversations.in_batch(batch.id)}
    assert all(c.status.value == "completed" for c in conversations.values())
    models = [conversations[c.conversation_id].spec.llms[0].model for c in batch.cells]
    assert models == ["ollama/sim-tiny"] * 3 + ["ollama/smollm2:135m"] * 3
    assert len({c.spec.seed for c in conversations.values()}) == 6
    status = subprocess.run([sys.executable, "-m", "simulator", "batch", "status", str(batch.id)], env=cli_env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "6 completed" in status.stdout
