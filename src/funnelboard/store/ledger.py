"""The import ledger (``_imports``) and quarantine (``_quarantine``), in the analytics database
so that they commit in the same transaction as the rows they describe."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb

from funnelboard.ingest.sqltext import value

LEDGER_COLUMNS = (
    "import_id", "table_name", "file_name", "content_hash", "raw_file", "mapping", "options",
    "settings_version", "started_at", "finished_at", "rows_read", "rows_accepted",
    "rows_quarantined", "rows_inserted", "rows_updated", "rows_unchanged", "rows_removed",
    "status", "dialect", "issues",
)
_TIMESTAMPS = ("started_at", "finished_at")


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM _imports").fetchone()
    return int(row[0]) if row else 1


def write_entry(con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
    """Insert one ledger row; ``entry`` keys are the ``_imports`` column names."""
    data = dict(entry)
    for key in ("mapping", "options", "issues"):
        data[key] = json.dumps(data.get(key), default=str)
    for key in _TIMESTAMPS:
        stamp = data.get(key)
        if isinstance(stamp, dt.datetime):
            data[key] = (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).isoformat()
    unknown = set(data) - set(LEDGER_COLUMNS)
    if unknown:
        raise ValueError(f"not ledger columns: {sorted(unknown)}")
    # literals, not bound parameters: see sqltext.value (no pandas import on the import path)
    values = ", ".join(f"CAST({value(data.get(n))} AS TIMESTAMPTZ)" if n in _TIMESTAMPS
                       else value(data.get(n)) for n in LEDGER_COLUMNS)
    con.execute(f"INSERT INTO _imports ({', '.join(LEDGER_COLUMNS)}) "  # noqa: S608
                f"VALUES ({values})")


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
