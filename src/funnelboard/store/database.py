"""Open the workspace's DuckDB file and keep its tables in the canonical shape.

DuckDB allows one read-write process at a time. The process that opens a workspace for writing
records who it is in ``.writer.json``; a second process gets a sentence naming the holder
instead of DuckDB's lock error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import duckdb

from funnelboard.errors import WorkspaceError
from funnelboard.schema import STORAGE_TYPE, TABLES, Table

WRITER_FILE = ".writer.json"

INTERNAL_DDL = (
    """CREATE TABLE IF NOT EXISTS _imports (
        import_id BIGINT PRIMARY KEY, table_name VARCHAR, file_name VARCHAR,
        content_hash VARCHAR, raw_file VARCHAR, mapping JSON, options JSON,
        settings_version VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        rows_read BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT, rows_inserted BIGINT,
        rows_updated BIGINT, rows_unchanged BIGINT, rows_removed BIGINT, status VARCHAR,
        dialect VARCHAR, issues JSON)""",
    """CREATE TABLE IF NOT EXISTS _quarantine (
        import_id BIGINT, table_name VARCHAR, source_row BIGINT, column_name VARCHAR,
        raw_value VARCHAR, rule VARCHAR, message VARCHAR, raw_row JSON)""",
    """CREATE TABLE IF NOT EXISTS _labels (
        table_name VARCHAR, column_name VARCHAR, slug VARCHAR, label VARCHAR,
        PRIMARY KEY (table_name, column_name, slug))""",
    """CREATE TABLE IF NOT EXISTS _snapshots (
        snapshot_id BIGINT PRIMARY KEY, taken_at TIMESTAMPTZ, label VARCHAR, as_of DATE,
        settings_version VARCHAR, payload JSON)""",
)


def table_ddl(table: Table) -> str:
    cols = [f'"{c.name}" {STORAGE_TYPE[c.type]}' for c in table.columns]
    cols.append("extras JSON")
    cols.append("_import_id BIGINT")
    if table.name == "stage_events":
        cols.append("_from_contact BOOLEAN")
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({", ".join(cols)})'


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every canonical and internal table that does not exist yet."""
    for ddl in INTERNAL_DDL:
        con.execute(ddl)
    for table in TABLES.values():
        con.execute(table_ddl(table))


def _holder(folder: Path) -> str:
    path = folder / WRITER_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"{info.get('command', 'funnelboard')} (process {info.get('pid')}, since " \
               f"{info.get('since', '?')})"
    except (OSError, ValueError):
        return "another process"


def connect(db_path: Path, *, read_only: bool, timezone: str,
            memory_limit_mb: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database, turning a lock conflict into a clear :class:`WorkspaceError`."""
    folder = db_path.parent
    try:
        con = duckdb.connect(str(db_path), read_only=read_only,
                             config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            who = _holder(folder)
            if pid and "process" not in who:
                who += f" (process {pid.group(1)})"
            raise WorkspaceError(
                f"The workspace {folder} is in use by {who}. funnelboard lets one process "
                "write at a time; wait for it to finish or stop it, then try again."
            ) from None
        raise WorkspaceError(f"The database {db_path} could not be opened: {text}") from None
    con.execute(f"SET TimeZone = '{timezone}'")
    con.execute("SET enable_progress_bar = false")  # it writes to stdout, which may be JSON
    if memory_limit_mb:
        con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    if not read_only:
        record_writer(folder)
    return con


def record_writer(folder: Path) -> None:
    """Say who holds the workspace, so a second process can name it."""
    info = {"pid": os.getpid(), "command": " ".join([Path(sys.argv[0]).name or "python",
                                                    *sys.argv[1:3]]).strip(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = folder / f"{WRITER_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(info), encoding="utf-8")
    tmp.replace(folder / WRITER_FILE)


def release_writer(folder: Path) -> None:
    path = folder / WRITER_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
