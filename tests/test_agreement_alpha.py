"""Krippendorff's alpha against the published worked examples, and bootstrap intervals."""

from __future__ import annotations

import pytest

from simulator.analysis import AnalysisError, cohen_kappa, kappa_interval, krippendorff_alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
# missing values; published alpha nominal .743, ordinal .815, interval .849
RELIABILITY_DATA = [[1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
                    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
                    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
                    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]]


@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_the_published_example_with_missing_values(level, published):
    result = krippendorff_alpha(RELIABILITY_DATA, level)
    assert round(result.alpha, 3) == published
    assert (result.units, result.ratings) == (11, 40)  # unit 12 has one rating: not pairable
    assert result.low <= result.alpha <= result.high


def test_the_published_binary_example_of_two_observers():
    # section A of the same paper: 2 observers, 10 units, nominal alpha .095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(krippendorff_alpha([a, b], "nominal").alpha, 3) == 0.095


def test_text_labels_perfect_agreement_and_one_value():
    labels = [["Yes", "No", "NotTried", "Yes"], ["Yes", "No", "NotTried", "Yes"], ["Yes", N, "NotTried", N]]
    assert krippendorff_alpha(labels).alpha == 1.0
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]).alpha == 1.0  # nothing to disagree on, like kappa


def test_bad_input_is_one_clear_error():
    with pytest.raises(AnalysisError, match="level must be one of"):
        krippendorff_alpha(RELIABILITY_DATA, "ratio")
    with pytest.raises(AnalysisError, match="at least two annotators"):
        krippendorff_alpha([[1, N], [N, 2]])
    with pytest.raises(AnalysisError, match="same units"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(AnalysisError, match="numbers"):
        krippendorff_alpha([["a", "b"], ["a", "a"]], "interval")


def test_kappa_interval_brackets_kappa_and_is_reproducible():
    a = ["y", "y", "n", "n", "y", "n", "y", "y", "n", "y"]
    b = ["y", "n", "n", "n", "y", "n", "y", "y", "y", "y"]
    low, high = kappa_interval(a, b)
    assert low <= cohen_kappa(a, b) <= high and (low, high) == kappa_interval(a, b)
