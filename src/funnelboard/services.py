"""One function per use case: the only thing the CLI (and later the API and web) calls."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from funnelboard.errors import UsageError, WorkspaceError
from funnelboard.ingest.mapping import Mapping, add_rename, load_mapping, parse_map_option
from funnelboard.ingest.result import ImportResult
from funnelboard.store import ledger
from funnelboard.workspace import DB_FILE, RAW_DIR, REBUILD_MARKER, Workspace, resolve_path

Progress = Callable[[str, int, int], None]


def build_mapping(mapping_file: Path | None, maps: list[str]) -> Mapping:
    """A mapping from ``--mapping FILE`` and ``--map 'Header=column'`` options (maps win)."""
    mapping = load_mapping(mapping_file) if mapping_file else Mapping()
    for item in maps:
        source, target = parse_map_option(item)
        add_rename(mapping, source, [target])
    return mapping


def import_files(ws: Workspace, table: str, files: list[Path], *, mapping: Mapping,
                 **options: Any) -> list[ImportResult]:
    """Import each file in its own transaction (each is all-or-nothing)."""
    return [ws.import_file(table, f, mapping=mapping, **options) for f in files]


def list_imports(ws: Workspace, table: str | None = None) -> list[dict[str, Any]]:
    return ledger.entries(ws.connection(), table=table)


def quarantine_rows(ws: Workspace, import_id: int | None) -> list[dict[str, Any]]:
    """Rejected rows with their source row, column, raw value, rule and message."""
    sql = ("SELECT import_id, table_name, source_row, column_name, raw_value, rule, message, "
           "CAST(raw_row AS VARCHAR) AS raw_row FROM _quarantine "
           "WHERE ? IS NULL OR import_id = ? ORDER BY import_id, source_row, column_name")
    cur = ws.connection().execute(sql, [import_id, import_id])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in exported text (reliability case T16)."""
    if isinstance(value, str) and value and (
        value[0] in "=+-@\t\r" or value.lstrip()[:1] in ("=", "+", "-", "@")
    ):
        return "'" + value
    return value


def export_quarantine(ws: Workspace, import_id: int | None, out: Path) -> int:
    """One CSV row per rejected source row: its original cells plus the problems found."""
    rows = quarantine_rows(ws, import_id)
    grouped: dict[tuple[int, int], dict[str, Any]] = {}
    headers: list[str] = []
    for r in rows:
        key = (r["import_id"], r["source_row"])
        item = grouped.setdefault(key, {"import_id": r["import_id"], "table": r["table_name"],
                                        "source_row": r["source_row"], "problems": [],
                                        "cells": json.loads(r["raw_row"] or "{}")})
        where = f"{r['column_name']}: " if r["column_name"] else ""
        item["problems"].append(f"{where}{r['message']} [{r['rule']}]")
        for h in item["cells"]:
            if h not in headers:
                headers.append(h)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["import_id", "table", "source_row", "problems", *headers])
        for item in grouped.values():
            cells = [item["cells"].get(h) for h in headers]
            writer.writerow([item["import_id"], item["table"], item["source_row"],
                             _safe_cell("; ".join(item["problems"])),
                             *(_safe_cell(c) for c in cells)])
    return len(grouped)


def export_table(ws: Workspace, table: str, out: Path) -> int:
    from funnelboard.ingest.export import export_table as _export

    return _export(ws.connection(), ws.settings, table, out)


