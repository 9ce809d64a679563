"""API tokens and one-time login links: random secrets stored only as SHA-256 digests.

Both are 256-bit random values, so a plain SHA-256 digest is already infeasible to reverse or
guess; no key is needed. That is deliberate: the command line creates tokens and login links
without knowing the server's secret key, and the server still recognises them. (Session
hashes do use the key; see :mod:`funnelboard.auth.sessions`.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from funnelboard.auth.appdb import parse
from funnelboard.auth.users import User

TOKEN_PREFIX = "fb_"
#: characters of the token kept in clear for display ("fb_" and 7 random characters)
DISPLAY_PREFIX_LENGTH = 10


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never its hash or plaintext, only a short display prefix."""

    id: int
    user_id: int
    email: str
    name: str
    scope: str
    prefix: str
    created_at: dt.datetime | None
    expires_at: dt.datetime
    last_used: dt.datetime | None
    revoked: bool

    def status(self, now: dt.datetime) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        def show(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {"id": self.id, "email": self.email, "name": self.name, "scope": self.scope,
                "prefix": self.prefix, "created_at": show(self.created_at),
                "expires_at": show(self.expires_at), "last_used": show(self.last_used),
                "status": self.status(now)}


@dataclass(frozen=True)
class TokenIdentity:
    """Who a presented API token acts for: ``role`` is the lesser of scope and user role."""

    user: User
    role: str
    scope: str
    token_id: int


TOKEN_SELECT = ("SELECT t.id, t.user_id, u.email, t.name, t.scope, t.prefix, t.created_at, "
                "t.expires_at, t.last_used, t.revoked FROM api_tokens t "
                "JOIN users u ON u.id = t.user_id")


def token_from_row(row: sqlite3.Row) -> TokenInfo:
    return TokenInfo(id=row["id"], user_id=row["user_id"], email=row["email"], name=row["name"],
                     scope=row["scope"], prefix=row["prefix"],
                     created_at=parse(row["created_at"]) if row["created_at"] else None,
                     # a token without an expiry predates this code: treat it as expired
                     expires_at=parse(row["expires_at"] or "0001-01-01T00:00:00+00:00"),
                     last_used=parse(row["last_used"]) if row["last_used"] else None,
                     revoked=bool(row["revoked"]))
