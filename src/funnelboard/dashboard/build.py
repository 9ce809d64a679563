"""Building blocks every page uses: headline tiles, trend charts and breakdown tables, each
computed by the metric engine with the page's filters.

Conventions (docs/dashboard.md):

* a **tile** shows the last complete period of the chosen grain inside the range (the running
  period is partial, and a partial month compared with a full one misleads), compared with the
  period before it; its parameters reproduce it with ``/api/v1/metrics/{key}``;
* a **trend** shows every period of the range, with the target line when the metric has
  targets and the workspace's annotations;
* a **breakdown table** shows one row per dimension value over the whole range, combined by
  :func:`funnelboard.metrics.totals.range_total` (the API gives the same with ``total=true``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from funnelboard.dashboard.filters import Filters, api_params
from funnelboard.dashboard.model import Column, Section, Table, Tile
from funnelboard.errors import FunnelboardError
from funnelboard.metrics import periods
from funnelboard.metrics.registry import MetricDef, resolve
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.totals import range_total
from funnelboard.settings import Settings


class Reader(Protocol):
    """What pages read from: a workspace (or the server's read view of it)."""

    settings: Settings

    def metric(self, key: str, **query: Any) -> MetricResult: ...

    def funnel(self, **query: Any) -> MetricResult: ...

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]: ...


def metric_def(reader: Reader, key: str) -> MetricDef:
    return resolve(key, reader.settings)


def last_full_period(filters: Filters, settings: Settings) -> tuple[dt.date, dt.date]:
    """The last period of ``filters.grain`` that ends inside the range (the one holding the
    range's end when no earlier one exists)."""
    start = periods.period_start(filters.end, filters.grain,
                                 fiscal_start=settings.fiscal_year_start_month,
                                 week_start=settings.week_start)
    end = periods.period_end(start, filters.grain)
    if end > filters.end or end > filters.as_of:
        earlier = periods.shift_period(start, filters.grain, -1)
        if earlier >= periods.period_start(filters.start, filters.grain,
                                           fiscal_start=settings.fiscal_year_start_month,
                                           week_start=settings.week_start):
            return earlier, periods.period_end(earlier, filters.grain)
    return start, min(end, filters.end)


def tile(reader: Reader, filters: Filters, key: str, notes: list[str],
         *, with_target: bool = False) -> Tile:
    """The headline number of ``key`` for the last full period, with its comparison."""
    metric = metric_def(reader, key)
    start, end = last_full_period(filters, reader.settings)
    options = filters.query(metric, notes, start=start, end=end)
    if filters.compare:
        options["compare"] = filters.compare
    if with_target:
        options["with_target"] = True
    result = reader.metric(key, **options)
    notes.extend(n for n in result.notes if n not in notes)
    row = result.rows[-1] if result.rows else {}
    drill = drill_params(metric, options, row) if row else None
    return Tile(
        metric=key, label=result.label, unit=result.unit, value=row.get("value"),
        definition=result.definition, direction=result.direction, leading=metric.leading,
        previous=row.get("previous_value"), delta=row.get("delta"),
        delta_pct=row.get("delta_pct"), n=row.get("n"), numerator=row.get("numerator"),
        denominator=row.get("denominator"), params=api_params(options),
        target=row.get("target"), attainment=row.get("attainment"), status=row.get("status"),
        drill=drill)


def tiles_section(reader: Reader, filters: Filters, section_id: str, title: str,
                  keys: Sequence[str], notes: list[str], *, note: str = "",
                  with_target: bool = False) -> Section:
    """A row of tiles; a metric that fails (no data for it yet) is left out with a note."""
    tiles = []
    for key in keys:
        try:
            tiles.append(tile(reader, filters, key, notes, with_target=with_target))
        except FunnelboardError as exc:
            notes.append(f"{key}: {exc.message}")
    return Section(id=section_id, title=title, kind="tiles", tiles=tiles, note=note,
                   metrics=[t.metric for t in tiles])


def drill_params(metric: MetricDef, options: dict[str, Any], row: dict[str, Any],
                 dims: Sequence[str] = ()) -> dict[str, Any] | None:
    """Parameters of ``/records/{metric}`` listing the records behind one result cell."""
    from funnelboard.metrics.records import drillable

    if not drillable(metric):
        return None
    params = api_params({k: v for k, v in options.items() if k not in ("compare",
                                                                       "with_target")})
    params["cell_start"] = row["period"].isoformat()
    params["cell_end"] = row["period_end"].isoformat()
    for dim in dims:
        value = row.get(dim)
        params.setdefault("filter", [])
        params["filter"] = [*params["filter"], f"{dim}={'(none)' if value is None else value}"]
    return params


