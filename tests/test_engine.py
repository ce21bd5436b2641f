"""Engine logic with a scripted model, persisted in the real FerretDB and in the in-memory store (the unit
tier: the turn loop tested with no server)."""

import asyncio
from pathlib import Path

import pytest

from scripted import ScriptedModel, is_summary_call, speaker_of
from simulator.protocols.roles import role_spec
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.core.agents import Agent
from simulator.engine.context import Chain, Framing, LastK, Round, SharedTranscript
from simulator.engine.selection import AlternateRoles, Auto, RandomNoRepeat, match_agent
from simulator.engine.state import ConversationState, Turn, day_of, day_sizes
from simulator.errors import ModelError
from simulator.llm.factory import ModelSettings
from simulator.llm.types import ChatOptions
from simulator.store import Status

PRISON = Path(__file__).resolve().parent.parent / "prompts" / "prison.yaml"

pytestmark = pytest.mark.both_stores


def echo_speaker(messages, options, n):
    """Each agent says who it is and which turn it saw last; summaries say so."""
    if is_summary_call(messages):
        return "SUMMARY " + messages[-1]["content"].split("Write the summary of ")[1]
    return f"{speaker_of(messages)} speaks (call {n})."


@pytest.fixture
async def prison(store, settings):
    return await import_file(store, settings.user, PRISON)


async def start(store, settings, prison, model, *, agents=None, messages=6, days=1, speaker="round_robin",
                view="shared", seed=5, **extra):
    request = role_spec(llm=prison.experiment.llms[0], agent_counts=agents or {"guard": 1, "prisoner": 1},
                        n_messages=messages, days=days, speaker_selection=speaker, view=view, seed=seed,
                        **extra)
    cid = await conv.create(store, settings.user, prison, request)
    options = ModelSettings()
    model.meter = options.meter
    outcome = await conv.run(store, settings, cid, options, model=model)
    return cid, outcome


async def test_round_robin_persists_every_turn_in_order(store, settings, prison):
    model = ScriptedModel(echo_speaker)
    cid, outcome = await start(store, settings, prison, model, agents={"guard": 2, "prisoner": 1}, messages=7)
    assert outcome.status is Status.COMPLETED and outcome.reason == "message budget reached (7)"
    doc = await store.conversations.get(cid)
    names = [a.name for a in doc.agents]
    stored = await store.messages.list(cid)
    assert [m.index for m in stored] == list(range(7))
    assert [m.speaker for m in stored] == [names[i % 3] for i in range(7)]
    assert all(m.content.startswith(m.speaker) for m in stored)
    assert doc.status.value == "completed" and doc.usage.prompt_tokens == 10 * 8  # 7 turns + 1 summary
    assert doc.timings["started_at"] <= doc.timings["finished_at"]


async def test_agent_names_are_role_based_and_unique(store, settings, prison):
    cid, _ = await start(store, settings, prison, ScriptedModel(echo_speaker), agents={"guard": 3, "prisoner": 3},
                         messages=1)
    doc = await store.conversations.get(cid)
    names = [a.name for a in doc.agents]
    assert len(set(names)) == 6
    assert all(n.split("_")[0] == a.role.capitalize() for n, a in zip(names, doc.agents))


async def test_days_split_budget_and_agents_only_see_their_day(store, settings, prison):
    model = ScriptedModel(echo_speaker)
    cid, _ = await start(store, settings, prison, model, messages=12, days=2)
    stored = await store.messages.list(cid)
    assert [m.day for m in stored] == [0] * 6 + [1] * 6
    summaries = await store.summaries.list(cid)
    assert [s["day"] for s in summaries] == [0, 1]
    assert summaries[0]["content"] == "SUMMARY day 1."
    summary_calls = [c for c in model.calls if is_summary_call(c[0])]
    assert len(summary_calls) == 2
    assert all(m.content in summary_calls[0][0][-1]["content"] for m in stored[:6])
    day_two_views = [c[0] for c in model.calls if not is_summary_call(c[0])][6:]
    for view in day_two_views:
        seen = "\n".join(m["content"] for m in view[1:])
        assert "Summary of day 1:\nSUMMARY day 1." in seen and "Day 2 begins." in seen
        assert not any(m.content in seen for m in stored[:6])


def test_day_sizes_spread_the_remainder():
    assert day_sizes(10, 3) == [4, 3, 3]
    assert [day_of(i, 10, 3) for i in range(10)] == [0] * 4 + [1] * 3 + [2] * 3


