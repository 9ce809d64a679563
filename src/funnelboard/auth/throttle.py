"""Login throttling: failed sign-ins counted per user name and per client address.

Failures are rows in ``login_failures`` (not memory), so the limits hold across restarts and
across the CLI and the server. A name or address is locked while it has at least the allowed
number of failures inside the sliding window; the lock lifts by itself as old failures age
out of it, and ``retry_after`` says when. Counting by the name typed, whether or not such a
user exists, means a lock reveals nothing about which accounts exist. The name is stored only
as a keyed hash: people do type their password into the email box.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import sqlite3

from funnelboard.auth.appdb import iso, parse
from funnelboard.settings import ServerSettings


class LoginThrottle:
    def __init__(self, server: ServerSettings, secret: bytes) -> None:
        self.secret = secret
        self.window = dt.timedelta(minutes=server.login_window_minutes)
        self.per_user = server.login_failures_per_user
        self.per_ip = server.login_failures_per_ip

    def retry_after(self, con: sqlite3.Connection, email: str, ip: str,
                    now: dt.datetime) -> int | None:
        """Seconds until a sign-in may be tried again, or None when neither is locked."""
        waits = [self._wait(con, "email", self._key(email), self.per_user, now),
                 self._wait(con, "ip", ip, self.per_ip, now)]
        locked = [w for w in waits if w is not None]
        return max(locked) if locked else None

    def record_failure(self, con: sqlite3.Connection, email: str, ip: str,
                       now: dt.datetime) -> None:
        con.execute("INSERT INTO login_failures (at, email, ip) VALUES (?, ?, ?)",
                    (iso(now), self._key(email), ip))

    def clear_user(self, con: sqlite3.Connection, email: str) -> None:
        """Forget a name's failures after it signs in (the address's failures stay)."""
        con.execute("DELETE FROM login_failures WHERE email = ?", (self._key(email),))

    def prune(self, con: sqlite3.Connection, now: dt.datetime) -> None:
        con.execute("DELETE FROM login_failures WHERE at <= ?", (iso(now - self.window),))

    def _key(self, name: str) -> str:
        return hmac.new(self.secret, b"login-name:" + name.encode("utf-8"),
                        hashlib.sha256).hexdigest()

    def _wait(self, con: sqlite3.Connection, column: str, value: str, limit: int,
              now: dt.datetime) -> int | None:
        # the failures inside the window, newest first; locked when there are `limit` or more,
        # until the `limit`-th newest one leaves the window
        rows = con.execute(
            f"SELECT at FROM login_failures WHERE {column} = ? AND at > ? "  # noqa: S608
            "ORDER BY at DESC LIMIT 1 OFFSET ?", (value, iso(now - self.window), limit - 1),
        ).fetchone()
        if rows is None:
            return None
        seconds = (parse(rows["at"]) + self.window - now).total_seconds()
        return max(1, math.ceil(seconds))
