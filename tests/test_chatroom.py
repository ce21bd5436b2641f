"""The chatroom protocol: cycle detection by hand, a scripted room that converges, a real room."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rapidfuzz import fuzz

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.core.run_spec import RunSpec
from simulator.errors import ValidationError
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.chatroom import find_cycle, similarity
from simulator.store import Status

CHATROOM = PROTOCOLS["chatroom"]


@pytest.mark.parametrize("period", [1, 2, 3, 4, 5])
def test_every_period_from_1_to_5_is_found(period):
    cycle = [f"message {i} of a cycle" for i in range(period)]
    history = ["warm-up"] * 3 + cycle * 3
    assert find_cycle(history, min_length=3) == (period, [history[-1]] * 3)


def test_the_shortest_period_wins_and_the_repeating_messages_are_oldest_first():
    history = ["a", "b", "a", "b", "a", "b"]
    assert find_cycle(history) == (2, ["b", "b", "b"])
    assert find_cycle(["x", "y", "z", "z", "z"]) == (1, ["z", "z", "z"])


def test_near_misses_are_not_cycles():
    assert find_cycle(["a", "b", "a", "b", "a"], min_length=4) is None  # only 3 of the 4 needed
    assert find_cycle(["the same", "the same", "the sane"]) is None  # one letter off in 8: ratio 87.5
    assert find_cycle([f"turn {i}" for i in range(20)]) is None
    assert find_cycle(["only", "two"], min_length=3) is None
    assert find_cycle(["a", "b", "c", "d", "e", "f", "a", "b", "c", "d", "e", "f"]) is None  # period 6 > 5


def test_threshold_uses_the_rounded_indel_ratio():
    base = "x" * 83
    near = base + "y"  # one insertion in 83 + 84 = 167 characters: 100 * (1 - 1/167) = 99.40
    assert fuzz.ratio(base, near) == pytest.approx(99.40, abs=0.01)
    assert similarity(base, near) == 99
    assert find_cycle([base, near, base], threshold=99) is None  # 99 is not above 99
    longer = "x" * 124
    closer = longer + "y"  # 100 * (1 - 1/249) = 99.598: rounds to 100
    assert fuzz.ratio(longer, closer) == pytest.approx(99.60, abs=0.01)
    assert similarity(longer, closer) == 100
    assert find_cycle([longer, closer, longer], threshold=99) == (1, [longer, closer, longer])
    assert find_cycle([base, near, base], threshold=98) == (1, [base, near, base])


def test_exact_requires_identical_text():
    longer = "x" * 124
    assert find_cycle([longer, longer + "y", longer], exact=True) is None
    assert find_cycle([longer] * 3, exact=True) == (1, [longer] * 3)


def chatroom_plan(**values):
    return CHATROOM.plan({"models": [["ollama/sim-tiny", "ollama/sim-tiny"]], **values}, Common(seed=7))


def test_system_prompts_must_be_one_or_one_per_participant():
    spec = chatroom_plan(system_prompts=["a", "b", "c"]).base
    with pytest.raises(ValidationError, match="one for everyone or exactly one per participant"):
        CHATROOM.check(spec)
    assert CHATROOM.check(chatroom_plan(system_prompts=["shared"]).base).option("system_prompts") == ["shared"]


@pytest.mark.both_stores
async def test_a_scripted_room_that_falls_into_a_period_2_cycle_stops_and_records_it(store, settings):
    spec = chatroom_plan(max_iterations=40, initial_prompts=["Hi.", "Hello."]).base
    cid = await conv.create(store, settings.user, None, spec)
    model = ScriptedModel(lambda messages, options, n: "Tell me something new." if n == 0 else
                          ("Ping." if n % 2 else "Pong."))
    outcome = await conv.run(store, settings, cid, ModelSettings(), model=model)
    assert outcome.status is Status.COMPLETED and "cycle of period 2" in outcome.reason
    conversation = await store.conversations.get(cid)
    assert conversation.outcome["converged"] is True and conversation.outcome["period"] == 2
    contents = [m.content for m in await store.messages.list(cid)]
    assert len(contents) == 6 and contents[-1] == contents[-3] == contents[-5] == "Ping."
    assert conversation.outcome["repeating"] == [contents[-5], contents[-3], contents[-1]]
    # every call saw the room: the newest message as the user turn
    first_view = model.calls[0][0]
    assert [m["role"] for m in first_view] == ["assistant", "user"] and first_view[-1]["content"] == "Hello."


@pytest.mark.both_stores
async def test_speakers_are_drawn_uniformly_with_repeats_and_reproducibly(store, settings):
    spec = chatroom_plan(max_iterations=30).base
    speakers = []
    for _ in range(2):
        cid = await conv.create(store, settings.user, None, spec)
        await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(lambda m, o, n: f"line {n}"))
        speakers.append([m.speaker for m in await store.messages.list(cid)])
    assert speakers[0] == speakers[1] and set(speakers[0]) == {"lm1", "lm2"}
    assert any(a == b for a, b in zip(speakers[0], speakers[0][1:]))  # the same participant may speak twice


@pytest.mark.real_model
async def test_two_smollm2_participants_run_12_steps_and_export_config_and_history(cli_env, store, tmp_path):
    result = subprocess.run([sys.executable, "-m", "simulator", "chatroom", "--models", "ollama/smollm2:135m",
                             "ollama/smollm2:135m", "--max-iterations", "12", "--max-tokens", "40", "--seed", "3",
                             "--initial-prompts", "Tell me one true thing about the sea."],
                            env=cli_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    cid = result.stdout.split()[1]
    exported = tmp_path / "room.json"
    done = subprocess.run([sys.executable, "-m", "simulator", "export", cid, "--format", "json", "-o", str(exported)],
                          env=cli_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    record = json.loads(exported.read_text())
    assert record["protocol"] == "chatroom" and record["status"] == "completed"
    config = record["config"]
    assert [l["model"] for l in config["llms"]] == ["ollama/smollm2:135m"] * 2 and config["seed"] == 3
    assert config["options"]["initial_prompts"] == ["Tell me one true thing about the sea."]
    assert config["options"]["threshold"] == 99 and config["options"]["max_context"] == 10
    history = record["messages"]
    converged = record["outcome"].get("converged")
    assert len(history) == 12 or converged, record["ending"]
    assert [m["index"] for m in history] == list(range(len(history)))
    assert all(m["speaker"] in ("lm1", "lm2") and m["content"].strip() for m in history)
    print(f"\nsmollm2 chatroom: {len(history)} steps, converged: {converged}; first: {history[0]['content'][:80]!r}")


def test_runspec_round_trips_through_its_document():
    spec = CHATROOM.check(chatroom_plan(exact=True, max_context=4).base)
    again = RunSpec.from_document(spec.to_document())
    assert again == spec and again.option("exact") is True and again.option("max_context") == 4
