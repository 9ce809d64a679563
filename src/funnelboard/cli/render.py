"""Rich rendering shared by the commands: results, issues, and plain tables."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from funnelboard.ingest.result import ImportResult
from funnelboard.issues import Issue
from funnelboard.metrics.periods import fiscal_label
from funnelboard.metrics.query import NONE_LABEL
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.snapshots import Snapshot

console = Console()
err_console = Console(stderr=True)

LEVEL_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def issue_line(issue: Issue) -> str:
    where = issue.location()
    prefix = f"[{LEVEL_STYLE[issue.level]}]{issue.level}[/]"
    return f"{prefix} {issue.code}: {issue.message}" + (f" [dim]({where})[/]" if where else "")


def import_results(results: list[ImportResult], *, verbose: bool = False) -> None:
    cols = ["file", "status", "read", "accepted", "quarantined", "inserted", "updated",
            "unchanged", "replaced"]
    rows = []
    for r in results:
        style = {"rejected": "red", "no_changes": "dim", "dry_run": "cyan"}.get(r.status, "green")
        rows.append([r.file, f"[{style}]{r.status}[/]", r.rows_read, r.rows_accepted,
                     r.rows_quarantined, r.rows_inserted, r.rows_updated, r.rows_unchanged,
                     r.rows_removed])
    t = Table(title=f"Import into {results[0].table}" if results else None)
    for c in cols:
        t.add_column(c, justify="right" if c not in ("file", "status") else "left")
    for row in rows:
        t.add_row(*(str(v) for v in row))
    console.print(t)
    for r in results:
        shown = [i for i in r.issues if verbose or i.level != "info" or i.code in (
            "dialect", "summary_rows_skipped", "preamble_skipped", "extra_columns",
            "encoding_fallback", "decimal_comma", "comment_rows_skipped", "percent_read",
            "time_dropped", "empty_rows_skipped", "rows_summed")]
        if shown:
            console.print(f"[bold]{r.file}[/] - {r.message}")
        for issue in shown:
            console.print("  " + issue_line(issue), highlight=False)
        if r.preview:
            names = list(r.preview[0])
            table(f"Preview of {r.file} (first {len(r.preview)} rows after mapping)", names,
                  [[row[n] for n in names] for row in r.preview])


# -- metrics -------------------------------------------------------------------------------------

PARTIAL_MARK = " *"
PARTIAL_NOTE = "* partial period: clipped by the range or the as-of date"


def write_csv(rows: Iterable[Sequence[Any]]) -> None:
    """CSV rows (already neutralised by the service) to standard output."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerows(rows)


def period_label(start: dt.date | str, grain: str, fiscal_start: int = 1) -> str:
    """``2025-03`` for months, ``2025-Q1`` or ``FY2026-Q1`` for quarters, ISO dates otherwise."""
    day = dt.date.fromisoformat(start) if isinstance(start, str) else start
    return fiscal_label(day, grain, fiscal_start)


def format_value(value: Any, unit: str) -> str:
    """A number as its unit reads: counts with thousands separators, ratios as percent with one
    decimal (two below 1 %), multiples as ``3.20×``, days (and other measures) with one
    decimal; ``-`` when undefined."""
    if value is None:
        return "-"
    if unit == "ratio":
        share = float(value) * 100
        # small rates (spam, unsubscribes) keep two decimals instead of reading 0.0%
        return f"{share:.2f}%" if 0 < abs(share) < 1 else f"{share:.1f}%"
    if unit == "multiple":
        return f"{float(value):,.2f}×"
    if unit == "count":
        number = float(value)
        return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"
    if unit == "currency":
        return f"{float(value):,.2f}"
    return f"{float(value):,.1f}"


def format_delta(value: Any, unit: str) -> str:
    """A change with its sign; a change of a ratio is in percentage points."""
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{float(value) * 100:+.1f} pp"
    if unit == "multiple":
        return f"{float(value):+,.2f}×"
    number = float(value)
    if unit == "count" and number.is_integer():
        return f"{int(number):+,}"
    return f"{number:+,.2f}" if unit == "currency" else f"{number:+,.1f}"


def format_pct(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:+.1f}%"


