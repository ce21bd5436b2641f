"""File logging for tracebacks and diagnostics, with secrets scrubbed.

The screen gets one line per error; the details go to logs/simulator.log.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from simulator.secrets import register, scrub

_LOGGER_NAME = "simulator"


class _RedactSecrets(logging.Filter):
    """Every record passes simulator.secrets.scrub, the same scrubber as the screen and the store."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = scrub(text), None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def log_dir() -> Path:
    return Path(os.environ.get("SIM_LOG_DIR") or Path.cwd() / "logs")


def setup_logging(secrets: list[str]) -> Path:
    """Send the `simulator` logger to logs/simulator.log; returns the file path. The secrets given
    are registered with the scrubber, which the screen and the store use too."""
    register(secrets)
    path = log_dir() / "simulator.log"
    logger = logging.getLogger(_LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactSecrets())
    logger.addHandler(handler)
    return path


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{_LOGGER_NAME}.{name}" if name else _LOGGER_NAME)
