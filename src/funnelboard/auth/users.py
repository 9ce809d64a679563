"""Users and roles: who someone is, and what their role lets them do.

Roles are ordered (each includes the rights of the ones before it), and an API token's scope
maps onto the same ladder, so "what may this caller do" is always one comparison.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from funnelboard.auth.appdb import parse
from funnelboard.errors import AuthError, UnknownNameError

ROLES = ("viewer", "analyst", "admin")
SCOPES = ("read", "write", "admin")
SCOPE_ROLE = dict(zip(SCOPES, ROLES, strict=True))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_EMAIL_LENGTH = 254
USER_COLUMNS = "id, email, role, disabled, password_hash, created_at, last_login_at"
#: the same, for queries that join ``users u`` to sessions or tokens
JOINED_USER_COLUMNS = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UnknownNameError("role", role, ROLES)
    return role


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise UnknownNameError("scope", scope, SCOPES)
    return scope


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` includes the rights of ``needed``; an unknown role allows nothing."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def lesser_role(a: str, b: str) -> str:
    """The role with fewer rights (a token never exceeds its user's current role)."""
    return a if role_allows(b, a) else b


def normalise_email(email: str) -> str:
    """Trimmed, lower-case, and shaped like an address (``admin@localhost`` is fine)."""
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL_LENGTH or not _EMAIL.match(cleaned):
        raise AuthError(f"'{email.strip()[:80]}' is not an email address, e.g. "
                        "ana@example.com.")
    return cleaned


@dataclass(frozen=True)
class User:
    """A user as the service returns it: never with the password hash."""

    id: int
    email: str
    role: str
    disabled: bool
    has_password: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return not self.disabled

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role,
                "disabled": self.disabled, "has_password": self.has_password,
                "created_at": self.created_at.isoformat(),
                "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None}


def user_from_row(row: sqlite3.Row) -> User:
    return User(id=row["id"], email=row["email"], role=row["role"],
                disabled=bool(row["disabled"]), has_password=bool(row["password_hash"]),
                created_at=parse(row["created_at"]),
                last_login_at=parse(row["last_login_at"]) if row["last_login_at"] else None)


def fetch_user(con: sqlite3.Connection, *, user_id: int | None = None,
               email: str | None = None) -> sqlite3.Row | None:
    """The user row (hash included, for this package only) by id or by normalised email."""
    column, value = ("id", user_id) if user_id is not None else ("email", email)
    row: sqlite3.Row | None = con.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE {column} = ?", (value,)).fetchone()  # noqa: S608
    return row


def require_row(con: sqlite3.Connection, user_id: int | None) -> sqlite3.Row:
    """The user row with this id; AuthError when there is none."""
    row = fetch_user(con, user_id=user_id) if user_id is not None else None
    if row is None:
        raise AuthError(f"There is no user with id {user_id}.")
    return row


def load_user(con: sqlite3.Connection, user_id: int | None) -> User:
    return user_from_row(require_row(con, user_id))
