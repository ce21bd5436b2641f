"""The one error the analysis raises on input it cannot use.

It is a SimulatorError, so the CLI prints it as one line, and a ValueError, so code that
calls the statistics as plain functions can catch it the usual way.
"""

from __future__ import annotations

from simulator.errors import SimulatorError


class AnalysisError(SimulatorError, ValueError):
    """Input a statistic cannot be computed on: wrong lengths, NaNs, too few points, separation."""
