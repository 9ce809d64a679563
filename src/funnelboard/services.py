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
from funnelboard.metrics import snapshots
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.snapshots import Snapshot
from funnelboard.settings import Settings
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
            _carry_snapshots(fresh, backup)
    except BaseException:
        _move_db(backup, db)
        marker.unlink(missing_ok=True)
        raise
    marker.unlink()
    return results


def _carry_snapshots(ws: Workspace, old_db: Path) -> None:
    """Snapshots cannot be recomputed from raw/: copy them from the database being replaced."""
    from funnelboard.ingest.sqltext import lit

    if not old_db.exists():
        return
    con = ws.connection()
    con.execute(f"ATTACH {lit(str(old_db))} AS fb_previous (READ_ONLY)")
    try:
        found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "'fb_previous' AND table_name = '_snapshots'").fetchone()
        if found and found[0]:
            con.execute("INSERT INTO _snapshots SELECT snapshot_id, taken_at, label, as_of, "
                        "settings_version, payload FROM fb_previous._snapshots")
    finally:
        con.execute("DETACH fb_previous")


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
    Workspace.init(folder).close()
    _demo_settings(folder)
    with Workspace.open(folder) as ws, tempfile.TemporaryDirectory() as tmp:
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


def _demo_settings(folder: Path) -> None:
    """The demo company records "No decision" losses; its settings say they are no decision,
    so win rates show the setting at work."""
    from funnelboard.settings import SETTINGS_FILE

    path = folder / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("no_decision_loss_reasons = []",
                                 'no_decision_loss_reasons = ["No decision"]'), encoding="utf-8")


# -- metrics -------------------------------------------------------------------------------------


def _settings(path: Path | None) -> Settings:
    """The workspace's settings; the defaults outside a workspace (when no path is given)."""
    return Workspace.open(path).settings if path or _is_workspace() else Settings()


def list_metrics(path: Path | None, group: str | None = None) -> list[dict[str, Any]]:
    """Every metric key this workspace defines (funnel keys follow its stages)."""
    from funnelboard.errors import did_you_mean
    from funnelboard.metrics.registry import all_metrics

    metrics = all_metrics(_settings(path))
    if group is not None:
        groups = sorted({m.group for m in metrics})
        if group not in groups:
            raise UsageError(f"--group '{group}' is not a metric group; the groups are: "
                             f"{', '.join(groups)}." + did_you_mean(group, groups))
        metrics = [m for m in metrics if m.group == group]
    return [{"key": m.key, "label": m.label, "group": m.group, "indicator": m.leading_label,
             "unit": m.unit, "direction": m.direction, "aggregation": m.aggregation,
             "time_basis": m.time_basis, "dimensions": list(m.dimensions),
             "definition": m.definition} for m in metrics]


def metric(ws: Workspace, key: str, **query: Any) -> MetricResult:
    """One metric (the options of ``funnelboard metrics show``)."""
    return ws.metric(key, **query)


def funnel(ws: Workspace, **query: Any) -> MetricResult:
    """The funnel view (the options of ``funnelboard funnel``)."""
    return ws.funnel(**query)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return _safe_cell(value)


def csv_rows(header: list[str], rows: list[dict[str, Any]]) -> list[list[object]]:
    """A header row and one row per dict, text neutralised against formula injection."""
    return [list(header), *[[_csv_value(r.get(c)) for c in header] for r in rows]]


def metric_csv(result: MetricResult) -> list[list[object]]:
    """The result's rows as CSV cells: ``result.columns()`` plus ``extra`` as JSON."""
    data = result.to_dict()["rows"]
    rows = [{**r, "extra": r.get("extra") or {}} for r in data]
    return csv_rows([*result.columns(), "extra"], rows)


def metrics_list_csv(rows: list[dict[str, Any]]) -> list[list[object]]:
    header = list(rows[0]) if rows else ["key", "label", "group", "indicator", "unit",
                                         "direction", "aggregation", "time_basis",
                                         "dimensions", "definition"]
    flat = [{**r, "dimensions": " ".join(r["dimensions"])} for r in rows]
    return csv_rows(header, flat)


# -- snapshots -----------------------------------------------------------------------------------


def take_snapshot(ws: Workspace, label: str | None, as_of: dt.date | None) -> Snapshot:
    """Freeze the cohort funnel (total and by channel) and the snapshot metrics."""
    day = as_of or dt.date.today()
    payload = snapshots.build_payload(ws.engine(), day)
    return snapshots.save(ws.connection(), payload, label=label or None, as_of=day,
                          settings_version=ws.settings.version)


def list_snapshots(ws: Workspace) -> list[dict[str, Any]]:
    return snapshots.list_all(ws.connection())


def show_snapshot(ws: Workspace, snapshot_id: str | int) -> Snapshot:
    return snapshots.load(ws.connection(), snapshots.parse_id(snapshot_id))


def diff_snapshots(ws: Workspace, first: str | int, second: str | None,
                   as_of: dt.date | None) -> dict[str, Any]:
    """What moved between snapshot ``first`` and ``second`` (another id, or ``now``: the
    current funnel as of ``as_of``, default today, with the snapshot's query shape)."""
    con = ws.connection()
    old = snapshots.load(con, snapshots.parse_id(first, "ID"))
    old_name = f"snapshot {old.snapshot_id} (as of {old.as_of.isoformat()})"
    if second is None or second.strip().lower() == "now":
        day = as_of or dt.date.today()
        q = old.payload["funnel"]["total"]["query"]
        shape = {k: q[k] for k in snapshots.FUNNEL_QUERY if k in q}
        new_payload = {"stages": list(ws.settings.stages),
                       "funnel": snapshots.funnels(ws.engine(), day, shape)}
        new_name = f"now (as of {day.isoformat()})"
    else:
        new = snapshots.load(con, snapshots.parse_id(second, "ID2"))
        new_payload = new.payload
        new_name = f"snapshot {new.snapshot_id} (as of {new.as_of.isoformat()})"
    result = snapshots.diff(old.payload, new_payload, settings=ws.settings, old_name=old_name,
                            new_name=new_name)
    return {"from_snapshot": old.header(), **result}
