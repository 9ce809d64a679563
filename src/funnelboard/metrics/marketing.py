"""Ads, engagement and ABM leading indicators (metrics.md §3).

Ad delivery (impressions, clicks, spend, CTR, CPC, CPM) is summed from ``ad_performance``, and
ratios are always recomputed from the sums of the requested grain. Account engagement (ABM)
reads ``ad_account_engagement`` and ad touchpoints; cost per stage divides the marketing cost
rows of :func:`~funnelboard.metrics.costs.cost_rows` by the funnel's reached counts; meetings,
events, social, press, surveys and the marketing–sales follow-up SLA read their own tables.

One-table metrics use the generic compilers of :mod:`funnelboard.metrics.tables`; the compilers
below handle what needs joins, medians or per-period denominators. Everything row-sized runs in
the engine; Python only sees aggregated rows.

Readings chosen where metrics.md leaves a detail open are written into each metric's
definition (and listed in the module constants below):

* an ICP account (``icp_share_<plural>``) is an account whose ``icp_tier``, trimmed and
  lower-cased, is one of :data:`ICP_TIERS`, or whose ``is_target_account`` is true;
* the follow-up SLA is the ``funnel.mql_sla_hours`` setting (default 24 hours);
* ad touchpoints: :data:`AD_ENGAGEMENT_KINDS` count as engagement, :data:`AD_REACH_KINDS`
  as reach.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.costs import PLATFORM_CHANNELS, ad_rows, cost_rows
from funnelboard.metrics.dimensions import contact_dimensions
from funnelboard.metrics.engine import Engine, Window, compiler
from funnelboard.metrics.funnel import days_between, first_entries, local_date, reached
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import (
    FUNNEL_DIMENSIONS,
    MetricDef,
    register,
    register_family,
)
from funnelboard.metrics.tables import Source, column, text
from funnelboard.settings import Settings

#: Hours within which an MQL should be followed up (metrics.md §3: "default 24"); the settings
#: have no SLA field, so this constant is the SLA until one is added.
#: ``accounts.icp_tier`` values (trimmed, lower-cased) that count as the ideal customer profile.
ICP_TIERS = ("a", "tier a", "tier_a", "tier-a", "tier 1", "fit")
#: Touchpoint kinds that show an account engaged with an ad.
AD_ENGAGEMENT_KINDS = ("ad_click", "ad_engagement")
#: Touchpoint kinds that show an ad reached an account (engagement implies reach).
AD_REACH_KINDS = ("ad_impression", *AD_ENGAGEMENT_KINDS)

GROUP_ADS = "ads"
GROUP_ABM = "abm"
GROUP_COST = "cost"
GROUP_SALES = "meetings"
GROUP_ENGAGEMENT = "engagement"

AD_DIMENSIONS = ("platform", "channel", "campaign")
ACCOUNT_DIMENSIONS = ("segment", "industry", "region", "icp_tier", "is_target_account")
MEETING_DIMENSIONS = ("kind", "channel", "owner", "segment", "icp_tier", "is_target_account")


def _settings_stage(engine: Engine, metric: MetricDef) -> str:
    stage = str(metric.params["stage"])
    if stage not in engine.settings.stages:
        raise UsageError(f"'{metric.key}' needs the funnel stage '{stage}', which this "
                         f"workspace's funnel ({' → '.join(engine.settings.stages)}) does not "
                         "have.")
    return stage


def _bucket(day: ir.DateValue, query: MetricQuery, settings: Settings) -> ir.DateValue:
    return periods.bucket(day, query.grain, fiscal_start=settings.fiscal_year_start_month,
                          week_start=settings.week_start)


def _dim(value: Any) -> Any:
    return None if value is None or value == "" else value


def _number(value: Any) -> Any:
    if value is None:
        return None
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and not isinstance(value, float) else as_float


def _apply_filters(t: ir.Table, query: MetricQuery,
                   only: tuple[str, ...] | None = None) -> ir.Table:
    """Filters of the query (OR within a dimension, AND across; ``(none)`` = empty)."""
    for dim, values in query.filters:
        if only is not None and dim not in only:
            continue
        keep = [v for v in values if v != NONE_LABEL]
        cond = t[dim].isin(keep) if keep else ibis.literal(False)
        if NONE_LABEL in values or "" in values:
            cond = cond | t[dim].isnull()
        t = t.filter(cond)
    return t


def _key(row: dict[str, Any], dims: tuple[str, ...]) -> tuple[Any, ...]:
    return (row["period"], *[_dim(row.get(d)) for d in dims])


def _ratio_row(period: dt.date, dims: dict[str, Any], num: Any, den: Any,
               extra: dict[str, Any] | None = None, scale: float = 1.0) -> dict[str, Any]:
    num = _number(num) or 0
    den = _number(den) or 0
    return {"period": period, **dims, "value": (num / den * scale) if den else None,
            "numerator": num, "denominator": den, "n": den, "extra": extra or {}}


def _query_periods(query: MetricQuery, settings: Settings,
                   present: set[dt.date]) -> list[dt.date]:
    """The periods :func:`~funnelboard.metrics.engine.fill_grid` will show (so a compiler can
    give every period its own denominator)."""
    window = Window.of(query)

    def start_of(day: dt.date) -> dt.date:
        return periods.period_start(day, query.grain,
                                    fiscal_start=settings.fiscal_year_start_month,
                                    week_start=settings.week_start)

    first = start_of(query.start) if query.start is not None else (
        min(present) if present else None)
    if query.start is not None or query.end is not None:
        last: dt.date | None = start_of(window.end)
    else:
        last = max(present) if present else None
    if first is None or last is None:
        return []
    return list(periods.periods_between(first, last, query.grain))


# -- accounts ------------------------------------------------------------------------------

def _domain(col: ir.Value) -> ir.StringValue:
    """A web domain compared loosely: lower case, no scheme, no ``www.``, no trailing slash."""
    value = col.cast("string").strip().lower()
    value = value.re_replace(r"^(https?://)?(www\.)?", "").re_replace(r"/+$", "")
    return value.nullif("")


def _accounts(engine: Engine) -> ir.Table:
    """Accounts with ``a_id`` and the account dimensions (text; the target flag as
    ``true``/``false`` like every other dimension), ``a_target`` (bool), ``a_created`` and
    ``a_title`` (the name as written, for display; ``a_name`` is the one compared)."""
    a = engine.table("accounts")
    return a.select(
        a_id=text(a.account_id), a_domain=_domain(a.domain),
        a_name=a.name.cast("string").strip().lower().nullif(""), a_title=text(a.name),
        a_target=a.is_target_account.cast("boolean").coalesce(False),
        a_created=a.created_at,
        **{f"a_{d}": text(a[d]) for d in ACCOUNT_DIMENSIONS})


def _ad_account_hits(engine: Engine, query: MetricQuery, notes: list[str],
                     reach: bool) -> ir.Table:
    """``(fb_day, account)`` for every account an ad reached (``reach``) or engaged in the
    window: ``ad_account_engagement`` rows (impressions, clicks or engagements > 0, resp.
    clicks or engagements > 0) matched to accounts by ``account_id``, else by
    ``company_domain`` against ``accounts.domain``, else by ``company_name`` against
    ``accounts.name``; and touchpoints of the ad kinds (their account, else their contact's)."""
    accounts = _accounts(engine)
    window = Window.of(query)
    e = engine.table("ad_account_engagement")
    e = e.filter(window.contains(e.date))
    clicks = e.clicks.coalesce(0) + e.engagements.coalesce(0)
    e = e.filter((clicks + e.impressions.coalesce(0) > 0) if reach else (clicks > 0))
    e = e.mutate(k_id=text(e.account_id), k_domain=_domain(e.company_domain),
                 k_name=e.company_name.cast("string").strip().lower().nullif(""))
    ids = accounts.select(i_id=accounts.a_id)
    by_domain = accounts.filter(accounts.a_domain.notnull()).group_by("a_domain").aggregate(
        d_id=accounts.a_id.min())
    by_name = accounts.filter(accounts.a_name.notnull()).group_by("a_name").aggregate(
        n_id=accounts.a_id.min())
    e = e.left_join(ids, e.k_id == ids.i_id)
    e = e.left_join(by_domain, e.k_domain == by_domain.a_domain)
    e = e.left_join(by_name, e.k_name == by_name.a_name)
    e = e.mutate(account=e.i_id.coalesce(e.d_id, e.n_id))
    unmatched = e.filter(e.account.isnull())
    n = engine.execute(unmatched.aggregate(n=unmatched.count()))[0]["n"]
    if n:
        notes.append(f"{n} ad_account_engagement row(s) match no account (by account_id, "
                     "company_domain or company_name) and are left out; import the accounts "
                     "they name.")
    hits = e.filter(e.account.notnull()).select(fb_day=e.date, account=e.account)
    tp = engine.table("touchpoints")
    kinds = AD_REACH_KINDS if reach else AD_ENGAGEMENT_KINDS
    tp = tp.filter(tp.kind.cast("string").strip().lower().isin(list(kinds)))
    tp = tp.mutate(fb_day=local_date(tp.occurred_at))
    tp = tp.filter(window.contains(tp.fb_day))
    c = engine.table("contacts")
    c = c.select(c_id=text(c.contact_id), c_account=text(c.account_id))
    tp = tp.mutate(t_account=text(tp.account_id), t_contact=text(tp.contact_id))
    tp = tp.left_join(c, tp.t_contact == c.c_id)
    own = accounts.select(o_id=accounts.a_id)
    via = accounts.select(v_id=accounts.a_id)
    tp = tp.left_join(own, tp.t_account == own.o_id)
    tp = tp.left_join(via, tp.c_account == via.v_id)
    tp = tp.mutate(account=tp.o_id.coalesce(tp.v_id))
    tp = tp.filter(tp.account.notnull()).select("fb_day", "account")
    return hits.union(tp)


def _with_account_dims(t: ir.Table, accounts: ir.Table) -> ir.Table:
    t = t.inner_join(accounts, t.account == accounts.a_id)
    return t.mutate(**{d: t[f"a_{d}"] for d in ACCOUNT_DIMENSIONS})


def account_hits(engine: Engine, metric: MetricDef, query: MetricQuery,
                 notes: list[str]) -> ir.Table:
    """The ad hits an account metric counts (see :func:`_ad_account_hits`), with the account
    dimensions, the query's filters applied and ``fb_period`` (the hit's period); for the
    target metrics only hits of target accounts created by the end of the hit's period (the
    accounts the denominator holds). Its distinct ``account`` values are the number."""
    settings = engine.settings
    reach = bool(metric.params.get("reach"))
    accounts = _accounts(engine)
    hits = _with_account_dims(_ad_account_hits(engine, query, notes, reach), accounts)
    hits = _apply_filters(hits, query)
    hits = hits.mutate(fb_period=_bucket(hits.fb_day, query, settings))
    if metric.params.get("target"):
        made = _bucket(local_date(hits.a_created), query, settings)
        hits = hits.filter(hits.a_target, made.isnull() | (made <= hits.fb_period))
    return hits


def target_accounts(engine: Engine, query: MetricQuery) -> ir.Table:
    """Target accounts with the account dimensions and the query's filters, created on or
    before the as-of date or without a created_at; ``fb_created`` is the local creation day.
    A period's denominator holds those created by its end (no created_at: always)."""
    accounts = _accounts(engine)
    base = accounts.filter(accounts.a_target)
    base = base.mutate(**{d: base[f"a_{d}"] for d in ACCOUNT_DIMENSIONS})
    base = _apply_filters(base, query)
    created = local_date(base.a_created)
    base = base.filter(created.isnull() | (created <= query.as_of))
    return base.mutate(fb_created=created)


@compiler("mk_accounts")
def compile_accounts(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> list[dict[str, Any]]:
    """engaged_accounts (distinct accounts) and target_account_reach / _engagement (target
    accounts reached or engaged ÷ target accounts that exist at the period end)."""
    settings = engine.settings
    target = bool(metric.params.get("target"))
    hits = account_hits(engine, metric, query, notes)
    agg = hits.group_by(period=hits.fb_period, **{d: hits[d] for d in query.by}).aggregate(
        value=hits.account.nunique(), rows=hits.count())
    got = engine.execute(agg)
    dims = tuple(query.by)
    if not target:
        return [{"period": r["period"], **{d: _dim(r[d]) for d in dims},
                 "value": int(r["value"] or 0), "numerator": None, "denominator": None,
                 "n": int(r["value"] or 0), "extra": {}} for r in got]
    # denominator: target accounts created by the period end (no created_at: always there)
    base = target_accounts(engine, query)
    den_rows = engine.execute(base.group_by(
        created=_bucket(base.fb_created, query, settings), **{d: base[d] for d in dims}
    ).aggregate(n=base.count()))
    nums = {_key(r, dims): r["value"] for r in got}
    present = {r["period"] for r in got}
    combos = {k[1:] for k in nums} | {tuple(_dim(r[d]) for d in dims) for r in den_rows}
    if not dims:
        combos = {()}
    rows = []
    for p in _query_periods(query, settings, present):
        for combo in sorted(combos, key=lambda c: tuple(str(v) for v in c)):
            den = sum(int(r["n"]) for r in den_rows
                      if (r["created"] is None or r["created"] <= p)
                      and tuple(_dim(r[d]) for d in dims) == combo)
            num = nums.get((p, *combo), 0)
            rows.append(_ratio_row(p, dict(zip(dims, combo, strict=True)), num, den))
    return rows


# -- cost per stage ------------------------------------------------------------------------

def cost_basis(metric: MetricDef, query: MetricQuery) -> str:
    """The basis a cost per stage uses: the query's, else the metric's default (period)."""
    return query.basis or str(metric.params.get("default_basis", "period"))


def cost_stage_units(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> tuple[ir.Table, ir.DateValue]:
    """The denominator's units: those from :func:`reached` that reached the metric's stage,
    dated in the window by the basis (the reached day, or the creation day on the cohort
    basis); and that day."""
    stage = _settings_stage(engine, metric)
    t = reached(engine, query, notes)
    hit = t[f"r_{stage}"]
    day = local_date(hit) if cost_basis(metric, query) == "period" else local_date(t.created)
    return t.filter(hit.notnull(), Window.of(query).contains(day)), day


def marketing_costs(engine: Engine, query: MetricQuery, notes: list[str]) -> ir.Table:
    """The numerator's rows: :func:`~funnelboard.metrics.costs.cost_rows` (marketing cost in
    the reporting currency, ``amount``, dated ``fb_day``) with the query's filters."""
    return _apply_filters(cost_rows(engine, query, notes), query)


@compiler("mk_cost_per")
def compile_cost_per(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> list[dict[str, Any]]:
    """Marketing cost ÷ contacts that reached the stage (see the metric's definition)."""
    settings = engine.settings
    stage = _settings_stage(engine, metric)
    dims = tuple(query.by)
    # denominator: reached the stage (query's basis and rule)
    t, day = cost_stage_units(engine, metric, query, notes)
    den = engine.execute(t.group_by(period=_bucket(day, query, settings),
                                    **{d: t[d] for d in dims}).aggregate(
        n=t.count(), inferred=t[f"i_{stage}"].cast("int64").sum()))
    # numerator: marketing cost of the period
    c = marketing_costs(engine, query, notes)
    num = engine.execute(c.group_by(period=_bucket(c.fb_day, query, settings),
                                    source=c.source, **{d: c[d] for d in dims}).aggregate(
        amount=c.amount.sum(), rows=c.count()))
    if query.grain in ("day", "week"):
        notes.append("Monthly cost rows are dated on the first day of their month, so at day "
                     "or week grain their cost falls in the period holding that day.")
    costs: dict[tuple[Any, ...], dict[str, float]] = {}
    for r in num:
        by_source = costs.setdefault(_key(r, dims), {})
        by_source[r["source"]] = by_source.get(r["source"], 0.0) + float(r["amount"] or 0)
    counts = {_key(r, dims): r for r in den}
    totals: dict[str, float] = {}
    for by_source in costs.values():
        for source, amount in by_source.items():
            totals[source] = totals.get(source, 0.0) + amount
    if totals:
        used = "; ".join(f"{s} {v:,.2f}" for s, v in sorted(totals.items()))
        notes.append("Marketing cost = costs rows of team marketing (every category) + "
                     f"ad_performance spend; sources used in this result: {used}.")
    else:
        notes.append("No marketing cost rows (costs team marketing, ad_performance spend) fall "
                     "in the range, so every cost is 0.")
    rows = []
    for k in sorted(set(costs) | set(counts), key=lambda x: (x[0], *[str(v) for v in x[1:]])):
        by_source = costs.get(k, {})
        cost = sum(by_source.values())
        count = int(counts[k]["n"]) if k in counts else 0
        extra: dict[str, Any] = {"cost_sources": {s: round(v, 2) for s, v in
                                                  sorted(by_source.items())}}
        if query.rule == "cumulative":
            extra["inferred"] = int(counts[k]["inferred"] or 0) if k in counts else 0
        rows.append({"period": k[0], **dict(zip(dims, k[1:], strict=True)),
                     "value": cost / count if count else None, "numerator": cost,
                     "denominator": count, "n": count, "extra": extra})
    return rows


# -- ICP share ------------------------------------------------------------------------------

def icp_flags(engine: Engine, t: ir.Table) -> ir.Table:
    """``t`` (with ``account_id``) joined to its account: ``fb_icp`` is true when the account's
    ICP tier is A (:data:`ICP_TIERS`) or it is a target account; also ``a_id`` (null: no
    account), ``fb_tier_a`` and ``fb_target``."""
    a = _accounts(engine).select("a_id", "a_icp_tier", "a_target")
    t = t.left_join(a, t.account_id == a.a_id)
    tier_a = t.a_icp_tier.lower().isin(list(ICP_TIERS)).coalesce(False)
    is_target = t.a_target.coalesce(False)
    return t.mutate(fb_tier_a=tier_a, fb_target=is_target, fb_icp=tier_a | is_target)


def icp_stage(engine: Engine, metric: MetricDef) -> str:
    """The funnel stage an ICP-share metric counts."""
    return _settings_stage(engine, metric)


@compiler("mk_icp_share")
def compile_icp_share(engine: Engine, metric: MetricDef, query: MetricQuery,
                      notes: list[str]) -> list[dict[str, Any]]:
    """Share of the stage's contacts (or accounts) whose account is ICP or a target."""
    settings = engine.settings
    stage = _settings_stage(engine, metric)
    dims = tuple(query.by)
    t = reached(engine, query, notes)
    hit = t[f"r_{stage}"]
    day = local_date(hit) if query.basis == "period" else local_date(t.created)
    t = t.filter(hit.notnull(), Window.of(query).contains(day))
    t = icp_flags(engine, t.mutate(fb_day=day))
    agg = t.group_by(period=_bucket(t.fb_day, query, settings),
                     **{d: t[d] for d in dims}).aggregate(
        den=t.count(), num=t.fb_icp.cast("int64").sum(),
        tier_a=t.fb_tier_a.cast("int64").sum(), target=t.fb_target.cast("int64").sum(),
        no_account=t.a_id.isnull().cast("int64").sum())
    return [_ratio_row(r["period"], {d: _dim(r[d]) for d in dims}, r["num"], r["den"],
                       {"icp_tier_a": int(r["tier_a"] or 0), "target": int(r["target"] or 0),
                        "no_account": int(r["no_account"] or 0)})
            for r in engine.execute(agg)]


# -- lead score (generic ratio over contacts) ----------------------------------------------

def _scored_contacts(engine: Engine, t: ir.Table, query: MetricQuery,
                     notes: list[str]) -> ir.Table:
    c = contact_dimensions(engine, query.replace(level="contact"))
    s = engine.table("contacts")
    s = s.select(k_id=s.contact_id, k_score=s.lead_score.cast("float64"))
    c = c.left_join(s, c.contact_id == s.k_id)
    threshold = float(engine.settings.mql_score_threshold)
    return c.mutate(fb_scored=c.k_score.notnull().cast("int64"),
                    fb_score=c.k_score.coalesce(0.0),
                    fb_high=(c.k_score >= threshold).coalesce(False).cast("int64"))


CONTACTS_SOURCE = Source("contacts", "created", timestamp=True,
                         dims={d: column(d) for d in FUNNEL_DIMENSIONS},
                         prepare=_scored_contacts)


# -- meetings -------------------------------------------------------------------------------

def _meetings(engine: Engine, query: MetricQuery) -> ir.Table:
    """Meetings with ``fb_kind``, ``fb_status``, ``fb_contact``, ``fb_account`` (the meeting's
    account, else its contact's), ``fb_booked``, ``fb_held_at`` (scheduled_for, else
    booked_at) and the meeting dimensions the query needs."""
    want = set(query.by) | set(query.filter_map)
    m = engine.table("meetings")
    m = m.mutate(fb_kind=text(m.kind).lower(), fb_status=text(m.status).lower(),
                 fb_contact=text(m.contact_id), fb_booked=m.booked_at,
                 fb_held_at=m.scheduled_for.coalesce(m.booked_at),
                 fb_owner=text(m.owner), fb_mchannel=text(m.channel))
    c = contact_dimensions(engine, query.replace(by=("channel",) if "channel" in want else (),
                                                 filters=(), level="contact"))
    c = c.select(c_id=c.contact_id, c_account=c.account_id,
                 **({"c_channel": c.channel} if "channel" in want else {}))
    m = m.left_join(c, m.fb_contact == c.c_id)
    m = m.mutate(fb_account=text(m.account_id).coalesce(m.c_account))
    cols: dict[str, ir.Value] = {}
    if "channel" in want:
        cols["channel"] = m.fb_mchannel.coalesce(m.c_channel)
    if "owner" in want:
        cols["owner"] = m.fb_owner
    if "kind" in want:
        cols["kind"] = m.fb_kind
    if want & set(ACCOUNT_DIMENSIONS):
        a = _accounts(engine)
        m = m.left_join(a, m.fb_account == a.a_id)
        cols.update({d: m[f"a_{d}"] for d in ACCOUNT_DIMENSIONS if d in want})
    return m.mutate(**cols) if cols else m


def _meeting_source(date: str, kinds: tuple[str, ...] | None = None,
                    statuses: tuple[str, ...] | None = None) -> Source:
    def prepare(engine: Engine, t: ir.Table, query: MetricQuery,
                notes: list[str]) -> ir.Table:
        m = _meetings(engine, query)
        if kinds is not None:
            m = m.filter(m.fb_kind.isin(list(kinds)))
        if statuses is not None:
            m = m.filter(m.fb_status.isin(list(statuses)))
        return m

    return Source("meetings", date, timestamp=True,
                  dims={d: column(d) for d in MEETING_DIMENSIONS}, prepare=prepare)


def judged_demos(engine: Engine, query: MetricQuery) -> ir.Table:
    """The demos of the window (booked on ``fb_day``) with the query's filters: ``fb_young``
    when booked less than N days before the as-of date (left out of both sides),
    ``fb_converted`` when their contact or account got an opportunity created within N days
    after the booking (N = settings economics.demo_to_opportunity_days)."""
    days = int(engine.settings.demo_to_opportunity_days)
    m = _meetings(engine, query)
    m = m.filter(m.fb_kind == "demo")
    m = m.mutate(fb_day=local_date(m.fb_booked))
    m = m.filter(Window.of(query).contains(m.fb_day))
    m = _apply_filters(m, query)
    o = engine.table("opportunities")
    o = o.mutate(o_day=local_date(o.created_at))
    o = o.filter(o.o_day <= query.as_of)
    o = o.select(o_contact=text(o.contact_id), o_account=text(o.account_id), o_day=o.o_day)
    keys = m.select(k_id=m.meeting_id, k_contact=m.fb_contact, k_account=m.fb_account,
                    k_day=m.fb_day)

    def converted(left: str, right: str) -> ir.Table:
        j = keys.inner_join(o, [keys[left] == o[right], o.o_day >= keys.k_day,
                                o.o_day <= keys.k_day + ibis.interval(days=days)])
        return j.select(conv_id=j.k_id)

    conv = converted("k_contact", "o_contact").union(converted("k_account", "o_account"))
    conv = conv.distinct()
    m = m.left_join(conv, m.meeting_id == conv.conv_id)
    young = (m.fb_day + ibis.interval(days=days)) > ibis.literal(query.as_of)
    return m.mutate(fb_young=young, fb_converted=m.conv_id.notnull())


@compiler("mk_demo_opportunity")
def compile_demo_opportunity(engine: Engine, metric: MetricDef, query: MetricQuery,
                             notes: list[str]) -> list[dict[str, Any]]:
    """Demos whose contact or account got an opportunity created within N days after the
    booking ÷ demos booked; demos younger than N days at the as-of date are left out of both
    (``extra.young``)."""
    settings = engine.settings
    days = int(settings.demo_to_opportunity_days)
    dims = tuple(query.by)
    m = judged_demos(engine, query)
    mature = ~m.fb_young
    agg = m.group_by(period=_bucket(m.fb_day, query, settings), **{d: m[d] for d in dims}
                     ).aggregate(den=mature.cast("int64").sum(),
                                 num=(mature & m.fb_converted).cast("int64").sum(),
                                 young=m.fb_young.cast("int64").sum())
    rows = []
    total_young = 0
    for r in engine.execute(agg):
        n_young = int(r["young"] or 0)
        total_young += n_young
        rows.append(_ratio_row(r["period"], {d: _dim(r[d]) for d in dims}, r["num"], r["den"],
                               {"young": n_young, "window_days": days}))
    if total_young:
        notes.append(f"{total_young} demo(s) were booked less than {days} days before the "
                     "as-of date; they are not counted yet (extra.young).")
    return rows


# -- self-reported source ------------------------------------------------------------------

#: the column ``self_reported_source_mix`` distributes
MIX_COLUMN = "self_reported_source"


def mix_contacts(engine: Engine, query: MetricQuery) -> ir.Table:
    """Contacts created in the window (local day ``fb_day``) with their
    ``self_reported_source`` (trimmed; empty: no answer) and the query's filters on every other
    dimension: a period's contacts created, of which those with an answer are its answers."""
    col = MIX_COLUMN
    c = contact_dimensions(engine, query.replace(level="contact"))
    s = engine.table("contacts")
    s = s.select(k_id=s.contact_id, **{col: text(s[col])})
    c = c.left_join(s, c.contact_id == s.k_id)
    c = c.mutate(fb_day=local_date(c.created))
    c = c.filter(Window.of(query).contains(c.fb_day))
    return _apply_filters(c, query, only=tuple(d for d in query.filter_map if d != col))


def mix_answers(c: ir.Table, query: MetricQuery) -> ir.Table:
    """The contacts of :func:`mix_contacts` that answered, with the query's filter on the
    answer: the numerator of every cell."""
    col = MIX_COLUMN
    shown = _apply_filters(c, query, only=(col,)) if col in query.filter_map else c
    return shown.filter(shown[col].notnull())


@compiler("mk_mix")
def compile_mix(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """Distribution of ``contacts.self_reported_source`` by contact creation period."""
    settings = engine.settings
    col = MIX_COLUMN
    dims = tuple(query.by)
    others = tuple(d for d in dims if d != col)
    c = mix_contacts(engine, query)
    period = _bucket(c.fb_day, query, settings)
    answered = c[col].notnull()
    base = engine.execute(c.group_by(period=period, **{d: c[d] for d in others}).aggregate(
        created=c.count(), answered=answered.cast("int64").sum()))
    totals = {_key(r, others): r for r in base}
    shown = mix_answers(c, query)
    if col not in dims:
        got = engine.execute(shown.group_by(period=_bucket(shown.fb_day, query, settings),
                                            **{d: shown[d] for d in others}).aggregate(
            n=shown.count()))
        counts = {_key(r, others): r["n"] for r in got}
        return [_ratio_row(k[0], dict(zip(others, k[1:], strict=True)), counts.get(k, 0),
                           r["created"], {"no_answer": int(r["created"]) - int(r["answered"])})
                for k, r in totals.items()]
    got = engine.execute(shown.group_by(period=_bucket(shown.fb_day, query, settings),
                                        **{d: shown[d] for d in dims}).aggregate(
        n=shown.count()))
    rows = []
    for r in got:
        total = totals.get(_key(r, others))
        den = int(total["answered"]) if total else 0
        no_answer = int(total["created"]) - den if total else 0
        rows.append(_ratio_row(r["period"], {d: _dim(r[d]) for d in dims}, r["n"], den,
                               {"no_answer": no_answer}))
    return rows


# -- MQL follow-up SLA ---------------------------------------------------------------------

def follow_ups(engine: Engine, metric: MetricDef, query: MetricQuery) -> ir.Table:
    """The MQLs of the window (first mql entry ``e_mql`` on local day ``fb_day``) with the
    query's filters, their first follow-up at or after it (``f_first``: a meeting booked or a
    ``sales_touch`` touchpoint, by the as-of date) and the hours between (``fb_hours``, null
    when not followed up)."""
    settings = engine.settings
    if "mql" not in settings.stages:
        raise UsageError(f"'{metric.key}' needs the funnel stage 'mql', which this workspace's "
                         f"funnel ({' → '.join(settings.stages)}) does not have.")
    as_of = query.as_of
    c = contact_dimensions(engine, query.replace(level="contact"))
    e = first_entries(engine, as_of).select("contact_id", "e_mql")
    c = c.inner_join(e, c.contact_id == e.contact_id)
    c = c.filter(c.e_mql.notnull())
    c = c.mutate(fb_day=local_date(c.e_mql))
    c = c.filter(Window.of(query).contains(c.fb_day))
    c = _apply_filters(c, query)
    m = engine.table("meetings")
    m = m.select(f_contact=text(m.contact_id), f_at=m.booked_at)
    tp = engine.table("touchpoints")
    tp = tp.filter(tp.kind.cast("string").strip().lower() == "sales_touch")
    tp = tp.select(f_contact=text(tp.contact_id), f_at=tp.occurred_at)
    f = m.union(tp)
    f = f.filter(f.f_contact.notnull(), local_date(f.f_at) <= as_of)
    j = c.select("contact_id", "e_mql").inner_join(
        f, [c.contact_id == f.f_contact, f.f_at >= c.e_mql])
    first = j.group_by(k_id=j.contact_id).aggregate(f_first=j.f_at.min())
    c = c.left_join(first, c.contact_id == first.k_id)
    hours = days_between(engine, c.f_first, c.e_mql) * 24
    return c.mutate(fb_hours=hours)


def sla_judgement(c: ir.Table, sla: float, as_of: dt.date) -> ir.Table:
    """:func:`follow_ups` with ``fb_met`` (followed up within ``sla`` hours) and ``fb_judged``
    (met, or its deadline, the mql entry + ``sla`` hours, is on or before ``as_of``; the others
    are pending and left out of both sides)."""
    met = c.fb_hours.notnull() & (c.fb_hours <= sla)
    deadline = c.e_mql + ibis.interval(seconds=round(sla * 3600))
    return c.mutate(fb_met=met, fb_judged=met | (local_date(deadline) <= as_of))


@compiler("mk_follow_up")
def compile_follow_up(engine: Engine, metric: MetricDef, query: MetricQuery,
                      notes: list[str]) -> list[dict[str, Any]]:
    """Hours from a contact's first MQL entry to its first follow-up (a meeting booked or a
    ``sales_touch`` touchpoint, at or after the MQL); median, or the share within the SLA."""
    settings = engine.settings
    dims = tuple(query.by)
    sla = float(settings.mql_sla_hours)
    c = sla_judgement(follow_ups(engine, metric, query), sla, query.as_of)
    keys = {"period": _bucket(c.fb_day, query, settings), **{d: c[d] for d in dims}}
    followed = c.fb_hours.notnull()
    if metric.params.get("sla"):
        agg = c.group_by(**keys).aggregate(
            num=c.fb_met.cast("int64").sum(), den=c.fb_judged.cast("int64").sum(),
            pending=(~c.fb_judged).cast("int64").sum(), followed=followed.cast("int64").sum())
        return [_ratio_row(r["period"], {d: _dim(r[d]) for d in dims}, r["num"], r["den"],
                           {"sla_hours": sla, "pending": int(r["pending"] or 0),
                            "followed_up": int(r["followed"] or 0)})
                for r in engine.execute(agg)]
    agg = c.group_by(**keys).aggregate(
        value=c.fb_hours.median(), p75=c.fb_hours.quantile(0.75),
        n=followed.cast("int64").sum(), mqls=c.count())
    out = []
    for r in engine.execute(agg):
        n = int(r["n"] or 0)
        out.append({"period": r["period"], **{d: _dim(r[d]) for d in dims},
                    "value": float(r["value"]) if r["value"] is not None else None,
                    "numerator": None, "denominator": None, "n": n,
                    "extra": {"p75": float(r["p75"]) if r["p75"] is not None else None,
                              "not_followed_up": int(r["mqls"]) - n}})
    return out


# -- table sources ---------------------------------------------------------------------------

def _ad_table(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str]) -> ir.Table:
    """``ad_performance`` with ``platform`` (lower case), ``campaign`` (campaign_id) and
    ``channel``: the campaign's channel, else the platform's default (as in
    :func:`~funnelboard.metrics.costs.ad_rows`)."""
    camps = engine.table("campaigns")
    lookup = camps.select(k_campaign=text(camps.campaign_id), k_channel=text(camps.channel))
    t = t.mutate(campaign=text(t.campaign_id), platform=t.platform.cast("string").strip().lower())
    t = t.left_join(lookup, t.campaign == lookup.k_campaign)
    default = ibis.cases(*[(t.platform == name, channel)
                           for name, channel in PLATFORM_CHANNELS.items()],
                         else_=ibis.null().cast("string"))
    return t.mutate(channel=t.k_channel.coalesce(default))


def _ad_spend_table(engine: Engine, t: ir.Table, query: MetricQuery,
                    notes: list[str]) -> ir.Table:
    """:func:`~funnelboard.metrics.costs.ad_rows` (spend in the reporting currency as
    ``amount``; a row without an exchange rate has none) with ``fb_known`` = 1 when it has."""
    ads = ad_rows(engine, query, notes)
    return ads.mutate(fb_known=ads.amount.notnull())


_AD_DIMS = {d: column(d) for d in AD_DIMENSIONS}
ADS = Source("ad_performance", "date", dims=_AD_DIMS, prepare=_ad_table)
AD_SPEND = Source("ad_performance", "fb_day", dims=_AD_DIMS, prepare=_ad_spend_table)


def _engagement_source(kind: str) -> Source:
    def prepare(engine: Engine, t: ir.Table, query: MetricQuery,
                notes: list[str]) -> ir.Table:
        t = t.filter(t.kind.cast("string").strip().lower() == kind)
        return t.mutate(platform=t.platform.cast("string").strip().lower())

    return Source("engagement", "date", dims={"platform": column("platform")},
                  prepare=prepare)


SOCIAL = _engagement_source("social")
PRESS = _engagement_source("press")
EVENTS = Source("events", "starts_at", timestamp=True,
                dims={"kind": column("kind"), "campaign": column("campaign_id")})
SURVEYS = Source("survey_responses", "responded_at", timestamp=True,
                 dims={"survey": column("survey"), "question": column("question")})


# -- registration ----------------------------------------------------------------------------

def _zero(col: ir.Value) -> ir.Value:
    return col.coalesce(0)


def _flow(key: str, label: str, group: str, source: Source, num: Any, unit: str,
          definition: str, *, direction: str = "up", leading: bool = True,
          time_basis: str = "row date", kind: str = "table_flow") -> MetricDef:
    return register(MetricDef(key, label, group, kind, unit, direction, "flow", leading,
                              time_basis, definition, dimensions=source.dimension_names,
                              params={"source": source, "num": num}))


def _ratio(key: str, label: str, group: str, source: Source, num: Any, den: Any, unit: str,
           definition: str, *, direction: str = "up", leading: bool = True,
           time_basis: str = "row date", scale: float = 1.0) -> MetricDef:
    return register(MetricDef(key, label, group, "table_ratio", unit, direction, "ratio",
                              leading, time_basis, definition,
                              dimensions=source.dimension_names,
                              params={"source": source, "num": num, "den": den,
                                      "scale": scale}))


_ADS_NOTE = (" An ad row's channel is its campaign's channel (campaigns.channel), else the "
             "platform's default (google_ads, bing → paid_search; linkedin, meta → "
             "paid_social).")

_flow("impressions", "Ad impressions", GROUP_ADS, ADS, lambda t: t.impressions, "count",
      "Σ impressions of ad_performance rows dated in the period." + _ADS_NOTE,
      time_basis="ad_performance date")
_flow("clicks", "Ad clicks", GROUP_ADS, ADS, lambda t: t.clicks, "count",
      "Σ clicks of ad_performance rows dated in the period." + _ADS_NOTE,
      time_basis="ad_performance date")
_flow("ad_engagements", "Ad engagements", GROUP_ADS, ADS, lambda t: t.engagements, "count",
      "Σ engagements (likes, shares, comments, follows, video views as the platform counts "
      "them) of ad_performance rows dated in the period." + _ADS_NOTE,
      time_basis="ad_performance date")
_flow("ad_conversions", "Ad conversions", GROUP_ADS, ADS, lambda t: t.conversions, "count",
      "Σ platform-reported conversions (may be fractional) of ad_performance rows dated in "
      "the period; the platforms' own attribution, not funnelboard's." + _ADS_NOTE,
      time_basis="ad_performance date")
_flow("ad_spend", "Ad spend", GROUP_ADS, AD_SPEND, lambda t: t.amount, "currency",
      "Σ spend of ad_performance rows dated in the period, in the reporting currency (the "
      "latest fx rate on or before the row's date; a row without a rate is left out and the "
      "notes say so)." + _ADS_NOTE, direction="neutral", leading=True,
      time_basis="ad_performance date")
_ratio("ctr", "CTR", GROUP_ADS, ADS,
       lambda t: ibis.ifelse(t.impressions.notnull(), _zero(t.clicks), 0),
       lambda t: _zero(t.impressions), "ratio",
       "Click-through rate: Σ clicks ÷ Σ impressions of the ad_performance rows of the period "
       "(rows without impressions are left out of both), recomputed from sums at the "
       "requested grain — never an average of daily or imported ratios." + _ADS_NOTE,
       time_basis="ad_performance date")
_ratio("cpc", "CPC", GROUP_ADS, AD_SPEND,
       lambda t: ibis.ifelse(t.fb_known, t.amount, 0.0),
       lambda t: ibis.ifelse(t.fb_known, _zero(t.clicks), 0), "currency",
       "Cost per click: Σ spend (reporting currency) ÷ Σ clicks of the ad_performance rows of "
       "the period, recomputed from sums — never an average. Rows whose spend has no "
       "exchange rate are left out of both sums." + _ADS_NOTE, direction="down",
       time_basis="ad_performance date")
_ratio("cpm", "CPM", GROUP_ADS, AD_SPEND,
       lambda t: ibis.ifelse(t.fb_known, t.amount, 0.0),
       lambda t: ibis.ifelse(t.fb_known, _zero(t.impressions), 0), "currency",
       "Cost per thousand impressions: Σ spend (reporting currency) ÷ Σ impressions × 1000 of "
       "the ad_performance rows of the period, recomputed from sums — never an average. Rows "
       "whose spend has no exchange rate are left out of both sums." + _ADS_NOTE,
       direction="down", time_basis="ad_performance date", scale=1000.0)

_ACCOUNT_MATCH = ("ad_account_engagement rows are matched to accounts by account_id, else by "
                  "company_domain against accounts.domain (case, scheme and www. ignored), "
                  "else by company_name against accounts.name; unmatched rows are left out "
                  "(notes). Touchpoints count for their account, else their contact's account.")
register(MetricDef(
    "engaged_accounts", "Engaged accounts", GROUP_ABM, "mk_accounts", "count", "up", "flow",
    True, "ad_account_engagement date / touchpoint occurred_at",
    "Distinct accounts that engaged with ads in the period: ad_account_engagement rows with "
    "clicks or engagements > 0, or touchpoints of kind " + " / ".join(AD_ENGAGEMENT_KINDS)
    + ". Counted once per period, whichever source and however often. " + _ACCOUNT_MATCH,
    dimensions=ACCOUNT_DIMENSIONS,
    params={"calc": "engaged", "reach": False, "target": False}))
_TARGET_DEN = ("÷ target accounts (accounts.is_target_account true) created on or before the "
               "period end, or without a created_at; a target account counts in the numerator "
               "only from the period it was created in (a quarter's value is its distinct "
               "accounts over the whole quarter). ")
register(MetricDef(
    "target_account_reach", "Target-account reach", GROUP_ABM, "mk_accounts", "ratio", "up",
    "ratio", True, "ad_account_engagement date / touchpoint occurred_at",
    "Target accounts that ads reached in the period — ad_account_engagement rows with "
    "impressions, clicks or engagements > 0, or touchpoints of kind "
    + " / ".join(AD_REACH_KINDS) + " — " + _TARGET_DEN + _ACCOUNT_MATCH,
    dimensions=ACCOUNT_DIMENSIONS[:-1],
    params={"calc": "target_share", "reach": True, "target": True}))
register(MetricDef(
    "target_account_engagement", "Target-account engagement", GROUP_ABM, "mk_accounts",
    "ratio", "up", "ratio", True, "ad_account_engagement date / touchpoint occurred_at",
    "Target accounts that engaged with ads in the period — ad_account_engagement rows with "
    "clicks or engagements > 0, or touchpoints of kind " + " / ".join(AD_ENGAGEMENT_KINDS)
    + " — " + _TARGET_DEN + _ACCOUNT_MATCH,
    dimensions=ACCOUNT_DIMENSIONS[:-1],
    params={"calc": "target_share", "reach": False, "target": True}))


def _stage_label(stage: str) -> str:
    return stage.upper() if len(stage) == 3 else stage.replace("_", " ")


def stage_metrics(settings: Settings) -> list[MetricDef]:
    """``cost_per_<stage>`` and ``icp_share_<plural>`` for every configured stage."""
    out = []
    for stage in settings.stages:
        plural = settings.stage_plurals[stage]
        name = _stage_label(stage)
        out.append(MetricDef(
            f"cost_per_{stage}", f"Cost per {name}", GROUP_COST, "mk_cost_per", "currency",
            "down", "ratio", stage != settings.stages[-1],
            "cost month / ad date; stage date (period) or contact created_at (cohort)",
            f"Marketing cost ÷ contacts that reached {stage}. Marketing cost = costs rows of "
            "team marketing (every category; an empty team counts as marketing) + "
            "ad_performance spend, in the reporting currency; a costs row of category ad_spend "
            "for a month and channel that ad_performance covers is left out so spend counts "
            "once (extra.cost_sources and the notes say which sources were used). Period "
            f"basis: cost of the period ÷ contacts whose {stage} reached date (cumulative or "
            "strict rule) falls in it. Cohort basis: cost of the creation period ÷ the "
            f"contacts created in it that have reached {stage} by the as-of date. By channel "
            "and campaign, costs keep their own channel and campaign (rows without one are "
            "not spread over the others) and contacts their first-touch channel and "
            f"campaign. Empty when no contact reached {stage}.",
            dimensions=("channel", "campaign"),
            params={"stage": stage, "default_basis": "period"}))
        out.append(MetricDef(
            f"icp_share_{plural}", f"ICP share of {plural.replace('_', ' ')}"
            if plural not in ("mqls", "sqls") else f"ICP share of {plural[:3].upper()}s",
            GROUP_ABM, "mk_icp_share", "ratio", "up", "ratio", True,
            "contact created_at (cohort) or stage date (period)",
            f"Share of the contacts that reached {stage} (same basis and rule as '{plural}') "
            "whose account is in the ideal customer profile: icp_tier (trimmed, any case) one "
            "of " + ", ".join(f"'{t}'" for t in ICP_TIERS) + ", or is_target_account true. A "
            "contact without a matching account counts in the denominator and not in the "
            "numerator (extra.no_account); extra also gives the tier-A and target counts.",
            dimensions=FUNNEL_DIMENSIONS, params={"stage": stage}))
    return out


register_family(stage_metrics)

_ratio("lead_score_avg", "Average lead score", "leads", CONTACTS_SOURCE,
       lambda t: t.fb_score, lambda t: t.fb_scored, "score",
       "Average lead_score of the contacts created in the period that have a score "
       "(Σ score ÷ scored contacts; unscored contacts are left out). Scores are used as "
       "imported.", time_basis="contact created_at")
_ratio("high_score_share", "High-score share", "leads", CONTACTS_SOURCE,
       lambda t: t.fb_high, lambda t: t.fb_scored, "ratio",
       "Share of the scored contacts created in the period whose lead_score is at or above the "
       "MQL score threshold (settings: funnel.mql_score_threshold). Scores are used as "
       "imported; MQL status always comes from stage events, never from this threshold.",
       time_basis="contact created_at")

_MEETING_DIMS_NOTE = (" A meeting's channel is its own, else its contact's channel; its account "
                      "is its own, else its contact's.")
_flow("meetings_booked", "Meetings booked", GROUP_SALES, _meeting_source("fb_booked"),
      lambda t: t.fb_booked.notnull().cast("int64"), "count",
      "Meetings of every kind (demo, discovery, meeting) booked in the period, by booked_at, "
      "whatever their later status." + _MEETING_DIMS_NOTE, time_basis="meeting booked_at")
_flow("demos_booked", "Demos booked", GROUP_SALES, _meeting_source("fb_booked", ("demo",)),
      lambda t: t.fb_booked.notnull().cast("int64"), "count",
      "Meetings of kind demo booked in the period, by booked_at; a demo that was later a "
      "no-show or canceled still counts as booked." + _MEETING_DIMS_NOTE,
      time_basis="meeting booked_at")
_flow("meetings_held", "Meetings held", GROUP_SALES,
      _meeting_source("fb_held_at", statuses=("held",)),
      lambda t: t.fb_held_at.notnull().cast("int64"), "count",
      "Meetings of every kind with status held, by the date they took place (scheduled_for, "
      "else booked_at)." + _MEETING_DIMS_NOTE, time_basis="meeting scheduled_for")
_ratio("no_show_rate", "No-show rate", GROUP_SALES,
       _meeting_source("fb_held_at", statuses=("held", "no_show")),
       lambda t: (t.fb_status == "no_show").cast("int64"),
       lambda t: t.fb_held_at.notnull().cast("int64"), "ratio",
       "Meetings with status no_show ÷ meetings that were due (status held or no_show), by the "
       "date they were scheduled for (else booked_at); canceled and still-scheduled meetings "
       "are left out." + _MEETING_DIMS_NOTE, direction="down",
       time_basis="meeting scheduled_for")
register(MetricDef(
    "demo_to_opportunity_rate", "Demo → opportunity rate", GROUP_SALES, "mk_demo_opportunity",
    "ratio", "up", "ratio", True, "meeting booked_at",
    "Demos (meetings of kind demo, by booked_at; a no-show or canceled demo is still booked) "
    "whose contact or account got an opportunity created within N days after the booking "
    "(same local day up to N days later; N = settings economics.demo_to_opportunity_days, "
    "default 90) ÷ demos booked. A demo booked less than N days before the as-of date cannot "
    "be judged yet: it is left out of both numerator and denominator and counted in "
    "extra.young (a period of only young demos has no value)." + _MEETING_DIMS_NOTE,
    dimensions=MEETING_DIMENSIONS[1:]))

_flow("event_registrants", "Event registrants", GROUP_ENGAGEMENT, EVENTS,
      lambda t: t.registrants, "count",
      "Σ registrants of the events (webinars, trade shows, conferences, …) whose starts_at "
      "falls in the period, as the events table records them.",
      time_basis="event starts_at")
_flow("event_attendees", "Event attendees", GROUP_ENGAGEMENT, EVENTS,
      lambda t: t.attendees, "count",
      "Σ attendees of the events (webinars, trade shows, conferences, …) whose starts_at "
      "falls in the period, walk-ins included.", time_basis="event starts_at")
_ratio("attendance_rate", "Attendance rate", GROUP_ENGAGEMENT, EVENTS,
       lambda t: ibis.ifelse(t.registrants.coalesce(0) > 0, _zero(t.attendees), 0),
       lambda t: _zero(t.registrants), "ratio",
       "Σ attendees ÷ Σ registrants over the events starting in the period that have "
       "registrants (events without registrants, such as walk-in trade shows, are left out of "
       "both sums).", time_basis="event starts_at")

register(MetricDef(
    "social_audience", "Social audience", GROUP_ENGAGEMENT, "table_stock", "count", "up",
    "stock", True, "engagement date (last value in the period)",
    "Followers at the period end: per platform, the audience of the last engagement row of "
    "kind social dated in the period, summed over platforms (a quarter shows its last value, "
    "never a sum of months).",
    dimensions=SOCIAL.dimension_names,
    params={"source": SOCIAL, "num": lambda t: t.audience, "key": lambda t: t.platform}))
_flow("social_engagements", "Social engagements", GROUP_ENGAGEMENT, SOCIAL,
      lambda t: t.engagements, "count",
      "Σ engagements (reactions, comments, shares, clicks as each platform counts them) of "
      "engagement rows of kind social dated in the period.",
      time_basis="engagement date")
_ratio("social_engagement_rate", "Social engagement rate", GROUP_ENGAGEMENT, SOCIAL,
       lambda t: ibis.ifelse(t.impressions.coalesce(0) > 0, _zero(t.engagements), 0),
       lambda t: _zero(t.impressions), "ratio",
       "Σ engagements ÷ Σ impressions of engagement rows of kind social dated in the period "
       "(rows without impressions are left out of both sums).", time_basis="engagement date")
_flow("press_mentions", "Press mentions", GROUP_ENGAGEMENT, PRESS, lambda t: t.mentions,
      "count", "Σ mentions of engagement rows of kind press dated in the period (PR and earned "
      "media).", time_basis="engagement date")

register(MetricDef(
    "self_reported_source_mix", "Self-reported source mix", "leads", "mk_mix", "ratio",
    "neutral", "ratio", True, "contact created_at",
    "Distribution of contacts.self_reported_source (\"how did you hear about us\", trimmed, "
    "as written) over the contacts created in the period, beside software attribution. With "
    "--by self_reported_source each answer is a row: contacts with that answer (numerator) ÷ "
    "contacts created in the period that answered (denominator), so the rows of a period sum "
    "to 1. Without it, the value is the answer rate: contacts that answered ÷ contacts "
    "created. extra.no_answer counts contacts without an answer.",
    dimensions=("self_reported_source", *FUNNEL_DIMENSIONS)))

_FOLLOW = ("A contact's follow-up is its first meeting booked (booked_at, any kind or status) "
           "or sales_touch touchpoint (occurred_at), whichever comes first at or after its "
           "first mql entry. By the period of the first mql entry.")
register(MetricDef(
    "mql_follow_up_hours", "MQL follow-up (hours)", GROUP_SALES, "mk_follow_up", "hours",
    "down", "ratio", True, "first mql entry",
    "Median hours from a contact's first mql entry to its follow-up, over the MQLs of the "
    "period that have been followed up by the as-of date (p75 and not_followed_up in extra). "
    + _FOLLOW, dimensions=FUNNEL_DIMENSIONS, params={"calc": "hours", "sla": False}))
register(MetricDef(
    "sla_met_rate", "MQL follow-up SLA met", GROUP_SALES, "mk_follow_up", "ratio", "up",
    "ratio", True, "first mql entry",
    "Share of the period's MQLs followed up within the SLA hours (setting "
    "funnel.mql_sla_hours, default 24; the marketing–sales SLA of S4-8). MQLs not followed "
    "up whose deadline (first mql entry + SLA hours) falls after the as-of date are "
    "pending: left out of both sums and counted in extra.pending. " + _FOLLOW,
    dimensions=FUNNEL_DIMENSIONS, params={"calc": "sla", "sla": True}))

_ratio("survey_score_avg", "Average survey score", GROUP_ENGAGEMENT, SURVEYS,
       lambda t: t.score.cast("float64").coalesce(0.0),
       lambda t: t.score.notnull().cast("int64"), "score",
       "Average score of the survey_responses answered in the period (Σ score ÷ answers with "
       "a score; text-only answers are left out). Break down by survey and question: "
       "averaging different questions' scales together is rarely meaningful.",
       direction="up", leading=False, time_basis="survey responded_at")
_flow("survey_responses", "Survey responses", GROUP_ENGAGEMENT, SURVEYS,
      lambda t: t.survey.cast("string").concat("|", t.response_id.cast("string")), "count",
      "Distinct survey responses (survey + response_id) answered in the period; by question, "
      "the responses that answered it.", time_basis="survey responded_at",
      kind="table_distinct", leading=False)