def result_table(result: MetricResult, *, value_label: str | None = None) -> Table:
    """The rows of a result as a table (period, dimensions, value and its parts)."""
    cols = [Column("period", "Period", "date")]
    cols += [Column(d, d.replace("_", " ").capitalize()) for d in result.dims]
    cols.append(Column("value", value_label or result.label, result.unit, result.metric))
    if any(r.get("numerator") is not None for r in result.rows):
        cols += [Column("numerator", "Numerator", "number"),
                 Column("denominator", "Denominator", "number")]
    if any("target" in r for r in result.rows):
        cols += [Column("target", "Target", result.unit), Column("status", "Status")]
    rows = [{c.key: r.get(c.key) for c in cols} | {"partial": r.get("partial")}
            for r in result.rows]
    return Table(cols, rows)


def trend_section(reader: Reader, filters: Filters, section_id: str, key: str,
                  notes: list[str], *, by: str | None = None, title: str | None = None,
                  with_target: bool = False, kind: str = "line", note: str = "",
                  **overrides: Any) -> Section | None:
    """A time chart of ``key`` over the range (one series per ``by`` value)."""
    from funnelboard.charts import time_chart, time_chart_options

    metric = metric_def(reader, key)
    if by and by not in metric.dimensions:
        by = None
    options = filters.query(metric, notes, **overrides)
    if by:
        options["by"] = [by]
    if with_target and not by:
        options["with_target"] = True
    try:
        result = reader.metric(key, **options)
    except FunnelboardError as exc:
        notes.append(f"{metric.label}: {exc.message}")
        return None
    notes.extend(n for n in result.notes if n not in notes)
    table = result_table(result)
    for i, row in enumerate(result.rows):
        drill = drill_params(metric, options, row, result.dims)
        if drill:
            table.drill[(i, "value")] = drill
    chart = time_chart(result, annotations=chart_annotations(reader, filters), kind=kind,
                       **time_chart_options(reader.settings))
    return Section(id=section_id, title=title or result.label, kind="chart", chart=chart,
                   table=table, metrics=[key], note=note)


def breakdown_section(reader: Reader, filters: Filters, section_id: str, title: str,
                      keys: Sequence[str], by: str, notes: list[str], *, note: str = "",
                      limit: int = 25, **overrides: Any) -> Section:
    """One row per value of ``by``, one column per metric, over the whole range."""
    columns = [Column(by, by.replace("_", " ").capitalize())]
    merged: dict[Any, dict[str, Any]] = {}
    drill: dict[tuple[Any, str], dict[str, Any]] = {}
    for key in keys:
        metric = metric_def(reader, key)
        if by not in metric.dimensions:
            continue
        options = filters.query(metric, notes, by=[by], **overrides)
        try:
            result = range_total(reader.metric(key, **options))
        except FunnelboardError as exc:
            notes.append(f"{metric.label}: {exc.message}")
            continue
        notes.extend(n for n in result.notes if n not in notes)
        columns.append(Column(key, result.label, result.unit, key))
        for row in result.rows:
            value = row.get(by)
            merged.setdefault(value, {by: value})[key] = row["value"]
            cell = drill_params(metric, options, row, (by,))
            if cell:
                drill[(value, key)] = cell
    first = columns[1].key if len(columns) > 1 else None
    ordered = sorted(merged.values(),
                     key=lambda r: (-(r.get(first) or 0) if first else 0, str(r[by])))
    ordered = ordered[:limit]
    table = Table(columns, ordered)
    for i, row in enumerate(ordered):
        for key in keys:
            if (row[by], key) in drill:
                table.drill[(i, key)] = drill[(row[by], key)]
    return Section(id=section_id, title=title, kind="table", table=table, note=note,
                   metrics=[c.key for c in columns[1:]])


def chart_annotations(reader: Reader, filters: Filters) -> list[Any]:
    """The workspace's annotations and events inside the range, for time charts."""
    from funnelboard.charts import Annotation

    start, end = filters.start, filters.end
    found = [Annotation(date=r[0], label=str(r[1]), kind=str(r[2] or ""))
             for r in reader.query(
                 "SELECT date, label, kind FROM annotations WHERE date BETWEEN ? AND ? "
                 "ORDER BY date", [start, end])]
    found += [Annotation(date=r[0], label=str(r[1]), kind=str(r[2] or "event"))
              for r in reader.query(
                  "SELECT CAST(starts_at AS DATE), name, kind FROM events "
                  "WHERE CAST(starts_at AS DATE) BETWEEN ? AND ? ORDER BY 1", [start, end])]
    return found


