"""Logistic and least-squares regressions with HC0 errors, checked against formulas done by hand."""

import math

import pytest

from simulator.analysis import AnalysisError, logistic_regression, ols_regression

Z_95 = 1.959963984540054


def two_by_two():
    """Model a: 3 toxic runs of 4; model b: 2 toxic runs of 6."""
    return ([{"model": "a", "toxic": 1}] * 3 + [{"model": "a", "toxic": 0}] * 1
            + [{"model": "b", "toxic": 1}] * 2 + [{"model": "b", "toxic": 0}] * 4)


def test_logistic_coefficient_of_a_binary_factor_is_the_log_odds_ratio():
    # Odds of toxic: a 3/1, b 2/4. Coefficient of b = log((2/4) / (3/1)) = log(1/6); intercept log 3.
    # The model is saturated (fitted share = observed share in each cell), so the HC0 sandwich
    # equals the model-based variance, Woolf's 1/3 + 1/1 + 1/2 + 1/4 for the log odds ratio.
    result = logistic_regression(two_by_two(), "toxic", ["model"])
    assert (result.kind, result.outcome, result.n, result.reference_levels) == ("logistic", "toxic", 10, {"model": "a"})
    assert list(result.terms) == ["Intercept", "model[b]"]
    intercept, b = result.terms["Intercept"], result.terms["model[b]"]
    assert intercept.coefficient == pytest.approx(math.log(3), abs=1e-8)
    assert intercept.std_error == pytest.approx(math.sqrt(1 / 3 + 1 / 1), rel=1e-6)
    se = math.sqrt(1 / 3 + 1 / 1 + 1 / 2 + 1 / 4)
    assert b.coefficient == pytest.approx(math.log(1 / 6), abs=1e-8)
    assert b.std_error == pytest.approx(se, rel=1e-6)
    assert b.odds_ratio == pytest.approx(1 / 6)
    assert b.odds_ratio_ci == pytest.approx((math.exp(math.log(1 / 6) - Z_95 * se), math.exp(math.log(1 / 6) + Z_95 * se)))
    assert b.z == pytest.approx(math.log(1 / 6) / se, rel=1e-6)
    assert b.p_value == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(b.z) / math.sqrt(2)))))


def test_logistic_reference_level_can_be_named():
    result = logistic_regression(two_by_two(), "toxic", ["model"], reference={"model": "b"})
    assert result.reference_levels == {"model": "b"}
    assert result.terms["model[a]"].coefficient == pytest.approx(math.log(6), abs=1e-8)


def test_ols_on_exactly_linear_data_recovers_the_line():
    records = [{"guards": g, "prisoners": p, "share": 0.1 + 0.2 * g - 0.05 * p}
               for g in (1, 2, 3) for p in (1, 2)]
    result = ols_regression(records, "share", ["guards", "prisoners"])
    assert result.kind == "ols"
    assert [t.coefficient for t in result.terms.values()] == pytest.approx([0.1, 0.2, -0.05])
    assert all(t.std_error < 1e-12 and t.p_value < 1e-12 for t in result.terms.values())
    assert result.terms["guards"].odds_ratio is None


def test_ols_hc0_error_of_a_group_difference_is_the_unpooled_formula():
    # Group a: 1, 2, 6 (mean 3, squared deviations 4 + 1 + 9 = 14); group b: 4, 8 (mean 6, 4 + 4 = 8).
    # Difference 3; HC0 variance = sum of squared deviations / n^2 per group = 14/9 + 8/4.
    records = [{"view": "shared", "share": v} for v in (1, 2, 6)] + [{"view": "chain", "share": v} for v in (4, 8)]
    result = ols_regression(records, "share", ["view"], reference={"view": "shared"})
    term = result.terms["view[chain]"]
    assert term.coefficient == pytest.approx(3.0)
    assert term.std_error == pytest.approx(math.sqrt(14 / 9 + 8 / 4))
    assert (term.ci_low, term.ci_high) == pytest.approx((3 - Z_95 * term.std_error, 3 + Z_95 * term.std_error))


