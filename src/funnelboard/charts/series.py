"""From result rows to chart series: one per breakdown value, the largest kept.

A chart with more than :data:`TOP_N` lines is unreadable, so the largest series are kept. For
counts and money the rest are summed into "Other" (those add up); for rates, averages and
medians they cannot be summed, so they are left out and the chart says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from funnelboard.charts.format import ADDITIVE_UNITS, number
from funnelboard.metrics.query import NONE_LABEL
from funnelboard.metrics.result import MetricResult

TOP_N = 8
OTHER = "Other"
#: Row fields summed when series are folded into "Other".
_SUMMED = ("value", "numerator", "denominator", "n")


@dataclass
class Series:
    """The series a chart draws, largest first, and what was folded or left out."""

    names: list[str]
    rows: list[dict[str, Any]]
    folded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        """A subtitle sentence when series were folded or left out, else ``""``."""
        if self.folded:
            return (f"The {len(self.names) - 1} largest of {len(self.names) - 1 + len(self.folded)}"
                    f" shown; the other {len(self.folded)} are summed as \"{OTHER}\".")
        if self.dropped:
            return (f"The {len(self.names)} largest of {len(self.names) + len(self.dropped)} "
                    f"shown; the other {len(self.dropped)} are left out because this metric "
                    "does not add up across them.")
        return ""


def is_additive(result: MetricResult) -> bool:
    """Counts and money that are not ratios (a cost per MQL is money but does not add up)."""
    return result.unit in ADDITIVE_UNITS and result.aggregation != "ratio"


def series_name(row: dict[str, Any], dims: tuple[str, ...]) -> str:
    """The series a row belongs to: its breakdown value(s), ``(none)`` for an empty one."""
    parts = [NONE_LABEL if row.get(d) in (None, "") else str(row[d]) for d in dims]
    return " · ".join(parts)


def split(result: MetricResult, *, label: str, top_n: int = TOP_N) -> Series:
    """Each row tagged with its ``series``; beyond ``top_n`` series, fold or drop the rest."""
    dims = result.dims
    tagged = [{**row, "series": series_name(row, dims) if dims else label}
              for row in result.rows]
    totals: dict[str, float] = defaultdict(float)
    sizes: dict[str, float] = defaultdict(float)
    for row in tagged:
        totals[row["series"]] += abs(number(row.get("value")) or 0.0)
        sizes[row["series"]] += number(row.get("n")) or 0.0
    additive = is_additive(result)
    weight = totals if additive or not any(sizes.values()) else sizes
    order = sorted(weight, key=lambda s: (-weight[s], s))
    if len(order) <= top_n:
        return Series(order, tagged)
    keep, rest = order[:top_n], order[top_n:]
    kept = [r for r in tagged if r["series"] in set(keep)]
    if not additive:
        return Series(keep, kept, dropped=rest)
    return Series([*keep, OTHER], kept + _fold([r for r in tagged if r["series"] in set(rest)]),
                  folded=rest)


def _fold(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum rows per period into the "Other" series (a sum is ``None`` only if every part is)."""
    by_period: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_period[row["period"]].append(row)
    folded = []
    for period in sorted(by_period):
        group = by_period[period]
        out: dict[str, Any] = {"period": period, "period_end": group[0].get("period_end"),
                               "series": OTHER, "partial": any(r.get("partial") for r in group)}
        for key in _SUMMED:
            parts = [number(r.get(key)) for r in group]
            values = [p for p in parts if p is not None]
            out[key] = sum(values) if values else None
        folded.append(out)
    return folded
