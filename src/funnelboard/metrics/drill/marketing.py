"""Marketing metrics: the accounts ads reached, the cost rows and stage units of a cost per
stage, demos, self-reported sources and MQL follow-ups, each chosen by the marketing module's
own functions so the records are exactly what the number counts or sums."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from funnelboard.metrics import periods
from funnelboard.metrics.drill.funnel import unit_columns
from funnelboard.metrics.drill.registry import COUNTED, lists, record_key
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef


def _shown(query: MetricQuery, *always: str) -> tuple[str, ...]:
    """The dimensions a drill-down shows: the query's, then ``always`` (useful context)."""
    return tuple(dict.fromkeys([*query.by, *always]))


# -- ABM accounts ----------------------------------------------------------------------------

@lists("mk_accounts", "engaged", sides={"numerator": "accounts that engaged with ads"})
@lists("mk_accounts", "target_share",
       sides={"numerator": "target accounts reached (or engaged)",
              "denominator": "target accounts at the period end"})
def account_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                    end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """One row per account the ads reached or engaged in the cell, with its first and last
    hit and the number of hits; the denominator of a target share lists the target accounts
    that existed at the end of the cell's period, flagged when they count in the numerator."""
    from funnelboard.metrics import marketing as mk

    notes: list[str] = []
    q = query.replace(start=start, end=end)
    hits = mk.account_hits(engine, metric, q, notes)
    dims = [f"a_{d}" for d in mk.ACCOUNT_DIMENSIONS]
    per = hits.group_by(["account", "a_title", "a_created", *dims]).aggregate(
        first_hit=hits.fb_day.min(), last_hit=hits.fb_day.max(), hits=hits.count())
    what = "reached" if metric.params.get("reach") else "engaged"
    if side == "numerator":
        t = per.rename(account_id="account")
        cols: dict[str, ir.Value] = {
            "account_id": t.account_id, "name": t.a_title, "created": t.a_created,
            "first_hit": t.first_hit, "last_hit": t.last_hit, "hits": t.hits}
    else:
        base = mk.target_accounts(engine, q)
        settings = engine.settings
        made = periods.bucket(base.fb_created, q.grain,
                              fiscal_start=settings.fiscal_year_start_month,
                              week_start=settings.week_start)
        base = base.filter(made.isnull() | (made <= engine.period_start(start, q.grain)))
        counted = per.select(k_account=per.account, k_first=per.first_hit, k_hits=per.hits)
        t = base.left_join(counted, base.a_id == counted.k_account)
        cols = {"account_id": t.a_id, "name": t.a_title, "created": t.a_created,
                what: t.k_account.notnull(), "first_hit": t.k_first,
                "hits": t.k_hits.coalesce(0)}
    cols.update({d: t[f"a_{d}"] for d in mk.ACCOUNT_DIMENSIONS})
    notes.append("An account counts once however many ad rows or touchpoints it has; hits "
                 "are the ad_account_engagement rows and ad touchpoints of the cell.")
    return t.select(**cols), notes


# -- cost per stage --------------------------------------------------------------------------

@lists("mk_cost_per", sides={"numerator": "marketing cost rows",
                             "denominator": "reached the stage"})
def cost_per_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                     end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Numerator: the marketing cost rows (costs of team marketing and ad spend) dated in the
    cell, each row's cost in the reporting currency in :data:`COUNTED`; denominator: the
    contacts (or accounts) that reached the stage in the cell, on the metric's basis."""
    from funnelboard.metrics import marketing as mk

    notes: list[str] = []
    if side == "denominator":
        shown = _shown(query, "channel")
        q = query.replace(by=shown, basis=mk.cost_basis(metric, query))
        t, _day = mk.cost_stage_units(engine, metric, q.replace(start=start, end=end), notes)
        return unit_columns(engine, t, query, shown), notes
    # the rows of the whole query, so a costs row left out because ad spend covers its month
    # and channel is left out here too, whatever the cell's length
    c = mk.marketing_costs(engine, query, notes)
    c = c.filter(c.fb_day >= start, c.fb_day <= end)
    currency = engine.settings.reporting_currency
    t = c.select(
        cost_row=record_key(c.source, c.fb_day, c.channel, c.campaign, c.category),
        date=c.fb_day, source=c.source, channel=c.channel, campaign=c.campaign, team=c.team,
        category=c.category, amount=c.amount, currency=ibis.literal(currency),
        **{COUNTED: c.amount})
    notes.append(f"Amounts are in {currency}, the reporting currency: ad spend in another "
                 "currency is converted at the latest rate on or before its date; a row "
                 "without a rate has no amount and adds nothing. Monthly costs rows are dated "
                 "on the first day of their month.")
    return t, notes


