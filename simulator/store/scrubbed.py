"""Collections that scrub secrets from every document written through them (see simulator/secrets.py),
store what the database cannot hold in one reversible form (simulator/store/storable.py), and name a
write the database refuses as what it is.

The store is sealed (only repositories touch collections), so wrapping each collection the
Store hands a repository is the one point every write to MongoDB passes: a secret in an error
message or a setting can never land in a field a colleague reads, a NUL in a model's reply is
stored rather than failing the run, and a document too large or a value refused is one line
naming the collection, never "cannot reach MongoDB".
"""

from __future__ import annotations

import copy
from typing import Any

from bson.errors import BSONError, InvalidDocument
from pymongo.errors import BulkWriteError, DocumentTooLarge, DuplicateKeyError, OperationFailure

from simulator.errors import StoreError
from simulator.secrets import scrub
from simulator.store.storable import decode, encode

# method -> positions of the arguments that are written (the filter, argument 0, is not)
WRITES = {"insert_one": (0,), "insert_many": (0,), "replace_one": (1,), "update_one": (1,), "update_many": (1,),
          "find_one_and_update": (1,), "find_one_and_replace": (1,), "bulk_write": (0,)}
FILTERED = {"find_one", "count_documents", "delete_one", "delete_many", "distinct"}  # argument 0 (1 for distinct)
RETURNS_DOCUMENTS = {"find_one", "find_one_and_update", "find_one_and_replace", "distinct"}
MAX_BSON_MB = 16
_AUTH_CODES = (13, 18)


class StoreRefused(StoreError):
    """The database answered, and refused what was written: nothing about the connection."""


class ScrubbedCollection:
    def __init__(self, collection: Any):
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if name in WRITES:
            return self._writer(name, attribute)
        if name in FILTERED:
            return self._reader(name, attribute)
        return attribute

    def _writer(self, name: str, attribute: Any) -> Any:
        positions = WRITES[name]

        async def write(*args: Any, **kwargs: Any) -> Any:
            try:
                args = tuple(_written(name, a) if i in positions else encode(a) for i, a in enumerate(args))
                for key in ("document", "documents", "update", "replacement", "requests"):
                    if key in kwargs:
                        kwargs[key] = _written(name, kwargs[key])
                if "filter" in kwargs:
                    kwargs["filter"] = encode(kwargs["filter"])
                result = await attribute(*args, **kwargs)
            except Exception as exc:
                refused = refusal(exc, self._collection.name)
                if refused is None:
                    raise
                raise refused from exc
            return decode(result) if name in RETURNS_DOCUMENTS else result

        return write

    def _reader(self, name: str, attribute: Any) -> Any:
        async def read(*args: Any, **kwargs: Any) -> Any:
            args = tuple(encode(a) if i == (1 if name == "distinct" else 0) else a for i, a in enumerate(args))
            if "filter" in kwargs:
                kwargs["filter"] = encode(kwargs["filter"])
            result = await attribute(*args, **kwargs)
            return decode(result) if name in RETURNS_DOCUMENTS else result

        return read

    def find(self, *args: Any, **kwargs: Any) -> "RestoringCursor":
        if args:
            args = (encode(args[0]), *args[1:])
        if "filter" in kwargs:
            kwargs["filter"] = encode(kwargs["filter"])
        return RestoringCursor(self._collection.find(*args, **kwargs))

    async def aggregate(self, pipeline: list, *args: Any, **kwargs: Any) -> "RestoringCursor":
        return RestoringCursor(await self._collection.aggregate(encode(pipeline), *args, **kwargs))


class RestoringCursor:
    """A cursor whose documents come back decoded; the methods that chain (sort, limit) return it."""

    def __init__(self, cursor: Any):
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._cursor, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self if result is self._cursor else result

        return call

    async def to_list(self, *args: Any, **kwargs: Any) -> list:
        return [decode(d) for d in await self._cursor.to_list(*args, **kwargs)]

    def __aiter__(self) -> "RestoringCursor":
        return self

    async def __anext__(self) -> Any:
        return decode(await self._cursor.__anext__())


def _written(method: str, value: Any) -> Any:
    """A written argument scrubbed and encoded; bulk requests rebuilt around their encoded documents."""
    if method != "bulk_write":
        return encode(value, scrub)
    requests = []
    for request in value:
        request = copy.copy(request)
        for slot in ("_doc", "_filter"):
            if hasattr(request, slot):
                setattr(request, slot, encode(getattr(request, slot), scrub))
        requests.append(request)
    return requests


def refusal(exc: BaseException, collection: str) -> StoreRefused | None:
    """A write the database (or the driver, before sending it) refused, named as that; None for what the
    callers handle themselves (a duplicate key, a lost connection, a busy or restarting backend, a login)."""
    from simulator.store.connection import login_refused
    from simulator.store.retry import is_transient  # retry.py wraps repositories built on this module

    where = f"the database refused to store a document in {collection}"
    if isinstance(exc, DocumentTooLarge) or (isinstance(exc, InvalidDocument) and "too large" in str(exc)):
        return StoreRefused(f"{where}: it is larger than the {MAX_BSON_MB} MB a document may hold",
                            "shorter texts, or a lower SIM_MAX_REPLY_CHARS for model replies")
    if isinstance(exc, (BSONError, OverflowError, UnicodeEncodeError)):
        return StoreRefused(f"{where}: {_one_line(str(exc))}")
    if isinstance(exc, (DuplicateKeyError, BulkWriteError)) or not isinstance(exc, OperationFailure):
        return None
    if is_transient(exc) or exc.code in _AUTH_CODES or login_refused(exc):
        return None
    return StoreRefused(f"{where}: {_one_line(str(exc))}")


def _one_line(text: str) -> str:
    text = text.split(", full error:", 1)[0]
    return " ".join(text.split())[:200]
