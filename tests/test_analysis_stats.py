"""Cumulativeness, scores per role, persuasion rates and Cohen's kappa on hand-counted data."""

import importlib
import inspect
import pkgutil

import pytest

import simulator.analysis as analysis
import simulator.analysis.metrics as metrics
from simulator.analysis import (AnalysisError, PersuasionRates, RoleScore, cohen_kappa, cumulativeness,
                                persuasion_rates, role_scores)


def test_the_public_surface_is_declared():
    assert {"attractor", "cumulativeness", "role_scores", "persuasion_rates", "cohen_kappa", "logistic_regression",
            "ols_regression", "AnalysisError"} <= set(analysis.__all__)
    assert all(hasattr(analysis, name) for name in analysis.__all__)
    assert all(hasattr(metrics, name) for name in metrics.__all__)


def test_no_exported_function_hides_a_module_of_the_same_name():
    # `from .attractor import attractor` in __init__ would make `analysis.attractor` the function,
    # so `import simulator.analysis.attractor as m` and mock.patch paths would find no module.
    for package in (analysis, metrics):
        for module in pkgutil.iter_modules(package.__path__):
            assert inspect.ismodule(importlib.import_module(f"{package.__name__}.{module.name}"))
            assert inspect.ismodule(getattr(package, module.name)), f"{package.__name__}.{module.name}"


@pytest.mark.parametrize("series, expected", [
    ([0, 1, 1.5], 0.5 / 1.5),        # later generations span 1..1.5 of the whole 0..1.5
    ([0, 0.2, 0.6, 1.0], 0.8),       # (1.0 - 0.2) / (1.0 - 0)
    ([0, 1, 1, 1], 0.0),             # one jump at the first retelling, then nothing
    ([1, 0, 2], 1.0),                # the later values span the whole range
    ([0.5, 0.5, 0.5], 0.0),          # nothing changed: 0, not 0/0
])
def test_cumulativeness(series, expected):
    assert cumulativeness(series) == pytest.approx(expected)


def test_cumulativeness_needs_two_generations_and_numbers():
    with pytest.raises(AnalysisError, match="at least one more"):
        cumulativeness([0.4])
    with pytest.raises(AnalysisError, match=r"series\[1\]"):
        cumulativeness([0.4, float("nan"), 0.2])


def test_role_scores_per_role_with_a_role_that_never_spoke():
    records = [("guard", 0.9), ("prisoner", 0.1), ("guard", 0.2), ("guard", 0.7), ("prisoner", 0.5)]
    result = role_scores(records, roles=["guard", "prisoner", "warden"])
    assert list(result) == ["guard", "prisoner", "warden", "all"]
    assert result["guard"] == RoleScore(3, pytest.approx(1.8 / 3), pytest.approx(2 / 3))  # 0.9 and 0.7 > 0.5
    assert result["prisoner"] == RoleScore(2, pytest.approx(0.3), 0.0)  # 0.5 is not above 0.5
    assert result["warden"] == RoleScore(0, None, None)
    assert result["all"] == RoleScore(5, pytest.approx(2.4 / 5), pytest.approx(2 / 5))


def test_role_scores_lists_unexpected_speakers_and_refuses_a_role_named_all():
    assert list(role_scores([("narrator", 0.0), ("guard", 1.0)], roles=["guard"])) == ["guard", "narrator", "all"]
    assert role_scores([], roles=["guard"]) == {"guard": RoleScore(0, None, None), "all": RoleScore(0, None, None)}
    with pytest.raises(AnalysisError, match='"all"'):
        role_scores([("all", 0.3)])
    with pytest.raises(AnalysisError, match=r"score\[0\]"):
        role_scores([("guard", None)])


def test_persuasion_rates_keep_failed_runs_apart():
    labels = ["Yes", "Yes", "No", "NotTried", "NotTried", "NotTried", "Failed", None]
    # attempts 3 of 6 usable runs; successes 2 of 3 attempts; two failed runs in neither rate.
    assert persuasion_rates(labels) == PersuasionRates(yes=2, no=1, not_tried=3, failed=2, p_attempt=0.5,
                                                       p_success_given_attempt=pytest.approx(2 / 3))


def test_persuasion_rates_divide_by_zero_to_none():
    assert persuasion_rates(["NotTried", "NotTried"]).p_success_given_attempt is None
    assert persuasion_rates(["NotTried"]).p_attempt == 0.0
    assert persuasion_rates([None, "Failed"]) == PersuasionRates(0, 0, 0, 2, None, None)


def test_persuasion_rates_refuse_unknown_labels():
    with pytest.raises(AnalysisError, match="'yes'"):
        persuasion_rates(["Yes", "yes"])


def test_kappa_of_a_textbook_two_by_two_table():
    # 50 items. Both yes 20, A yes B no 5, A no B yes 10, both no 15.
    # p_o = (20 + 15) / 50 = 0.7; A says yes to 25/50, B to 30/50:
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_extremes_and_any_hashable_labels():
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    # Opposite on every item with even margins: p_o 0, p_e 0.5, kappa -1.
    assert cohen_kappa([True, False], [False, True]) == -1.0
    # One label for everything from both: p_e = 1, defined as 1.
    assert cohen_kappa(["toxic"] * 4, ["toxic"] * 4) == 1.0
    # Three labels: p_o 2/3; margins A (1/3 each), B (x 2/3, z 1/3): p_e = 1/3; kappa (2/3 - 1/3) / (2/3) = 1/2.
    assert cohen_kappa(["x", "y", "z"], ["x", "x", "z"]) == pytest.approx(0.5)


def test_kappa_refuses_unequal_or_empty_labels():
    with pytest.raises(AnalysisError, match="same length"):
        cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(AnalysisError, match="at least one item"):
        cohen_kappa([], [])
