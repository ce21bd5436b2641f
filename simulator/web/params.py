"""Reading what a request asks for: ids in the path, filters in the query, the store it reads."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from starlette.requests import Request

from simulator.errors import NotFound
from simulator.store import Store


def store_of(request: Request) -> Store:
    return request.app.state.store


def path_id(request: Request, name: str = "id") -> ObjectId:
    """An ObjectId from the path; anything else is a page that does not exist."""
    text = request.path_params[name]
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not an id", "ids are 24 hex characters") from None


def query_id(request: Request, name: str) -> ObjectId | None:
    text = text_param(request, name)
    if not text:
        return None
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not an id", "ids are 24 hex characters") from None


def text_param(request: Request, name: str, limit: int = 200) -> str:
    """A query parameter, trimmed and capped in length ("" when absent)."""
    return request.query_params.get(name, "").strip()[:limit]


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "") in ("1", "on", "true", "yes")


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return min(high, max(low, value))
