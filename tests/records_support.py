"""Shared helpers of the drill-down tests: the cells of a metric's result and their records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from funnelboard.metrics.query import MetricQuery, make_query
from funnelboard.metrics.records import Records, cell_of, fetch
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
RANGE: dict[str, Any] = {"start": "2025-07-01", "end": "2026-06-30", "as_of": AS_OF}
APPROX: dict[str, Any] = {"rel": 1e-9, "abs": 1e-6}


def cells(ws: Workspace, key: str, rng: dict[str, Any] | None = None,
          **options: Any) -> list[tuple[dict[str, Any], MetricQuery]]:
    """Every row of the metric's result with the query of that cell: the row's dimension
    values as filters (as the dashboard builds a drill-down link)."""
    rng = rng or RANGE
    query = make_query(key, timezone="UTC", **rng, **options)
    result = ws.metric(key, **rng, **options)
    out = []
    for row in result.rows:
        filters = {d: ("(none)" if row[d] is None else row[d]) for d in result.dims}
        out.append((row, query.replace(filters=tuple((d, (v,)) for d, v in filters.items()))))
    return out


def cell_records(ws: Workspace, q: MetricQuery, row: dict[str, Any], side: str = "numerator",
                 limit: int = 1) -> Records:
    """The first page of the records of one result cell."""
    first, last = cell_of(row["period"], q)
    return fetch(ws.engine(), q, first, last, side=side, limit=limit)


def workspace_from(folder: Path, files: dict[str, str]) -> Workspace:
    """A new workspace in ``folder`` holding the hand-written CSV ``files`` (table -> text),
    each imported cleanly."""
    ws = Workspace.init(folder)
    for table, text in files.items():
        path = folder.parent / f"{folder.name}-{table}.csv"
        path.write_text(text, encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.ok and result.rows_quarantined == 0, (table, result.issues)
    return ws


def side_measure(rec: Records, how: str) -> float:
    """What a side adds up to: its number of records (``how="count"``), or the sum of their
    ``counted`` column (``"sum"``)."""
    if how == "count":
        assert rec.counted is None, "a counted side carries no counted column"
        return rec.total
    assert rec.counted is not None and "counted" in rec.columns
    return rec.counted
