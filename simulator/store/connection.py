"""Connecting to MongoDB (or FerretDB) and turning driver failures into clear errors."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from simulator.config import Settings, describe_hosts
from simulator.errors import StoreError
from simulator.logs import get_logger

log = get_logger("store")

_AUTH_FAILED = 18
_UNAUTHORIZED = 13


@dataclass(frozen=True)
class ServerInfo:
    version: str
    flavour: str  # "MongoDB" or "FerretDB vX"
    database: str

    def describe(self) -> str:
        return f"server {self.flavour} (MongoDB wire {self.version}), database {self.database}"


def store_error(exc: BaseException, uri: str) -> StoreError:
    """One message naming the host (never the password) and what to check."""
    host = describe_hosts(uri)
    text = _first_clause(str(exc)).lower()
    if isinstance(exc, OperationFailure) and exc.code in (_AUTH_FAILED, _UNAUTHORIZED):
        return StoreError(
            f"MongoDB at {host} refused the credentials", "check DB_USER and DB_PASSWORD (or MONGODB_URI)"
        )
    if isinstance(exc, ConfigurationError):
        return StoreError(f"MongoDB URI for {host} is not usable: {_first_clause(str(exc))}",
                          "check MONGODB_URI or DB_CLUSTER_URL")
    if "refused" in text or "errno 111" in text or "connect call failed" in text:
        cause = "connection refused"
    elif "timed out" in text or "timeout" in text:
        cause = "timed out"
    elif "name or service not known" in text or "nodename nor servname" in text or "dns" in text:
        cause = "host name not found"
    else:
        cause = _first_clause(str(exc))
    return StoreError(
        f"cannot reach MongoDB at {host}: {cause}",
        "check MONGODB_URI (or DB_CLUSTER_URL) and that the server runs; `make services` starts a local one",
    )


def _first_clause(text: str) -> str:
    first = text.split("(configured timeouts", 1)[0].split(", Timeout:", 1)[0]
    return " ".join(first.split())[:200]


def open_client(settings: Settings) -> AsyncMongoClient:
    try:
        return AsyncMongoClient(
            settings.mongodb_uri,
            serverSelectionTimeoutMS=settings.db_timeout_ms,
            connectTimeoutMS=settings.db_timeout_ms,
            appname="llm-interaction-simulator",
            tz_aware=True,
        )
    except PyMongoError as exc:
        raise store_error(exc, settings.mongodb_uri) from None


async def ping(client: AsyncMongoClient, settings: Settings) -> ServerInfo:
    try:
        await client.admin.command("ping")
        build = await client.admin.command("buildInfo")
    except PyMongoError as exc:
        log.info("ping failed: %s", exc)
        raise store_error(exc, settings.mongodb_uri) from None
    ferret = build.get("ferretdbVersion") or build.get("ferretdb", {}).get("version")
    flavour = f"FerretDB {ferret}" if ferret else "MongoDB"
    return ServerInfo(version=str(build.get("version", "?")), flavour=flavour, database=settings.db_name)

