"""The intervals figures are drawn with, against values computed by hand, and the files a figure makes."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest

from simulator.analysis.plotting import OKABE_ITO, mean_interval, save, wilson_interval


def test_wilson_interval_by_hand():
    # 5 of 10: p = 0.5, z^2 = 3.841459; centre = (0.5 + 0.192073) / 1.384146 = 0.5;
    # half = 1.959964 * sqrt(0.025 + 0.009604) / 1.384146 = 0.263406
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.236594, abs=1e-6) and high == pytest.approx(0.763406, abs=1e-6)
    # 0 of 4: centre = (3.841459 / 8) / 1.960365 = 0.480182 / 1.960365 = 0.244945 = half, so [0, 0.489891]
    low, high = wilson_interval(0, 4)
    assert low == 0.0 and high == pytest.approx(0.489891, abs=1e-6)
    assert wilson_interval(0, 0) is None


def test_mean_interval_by_hand():
    # 1, 2, 3, 4: mean 2.5, sd sqrt(5/3) = 1.290994, se 0.645497, t(0.975, 3) = 3.182446 -> half 2.054260
    low, high = mean_interval([1, 2, 3, 4])
    assert low == pytest.approx(2.5 - 2.054260, abs=1e-5) and high == pytest.approx(2.5 + 2.054260, abs=1e-5)
    assert mean_interval([3.0]) is None


def test_a_figure_is_written_as_png_and_svg_in_the_safe_palette(tmp_path):
    figure, axes = plt.subplots()
    line, = axes.plot([1, 2], [1, 2])
    assert line.get_color().lower() == OKABE_ITO[0].lower()
    path = save(figure, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    assert math.isclose(len(OKABE_ITO), 8)
