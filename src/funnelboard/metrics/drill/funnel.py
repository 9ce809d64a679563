"""Funnel counts and conversion rates: the contacts (or accounts) of the cohort, or, on the
period basis, those that reached the stage in the period."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.drill.registry import lists
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.funnel import local_date, reached
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef


@lists("created", sides={"numerator": "contacts created"})
@lists("count", sides={"numerator": "reached the stage"})
@lists("rate", sides={"numerator": "converted", "denominator": "reached the first stage"})
@lists("mk_icp_share", sides={"numerator": "at ICP accounts", "denominator": "reached the stage"})
def funnel_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                   end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The units of a funnel cell, with the day they reached each stage.

    Rates: ``numerator`` lists the units that converted, ``denominator`` those that reached
    the first stage; ICP share: the stage's units (denominator), those of ICP accounts
    (numerator)."""
    notes: list[str] = []
    shown = tuple(dict.fromkeys([*query.by, "channel"]))
    q = query.replace(by=shown)
    t = reached(engine, q, notes)
    kind = metric.kind
    stage: str | None = None
    if kind == "mk_icp_share":
        from funnelboard.metrics.marketing import icp_flags, icp_stage

        stage = icp_stage(engine, metric)
        t = icp_flags(engine, t)
        if side == "numerator":
            t = t.filter(t.fb_icp)
    elif kind == "count":
        stage = str(metric.params["stage"])
    elif kind == "rate":
        a, b = str(metric.params["a"]), str(metric.params["b"])
        stage = b if side == "numerator" else a
    t = in_cell(t, query, stage, start, end)
    if stage is not None:
        hit = t[f"r_{stage}"].notnull()
        days = metric.params.get("days") if kind == "rate" else None
        if kind == "rate" and side == "numerator" and isinstance(days, int):
            hit = hit & (t[f"r_{stage}"] <= t.created + ibis.interval(days=days))
        t = t.filter(hit)
    return unit_columns(engine, t, query, shown), notes


def in_cell(t: ir.Table, query: MetricQuery, stage: str | None, start: dt.date,
            end: dt.date) -> ir.Table:
    """Units of the cell: created in it (cohort basis) or reaching ``stage`` in it (period)."""
    if (query.basis or "cohort") == "period" and stage is not None:
        day = local_date(t[f"r_{stage}"])
    else:
        day = local_date(t.created)
    return t.filter(day >= start, day <= end)


def unit_columns(engine: Engine, t: ir.Table, query: MetricQuery,
                 shown: tuple[str, ...]) -> ir.Table:
    """The columns a funnel drill-down shows: the unit, its creation, the dimensions, and the
    day it reached each stage."""
    unit = "account_id" if query.level == "account" else "contact_id"
    cols: dict[str, ir.Value] = {unit: t[unit], "created": t.created}
    for dim in shown:
        if dim in t.columns:
            cols[dim] = t[dim]
    for s in engine.settings.stages:
        cols[f"reached_{s}"] = local_date(t[f"r_{s}"])
    return t.select(**cols)
