"""Attractor of transmission chains on points whose least-squares line can be redone on paper."""

import math
import re

import pytest

from simulator.analysis import AnalysisError, attractor


def test_half_slope_line_pulls_everything_toward_two():
    # final = 1 + 0.5 * initial exactly: fixed point 1 / (1 - 0.5) = 2, strength 1 - 0.5.
    result = attractor([0, 1, 2, 3], [1, 1.5, 2, 2.5])
    assert (result.slope, result.intercept, result.position, result.strength, result.n) == (0.5, 1.0, 2.0, 0.5, 4)
    assert result.p_value == 0.0  # a perfect fit with |slope| < 1


def test_p_value_is_the_larger_of_two_one_sided_t_tests():
    # x = 0, 1, 2; y = 0, 1, 1. mean x 1, mean y 2/3, Sxx 2, Sxy 1: slope 1/2, intercept 1/6.
    # Residuals -1/6, 1/3, -1/6: SSR 1/6, s^2 = SSR / (n - 2) = 1/6, se = sqrt(s^2 / Sxx) = 1/sqrt(12).
    # t against slope 1: (1/2 - 1) * sqrt(12) = -sqrt(3); against -1: 3 sqrt(3). With 1 degree of
    # freedom T is Cauchy, cdf(t) = 1/2 + atan(t) / pi: P(T <= -sqrt 3) = 1/2 - 1/3 = 1/6 and
    # P(T >= 3 sqrt 3) = 1/2 - atan(3 sqrt 3) / pi, about 0.06. p = max = 1/6.
    result = attractor([0, 1, 2], [0, 1, 1])
    assert result.slope == pytest.approx(0.5)
    assert result.intercept == pytest.approx(1 / 6)
    assert result.position == pytest.approx((1 / 6) / (1 - 0.5))
    assert result.p_value == pytest.approx(1 / 6)


def test_negative_slope_overshoots_but_still_attracts():
    # final = 1 - 0.5 * initial: fixed point 1 / 1.5 = 2/3, strength 1 - |-0.5|.
    result = attractor([0, 1, 2], [1, 0.5, 0])
    assert result.slope == pytest.approx(-0.5)
    assert result.position == pytest.approx(2 / 3)
    assert result.strength == pytest.approx(0.5)


def test_slope_above_one_has_no_attractor():
    result = attractor([0, 1, 2], [0, 2, 4])
    assert (result.slope, result.position, result.strength, result.p_value) == (2.0, 0.0, 0.0, 1.0)


def test_slope_exactly_one_has_no_attractor_and_p_one_half():
    # Sxy = (-1)(0.1 - 31/30) + (1)(2.1 - 31/30) = 2 = Sxx: slope 1, and the t statistic against 1
    # is 0, so P(T <= 0) = 1/2 whatever the standard error.
    result = attractor([0, 1, 2], [0.1, 0.9, 2.1])
    assert result.slope == pytest.approx(1.0)
    assert (result.position, result.strength) == (0.0, 0.0)
    assert result.p_value == pytest.approx(0.5)
    exact = attractor([0, 1, 2], [1, 2, 3])  # intercept / (1 - slope) would divide by zero
    assert (exact.position, exact.strength, exact.p_value) == (0.0, 0.0, 1.0)


def test_constant_final_values_are_a_perfect_attractor():
    result = attractor([0.0, 0.5, 1.0], [0.3, 0.3, 0.3])
    assert (result.slope, result.position, result.strength, result.p_value) == (0.0, 0.3, 1.0, 0.0)


def test_constant_initial_values_give_nan_slope_and_the_mean_final_value():
    result = attractor([0.2, 0.2, 0.2, 0.2], [0.1, 0.5, 0.6, 0.4])
    assert math.isnan(result.slope) and math.isnan(result.strength) and math.isnan(result.p_value)
    assert result.position == pytest.approx(0.4)
    assert attractor([1, 1, 1], [0, 3, 6], clip=(0, 1)).position == 1  # the mean is clipped too


def test_clip_bounds_the_position_to_the_metric_range():
    # Toxicity: final = 0.3 + 0.8 * initial, fixed point 0.3 / 0.2 = 1.5, above the scale.
    assert attractor([0, 0.25, 0.5], [0.3, 0.5, 0.7]).position == pytest.approx(1.5)
    assert attractor([0, 0.25, 0.5], [0.3, 0.5, 0.7], clip=(0, 1)).position == 1.0
    # Positivity: final = -0.5 + 0.8 * initial, fixed point -2.5, clipped to -1.
    assert attractor([0, 0.5, 1], [-0.5, -0.1, 0.3], clip=(-1, 1)).position == -1.0


@pytest.mark.parametrize("initial, final, clip, words", [
    ([0, 1], [0, 1], None, "at least 3"),
    ([0, 1, 2], [0, 1], None, "same length"),
    ([0, float("nan"), 2], [0, 1, 2], None, "initial[1]"),
    ([0, 1, 2], [0, None, 2], None, "final[1]"),
    ([0, 1, 2], [0, 1, 2], (1, 0), "clip"),
])
def test_unusable_input_raises_one_clear_error(initial, final, clip, words):
    with pytest.raises(AnalysisError, match=re.escape(words)):
        attractor(initial, final, clip=clip)