# -- demos → opportunities -------------------------------------------------------------------

@lists("mk_demo_opportunity", sides={"numerator": "demos followed by an opportunity",
                                     "denominator": "demos booked (old enough to judge)"})
def demo_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                 end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Demos booked in the cell at least N days before the as-of date; the numerator those
    whose contact or account got an opportunity within N days after the booking."""
    from funnelboard.metrics import marketing as mk

    shown = _shown(query, "channel")
    m = mk.judged_demos(engine, query.replace(start=start, end=end, by=shown))
    m = m.filter(~m.fb_young)
    if side == "numerator":
        m = m.filter(m.fb_converted)
    cols: dict[str, ir.Value] = {
        "meeting_id": m.meeting_id, "booked": m.fb_booked, "contact_id": m.fb_contact,
        "account_id": m.fb_account, "status": m.fb_status}
    cols.update({d: m[d] for d in shown if d in m.columns and d not in cols})
    cols["opportunity_in_window"] = m.fb_converted
    days = int(engine.settings.demo_to_opportunity_days)
    return m.select(**cols), [f"A demo counts once it is {days} days old; younger demos are "
                              "not judged yet and are not listed."]


# -- self-reported source --------------------------------------------------------------------

@lists("mk_mix", sides={"numerator": "contacts with the answer",
                        "denominator": "contacts created (with an answer, by answer)"})
def mix_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Contacts created in the cell: the numerator those that answered "how did you hear about
    us" (the cell's answer, when broken down by it); the denominator the contacts created, or,
    broken down by answer, those that gave any answer."""
    from funnelboard.metrics import marketing as mk

    col = mk.MIX_COLUMN
    shown = _shown(query, "channel")
    q = query.replace(start=start, end=end, by=shown)
    c = mk.mix_contacts(engine, q)
    answers = mk.mix_answers(c, q)
    if side == "numerator":
        t = answers
    elif col in query.by:
        # a row per answer given: a cell whose answer nobody gave has no row, so 0 ÷ 0
        t = c.filter(c[col].notnull(), answers.count().as_scalar() > 0)
    else:
        t = c
    cols: dict[str, ir.Value] = {"contact_id": t.contact_id, "created": t.created,
                                 col: t[col]}
    cols.update({d: t[d] for d in shown if d in t.columns and d not in cols})
    return t.select(**cols), []


# -- MQL follow-up ---------------------------------------------------------------------------

@lists("mk_follow_up", "hours", sides={"numerator": "MQLs followed up (the median is taken "
                                                    "over their hours)"})
@lists("mk_follow_up", "sla", sides={"numerator": "MQLs followed up within the SLA",
                                     "denominator": "MQLs judged (met, or deadline passed)"})
def follow_up_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                      end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """MQLs whose first mql entry falls in the cell, with their first follow-up and the hours
    between: for the median those followed up; for the SLA rate those followed up within the
    SLA (numerator) and those judged (denominator: met, or past their deadline)."""
    from funnelboard.metrics import marketing as mk

    shown = _shown(query, "channel")
    q = query.replace(start=start, end=end, by=shown)
    sla = float(engine.settings.mql_sla_hours)
    c = mk.sla_judgement(mk.follow_ups(engine, metric, q), sla, q.as_of)
    notes: list[str] = []
    if metric.params.get("sla"):
        c = c.filter(c.fb_met if side == "numerator" else c.fb_judged)
        notes.append(f"The SLA is {sla:g} hours (setting funnel.mql_sla_hours). MQLs still "
                     "inside their deadline at the as-of date are pending and not listed.")
    else:
        c = c.filter(c.fb_hours.notnull())
        notes.append("MQLs not followed up by the as-of date are not listed; the number is the "
                     "median of the hours column.")
    cols: dict[str, ir.Value] = {"contact_id": c.contact_id, "mql_at": c.e_mql,
                                 "followed_up_at": c.f_first, "hours": c.fb_hours.round(2),
                                 "within_sla": c.fb_met}
    cols.update({d: c[d] for d in shown if d in c.columns})
    return c.select(**cols), notes
