"""Unit economics: the cost rows, new customers, deals and MRR months behind CAC, CAC
payback, paid CAC, marketing ROI, pipeline to spend, campaign ROI and profit.

Every number here is a sum in the reporting currency (or a count of new customers), so the
records carry :data:`~funnelboard.metrics.drill.registry.COUNTED`: each record's part of the
number. A difference (ROI's gross profit − cost, profit's revenue − cost) lists both kinds of
records in one table, the subtracted ones with a negative part, so the column still adds up
to the number shown.

LTV : CAC has no lister: it is LTV (a formula of ARPA, margin and churn) ÷ CAC, a ratio of
two metrics rather than of records; drill into CAC and the MRR metrics instead.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import pipeline as deals_mod
from funnelboard.metrics import revenue as rev
from funnelboard.metrics.drill.pipeline import deal_columns
from funnelboard.metrics.drill.registry import COUNTED, lists, record_key
from funnelboard.metrics.engine import Engine, Window
from funnelboard.metrics.money import AMOUNT
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef, resolve

_COSTS = "marketing and sales cost rows"
_NEW_CUSTOMERS = "new customers (their first paying month)"
_MARKETING_COST = "marketing cost rows"
_COST_NOTE = ("Cost rows are shown in the reporting currency (ad spend converted at the rate "
              "of its day); a row without an exchange rate is left out, as in the number.")
_DEAL_NOTE = ("Deal amounts are shown as recorded; counted is the amount in the reporting "
              "currency (closed deals at the rate of their close date, open ones at the as-of "
              "date); a deal whose currency has no rate counts nothing, as in the number.")
_MINUS_NOTE = "Subtracted records (costs) count negatively, so counted adds up to the number."


@lists("cac", "cac", sides={"numerator": _COSTS, "denominator": _NEW_CUSTOMERS})
@lists("cac", "payback", sides={
    "numerator": _COSTS,
    "denominator": "new customers, their new MRR × gross margin"})
def cac_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Numerator: the marketing and sales cost rows of the cell. Denominator: the accounts
    whose first paying month ever is in the cell (reactivated accounts are not new), each
    counted once for CAC, by its new MRR × gross margin for CAC payback."""
    notes: list[str] = []
    q = _whole_months(query, start, end)
    if side == "numerator":
        c = rev.cost_records(engine, q, notes, ("marketing", "sales"))
        return _cost_side(engine, c, 1), [*notes, _COST_NOTE]
    t = _new_customers(engine, q.replace(by=(), filters=()), notes)
    if metric.params.get("calc") == "payback":
        margin = engine.settings.gross_margin
        notes.append(f"Each new customer counts by its new MRR × the gross margin ({margin:g}).")
        return _customer_columns(t, counted=t.new_mrr * margin), notes
    return _customer_columns(t), notes


@lists("paid_cac", sides={"numerator": "ad spend rows of the paid channels",
                          "denominator": "new customers from the paid channels"})
def paid_cac_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                     end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The paid channels of the cell are those with ad spend in it (after the channel
    filter); numerator: their ad spend rows; denominator: the new customers whose account
    channel is one of them."""
    notes: list[str] = []
    q = _whole_months(query, start, end)
    spend = rev.cost_records(engine, q.replace(filters=()), notes, ("marketing",),
                             only=rev.is_ad_spend)
    wanted = query.filter_map.get("channel")
    if wanted is not None:
        spend = spend.filter(_is_wanted(spend.channel, wanted))
    # the paid channels are few: asked once, they keep the record queries small
    totals = spend.group_by("channel").aggregate(fb_total=spend.amount.sum())
    paid = tuple(NONE_LABEL if r["channel"] is None else str(r["channel"])
                 for r in engine.execute(totals.filter(totals.fb_total != 0)))
    if side == "numerator":
        spend = spend.filter(_is_wanted(spend.channel, paid))
        return _cost_side(engine, spend, 1), [*notes, _COST_NOTE]
    t = _new_customers(engine, q.replace(by=("channel",), filters=()), notes)
    t = t.filter(_is_wanted(t.channel, paid))
    return _customer_columns(t, channel=True), notes


@lists("roi", "roi", sides={
    "numerator": "marketing-sourced won deals × gross margin, less marketing cost rows",
    "denominator": _MARKETING_COST})
@lists("roi", "pipeline_to_spend", sides={
    "numerator": "marketing-sourced opportunities created", "denominator": _MARKETING_COST})
def roi_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Denominator: the marketing cost rows of the cell. Numerator of marketing ROI: the
    marketing-sourced deals won in the cell (amount × gross margin) and, negatively, the
    marketing cost rows; of pipeline to spend: the marketing-sourced opportunities created in
    the cell."""
    notes: list[str] = []
    q = _whole_months(query, start, end).replace(by=(), filters=())
    cost = rev.cost_records(engine, q, notes, ("marketing",))
    if side == "denominator":
        return _cost_side(engine, cost, 1), [*notes, _COST_NOTE]
    if metric.params.get("calc") == "pipeline_to_spend":
        created = _created_deals(engine, "marketing_sourced_pipeline", q, notes)
        return deal_columns(created, q, **{COUNTED: created[AMOUNT]}), [*notes, _DEAL_NOTE]
    won = _won_deals(engine, "marketing_sourced_revenue", q, notes)
    records = _deal_side(won, engine.settings.gross_margin).union(_cost_side(engine, cost, -1))
    notes.append(f"Won deals count by their amount × the gross margin "
                 f"({engine.settings.gross_margin:g}).")
    return records, [*notes, _DEAL_NOTE, _COST_NOTE, _MINUS_NOTE]


