"""What the planner reads from a workspace's history, through the metric engine.

Every reading covers a **trailing window**: the last N whole months up to the as-of date (the
as-of month counts when the as-of date is its last day). Readings chosen (docs/planning.md):

* **conversion rates** on the *period basis*: contacts that reached stage b in the window ÷
  contacts that reached stage a in the window (Σ numerators ÷ Σ denominators of the monthly
  ``<a>_to_<b>_rate`` rows, cumulative rule). Cohort rates of recent months are still
  maturing and would understate conversion; the period ratio is the steady-state rate a plan
  needs. ``visit_to_lead`` is ``visit_to_lead_rate`` (leads ÷ website sessions);
* **stage lags**: per stage s, the median days from the first actual entry of s to the first
  actual customer entry, over contacts whose customer entry falls in the window (the period
  basis of ``<s>_to_customer_days``; inferred dates are bounds, not measurements);
* **deal size**: ``avg_deal_size`` of won **new-business** deals closed in the window (Σ amount
  ÷ deals: the plan's revenue goal is new bookings);
* **goal shares** for ``--by channel``: each channel's share of new-business ``bookings`` in the
  window; for ``--by motion`` (bookings carry no motion): each motion's share of contacts
  reaching the customer stage in the window;
* **referral rate** (the flywheel): ``customer_referral`` leads in the window ÷ Σ over the
  window's months of the paying customers at the start of the month (``paying_customers`` at
  the end of the month before);
* **seasonal weights**: the average number of contacts reaching the customer stage in each
  calendar month over the trailing whole years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from funnelboard.metrics.periods import period_end, shift_period
from funnelboard.metrics.query import NONE_LABEL, make_query
from funnelboard.plan.model import FUNNEL_STAGES, REFERRAL_CHANNEL, STAGES, TRANSITIONS
from funnelboard.workspace import Workspace

#: funnel stage name per plan stage key (the plans' stage keys are the default plurals)
STAGE_OF = dict(zip(STAGES[1:], FUNNEL_STAGES, strict=True))


@dataclass(frozen=True)
class Window:
    """The trailing window: whole months, both bounds inclusive."""

    start: dt.date
    end: dt.date
    months: int
    as_of: dt.date

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "months": self.months, "as_of": self.as_of.isoformat()}


@dataclass(frozen=True)
class Observed:
    """A ratio read from history: numerator ÷ denominator (None when the denominator is 0)."""

    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def trailing_window(as_of: dt.date, months: int) -> Window:
    """The last ``months`` whole months up to ``as_of``."""
    month = as_of.replace(day=1)
    last = month if period_end(month, "month") == as_of else shift_period(month, "month", -1)
    first = shift_period(last, "month", -(months - 1))
    return Window(first, period_end(last, "month"), months, as_of)


def _metric(ws: Workspace, key: str, window: Window, **query: Any) -> list[dict[str, Any]]:
    res = ws.metric(key, start=window.start, end=window.end, as_of=window.as_of,
                    grain="month", **query)
    return res.rows


def _label(value: Any) -> str:
    return NONE_LABEL if value is None or value == "" else str(value)


def _ratio_sums(rows: Iterable[dict[str, Any]], by: str | None) -> dict[str | None, Observed]:
    sums: dict[str | None, list[float]] = {}
    for r in rows:
        key = _label(r.get(by)) if by else None
        acc = sums.setdefault(key, [0.0, 0.0])
        acc[0] += float(r.get("numerator") or 0)
        acc[1] += float(r.get("denominator") or 0)
    return {k: Observed(v[0], v[1]) for k, v in sums.items()}


def _value_sums(rows: Iterable[dict[str, Any]], by: str | None) -> dict[str | None, float]:
    sums: dict[str | None, float] = {}
    for r in rows:
        key = _label(r.get(by)) if by else None
        sums[key] = sums.get(key, 0.0) + float(r.get("value") or 0)
    return sums


def missing_stages(ws: Workspace) -> list[str]:
    """The planner's funnel stages this workspace does not configure."""
    return [s for s in FUNNEL_STAGES if s not in ws.settings.stages]


def conversion_rates(ws: Workspace, window: Window,
                     by: str | None = None) -> dict[str | None, dict[str, Observed]]:
    """Per transition, Σ numerator ÷ Σ denominator over the window (period basis), in total
    (key None) or per value of ``by`` (channel or motion)."""
    out: dict[str | None, dict[str, Observed]] = {}
    dims = [by] if by else []
    for transition in TRANSITIONS[1:]:
        a, b = transition.split("_to_")
        rows = _metric(ws, f"{a}_to_{b}_rate", window, basis="period", by=dims)
        for key, obs in _ratio_sums(rows, by).items():
            out.setdefault(key, {})[transition] = obs
    for key, obs in visit_to_lead(ws, window, by).items():
        out.setdefault(key, {})[TRANSITIONS[0]] = obs
    return out


