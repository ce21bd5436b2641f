"""Forks at message K (prison, chatroom, telephone), provenance of a run, and exact reproduction."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.actions.forks import ForkChanges, RolePrompt, create_forks, fork_tree
from simulator.actions.provenance import provenance
from simulator.actions.reproduce import first_difference, reproduce
from simulator.core.experiment import LLMSetting
from simulator.errors import ValidationError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.roles import role_spec
from simulator.store import Message, Status

TINY = LLMSetting(model="ollama/sim-tiny", temperature=0.7, top_k=40, top_p=0.9, max_tokens=24)


async def prison_run(store, settings, path, n_messages=8, days=2):
    """A completed prison run on sim-tiny, its calls recorded."""
    experiment = await import_file(store, settings.user, path)
    spec = role_spec(llm=TINY, agent_counts={"guard": 1, "prisoner": 2}, n_messages=n_messages, days=days, seed=11)
    cid = await conv.create(store, settings.user, experiment, spec)
    outcome = await conv.run(store, settings, cid, ModelSettings())
    assert outcome.status is Status.COMPLETED, outcome.reason
    return cid


def content(messages: list[Message]) -> list[tuple]:
    return [(m.index, m.day, m.speaker, m.role, m.content) for m in messages]


async def test_a_prison_fork_keeps_the_prefix_and_days_and_runs_to_the_source_length(store, settings,
                                                                                    prison_on_sim_tiny, tmp_path):
    source_id = await prison_run(store, settings, prison_on_sim_tiny)
    source = await store.conversations.get(source_id)
    prompt = "You are a guard who has decided to open the gate."
    changes = ForkChanges(llm="guard=ollama/sim-tiny", temperature=1.3,
                          role_prompts=(RolePrompt("guard", "open.txt", prompt),))
    [fork] = await create_forks(store, settings.user, [source], 5, [changes], 1, {}, seed=5)
    stored = await store.conversations.get(fork.conversation_id)
    assert stored.forked_from["conversation_id"] == source_id and stored.forked_from["at"] == 5
    assert stored.forked_from["changes"]["llm"] == "guard=ollama/sim-tiny"
    assert stored.forked_from["changes"]["temperature"] == 1.3 and stored.forked_from["changes"]["seed"] == 5
    # the guard got its own LLM setting; the prisoners keep theirs
    guards = [a for a in stored.agents if a.role == "guard"]
    assert len(stored.spec.llms) == 2 and all(a.llm == 1 for a in guards)
    assert all(stored.prepared.prompts[a.name] == prompt for a in guards)
    assert all(l.temperature == 1.3 for l in stored.spec.llms)
    # day 0 (messages 0-3) is complete before message 5, so its summary is copied; day 1's is not
    assert [s["day"] for s in await store.summaries.list(fork.conversation_id)] == [0]

    outcome = await conv.run(store, settings, fork.conversation_id, ModelSettings())
    assert outcome.status is Status.COMPLETED, outcome.reason
    ours, theirs = await store.messages.list(fork.conversation_id), await store.messages.list(source_id)
    assert len(ours) == len(theirs) == 8
    assert content(ours[:5]) == content(theirs[:5])
    assert [s["day"] for s in await store.summaries.list(fork.conversation_id)] == [0, 1]

    # a fork of the fork: the tree has the source at its root
    [grandchild] = await create_forks(store, settings.user, [await store.conversations.get(fork.conversation_id)],
                                      6, [ForkChanges()], 1, {}, seed=9)
    assert (await store.conversations.get(grandchild.conversation_id)).forked_from["root"] == source_id
    tree = await fork_tree(store, grandchild.conversation_id)
    assert tree.conversation.id == source_id
    assert [c.conversation.id for c in tree.children] == [fork.conversation_id]
    assert [c.conversation.id for c in tree.children[0].children] == [grandchild.conversation_id]

    # provenance was stored when the runs started, and the calls give each model's digest
    record = await provenance(store, fork.conversation_id)
    env = record["environment"]
    assert env["simulator"] and env["python"] and env["platform"]
    assert {p["name"] for p in env["packages"]} >= {"pymongo", "jinja2", "inflect"}
    assert env["git"] is None or set(env["git"]) == {"revision", "dirty"}
    assert record["seed"] == 5 and len(record["prompt_hashes"]) == 3
    assert record["models"][0]["model"] == "ollama/sim-tiny" and record["models"][0]["digests"]
    assert record["calls"] and all("seed" in c["options"] and c["prompt_hashes"] for c in record["calls"])


async def test_bad_forks_write_nothing(store, settings, prison_on_sim_tiny):
    source = await store.conversations.get(await prison_run(store, settings, prison_on_sim_tiny, n_messages=4,
                                                            days=1))
    before = await store.conversations.rows()
    for changes, at, message in [(ForkChanges(), 4, "a fork starts at a message of the source, 0 to 3"),
                                 (ForkChanges(llm="warden=ollama/sim-tiny"), 2, "no participant has that role"),
                                 (ForkChanges(role_prompts=(RolePrompt("cook", "x", "y"),)), 2, "no participant")]:
        with pytest.raises(ValidationError, match=message):
            await create_forks(store, settings.user, [source], at, [changes], 1, {})
    assert len(await store.conversations.rows()) == len(before)


async def test_a_chatroom_fork_replaces_one_participants_model_in_place(store, settings):
    spec = PROTOCOLS["chatroom"].plan({"models": [["ollama/sim-tiny", "ollama/sim-tiny"]], "max_iterations": 8},
                                      Common(seed=7)).base
    cid = await conv.create(store, settings.user, None, spec)
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(lambda m, o, n: f"line {n}"))
    fork, twin = await create_forks(store, settings.user, [await store.conversations.get(cid)], 3,
                                    [ForkChanges(llm="lm2=ollama/other")], 2, {}, seed=1)
    stored = await store.conversations.get(fork.conversation_id)
    assert (stored.spec.seed, (await store.conversations.get(twin.conversation_id)).spec.seed) == (1, 2)
    assert [l.model for l in stored.spec.llms] == ["ollama/sim-tiny", "ollama/other"]
    await conv.run(store, settings, fork.conversation_id, ModelSettings(),
                   model=ScriptedModel(lambda m, o, n: f"fork {n}"))
    ours, theirs = await store.messages.list(fork.conversation_id), await store.messages.list(cid)
    assert len(ours) == len(theirs) == 8 and content(ours[:3]) == content(theirs[:3])
    assert [m.content for m in ours[3:]] == [f"fork {n}" for n in range(5)]


async def test_a_telephone_fork_continues_the_chain(store, settings):
    spec = PROTOCOLS["telephone"].plan({"llm": "ollama/sim-tiny", "texts": None, "generations": 5},
                                       Common(seed=2)).cells(2)[0].spec
    cid = await conv.create(store, settings.user, None, spec)
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(lambda m, o, n: f"Version {n + 1}."))
    source = await store.conversations.get(cid)
    with pytest.raises(ValidationError, match="no system prompt"):
        await create_forks(store, settings.user, [source], 2, [ForkChanges(
            role_prompts=(RolePrompt("generation", "x", "y"),))], 1, {})
    [fork] = await create_forks(store, settings.user, [source], 2, [ForkChanges(temperature=1.5)], 1, {})
    model = ScriptedModel(lambda m, o, n: f"Other {n + 1}.")
    await conv.run(store, settings, fork.conversation_id, ModelSettings(), model=model)
    assert model.calls[0][0][0]["content"].endswith("\n\nVersion 2.")  # it continues from the copied message 1
    assert [m.content for m in await store.messages.list(fork.conversation_id)] == \
        ["Version 1.", "Version 2.", "Other 1.", "Other 2.", "Other 3."]


async def test_reproduce_from_recorded_calls_is_identical(store, settings, prison_on_sim_tiny):
    source_id = await prison_run(store, settings, prison_on_sim_tiny, n_messages=6, days=2)
    offline = type(settings)(**{**settings.__dict__, "ollama_host": "http://127.0.0.1:9"})  # no server needed
    result = await reproduce(store, offline, source_id, ModelSettings(mode=CallMode.REPLAY))
    assert result.identical, (result.outcome, result.difference)
    assert content(await store.messages.list(result.conversation_id)) == \
        content(await store.messages.list(source_id))


def test_first_difference_names_the_message_and_the_field():
    def msg(i, text, speaker="a"):
        return Message(conversation_id=None, index=i, day=0, role="r", speaker=speaker, content=text)

    assert first_difference([msg(0, "x")], [msg(0, "x")], [], []) is None
    assert first_difference([msg(0, "x"), msg(1, "y")], [msg(0, "x"), msg(1, "z")], [], []).line() == \
        "message 1 differs in content: source 'y', reproduction 'z'"
    assert first_difference([msg(0, "x")], [msg(0, "x", "b")], [], []).what == "speaker"
    assert first_difference([msg(0, "x")], [], [], []).what == "presence"
    assert first_difference([], [], [{"day": 0, "content": "s"}], [{"day": 0, "content": "t"}]).index == -1


async def test_fork_provenance_and_reproduce_from_the_command_line(store, settings, cli_env, prison_on_sim_tiny,
                                                                   tmp_path):
    source_id = await prison_run(store, settings, prison_on_sim_tiny, n_messages=4, days=1)

    def simulator(*args):
        return subprocess.run([sys.executable, "-m", "simulator", *args], env=cli_env, capture_output=True,
                              text=True, timeout=300)

    prompt = tmp_path / "guard.txt"
    prompt.write_text("You are a tired guard.")
    done = simulator("fork", str(source_id), "--at", "2", "--llm", "guard=ollama/sim-tiny", "--temperature", "0.3",
                     "--temperature", "1.0", "--role-prompt", f"guard={prompt}", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "batch " in done.stdout and done.stdout.count("fork ") == 2
    forks = [c for c in await store.conversations.find() if c.forked_from]
    assert len(forks) == 2 and all(c.status is Status.COMPLETED for c in forks)
    assert {c.forked_from["changes"]["temperature"] for c in forks} == {0.3, 1.0}

    shown = simulator("provenance", str(forks[0].id))
    assert shown.returncode == 0, shown.stderr
    assert f"forked from {source_id} at message 2" in shown.stdout and "packages: " in shown.stdout
    assert "model ollama/sim-tiny: digest " in shown.stdout
    as_json = json.loads(simulator("provenance", str(forks[0].id), "--json").stdout)
    assert as_json["environment"]["python"] and as_json["calls"]
    exported = json.loads(simulator("export", str(forks[0].id), "--format", "json").stdout)
    assert exported["forked_from"]["at"] == 2 and exported["provenance"]["environment"]
    assert "forked from" in simulator("show", str(forks[0].id)).stdout

    again = simulator("reproduce", str(forks[0].id))
    assert again.returncode == 0 and again.stdout.strip().endswith("identical"), again.stdout + again.stderr

    bad = simulator("fork", str(source_id), "--at", "9")
    assert bad.returncode == 1 and bad.stderr.startswith("error: --at 9") and "Traceback" not in bad.stderr
    missing = simulator("fork", str(source_id), "--at", "1", "--role-prompt", "guard=/nonexistent")
    assert missing.returncode == 1 and "cannot read /nonexistent" in missing.stderr
