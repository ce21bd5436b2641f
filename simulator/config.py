"""Settings from the environment and `.env` (python-dotenv).

The database URI comes from MONGODB_URI, or is built from DB_USER, DB_PASSWORD
and DB_CLUSTER_URL the way the original tool read them, so its `.env` files work.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping
from urllib.parse import quote_plus, urlsplit

from dotenv import dotenv_values

from simulator.core.parsing import parse_server_url, parse_whole
from simulator.core.safe_text import NAME_UNSAFE
from simulator.errors import ConfigError

if TYPE_CHECKING:
    from simulator.llm.provider import Endpoint

DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017"
DEFAULT_DB_NAME = "simulator"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_LLAMACPP_PORT = 8088
ENDPOINT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str = DEFAULT_MONGODB_URI
    db_name: str = DEFAULT_DB_NAME
    ollama_host: str = DEFAULT_OLLAMA_HOST
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    user: str = "researcher"
    declared_user: str | None = None  # SIM_USER as set, to refuse when the server says otherwise
    db_timeout_ms: int = 5000
    db_write_concurrency: int | None = None
    llamacpp_url: str = f"http://127.0.0.1:{DEFAULT_LLAMACPP_PORT}/v1"
    # the URL and key settings of the other providers (ANTHROPIC_API_KEY, ...), as read
    provider_values: Mapping[str, str] = field(default_factory=dict, repr=False)
    extra_endpoints: tuple["Endpoint", ...] = ()  # declared in SIM_ENDPOINTS
    model_aliases: Mapping[str, str] = field(default_factory=dict)  # short name -> spec (SIM_MODEL_ALIASES)
    max_reply_chars: int = 200_000  # a model reply is cut beyond this (SIM_MAX_REPLY_CHARS; simulator/llm/bounds.py)

    def secrets(self) -> list[str]:
        """Values that must never reach output, logs or the database: every endpoint's key and the
        password of every server URL among the settings."""
        from simulator.llm.providers import endpoints

        found = [self.openai_api_key or ""]
        urls = [self.mongodb_uri, self.ollama_host, self.openai_base_url or ""]
        for endpoint in endpoints(self).values():
            found.append(endpoint.key or "")
            urls.append(endpoint.url)
        for url in urls:
            try:
                found.append(urlsplit(url).password or "" if "@" in url else "")
            except ValueError:
                continue
        return list(dict.fromkeys(s for s in found if s))


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
    """Every setting checked here, so a malformed one is one line on every command, not a traceback."""
    values = dict(env) if env is not None else read_env(dotenv_path)
    timeout = _whole(values.get("DB_TIMEOUT_MS", "5000"), "DB_TIMEOUT_MS", 1, 600_000, "milliseconds")
    writes = values.get("DB_WRITE_CONCURRENCY", "").strip()
    return Settings(
        mongodb_uri=mongodb_uri(build_mongodb_uri(values)),
        db_name=database_name(values.get("DB_NAME", "").strip() or DEFAULT_DB_NAME),
        ollama_host=server_url(values.get("OLLAMA_HOST", "").strip() or DEFAULT_OLLAMA_HOST, "OLLAMA_HOST"),
        openai_api_key=values.get("OPENAI_API_KEY") or None,
        openai_base_url=server_url(values["OPENAI_BASE_URL"].strip(), "OPENAI_BASE_URL")
        if (values.get("OPENAI_BASE_URL") or "").strip() else None,
        user=user_name(values),
        declared_user=user_name({"SIM_USER": values["SIM_USER"]}) if (values.get("SIM_USER") or "").strip() else None,
        db_timeout_ms=timeout,
        db_write_concurrency=_whole(writes, "DB_WRITE_CONCURRENCY", 1, 1024, "writes") if writes else None,
        llamacpp_url=llamacpp_url(values),
        provider_values=provider_values(values),
        extra_endpoints=parse_endpoints(values.get("SIM_ENDPOINTS", ""), values),
        model_aliases=parse_aliases(values.get("SIM_MODEL_ALIASES", "")),
        max_reply_chars=max_reply_chars(values),
    )


def max_reply_chars(values: Mapping[str, str]) -> int:
    """SIM_MAX_REPLY_CHARS: the longest model reply kept, in characters."""
    from simulator.llm.bounds import DEFAULT_MAX_REPLY_CHARS, MAX_REPLY_CHARS_RANGE

    text = (values.get("SIM_MAX_REPLY_CHARS") or "").strip()
    return _whole(text, "SIM_MAX_REPLY_CHARS", *MAX_REPLY_CHARS_RANGE, "characters") if text \
        else DEFAULT_MAX_REPLY_CHARS


def llamacpp_url(values: Mapping[str, str]) -> str:
    """The project's llama.cpp server: SIM_LLAMACPP_URL, else 127.0.0.1 on SIM_LLAMACPP_PORT."""
    url = (values.get("SIM_LLAMACPP_URL") or "").strip()
    if url:
        return server_url(url, "SIM_LLAMACPP_URL")
    port = (values.get("SIM_LLAMACPP_PORT") or "").strip()
    number = _whole(port, "SIM_LLAMACPP_PORT", 1, 65535, "a port") if port else DEFAULT_LLAMACPP_PORT
    return f"http://127.0.0.1:{number}/v1"


