"""Secrets stay on each Ray node: a job is sent without them and each actor takes its node's own.

A Ray job travels over the cluster's network (gRPC, unencrypted unless the cluster is set up with
TLS) and sits in its object store, so the settings sent with it lose every secret first: the
password of each server URL (the database's, a model server's) and every API key. The actor
puts back its own node's values, read from that node's environment or `.env` as any command
reads them: a password only for the same user on the same hosts as the URL sent, a key for the
same provider or the same named endpoint. Everything else (the database name, the model
servers, who started the batch) comes from the machine that started it.
"""

from __future__ import annotations

from dataclasses import replace

from simulator.config import Settings


def key_settings() -> set[str]:
    from simulator.llm.providers import all_providers

    return {p.key_setting for p in all_providers() if p.key_setting}


def without_secrets(settings: Settings) -> Settings:
    keys = key_settings()
    return replace(
        settings, mongodb_uri=no_password(settings.mongodb_uri), ollama_host=no_password(settings.ollama_host),
        openai_base_url=settings.openai_base_url and no_password(settings.openai_base_url), openai_api_key=None,
        provider_values={k: no_password(v) for k, v in settings.provider_values.items() if k not in keys},
        extra_endpoints=tuple(replace(e, url=no_password(e.url), key=None) for e in settings.extra_endpoints))


def with_node_secrets(sent: Settings, node: Settings) -> Settings:
    """The settings `sent` by the starting machine with this node's secrets where they belong."""
    keys = key_settings()
    node_endpoints = {e.name: e for e in node.extra_endpoints}
    provider_values = {k: password_from(v, node.provider_values.get(k, "")) for k, v in sent.provider_values.items()}
    provider_values.update({k: v for k, v in node.provider_values.items() if k in keys})
    return replace(
        sent, mongodb_uri=password_from(sent.mongodb_uri, node.mongodb_uri),
        ollama_host=password_from(sent.ollama_host, node.ollama_host),
        openai_base_url=sent.openai_base_url and password_from(sent.openai_base_url, node.openai_base_url or ""),
        openai_api_key=node.openai_api_key, provider_values=provider_values,
        extra_endpoints=tuple(_endpoint(e, node_endpoints.get(e.name)) for e in sent.extra_endpoints))


def _endpoint(sent, node):
    if node is None:
        return sent
    return replace(sent, url=password_from(sent.url, node.url), key=node.key)


def _split(url: str) -> tuple[str, str, str, str, str]:
    """(scheme and `//`, user, password, hosts, the rest) of a URL; "" where absent. Works for a MongoDB
    URI with several hosts, which urllib cannot give a port for."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", "", "", url
    netloc, slash, tail = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    user, _colon, password = credentials.partition(":") if at else ("", "", "")
    return f"{scheme}://", user, password, hosts, slash + tail


def no_password(url: str) -> str:
    prefix, user, password, hosts, rest = _split(url)
    return f"{prefix}{user}@{hosts}{rest}" if password else url


def password_from(url: str, node_url: str) -> str:
    """`url` with the password of `node_url` when that is the same user on the same hosts (else as is)."""
    prefix, user, password, hosts, rest = _split(url)
    node_prefix, node_user, node_password, node_hosts, _ = _split(node_url)
    if password or not user or not node_password or (prefix, user, hosts) != (node_prefix, node_user, node_hosts):
        return url
    return f"{prefix}{user}:{node_password}@{hosts}{rest}"