def rebuild(path: Path | None, progress: Progress | None = None) -> list[ImportResult]:
    """Rebuild the database from ``raw/`` and the ledger, replaying imports in order.

    The old database is kept as ``funnelboard.duckdb.bak`` until the replay succeeds; a marker
    file makes an interrupted rebuild visible, and running ``rebuild`` again restores the backup
    before starting over.
    """
    folder = resolve_path(path)
    marker = folder / REBUILD_MARKER
    db, backup = folder / DB_FILE, folder / (DB_FILE + ".bak")
    if marker.exists() and backup.exists():
        _move_db(backup, db)  # an earlier rebuild was cut off: start again from its backup
    marker.unlink(missing_ok=True)
    ws = Workspace.open(folder)
    try:
        entries = [e for e in ledger.entries(ws.connection())
                   if e["status"] in ("imported", "no_changes") and e["raw_file"]]
    finally:
        ws.close()
    missing = [e["raw_file"] for e in entries if not (folder / RAW_DIR / e["raw_file"]).exists()]
    if missing:
        raise WorkspaceError(f"Cannot rebuild: {len(missing)} raw file(s) are missing from raw/, "
                             f"e.g. {missing[0]}.")
    marker.write_text("rebuild in progress\n", encoding="utf-8")
    _move_db(db, backup)
    results: list[ImportResult] = []
    try:
        with Workspace.open(folder, allow_rebuild=True) as fresh:
            for i, e in enumerate(entries):
                if progress:
                    progress("rebuilding", i, len(entries))
                opts = e["options"] or {}
                results.append(fresh.import_file(
                    e["table_name"], folder / RAW_DIR / e["raw_file"],
                    mapping=Mapping.from_dict(e["mapping"] or {}), timezone=opts.get("timezone"),
                    max_bad_rows=opts.get("max_bad_rows"), append=bool(opts.get("append")),
                    display_name=e["file_name"]))
    except BaseException:
        _move_db(backup, db)
        marker.unlink(missing_ok=True)
        raise
    marker.unlink()
    return results


def _move_db(src: Path, dst: Path) -> None:
    """Move a DuckDB file and its write-ahead log, replacing what is at ``dst``."""
    for suffix in ("", ".wal"):
        target = Path(str(dst) + suffix)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        source = Path(str(src) + suffix)
        if source.exists():
            shutil.move(source, target)


def parse_as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of '{text}' is not a date; write it as YYYY-MM-DD.") from None


def _rules(path: Path | None) -> Any:
    from funnelboard.channels import parse_channel_settings
    from funnelboard.settings import Settings

    settings = Workspace.open(path).settings if path or _is_workspace() else Settings()
    raw = settings.channels
    if not raw:
        from funnelboard.channels import default_channel_settings

        raw = default_channel_settings()
    return parse_channel_settings(raw)


def _is_workspace() -> bool:
    from funnelboard.settings import SETTINGS_FILE

    return (resolve_path(None) / SETTINGS_FILE).exists()


def channel_test(path: Path | None, source: str | None, medium: str | None,
                 campaign: str | None) -> dict[str, Any]:
    """Which rule turns these raw values into a channel (workspace rules, else defaults)."""
    match = _rules(path).classify(source, medium, campaign)
    return {"source": source, "medium": medium, "campaign": campaign, "channel": match.channel,
            "motion": match.motion, "rule": match.rule}


def channel_audit(path: Path | None) -> list[dict[str, Any]]:
    from funnelboard.channels import audit_unassigned

    rules = _rules(path)
    with Workspace.open(path, read_only=True) as ws:
        return list(audit_unassigned(ws.connection(), rules))


def build_demo(folder: Path, *, contacts: int, seed: int, end: dt.date | None,
               progress: Progress | None = None) -> list[ImportResult]:
    """Generate the demo company and import it through the normal import path."""
    import tempfile

    from funnelboard.demo import generate, import_order

    results = []
    with Workspace.init(folder) as ws, tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), contacts=contacts, seed=seed, end=end, progress=progress)
        order = [t for t in import_order() if t in files]
        for i, table in enumerate(order):
            if progress:
                progress(f"importing {table}", i, len(order))
            result = ws.import_file(table, files[table], as_of=end)
            if result.status == "rejected":
                raise WorkspaceError(f"The demo's {table} file was rejected: "
                                     + "; ".join(x.message for x in result.issues.errors))
            results.append(result)
    return results
