"""Who may read: the one place every request passes before a page is built.

The explorer binds 127.0.0.1 by default, where only this machine can reach it. Bound to any
other address it needs a token on every request: the URL printed at start carries it once
(`?token=`), the answer stores it in a cookie (HttpOnly, SameSite=Strict) and redirects to the
same page without it, so it does not stay in the address bar or in links. A request may also
bring it as `Authorization: Bearer`. Tokens are compared in constant time.

On loopback without a token the Host header must name the loopback, so a web page elsewhere
cannot read the explorer through a DNS name it points at 127.0.0.1 (DNS rebinding).

Every answer carries a Content-Security-Policy that allows scripts, styles, images and
connections from the explorer itself only (no inline script or style), and is read-only:
anything but GET and HEAD is refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response

COOKIE = "explorer_token"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOOPBACK_HOST_HEADERS = {"127.0.0.1", "localhost", "[::1]"}

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                  b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def is_loopback(host: str) -> bool:
    return host in LOOPBACK


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Access:
    """What a request must show: the token (None on loopback without one)."""

    token: str | None = None
    writes: bool = False  # annotation mode: form POSTs pass (each checked for its CSRF token by its page)

    def allows(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())


class Guard:
    """ASGI middleware: methods, host, token, then the security headers on whatever is answered."""

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self.refusal(scope)
        target = refusal or self.app

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await target(scope, receive, with_headers)

    def refusal(self, scope) -> Response | None:
        """Why this request is refused, as the answer to give; None when it may go on."""
        if scope["method"] not in ("GET", "HEAD") and not (self.access.writes and scope["method"] == "POST"):
            return PlainTextResponse("the explorer is read-only", status_code=405, headers={"allow": "GET, HEAD"})
        headers = Headers(scope=scope)
        if self.access.token is None:
            if host_name(headers.get("host", "")) not in LOOPBACK_HOST_HEADERS:
                return PlainTextResponse("unexpected Host header", status_code=421)
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query and self.access.allows(query["token"]):
            return _store_cookie(scope, query, query["token"])
        if self.access.allows(presented_token(headers)):
            return None
        return PlainTextResponse("a token is needed: open the URL `simulator explore` printed", status_code=401)


def host_name(value: str) -> str:
    """The name in a Host header, without the port: "127.0.0.1", "localhost", "[::1]"."""
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0]


def presented_token(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is no token
        return None
    return cookie[COOKIE].value if COOKIE in cookie else None


def _store_cookie(scope, query: dict[str, str], token: str) -> Response:
    """Remember the token in a cookie and go to the same page without it in the URL."""
    rest = urlencode({k: v for k, v in query.items() if k != "token"})
    response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
