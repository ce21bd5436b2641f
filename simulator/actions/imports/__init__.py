"""Importing what other tools recorded, so it is scored, labelled, analysed and explored like our own runs.

One module per source: `backrooms` (the backrooms study's plain logs), `chatroom` (the
self-replicating-prompts study's JSON logs), `legacy` (the original LLM Interaction Simulator's
MongoDB database or a mongodump of it). The telephone study's chains are imported by
simulator/actions/telephone.py. What they share is here and in `files`:

- every file is read through the bounded reader (simulator/files.py) from a walk of the folder that
  refuses the whole import, before anything is stored, when a symbolic link or too many files are
  below it; a file that is malformed, too large or not UTF-8 is refused in one line naming it and
  nothing is stored from it, the others are;
- every conversation gets an id derived from what it was imported from (a file's SHA-256, an
  original document's id), so importing again stores nothing twice and an import cut off half-way
  completes on the next try; its messages are written before the conversation document, so a
  conversation appears only once it is whole;
- every imported conversation records `imported_from` (the source, the file or the original ids)
  and ends `completed` with a stop reason saying what it was imported from;
- each import reports what it stored, skipped (stored by an earlier import) and refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from bson import ObjectId

from simulator.errors import NotFound, ValidationError
from simulator.store import Message, Store


@dataclass
class ImportReport:
    what: str  # "backrooms logs", "chatroom logs", ...
    found: int = 0
    stored: int = 0  # new conversations
    skipped: int = 0  # conversations an earlier import stored
    refused: list[str] = field(default_factory=list)  # one line per refused file
    messages: int = 0  # new messages
    ids: list[ObjectId] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: what was found, stored, skipped and refused."""
        return (f"{self.found} {self.what} found: {self.stored} stored, {self.skipped} skipped (already stored), "
                f"{len(self.refused)} refused; {self.messages} messages added")


def stable_id(source: str, key: bytes | str) -> ObjectId:
    """The id a source's item always gets: the same file or original document, the same conversation."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    return ObjectId(hashlib.sha256(source.encode("utf-8") + b":" + data).hexdigest()[:24])


async def is_stored(store: Store, conversation_id: ObjectId) -> bool:
    try:
        await store.conversations.get(conversation_id)
    except NotFound:
        return False
    return True


async def store_conversation(store: Store, document: dict[str, Any], messages: Sequence[Message],
                             report: ImportReport) -> None:
    """Messages first, then the conversation document (so it appears only whole); counted in the report.
    A conversation stored before is skipped without writing anything."""
    cid = document["_id"]
    report.ids.append(cid)
    if await is_stored(store, cid):
        report.skipped += 1
        return
    report.messages += await store.messages.append_many(list(messages))
    new = await store.conversations.create_once(document)
    report.stored += new
    report.skipped += not new


async def import_files(store: Store, user: str, root: Path, report: ImportReport, *, wanted: Callable[[str], bool],
                       what: str, max_bytes: int, read_log: Callable[[str, str], Any],
                       document_of: Callable[[Any, str, str, str], tuple[dict[str, Any], Sequence[Message]]]
                       ) -> ImportReport:
    """Every `wanted` file below root: read (bounded) and parsed whole by `read_log`, the malformed ones refused
    (one line each, naming the file: nothing stored from them), the others turned into a conversation by
    `document_of` (log, relative path, the file's SHA-256, user) and stored once."""
    from simulator.actions.imports.files import files_below, read_utf8

    for file, relative in files_below(root, wanted, what):
        report.found += 1
        try:
            text, raw = read_utf8(file, max_bytes, relative)
            log = read_log(text, relative)
        except ValidationError as exc:
            report.refused.append(exc.one_line())
            continue
        document, messages = document_of(log, relative, hashlib.sha256(raw).hexdigest(), user)
        await store_conversation(store, document, messages, report)
    return report
