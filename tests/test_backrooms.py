"""The backrooms protocol: templates, rounds, the ^C^C stop, the plain log, kill -9 mid-round."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.errors import ValidationError
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.backrooms import identity, parse_template, shipped_templates
from simulator.protocols.base import Common
from simulator.store import Status

BACKROOMS = PROTOCOLS["backrooms"]
SHIPPED = {"cli", "student_teacher", "science", "fugue", "gallery", "ethics"}


def simulator(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=kwargs.pop("timeout", 300), **kwargs)


def test_the_shipped_templates_parse_and_have_two_participants():
    assert SHIPPED <= set(shipped_templates())
    for name in SHIPPED:
        plan = BACKROOMS.plan({"lm": [["ollama/sim-tiny", "ollama/sim-tiny"]], "templates": [name]}, Common())
        assert len(BACKROOMS.check(plan.base).option("script")) == 2


@pytest.mark.parametrize("text, message", [
    ('{"system_prompt": "a", "context": []}\n{"system_prompt": "b", "context": [}\n',
     "t.jsonl line 2: not valid JSON"),
    ('{"system_prompt": "a"}\n', "t.jsonl line 1: missing context"),
    ('{"context": [], "system_prompt": "a", "extra": 1}\n', "t.jsonl line 1: unknown extra"),
    ('{"system_prompt": "a", "context": []}\n\n{"system_prompt": "You are {lm2_name}.", "context": []}\n',
     "t.jsonl line 3: unknown placeholder {lm2_name}"),
    ('{"system_prompt": "a", "context": [{"role": "narrator", "content": "x"}]}\n', "t.jsonl line 1: context must be"),
    ('["system_prompt"]\n', "t.jsonl line 1: expected an object"),
    ("\n\n", "t.jsonl: no participants"),
])
def test_a_malformed_template_is_one_clear_error_naming_the_line(text, message):
    with pytest.raises(ValidationError) as caught:
        parse_template(text, "t.jsonl")
    assert caught.value.message.startswith(message), caught.value.message


def test_placeholders_name_each_participant_and_its_company():
    plan = BACKROOMS.plan({"lm": [["ollama/smollm2:135m", "ollama/sim-tiny"]], "templates": ["cli"]}, Common(seed=1))
    spec = BACKROOMS.check(plan.base)
    prepared = BACKROOMS.prepare(spec, None, None)
    assert [a.name for a in prepared.agents] == ["SmolLM2", "Sim-Tiny"]
    assert prepared.prompts["SmolLM2"].startswith("You are SmolLM2, a model made by Hugging Face.")
    assert "Sim-Tiny of the LLM Interaction Simulator" in prepared.prompts["SmolLM2"]
    assert "{lm" not in json.dumps([prepared.prompts, prepared.extras["contexts"]])
    twins = BACKROOMS.prepare(BACKROOMS.check(BACKROOMS.plan(
        {"lm": [["ollama/smollm2:135m"] * 2], "templates": ["cli"]}, Common()).base), None, None)
    assert [a.name for a in twins.agents] == ["SmolLM2 1", "SmolLM2 2"]
    assert identity("openai/gpt-4o-mini") == ("GPT", "OpenAI") and identity("ollama/mystery:1b") == ("mystery:1b",
                                                                                                      "Ollama")


def test_a_placeholder_beyond_the_participants_is_refused(tmp_path):
    template = tmp_path / "three.jsonl"
    template.write_text('{"system_prompt": "Talk to {lm3_actor}.", "context": []}\n'
                        '{"system_prompt": "b", "context": []}\n')
    plan = BACKROOMS.plan({"lm": [["ollama/sim-tiny"] * 2], "template_file": str(template)}, Common())
    with pytest.raises(ValidationError, match="template three line 1: {lm3_actor} but the run has 2 participants"):
        BACKROOMS.prepare(BACKROOMS.check(plan.base), None, None)


@pytest.mark.both_stores
async def test_rounds_views_and_an_early_stop_at_ctrl_c_twice(store, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))
    plan = BACKROOMS.plan({"lm": [["ollama/sim-tiny", "ollama/sim-tiny"]], "templates": ["cli"], "max_turns": 5},
                          Common(seed=2))
    cid = await conv.create(store, settings.user, None, plan.base)
    model = ScriptedModel(["ls -la", "total 0\nsimulator@backrooms:~/$", "cat notes.txt", "^C^C", "never said"])
    outcome = await conv.run(store, settings, cid, ModelSettings(), model=model)
    assert outcome.status is Status.COMPLETED and "^C^C" in outcome.reason
    messages = await store.messages.list(cid)
    assert [(m.index, m.round, m.speaker) for m in messages] == [
        (0, 0, "Sim-Tiny 1"), (1, 0, "Sim-Tiny 2"), (2, 1, "Sim-Tiny 1"), (3, 1, "Sim-Tiny 2")]
    # each participant: system prompt, its template context, its own turns as assistant, the other's as user
    explorer, terminal = model.calls[2][0], model.calls[1][0]
    assert [m["role"] for m in explorer] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert explorer[-1]["content"] == "total 0\nsimulator@backrooms:~/$" and explorer[-2]["content"] == "ls -la"
    assert [m["role"] for m in terminal] == ["system", "user"] and terminal[-1]["content"] == "ls -la"


@pytest.mark.real_model
async def test_two_smollm2_on_the_cli_template_for_three_turns(cli_env, store, tmp_path):
    env = {**cli_env, "SIM_LOG_DIR": str(tmp_path / "logs")}
    result = simulator("backrooms", "--lm", "ollama/smollm2:135m", "ollama/smollm2:135m", "--template", "cli",
                       "--max-turns", "3", "--max-tokens", "60", "--seed", "4", env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    cid = conv.conversation_id(result.stdout.split()[1])
    messages = await store.messages.list(cid)
    conversation = await store.conversations.get(cid)
    if "^C^C" not in (conversation.stop_reason or ""):
        assert len(messages) == 6
    assert [m.round for m in messages] == [i // 2 for i in range(len(messages))]
    logs = list((tmp_path / "logs" / "backrooms").glob("smollm2-135m_smollm2-135m_cli_*.txt"))
    assert len(logs) == 1 and logs[0].name[-19:-4].replace("_", "").isdigit()
    text = logs[0].read_text()
    assert text.count("### SmolLM2 1 ###") == 3 and text.count("### SmolLM2 2 ###") == 3
    for message in messages:
        assert f"### {message.speaker} ###\n{message.content}\n" in text


def test_a_template_and_model_count_mismatch_is_one_clear_line(cli_env):
    result = simulator("backrooms", "--lm", "ollama/sim-tiny", "--template", "cli", env=cli_env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("error: template cli has 2 participants but 1 models were given "
                                     "(--lm takes one per participant)")


def test_a_malformed_template_file_on_the_command_line(cli_env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"system_prompt": "a", "context": []}\n{"system_prompt": 5, "context": []}\n')
    result = simulator("backrooms", "--lm", "ollama/sim-tiny", "ollama/sim-tiny", "--template-file", str(bad),
                       env=cli_env)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: bad.jsonl line 2: system_prompt must be text"


def test_list_templates_needs_no_database():
    result = subprocess.run([sys.executable, "-m", "simulator", "backrooms", "--list-templates"],
                            env={**os.environ, "MONGODB_URI": "mongodb://127.0.0.1:1"}, capture_output=True, text=True)
    assert result.returncode == 0 and {line.split()[0] for line in result.stdout.splitlines()} >= SHIPPED


async def test_kill_minus_9_mid_round_then_resume_completes_the_round(cli_env, store, tmp_path):
    template = tmp_path / "trio.jsonl"
    template.write_text("\n".join(json.dumps({"system_prompt": f"You are {{lm{i}_actor}}.", "context": [
        {"role": "user", "content": "Say something."}]}) for i in (1, 2, 3)) + "\n")
    env = {**cli_env, "SIM_LOG_DIR": str(tmp_path / "logs")}
    killed_mid_round = 0
    for trial, target in enumerate((4, 7, 11)):
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "backrooms", "--lm", *["ollama/sim-tiny"] * 3, "--template-file",
             str(template), "--max-turns", "6", "--max-tokens", "8", "--seed", str(trial), "--no-record"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        cid = conv.conversation_id(process.stdout.readline().split()[1])
        while await store.messages.count(cid) < target and process.poll() is None:
            await asyncio.sleep(0.002)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        stored = await store.messages.count(cid)
        killed_mid_round += stored % 3 != 0 and stored < 18
        resumed = simulator("resume", str(cid), "--no-record", env=env)
        assert resumed.returncode == 0, resumed.stderr
        messages = await store.messages.list(cid)
        speakers = [m.speaker for m in messages]
        assert [m.index for m in messages] == list(range(18)), f"trial {trial}"
        assert [m.round for m in messages] == [i // 3 for i in range(18)]
        assert speakers == ["Sim-Tiny 1", "Sim-Tiny 2", "Sim-Tiny 3"] * 6
        logs = sorted((tmp_path / "logs" / "backrooms").glob("sim-tiny_sim-tiny_sim-tiny_trio_*.txt"))
        assert len(logs) == trial + 1  # one log per run, even for runs started in the same second
        assert sum(log.read_text().count("### Sim-Tiny") == 18 for log in logs) == trial + 1
    assert killed_mid_round >= 2
