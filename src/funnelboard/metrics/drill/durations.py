"""Durations: the contacts (or accounts) a days metric measures, the reference conversions of
cohort maturity, and the won deals of the sales cycle.

A duration is a median, not a sum, so its records carry the measured ``days`` without a
``counted`` column: the number of records equals the cell's ``n`` (the values the median is
taken over). Cohort maturity is a share of conversions: the numerator lists the reference
conversions no longer than the cohort's age, the denominator every reference conversion.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.drill.registry import lists
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.funnel import (
    cycle_deals,
    local_date,
    maturity_reference,
    maturity_transition,
    reached,
    stage_lags,
)
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef

_MEDIAN = "The number is the median of the days column over these records."


@lists("days", sides={"numerator": "contacts with an entry in both stages"})
def stage_lag_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                      end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The units with an actual entry in both stages, created in the cell (cohort basis) or
    entering the later stage in it (period basis), with their days between the entries."""
    a, b = str(metric.params["a"]), str(metric.params["b"])
    notes: list[str] = []
    shown = tuple(dict.fromkeys([*query.by, "channel"]))
    q = query.replace(start=start, end=end, by=shown)
    t, _dated = stage_lags(engine, reached(engine, q, notes), q, a, b)
    return _lag_columns(t, q, shown, a, b, days=t.lag), [*notes, _MEDIAN]


@lists("maturity", sides={
    "numerator": "reference conversions no longer than the cohort's age",
    "denominator": "reference conversions (cohorts older than the 95th percentile lag)"})
def maturity_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                     end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The reference conversions of cohort maturity: the same for every cohort (they come
    from older cohorts); the numerator keeps those whose whole days fit in the cohort's age.
    A cell without any unit created in it has no value, so it lists nothing."""
    a, b = maturity_transition(engine, query)
    notes: list[str] = []
    t = reached(engine, query, notes)
    ref, l95 = maturity_reference(engine, t, query, a, b)
    cohort = engine.period_start(start, query.grain)
    created = local_date(t.created)
    in_cell = t.filter(created >= start, created <= end)
    units = engine.execute(in_cell.aggregate(n=in_cell.count()))[0]["n"]
    if not units:
        ref = ref.filter(ibis.literal(False))
    elif side == "numerator":
        ref = ref.filter(ref.whole_days <= (query.as_of - cohort).days)
    if l95 is not None:
        notes.append(f"Reference: {a} → {b} conversions of cohorts older than the 95th "
                     f"percentile lag ({l95:.1f} days) at {query.as_of}; this cohort is "
                     f"{(query.as_of - cohort).days} days old.")
    return _lag_columns(ref, query, (), a, b, cohort=ref.cohort, days=ref.lag,
                        whole_days=ref.whole_days), notes


@lists("cycle", sides={"numerator": "won deals"})
def cycle_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                  end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The won deals with a close date in the cell, with their days from creation to close."""
    o = cycle_deals(engine, query.replace(start=start, end=end))
    records = o.select(opportunity_id=o.opportunity_id, created=o.created_at,
                       close_date=o.close_date, account_id=o.account_id, type=o.type,
                       amount=o.amount, currency=o.currency, days=o.lag)
    return records, [_MEDIAN, "Amounts are shown as recorded, in each deal's own currency."]


def _lag_columns(t: ir.Table, query: MetricQuery, shown: tuple[str, ...], a: str, b: str,
                 **extra: ir.Value) -> ir.Table:
    """The unit, its creation, the dimensions shown, its first entries into ``a`` and ``b``,
    then ``extra`` (the measured days)."""
    unit = "account_id" if query.level == "account" else "contact_id"
    cols: dict[str, ir.Value] = {unit: t[unit], "created": t.created}
    for dim in shown:
        if dim in t.columns:
            cols[dim] = t[dim]
    cols[f"entered_{a}"] = t[f"e_{a}"]
    cols[f"entered_{b}"] = t[f"e_{b}"]
    cols.update(extra)
    return t.select(**cols)
