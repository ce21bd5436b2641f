"""Reading the original LLM Interaction Simulator's database: from a server, or from a mongodump of it.

A dump matters because the original stores `agent_combination` as nested arrays, which FerretDB v1
(this project's store) cannot hold: such a database is read from its `mongodump` folder, whose
`experiments.bson`, `conversations.bson` and `messages.bson` are read through the bounded reader and
decoded with bson.decode_file_iter. A folder with a collection missing, a link to elsewhere, or
bytes that are not BSON is refused in one line before anything is stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from simulator.config import Settings, describe_hosts
from simulator.errors import ValidationError
from simulator.files import read_limited
from simulator.store.connection import store_error

COLLECTIONS = ("experiments", "conversations", "messages")
MAX_DUMP_BYTES = 512_000_000  # one collection's .bson
MAX_DOCUMENTS = 2_000_000  # one collection
OPTIONS = CodecOptions(tz_aware=True)


@dataclass(frozen=True)
class LegacyData:
    source: str  # what to call it in messages: the folder, or host/database
    experiments: list[dict[str, Any]]
    conversations: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def is_uri(source: str) -> bool:
    return source.startswith(("mongodb://", "mongodb+srv://"))


def read_dump(folder: Path) -> LegacyData:
    """The three collections of a mongodump folder (the folder itself, or its one database subfolder)."""
    if not folder.is_dir():
        raise ValidationError(f"{folder}: not a folder (give a mongodump folder or a mongodb:// URI)")
    where = _dump_folder(folder)
    documents = {name: _decode(_dump_file(where, name, folder), name) for name in COLLECTIONS}
    return LegacyData(str(folder), documents["experiments"], documents["conversations"], documents["messages"])


def _dump_folder(folder: Path) -> Path:
    """The folder holding the .bson files: `folder`, or its only subfolder that holds experiments.bson
    (mongodump writes DIR/<database>/<collection>.bson)."""
    if (folder / "experiments.bson").exists() or (folder / "experiments.bson").is_symlink():
        return folder
    inside = [p for p in sorted(folder.iterdir()) if p.is_dir() and not p.is_symlink()
              and (p / "experiments.bson").exists()]
    return inside[0] if len(inside) == 1 else folder


def _dump_file(where: Path, name: str, folder: Path) -> bytes:
    path = where / f"{name}.bson"
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(folder.resolve())):
        raise ValidationError(f"{path}: a symbolic link; the import reads only files inside {folder}",
                              "copy the dump into the folder instead of linking it")
    if not path.exists():
        raise ValidationError(f"{folder}: no {name}.bson (a dump of the original database holds "
                              f"{', '.join(c + '.bson' for c in COLLECTIONS)})")
    return read_limited(path, MAX_DUMP_BYTES, str(path))


def _decode(data: bytes, name: str) -> list[dict[str, Any]]:
    documents = []
    try:
        for document in bson.decode_file_iter(io.BytesIO(data), OPTIONS):
            documents.append(document)
            if len(documents) > MAX_DOCUMENTS:
                raise ValidationError(f"{name}.bson: more than {MAX_DOCUMENTS:,} documents")
    except ValidationError:
        raise
    except Exception as exc:  # InvalidBSON, a truncated file, a bad UTF-8 string: bson raises several kinds
        raise ValidationError(f"{name}.bson: not a BSON dump ({type(exc).__name__}: {str(exc)[:120]})") from None
    return documents


async def read_database(uri: str, database: str | None, settings: Settings) -> LegacyData:
    """The three collections of the original's database on a MongoDB server (never this project's own)."""
    if not database:
        raise ValidationError("a MongoDB URI needs --db NAME (the original's database)")
    if _same_database(uri, database, settings):
        raise ValidationError(f"--db {database}: that is this project's own database; give the original's")
    client: AsyncMongoClient = AsyncMongoClient(uri, serverSelectionTimeoutMS=settings.db_timeout_ms,
                                                connectTimeoutMS=settings.db_timeout_ms, tz_aware=True)
    source = f"{describe_hosts(uri)}/{database}"
    try:
        db = client[database]
        present = set(await db.list_collection_names())
        missing = [c for c in COLLECTIONS if c not in present]
        if missing:
            raise ValidationError(f"{source}: no {', '.join(missing)} collection (the original's database holds "
                                  f"{', '.join(COLLECTIONS)})")
        documents = {name: await _read_collection(db[name], source) for name in COLLECTIONS}
    except PyMongoError as exc:
        raise store_error(exc, uri) from None
    finally:
        await client.close()
    return LegacyData(source, documents["experiments"], documents["conversations"], documents["messages"])


async def _read_collection(collection: Any, source: str) -> list[dict[str, Any]]:
    documents = await collection.find({}).limit(MAX_DOCUMENTS + 1).to_list()
    if len(documents) > MAX_DOCUMENTS:
        raise ValidationError(f"{source}.{collection.name}: more than {MAX_DOCUMENTS:,} documents")
    return documents


def _same_database(uri: str, database: str, settings: Settings) -> bool:
    return database == settings.db_name and describe_hosts(uri) == describe_hosts(settings.mongodb_uri)
