"""Customers and unit economics (metrics.md §5): MRR and its movements, logo and revenue churn,
retention, ARPA, LTV, CAC, payback, ROI, profit, NPS and product usage.

**The account-month grid.** Every MRR metric reads one table built in the engine by
:func:`mrr_grid`: one row per account and month, from the account's first ``mrr`` row to the
last month of the query window (as-of applied), with 0 for a month without a row. Window
functions over each account's months (ordered by month) give the previous month, whether the
account ever paid before, the MRR twelve months back and trailing sums (each metric's query
builds only the ones it reads, and finds the opening month itself: one query per metric). On
it:

* **movements** (month over month, per account): *new* = first month ever > 0; *reactivation* =
  > 0 again after one or more months at 0; *churned* = the first month at 0 after a month > 0
  (the whole previous MRR); *expansion* / *contraction* = the increase / decrease when both
  months are > 0. The first month of data (the earliest ``mrr`` month) is the opening balance
  and has no movement. So for every month: MRR(M−1) + new + expansion − contraction −
  churned + reactivation = MRR(M). A quarter's movement is the sum of its months.
* **stocks** (MRR, ARR, paying customers, ARPA, LTV, NRR, GRR) take the period's last month
  inside the window — a quarter is its last month, never a sum.
* **rates** (logo churn, gross MRR churn) are monthly; a longer period sums its months'
  numerators and denominators.

Whether an account pays (> 0) is read from the stored amount, so logo counts never depend on
exchange rates; amounts are converted to the reporting currency by
:func:`~funnelboard.metrics.money.in_reporting_currency` (the ``mrr`` table has no currency
column today, so its amounts are in the reporting currency; a ``currency`` column is used as
soon as the schema has one). An amount without a rate has no value: the movements that need
it are left out of the sums, never counted unconverted.

**Account dimensions.** Channel, motion, source, source detail and campaign follow the
account-level rule of data-contract.md: those of the account's first won new-business
opportunity, else of its earliest contact (:func:`~funnelboard.metrics.dimensions.
account_rollup` through the funnel engine); segment, industry, ICP tier and the target flag
come from ``accounts``; region from the account, else its earliest contact.

**Monthly metrics** (everything built on MRR or monthly costs) accept the grains month,
quarter and year; a range starting mid-month covers that whole month (still flagged
partial). NPS and product usage accept every grain.

**Bookings and pipeline** (``marketing_roi``, ``pipeline_to_spend``, ``campaign_roi``) are the
pipeline metrics ``marketing_sourced_revenue``, ``marketing_sourced_pipeline`` and ``bookings``
(by campaign) of :mod:`funnelboard.metrics.pipeline`, run for the query's whole months, so
the figures agree with the pipeline page: deal status as of the as-of date, source type
derived from the primary contact's motion when empty (counted in
``extra.derived_source_type``), amounts in the reporting currency at the close date (open
deals: the as-of date).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.costs import cost_rows
from funnelboard.metrics.dimensions import needed
from funnelboard.metrics.engine import Compiler, Engine, Window, compiler
from funnelboard.metrics.money import AMOUNT, in_reporting_currency
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef, register
from funnelboard.metrics.tables import Source, prepared, text
from funnelboard.settings import Settings

GROUP = "customers"
ECONOMICS = "unit_economics"
MONTHLY_GRAINS = ("month", "quarter", "year")
#: Dimensions read from the account's first won new-business deal, else its earliest contact.
CONTACT_SIDE = ("channel", "motion", "source", "source_detail", "campaign")
#: Dimensions stored on ``accounts``.
ACCOUNT_SIDE = ("segment", "region", "industry", "icp_tier", "is_target_account")
ACCOUNT_DIMS = (*CONTACT_SIDE, *ACCOUNT_SIDE)
ALL_TEAMS = ("marketing", "sales", "customer_success", "product", "ga")
MRR_BASIS = "mrr month (first day of the month)"
_GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}


# -- small helpers ------------------------------------------------------------------------------

def _num(value: Any) -> float | int | None:
    """A JSON-ready number (Decimal → float; whole counts stay int)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    out = float(value)
    return None if math.isnan(out) else out


def _count(value: Any) -> int:
    return int(value or 0)


def _div(num: float | int | None, den: float | int | None) -> float | None:
    """num ÷ den; None when either is unknown or the denominator is 0."""
    if num is None or den is None or not den:
        return None
    return float(num) / float(den)


def _annualised(monthly: float | None) -> float | None:
    """A monthly rate as a yearly one: 1 − (1 − m)^12 (not m × 12)."""
    return None if monthly is None else 1 - (1 - monthly) ** 12


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _dim(value: Any) -> Any:
    return None if value is None or value == "" else value


def _check_grain(metric: MetricDef, query: MetricQuery) -> None:
    if query.grain not in MONTHLY_GRAINS:
        raise UsageError(f"'{metric.key}' is computed from monthly data (MRR months and monthly "
                         "costs); use --grain month, quarter or year.")


def _month_query(query: MetricQuery) -> MetricQuery:
    """The query with its start moved to the first day of its month (monthly metrics cover
    whole months)."""
    return query.replace(start=_month(query.start)) if query.start else query


def _bucket(day: ir.DateValue, query: MetricQuery, settings: Settings) -> ir.DateValue:
    return periods.bucket(day, query.grain, fiscal_start=settings.fiscal_year_start_month,
                          week_start=settings.week_start)


def _filter(t: ir.Table, query: MetricQuery) -> ir.Table:
    """Filters: values of one dimension are ORed, dimensions ANDed; ``(none)`` is empty."""
    for dim, values in query.filters:
        keep = [v for v in values if v != NONE_LABEL]
        cond = t[dim].isin(keep) if keep else ibis.literal(False)
        if NONE_LABEL in values or "" in values:
            cond = cond | t[dim].isnull()
        t = t.filter(cond)
    return t


def _once(fn: Compiler) -> Compiler:
    """A compiler whose notes are each added once (some metrics build the grid or the cost
    rows twice)."""
    @functools.wraps(fn)
    def run(engine: Engine, metric: MetricDef, query: MetricQuery,
            notes: list[str]) -> list[dict[str, Any]]:
        mine: list[str] = []
        rows = fn(engine, metric, query, mine)
        notes.extend(n for n in dict.fromkeys(mine) if n not in notes)
        return rows
    return run


def _key(row: dict[str, Any], dims: tuple[str, ...]) -> tuple[Any, ...]:
    return (row["period"], *(_dim(row.get(d)) for d in dims))


