"""The records behind one cell of a metric result: the drill-down.

For a cell (the period from ``cell_start`` to ``cell_end`` and the query's filters, which
carry the cell's dimension values) the records are exactly the rows the metric counted, by the
same expressions (so the number of records equals the count shown):

* funnel counts (``contacts_created``, ``leads`` … ``customers``): the contacts (or accounts)
  of the cohort — or, on the period basis, those that reached the stage in the period;
* conversion rates: ``side="numerator"`` lists the units that converted, ``"denominator"`` the
  units that reached the first stage;
* table metrics (sessions, ads, email …): the source table's rows in the cell.

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
from funnelboard.metrics.engine import Engine, Window
from funnelboard.metrics.funnel import local_date, reached
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef, resolve
from funnelboard.schema import TABLES

FUNNEL_KINDS = ("created", "count", "rate")
TABLE_KINDS = ("table_flow", "table_ratio", "table_distinct")
#: pipeline metrics whose records are opportunities: created in the cell, or closed in it
PIPELINE_CALCS = ("created", "bookings", "win_rate", "loss_reasons")
SIDES = ("numerator", "denominator")
MAX_PAGE = 1000


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

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "label": self.label, "side": self.side,
                "total": self.total, "offset": self.offset, "limit": self.limit,
                "sort": self.sort, "descending": self.descending, "columns": self.columns,
                "rows": [{k: _json(v) for k, v in r.items()} for r in self.rows],
                "notes": self.notes}


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def drillable(metric: MetricDef) -> bool:
    """True when the records behind the metric's cells can be listed."""
    if metric.kind == "mk_icp_share":
        return True
    if metric.kind == "pipeline":
        return metric.params.get("calc") in PIPELINE_CALCS
    return metric.kind in FUNNEL_KINDS or metric.kind in TABLE_KINDS


def record_table(engine: Engine, query: MetricQuery, cell_start: dt.date, cell_end: dt.date,
                 side: str = "numerator") -> tuple[ir.Table, list[str]]:
    """The records of one cell as an expression, and notes."""
    metric = resolve(query.metric, engine.settings)
    if side not in SIDES:
        raise UsageError(f"side '{side}' is not allowed; use numerator or denominator.")
    if cell_start > cell_end:
        raise UsageError(f"The cell starts ({cell_start}) after it ends ({cell_end}).")
    if metric.kind in FUNNEL_KINDS or metric.kind == "mk_icp_share":
        return _funnel_records(engine, metric, query, cell_start, cell_end, side)
    if metric.kind in TABLE_KINDS:
        return _table_records(engine, metric, query, cell_start, cell_end)
    if drillable(metric):
        return _pipeline_records(engine, metric, query, cell_start, cell_end, side)
    raise UsageError(f"{metric.label} does not list the records behind it yet; its numbers "
                     "come from several tables. Drill into the counts it is built from.")


def fetch(engine: Engine, query: MetricQuery, cell_start: dt.date, cell_end: dt.date, *,
          side: str = "numerator", sort: str | None = None, descending: bool = False,
          offset: int = 0, limit: int = 100) -> Records:
    """One page of the records of a cell, sorted by an allow-listed column."""
    metric = resolve(query.metric, engine.settings)
    t, notes = record_table(engine, query, cell_start, cell_end, side)
    columns = list(t.columns)
    if sort is not None and sort not in columns:
        raise UsageError(f"Records cannot be sorted by '{sort[:60]}'; use one of: "
                         f"{', '.join(columns)}.")
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    total = int(engine.execute(t.aggregate(n=lambda x: x.count()))[0]["n"])
    key = sort or columns[0]
    order = [ibis.desc(key) if descending else ibis.asc(key)]
    if key != columns[0]:
        order.append(ibis.asc(columns[0]))
    page = t.order_by(order).limit(limit, offset=offset)
    rows = engine.execute(page)
    return Records(metric.key, metric.label, side, total, columns, rows, offset, limit, sort,
                   descending, notes)