def _state(agents, speakers):
    return ConversationState(agents=agents, n_messages=100, days=1,
                             turns=[Turn(i, 0, s, s.split("_")[0].lower(), "x") for i, s in enumerate(speakers)])


AGENTS = [Agent("Guard_1", "guard"), Agent("Guard_2", "guard"), Agent("Prisoner_3", "prisoner")]


async def test_random_selection_never_repeats_and_is_reproducible():
    selector = RandomNoRepeat(seed=42)
    speakers: list[str] = []
    for _ in range(60):
        agent, _ = await selector.next(_state(AGENTS, speakers))
        speakers.append(agent.name)
    assert all(a != b for a, b in zip(speakers, speakers[1:]))
    assert set(speakers) == {a.name for a in AGENTS}
    again: list[str] = []
    for _ in range(60):
        again.append((await RandomNoRepeat(seed=42).next(_state(AGENTS, again)))[0].name)
    assert again == speakers


async def test_alternate_roles_cycles_roles_then_agents_within_a_role():
    speakers: list[str] = []
    for _ in range(6):
        speakers.append((await AlternateRoles().next(_state(AGENTS, speakers)))[0].name)
    assert speakers == ["Guard_1", "Prisoner_3", "Guard_2", "Prisoner_3", "Guard_1", "Prisoner_3"]


@pytest.mark.parametrize("answer, expected", [
    ("Prisoner_3", "Prisoner_3"), ("prisoner_3.", "Prisoner_3"), ("**Guard 2**", "Guard_2"),
    ("I think guard2 should speak", "Guard_2"), ("The prisoner", "Prisoner_3"), ("3", "Prisoner_3"),
    ("the guards", "Guard_2"),  # a role names its first member who did not just speak
])
def test_auto_selection_matches_names_tolerantly(answer, expected):
    assert match_agent(answer, AGENTS, last="Guard_1").name == expected


@pytest.mark.parametrize("answer, last, expected", [
    # what smollm2:135m answered to the auto prompt (Guard_431, Prisoner_254, Prisoner_310)
    ("The correct answer is Prisoner_310 (Prisoner) because the previous participant who speaks to guard_431 "
     "must be prisoner_", "Guard_431", "Prisoner_310"),
    ("To solve this puzzle, we need to choose a person who cannot be the only one. This person is Prisoner_310",
     "Guard_431", "Prisoner_310"),
    ("The answer would be Prisoner_310 since he's the other one who speaks.", "Prisoner_254", "Prisoner_310"),
    ("The answer is: Prisoner_254 (Prisoner), not Guard_431.", "Prisoner_254", "Guard_431"),
])
def test_auto_selection_takes_the_first_name_in_a_real_answer(answer, last, expected):
    agents = [Agent("Guard_431", "guard"), Agent("Prisoner_254", "prisoner"), Agent("Prisoner_310", "prisoner")]
    assert match_agent(answer, agents, last=last).name == expected


async def test_auto_selection_uses_the_model_and_falls_back_to_round_robin():
    model = ScriptedModel(["Prisoner_3"])
    agent, note = await Auto(model, ChatOptions()).next(_state(AGENTS, ["Guard_1"]))
    assert agent.name == "Prisoner_3" and note is None
    confused = ScriptedModel(["banana", "no idea"])
    agent, note = await Auto(confused, ChatOptions(), attempts=2).next(_state(AGENTS, ["Guard_1"]))
    assert len(confused.calls) == 2
    assert agent.name == "Guard_2" and "fell back to round robin" in note


async def test_auto_fallback_is_recorded_on_the_message(store, settings, prison):
    def script(messages, options, n):
        if "Who should speak next" in messages[-1]["content"]:
            return "nobody knows"
        return echo_speaker(messages, options, n)

    cid, outcome = await start(store, settings, prison, ScriptedModel(script), messages=3, speaker="auto")
    assert outcome.status is Status.COMPLETED
    stored = await store.messages.list(cid)
    assert all(m.usage.get("note") == "auto selection fell back to round robin" for m in stored)


