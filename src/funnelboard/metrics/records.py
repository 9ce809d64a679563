"""The records behind one cell of a metric result: the drill-down.

For a cell (the period from ``cell_start`` to ``cell_end`` and the query's filters, which
carry the cell's dimension values) the records are exactly the rows the metric counted or
summed, by the metric's own expressions, so the number of records (or the sum of their
``counted`` column) equals the number shown. The listers live in
:mod:`funnelboard.metrics.drill`, one module per family; a ratio has a ``numerator`` and a
``denominator`` side.

Sorting takes a column name from the record set's own columns only (T14); paging is done by
the engine, so a drill-down of a million rows never leaves the database whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.drill.registry import COUNTED, SIDES, RecordList, lister_for
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef, resolve

MAX_PAGE = 1000
#: metrics computed from other metrics rather than from records: their cells drill into these
FORMULA_PARTS: dict[str, tuple[str, ...]] = {
    "sales_velocity": ("opportunities_created", "win_rate", "avg_deal_size", "sales_cycle_days"),
    "ltv": ("arpa", "logo_churn_rate"),
    "ltv_to_cac": ("ltv", "cac"),
}
__all__ = ["COUNTED", "FORMULA_PARTS", "SIDES", "Records", "cell_of", "drillable", "fetch",
           "record_table", "sides_of"]


@dataclass
class Records:
    metric: str
    label: str
    side: str
    total: int
    columns: list[str]
    rows: list[dict[str, Any]]
    offset: int
    limit: int
    sort: str | None
    descending: bool
    notes: list[str]
    #: every side of the metric and what it lists ("numerator": "won deals", …)
    sides: dict[str, str]
    #: the sum of the records' ``counted`` column (a summed number), None for a count
    counted: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "label": self.label, "side": self.side,
                "sides": self.sides, "total": self.total, "counted": self.counted,
                "offset": self.offset, "limit": self.limit, "sort": self.sort,
                "descending": self.descending, "columns": self.columns,
                "rows": [{k: _json(v) for k, v in r.items()} for r in self.rows],
                "notes": self.notes}


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def drillable(metric: MetricDef) -> bool:
    """True when the records behind the metric's cells can be listed."""
    return lister_for(metric) is not None


def sides_of(metric: MetricDef) -> dict[str, str]:
    """The sides of the metric's drill-down and what each lists (empty: not drillable)."""
    entry = lister_for(metric)
    return dict(entry.sides) if entry else {}


def _lister(metric: MetricDef) -> RecordList:
    entry = lister_for(metric)
    if entry is None:
        parts = FORMULA_PARTS.get(metric.key, ())
        where = f" ({', '.join(parts)})" if parts else ""
        raise UsageError(f"{metric.label} does not list the records behind it; it is "
                         f"computed from other metrics. Drill into the metrics it is built "
                         f"from{where}.")
    return entry


def record_table(engine: Engine, query: MetricQuery, cell_start: dt.date, cell_end: dt.date,
                 side: str = "numerator") -> tuple[ir.Table, list[str]]:
    """The records of one cell as an expression, and notes."""
    metric = resolve(query.metric, engine.settings)
    entry = _lister(metric)
    if side not in entry.sides:
        raise UsageError(f"side '{side[:30]}' is not allowed for {metric.label}; use "
                         f"{' or '.join(entry.sides)}.")
    if cell_start > cell_end:
        raise UsageError(f"The cell starts ({cell_start}) after it ends ({cell_end}).")
    return entry.list_records(engine, metric, query, cell_start, cell_end, side)


def fetch(engine: Engine, query: MetricQuery, cell_start: dt.date, cell_end: dt.date, *,
          side: str = "numerator", sort: str | None = None, descending: bool = False,
          offset: int = 0, limit: int = 100) -> Records:
    """One page of the records of a cell, sorted by an allow-listed column."""
    # like compute(): intermediates the listers materialise live until the page is read
    engine._enter()
    try:
        return _fetch(engine, query, cell_start, cell_end, side=side, sort=sort,
                      descending=descending, offset=offset, limit=limit)
    finally:
        engine._leave()


def _fetch(engine: Engine, query: MetricQuery, cell_start: dt.date, cell_end: dt.date, *,
           side: str, sort: str | None, descending: bool, offset: int, limit: int) -> Records:
    metric = resolve(query.metric, engine.settings)
    t, notes = record_table(engine, query, cell_start, cell_end, side)
    columns = list(t.columns)
    if sort is not None and sort not in columns:
        raise UsageError(f"Records cannot be sorted by '{sort[:60]}'; use one of: "
                         f"{', '.join(columns)}.")
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    summary = {"n": t.count()}
    if COUNTED in columns:
        summary["counted"] = t[COUNTED].sum()
    stats = engine.execute(t.aggregate(**summary))[0]
    key = sort or columns[0]
    order = [ibis.desc(key) if descending else ibis.asc(key)]
    if key != columns[0]:
        order.append(ibis.asc(columns[0]))
    page = t.order_by(order).limit(limit, offset=offset)
    rows = engine.execute(page)
    counted = stats.get("counted")
    # 12 significant digits, as the metric's own sums (engine._round_money)
    total = None if COUNTED not in columns else float(f"{float(counted or 0):.12g}")
    return Records(metric.key, metric.label, side, int(stats["n"]), columns, rows, offset,
                   limit, sort, descending, notes, sides_of(metric), total)


def cell_of(period: dt.date, query: MetricQuery) -> tuple[dt.date, dt.date]:
    """The bounds of the result cell starting on ``period`` (clipped to the query range)."""
    end = periods.period_end(period, query.grain)
    if query.end and end > query.end:
        end = query.end
    return max(period, query.start or period), min(end, query.as_of)
