"""Pages from Jinja2 templates, with autoescape always on.

Everything shown comes from other people (experiment names, prompts, model replies), so no
template marks data safe; HTML special characters are escaped by Jinja2, and control
characters (an ANSI escape, a NUL, text-direction overrides) are written as visible escapes
(`\\x1b`) by the `shown` filter, as the terminal renderers do. Colours are CSS classes named
after the terminal palette (simulator/cli/render.py), since the Content-Security-Policy
forbids inline styles.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from simulator import __version__
from simulator.core.safe_text import visible

TEMPLATES = Path(__file__).with_name("templates")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def shown(value: Any) -> str:
    return visible("" if value is None else str(value))


def colour_class(colour: str) -> str:
    """The CSS class of a terminal palette colour ("bright_cyan" -> "c-bright_cyan")."""
    return f"c-{colour}"


def number(value: int | float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def score_level(value: float) -> str:
    """A score in [0, 1] as one of five CSS classes (no inline style can carry the value)."""
    return f"level-{min(4, max(0, int(value * 5)))}"


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    environment.filters.update(when=when, shown=shown, colour=colour_class, number=number, level=score_level)
    environment.globals.update(version=__version__)
    return environment


ENVIRONMENT = _environment()


def render(name: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(name).render(**context)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page: the template with the database it shows and the current path (for the menu)."""
    return HTMLResponse(render(name, where=request.app.state.where, path=request.url.path,
                               annotating=getattr(request.app.state, "annotating", None), **context),
                        status_code=status_code)
