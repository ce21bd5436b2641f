"""One exception family for everything a researcher may see.

The CLI prints `message` (and `hint`) on one line and exits non-zero; anything
that is not a SimulatorError is a bug and gets a traceback in logs/.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """An error with a message meant for the researcher, never containing secrets."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class ConfigError(SimulatorError):
    """Settings are missing or malformed."""


class StoreError(SimulatorError):
    """The database cannot be reached or refused an operation."""


class NotFound(SimulatorError):
    """A document the researcher named does not exist."""


class PermissionDenied(SimulatorError):
    """Only the creator may change or delete what they created."""


class ValidationError(SimulatorError):
    """Input (an experiment file, an option) is malformed; nothing was written."""


class ModelError(SimulatorError):
    """A model call failed for good (after retries, or not retryable)."""