def _funnel_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                    end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    notes: list[str] = []
    shown = tuple(dict.fromkeys([*query.by, "channel"]))
    q = query.replace(by=shown)
    t = reached(engine, q, notes)
    stages = engine.settings.stages
    kind = metric.kind
    stage: str | None = None
    if kind == "mk_icp_share":
        from funnelboard.metrics.marketing import icp_flags, icp_stage

        # the stage's contacts (denominator); the numerator keeps those of ICP accounts
        stage = icp_stage(engine, metric)
        t = icp_flags(engine, t)
        if side == "numerator":
            t = t.filter(t.fb_icp)
    elif kind == "count":
        stage = str(metric.params["stage"])
    elif kind == "rate":
        a, b = str(metric.params["a"]), str(metric.params["b"])
        stage = b if side == "numerator" else a
    basis = query.basis or "cohort"
    if basis == "period" and stage is not None:
        day = local_date(t[f"r_{stage}"])
    else:
        day = local_date(t.created)
    t = t.filter(day >= start, day <= end)
    if stage is not None:
        hit = t[f"r_{stage}"].notnull()
        days = metric.params.get("days") if kind == "rate" else None
        if kind == "rate" and side == "numerator" and isinstance(days, int):
            hit = hit & (t[f"r_{stage}"] <= t.created + ibis.interval(days=days))
        t = t.filter(hit)
    unit = "account_id" if query.level == "account" else "contact_id"
    cols: dict[str, ir.Value] = {unit: t[unit]}
    cols["created"] = t.created
    for dim in shown:
        if dim in t.columns:
            cols[dim] = t[dim]
    for s in stages:
        cols[f"reached_{s}"] = local_date(t[f"r_{s}"])
    return t.select(**cols), notes


def _table_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                   end: dt.date) -> tuple[ir.Table, list[str]]:
    from funnelboard.metrics.tables import Source, prepared

    notes: list[str] = []
    # the window is the cell; prepared() applies the query's filters and dimensions
    q = query.replace(start=start, end=end)
    t, _period = prepared(engine, metric, q, notes)
    src: Source = metric.params["source"]  # type: ignore[assignment]
    spec = TABLES.get(src.table)
    names = [c.name for c in spec.columns] if spec else []
    keep = [c for c in names if c in t.columns]
    dims = [d for d in query.by if d in t.columns and d not in keep]
    return t.select(*keep, *dims), notes


def _pipeline_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                      end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Opportunities behind a pipeline cell, chosen by the metric's own functions: created
    in the cell (opportunities and pipeline created), won in it (bookings), closed in it (win
    rate: won for the numerator, won and lost less "no decision" for the denominator), lost
    in it (loss reasons)."""
    from funnelboard.metrics import pipeline as deals_mod

    q = query.replace(start=start, end=end)
    calc = str(metric.params["calc"])
    marketing = bool(metric.params.get("marketing"))
    if calc == "created":
        t = deals_mod.deals(engine, q, source=deals_mod.tracks_source(metric, q))
        t = deals_mod.filtered(t, q)
        t = t.filter(Window.of(q).contains(t.created_day))
    else:
        reasons = deals_mod.no_decision_reasons(engine) if calc == "win_rate" else []
        t = deals_mod.closed_deals(engine, metric, q,
                                   dims=("loss_reason",) if reasons else ())
        if calc == "bookings" or (calc == "win_rate" and side == "numerator"):
            t = t.filter(t.won_now)
        elif calc == "loss_reasons":
            t = t.filter(~t.won_now)
        elif reasons:  # the win rate's denominator leaves "no decision" losses out
            t = t.filter(t.won_now | ~t.loss_reason.lower().isin(reasons).fill_null(False))
    if marketing:
        t = t.filter(t.source_type == "marketing")
    cols: dict[str, ir.Value] = {
        "opportunity_id": t.oid, "created": t.created, "close_date": t.close_date,
        "amount": t.amount, "currency": t.currency, "stage": t.stage_now, "won": t.won_now}
    for dim in query.by:
        if dim in t.columns:
            cols[dim] = t[dim]
    notes = ["Amounts are shown as recorded, in each deal's own currency."]
    return t.select(**cols), notes


def cell_of(period: dt.date, query: MetricQuery) -> tuple[dt.date, dt.date]:
    """The bounds of the result cell starting on ``period`` (clipped to the query range)."""
    end = periods.period_end(period, query.grain)
    if query.end and end > query.end:
        end = query.end
    return max(period, query.start or period), min(end, query.as_of)
