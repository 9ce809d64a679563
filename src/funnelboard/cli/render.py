"""Rich rendering shared by the commands: results, issues, and plain tables."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from funnelboard.errors import FunnelboardError
from funnelboard.ingest.result import ImportResult
from funnelboard.issues import Issue
from funnelboard.metrics.periods import fiscal_label
from funnelboard.metrics.query import NONE_LABEL
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.snapshots import Snapshot

console = Console()
err_console = Console(stderr=True)


def reset_consoles() -> None:
    """Make the consoles again for this command: Rich reads ``COLUMNS`` and the streams when
    a console is created, so one made at import time would keep the width of whatever
    environment imported the module first."""
    global console, err_console
    console = Console()
    err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn funnelboard errors into one plain sentence and the documented exit status."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FunnelboardError as exc:
            err_console.print(f"[red]Error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


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
    with_target = bool(result.query.with_target)
    if with_target:
        for c in TARGET_COLUMNS:
            t.add_column(c, justify="left" if c == "status" else "right")
    for row in result.rows:
        cells: list[Any] = [_period(row, grain, fiscal_start)]
        cells += [_dim(row.get(d)) for d in result.dims]
        cells += [format_value(row.get("value"), unit), format_value(row.get("n"), "count")]
        if compare:
            cells += [format_value(row.get("previous_value"), unit),
                      format_delta(row.get("delta"), unit), format_pct(row.get("delta_pct"))]
        if with_target:
            cells += target_cells(row, unit)
        t.add_row(*cells)
    if not result.rows:
        console.print("No data up to the as-of date for this query.")
    else:
        console.print(t)
    _notes(result.notes, any(r.get("partial") for r in result.rows))


# -- targets -------------------------------------------------------------------------------------

TARGET_COLUMNS = ("target", "attainment", "pacing", "projection", "status")
STATUS_STYLE = {"on_track": "green", "at_risk": "yellow", "behind": "red"}


def format_status(status: str | None) -> Text:
    """``on track`` (green), ``at risk`` (yellow), ``behind`` (red); ``-`` without one."""
    if status is None:
        return Text("-")
    return Text(status.replace("_", " "), style=STATUS_STYLE.get(status, ""))


def target_cells(row: dict[str, Any], unit: str) -> list[Any]:
    """The target columns of a result row: target and projection in the metric's unit,
    attainment and pacing as percentages."""
    return [format_value(row.get("target"), unit), format_value(row.get("attainment"), "ratio"),
            format_value(row.get("pacing"), "ratio"), format_value(row.get("projection"), unit),
            format_status(row.get("status"))]


def target_set(done: dict[str, Any], unit: str) -> None:
    """One line: what ``targets set`` wrote, and what it replaced."""
    what = f"{done['metric']} {done['period']}"
    if done["dimension"]:
        what += f" ({done['dimension']}={done['dimension_value']})"
    value = format_value(done["target"], unit)
    if done["action"] == "unchanged":
        text = f"The target of {what} is already {value} ({done['kind']}); nothing changed."
    elif done["action"] == "replaced":
        before = format_value(done["previous_target"], unit)
        text = f"Replaced the target of {what}: {before} → {value} ({done['kind']})."
    else:
        text = f"Set the target of {what} to {value} ({done['kind']})."
    console.print(Text(text + f" Import {done['import_id']}."))


def target_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No targets yet; set one with: funnelboard targets set METRIC --period "
                      "2025-Q3 --value N, or import a targets file.")
        return
    t = Table(title="Targets")
    for c in ("metric", "period", "dimension", "target", "kind", "source"):
        t.add_column(c, justify="right" if c == "target" else "left",
                     overflow="fold", no_wrap=c in ("metric", "period"))
    for r in rows:
        dim = f"{r['dimension']}={r['dimension_value']}" if r["dimension"] else "(total)"
        t.add_row(Text(str(r["metric"])), r["period"], Text(dim), f"{r['target']:,.10g}",
                  r["kind"], Text(f"{r['import_id']}: {r['source'] or ''}"))
    console.print(t)


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


# -- planning ------------------------------------------------------------------------------------

PLAN_COLUMNS = (("visits", "visits"), ("leads", "leads"), ("referral_leads", "of which referral"),
                ("mqls", "MQLs"), ("sqls", "SQLs"), ("opportunities", "opportunities"),
                ("customers", "customers"), ("revenue", "revenue"))
PLAN_STATUS_STYLE = {"on_track": "green", "at_risk": "yellow", "behind": "red"}


def _plan_columns(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The plan's columns: referral leads only with a flywheel, visits only when planned."""
    annual = data["annual"]
    return [(k, name) for k, name in PLAN_COLUMNS
            if not (k == "referral_leads" and not annual.get(k))
            and not (k == "visits" and annual.get(k) is None)]