@lists("campaign_roi", sides={
    "numerator": "won deals of the campaigns, less the campaigns' cost",
    "denominator": "cost of the campaigns (cost rows, else campaigns.cost)"})
def campaign_roi_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                         start: dt.date, end: dt.date, side: str
                         ) -> tuple[ir.Table, list[str]]:
    """Denominator: the cost rows tagged with a campaign, and the ``campaigns.cost`` of
    campaigns without such rows, in the cell. Numerator: the deals won in the cell with a
    campaign, and, negatively, that cost."""
    notes: list[str] = []
    q = _whole_months(query, start, end)
    itemised, lump = rev.campaign_costs(engine, q, notes)
    cost = _cost_side(engine, itemised, 1 if side == "denominator" else -1).union(
        _campaign_cost_side(engine, lump, 1 if side == "denominator" else -1))
    if side == "denominator":
        return cost, [*notes, _COST_NOTE]
    won = _won_deals(engine, "bookings", q, notes, by=("campaign",), filters=query.filters)
    won = won.filter(won.campaign.notnull())
    return _deal_side(won, 1.0).union(cost), [*notes, _DEAL_NOTE, _COST_NOTE, _MINUS_NOTE]


@lists("profit", sides={"numerator": "MRR of the period's months, less every cost row"})
def profit_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                   end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The accounts' MRR months of the cell (revenue) and, negatively, every cost row of the
    cell, all teams. Months at 0 MRR add nothing and are not listed."""
    notes: list[str] = []
    q = _whole_months(query, start, end)
    g = rev.mrr_grid(engine, q, notes, ()).table
    g = g.filter(g.mrr.isnull() | (g.mrr != 0))
    c = rev.cost_records(engine, q, notes, rev.ALL_TEAMS)
    return _mrr_side(engine, g).union(_cost_side(engine, c, -1)), [*notes, _COST_NOTE,
                                                                    _MINUS_NOTE]


# -- the records each side is made of ----------------------------------------------------------

def _whole_months(query: MetricQuery, start: dt.date, end: dt.date) -> MetricQuery:
    """The cell as a query: monthly metrics cover whole months, so a cell that starts mid-month
    (a range starting mid-month) starts on the first of its month, as in the number."""
    if query.grain not in rev.MONTHLY_GRAINS:
        raise UsageError(f"'{query.metric}' is computed from monthly data; drill into a cell "
                         "of a month, quarter or year.")
    return query.replace(start=start.replace(day=1), end=end)


def _is_wanted(col: ir.StringValue, values: tuple[str, ...]) -> ir.BooleanValue:
    """The value is one of ``values``; ``(none)`` stands for an empty value."""
    keep = [v for v in values if v != NONE_LABEL]
    cond = col.isin(keep) if keep else ibis.literal(False)
    if NONE_LABEL in values or "" in values:
        cond = cond | col.isnull()
    return cond


def _new_customers(engine: Engine, query: MetricQuery, notes: list[str]) -> ir.Table:
    """The account-months of the grid where the account pays for the first time ever."""
    t = rev.new_logo_grid(engine, query, notes).table
    return t.filter(t.new_logo == 1)


def _customer_columns(t: ir.Table, *, channel: bool = False,
                      counted: ir.Value | None = None) -> ir.Table:
    """New customers: the account, its first paying month, its account channel (paid CAC),
    its new MRR (reporting currency) and, when they are summed, each one's part."""
    cols: dict[str, ir.Value] = {"account_id": t.account_id, "first_paying_month": t.month}
    if channel:
        cols["channel"] = t.channel
    cols["new_mrr"] = t.new_mrr
    if counted is not None:
        cols[COUNTED] = counted
    return t.select(**cols)


