"""Exchange rates, monthly costs per team and category, and quarterly targets."""

from __future__ import annotations

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import CampaignPlan
from funnelboard.demo.deals import Deals
from funnelboard.demo.marketing import EventFacts
from funnelboard.demo.revenue import Revenue
from funnelboard.demo.timeline import Timeline, add_months, epoch_day
from funnelboard.demo.writers import DAY, FloatArray, IntArray

FX_MEAN = {"EUR": 1.09, "GBP": 1.27}
#: (team, category, monthly amount at the 50k-contact scale, grows with headcount)
FIXED_COSTS: tuple[tuple[str, str, float, bool], ...] = (
    ("marketing", "programs", 6_000, True), ("marketing", "content", 9_000, True),
    ("marketing", "tools", 7_500, False), ("marketing", "agency", 8_000, False),
    ("marketing", "salaries", 60_000, True), ("sales", "salaries", 150_000, True),
    ("sales", "tools", 9_000, False), ("customer_success", "salaries", 45_000, True),
    ("product", "salaries", 170_000, True), ("ga", "salaries", 50_000, True),
    ("ga", "other", 18_000, False),
)
STAGE_TARGETS = ("leads", "mqls", "sqls", "opportunities", "customers")


def fx_series(tl: Timeline, seed: int) -> dict[str, FloatArray]:
    """Daily rates to USD (a mean-reverting random walk per currency)."""
    rng = np.random.default_rng([seed, 800])
    out: dict[str, FloatArray] = {}
    for cur, mean in FX_MEAN.items():
        x = np.zeros(tl.n)
        shock = rng.normal(0, .0045, tl.n)
        for i in range(1, tl.n):
            x[i] = x[i - 1] * .995 + shock[i]
        out[cur] = np.round(mean * np.exp(x), 5)
    return out


def write_fx(out: w.CsvOut, tl: Timeline, fx: dict[str, FloatArray]) -> None:
    """Weekday rates for EUR and GBP; USD is 1 (one row at the start)."""
    days = np.flatnonzero(tl.weekday < 5)
    n = len(days)
    out.write({"date": w.dates([tl.d0]), "currency": w.const("USD", 1),
               "rate_to_reporting": w.nums([1.0], 5)})
    for cur, rates in fx.items():
        out.write({"date": w.dates(tl.day[days]), "currency": w.const(cur, n),
                   "rate_to_reporting": w.nums(rates[days], 5)})


def write_costs(out: w.CsvOut, tl: Timeline, plan: CampaignPlan, spend: FloatArray,
                facts: EventFacts, rev: Revenue, scale: float, seed: int) -> None:
    rng = np.random.default_rng([seed, 810])
    months = tl.month_start_days()
    m_count = len(months)
    growth = tl.growth()[np.searchsorted(tl.day, np.maximum(months, tl.d0))]
    rows: list[tuple[int, str, str, str, str, float]] = []  # month, cat, team, channel, camp
    monthly_spend = np.zeros((len(plan.campaigns), m_count))
    for m in range(m_count):
        monthly_spend[:, m] = spend[:, tl.month == m].sum(axis=1)
    for ch in ("paid_search", "paid_social"):
        members = [i for i, c in enumerate(plan.campaigns) if c.channel == ch and c.platform]
        total = monthly_spend[members].sum(axis=0)
        rows += [(m, "ad_spend", "marketing", ch, "", float(total[m])) for m in range(m_count)
                 if total[m] > 0]
    for i, ci in enumerate(facts.campaign):
        ev = tl.events[i]
        c = plan.campaigns[ci]
        rows.append((int(tl.month[ev.day - tl.d0]), "events", "marketing", c.channel, c.id,
                     facts.cost[i]))
    for team, category, base, grows in FIXED_COSTS:
        factor = growth if grows else np.ones(m_count)
        for m in range(m_count):
            rows.append((m, category, team, "", "", base * scale * factor[m]
                         * rng.uniform(.96, 1.04)))
    revenue = rev.mrr.sum(axis=0)
    for m in range(m_count):
        rows.append((m, "cogs", "product", "", "", 4_000 * scale + .14 * revenue[m]))
    rows.sort(key=lambda r: (r[0], r[2], r[1], r[3], r[4]))
    n = len(rows)
    out.write({
        "month": w.dates(months[[r[0] for r in rows]]),
        "category": w.strings([r[1] for r in rows]),
        "amount": w.money([r[5] for r in rows]),
        "team": w.strings([r[2] for r in rows]),
        "channel": w.strings([r[3] for r in rows]),
        "campaign_id": w.strings([r[4] for r in rows]),
    }, n)


