"""Importing the chains the telephone-game study published, so they are analysed like ours.

The study's layout is Results/<model>/<instruction>/<text_id>/seed_<k>/output0.json. Each
file becomes a completed telephone chain (nothing is sent to any model) whose id is derived
from its path, so importing the same tree again stores nothing twice, and an import cut off
half-way completes on the next try.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bson import ObjectId

from simulator.core.conversation import Status
from simulator.errors import ValidationError
from simulator.files import read_limited
from simulator.protocols.telephone import published_chain
from simulator.store import Message, Store

MAX_FILE_BYTES = 50_000_000


@dataclass
class ImportReport:
    found: int = 0
    stored: int = 0  # new chains
    already: int = 0  # chains stored by an earlier import
    messages: int = 0  # new messages
    ids: list[ObjectId] = field(default_factory=list)


def chain_id(relative: str) -> ObjectId:
    """The same published file always gets the same conversation id."""
    return ObjectId(hashlib.sha256(f"telephone-published:{relative}".encode()).hexdigest()[:24])


def published_files(root: Path) -> list[tuple[Path, str]]:
    """(file, <model>/<instruction>/<text_id>/seed_<k>/output0.json) for every chain under root."""
    if not root.is_dir():
        raise ValidationError(f"{root}: not a folder")
    found = []
    for file in sorted(root.rglob("output0.json")):
        parts = file.relative_to(root).parts
        if len(parts) >= 5 and parts[-2].startswith("seed_"):
            found.append((file, "/".join(parts[-5:])))
    if not found:
        raise ValidationError(f"{root}: no <model>/<instruction>/<text_id>/seed_<k>/output0.json below it")
    return found


def read_json(file: Path) -> object:
    try:
        return json.loads(read_limited(file, MAX_FILE_BYTES, str(file)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{file}: not a JSON file ({exc})") from None


async def import_chains(store: Store, user: str, root: Path) -> ImportReport:
    """Every published chain under root, checked first (a bad file stores nothing), then stored."""
    chains = [(relative, *published_chain(read_json(file), relative)) for file, relative in published_files(root)]
    report = ImportReport(found=len(chains))
    for relative, spec, prepared, texts in chains:
        cid = chain_id(relative)
        new = await store.conversations.create_once({
            **spec.to_document(), **prepared.to_document(), "_id": cid, "creator": user,
            "status": Status.COMPLETED.value, "stop_reason": f"imported from {relative}", "runs": 0,
            "stored_messages": len(texts)})
        speaker = prepared.agents[0].name
        report.messages += await store.messages.append_many([
            Message(conversation_id=cid, index=i, day=0, role="generation", speaker=speaker, content=text,
                    raw_content=text) for i, text in enumerate(texts)])
        report.stored += new
        report.already += not new
        report.ids.append(cid)
    return report