def _plan_cells(row: dict[str, Any], columns: list[tuple[str, str]], currency: str,
                ref: float | None) -> list[str]:
    from funnelboard.plan.model import count, money

    return [money(row.get(k), currency, ref) if k == "revenue" else count(row.get(k))
            for k, _ in columns]


def _plan_inputs(data: dict[str, Any]) -> str:
    from funnelboard.plan.model import count, money

    inputs = data["inputs"]
    cur, ref = inputs["currency"], inputs.get("revenue") or data["annual"].get("revenue")
    sources = inputs.get("rate_sources") or {}
    rates = ", ".join(f"{k} {format_value(v, 'ratio')}"
                      + (" (history)" if sources.get(k) == "history" else "")
                      for k, v in inputs["rates"].items() if v is not None)
    parts = []
    if inputs.get("revenue") is not None:
        parts.append(f"goal {money(inputs['revenue'], cur, ref)}")
    deal = f"deal size {money(inputs['deal_size'], cur, ref)}"
    if inputs.get("deal_size_source") == "history":
        deal += " (history)"
    parts.append(deal)
    if inputs.get("visits_per_month") is not None:
        parts.append(f"{count(inputs['visits_per_month'])} visits a month")
    if inputs.get("leads_per_month") is not None:
        parts.append(f"{count(inputs['leads_per_month'])} leads a month")
    parts.append(f"rates: {rates}")
    history = inputs.get("history")
    if history:
        parts.append(f"history {history['start']} to {history['end']}")
    fly = inputs.get("flywheel")
    if fly:
        parts.append(f"flywheel {fly['referral_rate']:.4g} referral leads per customer a month "
                     f"from {count(fly['customer_base'])} customers")
    if inputs.get("seasonal"):
        parts.append("seasonal months")
    return " · ".join(parts)


def plan(data: dict[str, Any]) -> None:
    """The plan: inputs, the year / quarters / months (exact), whole deals, segments, the gap
    in words; notes on standard error."""
    from funnelboard.plan.model import count

    inputs = data["inputs"]
    cur, ref = inputs["currency"], inputs.get("revenue") or data["annual"].get("revenue")
    mode = "working up from the revenue goal" if data["mode"] == "reverse" else \
        "working down from the monthly volume"
    console.print(Text(f"Plan {inputs['period']['label']}: {mode}", style="bold"))
    console.print(Text(_plan_inputs(data), style="dim"))
    columns = _plan_columns(data)
    t = Table(title="Exact (fractional) volumes")
    t.add_column("period", no_wrap=True)
    for _, name in columns:
        t.add_column(name, justify="right")
    t.add_row(Text(f"{data['annual']['label']} (year)", style="bold"),
              *_plan_cells(data["annual"], columns, cur, ref))
    for row in data["quarterly"]:
        t.add_row(row["label"], *_plan_cells(row, columns, cur, ref))
    for row in data["monthly"]:
        t.add_row(Text(row["label"], style="dim"), *_plan_cells(row, columns, cur, ref))
    console.print(t)
    whole = data["whole_deals"]
    w = Table(title="Whole deals (" + whole["rule"] + ")")
    w.add_column("", no_wrap=True)
    whole_cols = [(k, n) for k, n in columns if k != "referral_leads"]
    for _, name in whole_cols:
        w.add_column(name, justify="right")
    w.add_row("year", *_plan_cells(whole, whole_cols, cur, ref))
    w.add_row("per month", *_plan_cells(whole["per_month"], whole_cols, cur, ref))
    console.print(w)
    if data.get("segments"):
        s = Table(title=f"Segments ({inputs.get('by') or 'flywheel'})")
        for c in ("segment", "kind", "share", "deal size", "visits", "leads", "customers",
                  "revenue"):
            s.add_column(c, justify="left" if c in ("segment", "kind") else "right")
        for seg in data["segments"]:
            a = seg["annual"]
            s.add_row(Text(seg["name"]), seg["kind"], format_value(seg["share"], "ratio"),
                      _money(seg["deal_size"], cur, ref), count(a.get("visits")),
                      count(a.get("leads")), count(a.get("customers")),
                      _money(a.get("revenue"), cur, ref))
        console.print(s)
    lags = [x for x in data.get("lead_time") or [] if x["lag_months"]]
    if lags:
        console.print(Text("Lead time: " + "; ".join(
            f"{x['stage']} {x['lag_months']} month(s) before the customers they serve (from "
            f"{x['first_month'][:7]} for the first month)" for x in lags), style="dim"))
    console.print(Text(data["gap"]["text"], style="bold"))
    notes(data.get("notes") or [])


