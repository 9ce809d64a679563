"""Generic compilers for metrics read straight from one table: sums, ratios of sums, distinct
counts and period-end stocks.

Most catalogue metrics (sessions, CTR, email open rate, audience, …) are "sum a column by date
period and dimension" or "sum one column ÷ sum another". A :class:`Source` says which table,
which date column and how each dimension is read; a :class:`MetricDef` of kind ``table_flow``,
``table_ratio``, ``table_distinct`` or ``table_stock`` names its measures in ``params``:

* ``num`` — ``fn(t) -> numeric expression`` summed per cell (``table_distinct``: the
  expression whose distinct non-null values are counted);
* ``den`` — for ratios, the denominator expression, summed the same way;
* ``scale`` — a factor applied to the ratio (1000 for CPM, 100 for NPS);
* ``key`` — for stocks, ``fn(t) -> expression`` naming the series (e.g. the platform) whose
  last value in each period is summed.

Ratios are always Σ numerator ÷ Σ denominator at the requested grain, never an average of
ratios; an empty denominator gives ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.metrics import periods
from funnelboard.metrics.engine import Engine, Window, compiler
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef

Expr = Callable[[ir.Table], ir.Value]
DimExpr = Callable[[Engine, ir.Table], ir.Value]
Prepare = Callable[[Engine, ir.Table, MetricQuery, list[str]], ir.Table]


@dataclass(frozen=True)
class Source:
    """Where a table metric reads from (see the module docstring)."""

    table: str
    date: str
    #: the date column holds timestamps (bucketed by local date)
    timestamp: bool = False
    dims: Mapping[str, DimExpr] = field(default_factory=dict)
    #: adds derived columns (channel, reporting-currency amounts) before anything else
    prepare: Prepare | None = None

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(self.dims)


def text(col: ir.Value) -> ir.StringValue:
    """Stored text with surrounding spaces removed; empty reads as NULL."""
    return col.cast("string").strip().nullif("")


def column(name: str) -> DimExpr:
    """A dimension read from a column as stored."""
    return lambda engine, t: text(t[name])


def prepared(engine: Engine, metric: MetricDef, query: MetricQuery,
             notes: list[str]) -> tuple[ir.Table, ir.DateValue]:
    """The source table with dimensions added and filters applied, limited to the query
    window; and the period expression."""
    src: Source = metric.params["source"]  # type: ignore[assignment]
    t = engine.table(src.table)
    if src.prepare is not None:
        t = src.prepare(engine, t, query, notes)
    day = t[src.date].date() if src.timestamp else t[src.date].cast("date")
    t = t.mutate(fb_day=day)
    t = t.filter(Window.of(query).contains(t.fb_day))
    wanted = list(dict.fromkeys([*query.by, *query.filter_map]))
    if wanted:
        t = t.mutate(**{d: src.dims[d](engine, t) for d in wanted})
    for dim, values in query.filters:
        keep = [v for v in values if v != NONE_LABEL]
        cond = t[dim].isin(keep) if keep else ibis.literal(False)
        if NONE_LABEL in values or "" in values:
            cond = cond | t[dim].isnull()
        t = t.filter(cond)
    settings = engine.settings
    period = periods.bucket(t.fb_day, query.grain,
                            fiscal_start=settings.fiscal_year_start_month,
                            week_start=settings.week_start)
    return t, period


def _dim(value: Any) -> Any:
    return None if value is None or value == "" else value


def _group(t: ir.Table, period: ir.Value, query: MetricQuery, **aggs: Any) -> ir.Table:
    return t.group_by(period=period, **{d: t[d] for d in query.by}).aggregate(**aggs)


def _number(value: Any) -> Any:
    if value is None:
        return None
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and not isinstance(value, float) else as_float


@compiler("table_flow", "table_distinct")
def table_flow(engine: Engine, metric: MetricDef, query: MetricQuery,
               notes: list[str]) -> list[dict[str, Any]]:
    """Σ ``num`` (or the count of its distinct values) per period and dimensions."""
    t, period = prepared(engine, metric, query, notes)
    num: Expr = metric.params["num"]  # type: ignore[assignment]
    value = num(t).nunique() if metric.kind == "table_distinct" else num(t).sum()
    agg = _group(t, period, query, value=value, rows=t.count())
    return [{"period": r["period"], **{d: _dim(r[d]) for d in query.by},
             "value": _number(r["value"]) if r["value"] is not None else 0,
             "numerator": None, "denominator": None, "n": int(r["rows"]), "extra": {}}
            for r in engine.execute(agg)]


@compiler("table_ratio")
def table_ratio(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """Σ ``num`` ÷ Σ ``den`` × ``scale`` per period and dimensions (None when Σ den is 0)."""
    t, period = prepared(engine, metric, query, notes)
    num: Expr = metric.params["num"]  # type: ignore[assignment]
    den: Expr = metric.params["den"]  # type: ignore[assignment]
    scale = float(metric.params.get("scale", 1.0))  # type: ignore[arg-type]
    agg = _group(t, period, query, num=num(t).sum(), den=den(t).sum())
    rows = []
    for r in engine.execute(agg):
        n, d = _number(r["num"]) or 0, _number(r["den"]) or 0
        rows.append({"period": r["period"], **{dd: _dim(r[dd]) for dd in query.by},
                     "value": (n / d * scale) if d else None, "numerator": n,
                     "denominator": d, "n": d, "extra": {}})
    return rows


def stock_rows(engine: Engine, metric: MetricDef, query: MetricQuery,
               notes: list[str]) -> ir.Table:
    """The rows a stock sums: per period and series (``fb_key``, and the query's dimensions)
    the last row dated in the period with a value (``fb_value``), with ``fb_period``. Shared by
    :func:`table_stock` and the drill-down, so both pick the same rows; two rows of a series on
    the same last day are broken by the larger value, so the pick never depends on row order."""
    t, period = prepared(engine, metric, query, notes)
    num: Expr = metric.params["num"]  # type: ignore[assignment]
    key: Expr = metric.params.get("key") or (lambda tt: ibis.literal("all"))  # type: ignore[assignment]
    t = t.mutate(fb_period=period, fb_key=key(t), fb_value=num(t))
    t = t.filter(t.fb_value.notnull())
    groups = ["fb_period", "fb_key", *query.by]
    last = ibis.window(group_by=[t[g] for g in groups],
                       order_by=[ibis.desc(t.fb_day), ibis.desc(t.fb_value)])
    t = t.mutate(fb_rank=ibis.row_number().over(last))
    return t.filter(t.fb_rank == 0)


@compiler("table_stock")
def table_stock(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """A stock at the period end: per series (``key``), the last value dated in the period,
    summed over series. A quarter's value is its last month's, never a sum of months."""
    t = stock_rows(engine, metric, query, notes)
    agg = t.group_by(period=t.fb_period, **{d: t[d] for d in query.by}).aggregate(
        value=t.fb_value.sum(), series=t.count(), as_of_day=t.fb_day.max())
    return [{"period": r["period"], **{d: _dim(r[d]) for d in query.by},
             "value": _number(r["value"]), "numerator": None, "denominator": None,
             "n": int(r["series"]), "extra": {"measured_on": r["as_of_day"]}}
            for r in engine.execute(agg)]
