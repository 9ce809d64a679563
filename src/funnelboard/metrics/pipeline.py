"""Pipeline and revenue metrics (metrics.md §4): opportunities and pipeline created, open and
weighted pipeline, coverage, bookings, win rates, deal size, ACV and deal velocity.

Every metric here reads the ``opportunities`` table through :func:`deals`, which gives one row
per opportunity created on or before the as-of date with its derived fields
(data-contract.md, "Derived semantics"):

* **status** from ``is_closed`` / ``is_won``, never from stage names. A deal that is closed
  now closed on the day its stage history entered its current (closing) stage, else on its
  close date; at any earlier day it was open. So a past as-of date or period end sees the
  deal as it was then;
* **stage at a day**: the last ``opportunity_stages`` entry on or before that day; a deal
  without history there keeps its current stage while it is open;
* **probability**: the row's while the deal sits in its current stage, else the configured
  default of the stage it was in (``settings.opportunity_stages``);
* **source_type**: the stored one, else derived from the primary contact's motion (inbound →
  marketing, outbound → sales, no contact → other) and flagged as derived;
* **channel** the deal's, else its primary contact's; **segment** the deal's, else its
  account's; **region** the account's, else the contact's;
* **amounts** in the reporting currency (:mod:`funnelboard.metrics.money`): closed deals at
  their close date, open deals at the as-of date (a stock: at each period end). A missing
  exchange rate leaves the deal out of sums, with a note.

Flows (created, bookings, win rates, …) are bucketed by the creation or close date; stocks
(open and weighted pipeline, sales velocity) are evaluated at each period's end (or the as-of
date for the running period), never summed over the periods inside it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.dimensions import contact_dimensions
from funnelboard.metrics.engine import Engine, Window, compiler
from funnelboard.metrics.funnel import days_between
from funnelboard.metrics.money import AMOUNT, in_reporting_currency
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef, register

#: Breakdown dimensions of an opportunity.
DEAL_DIMENSIONS = ("type", "source_type", "channel", "campaign", "segment", "region",
                   "industry", "icp_tier", "is_target_account", "owner", "competitor")
#: Dimensions read from the deal's account.
_ACCOUNT_DIMS = ("segment", "region", "industry", "icp_tier", "is_target_account")
#: How many stale deals (or deals without a term) a result row lists in ``extra``.
LIST_LIMIT = 50
#: Trailing window of sales velocity, and of the historical win rate of pipeline coverage.
VELOCITY_DAYS = 90
HISTORY_DAYS = 365
COVERAGE_BAR = 3.0


# -- small helpers ------------------------------------------------------------------------------

def _text(col: ir.Value) -> ir.StringValue:
    """Stored text without surrounding spaces; empty reads as NULL."""
    return col.cast("string").strip().nullif("")


def _slug(col: ir.Value) -> ir.StringValue:
    """A stage name as the settings spell it (``Closed Won`` → ``closed_won``)."""
    s = col.cast("string").lower().re_replace(r"[^\p{L}\p{N}]+", "_")
    return s.re_replace(r"^_+|_+$", "").nullif("")


def _bucket(day: ir.DateValue, engine: Engine, query: MetricQuery) -> ir.DateValue:
    s = engine.settings
    return periods.bucket(day, query.grain, fiscal_start=s.fiscal_year_start_month,
                          week_start=s.week_start)


def _start_of(day: dt.date, engine: Engine, query: MetricQuery) -> dt.date:
    s = engine.settings
    return periods.period_start(day, query.grain, fiscal_start=s.fiscal_year_start_month,
                                week_start=s.week_start)


def _dim(value: Any) -> Any:
    return None if value is None or value == "" else value


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int:
    return int(value or 0)


def _div(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def filtered(t: ir.Table, query: MetricQuery) -> ir.Table:
    """``t`` with the query's filters applied (the drill-down uses the metrics' own)."""
    return _filter(t, query)


def _filter(t: ir.Table, query: MetricQuery, only: Iterable[str] | None = None) -> ir.Table:
    """Filters of the query (values of one dimension ORed, dimensions ANDed; ``(none)`` is
    empty), limited to the dimensions in ``only`` when given."""
    keep_dims = set(only) if only is not None else None
    for dim, values in query.filters:
        if keep_dims is not None and dim not in keep_dims:
            continue
        wanted = [v for v in values if v != NONE_LABEL]
        cond = t[dim].isin(wanted) if wanted else ibis.literal(False)
        if NONE_LABEL in values or "" in values:
            cond = cond | t[dim].isnull()
        t = t.filter(cond)
    return t


def _keys(row: dict[str, Any], query: MetricQuery) -> dict[str, Any]:
    return {d: _dim(row[d]) for d in query.by}


def _need_stage(metric: MetricDef, query: MetricQuery) -> None:
    if "stage" not in query.by:
        raise UsageError(f"'{metric.key}' is computed per opportunity stage; add --by stage "
                         "(with other dimensions if you like).")


def slug(text: str) -> str:
    """:func:`_slug` in Python, for the stage names of the settings."""
    return re.sub(r"[\W_]+", "_", text.lower()).strip("_")


def configured_stages(engine: Engine) -> dict[str, float]:
    """``settings.opportunity_stages`` keyed by slug, in their configured order."""
    return {slug(k): float(p) for k, p in engine.settings.opportunity_stages.items()}


def default_probability(engine: Engine, stage: ir.StringValue) -> ir.FloatingValue:
    """The configured default probability of a stage (NULL for an unknown stage)."""
    pairs = [(stage == key, p) for key, p in configured_stages(engine).items()]
    if not pairs:
        return ibis.null().cast("float64")
    return ibis.cases(*pairs, else_=ibis.null().cast("float64"))


# -- the deal table -----------------------------------------------------------------------------

def stage_entries(engine: Engine) -> ir.Table:
    """``opportunity_stages`` as ``h_oid``, ``h_stage`` (slug) and ``h_at``: what callers
    read when they do not need the next entry (see :func:`history`).

    An entry without an opportunity id has ``h_oid`` NULL and is kept: every caller joins
    the entries to deals on the (never NULL) deal id, so it matches none, and filtering it
    out here would trim every id twice (DuckDB pushes the filter into the scan), a third of
    the win rate's query time."""
    h = engine.table("opportunity_stages")
    h = h.select(h_oid=_text(h.opportunity_id), h_stage=_slug(h.stage), h_at=h.entered_at)
    return h.filter(h.h_at.notnull())


def history(engine: Engine) -> ir.Table:
    """:func:`stage_entries` with ``h_next`` (the deal's next entry, NULL for its last).

    The window behind ``h_next`` sorts all of ``opportunity_stages`` and DuckDB computes it
    even when no column of the result reads it, so only the callers that need the next entry
    (time in stage, the stage at a past day) take this table."""
    h = stage_entries(engine)
    order = ibis.window(group_by=h.h_oid, order_by=[h.h_at, h.h_stage])
    return h.mutate(h_next=h.h_at.lead().over(order))


def deals(engine: Engine, query: MetricQuery, *, source: bool = False,
          dims: Iterable[str] = ()) -> ir.Table:
    """One row per opportunity created on or before the as-of date (see the module
    docstring), with the dimensions the query needs (``source=True``: always
    ``source_type`` and ``st_derived``). Filters are *not* applied (see :func:`_filter`)."""
    want = set(query.by) | set(query.filter_map) | set(dims)
    if source:
        want.add("source_type")
    o = engine.table("opportunities")
    t = o.select(
        oid=_text(o.opportunity_id), created=o.created_at, created_day=o.created_at.date(),
        close_date=o.close_date, amount=o.amount.cast("float64"), currency=o.currency,
        o_account=_text(o.account_id), o_contact=_text(o.contact_id),
        stage_now=_slug(o.stage),
        closed_now=o.is_closed.fill_null(False) | o.is_won.fill_null(False),
        won_now=o.is_won.fill_null(False), row_prob=o.probability.cast("float64"),
        term=o.term_months.cast("int64"),
        # only the deal's own dimensions the query reads: a smaller expression compiles faster
        **{f"o_{d}": _text(o[column]) for d, column in _OWN_DIMS.items() if d in want})
    t = t.filter(t.oid.notnull(), t.created_day <= ibis.literal(query.as_of))
    # when a deal that is closed now closed: its stage history's entry into its current
    # (closing) stage, else its close date (else its creation: never open)
    h = stage_entries(engine)
    last = h.group_by("h_oid").aggregate(last_at=h.h_at.max(),
                                         last_stage=h.h_stage.argmax(h.h_at))
    t = t.left_join(last, t.oid == last.h_oid)
    by_history = t.closed_now & (t.last_stage == t.stage_now).fill_null(False)
    t = t.mutate(
        has_history=t.h_oid.notnull(),
        closed_day=ibis.cases(
            (by_history, t.last_at.date()),
            (t.closed_now, t.close_date.coalesce(t.created_day)),
            else_=ibis.null().cast("date")))
    t = t.drop("h_oid", "last_at", "last_stage")
    cols: dict[str, ir.Value] = {}
    if want & set(_ACCOUNT_DIMS):
        a = engine.table("accounts")
        a = a.select(a_id=_text(a.account_id), **{f"a_{d}": _text(a[d]) for d in _ACCOUNT_DIMS})
        t = t.left_join(a, t.o_account == a.a_id)
    contact_need = ({"channel", "region"} & want) | ({"motion"} if "source_type" in want
                                                      else set())
    if contact_need:
        c = contact_dimensions(engine, MetricQuery(metric="opportunities_created",
                                                   as_of=query.as_of,
                                                   by=tuple(sorted(contact_need))))
        c = c.select(c_id=_text(c.contact_id),
                     **{f"c_{d}": _text(c[d]) for d in sorted(contact_need)})
        t = t.left_join(c, t.o_contact == c.c_id)
    if "type" in want:
        cols["type"] = t.o_type
    if "source_type" in want:
        derived = ibis.cases((t.c_id.isnull(), "other"), (t.c_motion == "inbound", "marketing"),
                             (t.c_motion == "outbound", "sales"), else_="other")
        cols["source_type"] = t.o_source_type.coalesce(derived)
        cols["st_derived"] = t.o_source_type.isnull()
    if "channel" in want:
        cols["channel"] = t.o_channel.coalesce(t.c_channel)
    if "campaign" in want:
        cols["campaign"] = t.o_campaign
    if "segment" in want:
        cols["segment"] = t.o_segment.coalesce(t.a_segment)
    if "region" in want:
        cols["region"] = t.a_region.coalesce(t.c_region)
    for d in ("industry", "icp_tier", "is_target_account"):
        if d in want:
            cols[d] = t[f"a_{d}"]
    if "owner" in want:
        cols["owner"] = t.o_owner
    if "competitor" in want:
        cols["competitor"] = t.o_competitor
    if "loss_reason" in want:
        cols["loss_reason"] = t.o_loss_reason
    # only what the metrics read: narrow tables keep the compiled SQL small
    return t.select(*_CORE, **cols)