async def test_manual_selection_asks_the_chooser(store, settings, prison):
    asked = []

    async def chooser(state):
        asked.append(state.next_index)
        return [a for a in state.agents if a.role == "prisoner"][0]

    request = role_spec(llm=prison.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1},
                        n_messages=3, speaker_selection="manual", seed=1)
    cid = await conv.create(store, settings.user, prison, request)
    options = ModelSettings()
    model = ScriptedModel(echo_speaker, options.meter)
    await conv.run(store, settings, cid, options, model=model, chooser=chooser)
    assert asked == [0, 1, 2]
    assert {m.role for m in await store.messages.list(cid)} == {"prisoner"}


async def test_leaked_turns_are_cut_and_raw_text_kept(store, settings, prison):
    def leaky(messages, options, n):
        if is_summary_call(messages):
            return "summary"
        me = speaker_of(messages)
        return f"**{me}**: My line.\nPrisoner_999: a line I should not write\nGuard: nor this"

    cid, _ = await start(store, settings, prison, ScriptedModel(leaky), messages=2)
    for message in await store.messages.list(cid):
        assert message.content == "My line."
        assert "Prisoner_999" in message.raw_content


async def test_empty_turn_after_cleaning_is_retried(store, settings, prison):
    def first_try_leaks(messages, options, n):
        if is_summary_call(messages):
            return "summary"
        return "Prisoner_999: not mine" if n % 2 == 0 else f"{speaker_of(messages)}: fine."

    model = ScriptedModel(first_try_leaks)
    cid, outcome = await start(store, settings, prison, model, messages=3)
    assert outcome.status is Status.COMPLETED
    assert [m.content for m in await store.messages.list(cid)] == ["fine."] * 3
    seeds = [c[1].seed for c in model.calls[:2]]
    assert seeds[0] != seeds[1]  # a retry samples again with another seed


async def test_always_empty_fails_with_the_reason(store, settings, prison):
    cid, outcome = await start(store, settings, prison, ScriptedModel(["User: only another's line"]), messages=3)
    assert outcome.status is Status.FAILED
    doc = await store.conversations.get(cid)
    assert doc.status.value == "failed" and "gave no usable text in 3 tries at message 0" in doc.error


class FailingAfter(ScriptedModel):
    def __init__(self, n_ok, script):
        super().__init__(script)
        self.n_ok = n_ok

    async def chat(self, messages, options):
        if len(self.calls) >= self.n_ok:
            raise ModelError("scripted/test at scripted: connection refused (gave up after 4 attempts)")
        return await super().chat(messages, options)


async def test_failed_run_is_marked_and_resume_completes_without_duplicates(store, settings, prison):
    request = role_spec(llm=prison.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 2},
                        n_messages=10, days=2, seed=3)
    cid = await conv.create(store, settings.user, prison, request)
    first = ModelSettings()
    broken = FailingAfter(4, echo_speaker)
    broken.meter = first.meter
    outcome = await conv.run(store, settings, cid, first, model=broken)
    assert outcome.status is Status.FAILED and outcome.messages == 4
    doc = await store.conversations.get(cid)
    assert doc.status.value == "failed" and "connection refused" in doc.error

    second = ModelSettings()
    outcome = await conv.run(store, settings, cid, second, model=ScriptedModel(echo_speaker, second.meter))
    assert outcome.status is Status.COMPLETED
    stored = await store.messages.list(cid)
    assert [m.index for m in stored] == list(range(10))
    names = [a.name for a in doc.agents]
    assert [m.speaker for m in stored] == [names[i % 3] for i in range(10)]  # the order survived the crash
    assert len(await store.summaries.list(cid)) == 2
    assert (await store.conversations.get(cid)).usage.prompt_tokens == 10 * 12  # 10 turns + 2 summaries


async def test_missing_summary_after_a_crash_is_written_on_resume(store, settings, prison):
    request = role_spec(llm=prison.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1},
                        n_messages=4, days=2, seed=3)
    cid = await conv.create(store, settings.user, prison, request)
    crash = ModelSettings()
    # the 3rd call is day 1's summary: the crash comes after message 1 is stored, before its summary
    outcome = await conv.run(store, settings, cid, crash, model=FailingAfter(2, echo_speaker))
    assert outcome.messages == 2 and await store.summaries.list(cid) == []
    resume = ModelSettings()
    await conv.run(store, settings, cid, resume, model=ScriptedModel(echo_speaker, resume.meter))
    assert [s["day"] for s in await store.summaries.list(cid)] == [0, 1]