def has_targets(reader: Reader, key: str) -> bool:
    """Whether the workspace has any target for ``key``: asking for targets that do not
    exist only adds a "no target" note, so pages ask only when there are some."""
    rows = reader.query("SELECT count(*) FROM targets WHERE metric = ?", [key])
    return bool(rows and rows[0][0])


def multi_trend_section(reader: Reader, filters: Filters, section_id: str, title: str,
                        keys: Sequence[str], notes: list[str], *, kind: str = "line",
                        note: str = "", **overrides: Any) -> Section | None:
    """Several metrics of one unit (the steps of the funnel, engagement and bounce rates) as
    one time chart with a series per metric, and a table with a row per period and a column
    per metric whose cells drill to their records. A metric that fails is left out with a
    note; ``None`` when none is left."""
    from funnelboard.charts import time_chart, time_chart_options

    parts: list[tuple[MetricDef, dict[str, Any], MetricResult]] = []
    for key in keys:
        metric = metric_def(reader, key)
        options = filters.query(metric, notes, **overrides)
        try:
            result = reader.metric(key, **options)
        except FunnelboardError as exc:
            notes.append(f"{metric.label}: {exc.message}")
            continue
        notes.extend(n for n in result.notes if n not in notes)
        parts.append((metric, options, result))
    if not parts:
        return None
    first = parts[0][2]
    columns = [Column("period", "Period", "date")]
    by_period: dict[dt.date, dict[str, Any]] = {}
    long_rows: list[dict[str, Any]] = []
    for metric, _options, result in parts:
        columns.append(Column(metric.key, result.label, result.unit, metric.key))
        for row in result.rows:
            long_rows.append({**row, "metric": result.label})
            cell = by_period.setdefault(row["period"], {"period": row["period"],
                                                        "period_end": row["period_end"],
                                                        "partial": row.get("partial")})
            cell[metric.key] = row.get("value")
    rows = [by_period[p] for p in sorted(by_period)]
    table = Table(columns, [{c.key: r.get(c.key) for c in columns} | {"partial": r["partial"]}
                            for r in rows])
    for metric, options, _result in parts:
        for i, row in enumerate(rows):
            if metric.key not in row:
                continue
            drill = drill_params(metric, options, row)
            if drill:
                table.drill[(i, metric.key)] = drill
    ratio = all(r.aggregation == "ratio" for _m, _o, r in parts)
    combined = MetricResult(
        metric=section_id, label=title, unit=first.unit, direction="neutral",
        definition=" ".join(f"{r.label}: {r.definition}" for _m, _o, r in parts),
        query=first.query.replace(metric=section_id, by=("metric",)), rows=long_rows,
        notes=[], aggregation="ratio" if ratio else first.aggregation,
        settings_version=first.settings_version, dims=("metric",))
    marks = chart_annotations(reader, filters)
    chart = time_chart(combined, annotations=marks, kind=kind,
                       **time_chart_options(reader.settings))
    return Section(id=section_id, title=title, kind="chart", chart=chart, table=table,
                   metrics=[m.key for m, _o, _r in parts], note=note)


def drop_empty_rows(section: Section) -> Section:
    """``section`` without the table rows where no metric has a value: a breakdown merges the
    dimension values of all its metrics, so a value only one metric knows (a channel with leads
    but no website sessions) would otherwise show a row of blanks. Drill-downs follow their
    rows."""
    table = section.table
    if table is None or len(table.columns) < 2:
        return section
    value_keys = [c.key for c in table.columns[1:]]
    kept: list[int] = [i for i, row in enumerate(table.rows)
                       if any(row.get(k) is not None for k in value_keys)]
    new_index = {old: new for new, old in enumerate(kept)}
    table.drill = {(new_index[i], key): params for (i, key), params in table.drill.items()
                   if i in new_index}
    table.rows = [table.rows[i] for i in kept]
    return section


def known_metrics(reader: Reader, keys: Iterable[str]) -> list[str]:
    """The keys this workspace defines (custom stages define other cost-per keys)."""
    out = []
    for key in keys:
        try:
            metric_def(reader, key)
        except FunnelboardError:
            continue
        out.append(key)
    return out
