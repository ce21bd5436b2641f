"""Serving the explorer: open the database, take the port, run uvicorn until Ctrl-C.

The port is bound here before uvicorn starts, so a port in use or an address that cannot be
bound is one line naming it; so is a database that cannot be reached (simulator/store). The
address decides the access rule (simulator/web/access.py): 127.0.0.1, ::1 or localhost need
no token unless one is given; any other address needs one, generated and printed once when
none is given.
"""

from __future__ import annotations

import re
import socket
import sys
import tempfile
import webbrowser
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from simulator.config import Settings
from simulator.errors import ValidationError
from simulator.web import DEFAULT_HOST, DEFAULT_PORT
from simulator.web.access import Access, is_loopback, new_token
from simulator.web.analyses import Analyses
from simulator.web.app import create_app
from simulator.web.database import open_read_only, where
from simulator.web.pages.annotate import Annotating
from simulator.store import connect



@dataclass(frozen=True)
class Listening:
    host: str
    port: int
    token: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")


MIN_TOKEN_CHARS = 32  # a generated token has 32 characters (24 random bytes)
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")  # what a URL carries as it is


def access_for(host: str, token: str | None) -> tuple[Access, bool]:
    """The access rule for this address, and whether the token was generated here. On an address other
    machines reach, a token a person chose must be as hard to guess as a generated one."""
    if token is not None and not token.strip():
        raise ValidationError("--token is empty")
    if token is None and not is_loopback(host):
        return Access(new_token()), True
    if token is not None and not TOKEN_CHARS.fullmatch(token):
        raise ValidationError("--token may hold only letters, digits and . _ ~ - (it travels in a URL)",
                              "leave --token out to have one generated and printed")
    if token is not None and not is_loopback(host) and len(token) < MIN_TOKEN_CHARS:
        raise ValidationError(f"--token is {len(token)} characters; on {host} it needs at least {MIN_TOKEN_CHARS}",
                              "leave --token out to have one generated and printed")
    return Access(token), False


def check_port(port: int) -> int:
    if not 0 <= port <= 65535:
        raise ValidationError(f"--port must be between 0 and 65535, got {port}")
    return port


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ValidationError(f"cannot listen on {host}: {exc.strerror}", "give an address with --host") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "choose another with --port" if exc.errno == 98 else "choose another address with --host"
        raise ValidationError(f"cannot listen on {host} port {port}: {exc.strerror}", hint) from None
    sock.setblocking(False)
    return sock


async def serve(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
                open_browser: bool = False, annotate: bool = False) -> None:
    access, generated = access_for(host, token)
    check_port(port)
    store = await open_read_only(settings) if not annotate else await connect(settings)  # connect: identity, gate
    annotating = Annotating.start(store.user, store.server.authenticated_user is not None) if annotate else None
    access = replace(access, writes=annotate)
    analyses = Analyses(Path(tempfile.mkdtemp(prefix="sim-explore-")))
    try:
        sock = bind(host, port)
        listening = Listening(host, sock.getsockname()[1], access.token)
        announce(listening, settings, generated, annotating)
        if open_browser:
            webbrowser.open(listening.url)
        config = uvicorn.Config(create_app(store, settings, analyses, access, annotating), log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        analyses.close()
        await store.close()


def announce(listening: Listening, settings: Settings, generated: bool, annotating: Annotating | None = None) -> None:
    mode = f"annotating as {annotating.annotator}" if annotating else "read-only"
    print(f"explorer at {listening.url}  (database {where(settings)}, {mode}; Ctrl-C stops it)")
    if annotating:
        print(f"labels are stored as {annotating.annotator!r}: {annotating.how}")
    if generated:
        print("the token in that URL is needed on every request; it is shown only now")
    sys.stdout.flush()
