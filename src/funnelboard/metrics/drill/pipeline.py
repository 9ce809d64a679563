"""Opportunities behind pipeline cells, chosen by the pipeline module's own functions.

Each lister asks :mod:`funnelboard.metrics.pipeline` for the very table its metric counts or
sums (won deals, deals open at a period end, deals that reached a stage …), restricted to the
cell, so the drill-down agrees with the number. Money is listed twice: ``amount`` and
``currency`` as recorded, and :data:`COUNTED`, the deal's part of the number in the reporting
currency (weighted, or annualised, when the metric is).

Sales velocity has no lister: it multiplies and divides four other metrics (opportunities
created, win rate, average deal size, sales cycle), so no set of deals adds up to it; the
drill-down goes through those metrics instead.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from funnelboard.metrics import periods
from funnelboard.metrics.drill.registry import COUNTED, lists
from funnelboard.metrics.engine import Engine, Window
from funnelboard.metrics.money import AMOUNT
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef

Listed = tuple[ir.Table, list[str]]

_AS_RECORDED = "Amounts are shown as recorded, in each deal's own currency."


@lists("pipeline", "created", sides={"numerator": "opportunities created"})
@lists("pipeline", "bookings", sides={"numerator": "won deals"})
@lists("pipeline", "win_rate", sides={"numerator": "won deals",
                                      "denominator": "decided deals (won and lost)"})
@lists("pipeline", "loss_reasons", sides={"numerator": "lost deals"})
def deal_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                 end: dt.date, side: str) -> Listed:
    """Created in the cell (opportunities and pipeline created), won in it (bookings), closed
    in it (win rate: won for the numerator, won and lost less "no decision" for the
    denominator), lost in it (loss reasons). Summed amounts carry :data:`COUNTED`."""
    from funnelboard.metrics import pipeline as deals_mod

    q = query.replace(start=start, end=end)
    calc = str(metric.params["calc"])
    money = bool(metric.params.get("amount")) or calc == "bookings"
    notes: list[str] = []
    if calc == "created":
        t = deals_mod.deals(engine, q, source=deals_mod.tracks_source(metric, q))
        t = deals_mod.filtered(t, q)
        t = t.filter(Window.of(q).contains(t.created_day))
        if metric.params.get("marketing"):
            t = t.filter(t.source_type == "marketing")
        if money:
            t = deals_mod.in_currency(engine, t, q, notes, "opportunities")
    elif calc == "bookings":
        t = deals_mod.won_deals(engine, metric, q, notes)
    elif calc == "win_rate":
        t = deals_mod.decided_deals(engine, metric, q, notes)
        t = t.filter(t.won_now) if side == "numerator" else t.filter(~t.fb_no_decision)
    else:
        t = deals_mod.closed_deals(engine, metric, q)
        t = t.filter(~t.won_now)
    counted = {COUNTED: t[AMOUNT]} if money else {}
    return deal_columns(t, query, **counted), _money_notes(notes, money)


@lists("pipeline", "avg_deal_size", sides={"numerator": "won deals, amounts summed",
                                           "denominator": "won deals averaged"})
@lists("pipeline", "acv", sides={"numerator": "won new-business deals, annual values summed",
                                 "denominator": "won new-business deals averaged"})
def deal_size_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                      end: dt.date, side: str) -> Listed:
    """The won deals averaged: the numerator side carries each one's value (the amount, for
    ACV annualised) in :data:`COUNTED`; the denominator side lists the same deals, counted."""
    from funnelboard.metrics.pipeline import sized_deals

    notes: list[str] = []
    t = sized_deals(engine, metric, query.replace(start=start, end=end), notes)
    acv = metric.params["calc"] == "acv"
    value = "annual_value" if acv else "won_amount"
    extra: dict[str, ir.Value] = {"term_months": t.term} if acv else {}
    extra[COUNTED if side == "numerator" else value] = t.fb_value_12
    notes.append("Each deal's annual value is its amount in the reporting currency × 12 ÷ "
                 "term_months, or the amount when it has no term." if acv else
                 "Each deal's won amount is its amount in the reporting currency.")
    return deal_columns(t, query, **extra), _money_notes(notes, side == "numerator")


@lists("pipeline", "attainment", sides={"numerator": "won deals (bookings)"})
def attainment_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                       start: dt.date, end: dt.date, side: str) -> Listed:
    """The won deals whose amounts make the bookings the target is set against."""
    from funnelboard.metrics.pipeline import won_deals

    notes: list[str] = []
    t = won_deals(engine, metric, query.replace(start=start, end=end), notes)
    notes.append("The denominator is the period's bookings target, which is not a record.")
    return deal_columns(t, query, **{COUNTED: t[AMOUNT]}), _money_notes(notes, True)


@lists("pipeline", "cohort_win_rate",
       sides={"numerator": "deals created in the period and won by the as-of date",
              "denominator": "deals created in the period"})
def cohort_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                   end: dt.date, side: str) -> Listed:
    """The deals created in the cell (denominator), those won by the as-of date (numerator),
    with their outcome so far."""
    from funnelboard.metrics.pipeline import cohort_deals

    t = cohort_deals(engine, metric, query.replace(start=start, end=end))
    if side == "numerator":
        t = t.filter(t.fb_won)
    outcome = ibis.cases((t.fb_won, "won"), (t.fb_lost, "lost"), else_="still open")
    return deal_columns(t, query, outcome=outcome), [_AS_RECORDED]


@lists("pipeline", "share",
       sides={"numerator": "marketing-sourced new-business deals created",
              "denominator": "new-business deals created"})
def share_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                  end: dt.date, side: str) -> Listed:
    """The new-business deals created in the cell (denominator), the marketing-sourced ones
    (numerator), each with its amount in the reporting currency in :data:`COUNTED`."""
    from funnelboard.metrics.pipeline import new_business_created

    notes = ["Deals without a type are not new business and are not listed."]
    t = new_business_created(engine, query.replace(start=start, end=end), notes,
                             count_untyped=False)
    if side == "numerator":
        t = t.filter(t.source_type == "marketing")
    return deal_columns(t, query, source_type=t.source_type,
                        source_type_derived=t.st_derived,
                        **{COUNTED: t[AMOUNT]}), _money_notes(notes, True)


@lists("pipeline", "open_pipeline", sides={"numerator": "deals open at the period end"})
@lists("pipeline", "weighted_pipeline",
       sides={"numerator": "deals open at the period end, amounts weighted"})
def open_pipeline_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                          start: dt.date, end: dt.date, side: str) -> Listed:
    """The deals open at the end of the cell (the as-of date for the running period), with
    their stage and probability then; :data:`COUNTED` is the amount (weighted pipeline:
    amount × weight) in the reporting currency of that day."""
    from funnelboard.metrics.pipeline import weighted_open_deals

    notes: list[str] = []
    day = min(end, Window.of(query).end)
    j = weighted_open_deals(engine, metric, query, notes, [(engine.period_start(start, query.grain),
                                                            day)])
    extra: dict[str, ir.Value] = {"measured_on": j.t_day, "stage": j.stage_t,
                                  "stale": j.close_date < j.t_day}
    if metric.params["calc"] == "weighted_pipeline":
        extra |= {"weight": j.fb_weight, "reporting_amount": j[AMOUNT],
                  COUNTED: j[AMOUNT] * j.fb_weight}
        notes.append("The weight is the deal's probability then (with probability history: "
                     "its stage's historical win rate); a deal without one adds nothing.")
    else:
        extra[COUNTED] = j[AMOUNT]
    notes.append(f"Deals open at the end of {day.isoformat()}; stage is the stage they were "
                 "in then, current_stage the one they are in now.")
    return deal_columns(j, query, **extra), _money_notes(notes, True,
                                                         rate="at the rate of that day")


@lists("pipeline", "coverage", sides={"numerator": "open deals due to close in the period"})
def coverage_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                     end: dt.date, side: str) -> Listed:
    """The deals open on the as-of date with a close date in the cell's period, not stale:
    the pipeline set against the target. A finished period has no coverage, so no deals."""
    from funnelboard.metrics.pipeline import open_closing

    notes: list[str] = []
    first = engine.period_start(start, query.grain)
    last = periods.period_end(first, query.grain)
    j = open_closing(engine, query, notes, first, last)
    j = j.filter(~j.fb_stale)
    if last <= query.as_of:
        j = j.filter(ibis.literal(False))
        notes.append("A finished period has no coverage, so no open deals are listed; see "
                     "bookings target attainment instead.")
    else:
        notes.append(f"Deals open on {query.as_of.isoformat()} with a close date from "
                     f"{first.isoformat()} to {last.isoformat()}; deals already past their "
                     "close date are left out. The target is not a record.")
    return deal_columns(j, query, stage=j.stage_t, **{COUNTED: j[AMOUNT]}), \
        _money_notes(notes, True)


@lists("pipeline", "stage_days",
       sides={"numerator": "deals that left the stage, with their days in it"})
def stage_days_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                       end: dt.date, side: str) -> Listed:
    """One row per deal and stage it left in the cell: the days it spent there, whose
    median is the number."""
    from funnelboard.metrics.pipeline import stage_stays

    t = stage_stays(engine, metric, query.replace(start=start, end=end))
    return deal_columns(t, query, stage=t.stage, left_stage=t.exit_day, days=t.days), \
        ["The number is the median of the days listed; amounts are as recorded."]


@lists("pipeline", "stage_conversion",
       sides={"numerator": "deals that went on to the next stage",
              "denominator": "deals that reached the stage"})
def stage_conversion_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                             start: dt.date, end: dt.date, side: str) -> Listed:
    """The deals created in the cell that reached the stage (denominator), those that went on
    to the next one or, after the last open stage, were won (numerator)."""
    from funnelboard.metrics.pipeline import stage_reach

    u = stage_reach(engine, metric, query.replace(start=start, end=end), [],
                    count_left_out=False)
    if side == "numerator":
        u = u.filter(u.fb_on)
    return deal_columns(u, query, stage=u.stage, next_stage=u.fb_next, went_on=u.fb_on), \
        ["Deals without stage history (opportunity_stages) are left out, as the metric "
         "leaves them out.", _AS_RECORDED]


@lists("pipeline", "demo_to_close", sides={"numerator": "won deals a demo led to"})
def demo_to_close_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                          start: dt.date, end: dt.date, side: str) -> Listed:
    """The won deals closed in the cell with their earliest demo, how it was linked to them
    and the days from it to the close: the number is the median of those days."""
    from funnelboard.metrics.pipeline import demo_closed_deals

    t = demo_closed_deals(engine, query.replace(start=start, end=end))
    return deal_columns(t, query, first_demo=t.demo_day, linked_by=t.link, days=t.days), \
        ["The number is the median of the days listed; amounts are as recorded."]


def deal_columns(t: ir.Table, query: MetricQuery, **extra: ir.Value) -> ir.Table:
    """The columns a deal drill-down shows (from a table built by the pipeline module's
    ``deals``/``closed_deals``): the deal, its dates, the query's dimensions, its current
    stage and status, its amount as recorded, then ``extra``."""
    cols: dict[str, ir.Value] = {
        "opportunity_id": t.oid, "created": t.created, "close_date": t.close_date}
    for dim in query.by:
        if dim in t.columns and dim not in cols:
            cols[dim] = t[dim]
    cols |= {"current_stage": t.stage_now, "won": t.won_now, "amount": t.amount,
             "currency": t.currency}
    cols.update(extra)
    return t.select(**cols)


def _money_notes(notes: list[str], counted: bool,
                 rate: str = "closed deals at the rate of their close date, open deals at "
                             "the as-of date") -> list[str]:
    """The conversion notes of the metric's own code, then how amounts are shown."""
    shown = [*notes, _AS_RECORDED]
    if counted:
        shown.append(f"The counted column is each deal's part of the number in the reporting "
                     f"currency ({rate}), as the metric sums it; a deal whose currency has no "
                     "rate counts nothing.")
    return shown