def _dim(value: Any) -> Text:
    return Text(NONE_LABEL if value is None else str(value))


def _period(row: dict[str, Any], grain: str, fiscal_start: int) -> str:
    return period_label(row["period"], grain, fiscal_start) + (
        PARTIAL_MARK if row.get("partial") else "")


def _definition(result: MetricResult) -> None:
    console.print(Text(result.definition, style="dim"), soft_wrap=False)


def notes(items: Sequence[str]) -> None:
    """A result's notes, on standard error (standard output may be CSV or JSON)."""
    for note in items:
        err_console.print(Text("note: " + note, style="yellow"))


def _notes(items: Sequence[str], partial: bool) -> None:
    notes(items)
    if partial:
        err_console.print(Text(PARTIAL_NOTE, style="dim"))


def metric_list(rows: list[dict[str, Any]]) -> None:
    t = Table(title="Metrics", show_lines=False)
    for c in ("key", "label", "group", "indicator", "unit", "aggregation", "definition"):
        t.add_column(c, overflow="fold", no_wrap=c == "key", ratio=4 if c == "definition"
                     else None)
    for r in rows:
        t.add_row(*(Text(str(r[c])) for c in ("key", "label", "group", "indicator", "unit",
                                              "aggregation", "definition")))
    console.print(t)


def metric_result(result: MetricResult, *, fiscal_start: int = 1) -> None:
    """A metric's rows: period, dimensions, value by unit, n, comparison columns; the
    definition on top and the notes (on standard error) below."""
    grain, unit = result.query.grain, result.unit
    _definition(result)
    t = Table(title=f"{result.label} ({result.metric})")
    t.add_column("period", no_wrap=True)
    for d in result.dims:
        t.add_column(d, overflow="fold")
    t.add_column("value", justify="right")
    t.add_column("n", justify="right")
    compare = bool(result.query.compare)
    if compare:
        for c in ("previous", "delta", "delta %"):
            t.add_column(c, justify="right")
    for row in result.rows:
        cells: list[Any] = [_period(row, grain, fiscal_start)]
        cells += [_dim(row.get(d)) for d in result.dims]
        cells += [format_value(row.get("value"), unit), format_value(row.get("n"), "count")]
        if compare:
            cells += [format_value(row.get("previous_value"), unit),
                      format_delta(row.get("delta"), unit), format_pct(row.get("delta_pct"))]
        t.add_row(*cells)
    if not result.rows:
        console.print("No data up to the as-of date for this query.")
    else:
        console.print(t)
    _notes(result.notes, any(r.get("partial") for r in result.rows))


def funnel_cell(row: dict[str, Any], *, compare: bool = False) -> str:
    """``1,234 · 23.4%``: the stage's count and the conversion from the previous stage."""
    value, num, den = row.get("value"), row.get("numerator"), row.get("denominator")
    text = format_value(value, "count")
    if den:
        text += f" · {format_value((num or 0) / den, 'ratio')}"
    if compare:
        text += f"\nΔ {format_delta(row.get('delta'), 'count')}"
    return text


def funnel_matrix(result: MetricResult, *, fiscal_start: int = 1,
                  title: str | None = None, definition: bool = True) -> None:
    """The cohort matrix: one line per period (× breakdown), one column per stage; each cell
    the count and the conversion from the previous stage (the first from contacts created)."""
    grain = result.query.grain
    dims = [d for d in result.dims if d != "stage"]
    stages: list[str] = []
    lines: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for row in result.rows:
        key = (row["period"], *[row.get(d) for d in dims])
        if row["stage"] not in stages:
            stages.append(row["stage"])
        lines.setdefault(key, {})[row["stage"]] = row
    if definition:
        _definition(result)
    if not lines:
        console.print("No contacts up to the as-of date for this query.")
        _notes(result.notes, False)
        return
    compare = bool(result.query.compare)
    t = Table(title=title or "Funnel: count · conversion from the previous stage")
    t.add_column(grain if grain != "day" else "date", no_wrap=True)
    for d in dims:
        t.add_column(d, overflow="fold")
    t.add_column("created", justify="right")
    for s in stages:
        t.add_column(s, justify="right")
    partial = False
    for key, cells in lines.items():
        first = cells[stages[0]] if stages and stages[0] in cells else next(iter(cells.values()))
        partial = partial or bool(first.get("partial"))
        line: list[Any] = [_period(first, grain, fiscal_start)]
        line += [_dim(v) for v in key[1:]]
        line.append(format_value(first.get("denominator"), "count"))
        line += [funnel_cell(cells[s], compare=compare) if s in cells else "" for s in stages]
        t.add_row(*line)
    console.print(t)
    _notes(result.notes, partial)