def visit_to_lead(ws: Workspace, window: Window,
                  by: str | None = None) -> dict[str | None, Observed]:
    """Leads (period basis) ÷ website sessions. By motion (sessions carry none): inbound leads
    ÷ all sessions for ``inbound``; other motions get no rate (their leads need no visits)."""
    if by == "motion":
        leads = _value_sums(_metric(ws, "leads", window, basis="period",
                                    filters={"motion": ["inbound"]}), None).get(None, 0.0)
        sessions = _value_sums(_metric(ws, "sessions", window), None).get(None, 0.0)
        return {"inbound": Observed(leads, sessions)}
    rows = _metric(ws, "visit_to_lead_rate", window, by=[by] if by else [])
    return _ratio_sums(rows, by)


def stage_lags(ws: Workspace, window: Window) -> dict[str, tuple[float | None, int]]:
    """Per stage key (leads … opportunities): (median days to the customer stage, contacts
    measured), over contacts whose first actual customer entry is in the window."""
    from funnelboard.metrics.funnel import days_between, local_date, reached

    engine = ws.engine()
    query = make_query("customers", timezone=ws.settings.timezone, as_of=window.as_of,
                       start=window.start, end=window.end)
    notes: list[str] = []
    t = reached(engine, query, notes)
    day = local_date(t["e_customer"])
    t = t.filter(t["e_customer"].notnull(), day >= window.start, day <= window.end)
    out: dict[str, tuple[float | None, int]] = {}
    for key in STAGES[1:-1]:
        col = f"e_{STAGE_OF[key]}"
        sub = t.filter(t[col].notnull())
        sub = sub.mutate(lag=days_between(engine, sub["e_customer"], sub[col]))
        row = engine.execute(sub.aggregate(value=sub.lag.median(), n=sub.count()))
        value = row[0]["value"] if row else None
        out[key] = (None if value is None else float(value), int(row[0]["n"]) if row else 0)
    return out


def deal_size(ws: Workspace, window: Window,
              by: str | None = None) -> dict[str | None, Observed]:
    """Mean amount of won new-business deals closed in the window (Σ amount ÷ deals)."""
    rows = _metric(ws, "avg_deal_size", window, filters={"type": ["new_business"]},
                   by=[by] if by else [])
    return _ratio_sums(rows, by)


def goal_shares(ws: Workspace, window: Window, by: str) -> dict[str, float]:
    """How the goal is split ``by`` channel (new-business bookings) or motion (contacts
    reaching the customer stage); values with nothing in the window are left out."""
    if by == "channel":
        rows = _metric(ws, "bookings", window, filters={"type": ["new_business"]}, by=[by])
    else:
        rows = _metric(ws, "customers", window, basis="period", by=[by])
    sums = {k: v for k, v in _value_sums(rows, by).items() if k is not None and v > 0}
    total = sum(sums.values())
    return {k: v / total for k, v in sorted(sums.items())} if total else {}


def referral_rate(ws: Workspace, window: Window) -> Observed:
    """Customer-referral leads in the window ÷ customer-months (paying customers at the start
    of each month of the window)."""
    leads = _value_sums(_metric(ws, "leads", window, basis="period",
                                filters={"channel": [REFERRAL_CHANNEL]}), None).get(None, 0.0)
    before = Window(shift_period(window.start, "month", -1),
                    period_end(shift_period(window.end.replace(day=1), "month", -1), "month"),
                    window.months, window.as_of)
    base = _value_sums(_metric(ws, "paying_customers", before), None).get(None, 0.0)
    return Observed(leads, base)


def customer_base(ws: Workspace, plan_start: dt.date, as_of: dt.date) -> float | None:
    """Paying customers at the start of the plan year (the end of the month before it), or
    the latest month up to the as-of date when the plan starts later."""
    end = min(plan_start - dt.timedelta(days=1), as_of)
    rows = ws.metric("paying_customers", end=end, as_of=as_of, grain="month").rows
    known = [r for r in rows if r.get("value") is not None]
    return float(known[-1]["value"]) if known else None


def seasonal_weights(ws: Workspace, as_of: dt.date, months: int,
                     plan_months: list[dt.date]) -> list[float] | None:
    """Per plan month: the average count of contacts reaching the customer stage in that
    calendar month over the trailing whole years (at least one); None when there are none."""
    years = max(1, -(-months // 12))
    window = trailing_window(as_of, years * 12)
    rows = _metric(ws, "customers", window, basis="period")
    per_month: dict[int, float] = {}
    for r in rows:
        month = r["period"].month
        per_month[month] = per_month.get(month, 0.0) + float(r.get("value") or 0)
    weights = [per_month.get(m.month, 0.0) / years for m in plan_months]
    return weights if sum(weights) > 0 else None
