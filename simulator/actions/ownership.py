"""Creator-only changes: anyone may read, export and duplicate; only the creator may change,
resume or delete. The user is who the database says is connected (config.identity), so on a
server with logins nobody can act as somebody else through this client."""

from __future__ import annotations

from simulator.errors import PermissionDenied


def require_creator(creator: str, user: str, action: str, what: str, hint: str | None = None) -> None:
    """Refuse `action` on `what` (e.g. "conversation 65f...") unless `user` created it."""
    if creator != user:
        raise PermissionDenied(f"only {creator or 'its creator'} may {action} {what}; you are {user}", hint)