def test_ols_hc0_error_of_a_slope_is_the_sandwich_by_hand():
    # x = 0, 1, 2, 3; y = 0, 2, 1, 3. Deviations from the means (1.5, 1.5): x -1.5, -0.5, 0.5, 1.5;
    # y -1.5, 0.5, -0.5, 1.5. Sxx = 5, Sxy = 2.25 - 0.25 - 0.25 + 2.25 = 4: slope 0.8, intercept 0.3.
    # Residuals -0.3, 0.9, -0.9, 0.3; HC0 var(slope) = sum (x - 1.5)^2 e^2 / Sxx^2
    # = (2.25 * 0.09 * 2 + 0.25 * 0.81 * 2) / 25 = 0.81 / 25, so the HC0 error is 0.9 / 5 = 0.18.
    records = [{"x": x, "y": y} for x, y in [(0, 0), (1, 2), (2, 1), (3, 3)]]
    result = ols_regression(records, "y", ["x"])
    assert result.terms["Intercept"].coefficient == pytest.approx(0.3)
    assert result.terms["x"].coefficient == pytest.approx(0.8)
    assert result.terms["x"].std_error == pytest.approx(0.18)


def test_numeric_factors_can_be_categorical_and_mix_with_strings():
    records = [{"agents": n, "model": m, "toxic": (n + i) % 2}
               for i, (n, m) in enumerate([(1, "x"), (2, "y"), (3, "x"), (1, "y"), (2, "x"), (3, "y")] * 3)]
    result = logistic_regression(records, "toxic", ["agents", "model"], categorical=["agents"])
    assert list(result.terms) == ["Intercept", "agents[2]", "agents[3]", "model[y]"]
    assert result.reference_levels == {"agents": 1, "model": "x"}
    by_reference = logistic_regression(records, "toxic", ["agents", "model"], reference={"agents": 3})
    assert list(by_reference.terms) == ["Intercept", "agents[1]", "agents[2]", "model[y]"]


def separated():
    """Model b was never toxic: quasi-complete separation."""
    return two_by_two()[:4] + [{"model": "b", "toxic": 0}] * 6


@pytest.mark.parametrize("records, factors, words", [
    (separated(), ["model"], "perfect separation: the terms model[b]"),
    ([{"x": x, "toxic": int(x > 2)} for x in range(6)], ["x"], "perfect separation"),
    ([{"model": "a", "toxic": i % 2} for i in range(6)], ["model"], "'model' is constant"),
    ([{"x": x, "x2": 2 * x, "toxic": x % 2} for x in range(6)], ["x", "x2"], "collinear"),
    ([{"x": x, "toxic": 0} for x in range(6)], ["x"], "is 0 in every record"),
    ([{"x": x, "toxic": 0.5} for x in range(6)], ["x"], "must be 0/1"),
    ([{"x": 1, "toxic": 1}, {"toxic": 0}, {"x": 3, "toxic": 0}], ["x"], "record 1 has no value for 'x'"),
    (two_by_two(), ["model"], "reference level 'c'"),
    (two_by_two()[3:5], ["model"], "need more than 2 records"),
    ([], ["model"], "no records"),
])
def test_unfittable_logistic_regressions_raise_one_clear_error(records, factors, words):
    reference = {"model": "c"} if "reference" in words else None
    with pytest.raises(AnalysisError) as caught:
        logistic_regression(records, "toxic", factors, reference=reference)
    assert words in caught.value.one_line()


def test_ols_refuses_a_constant_factor_and_missing_outcomes():
    with pytest.raises(AnalysisError, match="'view' is constant"):
        ols_regression([{"view": "chain", "share": v} for v in (0.1, 0.2, 0.3)], "share", ["view"])
    with pytest.raises(AnalysisError, match="record 1 has no value for 'share'"):
        ols_regression([{"x": 1, "share": 0.1}, {"x": 2, "share": None}, {"x": 3, "share": 0.3}], "share", ["x"])
