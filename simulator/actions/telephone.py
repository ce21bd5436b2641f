"""Importing the chains the telephone-game study published, so they are analysed like ours.

The study's layout is Results/<model>/<instruction>/<text_id>/seed_<k>/output0.json. Each
file becomes a completed telephone chain (nothing is sent to any model) whose id is derived
from its path below the tree and the SHA-256 of its bytes: importing the same file again
stores nothing twice, an import cut off half-way completes on the next try, and another file
at the same path (another tree, or the file changed since) is another chain, never appended to
the first. Chains imported before the digest was part of the id keep theirs when their stored
texts are the file's.

Every file is read and checked before anything is stored (a bad one stores nothing), and no
file outside the folder is read: a symbolic link anywhere below it is refused, so is a path
that resolves elsewhere. A chain's messages are written before its conversation document, so
a chain appears only once it is whole, and its document's count bounds what is ever appended.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from bson import ObjectId

from simulator.core.conversation import Prepared, Status
from simulator.core.experiment_file import load_data
from simulator.core.run_spec import RunSpec
from simulator.errors import NotFound, ValidationError
from simulator.files import read_limited
from simulator.protocols.telephone import published_chain
from simulator.store import Message, Store

MAX_FILE_BYTES = 50_000_000
MAX_TEXT_BYTES = 4_000_000  # a message stores its text twice (content, raw): well under 16 MB a document
MAX_DEPTH = 6  # {"stories": [["text"]]} is 3 deep


@dataclass
class ImportReport:
    found: int = 0
    stored: int = 0  # new chains
    already: int = 0  # chains stored by an earlier import
    messages: int = 0  # new messages
    ids: list[ObjectId] = field(default_factory=list)


@dataclass(frozen=True)
class PublishedChain:
    relative: str  # <model>/<instruction>/<text_id>/seed_<k>/output0.json
    digest: str  # SHA-256 of the file's bytes
    spec: RunSpec
    prepared: Prepared
    texts: list[str]


def chain_id(relative: str, digest: str | None = None) -> ObjectId:
    """The same published file always gets the same conversation id; without `digest`, the id chains
    imported before the content was part of it have."""
    key = f"telephone-published:{relative}" + (f":{digest}" if digest else "")
    return ObjectId(hashlib.sha256(key.encode()).hexdigest()[:24])


def published_files(root: Path) -> list[tuple[Path, str]]:
    """(file, <model>/<instruction>/<text_id>/seed_<k>/output0.json) for every chain under root; a symbolic
    link anywhere below root, or a file that resolves outside it, is refused."""
    if not root.is_dir():
        raise ValidationError(f"{root}: not a folder")
    base = root.resolve()
    found = []
    for folder, folders, files in os.walk(base, followlinks=False):
        for name in sorted(folders + files):
            path = Path(folder) / name
            if path.is_symlink() or not path.resolve().is_relative_to(base):
                raise ValidationError(f"{path}: a symbolic link; the import reads only files inside {root}",
                                      "copy the files into the folder instead of linking them")
        for name in files:
            file = Path(folder) / name
            parts = file.relative_to(base).parts
            if name == "output0.json" and len(parts) >= 5 and parts[-2].startswith("seed_"):
                found.append((file, "/".join(parts[-5:])))
    if not found:
        raise ValidationError(f"{root}: no <model>/<instruction>/<text_id>/seed_<k>/output0.json below it")
    return sorted(found, key=lambda item: item[1])


def read_chain(file: Path, relative: str) -> PublishedChain:
    """One published file, read through the bounded reader and checked whole."""
    raw = read_limited(file, MAX_FILE_BYTES, str(file))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{relative}: not UTF-8 text") from None
    spec, prepared, texts = published_chain(load_data(text, relative, is_json=True, max_depth=MAX_DEPTH), relative)
    for generation, story in enumerate([spec.option("text"), *texts]):
        if len(story.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            raise ValidationError(f"{relative}: the text of generation {generation} is longer than "
                                  f"{MAX_TEXT_BYTES // 1_000_000} MB, more than a stored message may hold")
    return PublishedChain(relative, hashlib.sha256(raw).hexdigest(), spec, prepared, texts)


def check_unique(chains: list[PublishedChain]) -> None:
    """Two files of one import at the same path below their Results folders (two trees given as one folder)
    with different contents would be two chains no one could tell apart: refused."""
    seen: dict[str, str] = {}
    for chain in chains:
        if seen.setdefault(chain.relative, chain.digest) != chain.digest:
            raise ValidationError(f"{chain.relative}: two different files at this path below the folder",
                                  "import each study's Results folder on its own")


async def import_chains(store: Store, user: str, root: Path) -> ImportReport:
    """Every published chain under root, checked first (a bad file stores nothing), then stored."""
    chains = [read_chain(file, relative) for file, relative in published_files(root)]
    check_unique(chains)
    unique = list({c.relative: c for c in chains}.values())  # the same file in two trees is one chain
    report = ImportReport(found=len(unique))
    for chain in unique:
        cid = await stored_id(store, chain)
        report.messages += await store.messages.append_many([
            Message(conversation_id=cid, index=i, day=0, role="generation", speaker=chain.prepared.agents[0].name,
                    content=text, raw_content=text) for i, text in enumerate(chain.texts)])
        new = await store.conversations.create_once({
            **chain.spec.to_document(), **chain.prepared.to_document(), "_id": cid, "creator": user,
            "status": Status.COMPLETED.value, "stop_reason": f"imported from {chain.relative}", "runs": 0,
            "stored_messages": len(chain.texts), "imported_digest": chain.digest})
        report.stored += new
        report.already += not new
        report.ids.append(cid)
    return report


async def stored_id(store: Store, chain: PublishedChain) -> ObjectId:
    """The chain's id: its path and digest; or the path-only id of an earlier import of this same file
    (same texts, same length), which is then completed rather than stored twice."""
    legacy = chain_id(chain.relative)
    try:
        earlier = await store.conversations.get(legacy)
    except NotFound:
        return chain_id(chain.relative, chain.digest)
    stored = [m.content for m in await store.messages.list(legacy)]
    same = earlier.spec.n_messages == len(chain.texts) and earlier.spec.option("text") == chain.spec.option("text") \
        and stored == chain.texts[:len(stored)] and earlier.spec.option("imported_from") == chain.relative
    return legacy if same else chain_id(chain.relative, chain.digest)

