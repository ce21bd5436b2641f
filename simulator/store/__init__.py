"""MongoDB persistence: one repository per collection, behind one `Store`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from simulator.config import Settings, identity
from simulator.store import postgres_indexes, schema
from simulator.store.batches import BatchRepository
from simulator.store.connection import ServerInfo, open_client, ping, store_error, with_backend
from simulator.store.conversations import ConversationRepository, Status
from simulator.store.experiments import ExperimentRepository
from simulator.store.messages import Message, MessageRepository
from simulator.store.model_calls import ModelCallRepository
from simulator.store.labels import LabelRepository
from simulator.store.leases import LeaseRepository
from simulator.store.workers import WorkerRepository
from simulator.store.rubrics import RubricRepository
from simulator.store.scores import ScoreRepository
from simulator.store.scrubbed import ScrubbedCollection
from simulator.store.summaries import SummaryRepository

__all__ = ["Store", "Message", "Status", "ServerInfo", "connect"]


@dataclass
class Store:
    client: AsyncMongoClient
    db: AsyncDatabase
    server: ServerInfo
    write_gate: asyncio.Semaphore | None = None  # see store/retry.py
    user: str = "researcher"  # who is connected: see config.identity

    @property
    def experiments(self) -> ExperimentRepository:
        return ExperimentRepository(self._collection(schema.EXPERIMENTS), self.write_gate)

    @property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self._collection(schema.CONVERSATIONS), self.write_gate)

    @property
    def messages(self) -> MessageRepository:
        return MessageRepository(self._collection(schema.MESSAGES), self.write_gate)

    @property
    def summaries(self) -> SummaryRepository:
        return SummaryRepository(self._collection(schema.SUMMARIES), self.write_gate)

    @property
    def batches(self) -> BatchRepository:
        return BatchRepository(self._collection(schema.BATCHES), self.write_gate)

    @property
    def model_calls(self) -> ModelCallRepository:
        return ModelCallRepository(self._collection(schema.MODEL_CALLS), self.write_gate)

    @property
    def scores(self) -> ScoreRepository:
        return ScoreRepository(self._collection(schema.SCORES), self.write_gate)

    @property
    def labels(self) -> LabelRepository:
        return LabelRepository(self._collection(schema.LABELS), self.write_gate)

    @property
    def rubrics(self) -> RubricRepository:
        return RubricRepository(self._collection(schema.RUBRICS), self.write_gate)

    @property
    def leases(self) -> LeaseRepository:
        return LeaseRepository(self._collection(schema.LEASES), self.write_gate)

    @property
    def workers(self) -> WorkerRepository:
        return WorkerRepository(self._collection(schema.WORKERS), self.write_gate)

    def _collection(self, name: str) -> ScrubbedCollection:
        """Every repository's collection scrubs secrets from what it writes."""
        return ScrubbedCollection(self.db[name])

    async def close(self) -> None:
        await self.client.close()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def connect(settings: Settings) -> Store:
    """Open, ping and prepare the database (indexes; GIN indexes under FerretDB on PostgreSQL) and
    learn who is connected; raises StoreError naming the host, ConfigError for a SIM_USER the
    server contradicts."""
    client = open_client(settings)
    try:
        server = await ping(client, settings)
        db = client[settings.db_name]
        try:
            await schema.ensure_indexes(db)
            server = await with_backend(client, server)
            await postgres_indexes.ensure(db, server)
            user = identity(settings, server.authenticated_user)  # trusted: a command reached the backend
        except PyMongoError as exc:
            raise store_error(exc, settings.mongodb_uri) from None
    except BaseException:
        await client.close()
        raise
    return Store(client=client, db=db, server=server, write_gate=asyncio.Semaphore(write_concurrency(settings, server)),
                 user=user)


# Writes at once on FerretDB over PostgreSQL (see benchmarks/write_concurrency.py for the measurement).
POSTGRESQL_WRITERS = 8


def write_concurrency(settings: Settings, server: ServerInfo) -> int:
    """Writes at once: 1 on FerretDB over SQLite (one writer; also when its backend is unknown),
    POSTGRESQL_WRITERS over PostgreSQL, 32 on MongoDB; DB_WRITE_CONCURRENCY overrides."""
    if settings.db_write_concurrency:
        return settings.db_write_concurrency
    if not server.flavour.startswith("FerretDB"):
        return 32
    return POSTGRESQL_WRITERS if server.backend.startswith("PostgreSQL") else 1
