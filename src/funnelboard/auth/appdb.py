"""The app database ``app.sqlite``: users, sessions, API tokens, login links and the audit log.

It is SQLite, not the analytics DuckDB, because sign-ins and session touches are many small
transactions that must not wait for an import. Each call opens its own short connection
(SQLite connections are tied to a thread, and web requests run on several); WAL mode lets
readers continue while one writer commits. The schema only ever grows: tables are created if
missing and later columns added, so workspaces made by earlier versions open unchanged.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

TABLES = """
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL,
    password_hash TEXT, role TEXT NOT NULL DEFAULT 'viewer', disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens (id INTEGER PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,
    user_id INTEGER NOT NULL, scope TEXT NOT NULL, expires_at TEXT, last_used TEXT,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT,
    action TEXT NOT NULL, object TEXT, outcome TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS login_failures (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
    email TEXT NOT NULL, ip TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS login_links (token_hash TEXT PRIMARY KEY, created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, used_at TEXT);
"""

#: columns added after the first release: (table, column, declaration)
ADDED_COLUMNS = (
    ("users", "last_login_at", "TEXT"),
    ("api_tokens", "name", "TEXT NOT NULL DEFAULT ''"),
    ("api_tokens", "prefix", "TEXT NOT NULL DEFAULT ''"),
    ("api_tokens", "created_at", "TEXT NOT NULL DEFAULT ''"),
    ("audit_log", "ip", "TEXT"),
)

# Indexes and the append-only guard need the added columns, so they run after them.
INDEXES_AND_GUARDS = """
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS login_failures_email ON login_failures (email, at);
CREATE INDEX IF NOT EXISTS login_failures_ip ON login_failures (ip, at);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode; use :func:`transaction` around writes that belong
    together."""
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    return con


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front (BEGIN IMMEDIATE) so two processes never both
    read-then-write; committed on success, rolled back on any error, always closed."""
    with closing(connect(path)) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def ensure_schema(path: Path) -> None:
    """Create ``app.sqlite`` or bring an older one up to date (WAL mode, tables, columns)."""
    with closing(connect(path)) as con:
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(TABLES)
        for table, column, declaration in ADDED_COLUMNS:
            existing = {row["name"] for row in con.execute(f"PRAGMA table_info({table})")}
            if column not in existing:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        con.executescript(INDEXES_AND_GUARDS)


def iso(moment: dt.datetime) -> str:
    """A UTC time as stored: fixed-width ISO text, so text order is time order."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