def _row(key: tuple[Any, ...], dims: tuple[str, ...], value: Any, numerator: Any = None,
         denominator: Any = None, n: int = 0, extra: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    return {"period": key[0], **dict(zip(dims, key[1:], strict=True)), "value": value,
            "numerator": numerator, "denominator": denominator, "n": n, "extra": extra or {}}


# -- account dimensions -------------------------------------------------------------------------

def with_account_dimensions(engine: Engine, t: ir.Table, query: MetricQuery,
                            account: str = "account_id") -> ir.Table:
    """``t`` (one or more rows per account, keyed by column ``account``) with the account
    dimensions the query breaks down or filters by, then the filters applied.

    Segment, industry, ICP tier and the target flag come from ``accounts``; channel, motion,
    source, source detail and campaign from the account roll-up of the funnel engine (first
    won new-business opportunity, else earliest contact); region from the roll-up (account,
    else earliest contact), else ``accounts``. An account without contacts has no channel.
    """
    want = needed(query)
    if not want:
        return t
    cols = list(t.columns)
    a = engine.table("accounts")
    a = a.select(d_account=text(a.account_id),
                 **{f"a_{d}": text(a[d]) for d in ACCOUNT_SIDE})
    j = t.left_join(a, t[account] == a.d_account)
    extra: dict[str, ir.Value] = {d: j[f"a_{d}"] for d in ACCOUNT_SIDE if d in want}
    contact_side = tuple(d for d in CONTACT_SIDE if d in want)
    if contact_side or "region" in want:
        from funnelboard.metrics.funnel import reached

        by = contact_side + (("region",) if "region" in want else ())
        q = query.replace(level="account", by=by, filters=(), basis="cohort",
                          rule="cumulative", compare=None)
        r = reached(engine, q, [])
        r = r.select(r_account=r.account_id, **{f"r_{d}": r[d] for d in by})
        j = j.left_join(r, j[account] == r.r_account)
        for d in contact_side:
            extra[d] = j[f"r_{d}"]
        if "region" in want:
            extra["region"] = j.r_region.coalesce(j.a_region)
    out = j.select(*[j[c] for c in cols], **extra)
    return _filter(out, query)


# -- the account-month grid ----------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """The account-month table of one query, limited to the window's months, with ``period``
    and ``at_end`` (the row is its period's last month inside the window).

    ``fb_latest`` (every row: the last month of the ``mrr`` table up to the window's end)
    rides along in the aggregation of :meth:`rows`, so the note about missing months needs no
    query of its own; ``span`` asks the ``mrr`` table for that month when the aggregation has
    no rows (filters that match no account)."""

    table: ir.Table
    last: dt.date
    span: ir.Table

    def rows(self, engine: Engine, query: MetricQuery, notes: list[str],
             aggs: dict[str, ir.Value], table: ir.Table | None = None
             ) -> list[dict[str, Any]]:
        """``aggs`` of ``table`` (the grid, or rows of it) per period and breakdown; the note
        about months missing from the ``mrr`` table is added to ``notes``."""
        t = self.table if table is None else table
        rows = engine.execute(t.group_by(period=t.period, **{d: t[d] for d in query.by})
                              .aggregate(**aggs, fb_latest=t.fb_latest.max()))
        if rows:
            latest = max(r.pop("fb_latest") for r in rows)
        else:  # filters left no account (or there is no MRR): ask the mrr table itself
            latest = engine.execute(self.span)[0]["latest"]
        if latest is not None and latest < self.last:
            notes.append(f"The mrr table has no rows after {latest:%Y-%m}; the months up to "
                         f"{self.last:%Y-%m} count every account at 0 MRR (churned). Import "
                         "the missing months, or end the range earlier.")
        return rows


#: Grid columns built with window functions or from them, and the columns each is computed
#: from: :func:`mrr_grid` builds only what its caller reads (DuckDB computes every window of a
#: query, read or not: the LTV trailing sums alone made the grid query of new MRR 30 % slower).
_DERIVED: dict[str, tuple[str, ...]] = {
    "prev_pos": (), "prev_mrr": (), "paid_before": (), "mrr_12": (), "pos_12": (),
    "new_logo": ("prev_pos", "paid_before"), "reactivated_logo": ("prev_pos", "paid_before"),
    "new_mrr": ("prev_pos", "paid_before"), "reactivation_mrr": ("prev_pos", "paid_before"),
    "churned_logo": ("prev_pos",), "churned_mrr": ("prev_pos", "prev_mrr"),
    "expansion_mrr": ("prev_pos", "prev_mrr"), "contraction_mrr": ("prev_pos", "prev_mrr"),
    "starting_mrr": ("prev_pos", "prev_mrr"), "churned_w": ("churned_logo",),
    "starting_w": ("prev_pos",),
}


def _with_sources(columns: Iterable[str]) -> set[str]:
    """``columns`` and every derived column they are computed from."""
    out: set[str] = set()
    todo = list(columns)
    while todo:
        col = todo.pop()
        if col not in _DERIVED:
            raise ValueError(f"the MRR grid has no derived column {col!r}")
        if col not in out:
            out.add(col)
            todo.extend(_DERIVED[col])
    return out


def mrr_grid(engine: Engine, query: MetricQuery, notes: list[str],
             columns: Iterable[str] | None = None) -> Grid:
    """The account-month grid (see the module docstring), in one query with its aggregation
    (:meth:`Grid.rows`).

    Columns: ``account_id``, ``month``, ``period``, ``at_end``, ``fb_latest``, the account
    dimensions of the query, ``mrr`` (reporting currency; 0 without a row, NULL without an
    exchange rate), ``pos`` (1 when the stored MRR is > 0), and of the derived columns those
    named in ``columns`` (all when None) with the ones they are computed from: ``prev_pos`` /
    ``prev_mrr`` (the previous month's; 0 before the account's first row), ``paid_before``,
    ``new_mrr``, ``expansion_mrr``, ``contraction_mrr``, ``churned_mrr``,
    ``reactivation_mrr``, ``starting_mrr``, ``new_logo``, ``reactivated_logo``,
    ``churned_logo``, ``mrr_12`` / ``pos_12`` (twelve months earlier, NULL before the
    account's first row), ``churned_w`` / ``starting_w`` (churned logos and logos paying the
    month before, summed over the LTV churn window ending this month).
    """
    settings = engine.settings
    want = _with_sources(_DERIVED if columns is None else columns)
    last = _month(Window.of(query).end)
    m = engine.table("mrr")
    m = m.mutate(fb_month=m.month.cast("date").truncate("M"))
    m = m.filter(m.fb_month <= ibis.literal(last))
    currency = "currency" if "currency" in m.columns else None
    sums = {"s_raw": m.mrr.cast("float64").sum()}
    # without a currency column every amount is in the reporting currency (see
    # in_reporting_currency): the stored sum is the converted one
    if currency is not None:
        m = in_reporting_currency(engine, m, "mrr", currency, m.fb_month, notes, "MRR rows")
        sums = {"s_raw": m.mrr.cast("float64").sum(), "s_amount": m[AMOUNT].sum()}
    src = m.group_by(s_account=text(m.account_id), s_month=m.fb_month).aggregate(**sums)
    src = src.filter(src.s_account.notnull())
    # the first month of data (the opening balance) and the last, inside the grid's query
    opening = src.s_month.min().as_scalar()
    latest = src.s_month.max().as_scalar()
    # accounts × months from each account's first row to the last month, made in the engine
    starts = src.group_by(g_account=src.s_account).aggregate(g_first=src.s_month.min())
    starts = starts.mutate(g_n=ibis.literal(last).delta(starts.g_first, unit="month"))
    g = starts.mutate(g_i=ibis.range(0, starts.g_n + 1).unnest())
    g = g.select(account_id=g.g_account,
                 month=(g.g_first + g.g_i.as_interval("M")).cast("date"))
    g = g.left_join(src, [g.account_id == src.s_account, g.month == src.s_month])
    amount = g.s_amount if currency is not None else g.s_raw
    # (few layers of expressions: each costs Ibis compile time on every query)
    g = g.select(account_id=g.account_id, month=g.month,
                 mrr=ibis.ifelse(g.s_raw.isnull(), 0.0, amount),
                 pos=(g.s_raw.coalesce(0.0) > 0).cast("int64"), fb_moving=g.month != opening,
                 fb_latest=latest)
    w = ibis.window(group_by=g.account_id, order_by=g.month)
    lags: dict[str, ir.Value] = {
        # (the default is the value before the account's first month)
        "prev_pos": g.pos.lag(1, 0).over(w),
        "prev_mrr": g.mrr.lag(1, 0.0).over(w),
        "paid_before": g.pos.sum().over(ibis.cumulative_window(group_by=g.account_id,
                                                               order_by=g.month)) - g.pos,
        "mrr_12": g.mrr.lag(12).over(w), "pos_12": g.pos.lag(12).over(w)}
    if want & set(lags):
        g = g.mutate(**{k: v for k, v in lags.items() if k in want})
    if moves := _movements(g, want):
        g = g.mutate(**moves)
    trailing = ibis.window(group_by=g.account_id, order_by=g.month,
                           preceding=settings.ltv_churn_window_months - 1, following=0)
    if "churned_w" in want:
        g = g.mutate(churned_w=g.churned_logo.sum().over(trailing))
    if "starting_w" in want:
        g = g.mutate(starting_w=g.prev_pos.sum().over(trailing))
    g = with_account_dimensions(engine, g, query)
    first = _month(query.start) if query.start else None
    if first is not None:
        g = g.filter(g.month >= ibis.literal(first))
    period = _bucket(g.month, query, settings)
    period_last = (period + ibis.interval(months=_GRAIN_MONTHS[query.grain] - 1)).cast("date")
    g = g.mutate(period=period, at_end=g.month == ibis.least(period_last, ibis.literal(last)))
    return Grid(g, last, src.aggregate(latest=src.s_month.max()))


def _movements(g: ir.Table, want: set[str]) -> dict[str, ir.Value]:
    """The month-over-month movement columns of the grid named in ``want`` (the opening month,
    where ``fb_moving`` is false, has none)."""
    moving = g.fb_moving
    unknown = ibis.null().cast("float64")

    def starts_paying(again: bool) -> ir.BooleanValue:
        before = (g.paid_before > 0) if again else (g.paid_before == 0)
        return moving & (g.pos == 1) & (g.prev_pos == 0) & before

    def stops() -> ir.BooleanValue:
        return moving & (g.pos == 0) & (g.prev_pos == 1)

    def change(grew: bool) -> ir.FloatingValue:
        both = moving & (g.pos == 1) & (g.prev_pos == 1)
        delta = g.mrr - g.prev_mrr if grew else -(g.mrr - g.prev_mrr)
        return ibis.ifelse(both, ibis.ifelse(delta.isnull(), unknown,
                                             ibis.greatest(delta, 0.0)), 0.0)

    build: dict[str, Callable[[], ir.Value]] = {
        "new_logo": lambda: starts_paying(False).cast("int64"),
        "reactivated_logo": lambda: starts_paying(True).cast("int64"),
        "churned_logo": lambda: stops().cast("int64"),
        "new_mrr": lambda: ibis.ifelse(starts_paying(False), g.mrr, 0.0),
        "reactivation_mrr": lambda: ibis.ifelse(starts_paying(True), g.mrr, 0.0),
        "churned_mrr": lambda: ibis.ifelse(stops(), g.prev_mrr, 0.0),
        "expansion_mrr": lambda: change(True),
        "contraction_mrr": lambda: change(False),
        "starting_mrr": lambda: ibis.ifelse(g.prev_pos == 1, g.prev_mrr, 0.0),
    }
    return {k: f() for k, f in build.items() if k in want}


# -- MRR metrics: one compiler, one measure per key ----------------------------------------------

Aggs = Callable[[ir.Table], dict[str, ir.Value]]
Shape = Callable[[dict[str, Any], Settings], dict[str, Any]]


@dataclass(frozen=True)
class Measure:
    """How an MRR metric aggregates the grid: over every month of the period (flows, rates)
    or only its last month (``at_end``: stocks), and how the aggregates become a row.
    ``reads`` names the derived grid columns ``aggs`` uses (:func:`mrr_grid` builds only
    those)."""

    at_end: bool
    aggs: Aggs
    shape: Shape
    reads: tuple[str, ...] = ()


def _flow(column: str, count: str | None) -> Measure:
    return Measure(
        False,
        lambda t: {"v": t[column].sum(),
                   "k": t[count].sum() if count else (t[column] > 0).cast("int64").sum()},
        lambda r, s: {"value": _num(r["v"]), "n": _count(r["k"])},
        (column, count) if count else (column,))


def _stock_mrr(scale: int) -> Measure:
    return Measure(
        True,
        lambda t: {"v": t.mrr.sum(), "k": t.pos.sum(), "month": t.month.max()},
        lambda r, s: {"value": None if r["v"] is None else _num(r["v"] * scale),
                      "n": _count(r["k"]), "extra": {"month": r["month"]}})


def _logo_churn(r: dict[str, Any], s: Settings) -> dict[str, Any]:
    num, den = _count(r["num"]), _count(r["den"])
    value = _div(num, den)
    return {"value": value, "numerator": num, "denominator": den, "n": den,
            "extra": {"annualised": _annualised(value)}}


def _gross_churn(r: dict[str, Any], s: Settings) -> dict[str, Any]:
    churned, contraction = _num(r["churned"]) or 0.0, _num(r["contraction"]) or 0.0
    den = _num(r["den"]) or 0.0
    value = _div(churned + contraction, den)
    return {"value": value, "numerator": churned + contraction, "denominator": den,
            "n": _count(r["k"]),
            "extra": {"churned_mrr": churned, "contraction_mrr": contraction,
                      "annualised": _annualised(value)}}


def retention_cohort(t: ir.Table) -> ir.BooleanValue:
    """Grid rows in the retention cohort: paying twelve months earlier, MRR known now."""
    return (t.pos_12 == 1) & (t.mrr_12 > 0) & t.mrr.notnull()


def retained_mrr(t: ir.Table, gross: bool) -> ir.FloatingValue:
    """The MRR a cohort row keeps: all of it (NRR) or at most its MRR a year earlier (GRR)."""
    return ibis.least(t.mrr, t.mrr_12) if gross else t.mrr


def _retention(gross: bool) -> Measure:
    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        cohort = retention_cohort(t)
        kept = retained_mrr(t, gross)
        return {"num": ibis.ifelse(cohort, kept, 0.0).sum(),
                "den": ibis.ifelse(cohort, t.mrr_12, 0.0).sum(),
                "k": cohort.cast("int64").sum(), "month": t.month.max()}

    def shape(r: dict[str, Any], s: Settings) -> dict[str, Any]:
        num, den, month = _num(r["num"]) or 0.0, _num(r["den"]) or 0.0, r["month"]
        start = periods.shift_period(month, "month", -12) if month else None
        return {"value": _div(num, den), "numerator": num, "denominator": den,
                "n": _count(r["k"]), "extra": {"month": month, "start_month": start}}

    return Measure(True, aggs, shape, ("mrr_12", "pos_12"))


def _arpa(r: dict[str, Any], s: Settings) -> dict[str, Any]:
    mrr, paying = _num(r["v"]), _count(r["k"])
    return {"value": _div(mrr, paying), "numerator": mrr, "denominator": paying, "n": paying,
            "extra": {"month": r["month"]}}


def paying_with_known_mrr(t: ir.Table) -> ir.BooleanValue:
    """Grid rows ARPA averages over: paying, with an MRR known in the reporting currency."""
    return (t.pos == 1) & t.mrr.notnull()


def _arpa_aggs(t: ir.Table) -> dict[str, ir.Value]:
    paying = paying_with_known_mrr(t)
    return {"v": ibis.ifelse(paying, t.mrr, 0.0).sum(), "k": paying.cast("int64").sum(),
            "month": t.month.max()}


def _ltv_aggs(t: ir.Table) -> dict[str, ir.Value]:
    return {**_arpa_aggs(t), "churned": t.churned_w.sum(), "starting": t.starting_w.sum()}


def ltv_parts(r: dict[str, Any], s: Settings) -> dict[str, Any]:
    """LTV = ARPA(M) × gross margin × min(cap, 1 ÷ trailing logo churn); see ``ltv``."""
    arpa = _div(_num(r["v"]), _count(r["k"]))
    churned, starting = _count(r["churned"]), _count(r["starting"])
    churn = _div(churned, starting)
    cap = s.ltv_lifetime_cap_months
    lifetime = None if churn is None else (cap if churn == 0 else min(cap, 1 / churn))
    value = None if arpa is None or lifetime is None else arpa * s.gross_margin * lifetime
    return {"value": value, "numerator": None, "denominator": None, "n": _count(r["k"]),
            "extra": {"month": r["month"], "arpa": arpa, "gross_margin": s.gross_margin,
                      "trailing_churn": churn, "churned_logos": churned,
                      "starting_logos": starting, "lifetime_months": lifetime,
                      "capped": lifetime == cap if lifetime is not None else None,
                      "window_months": s.ltv_churn_window_months}}


MEASURES: dict[str, Measure] = {
    "mrr": _stock_mrr(1),
    "arr": _stock_mrr(12),
    "paying_customers": Measure(
        True, lambda t: {"k": t.pos.sum(), "month": t.month.max()},
        lambda r, s: {"value": _count(r["k"]), "n": _count(r["k"]),
                      "extra": {"month": r["month"]}}),
    "new_mrr": _flow("new_mrr", "new_logo"),
    "expansion_mrr": _flow("expansion_mrr", None),
    "contraction_mrr": _flow("contraction_mrr", None),
    "churned_mrr": _flow("churned_mrr", "churned_logo"),
    "reactivation_mrr": _flow("reactivation_mrr", "reactivated_logo"),
    "new_logos": Measure(
        False, lambda t: {"k": t.new_logo.sum(), "back": t.reactivated_logo.sum()},
        lambda r, s: {"value": _count(r["k"]), "n": _count(r["k"]),
                      "extra": {"reactivated": _count(r["back"])}},
        ("new_logo", "reactivated_logo")),
    "logo_churn_rate": Measure(
        False, lambda t: {"num": t.churned_logo.sum(), "den": t.prev_pos.sum()}, _logo_churn,
        ("churned_logo", "prev_pos")),
    "gross_mrr_churn_rate": Measure(
        False, lambda t: {"churned": t.churned_mrr.sum(), "contraction": t.contraction_mrr.sum(),
                          "den": t.starting_mrr.sum(), "k": t.prev_pos.sum()}, _gross_churn,
        ("churned_mrr", "contraction_mrr", "starting_mrr", "prev_pos")),
    "nrr": _retention(False),
    "grr": _retention(True),
    "churn_by_source": Measure(
        False, lambda t: {"k": t.churned_logo.sum(), "v": t.churned_mrr.sum()},
        lambda r, s: {"value": _count(r["k"]), "n": _count(r["k"]),
                      "extra": {"churned_mrr": _num(r["v"]) or 0.0}},
        ("churned_logo", "churned_mrr")),
    "arpa": Measure(True, _arpa_aggs, _arpa),
    "ltv": Measure(True, _ltv_aggs, ltv_parts, ("churned_w", "starting_w")),
}


def measure_rows(engine: Engine, key: str, query: MetricQuery,
                 notes: list[str]) -> list[dict[str, Any]]:
    """Rows of the MRR measure ``key`` for ``query`` (before the period grid is filled)."""
    measure = MEASURES[key]
    grid = mrr_grid(engine, query, notes, measure.reads)
    t = grid.table
    if measure.at_end:
        t = t.filter(t.at_end)
    dims = tuple(query.by)
    rows = []
    for r in grid.rows(engine, query, notes, measure.aggs(t), t):
        shaped = measure.shape(r, engine.settings)
        rows.append(_row(_key(r, dims), dims, shaped["value"], shaped.get("numerator"),
                         shaped.get("denominator"), shaped.get("n", 0), shaped.get("extra")))
    if key == "churn_by_source":
        totals: dict[dt.date, int] = {}
        for row in rows:
            totals[row["period"]] = totals.get(row["period"], 0) + row["value"]
        for row in rows:
            row["extra"]["share"] = _div(row["value"], totals[row["period"]])
    return rows


@compiler("mrr")
@_once
def compile_mrr(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    _check_grain(metric, query)
    return measure_rows(engine, str(metric.params["measure"]), query, notes)


# -- costs, new logos and bookings per period ---------------------------------------------------

def _costs(engine: Engine, query: MetricQuery, notes: list[str], teams: tuple[str, ...],
           *, by: tuple[str, ...] = (), only: Callable[[ir.Table], ir.Value] | None = None
           ) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Cost per period (and ``by`` columns of the cost rows: team, channel, campaign, source)
    in the reporting currency: ``{(period, *by): {"amount", "rows"}}``."""
    c = cost_records(engine, query, notes, teams, only=only)
    agg = c.group_by(period=_bucket(c.fb_day, query, engine.settings),
                     **{b: c[b] for b in by}).aggregate(amount=c.amount.sum(), rows=c.count())
    return {(r["period"], *(r[b] for b in by)): {"amount": _num(r["amount"]) or 0.0,
                                                 "rows": _count(r["rows"])}
            for r in engine.execute(agg)}


def cost_records(engine: Engine, query: MetricQuery, notes: list[str],
                 teams: tuple[str, ...], *, only: Callable[[ir.Table], ir.Value] | None = None
                 ) -> ir.Table:
    """The cost rows the cost-based metrics sum (:func:`~funnelboard.metrics.costs.cost_rows`
    of ``teams`` over the query's whole months, ``only`` those matching ``only``), less the
    rows without an exchange rate; ``amount`` is in the reporting currency, ``fb_day`` dates
    the row. The drill-down lists these rows."""
    c = cost_rows(engine, _month_query(query), notes, teams=teams)
    if only is not None:
        c = c.filter(only(c))
    return c.filter(c.amount.notnull())


def is_ad_spend(c: ir.Table) -> ir.BooleanValue:
    """The cost rows paid CAC counts: ad spend."""
    return c.category == "ad_spend"


def new_logo_grid(engine: Engine, query: MetricQuery, notes: list[str]) -> Grid:
    """The account-month grid with ``new_logo``, ``new_mrr`` and ``reactivated_logo``: the
    months where ``new_logo`` is 1 are the new customers CAC and paid CAC divide by."""
    return mrr_grid(engine, query, notes, ("new_logo", "new_mrr", "reactivated_logo"))


def _new_logos(engine: Engine, query: MetricQuery, notes: list[str]
               ) -> dict[tuple[Any, ...], dict[str, Any]]:
    """New logos and their new MRR per period (and the query's dimensions)."""
    grid = new_logo_grid(engine, query, notes)
    t = grid.table
    dims = tuple(query.by)
    rows = grid.rows(engine, query, notes, {"logos": t.new_logo.sum(),
                                            "new_mrr": t.new_mrr.sum(),
                                            "back": t.reactivated_logo.sum()})
    return {_key(r, dims): {"logos": _count(r["logos"]), "new_mrr": _num(r["new_mrr"]) or 0.0,
                            "reactivated": _count(r["back"])} for r in rows}


def _cac_parts(engine: Engine, query: MetricQuery, notes: list[str]
               ) -> dict[dt.date, dict[str, Any]]:
    """Per period: marketing and sales cost, new logos, their new MRR, CAC."""
    costs = _costs(engine, query, notes, ("marketing", "sales"), by=("team", "source"))
    logos = _new_logos(engine, query.replace(by=(), filters=()), notes)
    out: dict[dt.date, dict[str, Any]] = {}
    for (period, team, source), c in costs.items():
        part = out.setdefault(period, {"marketing_cost": 0.0, "sales_cost": 0.0,
                                       "ad_performance_cost": 0.0})
        part[f"{team}_cost"] += c["amount"]
        if source == "ad_performance":
            part["ad_performance_cost"] += c["amount"]
    for (period,), logo in logos.items():
        out.setdefault(period, {"marketing_cost": 0.0, "sales_cost": 0.0,
                                "ad_performance_cost": 0.0}).update(logo)
    for part in out.values():
        part.setdefault("logos", 0)
        part.setdefault("new_mrr", 0.0)
        part.setdefault("reactivated", 0)
        part["cost"] = part["marketing_cost"] + part["sales_cost"]
        part["cac"] = _div(part["cost"], part["logos"])
    return out


@compiler("cac")
@_once
def compile_cac(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """cac, cac_payback_months and ltv_to_cac (one period table of costs and new logos)."""
    _check_grain(metric, query)
    parts = _cac_parts(engine, query, notes)
    key = metric.key
    settings = engine.settings
    ltv: dict[dt.date, dict[str, Any]] = {}
    if key == "ltv_to_cac":
        ltv = {r["period"]: r for r in measure_rows(engine, "ltv", query.replace(by=()), notes)}
    rows = []
    for period, p in sorted(parts.items()):
        extra = {"marketing_cost": p["marketing_cost"], "sales_cost": p["sales_cost"],
                 "ad_performance_cost": p["ad_performance_cost"],
                 "reactivated_not_counted": p["reactivated"]}
        if key == "cac":
            rows.append(_row((period,), (), p["cac"], p["cost"], p["logos"], p["logos"], extra))
        elif key == "cac_payback_months":
            margin_mrr = p["new_mrr"] * settings.gross_margin
            value = _div(p["cost"], margin_mrr) if p["logos"] else None
            extra.update(cac=p["cac"], new_mrr=p["new_mrr"], new_logos=p["logos"],
                         new_arpa=_div(p["new_mrr"], p["logos"]),
                         gross_margin=settings.gross_margin)
            rows.append(_row((period,), (), value, p["cost"], margin_mrr or None, p["logos"],
                             extra))
        else:
            lt = ltv.get(period)
            ltv_value = lt["value"] if lt else None
            extra.update(ltv=ltv_value, cac=p["cac"],
                         ltv_month=lt["extra"].get("month") if lt else None)
            rows.append(_row((period,), (), _div(ltv_value, p["cac"]), ltv_value, p["cac"],
                             p["logos"], extra))
    return rows


@compiler("paid_cac")
@_once
def compile_paid_cac(engine: Engine, metric: MetricDef, query: MetricQuery,
                     notes: list[str]) -> list[dict[str, Any]]:
    """Ad spend of a channel ÷ new logos whose account channel is that channel."""
    _check_grain(metric, query)
    spend = _costs(engine, query.replace(filters=()), notes, ("marketing",), by=("channel",),
                   only=is_ad_spend)
    logos = _new_logos(engine, query.replace(by=("channel",), filters=()), notes)
    wanted = dict(query.filters).get("channel")
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (period, channel), s in spend.items():
        if not s["amount"]:
            continue
        if wanted is not None and not _wanted(channel, wanted):
            continue
        logo = logos.get((period, channel), {"logos": 0, "new_mrr": 0.0})
        key = (period, channel) if query.by else (period,)
        cell = cells.setdefault(key, {"spend": 0.0, "logos": 0, "channels": []})
        cell["spend"] += s["amount"]
        cell["logos"] += logo["logos"]
        cell["channels"].append(channel)
    dims = tuple(query.by)
    return [_row(key, dims, _div(c["spend"], c["logos"]), c["spend"], c["logos"], c["logos"],
                 {"paid_channels": sorted(ch or NONE_LABEL for ch in c["channels"])})
            for key, c in sorted(cells.items(), key=lambda kv: (kv[0][0], str(kv[0][1:])))]


def _wanted(value: Any, values: tuple[str, ...]) -> bool:
    return (value in values) or (value is None and (NONE_LABEL in values or "" in values))


def pipeline_rows(engine: Engine, key: str, query: MetricQuery, notes: list[str], *,
                  by: tuple[str, ...] = (),
                  filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
                  ) -> list[dict[str, Any]]:
    """Rows of the pipeline metric ``key`` (metrics.md §4: ``bookings``,
    ``marketing_sourced_revenue``, ``marketing_sourced_pipeline``) over the query's whole
    months, so ROI uses exactly the bookings and pipeline the pipeline metrics show (deal
    status as of the as-of date, derived source type, amounts in the reporting currency)."""
    from funnelboard.metrics.engine import COMPILERS
    from funnelboard.metrics.registry import resolve

    metric = resolve(key, engine.settings)
    q = _month_query(query).replace(metric=key, by=by, filters=filters, compare=None)
    return COMPILERS[metric.kind](engine, metric, q, notes)


@compiler("roi")
@_once
def compile_roi(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    """marketing_roi and pipeline_to_spend."""
    _check_grain(metric, query)
    settings = engine.settings
    won = metric.key == "marketing_roi"
    source = "marketing_sourced_revenue" if won else "marketing_sourced_pipeline"
    amounts = {r["period"]: {"amount": r["value"], "deals": r["n"],
                             "derived": r["extra"].get("derived_source_type", 0)}
               for r in pipeline_rows(engine, source, query, notes)}
    costs = _costs(engine, query, notes, ("marketing",))
    rows = []
    for period in sorted(set(amounts) | {k[0] for k in costs}):
        a = amounts.get(period, {})
        amount = _num(a.get("amount")) or 0.0
        cost = costs.get((period,), {"amount": 0.0})["amount"]
        extra: dict[str, Any] = {"marketing_cost": cost, "deals": _count(a.get("deals")),
                                 "derived_source_type": _count(a.get("derived"))}
        if won:
            profit = amount * settings.gross_margin
            extra.update(bookings=amount, gross_margin=settings.gross_margin,
                         gross_profit=profit)
            value = _div(profit - cost, cost)
            rows.append(_row((period,), (), value, profit - cost, cost, _count(a.get("deals")),
                             extra))
        else:
            extra["pipeline"] = amount
            rows.append(_row((period,), (), _div(amount, cost), amount, cost,
                             _count(a.get("deals")), extra))
    return rows


@compiler("campaign_roi")
@_once
def compile_campaign_roi(engine: Engine, metric: MetricDef, query: MetricQuery,
                         notes: list[str]) -> list[dict[str, Any]]:
    """(won amount of a campaign's opportunities − its cost) ÷ its cost, per period."""
    _check_grain(metric, query)
    settings = engine.settings
    # won amounts by the opportunity's campaign_id: the bookings metric by campaign
    won = [r for r in pipeline_rows(engine, "bookings", query, notes, by=("campaign",),
                                    filters=query.filters)
           if r.get("campaign") is not None]
    c, lump = campaign_costs(engine, query, notes)
    itemised = c.group_by(period=_bucket(c.fb_day, query, settings),
                          **{d: c[d] for d in query.by}).aggregate(amount=c.amount.sum())
    lump_agg = lump.group_by(period=_bucket(lump.k_day, query, settings),
                             **{d: lump[d] for d in query.by}).aggregate(
        amount=lump.k_cost.sum())
    dims = tuple(query.by)
    cells: dict[tuple[Any, ...], dict[str, float]] = {}
    for r in won:
        cell = cells.setdefault(_key(r, dims), {"won": 0.0, "cost": 0.0, "deals": 0})
        cell["won"] += _num(r["value"]) or 0.0
        cell["deals"] += _count(r["n"])
    for rows in (engine.execute(itemised), engine.execute(lump_agg)):
        for r in rows:
            cell = cells.setdefault(_key(r, dims), {"won": 0.0, "cost": 0.0, "deals": 0})
            cell["cost"] += _num(r["amount"]) or 0.0
    out = []
    for key, cell in sorted(cells.items(), key=lambda kv: (kv[0][0], str(kv[0][1:]))):
        value = _div(cell["won"] - cell["cost"], cell["cost"])
        out.append(_row(key, dims, value, cell["won"] - cell["cost"], cell["cost"],
                        int(cell["deals"]),
                        {"attribution": "sourced", "won": cell["won"], "cost": cell["cost"]}))
    return out


def campaign_costs(engine: Engine, query: MetricQuery, notes: list[str]
                   ) -> tuple[ir.Table, ir.Table]:
    """The cost campaign ROI divides by, over the query's whole months with its filters: the
    itemised rows (:func:`cost_records` of every team tagged with a campaign: ``fb_day``,
    ``campaign``, ``amount``) and the ``campaigns.cost`` of campaigns without any itemised
    row (``campaign``, ``k_day``, ``k_cost``). The drill-down lists both."""
    camps = engine.table("campaigns")
    camps = camps.select(k_campaign=text(camps.campaign_id), k_cost=camps.cost.cast("float64"),
                         k_day=camps.start_date.coalesce(camps.end_date))
    # itemised cost: costs rows and ad spend tagged with the campaign
    c = cost_records(engine, query, notes, ALL_TEAMS)
    c = _filter(c.filter(c.campaign.notnull()), query)
    # campaigns.cost (dated by the start date, else the end date) of campaigns with no
    # itemised cost rows at all (data-contract.md: it is the actual cost "when not itemised")
    as_of = ibis.literal(query.as_of)
    all_costs = engine.table("costs")
    all_costs = all_costs.filter(all_costs.month <= as_of)
    all_ads = engine.table("ad_performance")
    all_ads = all_ads.filter(all_ads.date <= as_of)
    tagged = all_costs.select(t_campaign=text(all_costs.campaign_id)).union(
        all_ads.select(t_campaign=text(all_ads.campaign_id)))
    lump = camps.filter(camps.k_cost.notnull(), camps.k_cost > 0)
    skipped = lump.semi_join(tagged, lump.k_campaign == tagged.t_campaign)
    n_skipped = engine.execute(skipped.aggregate(n=skipped.count()))[0]["n"]
    if n_skipped:
        notes.append(f"{n_skipped} campaign(s) have a cost in campaigns and itemised cost rows; "
                     "the itemised rows are used.")
    lump = lump.anti_join(tagged, lump.k_campaign == tagged.t_campaign)
    undated = lump.filter(lump.k_day.isnull())
    n_undated = engine.execute(undated.aggregate(n=undated.count()))[0]["n"]
    if n_undated:
        notes.append(f"{n_undated} campaign cost(s) have no start or end date and are left "
                     "out.")
    lump = lump.filter(lump.k_day.notnull(), Window.of(_month_query(query)).contains(lump.k_day))
    lump = _filter(lump.mutate(campaign=lump.k_campaign), query)
    return c, lump


@compiler("profit")
@_once
def compile_profit(engine: Engine, metric: MetricDef, query: MetricQuery,
                   notes: list[str]) -> list[dict[str, Any]]:
    """Σ MRR of the period's months − every cost of the period."""
    _check_grain(metric, query)
    grid = mrr_grid(engine, query, notes, ())
    t = grid.table
    revenue: dict[dt.date, float] = {r["period"]: _num(r["v"]) or 0.0
                                     for r in grid.rows(engine, query, notes, {"v": t.mrr.sum()})}
    costs = _costs(engine, query, notes, ALL_TEAMS, by=("team",))
    by_period: dict[dt.date, dict[str, float]] = {}
    for (period, team), c in costs.items():
        by_period.setdefault(period, {})[team] = c["amount"]
    rows = []
    for period in sorted(set(revenue) | set(by_period)):
        rev = revenue.get(period, 0.0)
        teams = by_period.get(period, {})
        cost = sum(teams.values())
        rows.append(_row((period,), (), rev - cost, None, None, 0,
                         {"revenue": rev, "costs": cost,
                          "costs_by_team": dict(sorted(teams.items()))}))
    return rows


# -- NPS and product usage -----------------------------------------------------------------------

def nps_parts(promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    """NPS and its 95 % margin of error from the three counts (metrics.md §5)."""
    n = promoters + passives + detractors
    if not n:
        return {"value": None, "margin_of_error": None}
    p, d = promoters / n, detractors / n
    moe = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return {"value": 100 * (p - d), "margin_of_error": moe}


#: scores of promoters (this or more) and detractors (this or less); between them, passives
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


def nps_responses(engine: Engine, query: MetricQuery) -> ir.Table:
    """The scored responses dated in the query window (``fb_day``), with the dimensions the
    query needs and its filters applied: the rows NPS counts (shared with the drill-down)."""
    r = engine.table("nps_responses")
    r = r.filter(r.score.notnull())
    r = r.mutate(fb_day=r.responded_at.date())
    r = r.filter(Window.of(query).contains(r.fb_day))
    want = needed(query)
    if want - {"survey"}:
        c = engine.table("contacts")
        c = c.select(k_contact=text(c.contact_id), k_account=text(c.account_id))
        r = r.mutate(fb_contact=text(r.contact_id))
        r = r.left_join(c, r.fb_contact == c.k_contact)
        r = r.mutate(fb_account=text(r.account_id).coalesce(r.k_account))
        r = with_account_dimensions(engine, r, query.replace(
            by=tuple(d for d in query.by if d != "survey"),
            filters=tuple(f for f in query.filters if f[0] != "survey")), "fb_account")
    if "survey" in want:
        r = r.mutate(survey=text(r.survey))
        r = _filter(r, query.replace(filters=tuple(f for f in query.filters
                                                   if f[0] == "survey")))
    return r


@compiler("nps")
@_once
def compile_nps(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> list[dict[str, Any]]:
    r = nps_responses(engine, query)
    agg = r.group_by(period=_bucket(r.fb_day, query, engine.settings),
                     **{d: r[d] for d in query.by}).aggregate(
        n=r.count(), promoters=(r.score >= PROMOTER_MIN).cast("int64").sum(),
        detractors=(r.score <= DETRACTOR_MAX).cast("int64").sum())
    dims = tuple(query.by)
    rows = []
    for a in engine.execute(agg):
        n, pro, det = _count(a["n"]), _count(a["promoters"]), _count(a["detractors"])
        parts = nps_parts(pro, n - pro - det, det)
        rows.append(_row(_key(a, dims), dims, parts["value"], pro - det, n, n,
                         {"promoters": pro, "passives": n - pro - det, "detractors": det,
                          "margin_of_error": parts["margin_of_error"]}))
    return rows


def _usage_prepare(engine: Engine, t: ir.Table, query: MetricQuery,
                   notes: list[str]) -> ir.Table:
    t = t.mutate(fb_account=text(t.account_id))
    want = needed(query) & set(ACCOUNT_SIDE)
    if not want:
        return t
    a = engine.table("accounts")
    a = a.select(d_account=text(a.account_id), **{f"a_{d}": text(a[d]) for d in ACCOUNT_SIDE})
    return t.left_join(a, t.fb_account == a.d_account)


def _account_column(dim: str) -> Callable[[Engine, ir.Table], ir.Value]:
    return lambda engine, t: t[f"a_{dim}"]


USAGE = Source("product_usage", "date", dims={d: _account_column(d) for d in ACCOUNT_SIDE},
               prepare=_usage_prepare)


def latest_usage(engine: Engine, metric: MetricDef, query: MetricQuery,
                 notes: list[str]) -> ir.Table:
    """Per period and account (and the query's dimensions) its latest product_usage reading
    dated in the period that reports seats and active users, with ``fb_period``: the
    readings seat utilisation sums (shared with the drill-down)."""
    t, period = prepared(engine, metric, query, notes)
    t = t.filter(t.seats.notnull(), t.seats > 0, t.active_users.notnull())
    t = t.mutate(fb_period=period)
    groups = [t.fb_period, t.fb_account, *[t[d] for d in query.by]]
    latest = ibis.window(group_by=groups, order_by=ibis.desc(t.fb_day))
    t = t.mutate(fb_rank=ibis.row_number().over(latest))
    return t.filter(t.fb_rank == 0)


@compiler("usage_per_seat")
@_once
def compile_usage_per_seat(engine: Engine, metric: MetricDef, query: MetricQuery,
                           notes: list[str]) -> list[dict[str, Any]]:
    """Per account its latest reading in the period (with seats); Σ active users ÷ Σ seats."""
    t = latest_usage(engine, metric, query, notes)
    agg = t.group_by(period=t.fb_period, **{d: t[d] for d in query.by}).aggregate(
        users=t.active_users.sum(), seats=t.seats.sum(), accounts=t.count())
    dims = tuple(query.by)
    return [_row(_key(r, dims), dims, _div(_count(r["users"]), _count(r["seats"])),
                 _count(r["users"]), _count(r["seats"]), _count(r["accounts"]))
            for r in engine.execute(agg)]


# -- registration --------------------------------------------------------------------------------

def _mrr_metric(key: str, label: str, unit: str, direction: str, aggregation: str,
                definition: str, *, leading: bool = False, group: str = GROUP,
                dimensions: tuple[str, ...] = ACCOUNT_DIMS) -> MetricDef:
    return register(MetricDef(key, label, group, "mrr", unit, direction, aggregation, leading,
                              MRR_BASIS, definition, dimensions=dimensions,
                              params={"measure": key}))


_ACCOUNTS = (" By account dimensions: channel, source and campaign of the account's first won "
             "new-business opportunity, else of its earliest contact; segment, industry, ICP "
             "tier from the account.")
_MONTH_ZERO = " A month without an mrr row counts as 0 for that account."
_MOVEMENT = (" Movements compare each account's month with its previous month; the first "
             "month of MRR data is the opening balance and has no movement. A quarter or year "
             "sums its months.")

_mrr_metric(
    "mrr", "MRR", "currency", "up", "stock",
    "Monthly recurring revenue at the period end: the sum of the mrr rows of the period's last "
    "month (a quarter or year is its last month, never a sum of months), in the reporting "
    "currency." + _MONTH_ZERO + " n = paying accounts." + _ACCOUNTS)
_mrr_metric(
    "arr", "ARR", "currency", "up", "stock",
    "Annual recurring revenue = 12 × MRR at the period end (the period's last month; never a "
    "sum of months)." + _MONTH_ZERO + _ACCOUNTS)
_mrr_metric(
    "new_mrr", "New MRR", "currency", "up", "flow",
    "MRR of accounts paying for the first time ever (MRR > 0 in the month, never > 0 before): "
    "their whole first month's MRR. A returning account is reactivation, not new. n = new "
    "logos." + _MOVEMENT + _ACCOUNTS)
_mrr_metric(
    "expansion_mrr", "Expansion MRR", "currency", "up", "flow",
    "Increase in MRR of accounts paying in both the month and the previous month (MRR − "
    "previous MRR when it grew)." + _MOVEMENT + _MONTH_ZERO + _ACCOUNTS)
_mrr_metric(
    "contraction_mrr", "Contraction MRR", "currency", "down", "flow",
    "Decrease in MRR of accounts still paying (previous MRR − MRR when both months are > 0 and "
    "it fell)." + _MOVEMENT + _MONTH_ZERO + _ACCOUNTS)
_mrr_metric(
    "churned_mrr", "Churned MRR", "currency", "down", "flow",
    "MRR lost by accounts that stopped paying: in the first month at 0 (or without a row) "
    "after a month > 0, the whole previous month's MRR. n = churned accounts." + _MOVEMENT
    + _ACCOUNTS)
_mrr_metric(
    "reactivation_mrr", "Reactivation MRR", "currency", "up", "flow",
    "MRR of accounts paying again after one or more months at 0 (or without a row): their "
    "whole MRR of the month they return. A returning account is not a new logo. n = "
    "reactivated accounts." + _MOVEMENT + _ACCOUNTS)
_mrr_metric(
    "paying_customers", "Paying customers", "count", "up", "stock",
    "Accounts with MRR > 0 in the period's last month (a quarter or year is its last month)."
    + _MONTH_ZERO + _ACCOUNTS)
_mrr_metric(
    "new_logos", "New logos", "count", "up", "flow",
    "Accounts whose MRR becomes > 0 for the first time ever in the period. Accounts paying "
    "again after a gap are reactivations, not new logos (counted in extra.reactivated); "
    "accounts already paying in the first month of MRR data are the opening balance."
    + _ACCOUNTS)
_mrr_metric(
    "logo_churn_rate", "Logo churn rate", "ratio", "down", "ratio",
    "Monthly logo churn: accounts whose MRR drops to 0 in month M (including months without a "
    "row) ÷ accounts with MRR > 0 in month M−1. A quarter or year sums its months' numerators "
    "and denominators (the average monthly rate); extra.annualised = 1 − (1 − rate)^12. Empty "
    "when no account paid the month before." + _ACCOUNTS)
_mrr_metric(
    "gross_mrr_churn_rate", "Gross MRR churn rate", "ratio", "down", "ratio",
    "Monthly gross revenue churn: (churned MRR + contraction MRR) of month M ÷ MRR of month "
    "M−1 (the starting MRR). A quarter or year sums its months' numerators and starting MRR "
    "(the average monthly rate); extra.annualised = 1 − (1 − rate)^12. Expansion and "
    "reactivation do not offset it." + _ACCOUNTS)
_mrr_metric(
    "nrr", "Net revenue retention", "ratio", "up", "ratio",
    "Twelve-month net revenue retention at the period's last month E: over the accounts with "
    "MRR > 0 in E−12, Σ MRR(E) ÷ Σ MRR(E−12) (expansion counts, accounts gained since do not). "
    "Empty when no account paid in E−12." + _ACCOUNTS)
_mrr_metric(
    "grr", "Gross revenue retention", "ratio", "up", "ratio",
    "Twelve-month gross revenue retention at the period's last month E: over the accounts "
    "with MRR > 0 in E−12, Σ min(MRR(E), MRR(E−12)) ÷ Σ MRR(E−12) — churn and contraction "
    "count, expansion does not, so it never exceeds 100 %. Empty when no account paid in "
    "E−12." + _ACCOUNTS)
_mrr_metric(
    "churn_by_source", "Churn by source", "count", "down", "flow",
    "Accounts that churned in the period (first month at 0 after paying), with their churned "
    "MRR (extra.churned_mrr) and their share of the period's churned accounts (extra.share); "
    "break down with --by channel, source, source_detail or campaign: the account's original "
    "ones (its first won new-business opportunity, else its earliest contact).")
_mrr_metric(
    "arpa", "ARPA", "currency", "up", "stock",
    "Average revenue per account: MRR ÷ paying customers (accounts with MRR > 0) in the "
    "period's last month. Empty without paying customers." + _ACCOUNTS)
_mrr_metric(
    "ltv", "Customer lifetime value", "currency", "up", "stock",
    "Gross-margin LTV at the period's last month M: ARPA(M) × gross margin (settings) × "
    "min(lifetime cap, 1 ÷ trailing logo churn), trailing churn = Σ churned logos ÷ Σ logos "
    "paying the month before, over the LTV churn window (settings, default 6 months) ending "
    "M. Zero churn gives the cap (default 60 months); empty without paying customers or "
    "without any starting logos in the window." + _ACCOUNTS, group=ECONOMICS)

register(MetricDef(
    "cac", "CAC (fully loaded)", ECONOMICS, "cac", "currency", "down", "ratio", False,
    "cost month / ad spend date; first paying month of new logos",
    "Customer acquisition cost, fully loaded and blended: (marketing cost + costs rows of team "
    "sales, every category) in the period ÷ new logos in the period. Marketing cost = costs "
    "rows of team marketing (or no team) + ad_performance spend, ad spend never counted twice. "
    "Expansion wins and reactivated accounts are not new customers. Empty without new logos.",
    dimensions=(), params={"calc": "cac"}))
register(MetricDef(
    "paid_cac", "Paid CAC", ECONOMICS, "paid_cac", "currency", "down", "ratio", False,
    "ad spend date; first paying month of new logos",
    "Per channel: ad spend of the channel in the period (ad_performance, whose channel is the "
    "campaign's, else the platform's; plus ad_spend cost rows not already reported by the "
    "platforms) ÷ new logos whose account channel is that channel (first won new-business "
    "opportunity, else earliest contact). Only channels with ad spend in the period; the "
    "total sums them. Empty without new logos from those channels.",
    dimensions=("channel",)))
register(MetricDef(
    "ltv_to_cac", "LTV : CAC", ECONOMICS, "cac", "multiple", "up", "ratio", False,
    "LTV at the period's last month; CAC of the period",
    "LTV (at the period's last month) ÷ fully loaded CAC of the period. The usual bar is 3 or "
    "more. Empty when either is empty.", dimensions=(), params={"calc": "ltv_to_cac"}))
register(MetricDef(
    "cac_payback_months", "CAC payback (months)", ECONOMICS, "cac", "months", "down", "ratio",
    False, "cost month / ad spend date; first paying month of new logos",
    "Months of gross margin needed to earn back CAC: CAC ÷ ((new MRR of the period's new "
    "logos ÷ new logos) × gross margin), i.e. (marketing + sales cost) ÷ (new MRR × gross "
    "margin). The usual bar is 12 months or less. Empty without new logos.", dimensions=(),
    params={"calc": "payback"}))
register(MetricDef(
    "marketing_roi", "Marketing ROI", ECONOMICS, "roi", "ratio", "up", "ratio", False,
    "opportunity close_date; cost month / ad spend date",
    "(marketing-sourced bookings × gross margin − marketing cost) ÷ marketing cost, same "
    "period. Bookings = amount of opportunities won with close date in the period (all deal "
    "types), in the reporting currency at the close date; marketing-sourced = source_type "
    "marketing, or, when empty, a primary contact with an inbound motion (counted in "
    "extra.derived_source_type). Marketing cost = costs rows of team marketing (or no team) + "
    "ad spend. Empty without marketing cost.", dimensions=(), params={"calc": "roi"}))
register(MetricDef(
    "pipeline_to_spend", "Pipeline to spend", ECONOMICS, "roi", "multiple", "up", "ratio", True,
    "opportunity created_at; cost month / ad spend date",
    "Marketing-sourced pipeline created in the period (amount of opportunities created, all "
    "deal types, source_type marketing or derived from an inbound primary contact) ÷ "
    "marketing cost of the period. Shown beside marketing ROI because revenue lags spend. "
    "Empty without marketing cost.", dimensions=(), params={"calc": "pipeline_to_spend"}))
register(MetricDef(
    "campaign_roi", "Campaign ROI (sourced)", ECONOMICS, "campaign_roi", "ratio", "up",
    "ratio", False, "opportunity close_date; cost date",
    "Sourced ROI per campaign: (amount of opportunities won in the period whose campaign_id "
    "is the campaign − campaign cost in the period) ÷ campaign cost. Campaign cost = costs "
    "rows and ad spend tagged with the campaign, or, for a campaign with no such rows, "
    "campaigns.cost dated by its start date (else end date). Use --by campaign; without it, "
    "all campaigns together. Attribution-based ROI comes with the attribution models. Empty "
    "without cost.", dimensions=("campaign",)))
register(MetricDef(
    "profit", "Profit", ECONOMICS, "profit", "currency", "up", "flow", False,
    "mrr month; cost month / ad spend date",
    "Revenue − costs of the period: revenue = Σ MRR of the period's months (recurring "
    "revenue); costs = every costs row (all teams, all categories) + ad_performance spend, "
    "ad spend never counted twice. Cost rows without a team count as marketing (with a "
    "warning). extra has revenue, costs and costs by team.", dimensions=()))
register(MetricDef(
    "nps", "NPS", GROUP, "nps", "score", "up", "ratio", True, "nps_responses responded_at",
    "Net Promoter Score: 100 × (promoters (9–10) − detractors (0–6)) ÷ responses dated in the "
    "period; passives (7–8) count in the denominator. extra has promoters, passives, "
    "detractors and the 95 % margin of error 1.96 × 100 × √((P + D − (P − D)²) ÷ n), P and D "
    "the promoter and detractor shares. By survey and by the account's segment, region, "
    "industry, ICP tier (the response's account, else its contact's).",
    dimensions=("segment", "region", "industry", "icp_tier", "is_target_account", "survey")))
register(MetricDef(
    "product_active_users", "Product active users", GROUP, "table_stock", "count", "up",
    "stock", True, "product_usage date",
    "Active users at the period end: per account, active_users of its latest product_usage "
    "reading dated in the period, summed over accounts (a stock: readings are never summed "
    "over days).", dimensions=ACCOUNT_SIDE,
    params={"source": USAGE, "num": lambda t: t.active_users, "key": lambda t: t.fb_account}))
register(MetricDef(
    "usage_per_seat", "Active users per seat", GROUP, "usage_per_seat", "ratio", "up", "stock",
    True, "product_usage date",
    "Seat utilisation at the period end: per account its latest product_usage reading dated "
    "in the period that reports seats; Σ active users ÷ Σ seats over those accounts (never an "
    "average of per-account ratios). Empty without seats.", dimensions=ACCOUNT_SIDE,
    params={"source": USAGE}))
register(MetricDef(
    "product_key_events", "Product key events", GROUP, "table_flow", "count", "up", "flow",
    True, "product_usage date",
    "Key product events: the sum of product_usage.key_events over the readings dated in the "
    "period (events are a flow, so they add up over days).", dimensions=ACCOUNT_SIDE,
    params={"source": USAGE, "num": lambda t: t.key_events}))
