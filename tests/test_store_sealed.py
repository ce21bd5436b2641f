"""The store is sealed: only repositories touch collections, and every write passes the one write gate."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "simulator"
WRITES = {"insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
          "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "bulk_write"}


def test_nothing_outside_the_store_touches_a_collection_or_the_database():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "store" and path.parent.parent == PACKAGE:
            continue
        text = path.read_text()
        for needle in (".collection", "store.db", ".db[", "AsyncCollection"):
            if needle in text:
                offenders.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert offenders == []


def writing_methods(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            calls = {c.func.attr for c in ast.walk(node) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Attribute)}
            if calls & WRITES:
                yield node


def test_every_repository_write_goes_through_the_write_gate():
    found, ungated = 0, []
    for path in (PACKAGE / "store").glob("*.py"):
        for method in writing_methods(ast.parse(path.read_text())):
            found += 1
            names = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in method.decorator_list}
            if "retry_transient" not in names:
                ungated.append(f"{path.name}: {method.name}")
    assert found >= 20 and ungated == []