def provider_values(values: Mapping[str, str]) -> dict[str, str]:
    """The URL and key of each provider's own endpoint, URLs checked."""
    from simulator.llm.providers import all_providers

    found = {}
    for provider in all_providers():
        url = (values.get(provider.url_setting) or "").strip()
        if url:
            found[provider.url_setting] = server_url(url, provider.url_setting)
        if provider.key_setting and values.get(provider.key_setting):
            found[provider.key_setting] = values[provider.key_setting]
    return found


def parse_endpoints(text: str, values: Mapping[str, str]) -> tuple["Endpoint", ...]:
    """SIM_ENDPOINTS: `NAME=API URL [KEY_VARIABLE]` entries separated by `;` or new lines, e.g.
    `vllm-gpu=openai http://10.0.0.5:8000/v1 VLLM_API_KEY; lab=ollama http://lab:11434`."""
    from simulator.llm.provider import Endpoint
    from simulator.llm.providers import REGISTRY

    found: dict[str, Endpoint] = {}
    for entry in filter(None, (e.strip() for e in re.split(r"[;\n]", text))):
        name, sep, rest = entry.partition("=")
        name, fields = name.strip(), rest.split()
        where = f"SIM_ENDPOINTS entry {describe_url(entry)!r}"
        if not sep or not ENDPOINT_NAME.fullmatch(name) or len(fields) not in (2, 3):
            raise ConfigError(f"{where}: expected NAME=API URL [KEY_VARIABLE]",
                              "e.g. vllm-gpu=openai http://10.0.0.5:8000/v1 VLLM_API_KEY; names are lower-case "
                              "letters, digits, - and _")
        if fields[0] not in REGISTRY:
            raise ConfigError(f"{where}: unknown API {fields[0]!r}; known are {', '.join(REGISTRY)}")
        key_env = fields[2] if len(fields) == 3 else None
        if key_env is not None and not ENV_NAME.fullmatch(key_env):
            raise ConfigError(f"{where}: {key_env!r} is not an environment variable name (A-Z, 0-9, _)")
        if name in found or name in REGISTRY or name == "llamacpp":
            raise ConfigError(f"{where}: the endpoint name {name!r} is already taken")
        found[name] = Endpoint(name, fields[0], server_url(fields[1], f"SIM_ENDPOINTS {name}"), key_env,
                               values.get(key_env) if key_env else None)
    return tuple(found.values())


def parse_aliases(text: str) -> dict[str, str]:
    """SIM_MODEL_ALIASES: `SHORT=SPEC` entries separated by `;`, e.g. `opus=anthropic/claude-3-opus-latest`."""
    from simulator.core.model_spec import parse_spec
    from simulator.errors import ValidationError

    found = {}
    for entry in filter(None, (e.strip() for e in re.split(r"[;\n]", text))):
        name, sep, spec = (part.strip() for part in entry.partition("="))
        if not sep or not ENDPOINT_NAME.fullmatch(name):
            raise ConfigError(f"SIM_MODEL_ALIASES entry {entry!r}: expected SHORT=ENDPOINT/MODEL")
        try:
            found[name] = str(parse_spec(spec))
        except ValidationError as exc:
            raise ConfigError(f"SIM_MODEL_ALIASES {name}: {exc.message}") from None
    return found


