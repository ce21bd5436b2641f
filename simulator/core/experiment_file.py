"""Reading and writing experiment files (YAML or JSON), defensively.

Files come from colleagues and strangers: size is capped, text must be UTF-8, YAML
anchors/aliases are refused (the "billion laughs" bomb lives there), and nesting
depth is capped before validation walks the data.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from simulator.errors import ValidationError

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 12


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and duplicate keys outright."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise ValidationError(f"line {key_node.start_mark.line + 1}: the field {key!r} appears twice")
            seen.add(key) if isinstance(key, (str, int, float, bool)) else None
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ValidationError(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                                  f"allowed in experiment files")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise ValidationError(f"line {event.start_mark.line + 1}: YAML anchors (&{event.anchor}) are not "
                                  f"allowed in experiment files")
        return super().compose_node(parent, index)


def decode_experiment_file(raw: bytes, filename: str) -> Any:
    """Bytes of a .yaml/.yml/.json file -> plain data, or a ValidationError naming the file."""
    where = filename
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(f"{where}: file too large ({len(raw):,} bytes, at most {MAX_FILE_BYTES:,})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    if not text.strip():
        raise ValidationError(f"{where}: file is empty")
    return load_data(text, where, is_json=filename.lower().endswith(".json"))


def load_data(text: str, where: str, *, is_json: bool, max_depth: int = MAX_DEPTH) -> Any:
    """JSON or YAML text from a person -> plain data, or one ValidationError naming `where`: the one
    reader of every structured input file (experiments, texts, templates, imports, rubrics). Duplicate
    keys, YAML anchors and aliases, numbers of thousands of digits and nesting
    deeper than `max_depth` are refused, never an unexpected error."""
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys) if is_json \
            else yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.message}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ValidationError(f"{where}: not valid YAML ({at}{getattr(exc, 'problem', None) or exc})") from None
    except (RecursionError, MemoryError):
        raise ValidationError(f"{where}: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of thousands of digits
        detail = "a number with thousands of digits" if "digits" in str(exc) else str(exc)[:120]
        raise ValidationError(f"{where}: not a usable {'JSON' if is_json else 'YAML'} file ({detail})") from None
    _check_depth(data, where, max_depth)
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object, unless a key repeats (checked in one pass: 90,000 keys took 80 s with list.count)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValidationError(f"the field {key!r} appears twice in one object")
        result[key] = value
    return result


def _check_depth(data: Any, where: str, max_depth: int = MAX_DEPTH) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise ValidationError(f"{where}: nested more than {max_depth} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


class _ReadableDumper(yaml.SafeDumper):
    """Multi-line prompts as `|` blocks, so exported files read like the prompts."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReadableDumper.add_representer(str, _represent_text)


def encode_experiment(document: dict[str, Any], filename: str) -> str:
    if filename.lower().endswith(".json"):
        return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    return yaml.dump(document, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True, width=100)
