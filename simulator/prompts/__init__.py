"""What the tool ships to run out of the box: example experiments (prison.yaml, negotiation.yaml), the
backrooms templates and the telephone texts and instructions. Package data, found through
importlib.resources, so an installed `simulator` finds them from any folder (the clone's `prompts/`
is a link to this folder)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped(*parts: str) -> Path:
    """A shipped file or folder (a real path: the package is installed unzipped)."""
    return Path(str(files("simulator.prompts").joinpath(*parts)))


def examples() -> dict[str, Path]:
    """The example experiments by name (`prison`, `negotiation`)."""
    return {path.stem: path for path in sorted(shipped().glob("*.yaml"))}
