"""Browser sessions: random opaque tokens, stored only as a keyed hash.

The database keeps ``HMAC-SHA256(secret key, token)``, so someone who can read ``app.sqlite``
alone can neither use a stored value as a cookie nor mint a session that the server accepts.
The CSRF token is derived from the session token with the same key (no extra column): it is
stable for the session's life, differs per session, and cannot be computed without the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from funnelboard.auth.users import User

#: last_seen is written at most this often, so busy pages do not write on every request
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NewSession:
    """What the web layer puts in the cookie (``token``) and in forms (``csrf_token``)."""

    token: str
    csrf_token: str
    max_age_seconds: int


@dataclass(frozen=True)
class SessionInfo:
    """A live session: its user, the user's current role and the session's CSRF token."""

    user: User
    role: str
    csrf_token: str
    created_at: dt.datetime
    last_seen: dt.datetime
    expires_at: dt.datetime


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_hash(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"session:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_token(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"csrf:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_matches(secret: bytes, token: str, submitted: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    expected = csrf_token(secret, token)
    return hmac.compare_digest(expected.encode("ascii"), submitted.encode("utf-8"))

