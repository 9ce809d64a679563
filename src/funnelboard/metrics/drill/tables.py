"""Single-table metrics (sessions, ads, email, community …): the source table's rows in the
cell, after the metric's own filters and dimensions."""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir

from funnelboard.metrics.drill.registry import COUNTED, lists
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef
from funnelboard.schema import TABLES


@lists("table_flow", sides={"numerator": "rows summed"})
@lists("table_ratio", sides={"numerator": "rows, numerator part",
                             "denominator": "rows, denominator part"})
@lists("table_distinct", sides={"numerator": "rows in the cell"})
def table_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                  end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The rows of the metric's source table in the cell, with the query's dimensions; for
    sums, each row's part of the number in :data:`COUNTED` (the numerator's or, for the
    denominator side of a ratio, the denominator's)."""
    from funnelboard.metrics.tables import Expr, Source, prepared

    notes: list[str] = []
    # the window is the cell; prepared() applies the query's filters and dimensions
    t, _period = prepared(engine, metric, query.replace(start=start, end=end), notes)
    src: Source = metric.params["source"]  # type: ignore[assignment]
    part: Expr | None = None
    if metric.kind != "table_distinct":
        part = metric.params["den" if side == "denominator" else "num"]  # type: ignore[assignment]
    counted = {COUNTED: part(t)} if part is not None else {}
    return source_columns(t, src.table, query, **counted), notes


def source_columns(t: ir.Table, table: str, query: MetricQuery,
                   **extra: ir.Value) -> ir.Table:
    """The canonical columns of ``table`` present in ``t``, the query's dimensions, then
    ``extra`` columns (such as each row's part of the number)."""
    spec = TABLES.get(table)
    names = [c.name for c in spec.columns] if spec else []
    keep = [c for c in names if c in t.columns and c not in extra]
    dims = [d for d in query.by if d in t.columns and d not in keep and d not in extra]
    return t.select(*keep, *dims, **extra)
