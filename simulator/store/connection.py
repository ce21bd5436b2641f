"""Connecting to MongoDB (or FerretDB) and turning driver failures into clear errors.

FerretDB answers for a backend it cannot reach (its PostgreSQL stopped or killed) with
InternalError and a pgx dump ("failed to connect to `user=ferretdb database=ferretdb`:
... dial unix ...: connect: connection refused"); `backend_down` recognises those, so the
store retries them as passing failures and reports them in one line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

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
    backend: str = ""  # FerretDB's: "PostgreSQL 15.18", "SQLite 3.41.2"; "" on MongoDB or when unknown
    authenticated_user: str | None = None  # who the server says we are; None when it does not authenticate

    def describe(self) -> str:
        on = f" on {self.backend}" if self.backend else ""
        return f"server {self.flavour}{on} (MongoDB wire {self.version}), database {self.database}"


def store_error(exc: BaseException, uri: str) -> StoreError:
    """One message naming the host (never the password) and what to check."""
    host = describe_hosts(uri)
    text = _first_clause(str(exc)).lower()
    if isinstance(exc, OperationFailure) and (exc.code in (_AUTH_FAILED, _UNAUTHORIZED) or login_refused(exc)):
        return StoreError(
            f"MongoDB at {host} refused the credentials", "check DB_USER and DB_PASSWORD (or MONGODB_URI)"
        )
    if isinstance(exc, ConfigurationError):
        return StoreError(f"MongoDB URI for {host} is not usable: {_first_clause(str(exc))}",
                          "check MONGODB_URI or DB_CLUSTER_URL")
    backend = backend_down(exc)
    if backend:
        return StoreError(f"FerretDB at {host} cannot reach its PostgreSQL: {backend}",
                          "start it again; `make services` starts the local one")
    if isinstance(exc, OperationFailure):  # it answered: whatever it says, it was reached
        return StoreError(f"MongoDB at {host} refused the operation: {_first_clause(str(exc).split(', full error:')[0])}")
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
        user = await authenticated_user(client)
    except PyMongoError as exc:
        log.info("ping failed: %s", exc)
        raise store_error(exc, settings.mongodb_uri) from None
    ferret = build.get("ferretdbVersion") or build.get("ferretdb", {}).get("version")
    flavour = f"FerretDB {ferret}" if ferret else "MongoDB"
    return ServerInfo(version=str(build.get("version", "?")), flavour=flavour, database=settings.db_name,
                      authenticated_user=user)


async def authenticated_user(client: AsyncMongoClient) -> str | None:
    """The user the server authenticated this client as (its connection status), or None when it
    does not authenticate (an anonymous client of FerretDB, a MongoDB without access control)."""
    status = await client.admin.command("connectionStatus")
    users = (status.get("authInfo") or {}).get("authenticatedUsers") or []
    return str(users[0].get("user")) if users and users[0].get("user") else None


async def with_backend(client: AsyncMongoClient, server: ServerInfo) -> ServerInfo:
    """Learn FerretDB's backend from its startup warnings ("Powered by FerretDB v1.24.2 and
    PostgreSQL 15.18."); FerretDB knows it once it has used the backend, so call this after a
    real command. MongoDB is not asked."""
    if not server.flavour.startswith("FerretDB"):
        return server
    try:
        reply = await client.admin.command({"getLog": "startupWarnings"})
    except PyMongoError:
        return server
    for line in reply.get("log", []):
        try:
            message = json.loads(line).get("msg", "")
        except (ValueError, AttributeError):
            continue
        found = re.search(r"Powered by FerretDB \S+ and (.+?)\.?$", message)
        if found:
            return replace(server, backend=found.group(1))
    return server


# What pgx and PostgreSQL say, inside FerretDB's InternalError, when the backend is gone.
_BACKEND_DOWN = (
    ("failed to connect to `", None),
    ("sqlstate 57p01", "it was shut down"),          # admin_shutdown
    ("sqlstate 57p02", "it crashed"),                # crash_shutdown
    ("sqlstate 57p03", "it is starting up"),         # cannot_connect_now
    ("terminating connection", "it was shut down"),
    ("unexpected eof", "the connection was cut"),
    ("conn closed", "the connection was cut"),
    ("connection reset by peer", "the connection was cut"),
    ("broken pipe", "the connection was cut"),
)


def login_refused(exc: OperationFailure) -> bool:
    """FerretDB on PostgreSQL checks a login's password only when it first uses the backend:
    PostgreSQL's invalid_password / invalid_authorization_specification, wrapped."""
    text = str(exc).lower()
    return "sqlstate 28p01" in text or "sqlstate 28000" in text


def backend_down(exc: BaseException) -> str | None:
    """Why FerretDB cannot reach its PostgreSQL, when that is what `exc` says; else None."""
    if not isinstance(exc, OperationFailure):
        return None
    text = str(exc).lower()
    for marker, cause in _BACKEND_DOWN:
        if marker in text:
            return cause or _connect_cause(text)
    return None


def _connect_cause(text: str) -> str:
    if "connection refused" in text:
        return "connection refused (it is not running)"
    if "no such file or directory" in text:
        return "its socket is missing (it is not running)"
    if "starting up" in text or "recovery" in text:
        return "it is starting up"
    return "cannot connect"