def _money(value: Any, currency: str, ref: float | None) -> str:
    from funnelboard.plan.model import money

    return money(value, currency, ref)


def plan_saved(data: dict[str, Any]) -> None:
    """One line on standard error when the plan was saved as targets."""
    saved = data.get("saved_targets")
    if not saved:
        return
    err_console.print(Text(
        f"Saved the plan as {saved['rows']} monthly targets (kind plan) for "
        f"{data['inputs']['period']['label']}: {saved['inserted']} new, {saved['updated']} "
        f"replaced, {saved['unchanged']} unchanged (import {saved['import_id']})."))


def _card_value(value: Any, unit: str) -> str:
    from funnelboard.plan.model import count

    if unit == "count":
        return count(value)
    return format_value(value, unit)


def _card_status(status: str | None) -> Text:
    if status is None:
        return Text("-")
    return Text(status.replace("_", " "), style=PLAN_STATUS_STYLE.get(status, ""))


def plan_report(card: dict[str, Any]) -> None:
    """The report card: stages and channels (biggest gaps first), rates, marketing ROI."""
    ytd = card["ytd"]
    kind = card["targets_kind"]
    console.print(Text(f"Report card {card['period']['label']}: {ytd['start']} to {ytd['end']} "
                       f"({ytd['elapsed_share']:.0%} of the year), plan from "
                       f"{kind + ' targets' if kind else 'no targets'}", style="bold"))
    for title, lines, dim in (("Funnel stages: actual vs plan to date", card["stages"], False),
                              ("Per channel: actual vs plan to date", card["channels"], True)):
        if not lines:
            continue
        t = Table(title=title)
        if dim:
            t.add_column("value", overflow="fold")
        for c in ("metric", "plan to date", "actual", "gap", "attainment", "status",
                  "plan (year)"):
            t.add_column(c, justify="left" if c in ("metric", "status") else "right")
        for x in lines:
            unit = x["unit"]
            cells: list[Any] = [Text(str(x["value"]))] if dim else []
            cells += [Text(x["metric"]), _card_value(x["plan_ytd"], unit),
                      _card_value(x["actual_ytd"], unit), _card_value(x["gap"], unit),
                      format_value(x["attainment"], "ratio"), _card_status(x["status"]),
                      _card_value(x["plan_year"], unit)]
            t.add_row(*cells)
        console.print(t)
    r = Table(title="Conversion rates: the year so far (period basis) vs the plan")
    for c in ("transition", "plan", "actual", "reached b / reached a"):
        r.add_column(c, justify="left" if c == "transition" else "right")
    for x in card["rates"]:
        r.add_row(x["transition"], format_value(x["plan"], "ratio"),
                  format_value(x["actual"], "ratio"),
                  f"{x['numerator']:,.0f} / {x['denominator']:,.0f}")
    console.print(r)
    roi = card["marketing_roi"]
    console.print(Text(f"Marketing ROI to date: {format_value(roi['value'], 'ratio')} "
                       f"(net return {format_value(roi['numerator'], 'currency')} on marketing "
                       f"cost {format_value(roi['denominator'], 'currency')})"))
    console.print(Text(roi["definition"], style="dim"))
    notes([*card["notes"], *roi["notes"]])
