"""The audit log: an append-only record of security-relevant events.

Sign-ins, lock-outs, user and role changes, token creation and revocation, login links; the
web layer adds imports, exports and deletions. There is no update or delete here, and
triggers in ``app.sqlite`` refuse both, so a mistake in later code cannot rewrite history.
Anything that looks like an API token is masked before it is written, as a last guard.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from funnelboard.auth.appdb import iso, parse

_TOKEN_LIKE = re.compile(r"fb_[A-Za-z0-9_-]{8,}")
MAX_TEXT = 500


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str | None
    action: str
    object: str | None
    outcome: str
    ip: str | None
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor,
                "action": self.action, "object": self.object, "outcome": self.outcome,
                "ip": self.ip, "detail": self.detail}


def _clean(text: str | None) -> str | None:
    return None if text is None else _TOKEN_LIKE.sub("fb_***", text)[:MAX_TEXT]


def write(con: sqlite3.Connection, now: dt.datetime, actor: str | None, action: str,
          object: str | None = None, outcome: str = "ok", ip: str | None = None,
          detail: str | None = None) -> None:
    con.execute(
        "INSERT INTO audit_log (at, actor, action, object, outcome, ip, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (iso(now), _clean(actor), action, _clean(object), outcome, ip, _clean(detail)))


def read(con: sqlite3.Connection, limit: int = 100, action: str | None = None
         ) -> list[AuditEntry]:
    """The newest entries first, optionally of one action."""
    rows = con.execute(
        "SELECT id, at, actor, action, object, outcome, ip, detail FROM audit_log "
        "WHERE ? IS NULL OR action = ? ORDER BY id DESC LIMIT ?", (action, action, limit))
    return [AuditEntry(id=r["id"], at=parse(r["at"]), actor=r["actor"], action=r["action"],
                       object=r["object"], outcome=r["outcome"] or "ok", ip=r["ip"],
                       detail=r["detail"]) for r in rows]