def _whole(text: str, name: str, low: int, high: int, unit: str) -> int:
    try:
        return parse_whole(text, low, high)
    except ValueError:
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "..."
        raise ConfigError(f"{name} must be a whole number of {unit} from {low} to {high}, got {shown!r}") from None


_DATABASE_NAME = re.compile(r'[^/\\. "$*<>:|?\x00-\x1f\x7f]{1,63}')


def database_name(name: str) -> str:
    if not _DATABASE_NAME.fullmatch(name):
        raise ConfigError(f"DB_NAME {name!r} is not a usable database name",
                          "1 to 63 characters without spaces, control characters or / \\ . \" $ * < > : | ?")
    return name


def server_url(text: str, name: str) -> str:
    """An http(s) URL with a valid host and, if any, a port from 1 to 65535 (a bare host:port gets http://)."""
    try:
        return parse_server_url(text)
    except ValueError as exc:
        raise ConfigError(f"{name} {describe_url(text)!r} is not a usable server URL: {exc}",
                          "e.g. http://127.0.0.1:11434") from None


def mongodb_uri(uri: str) -> str:
    """The URI as pymongo will read it, checked now: a malformed host, an unknown option or value
    (authMechanism=BOGUS, tls=maybe) is one line naming the setting, not a driver warning followed by
    a misleading "refused the credentials". A mongodb+srv:// URI is checked without its DNS lookup."""
    import warnings

    from pymongo.errors import PyMongoError
    from pymongo.uri_parser import parse_uri

    scheme, sep, rest = uri.partition("://")
    checked = f"mongodb://{rest}" if scheme == "mongodb+srv" else uri
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    try:
        if not sep or not hosts.isascii() or any(not PORT_DIGITS.fullmatch(port) for port in _ports(hosts)):
            raise ValueError("the host list must be HOST[:PORT] in ASCII, ports of digits 0-9")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parse_uri(checked, validate=True, warn=False)
    except (ValueError, PyMongoError, Warning) as exc:
        reason = " ".join(str(exc).split())[:200]
        password = rest.split("/", 1)[0].rpartition("@")[0].partition(":")[2]
        if password:
            reason = reason.replace(password, "***")
        raise ConfigError(f"MONGODB_URI for {describe_hosts(uri)} is not usable: {reason}",
                          "check MONGODB_URI or DB_CLUSTER_URL") from None
    return uri


PORT_DIGITS = re.compile(r"[0-9]{1,5}")


def _ports(hosts: str) -> list[str]:
    """The port of every HOST:PORT in a URI's host list ([IPv6]:PORT included)."""
    found = []
    for host in filter(None, hosts.split(",")):
        tail = host.rsplit("]", 1)[-1] if host.startswith("[") else host
        if ":" in tail:
            found.append(tail.rsplit(":", 1)[-1])
    return found


def user_name(values: Mapping[str, str]) -> str:
    """Who you are on a database without authentication: SIM_USER, else DB_USER, else your login."""
    for key in ("SIM_USER", "DB_USER"):
        raw = values.get(key)
        if raw is not None and raw.strip():
            name = raw.strip()
            if NAME_UNSAFE.search(name) or len(name) > 100:
                raise ConfigError(f"{key} must be a plain name of at most 100 characters on one line")
            return name
    return _os_user()


def identity(settings: Settings, authenticated: str | None) -> str:
    """Who you are: the user the database server authenticated, when it authenticates (a SIM_USER
    that says otherwise is refused); else the self-declared name (SIM_USER, DB_USER, login)."""
    if authenticated is None:
        return settings.user
    if settings.declared_user is not None and settings.declared_user != authenticated:
        raise ConfigError(f"SIM_USER is {settings.declared_user!r} but the database authenticated you as "
                          f"{authenticated!r}", "unset SIM_USER: on a server with logins, your login is who you are")
    return authenticated


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