def _won_deals(engine: Engine, key: str, query: MetricQuery, notes: list[str], *,
               by: tuple[str, ...] = (), filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
               ) -> ir.Table:
    """The won deals the pipeline metric ``key`` (bookings, marketing-sourced revenue) sums,
    as :func:`~funnelboard.metrics.revenue.pipeline_rows` runs it, amounts converted."""
    q = query.replace(metric=key, by=by, filters=filters, compare=None)
    return deals_mod.won_deals(engine, resolve(key, engine.settings), q, notes)


def _created_deals(engine: Engine, key: str, query: MetricQuery, notes: list[str]
                   ) -> ir.Table:
    """The opportunities the marketing-sourced pipeline metric ``key`` sums, amounts
    converted."""
    metric = resolve(key, engine.settings)
    q = query.replace(metric=key, compare=None)
    t = deals_mod.filtered(deals_mod.deals(engine, q, source=True), q)
    t = t.filter(Window.of(q).contains(t.created_day))
    if metric.params.get("marketing"):
        t = t.filter(t.source_type == "marketing")
    return deals_mod.in_currency(engine, t, q, notes, "opportunities")


def _text(value: ir.Value | str | None) -> ir.StringValue:
    if value is None or isinstance(value, str):
        return ibis.literal(value, type="string")
    return value.cast("string")


def _record(record_id: ir.Value, record: ir.Value | str, day: ir.Value, *,
            account: ir.Value | None = None, channel: ir.Value | None = None,
            campaign: ir.Value | None = None, team: ir.Value | None = None,
            category: ir.Value | None = None, amount: ir.Value, currency: ir.Value | str,
            counted: ir.Value) -> dict[str, ir.Value]:
    """One layout for every money record, so the two kinds of a difference share a table."""
    return {"record_id": _text(record_id), "record": _text(record), "date": day.cast("date"),
            "account_id": _text(account), "channel": _text(channel),
            "campaign": _text(campaign), "team": _text(team), "category": _text(category),
            "amount": amount.cast("float64"), "currency": _text(currency),
            COUNTED: counted.cast("float64")}


def _cost_side(engine: Engine, c: ir.Table, sign: int) -> ir.Table:
    """Cost rows (from :func:`~funnelboard.metrics.revenue.cost_records`), their amount
    counted with ``sign``. A cost row has no id: its source, day and keys name it."""
    record_id = record_key(c.source, c.fb_day, c.team, c.category, c.channel, c.campaign)
    kind = ibis.ifelse(c.source == "ad_performance", "ad spend", "cost row")
    return c.select(**_record(record_id, kind, c.fb_day, channel=c.channel,
                              campaign=c.campaign, team=c.team, category=c.category,
                              amount=c.amount, currency=engine.settings.reporting_currency,
                              counted=c.amount * sign))


def _campaign_cost_side(engine: Engine, lump: ir.Table, sign: int) -> ir.Table:
    """``campaigns.cost`` of campaigns without itemised cost rows (from
    :func:`~funnelboard.metrics.revenue.campaign_costs`)."""
    return lump.select(**_record("campaigns:" + lump.campaign, "campaign cost", lump.k_day,
                                 campaign=lump.campaign, amount=lump.k_cost,
                                 currency=engine.settings.reporting_currency,
                                 counted=lump.k_cost * sign))


def _deal_side(t: ir.Table, factor: float) -> ir.Table:
    """Won deals (amounts converted), counted by their converted amount × ``factor``."""
    return t.select(**_record(
        t.oid, "won deal", t.close_date, account=t.o_account,
        channel=t.channel if "channel" in t.columns else None,
        campaign=t.campaign if "campaign" in t.columns else None,
        amount=t.amount, currency=t.currency, counted=t[AMOUNT] * factor))


def _mrr_side(engine: Engine, g: ir.Table) -> ir.Table:
    """Account-months of the MRR grid, counted by their MRR (reporting currency)."""
    record_id = "mrr:" + g.account_id + ":" + g.month.cast("string")
    return g.select(**_record(record_id, "MRR month", g.month, account=g.account_id,
                              amount=g.mrr, currency=engine.settings.reporting_currency,
                              counted=g.mrr))
