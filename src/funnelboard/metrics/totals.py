"""One number per breakdown cell over a whole date range (the dashboard's tables and the
API's ``total=true``).

A range total is derived from the per-period rows the engine returned, by the metric's
aggregation (metrics.md, "Rules for all metrics"):

* **flow** — the sum of the periods' values (a count or an amount adds up over time);
* **ratio** with numerator and denominator — Σ numerator ÷ Σ denominator, times the metric's
  own scale (1000 for CPM), never an average of the periods' ratios; an empty denominator
  gives ``None``;
* **stock** — the value of the last period (a balance at the end of the range);
* anything else (medians, distinct counts across periods) cannot be combined from periods, so
  the value is ``None`` and a note says to read it per period.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from funnelboard.metrics.result import MetricResult

NOT_COMBINABLE = ("{label} cannot be added up across periods (it is a median or a distinct "
                  "count); read it per period.")


def range_total(result: MetricResult) -> MetricResult:
    """``result`` with one row per combination of its dimensions, spanning all its periods."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in result.rows:
        if result.aggregation != "stock" and row.get("value") is None and \
                not row.get("numerator") and not row.get("denominator"):
            # a period with nothing in it (no cost and no contacts): it adds nothing, and
            # must not make the range look uncombinable
            groups.setdefault(tuple(row.get(d) for d in result.dims), [])
            continue
        groups.setdefault(tuple(row.get(d) for d in result.dims), []).append(row)
    rows = []
    notes = list(result.notes)
    for combo, members in groups.items():
        if not members:
            rows.append({"period": result.query.start, "period_end": result.query.end,
                         **dict(zip(result.dims, combo, strict=True)), "value": None,
                         "numerator": None, "denominator": None, "n": 0, "partial": False,
                         "extra": {}})
            continue
        members.sort(key=lambda r: r["period"])
        value, num, den, n = _combine(result, members)
        if value is _MISSING:
            value = None
            note = NOT_COMBINABLE.format(label=result.label)
            if note not in notes:
                notes.append(note)
        rows.append({"period": members[0]["period"], "period_end": members[-1]["period_end"],
                     **dict(zip(result.dims, combo, strict=True)),
                     "value": value, "numerator": num, "denominator": den, "n": n,
                     "partial": any(r.get("partial") for r in members), "extra": {}})
    query = result.query.replace(compare=None, with_target=False)
    return dataclasses.replace(result, rows=rows, notes=notes, query=query)


_MISSING = object()


def _sum(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _combine(result: MetricResult, rows: list[dict[str, Any]]) -> tuple[Any, Any, Any, Any]:
    n = _sum([r.get("n") for r in rows])
    if result.aggregation == "stock":
        last = rows[-1]
        return last["value"], last.get("numerator"), last.get("denominator"), last.get("n")
    if result.aggregation == "flow" and all(r.get("numerator") is None for r in rows):
        return _sum([r["value"] for r in rows]) or 0, None, None, n
    nums = [r.get("numerator") for r in rows]
    dens = [r.get("denominator") for r in rows]
    if any(v is None for v in nums + dens):
        return _MISSING, None, None, n
    num, den = sum(v for v in nums if v is not None), sum(v for v in dens if v is not None)
    scale = _scale(rows)
    if scale is _MISSING:
        return _MISSING, num, den, n
    return (num / den * scale if den else None), num, den, n


def _scale(rows: list[dict[str, Any]]) -> Any:
    """The factor between a period's value and its numerator ÷ denominator (1, or 1000 for
    CPM, 100 for NPS); ``_MISSING`` when the periods disagree (the value is not a ratio of
    sums, e.g. a median)."""
    scales = []
    for r in rows:
        num, den, value = r.get("numerator"), r.get("denominator"), r.get("value")
        if value is None or not den or not num:
            continue
        scales.append(value / (num / den))
    if not scales:
        return 1.0
    first = scales[0]
    if all(abs(s - first) <= 1e-6 * max(1.0, abs(first)) for s in scales):
        return round(first, 6)
    return _MISSING
