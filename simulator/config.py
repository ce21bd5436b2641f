"""Settings from the environment and `.env` (python-dotenv).

The database URI comes from MONGODB_URI, or is built from DB_USER, DB_PASSWORD
and DB_CLUSTER_URL the way the original tool read them, so its `.env` files work.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import quote_plus, urlsplit

from dotenv import dotenv_values

from simulator.errors import ConfigError

DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017"
DEFAULT_DB_NAME = "simulator"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str = DEFAULT_MONGODB_URI
    db_name: str = DEFAULT_DB_NAME
    ollama_host: str = DEFAULT_OLLAMA_HOST
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    user: str = "researcher"
    db_timeout_ms: int = 5000
    db_write_concurrency: int | None = None

    def secrets(self) -> list[str]:
        """Values that must never reach output or logs."""
        found = [self.openai_api_key or ""]
        password = urlsplit(self.mongodb_uri).password if "@" in self.mongodb_uri else None
        found.append(password or "")
        return [s for s in found if s]


def read_env(dotenv_path: Path | None = None) -> dict[str, str]:
    """The process environment over `.env` (the environment wins, as with dotenv)."""
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    values.update(os.environ)
    return values


def build_mongodb_uri(env: Mapping[str, str]) -> str:
    """MONGODB_URI, else the original tool's DB_USER/DB_PASSWORD/DB_CLUSTER_URL."""
    uri = env.get("MONGODB_URI", "").strip()
    if uri:
        return uri
    cluster = env.get("DB_CLUSTER_URL", "").strip()
    if not cluster:
        return DEFAULT_MONGODB_URI
    if cluster.startswith(("mongodb://", "mongodb+srv://")):
        return cluster
    user, password = env.get("DB_USER", "").strip(), env.get("DB_PASSWORD", "")
    if bool(user) != bool(password):
        raise ConfigError("DB_USER and DB_PASSWORD must be set together", "edit .env or the environment")
    credentials = f"{quote_plus(user)}:{quote_plus(password)}@" if user else ""
    return f"mongodb+srv://{credentials}{cluster}/?retryWrites=true&w=majority"


def load_settings(env: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    values = dict(env) if env is not None else read_env(dotenv_path)
    timeout = values.get("DB_TIMEOUT_MS", "5000")
    if not timeout.isdigit() or int(timeout) == 0:
        raise ConfigError(f"DB_TIMEOUT_MS must be a positive whole number of milliseconds, got {timeout!r}")
    writes = values.get("DB_WRITE_CONCURRENCY", "").strip()
    if writes and (not writes.isdigit() or int(writes) == 0):
        raise ConfigError(f"DB_WRITE_CONCURRENCY must be a positive whole number, got {writes!r}")
    ollama_host = values.get("OLLAMA_HOST", "").strip() or DEFAULT_OLLAMA_HOST
    if "://" not in ollama_host:
        ollama_host = f"http://{ollama_host}"
    return Settings(
        mongodb_uri=build_mongodb_uri(values),
        db_name=values.get("DB_NAME", "").strip() or DEFAULT_DB_NAME,
        ollama_host=ollama_host,
        openai_api_key=values.get("OPENAI_API_KEY") or None,
        openai_base_url=values.get("OPENAI_BASE_URL") or None,
        user=(values.get("SIM_USER") or values.get("DB_USER") or _os_user()).strip(),
        db_timeout_ms=int(timeout),
        db_write_concurrency=int(writes) if writes else None,
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "researcher"


def describe_hosts(uri: str) -> str:
    """The host part of a MongoDB URI with any credentials removed."""
    rest = uri.split("://", 1)[-1]
    hosts = rest.split("/", 1)[0].split("?", 1)[0]
    return hosts.rsplit("@", 1)[-1] or "(no host)"


def describe_url(url: str) -> str:
    """A server URL as it may be shown: any user:password@ part removed."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.rsplit("@", 1)[-1]
    host, slash, tail = rest.partition("/")
    return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{tail}"