async def test_cancelling_stops_cleanly_and_resume_finishes(store, settings, prison):
    request = role_spec(llm=prison.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1},
                        n_messages=8, seed=9)
    cid = await conv.create(store, settings.user, prison, request)

    class Slow(ScriptedModel):
        async def chat(self, messages, options):
            await asyncio.sleep(0.05)
            return await super().chat(messages, options)

    task = asyncio.create_task(conv.run(store, settings, cid, ModelSettings(), model=Slow(echo_speaker)))
    while await store.messages.count(cid) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    doc = await store.conversations.get(cid)
    assert doc.status.value == "stopped" and doc.stop_reason == "interrupted"
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(echo_speaker))
    assert [m.index for m in await store.messages.list(cid)] == list(range(8))


async def test_completed_conversation_is_not_run_again(store, settings, prison):
    cid, _ = await start(store, settings, prison, ScriptedModel(echo_speaker), messages=2)
    with pytest.raises(Exception, match="already completed"):
        await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(echo_speaker))


async def test_stop_keyword_ends_the_conversation(store, settings, prison):
    def script(messages, options, n):
        return "summary" if is_summary_call(messages) else ("Enough. ^C^C" if n == 2 else "Talk.")

    cid, outcome = await start(store, settings, prison, ScriptedModel(script), messages=10, stop_keyword="^C^C")
    assert outcome.status is Status.COMPLETED and "stop keyword" in outcome.reason
    assert await store.messages.count(cid) == 3
    assert len(await store.summaries.list(cid)) == 1  # the open day is summarised at the end


async def test_self_replication_is_detected(store, settings, prison):
    def script(messages, options, n):
        return "summary" if is_summary_call(messages) else ["Copy me now.", "Copy me now!"][n % 2]

    cid, outcome = await start(store, settings, prison, ScriptedModel(script), messages=40, detect_cycles=True)
    assert "self-replicating cycle (period 1" in outcome.reason
    assert await store.messages.count(cid) == 7  # window 6 + period 1


async def test_token_budget_stops(store, settings, prison):
    cid, outcome = await start(store, settings, prison, ScriptedModel(echo_speaker), messages=40, token_budget=45)
    assert "token budget reached" in outcome.reason
    assert await store.messages.count(cid) == 3  # 15 tokens per turn


def _framing(agents):
    return Framing({a.name: f"You are {a.name}." for a in agents}, "The yard opens.")


def test_views_shared_last_k_round_and_chain():
    agents = AGENTS[:2] + [AGENTS[2]]
    state = _state(agents, ["Guard_1", "Prisoner_3", "Guard_2", "Prisoner_3"])
    for i, turn in enumerate(state.turns):
        turn.content = f"m{i}"
    framing = _framing(agents)
    shared = SharedTranscript(framing).view_for(agents[0], state, 0)
    assert shared[0] == {"role": "system", "content": "You are Guard_1."}
    assert shared[1] == {"role": "user", "content": "The yard opens."}
    assert shared[2] == {"role": "assistant", "content": "m0"}
    assert shared[3] == {"role": "user", "content": "Prisoner_3: m1\n\nGuard_2: m2\n\nPrisoner_3: m3"}
    last2 = LastK(framing, 2).view_for(agents[0], state, 0)
    assert last2[-1]["content"] == "The yard opens.\n\nGuard_2: m2\n\nPrisoner_3: m3"
    backrooms = Round(framing).view_for(agents[2], state, 0)
    assert [m["role"] for m in backrooms] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert backrooms[-1]["content"] == "(Continue as Prisoner_3.)"
    assert backrooms[3]["content"] == "m2"  # no names in a round
    chain = Chain(framing).view_for(agents[1], state, 0)
    assert chain == [{"role": "system", "content": "You are Guard_2."}, {"role": "user", "content": "m3"}]
    first = Chain(framing).view_for(agents[0], _state(agents, []), 0)
    assert first[1]["content"] == "The yard opens."


async def test_telephone_chain_passes_only_the_previous_output(store, settings, prison):
    def script(messages, options, n):
        if is_summary_call(messages):
            return "summary"
        return messages[-1]["content"].split(" +")[0] + f" +{n}"

    cid, _ = await start(store, settings, prison, ScriptedModel(script), messages=4, view="chain")
    contents = [m.content for m in await store.messages.list(cid)]
    assert contents[0].endswith("+0") and all(c.count("+") == 1 for c in contents)
