"""The import ledger (``_imports``) and quarantine (``_quarantine``), in the analytics database
so that they commit in the same transaction as the rows they describe."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb

LEDGER_COLUMNS = (
    "import_id", "table_name", "file_name", "content_hash", "raw_file", "mapping", "options",
    "settings_version", "started_at", "finished_at", "rows_read", "rows_accepted",
    "rows_quarantined", "rows_inserted", "rows_updated", "rows_unchanged", "rows_removed",
    "status", "dialect", "issues",
)
_INSERT = """INSERT INTO _imports (
    import_id, table_name, file_name, content_hash, raw_file, mapping, options,
    settings_version, started_at, finished_at, rows_read, rows_accepted,
    rows_quarantined, rows_inserted, rows_updated, rows_unchanged, rows_removed,
    status, dialect, issues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM _imports").fetchone()
    return int(row[0]) if row else 1


def write_entry(con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
    """Insert one ledger row; ``entry`` keys are the ``_imports`` column names."""
    data = dict(entry)
    for key in ("mapping", "options", "issues"):
        data[key] = json.dumps(data.get(key), default=str)
    unknown = set(data) - set(LEDGER_COLUMNS)
    if unknown:
        raise ValueError(f"not ledger columns: {sorted(unknown)}")
    con.execute(_INSERT, [data.get(n) for n in LEDGER_COLUMNS])


def entries(con: duckdb.DuckDBPyConnection, *, table: str | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT import_id, table_name, file_name, status, rows_read, rows_accepted, "
           "rows_quarantined, rows_inserted, rows_updated, rows_unchanged, rows_removed, "
           "started_at, content_hash, raw_file, mapping, options, dialect FROM _imports")
    params: list[Any] = []
    if table:
        sql += " WHERE table_name = ?"
        params.append(table)
    cur = con.execute(sql + " ORDER BY import_id", params)
    names = [d[0] for d in cur.description or []]
    out = []
    for row in cur.fetchall():
        item = dict(zip(names, row, strict=True))
        for key in ("mapping", "options"):
            item[key] = json.loads(item[key]) if item[key] else None
        if isinstance(item["started_at"], dt.datetime):
            item["started_at"] = item["started_at"].isoformat(timespec="seconds")
        out.append(item)
    return out