#: Dimensions stored on the opportunity (the column of ``opportunities`` holding each);
#: :func:`deals` reads them as ``o_<dimension>``.
_OWN_DIMS = {"type": "type", "source_type": "source_type", "channel": "channel",
             "campaign": "campaign_id", "owner": "owner", "segment": "segment",
             "competitor": "competitor", "loss_reason": "loss_reason"}
_CORE = ("oid", "created", "created_day", "close_date", "amount", "currency", "o_account",
         "o_contact", "stage_now", "closed_now", "won_now", "row_prob", "term", "has_history",
         "closed_day")


def _closed_at(t: ir.Table, day: ir.DateValue | dt.date) -> ir.BooleanValue:
    """The deal had closed by the end of ``day``."""
    return t.closed_now & (t.closed_day <= day)


def in_currency(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str],
                what: str) -> ir.Table:
    """``t`` with :data:`AMOUNT`, each deal's amount in the reporting currency (the
    drill-down shows the same figure the metrics sum)."""
    return _in_currency(engine, t, query, notes, what)


def _in_currency(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str],
                 what: str) -> ir.Table:
    """Amounts in the reporting currency: closed deals (at the as-of date) at their close
    date, open ones at the as-of date."""
    as_of = ibis.literal(query.as_of)
    day = ibis.ifelse(_closed_at(t, query.as_of), t.close_date.coalesce(as_of), as_of)
    return in_reporting_currency(engine, t, "amount", "currency", day, notes, what)


def _source_note(notes: list[str], derived: int) -> None:
    if derived:
        notes.append(f"{_plural(derived, 'opportunity has', 'opportunities have')} no "
                     "source_type; it was derived from the primary contact's motion (inbound "
                     "→ marketing, outbound → sales, no contact → other) and is counted as "
                     "derived in extra.")


def tracks_source(metric: MetricDef, query: MetricQuery) -> bool:
    """Whether the metric needs the deals' source type (marketing-sourced forms, filters)."""
    return _tracks_source(metric, query)


def _tracks_source(metric: MetricDef, query: MetricQuery) -> bool:
    return bool(metric.params.get("marketing")) or "source_type" in query.by \
        or "source_type" in query.filter_map


# -- flows by creation date ---------------------------------------------------------------------