def write_targets(out: w.CsvOut, tl: Timeline, stage_q: IntArray, lead_q: IntArray,
                  deals: Deals, seed: int) -> None:
    """Quarterly OKRs (plan = last year's same quarter x 1.3, else this quarter's pace),
    bookings quotas, and lead plans per channel; plus the quarter after the end."""
    rng = np.random.default_rng([seed, 820])
    quarters = [*tl.quarters, add_months(tl.quarters[-1], 3)]
    nq = len(quarters)
    q_of = quarter_of(tl, deals.created)
    closed = deals.close <= tl.end_ts
    q_close = quarter_of(tl, deals.close)
    new = deals.type == 0
    pipeline = np.asarray(np.bincount(q_of[new], weights=deals.amount[new], minlength=nq)[:nq],
                          dtype=np.float64)
    won = closed & deals.won
    bookings = np.asarray(np.bincount(q_close[won], weights=deals.amount[won], minlength=nq)[:nq],
                          dtype=np.float64)
    series: list[tuple[str, str, str, str, FloatArray, int]] = []
    for s, name in enumerate(STAGE_TARGETS):
        series.append((name, "", "", "okr", _pad(stage_q[s], nq), 0))
    series.append(("pipeline_created", "", "", "okr", pipeline, -3))
    series.append(("bookings", "", "", "quota", bookings, -3))
    for key in ("organic_search", "paid_search", "paid_social", "webinar", "outbound_email",
                "outbound_sdr"):
        series.append(("leads", "channel", key, "plan", _pad(lead_q[cat.K[key]], nq), 0))
    rows: list[tuple[str, int, float, str, str, str]] = []
    complete = _complete(tl)
    for metric, dim, value, kind, actual, digits in series:
        for q in range(nq):
            if q >= 4 and complete[q - 4]:
                base = actual[q - 4] * 1.3
            elif complete[q]:
                base = actual[q] * 1.05
            else:
                prev = [i for i in range(q) if complete[i]]
                base = actual[prev[-1]] * 1.1 if prev else 0.0
            target = round(float(base * rng.uniform(.96, 1.08)), digits)
            if target > 0:
                rows.append((metric, epoch_day(quarters[q]), target, dim, value, kind))
    n = len(rows)
    out.write({
        "metric": w.strings([r[0] for r in rows]),
        "period_start": w.dates([r[1] for r in rows]),
        "grain": w.const("quarter", n),
        "target": w.nums([r[2] for r in rows], 2),
        "dimension": w.strings([r[3] for r in rows]),
        "dimension_value": w.strings([r[4] for r in rows]),
        "kind": w.strings([r[5] for r in rows]),
    }, n)


def _pad(values: IntArray, n: int) -> FloatArray:
    out = np.zeros(n)
    out[: min(n, len(values))] = values[:n]
    return out


def _complete(tl: Timeline) -> list[bool]:
    """Quarters fully inside the demo period (the future quarter is not)."""
    out = []
    for q in [*tl.quarters, add_months(tl.quarters[-1], 3)]:
        lo, hi = epoch_day(q), epoch_day(add_months(q, 3)) - 1
        out.append(lo >= tl.d0 and hi <= int(tl.day[-1]))
    return out


def quarter_of(tl: Timeline, secs: IntArray) -> IntArray:
    day = secs // DAY
    pos = np.clip(day - tl.d0, 0, tl.n - 1)
    q = tl.quarter[pos]
    return np.asarray(np.where(day > tl.day[-1], len(tl.quarters), q), dtype=np.int64)


def stage_quarters(tl: Timeline, times: list[IntArray]) -> IntArray:
    """Counts of stage entries (>= 0) per stage and quarter (stages x quarters)."""
    nq = len(tl.quarters)
    out = np.zeros((len(times), nq), dtype=np.int64)
    for s, t in enumerate(times):
        ok = t >= 0
        out[s] = np.bincount(quarter_of(tl, t[ok]), minlength=nq)[:nq]
    return out
