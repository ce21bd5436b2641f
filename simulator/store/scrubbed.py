"""Collections that scrub secrets from every document written through them (see simulator/secrets.py).

The store is sealed (only repositories touch collections), so wrapping each collection the
Store hands a repository is the one point every write to MongoDB passes: a secret in an error
message or a setting can never land in a field a colleague reads.
"""

from __future__ import annotations

from typing import Any

from simulator.secrets import scrub_value

# method -> positions of the arguments that are written (the filter, argument 0, is not)
WRITES = {"insert_one": (0,), "insert_many": (0,), "replace_one": (1,), "update_one": (1,), "update_many": (1,),
          "find_one_and_update": (1,), "find_one_and_replace": (1,)}


class ScrubbedCollection:
    def __init__(self, collection: Any):
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if name not in WRITES:
            return attribute
        positions = WRITES[name]

        def write(*args: Any, **kwargs: Any) -> Any:
            args = tuple(scrub_value(a) if i in positions else a for i, a in enumerate(args))
            for key in ("document", "documents", "update", "replacement"):
                if key in kwargs:
                    kwargs[key] = scrub_value(kwargs[key])
            return attribute(*args, **kwargs)

        return write