# -- snapshots -----------------------------------------------------------------------------------


def _when(text: str | None) -> str:
    if not text:
        return ""
    return dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M %Z").strip()


def snapshot_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No snapshot has been taken yet; take one with: funnelboard snapshot take")
        return
    t = Table(title="Snapshots")
    for c in ("id", "taken", "label", "as_of", "rows"):
        t.add_column(c, justify="right" if c in ("id", "rows") else "left")
    for r in rows:
        t.add_row(str(r["snapshot_id"]), _when(r["taken_at"]), Text(r["label"] or ""),
                  r["as_of"] or "", f"{r['rows']:,}")
    console.print(t)


def snapshot_taken(header: dict[str, Any]) -> None:
    label = f" '{header['label']}'" if header["label"] else ""
    console.print(Text(f"Took snapshot {header['snapshot_id']}{label} as of {header['as_of']} "
                       f"({header['rows']:,} rows)."))


def snapshot(snap: Snapshot, *, fiscal_start: int = 1) -> None:
    """A frozen snapshot: its header, the cohort matrix and the frozen metrics per period."""
    h = snap.header()
    label = f" '{h['label']}'" if h["label"] else ""
    console.print(Text(f"Snapshot {h['snapshot_id']}{label}: taken {_when(h['taken_at'])}, as "
                       f"of {h['as_of']}, settings {h['settings_version']}", style="bold"))
    funnel_matrix(snap.funnel(), fiscal_start=fiscal_start, definition=False,
                  title="Cohort funnel: count · conversion from the previous stage")
    metrics = snap.metrics()
    if metrics:
        grain = metrics[0].query.grain
        table_rows: dict[Any, dict[str, str]] = {}
        for m in metrics:
            for r in m.rows:
                line = table_rows.setdefault(r["period"], {"period": _period(r, grain,
                                                                             fiscal_start)})
                line[m.metric] = format_value(r.get("value"), m.unit)
        t = Table(title="Frozen metrics")
        t.add_column("period", no_wrap=True)
        for m in metrics:
            t.add_column(m.metric, justify="right")
        for period in sorted(table_rows):
            t.add_row(*[table_rows[period].get(c, "") for c in ["period",
                                                                *[m.metric for m in metrics]]])
        console.print(t)
    split = snap.payload["funnel"]["by_channel"]["rows"]
    console.print(Text(f"By channel: {len(split):,} period × channel × stage cells "
                       "(--format json has them).", style="dim"))
    for note in snap.payload.get("notes") or []:
        err_console.print(Text("note: " + note, style="yellow"))


def snapshot_diff(data: dict[str, Any], *, fiscal_start: int = 1) -> None:
    """Changed cohort cells, biggest moves first, then the same by channel; the summary last."""
    for name, dim, cells in (("Cohort cells", None, data["cells"]),
                             ("Cohort × channel cells", "channel", data["channel_cells"])):
        if not cells:
            continue
        t = Table(title=f"{name} that changed: {data['from']} → {data['to']}")
        t.add_column("cohort", no_wrap=True)
        if dim:
            t.add_column(dim, overflow="fold")
        for c in ("stage", "old", "new", "delta"):
            t.add_column(c, justify="left" if c == "stage" else "right")
        for c in cells:
            row: list[Any] = [period_label(c["period"], "month", fiscal_start)]
            if dim:
                row.append(_dim(c[dim]))
            row += [c["stage"], format_value(c["old"], "count"), format_value(c["new"], "count"),
                    format_delta(c["delta"], "count")]
            t.add_row(*row)
        console.print(t)
    console.print(Text(data["summary"]))
    for note in data.get("notes") or []:
        err_console.print(Text("note: " + note, style="yellow"))
