"""Stop conditions in isolation, and their composition."""

from simulator.core.agents import Agent
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import (CostBudget, Keyword, MessageBudget, SelfReplication, TokenBudget, WallClock,
                                    similarity)


def state_with(contents, **usage):
    agents = [Agent("A_1", "a"), Agent("B_2", "b")]
    turns = [Turn(i, 0, agents[i % 2].name, agents[i % 2].role, c) for i, c in enumerate(contents)]
    return ConversationState(agents=agents, n_messages=100, days=1, turns=turns, **usage)


def test_message_budget():
    assert MessageBudget(3).check(state_with(["x", "y"])) is None
    assert MessageBudget(3).check(state_with(["x", "y", "z"])).reason == "message budget reached (3)"


def test_keyword():
    assert Keyword().check(state_with(["go on"])) is None
    stop = Keyword().check(state_with(["I am done ^C^C"]))
    assert "^C^C" in stop.reason and "A_1" in stop.reason and not stop.resumable


def test_self_replication_periods_one_to_five():
    detector = SelfReplication(window=6, max_period=5, threshold=0.9)
    for period in range(1, 6):
        cycle = ["Copy this message and pass it on.", "The yard is quiet today.", "Who has the keys?",
                 "Nobody leaves before dawn.", "Soup again, always soup."][:period]
        contents = ["warm up text"] * 3 + [cycle[i % period] for i in range(6 + period)]
        assert detector.period(contents) == period
        assert f"period {period}" in detector.check(state_with(contents)).reason


def test_self_replication_needs_the_whole_window():
    detector = SelfReplication(window=6)
    assert detector.check(state_with(["same"] * 6)) is None  # 6 messages: no 7th to compare with
    assert detector.check(state_with(["same"] * 7)) is not None
    varied = [" ".join(["word%d" % ((i * 7 + j) % 31) for j in range(i % 4 + 2)]) for i in range(20)]
    assert detector.check(state_with(varied)) is None


def test_similarity_threshold_is_configurable():
    near = ["the guard opens the gate now"] + ["the guard opens the gate now!", "the guard opens the gate now"] * 4
    assert SelfReplication(window=6, threshold=0.9).period(near) == 1
    assert SelfReplication(window=6, threshold=1.0).period(near) == 2
    assert similarity("Hello  World", "hello world") == 1.0


def test_token_and_cost_budgets():
    assert TokenBudget(100).check(state_with([], prompt_tokens=60, completion_tokens=30)) is None
    assert TokenBudget(100).check(state_with([], prompt_tokens=60, completion_tokens=40)) is not None
    assert CostBudget(0.5).check(state_with([], cost=0.49)) is None
    assert "cost budget" in CostBudget(0.5).check(state_with([], cost=0.5)).reason


def test_wall_clock_pauses_resumably():
    state = state_with([])
    state.started = 100.0
    assert WallClock(30, clock=lambda: 120.0).check(state) is None
    stop = WallClock(30, clock=lambda: 131.0).check(state)
    assert stop.resumable and "wall-clock" in stop.reason


def test_composition_with_or_and_and():
    state = state_with(["a", "b", "c ^C^C"], prompt_tokens=10)
    either = MessageBudget(10) | Keyword()
    assert "stop keyword" in either.check(state).reason
    both = MessageBudget(3) & TokenBudget(100)
    assert both.check(state) is None
    both_met = MessageBudget(3) & TokenBudget(10)
    assert both_met.check(state).reason == "message budget reached (3) and token budget reached (10 >= 10)"
    assert (MessageBudget(10) | TokenBudget(1000) | Keyword("STOP")).check(state) is None
