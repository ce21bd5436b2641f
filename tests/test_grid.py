"""The batch grid: combinations, day settings, nesting order, call estimate."""

import pytest

from simulator.core.experiment import LLMSetting
from simulator.core.grid import agent_combinations, day_settings
from simulator.errors import ValidationError
from simulator.protocols import roles


def expand_grid(*, repeats, n_llms, days, every_day_count, max_agents, every_combination):
    """The role experiment's sweep as (repeat, llm, days, agent counts) tuples, in nesting order."""
    plan = roles.role_batch(llms=[LLMSetting(f"ollama/m{i}") for i in range(n_llms)], max_agents=max_agents,
                            n_messages=10, days=days, every_day_count=every_day_count,
                            every_combination=every_combination, repeats=repeats)
    return plan.cells()


def summary(cell):
    v = cell.values
    return (v["repeat"], v["llm"], v["days"], v["agent_counts"])


def test_every_combination_of_agent_counts():
    assert agent_combinations({"guard": 2, "prisoner": 2}, True) == [
        {"guard": 1, "prisoner": 1}, {"guard": 1, "prisoner": 2}, {"guard": 2, "prisoner": 1},
        {"guard": 2, "prisoner": 2}]
    assert agent_combinations({"guard": 2, "prisoner": 3}, False) == [{"guard": 2, "prisoner": 3}]
    assert len(agent_combinations({"a": 3, "b": 2, "c": 2}, True)) == 12


def test_day_settings():
    assert day_settings(3, True) == [1, 2, 3]
    assert day_settings(3, False) == [3]


def test_nesting_order_is_repeat_llm_days_agents():
    cells = expand_grid(repeats=2, n_llms=2, days=2, every_day_count=True, max_agents={"g": 2, "p": 1},
                        every_combination=True)
    assert len(cells) == 2 * 2 * 2 * 2
    assert [summary(c) for c in cells[:5]] == [(0, 0, 1, {"g": 1, "p": 1}), (0, 0, 1, {"g": 2, "p": 1}),
                                               (0, 0, 2, {"g": 1, "p": 1}), (0, 0, 2, {"g": 2, "p": 1}),
                                               (0, 1, 1, {"g": 1, "p": 1})]
    assert cells[8].values["repeat"] == 1
    assert cells[3].spec.option("days") == 2 and cells[4].spec.llms[0].model == "ollama/m1"


def test_the_sweep_of_the_issue_has_240_cells():
    cells = expand_grid(repeats=5, n_llms=3, days=4, every_day_count=True, max_agents={"g": 2, "p": 2},
                        every_combination=True)
    assert len(cells) == 3 * 4 * 4 * 5
    assert sum(roles.RoleExperiment().estimated_calls(c.spec) for c in cells) == 240 * 10 + 5 * 3 * 4 * (1 + 2 + 3 + 4)


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats"), ({"n_llms": 0}, "LLM"), ({"days": 0}, "days"),
    ({"max_agents": {"g": 0}}, "1 to 50"), ({"max_agents": {}}, "1 to 50")])
def test_bad_grids_are_refused(kwargs, message):
    args = {"repeats": 1, "n_llms": 1, "days": 1, "every_day_count": False, "max_agents": {"g": 1},
            "every_combination": True, **kwargs}
    with pytest.raises(ValidationError, match=message):
        expand_grid(**args)