def _created(engine: Engine, metric: MetricDef, query: MetricQuery,
             notes: list[str]) -> list[dict[str, Any]]:
    """opportunities_created, pipeline_created and their marketing-sourced forms."""
    marketing = bool(metric.params.get("marketing"))
    money = bool(metric.params.get("amount"))
    tracked = _tracks_source(metric, query)
    t = _filter(deals(engine, query, source=tracked), query)
    t = t.filter(Window.of(query).contains(t.created_day))
    if marketing:
        t = t.filter(t.source_type == "marketing")
    if money:
        t = _in_currency(engine, t, query, notes, "opportunities")
    aggs: dict[str, ir.Value] = {"deals": t.count()}
    if money:
        aggs["amount"] = t[AMOUNT].sum()
        aggs["priced"] = t[AMOUNT].count()
    if tracked:
        aggs["derived"] = t.st_derived.cast("int64").sum()
    agg = t.group_by(period=_bucket(t.created_day, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(**aggs)
    rows, derived = [], 0
    for r in engine.execute(agg):
        extra: dict[str, Any] = {}
        if tracked:
            extra["derived_source_type"] = _int(r["derived"])
            derived += _int(r["derived"])
        value: float | int = (_num(r["amount"]) or 0.0) if money else _int(r["deals"])
        rows.append({"period": r["period"], **_keys(r, query), "value": value,
                     "numerator": None, "denominator": None,
                     "n": _int(r["priced"]) if money else _int(r["deals"]),
                     "extra": extra})
    _source_note(notes, derived)
    return rows


def new_business_created(engine: Engine, query: MetricQuery, notes: list[str], *,
                         count_untyped: bool = True) -> ir.Table:
    """The new-business deals created in the query window (filtered, with ``source_type``
    and :data:`AMOUNT`): what marketing_pipeline_share divides, and its drill-down lists.
    ``count_untyped``: note how many deals have no type (one more query)."""
    t = _filter(deals(engine, query, source=True, dims=("type",)), query)
    t = t.filter(Window.of(query).contains(t.created_day))
    untyped = engine.execute(t.filter(t.type.isnull()).aggregate(n=lambda x: x.count())) \
        if count_untyped else []
    if untyped and untyped[0]["n"]:
        notes.append(f"{_plural(int(untyped[0]['n']), 'opportunity has', 'opportunities have')}"
                     " no type and are not counted as new business.")
    t = t.filter(t.type == "new_business")
    return _in_currency(engine, t, query, notes, "new-business opportunities")


def _share(engine: Engine, metric: MetricDef, query: MetricQuery,
           notes: list[str]) -> list[dict[str, Any]]:
    """marketing_pipeline_share: marketing-sourced ÷ all new-business pipeline created."""
    t = new_business_created(engine, query, notes)
    mkt = t.source_type == "marketing"
    agg = t.group_by(period=_bucket(t.created_day, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(
        num=t[AMOUNT].sum(where=mkt), den=t[AMOUNT].sum(), deals=t.count(),
        mkt_deals=t.count(where=mkt), derived=t.st_derived.cast("int64").sum())
    rows, derived = [], 0
    for r in engine.execute(agg):
        num, den = _num(r["num"]) or 0.0, _num(r["den"]) or 0.0
        derived += _int(r["derived"])
        rows.append({"period": r["period"], **_keys(r, query), "value": _div(num, den),
                     "numerator": num, "denominator": den, "n": _int(r["deals"]),
                     "extra": {"marketing_deals": _int(r["mkt_deals"]),
                               "derived_source_type": _int(r["derived"])}})
    _source_note(notes, derived)
    return rows


def cohort_deals(engine: Engine, metric: MetricDef, query: MetricQuery) -> ir.Table:
    """The deals created in the query window (filtered), with ``fb_won`` and ``fb_lost``:
    closed by the as-of date, won or lost (the cohort win rate's counts)."""
    t = _filter(deals(engine, query, source=_tracks_source(metric, query)), query)
    t = t.filter(Window.of(query).contains(t.created_day))
    closed = _closed_at(t, query.as_of)
    return t.mutate(fb_won=closed & t.won_now, fb_lost=closed & ~t.won_now)


def _cohort_win_rate(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> list[dict[str, Any]]:
    """won ÷ created by creation period; still open and lost (at the as-of date) in extra."""
    t = cohort_deals(engine, metric, query)
    agg = t.group_by(period=_bucket(t.created_day, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(
        created=t.count(), won=t.count(where=t.fb_won), lost=t.count(where=t.fb_lost))
    rows = []
    for r in engine.execute(agg):
        created, won, lost = _int(r["created"]), _int(r["won"]), _int(r["lost"])
        rows.append({"period": r["period"], **_keys(r, query), "value": _div(won, created),
                     "numerator": won, "denominator": created, "n": created,
                     "extra": {"won": won, "lost": lost, "still_open": created - won - lost}})
    return rows


# -- flows by close date ------------------------------------------------------------------------

def closed_deals(engine: Engine, metric: MetricDef, query: MetricQuery, *,
                 source: bool = False, dims: Iterable[str] = ()) -> ir.Table:
    """Deals closed (by the as-of date) with a close date in the query window, filtered."""
    t = deals(engine, query, source=source or _tracks_source(metric, query), dims=dims)
    t = _filter(t, query)
    return t.filter(_closed_at(t, query.as_of), t.close_date.notnull(),
                    Window.of(query).contains(t.close_date))


def won_deals(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> ir.Table:
    """The deals won with a close date in the query window (marketing-sourced ones for a
    marketing metric), filtered, with :data:`AMOUNT`: what bookings sums."""
    t = closed_deals(engine, metric, query)
    t = t.filter(t.won_now)
    if metric.params.get("marketing"):
        t = t.filter(t.source_type == "marketing")
    return _in_currency(engine, t, query, notes, "won deals")


def _bookings(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> list[dict[str, Any]]:
    """bookings / won_revenue / marketing_sourced_revenue: Σ amount of won deals."""
    tracked = _tracks_source(metric, query)
    t = won_deals(engine, metric, query, notes)
    aggs: dict[str, ir.Value] = {"amount": t[AMOUNT].sum(), "deals": t.count()}
    if tracked:
        aggs["derived"] = t.st_derived.cast("int64").sum()
    agg = t.group_by(period=_bucket(t.close_date, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(**aggs)
    rows, derived = [], 0
    for r in engine.execute(agg):
        extra = {"derived_source_type": _int(r["derived"])} if tracked else {}
        derived += _int(r["derived"]) if tracked else 0
        rows.append({"period": r["period"], **_keys(r, query),
                     "value": _num(r["amount"]) or 0.0, "numerator": None,
                     "denominator": None, "n": _int(r["deals"]), "extra": extra})
    _source_note(notes, derived)
    return rows


def no_decision_reasons(engine: Engine) -> list[str]:
    """``settings.no_decision_loss_reasons`` trimmed and lower-cased (compared that way)."""
    return sorted({r.strip().lower() for r in engine.settings.no_decision_loss_reasons
                   if r.strip()})


def decided_deals(engine: Engine, metric: MetricDef, query: MetricQuery,
                  notes: list[str]) -> ir.Table:
    """The deals closed with a close date in the query window (filtered), with
    ``fb_no_decision`` (lost for a "no decision" reason) and, for the amount win rate,
    :data:`AMOUNT` (deals without one left out): what the win rates count or sum."""
    reasons = no_decision_reasons(engine)
    t = closed_deals(engine, metric, query, dims=("loss_reason",) if reasons else ())
    if metric.params.get("amount"):
        t = _in_currency(engine, t, query, notes, "closed deals")
        t = t.filter(t[AMOUNT].notnull())
    nd = (~t.won_now & t.loss_reason.lower().isin(reasons)).fill_null(False) if reasons \
        else ibis.literal(False)
    return t.mutate(fb_no_decision=nd)


def _win_rate(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> list[dict[str, Any]]:
    """won ÷ (won + lost) among deals closed in the period: counts, or amounts. Lost deals
    with a "no decision" loss reason (settings) are left out of the denominator."""
    amounts = bool(metric.params.get("amount"))
    reasons = no_decision_reasons(engine)
    t = decided_deals(engine, metric, query, notes)
    counted = ~t.fb_no_decision
    aggs: dict[str, ir.Value] = {
        "won_n": t.count(where=t.won_now), "n": t.count(where=counted),
        "nd": t.count(where=t.fb_no_decision)}
    if amounts:
        aggs |= {"won": t[AMOUNT].sum(where=t.won_now), "closed": t[AMOUNT].sum(where=counted),
                 "nd_amount": t[AMOUNT].sum(where=t.fb_no_decision)}
    agg = t.group_by(period=_bucket(t.close_date, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(**aggs)
    rows, left_out = [], 0
    for r in engine.execute(agg):
        n, won_n, nd_n = _int(r["n"]), _int(r["won_n"]), _int(r["nd"])
        won, closed = (_num(r["won"]) or 0.0, _num(r["closed"]) or 0.0) if amounts else \
            (won_n, n)
        extra: dict[str, Any] = {"won": won_n, "lost": n - won_n}
        if amounts:
            extra = {**extra, "won_amount": won, "lost_amount": closed - won}
        if reasons:
            extra["no_decision"] = nd_n
            if amounts:
                extra["no_decision_amount"] = _num(r["nd_amount"]) or 0.0
            left_out += nd_n
        rows.append({"period": r["period"], **_keys(r, query), "value": _div(won, closed),
                     "numerator": won, "denominator": closed, "n": n, "extra": extra})
    if left_out:
        notes.append(f"Left out of the denominator: {_plural(left_out, 'lost deal', 'lost deals')}"
                     " with a \"no decision\" loss reason (settings "
                     "pipeline.no_decision_loss_reasons); extra.no_decision counts them.")
    return rows


def _loss_reasons(engine: Engine, metric: MetricDef, query: MetricQuery,
                  notes: list[str]) -> list[dict[str, Any]]:
    """Lost deals by close period (and loss_reason): count; amount in extra."""
    t = closed_deals(engine, metric, query)
    t = t.filter(~t.won_now)
    t = _in_currency(engine, t, query, notes, "lost deals")
    agg = t.group_by(period=_bucket(t.close_date, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(
        deals=t.count(), amount=t[AMOUNT].sum())
    return [{"period": r["period"], **_keys(r, query), "value": _int(r["deals"]),
             "numerator": None, "denominator": None, "n": _int(r["deals"]),
             "extra": {"amount": _num(r["amount"]) or 0.0}}
            for r in engine.execute(agg)]


def sized_deals(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> ir.Table:
    """The won deals (new business only, for ACV) with a close date in the query window and
    an amount in the reporting currency, filtered, with ``fb_value_12`` (the amount; for
    ACV annualised when the deal has a term) and ``fb_termed``: what the deal sizes
    average."""
    acv = metric.params.get("calc") == "acv"
    t = closed_deals(engine, metric, query, dims=("type",) if acv else ())
    t = t.filter(t.won_now)
    if acv:
        t = t.filter(t.type == "new_business")
    t = _in_currency(engine, t, query, notes, "won deals")
    t = t.filter(t[AMOUNT].notnull())
    termed = t.term.notnull() & (t.term > 0)
    value = ibis.ifelse(termed, t[AMOUNT] * 12 / t.term.cast("float64"), t[AMOUNT]) if acv \
        else t[AMOUNT]
    return t.mutate(fb_value_12=value, fb_termed=termed)


def _deal_size(engine: Engine, metric: MetricDef, query: MetricQuery,
               notes: list[str]) -> list[dict[str, Any]]:
    """avg_deal_size (mean won amount) and acv (mean annualised won new-business amount)."""
    acv = metric.params.get("calc") == "acv"
    t = sized_deals(engine, metric, query, notes)
    group = {"period": _bucket(t.close_date, engine, query), **{d: t[d] for d in query.by}}
    agg = t.group_by(**group).aggregate(total=t.fb_value_12.sum(), deals=t.count(),
                                        no_term=t.count(where=~t.fb_termed))
    untermed: dict[tuple[Any, ...], list[str]] = {}
    if acv:
        u = t.filter(~t.fb_termed)
        u = u.mutate(**group)
        rank = ibis.window(group_by=[u.period, *[u[d] for d in query.by]],
                           order_by=[u.close_date, u.oid])
        u = u.mutate(fb_rank=ibis.row_number().over(rank))
        u = u.filter(u.fb_rank < LIST_LIMIT).select("period", *query.by, "oid")
        for r in engine.execute(u):
            untermed.setdefault((r["period"], *[_dim(r[d]) for d in query.by]),
                                []).append(r["oid"])
    rows = []
    for r in engine.execute(agg):
        total, n = _num(r["total"]) or 0.0, _int(r["deals"])
        extra: dict[str, Any] = {}
        if acv:
            key = (r["period"], *[_dim(r[d]) for d in query.by])
            extra = {"no_term": _int(r["no_term"]),
                     "no_term_deals": sorted(untermed.get(key, []))}
        rows.append({"period": r["period"], **_keys(r, query), "value": _div(total, n),
                     "numerator": total, "denominator": n, "n": n, "extra": extra})
    return rows


# -- stocks at period ends ----------------------------------------------------------------------

def grid(engine: Engine, query: MetricQuery, first_day: dt.date | None, *,
         future: bool = False) -> list[tuple[dt.date, dt.date]]:
    """``(period start, day the stock is measured)`` of every period the query covers: the
    period's last day, or the window's end (as-of date) for the running period. With
    ``future``, periods after the as-of date up to ``query.end`` are kept too (measured on
    the as-of date)."""
    window = Window.of(query)
    if query.start is not None:
        first: dt.date | None = _start_of(query.start, engine, query)
    else:
        first = _start_of(first_day, engine, query) if first_day else None
    if first is None:
        return []
    last = _start_of(window.end, engine, query)
    if future and query.end is not None and query.end > query.as_of:
        last = _start_of(query.end, engine, query)
    return [(p, min(periods.period_end(p, query.grain), window.end))
            for p in periods.periods_between(first, last, query.grain)]


def _grid_table(cells: list[tuple[dt.date, dt.date]]) -> ir.Table:
    return ibis.memtable({"period": [p for p, _ in cells], "t_day": [d for _, d in cells]},
                         schema={"period": "date", "t_day": "date"})


def _first_created(engine: Engine, query: MetricQuery) -> dt.date | None:
    """The first local creation day of an opportunity (only needed without a start date)."""
    if query.start is not None:
        return query.start
    o = engine.table("opportunities")
    r = engine.execute(o.aggregate(first=o.created_at.min().date()))
    return r[0]["first"] if r else None


def open_deals(engine: Engine, query: MetricQuery, notes: list[str],
               cells: list[tuple[dt.date, dt.date]], *, source: bool = False) -> ir.Table:
    """One row per (period, open deal) of ``cells``: the deals open at the end of ``t_day``
    with ``stage_t`` (its stage then), ``prob_t`` (its probability then), ``from_history``
    and the amount in the reporting currency on ``t_day`` (:data:`AMOUNT`). Filters are
    applied (``stage`` is the stage at ``t_day``)."""
    t = _filter(deals(engine, query, source=source), query,
                only=[d for d in query.filter_map if d != "stage"])
    pm = _grid_table(cells)
    j = t.join(pm, [t.created_day <= pm.t_day,
                    t.closed_day.isnull() | (t.closed_day > pm.t_day)])
    h = history(engine)
    h = h.mutate(h_day=h.h_at.date(), h_next_day=h.h_next.date())
    # (an OR in the join condition makes DuckDB fall back to a nested-loop join: 50 s instead
    # of 2 s at 1M contacts; a far-future date for "no next entry" keeps it a hash join)
    no_next = ibis.literal(dt.date(9999, 12, 31))
    j = j.left_join(h, [j.oid == h.h_oid, h.h_day <= j.t_day,
                        h.h_next_day.fill_null(no_next) > j.t_day])
    in_current = ~j.closed_now & (j.h_stage == j.stage_now).fill_null(False)
    row_prob = j.row_prob.coalesce(default_probability(engine, j.stage_now))
    j = j.mutate(
        from_history=j.h_stage.notnull(),
        stage_t=ibis.ifelse(j.h_stage.notnull(), j.h_stage,
                            ibis.ifelse(j.closed_now, ibis.null().cast("string"),
                                        j.stage_now)),
        prob_t=ibis.cases((j.h_stage.notnull() & ~in_current,
                           default_probability(engine, j.h_stage)),
                          (~j.closed_now, row_prob),
                          else_=ibis.null().cast("float64")))
    j = j.mutate(stage=j.stage_t)
    j = _filter(j, query, only=["stage"])
    return in_reporting_currency(engine, j, "amount", "currency", j.t_day, notes,
                                 "open-deal amounts (at a period end)")


def _history_note(notes: list[str], used: int, total: int) -> None:
    if total:
        notes.append(
            f"Status and stage at each period end come from opportunity_stages where a deal "
            f"has history ({used} of {total} open deal-periods); otherwise from "
            "is_closed/is_won with the close date, and the deal's current stage.")


def _stale_lists(engine: Engine, j: ir.Table, query: MetricQuery
                 ) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """Up to :data:`LIST_LIMIT` stale deals (close date before the measuring day) per cell."""
    s = j.filter(j.close_date < j.t_day)
    rank = ibis.window(group_by=[s.period, *[s[d] for d in query.by]],
                       order_by=[s.close_date, s.oid])
    s = s.mutate(fb_rank=ibis.row_number().over(rank))
    s = s.filter(s.fb_rank < LIST_LIMIT).select("period", *query.by, "oid", "close_date",
                                                AMOUNT)
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in engine.execute(s.order_by(["period", "close_date", "oid"])):
        out.setdefault((r["period"], *[_dim(r[d]) for d in query.by]), []).append(
            {"opportunity_id": r["oid"], "close_date": r["close_date"],
             "amount": _num(r[AMOUNT])})
    return out


def _zero_filled(rows: list[dict[str, Any]], cells: list[tuple[dt.date, dt.date]],
                 query: MetricQuery, empty: Callable[[dt.date], dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """Every period × dimension combination present: a stock with nothing in it is 0."""
    index = {(r["period"], *[r[d] for d in query.by]): r for r in rows}
    combos = sorted({k[1:] for k in index}, key=lambda c: [(v is None, str(v)) for v in c]) \
        if query.by else [()]
    out = []
    for period, day in cells:
        for combo in combos:
            row = index.get((period, *combo))
            out.append(row if row is not None else {
                "period": period, **dict(zip(query.by, combo, strict=True)), **empty(day)})
    return out


def stage_win_rates(engine: Engine, query: MetricQuery,
                    cells: list[tuple[dt.date, dt.date]]) -> ir.Table:
    """Historical stage-to-win rates at each cell's measuring day ``t_day``: one row per
    (``r_period``, ``r_stage``) with ``r_won`` and ``r_closed`` — deals closed by ``t_day``
    (status as in :func:`deals`) with a close date in the :data:`HISTORY_DAYS` days to it
    (inclusive) whose ``opportunity_stages`` history entered the stage on or before it.
    Over all deals: the query's breakdown and filters do not change a stage's rate."""
    d = deals(engine, query.replace(by=(), filters=()))
    span = dt.timedelta(days=HISTORY_DAYS - 1)
    pm = ibis.memtable({"r_period": [p for p, _ in cells], "r_day": [t for _, t in cells],
                        "r_from": [t - span for _, t in cells]},
                       schema={"r_period": "date", "r_day": "date", "r_from": "date"})
    c = d.join(pm, [d.closed_now, d.closed_day <= pm.r_day, d.close_date >= pm.r_from,
                    d.close_date <= pm.r_day])
    h = stage_entries(engine)
    h = h.select(e_oid=h.h_oid, e_stage=h.h_stage, e_day=h.h_at.date())
    c = c.join(h, [c.oid == h.e_oid, h.e_day <= c.r_day])
    return c.group_by(r_period=c.r_period, r_stage=c.e_stage).aggregate(
        r_won=c.oid.nunique(where=c.won_now), r_closed=c.oid.nunique())


def _stage_rate_lists(engine: Engine, j: ir.Table, query: MetricQuery
                      ) -> dict[tuple[Any, ...], dict[str, dict[str, Any]]]:
    """Per cell: the historical rate of each stage its open deals were in."""
    s = j.filter(j.stage_t.notnull())
    agg = s.group_by(period=s.period, fb_stage=s.stage_t,
                     **{d: s[d] for d in query.by if d != "stage"}).aggregate(
        won=s.r_won.max(), closed=s.r_closed.max())
    out: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in engine.execute(agg):
        r = {**r, "stage": r["fb_stage"]}
        won, closed = _int(r["won"]), _int(r["closed"])
        out.setdefault(_target_keys(r, query), {})[r["fb_stage"]] = {
            "won": won, "closed": closed, "win_rate": _div(won, closed)}
    return out


def weighted_open_deals(engine: Engine, metric: MetricDef, query: MetricQuery,
                        notes: list[str], cells: list[tuple[dt.date, dt.date]]) -> ir.Table:
    """:func:`open_deals` of ``cells`` with ``fb_weight`` (the deal's probability then, or
    with ``probability="history"`` its stage's historical win rate) and ``fb_fallback``:
    what open and weighted pipeline sum."""
    j = open_deals(engine, query, notes, cells, source=_tracks_source(metric, query))
    if metric.params.get("calc") == "weighted_pipeline" and query.probability == "history":
        rates = stage_win_rates(engine, query, cells)
        j = j.left_join(rates, [j.period == rates.r_period, j.stage_t == rates.r_stage])
        return j.mutate(fb_weight=ibis.ifelse(
            j.r_closed.notnull(), j.r_won.cast("float64") / j.r_closed.cast("float64"),
            j.prob_t), fb_fallback=j.r_closed.isnull() & j.prob_t.notnull())
    return j.mutate(fb_weight=j.prob_t, fb_fallback=ibis.literal(False))


def _pipeline(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> list[dict[str, Any]]:
    """open_pipeline and weighted_pipeline at each period end (weighted by the CRM
    probability, or with ``probability="history"`` by the historical stage-to-win rate)."""
    weighted = metric.params.get("calc") == "weighted_pipeline"
    by_history = weighted and query.probability == "history"
    cells = grid(engine, query, _first_created(engine, query))
    if not cells:
        return []
    j = weighted_open_deals(engine, metric, query, notes, cells)
    stale = j.close_date < j.t_day
    priced = j[AMOUNT].notnull()
    agg = j.group_by(period=j.period, **{d: j[d] for d in query.by}).aggregate(
        amount=j[AMOUNT].sum(), weighted=(j[AMOUNT] * j.fb_weight).sum(),
        deals=j.count(where=priced), no_prob=j.count(where=priced & j.fb_weight.isnull()),
        fallback=j.count(where=priced & j.fb_fallback),
        stale=j.count(where=stale & priced), stale_amount=j[AMOUNT].sum(where=stale),
        hist=j.count(where=j.from_history), all_rows=j.count(), day=j.t_day.max())
    result = engine.execute(agg)
    _history_note(notes, sum(_int(r["hist"]) for r in result),
                  sum(_int(r["all_rows"]) for r in result))
    lists = _stale_lists(engine, j, query)
    used = _stage_rate_lists(engine, j, query) if by_history else {}
    rows = []
    for r in result:
        amount = _num(r["amount"]) or 0.0
        key = (r["period"], *[_dim(r[d]) for d in query.by])
        extra: dict[str, Any] = {
            "measured_on": r["day"], "stale": _int(r["stale"]),
            "stale_amount": _num(r["stale_amount"]) or 0.0,
            "stale_deals": lists.get(key, [])}
        if weighted:
            value = _num(r["weighted"]) or 0.0
            extra = {**extra, "unweighted": amount, "no_probability": _int(r["no_prob"])}
            if by_history:
                extra = {**extra, "probability": "history",
                         "crm_fallback": _int(r["fallback"]),
                         "stage_win_rates": used.get(key, {})}
        else:
            value = amount
        rows.append({"period": r["period"], **_keys(r, query), "value": value,
                     "numerator": None, "denominator": None, "n": _int(r["deals"]),
                     "extra": extra})
    no_prob = sum(_int(r["no_prob"]) for r in result)
    if weighted and no_prob:
        notes.append(f"{_plural(no_prob, 'open deal-period has', 'open deal-periods have')} no "
                     "probability (a stage not in settings.opportunity_stages, or a closed "
                     "deal without stage history for the time it was open) and add nothing "
                     "to weighted pipeline; they are counted in extra.no_probability.")
    if by_history:
        fallback = sum(_int(r["fallback"]) for r in result)
        notes.append(
            "Weighted by the historical stage-to-win rate: won ÷ (won + lost) among deals "
            f"closed in the {HISTORY_DAYS} days to each measuring day whose stage history "
            "entered the deal's stage (extra.stage_win_rates)."
            + (f" {_plural(fallback, 'open deal-period is', 'open deal-periods are')} in a "
               "stage without closed history and use the CRM probability "
               "(extra.crm_fallback)." if fallback else ""))
    if any(_int(r["stale"]) for r in result):
        notes.append("Open pipeline includes stale deals (open, with a close date before the "
                     "period end); extra.stale_deals lists them.")

    def empty(day: dt.date) -> dict[str, Any]:
        extra: dict[str, Any] = {"measured_on": day, "stale": 0, "stale_amount": 0.0,
                                 "stale_deals": []}
        if weighted:
            extra = {**extra, "unweighted": 0.0, "no_probability": 0}
            if by_history:
                extra = {**extra, "probability": "history", "crm_fallback": 0,
                         "stage_win_rates": {}}
        return {"value": 0.0, "numerator": None, "denominator": None, "n": 0, "extra": extra}

    return _zero_filled(rows, cells, query, empty)


# -- targets, coverage and attainment -----------------------------------------------------------

_FINER = {"quarter": (("month", 3),), "year": (("quarter", 4), ("month", 12))}


def targets(engine: Engine, query: MetricQuery, notes: list[str], key: str = "bookings"
            ) -> dict[tuple[Any, ...], float]:
    """``{(period, *dimension values): target}`` from the ``targets`` rows of metric ``key``.

    A row of the query's grain whose ``period_start`` is the period's first day; else, for a
    quarter or a year, the sum of finer rows when they cover the whole period. Targets are
    set per total or per one dimension, so a breakdown by one dimension (or a filter on one
    value of one dimension) uses that dimension's rows.
    """
    by, fm = query.by, query.filter_map
    dim: str | None = None
    value: str | None = None
    if len(by) == 1 and all(d == by[0] for d in fm):
        dim = by[0]
    elif not by and len(fm) == 1 and len(next(iter(fm.values()))) == 1:
        dim, value = next(iter(fm.items()))[0], next(iter(fm.values()))[0]
    elif by or fm:
        notes.append(f"'{key}' targets are set in total or for one dimension; this breakdown "
                     "or filter has no target.")
        return {}
    if query.grain not in ("month", "quarter", "year"):
        notes.append(f"'{key}' targets are monthly, quarterly or yearly; a {query.grain} "
                     "has no target.")
        return {}
    tt = engine.table("targets")
    tt = tt.select(metric=_text(tt.metric), start=tt.period_start, grain=_slug(tt.grain),
                   dimension=_text(tt.dimension), dv=_text(tt.dimension_value),
                   target=tt.target.cast("float64"))
    tt = tt.filter(tt.metric == key)
    tt = tt.filter(tt.dimension == dim) if dim else tt.filter(tt.dimension.isnull())
    if value is not None:
        tt = tt.filter(tt.dv == value)
    finer = [g for g, _ in _FINER.get(query.grain, ())]
    period = _bucket(tt.start, engine, query)
    exact = (tt.grain == query.grain) & (tt.start == period)
    tt = tt.filter(exact | tt.grain.isin(finer) if finer else exact)
    agg = tt.group_by(period=_bucket(tt.start, engine, query), grain=tt.grain,
                      dv=tt.dv).aggregate(target=tt.target.sum(), rows=tt.count())
    found: dict[tuple[Any, ...], dict[str, tuple[float, int]]] = {}
    for r in engine.execute(agg):
        k = (r["period"], _dim(r["dv"])) if dim and value is None else (r["period"],)
        found.setdefault(k, {})[r["grain"]] = (float(r["target"]), int(r["rows"]))
    out: dict[tuple[Any, ...], float] = {}
    for k, by_grain in found.items():
        if query.grain in by_grain:
            out[k] = by_grain[query.grain][0]
            continue
        for g, count in _FINER.get(query.grain, ()):
            if g in by_grain and by_grain[g][1] == count:
                out[k] = by_grain[g][0]
                break
    return out


def _target_keys(r: dict[str, Any], query: MetricQuery) -> tuple[Any, ...]:
    return (r["period"], *[_dim(r[d]) for d in query.by])


def _won_by_period(engine: Engine, metric: MetricDef, query: MetricQuery,
                   notes: list[str]) -> dict[tuple[Any, ...], tuple[float, int]]:
    rows = _bookings(engine, metric, query, notes)
    return {_target_keys(r, query): (float(r["value"]), int(r["n"])) for r in rows}


def _attainment(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """bookings_target_attainment: bookings ÷ the bookings target of the period."""
    goal = targets(engine, query, notes)
    won = _won_by_period(engine, metric, query, notes)
    rows = []
    for k in sorted(set(goal) | set(won), key=lambda x: [(v is None, str(v)) for v in x]):
        booked, n = won.get(k, (0.0, 0))
        target = goal.get(k)
        rows.append({"period": k[0], **dict(zip(query.by, k[1:], strict=True)),
                     "value": _div(booked, target), "numerator": booked,
                     "denominator": target, "n": n, "extra": {"target": target}})
    if not goal:
        notes.append("No bookings target matches these periods; import targets rows with "
                     "metric 'bookings'.")
    return rows


def _historical_win_rate(engine: Engine, metric: MetricDef, query: MetricQuery,
                         notes: list[str]) -> dict[tuple[Any, ...], float | None]:
    """Amount-based closed win rate over the :data:`HISTORY_DAYS` days to the as-of date, per
    dimension combination (key without the period)."""
    start = query.as_of - dt.timedelta(days=HISTORY_DAYS - 1)
    q = query.replace(start=start, end=query.as_of, grain="year")
    t = closed_deals(engine, metric, q)
    t = _in_currency(engine, t, q, [], "closed deals")
    t = t.filter(t[AMOUNT].notnull())
    aggs = {"won": t[AMOUNT].sum(where=t.won_now), "closed": t[AMOUNT].sum()}
    agg = t.group_by(**{d: t[d] for d in query.by}).aggregate(**aggs) if query.by \
        else t.aggregate(**aggs)
    return {tuple(_dim(r[d]) for d in query.by): _div(_num(r["won"]) or 0.0, _num(r["closed"]))
            for r in engine.execute(agg)}


def open_closing(engine: Engine, query: MetricQuery, notes: list[str], first: dt.date,
                 last: dt.date) -> ir.Table:
    """The deals open on the as-of date (filtered, :data:`AMOUNT` on that day) with a close
    date from ``first`` to ``last``, with ``fb_stale`` (close date before the as-of date):
    the open pipeline pipeline_coverage sets against the target."""
    j = open_deals(engine, query, notes, [(first, query.as_of)])
    j = j.filter(j.close_date.notnull(), j.close_date >= first, j.close_date <= last)
    return j.mutate(fb_stale=j.close_date < ibis.literal(query.as_of))


def _coverage(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> list[dict[str, Any]]:
    """pipeline_coverage for the running period and the periods still to come (up to the
    query's end); attainment in extra for finished ones."""
    cells = grid(engine, query, _first_created(engine, query), future=True)
    if not cells:
        return []
    goal = targets(engine, query, notes)
    won = _won_by_period(engine, metric, query, notes)
    unfinished = [p for p, _ in cells if periods.period_end(p, query.grain) > query.as_of]
    open_in: dict[tuple[Any, ...], dict[str, Any]] = {}
    if unfinished:
        # deals open on the as-of date, by the period their close date falls in
        first, last = unfinished[0], periods.period_end(unfinished[-1], query.grain)
        j = open_closing(engine, query, notes, first, last)
        stale = j.fb_stale
        agg = j.group_by(period=_bucket(j.close_date, engine, query),
                         **{d: j[d] for d in query.by}).aggregate(
            amount=j[AMOUNT].sum(where=~stale), deals=j.count(where=~stale & j[AMOUNT].notnull()),
            stale=j.count(where=stale), stale_amount=j[AMOUNT].sum(where=stale))
        for r in engine.execute(agg):
            open_in[_target_keys(r, query)] = r
    history_rate = _historical_win_rate(engine, metric, query, notes) if unfinished else {}
    keys = set(goal) | set(won) | set(open_in)
    if not query.by:
        keys |= {(p,) for p, _ in cells}
    in_grid = {p for p, _ in cells}
    rows = []
    for k in sorted(keys, key=lambda x: [(v is None, str(v)) for v in x]):
        if k[0] not in in_grid:
            continue
        target = goal.get(k)
        booked, _ = won.get(k, (0.0, 0))
        dims = dict(zip(query.by, k[1:], strict=True))
        finished = periods.period_end(k[0], query.grain) <= query.as_of
        if finished:
            rows.append({"period": k[0], **dims, "value": None, "numerator": None,
                         "denominator": target, "n": 0,
                         "extra": {"finished": True, "bookings": booked, "target": target,
                                   "bookings_target_attainment": _div(booked, target)}})
            continue
        r = open_in.get(k, {})
        amount = _num(r.get("amount")) or 0.0
        rate = history_rate.get(k[1:])
        required = (1 / rate) if rate else None
        value = _div(amount, target)
        remaining = max(target - booked, 0.0) if target is not None else None
        rows.append({"period": k[0], **dims, "value": value, "numerator": amount,
                     "denominator": target, "n": _int(r.get("deals")),
                     "extra": {
                         "finished": False, "future": k[0] > query.as_of,
                         "measured_on": query.as_of, "target": target,
                         "booked_to_date": booked, "remaining_target": remaining,
                         "coverage_of_remaining": _div(amount, remaining),
                         "bar": COVERAGE_BAR,
                         "meets_bar": None if value is None else value >= COVERAGE_BAR,
                         "historical_win_rate": rate, "required_coverage": required,
                         "meets_required": None if value is None or required is None
                         else value >= required,
                         "stale_excluded": _int(r.get("stale")),
                         "stale_excluded_amount": _num(r.get("stale_amount")) or 0.0}})
    if any(r["extra"].get("finished") for r in rows):
        notes.append("A finished period has no coverage: its row shows "
                     "bookings_target_attainment (bookings ÷ target) in extra instead.")
    if any(p > query.as_of for p in unfinished):
        notes.append("Periods after the as-of date show the deals open on the as-of date whose "
                     "close date falls in them.")
    missing = [p for p in unfinished if not any(goal.get(k) for k in goal if k[0] == p)]
    if missing:
        named = ["the running period" if p <= query.as_of
                 else f"the {query.grain} starting {p.isoformat()}" for p in missing]
        notes.append(f"No bookings target for {', '.join(named)}; coverage needs a targets "
                     "row with metric 'bookings'.")
    return rows


# -- deal velocity ------------------------------------------------------------------------------

def _stage_days(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """Median days per stage: for each deal, the time between entering a stage and its next
    entry (summed when it entered the stage more than once), dated by its last exit."""
    j = stage_stays(engine, metric, query)
    agg = j.group_by(period=_bucket(j.exit_day, engine, query),
                     **{d: j[d] for d in query.by}).aggregate(
        value=j.days.median(), p75=j.days.quantile(0.75), n=j.count())
    order = list(configured_stages(engine))
    return [{"period": r["period"], **_keys(r, query), "value": _num(r["value"]),
             "numerator": None, "denominator": None, "n": _int(r["n"]),
             "extra": {"p75": _num(r["p75"]),
                       "order": order.index(r["stage"]) if r["stage"] in order else None}}
            for r in engine.execute(agg)]


def stage_stays(engine: Engine, metric: MetricDef, query: MetricQuery) -> ir.Table:
    """One row per (deal, ``stage``) the deal left in the query window (filtered): ``days``
    spent in the stage and ``exit_day``, the rows whose median is opportunity_stage_days."""
    _need_stage(metric, query)
    t = _filter(deals(engine, query), query, only=[d for d in query.filter_map if d != "stage"])
    h = history(engine)
    h = h.filter(h.h_next.notnull(), h.h_next.date() <= query.as_of)
    h = h.mutate(lag=days_between(engine, h.h_next, h.h_at))
    per = h.group_by(["h_oid", "h_stage"]).aggregate(days=h.lag.sum(), exit=h.h_next.max())
    j = per.join(t, per.h_oid == t.oid)
    j = j.mutate(stage=j.h_stage, exit_day=j.exit.date())
    j = _filter(j, query, only=["stage"])
    return j.filter(Window.of(query).contains(j.exit_day))


def _stage_conversion(engine: Engine, metric: MetricDef, query: MetricQuery,
                      notes: list[str]) -> list[dict[str, Any]]:
    """Per open stage: deals that reached the next stage (or won, after the last open stage)
    ÷ deals that reached this one, by the deal's creation period."""
    u = stage_reach(engine, metric, query, notes)
    u_closed = _closed_at(u, query.as_of)
    agg = u.group_by(period=_bucket(u.created_day, engine, query),
                     **{d: u[d] for d in query.by}).aggregate(
        den=u.count(), num=u.count(where=u.fb_on),
        lost=u.count(where=~u.fb_on & u_closed), order=u.fb_order.max(),
        next=u.fb_next.max())
    rows = []
    for r in engine.execute(agg):
        den, num, lost = _int(r["den"]), _int(r["num"]), _int(r["lost"])
        rows.append({"period": r["period"], **_keys(r, query), "value": _div(num, den),
                     "numerator": num, "denominator": den, "n": den,
                     "extra": {"next_stage": r["next"], "order": _int(r["order"]),
                               "lost": lost, "still_open": den - num - lost}})
    return rows


#: the deal columns a stage-conversion row carries besides its own (for the drill-down)
_REACH_DEAL = ("oid", "created", "created_day", "close_date", "amount", "currency",
               "stage_now", "closed_now", "closed_day", "won_now")


def stage_reach(engine: Engine, metric: MetricDef, query: MetricQuery, notes: list[str], *,
                count_left_out: bool = True) -> ir.Table:
    """One row per (deal created in the query window, open ``stage`` it reached), filtered:
    ``fb_on`` when it went on to the next stage (``fb_next``; after the last open stage:
    won). The rows opportunity_stage_conversion counts (denominator; numerator: ``fb_on``).
    ``count_left_out``: note how many deals have no stage history (one more query)."""
    _need_stage(metric, query)
    chain = [s for s, p in configured_stages(engine).items() if 0 < p < 1]
    if not chain:
        raise UsageError("settings.opportunity_stages has no open stage (a probability "
                         "between 0 and 1), so there is no stage to convert from.")
    t = _filter(deals(engine, query), query, only=[d for d in query.filter_map if d != "stage"])
    t = t.filter(Window.of(query).contains(t.created_day))
    h = stage_entries(engine)
    h = h.filter(h.h_at.date() <= query.as_of)
    seen = h.group_by("h_oid").aggregate(
        **{f"s_{i}": h.count(where=h.h_stage == s) > 0 for i, s in enumerate(chain)})
    left_out = engine.execute(t.filter(~t.has_history).aggregate(n=lambda x: x.count())) \
        if count_left_out else []
    if left_out and left_out[0]["n"]:
        notes.append(f"{_plural(int(left_out[0]['n']), 'deal has', 'deals have')} no stage "
                     "history (opportunity_stages) and are left out.")
    t = t.join(seen, t.oid == seen.h_oid)
    closed = _closed_at(t, query.as_of)
    won = closed & t.won_now
    # cumulative: a deal reached a stage when it entered it or any later one (won: all)
    reached = [won]
    for i in reversed(range(len(chain))):
        reached.insert(0, reached[0] | t[f"s_{i}"])
    parts = []
    for i, stage in enumerate(chain):
        part = t.mutate(stage=ibis.literal(stage), fb_order=ibis.literal(i),
                        fb_next=ibis.literal(chain[i + 1] if i + 1 < len(chain) else "won"),
                        fb_here=reached[i], fb_on=reached[i + 1])
        parts.append(part.select(*_REACH_DEAL, "stage", "fb_order", "fb_next", "fb_here",
                                 "fb_on", *[d for d in query.by if d != "stage"]))
    u = ibis.union(*parts)
    u = _filter(u, query, only=["stage"])
    return u.filter(u.fb_here)


def _demo_to_close(engine: Engine, metric: MetricDef, query: MetricQuery,
                   notes: list[str]) -> list[dict[str, Any]]:
    """Median days from the first demo booked for a won deal to its close date."""
    t = demo_closed_deals(engine, query)
    agg = t.group_by(period=_bucket(t.close_date, engine, query),
                     **{d: t[d] for d in query.by}).aggregate(
        value=t.days.median(), p75=t.days.quantile(0.75), n=t.count(),
        by_meeting=t.count(where=t.link == "meeting"),
        by_contact=t.count(where=t.link == "contact"),
        by_account=t.count(where=t.link == "account"))
    return [{"period": r["period"], **_keys(r, query), "value": _num(r["value"]),
             "numerator": None, "denominator": None, "n": _int(r["n"]),
             "extra": {"p75": _num(r["p75"]),
                       "linked_by": {"meeting": _int(r["by_meeting"]),
                                     "contact": _int(r["by_contact"]),
                                     "account": _int(r["by_account"])}}}
            for r in engine.execute(agg)]


def demo_closed_deals(engine: Engine, query: MetricQuery) -> ir.Table:
    """The won deals closed in the query window (filtered) that a demo led to, with
    ``demo_day`` (their earliest demo), ``link`` (how it was linked: meeting, contact or
    account) and ``days`` from it to the close date: the rows whose median is
    demo_to_close_days."""
    window_days = engine.settings.demo_to_opportunity_days
    m = engine.table("meetings")
    m = m.select(m_id=_text(m.meeting_id), m_day=m.booked_at.date(), m_kind=_slug(m.kind),
                 m_status=_slug(m.status), m_contact=_text(m.contact_id),
                 m_account=_text(m.account_id), m_opp=_text(m.opportunity_id))
    m = m.filter(m.m_kind == "demo", m.m_status.isnull() | (m.m_status != "canceled"),
                 m.m_day <= query.as_of)
    c = engine.table("contacts")
    c = c.select(mc_id=_text(c.contact_id), mc_account=_text(c.account_id))
    m = m.left_join(c, m.m_contact == c.mc_id)
    m = m.mutate(m_acc=m.m_account.coalesce(m.mc_account)).drop("mc_id", "mc_account")
    won = deals(engine, query)
    won = won.filter(_closed_at(won, query.as_of), won.won_now, won.close_date.notnull(),
                     won.close_date <= query.as_of)
    w = won.select(w_oid=won.oid, w_contact=won.o_contact, w_account=won.o_account,
                   w_close=won.close_date, w_created=won.created_day)
    # 1. the meeting names the deal it produced
    direct = m.filter(m.m_opp.notnull())
    d1 = direct.join(w, [direct.m_opp == w.w_oid, direct.m_day <= w.w_close])
    d1 = d1.select(d1.m_id, d1.m_day, f_oid=d1.w_oid, link=ibis.literal("meeting"))
    # 2./3. else the contact's, then the account's, next won deal: closed on or after the
    # booking, created no later than the demo→opportunity window after it
    rest = m.filter(m.m_opp.isnull())

    def next_won(src: ir.Table, col: str, wcol: str, label: str) -> ir.Table:
        j = src.join(w, [src[col] == w[wcol], w.w_close >= src.m_day,
                         w.w_created <= src.m_day + ibis.interval(days=window_days)])
        rank = ibis.window(group_by=j.m_id, order_by=[j.w_close, j.w_oid])
        j = j.mutate(fb_rank=ibis.row_number().over(rank))
        j = j.filter(j.fb_rank == 0)
        return j.select(j.m_id, j.m_day, f_oid=j.w_oid, link=ibis.literal(label))

    d2 = next_won(rest.filter(rest.m_contact.notnull()), "m_contact", "w_contact", "contact")
    rest = rest.anti_join(d2, rest.m_id == d2.m_id)
    d3 = next_won(rest.filter(rest.m_acc.notnull()), "m_acc", "w_account", "account")
    links = ibis.union(d1, d2, d3)
    first = links.group_by("f_oid").aggregate(demo_day=links.m_day.min(),
                                              link=links.link.argmin(links.m_day))
    t = _filter(won, query)
    t = t.join(first, t.oid == first.f_oid)
    t = t.filter(Window.of(query).contains(t.close_date))
    return t.mutate(days=t.close_date.delta(t.demo_day, unit="day").cast("float64"))


def _velocity(engine: Engine, metric: MetricDef, query: MetricQuery,
              notes: list[str]) -> list[dict[str, Any]]:
    """Sales velocity at each period end over the trailing :data:`VELOCITY_DAYS` days."""
    t = _filter(deals(engine, query, source=_tracks_source(metric, query)), query)
    cells = grid(engine, query, _first_created(engine, query))
    if not cells:
        return []
    t = _in_currency(engine, t, query, notes, "deals")
    span = dt.timedelta(days=VELOCITY_DAYS - 1)
    pm = ibis.memtable({"period": [p for p, _ in cells], "t_day": [d for _, d in cells],
                        "t_from": [d - span for _, d in cells]},
                       schema={"period": "date", "t_day": "date", "t_from": "date"})
    j = t.join(pm, [t.created_day <= pm.t_day,
                    (t.created_day >= pm.t_from) | (t.close_date >= pm.t_from)])
    created = j.created_day >= j.t_from
    closed = j.closed_now & j.close_date.between(j.t_from, j.t_day)
    won = closed & j.won_now
    cycle = j.close_date.delta(j.created_day, unit="day").cast("float64")
    agg = j.group_by(period=j.period, **{d: j[d] for d in query.by}).aggregate(
        created=j.count(where=created), won=j.count(where=won),
        lost=j.count(where=closed & ~j.won_now),
        won_amount=j[AMOUNT].sum(where=won), priced=j.count(where=won & j[AMOUNT].notnull()),
        cycle=cycle.quantile(0.5, where=won), day=j.t_day.max(), since=j.t_from.max())
    rows = []
    for r in engine.execute(agg):
        created_n, won_n, lost_n = _int(r["created"]), _int(r["won"]), _int(r["lost"])
        rate = _div(won_n, won_n + lost_n)
        size = _div(_num(r["won_amount"]), _int(r["priced"]))
        cycle_days = _num(r["cycle"])
        value = created_n * rate * size / cycle_days \
            if rate is not None and size is not None and cycle_days else None
        rows.append({"period": r["period"], **_keys(r, query), "value": value,
                     "numerator": None, "denominator": None, "n": created_n,
                     "extra": {"opportunities_created": created_n, "win_rate": rate,
                               "won": won_n, "lost": lost_n, "avg_deal_size": size,
                               "sales_cycle_days": cycle_days, "window_days": VELOCITY_DAYS,
                               "window_start": r["since"], "measured_on": r["day"]}})
    return rows


# -- registration -------------------------------------------------------------------------------

CALCS: dict[str, Callable[[Engine, MetricDef, MetricQuery, list[str]], list[dict[str, Any]]]] = {
    "created": _created, "share": _share, "cohort_win_rate": _cohort_win_rate,
    "bookings": _bookings, "win_rate": _win_rate, "loss_reasons": _loss_reasons,
    "avg_deal_size": _deal_size, "acv": _deal_size, "open_pipeline": _pipeline,
    "weighted_pipeline": _pipeline, "coverage": _coverage, "attainment": _attainment,
    "stage_days": _stage_days, "stage_conversion": _stage_conversion,
    "demo_to_close": _demo_to_close, "velocity": _velocity,
}


@compiler("pipeline")
def compile_pipeline(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> list[dict[str, Any]]:
    """Rows of a §4 metric (``params["calc"]`` names the computation)."""
    return CALCS[str(metric.params["calc"])](engine, metric, query, notes)


_MONEY = ("Amounts are in the reporting currency: closed deals at the rate of their close "
          "date, open deals at the as-of date; a deal whose currency has no rate is left out, "
          "with a note.")
_SOURCE = ("source_type is the stored value, else derived from the primary contact's motion "
           "(inbound → marketing, outbound → sales, no contact → other; counted as derived "
           "in extra).")
_STATUS = ("Status comes from is_closed/is_won, never from stage names; a deal that is closed "
           "now was open until the day its stage history entered its closing stage (else "
           "its close date).")


def _def(key: str, label: str, group: str, unit: str, direction: str, aggregation: str,
         leading: bool, time_basis: str, definition: str, calc: str,
         dimensions: tuple[str, ...] = DEAL_DIMENSIONS, **params: object) -> None:
    register(MetricDef(key, label, group, "pipeline", unit, direction, aggregation, leading,
                       time_basis, definition, dimensions=dimensions,
                       params={"calc": calc, **params}))


_NO_SOURCE = tuple(d for d in DEAL_DIMENSIONS if d != "source_type")
_DEAL_AND_STAGE = ("stage", *DEAL_DIMENSIONS)

_def("opportunities_created", "Opportunities created", "pipeline", "count", "up", "flow", True,
     "opportunity created_at",
     "Opportunities created in the period, every type and status. Breakdowns use the deal's "
     "own fields; channel is the deal's, else its primary contact's; segment the deal's, else "
     "its account's; region the account's, else the contact's. " + _SOURCE, "created")
_def("pipeline_created", "Pipeline created", "pipeline", "currency", "up", "flow", True,
     "opportunity created_at",
     "Sum of the amounts of opportunities created in the period, every type and status. "
     + _MONEY + " " + _SOURCE, "created", amount=True)
_def("marketing_sourced_opportunities", "Marketing-sourced opportunities", "pipeline", "count",
     "up", "flow", True, "opportunity created_at",
     "Opportunities created in the period whose source_type is marketing (first-touch "
     "sourced; 'influenced' is a separate attribution view). " + _SOURCE, "created",
     dimensions=_NO_SOURCE, marketing=True)
_def("marketing_sourced_pipeline", "Marketing-sourced pipeline", "pipeline", "currency", "up",
     "flow", True, "opportunity created_at",
     "Sum of the amounts of opportunities created in the period whose source_type is "
     "marketing, every type. " + _SOURCE + " " + _MONEY, "created",
     dimensions=_NO_SOURCE, marketing=True, amount=True)
_def("marketing_pipeline_share", "Marketing share of new-business pipeline", "pipeline",
     "ratio", "up", "ratio", True, "opportunity created_at",
     "Marketing-sourced new-business pipeline created in the period ÷ all new-business "
     "pipeline created in the period (amounts; deals of type new_business only, deals "
     "without a type are left out). " + _SOURCE + " " + _MONEY, "share",
     dimensions=tuple(d for d in DEAL_DIMENSIONS if d not in ("type", "source_type")))
_def("open_pipeline", "Open pipeline", "pipeline", "currency", "up", "stock", True,
     "period end (as-of date for the running period)",
     "Sum of the amounts of opportunities open at the end of the period (the as-of date for "
     "the running period): created by then and not yet closed. A quarter's value is its last "
     "day's, never a sum of months. " + _STATUS + " Stale deals (open, with a close date "
     "before that day) are included and listed in extra.stale_deals. Amounts are converted "
     "at the rate of that day. By stage: the stage the deal was in then.", "open_pipeline",
     dimensions=_DEAL_AND_STAGE)
_def("weighted_pipeline", "Weighted pipeline", "pipeline", "currency", "up", "stock", True,
     "period end (as-of date for the running period)",
     "Sum of amount × probability over the opportunities open at the end of the period, like "
     "open_pipeline (stale deals included and listed). The probability is the deal's own "
     "while it sits in its current stage, else the configured default "
     "(settings.opportunity_stages) of the stage it was in then; a deal without a known "
     "probability adds nothing and is counted in extra.no_probability. With probability "
     "history (--probability history) a deal's weight is instead the historical win rate of "
     "the stage it was in then: won ÷ (won + lost), counted in deals, among all "
     "opportunities (whatever the breakdown or filters) that had closed by the measuring day "
     "with a close date in the 365 days to it (inclusive) and whose opportunity_stages "
     "history entered that stage on or before it; a stage without such closed deals falls "
     "back to the CRM probability, counted in extra.crm_fallback, and the rates used are in "
     "extra.stage_win_rates. " + _STATUS,
     "weighted_pipeline", dimensions=_DEAL_AND_STAGE)
_def("pipeline_coverage", "Pipeline coverage", "pipeline", "multiple", "up", "ratio", True,
     "close_date within the running period, measured on the as-of date",
     "For each period that ends after the as-of date — the running one and, when the range "
     "ends after the as-of date, the periods still to come — the deals open on the as-of "
     "date (all types) with a close date inside the period and not stale (close date on or "
     "after the as-of date) ÷ the period's targets row with metric bookings; a period still "
     "to come has no bookings yet and no stale deals. Extra shows it against 3× and against "
     "the coverage the historical win rate requires (1 ÷ amount win rate over the 365 days to "
     "the as-of date), plus bookings to date and the coverage of the remaining target. A "
     "finished period has no coverage: its row shows bookings ÷ target "
     "(bookings_target_attainment) in extra. Quarter and year targets may be the sum of "
     "complete finer targets.", "coverage", future=True)
_def("bookings_target_attainment", "Bookings target attainment", "revenue", "ratio", "up",
     "ratio", False, "opportunity close_date",
     "Bookings (amounts of deals won with a close date in the period) ÷ the period's targets "
     "row with metric bookings (the sum of complete finer targets when the period has none). "
     "A running period shows bookings to date. Targets exist in total or per one dimension.",
     "attainment")
_BOOKINGS = ("Sum of the amounts of opportunities won with a close date in the period, every "
             "type (new business, expansion, renewal). " + _MONEY)
_def("bookings", "Bookings", "revenue", "currency", "up", "flow", False,
     "opportunity close_date", _BOOKINGS, "bookings")
_def("won_revenue", "Won revenue", "revenue", "currency", "up", "flow", False,
     "opportunity close_date", _BOOKINGS + " The same as bookings.", "bookings")
_def("marketing_sourced_revenue", "Marketing-sourced revenue", "revenue", "currency", "up",
     "flow", False, "opportunity close_date",
     "Bookings of opportunities whose source_type is marketing: amounts of deals won with a "
     "close date in the period, every type (filter type=new_business for net new "
     "business). " + _SOURCE + " " + _MONEY, "bookings", dimensions=_NO_SOURCE,
     marketing=True)
_NO_DECISION = ("Lost deals whose loss_reason is one of settings "
                "pipeline.no_decision_loss_reasons (compared trimmed and case-insensitively; "
                "none by default) are 'no decision' losses: they are left out of the "
                "denominator and counted in extra.no_decision.")
_def("win_rate", "Win rate", "revenue", "ratio", "up", "ratio", False, "opportunity close_date",
     "Deals won ÷ deals closed (won + lost) among opportunities closed with a close date in "
     "the period, every type, counted in deals. " + _NO_DECISION + " " + _STATUS, "win_rate")
_def("win_rate_amount", "Win rate (amount)", "revenue", "ratio", "up", "ratio", False,
     "opportunity close_date",
     "Amount won ÷ amount closed (won + lost) among opportunities closed with a close date in "
     "the period, every type. " + _NO_DECISION + " " + _MONEY, "win_rate", amount=True)
_def("cohort_win_rate", "Cohort win rate", "revenue", "ratio", "up", "ratio", False,
     "opportunity created_at",
     "Of the opportunities created in the period, the share won by the as-of date (won ÷ "
     "created); extra shows how many are lost and still open. Young cohorts are still "
     "maturing.", "cohort_win_rate")
_def("loss_reasons", "Lost deals by reason", "revenue", "count", "neutral", "flow", False,
     "opportunity close_date",
     "Opportunities lost with a close date in the period, counted (break down by "
     "loss_reason); their amount is in extra. " + _MONEY, "loss_reasons",
     dimensions=(*DEAL_DIMENSIONS, "loss_reason"))
_def("avg_deal_size", "Average deal size", "revenue", "currency", "up", "ratio", False,
     "opportunity close_date",
     "Mean amount of the opportunities won with a close date in the period, every type "
     "(sum of amounts ÷ deals). " + _MONEY, "avg_deal_size")
_def("acv", "Average contract value (ACV)", "revenue", "currency", "up", "ratio", False,
     "opportunity close_date",
     "Mean annualised value of the new-business opportunities won with a close date in the "
     "period: amount × 12 ÷ term_months, or the amount when the deal has no term (those are "
     "counted and listed in extra). " + _MONEY, "acv",
     dimensions=tuple(d for d in DEAL_DIMENSIONS if d != "type"))
_def("opportunity_stage_days", "Days in opportunity stage", "pipeline", "days", "down",
     "ratio", False, "date the deal left the stage",
     "Per opportunity stage (use --by stage): median days a deal spent in the stage, from "
     "opportunity_stages — the time from entering the stage to the deal's next stage entry, "
     "summed when it entered the stage more than once — over deals that have left it, by "
     "the period in which they left it; p75 in extra.", "stage_days",
     dimensions=_DEAL_AND_STAGE)
_def("demo_to_close_days", "Demo to close (days)", "revenue", "days", "down", "ratio", False,
     "opportunity close_date",
     "Median days from a demo's booking to the close date of the won deal it led to, by the "
     "close period. A demo (meetings of kind demo, not canceled) leads to the deal its "
     "opportunity_id names; else to the next deal its contact, then its account, won "
     "(closed on or after the booking, created at most the demo→opportunity window, 90 days "
     "by default, after it). Each won deal counts once, from its earliest demo; p75 and how "
     "deals were linked are in extra.", "demo_to_close")
_def("sales_velocity", "Sales velocity", "revenue", "currency", "up", "stock", True,
     "trailing 90 days to the period end",
     "Revenue per day the pipeline produces, at the end of each period over the trailing 90 "
     "days: opportunities created × win rate (won ÷ won + lost, closed in the window) × "
     "average won deal size (closed in the window) ÷ sales cycle (median days from creation "
     "to close of the deals won in the window). Each part is in extra. " + _MONEY,
     "velocity")
_def("opportunity_stage_conversion", "Opportunity stage conversion", "pipeline", "ratio", "up",
     "ratio", True, "opportunity created_at",
     "Per open opportunity stage (use --by stage; stages in settings.opportunity_stages with a "
     "probability between 0 and 1, in order): of the deals created in the period that reached "
     "the stage, the share that reached the next one (after the last open stage: won). A deal "
     "reached a stage when its history (opportunity_stages) entered it or any later stage, or "
     "when it was won; deals without history are left out. Lost and still-open deals are in "
     "extra.", "stage_conversion", dimensions=_DEAL_AND_STAGE)
