"""The reverse-funnel plan as pure functions: no workspace, no engine (metrics.md §7, S4-2,
S4-3, S4-9; docs/planning.md).

The funnel is ``visits → leads → mqls → sqls → opportunities → customers`` with one conversion
rate per transition (:data:`TRANSITIONS`). A plan covers one fiscal year (named by the year it
ends in) and is built from *segments*:

* a **goal segment** takes a share of the revenue goal and works up the funnel (reverse mode):
  customers = goal ÷ deal size, then each stage above = the stage below ÷ its rate;
* a **forward segment** starts from a monthly volume of visits or leads and works down;
* the **flywheel segment** (S4-3) gets its leads from the customer base: referral leads in
  month m = referral rate × customers at the start of month m, where the base grows with the
  plan's new customers; they convert down the funnel like any leads, and what they bring is
  taken off the goal before the goal segments split the rest.

Monthly numbers follow seasonal weights (flat by default: each month 1/12 of the year) and
stage lags: the volume of stage s in month m serves the customers of month m + lag(s), and the
plan repeats yearly (leads of the last months serve next year's first customers, this year's
first customers come from last year's leads). Whole deals round each segment's yearly customers
up, then every stage above up; the revenue gap or surplus that rounding leaves is stated.
Every number here is unrounded; rounding is for text and tables only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from funnelboard.errors import UsageError, did_you_mean
from funnelboard.metrics.periods import fiscal_label, period_end, period_start, shift_period

#: conversion rates, top of the funnel first: TRANSITIONS[i] converts STAGES[i] into
#: STAGES[i + 1]
TRANSITIONS: tuple[str, ...] = ("visit_to_lead", "lead_to_mql", "mql_to_sql",
                                "sql_to_opportunity", "opportunity_to_customer")
#: the plan's stage volumes, top of the funnel first
STAGES: tuple[str, ...] = ("visits", "leads", "mqls", "sqls", "opportunities", "customers")
#: the numbers of each plan row: the stages, the flywheel's share of the leads, and revenue
ROW_KEYS: tuple[str, ...] = ("visits", "leads", "referral_leads", "mqls", "sqls",
                             "opportunities", "customers", "revenue")
#: the funnel stages (settings keys) of the stage volumes below visits
FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
#: the transitions reverse planning cannot do without (visit_to_lead is optional: without it
#: the plan stops at leads)
REQUIRED: tuple[str, ...] = TRANSITIONS[1:]
BY_DIMENSIONS: tuple[str, ...] = ("channel", "motion")
#: the channel whose leads are the customer-referral flywheel
REFERRAL_CHANNEL = "customer_referral"
#: days in an average month, to turn a lag in days into whole months
DAYS_PER_MONTH = 365.25 / 12
EPS = 1e-9


# -- parsing user input -----------------------------------------------------------------------

_AMOUNT = re.compile(r"^(?P<sign>[-+])?\s*(?P<cur>[$€£])?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?"
                     r"|\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>k|m|mm|bn|b)?$", re.IGNORECASE)
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def parse_amount(text: str | float | int, option: str) -> float:
    """A positive amount: ``10000000``, ``10,000,000``, ``$10M``, ``1.1m``, ``250k``."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip().replace("_", "")
        match = _AMOUNT.match(raw)
        if not match:
            raise UsageError(f"{option} '{text}' is not an amount; write a positive number such "
                             "as 10000000, 10,000,000, 10M or 250k.")
        number = float(match["num"].replace(",", ""))
        value = number * _UNITS[(match["unit"] or "").lower()]
        if match["sign"] == "-":
            value = -value
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} '{text}' is not allowed: it must be a positive amount "
                         "(above 0), such as 10M.")
    return value


def parse_count(text: str | float | int, option: str, *, allow_zero: bool = False) -> float:
    """A volume or count: a number above 0 (or at least 0), thousands separators allowed."""
    try:
        value = float(str(text).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise UsageError(f"{option} '{text}' is not a number.") from None
    low_ok = value >= 0 if allow_zero else value > 0
    if not math.isfinite(value) or not low_ok:
        bound = "0 or more" if allow_zero else "above 0"
        raise UsageError(f"{option} '{text}' is not allowed: it must be a number {bound}.")
    return value


def parse_fraction(text: str, option: str) -> float:
    """A conversion rate: a fraction in (0, 1] (``0.2``) or a percentage with ``%`` in
    (0 %, 100 %] (``20%``, ``1.5%``). A bare number above 1 is refused: it is ambiguous."""
    raw = str(text).strip().replace(" ", "")
    pct = raw.endswith("%")
    try:
        value = float(raw[:-1] if pct else raw)
    except ValueError:
        raise UsageError(f"{option} '{text}' is not a rate; write a fraction above 0 and at "
                         "most 1 (0.2) or a percentage with % (20%).") from None
    if pct:
        value /= 100
    if not math.isfinite(value) or value <= 0 or value > 1 + EPS:
        if not pct and value > 1:
            hint = (f" A bare number is a fraction; for a percentage write the % sign "
                    f"({raw}%).")
        else:
            hint = ""
        raise UsageError(f"{option} '{text}' is not allowed: a rate must be above 0 and at most "
                         "1 (a fraction such as 0.2) or above 0% and at most 100% (such as 20%)."
                         + hint)
    return min(value, 1.0)


def parse_rates(items: Sequence[str]) -> dict[str, float]:
    """``--rate TRANSITION=R`` options (``lead_to_mql=20%``) as ``{transition: fraction}``."""
    rates: dict[str, float] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--rate '{item}' should be written TRANSITION=RATE, e.g. "
                             f"--rate lead_to_mql=20%; the transitions are: "
                             f"{', '.join(TRANSITIONS)}.")
        key, value = (p.strip() for p in item.split("=", 1))
        key = key.lower().removesuffix("_rate")
        if key not in TRANSITIONS:
            raise UsageError(f"--rate '{item}': '{key}' is not a transition; use one of: "
                             f"{', '.join(TRANSITIONS)}." + did_you_mean(key, TRANSITIONS))
        if key in rates:
            raise UsageError(f"--rate {key} is given twice; give each transition once.")
        rates[key] = parse_fraction(value, f"--rate {key}")
    return rates


def parse_year(text: str | int | None, option: str = "--period") -> int | None:
    """A fiscal year: ``2026`` or ``FY2026`` (named by the year it ends in)."""
    if text is None or text == "":
        return None
    raw = str(text).strip().upper().removeprefix("FY")
    if not re.fullmatch(r"\d{4}", raw) or not 1900 <= int(raw) <= 2999:
        raise UsageError(f"{option} '{text}' is not a fiscal year; write the year the fiscal "
                         "year ends in, such as 2026 (or FY2026).")
    return int(raw)


def parse_dimension(text: str | None) -> str | None:
    if text is None or text == "":
        return None
    value = text.strip().lower()
    if value not in BY_DIMENSIONS:
        raise UsageError(f"--by '{text}' is not allowed; plan by one of: "
                         f"{', '.join(BY_DIMENSIONS)}." + did_you_mean(value, BY_DIMENSIONS))
    return value


# -- the fiscal calendar ----------------------------------------------------------------------

def fiscal_year_start(year: int, fiscal_start: int) -> dt.date:
    """First day of the fiscal year named ``year`` (the year it ends in)."""
    if fiscal_start == 1:
        return dt.date(year, 1, 1)
    return dt.date(year - 1, fiscal_start, 1)


def fiscal_year_of(day: dt.date, fiscal_start: int) -> int:
    """The name of the fiscal year holding ``day``."""
    start = period_start(day, "year", fiscal_start=fiscal_start)
    return shift_period(start, "month", 11).year


def plan_months(year: int, fiscal_start: int) -> list[dt.date]:
    first = fiscal_year_start(year, fiscal_start)
    return [shift_period(first, "month", i) for i in range(12)]


# -- inputs -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Funnel:
    """How one segment converts: a rate per transition (``visit_to_lead`` may be None: no
    visits are planned then), the revenue per new customer, and stage lags in whole months
    (how long before a customer each stage happens; keys are stage names of :data:`STAGES`,
    missing = 0)."""

    rates: Mapping[str, float | None]
    deal_size: float
    lags: Mapping[str, int] = field(default_factory=dict)

    def rate(self, transition: str) -> float | None:
        return self.rates.get(transition)

    def lag(self, stage: str) -> int:
        if stage == "visits":
            stage = "leads"  # a visit turns into a lead the same month
        return int(self.lags.get(stage, 0))

    def down(self, start: str, stage: str) -> float:
        """The share of ``start`` volume that reaches ``stage`` (a product of rates)."""
        share = 1.0
        for i in range(STAGES.index(start), STAGES.index(stage)):
            rate = self.rate(TRANSITIONS[i])
            if rate is None:
                raise UsageError(f"The plan needs the rate {TRANSITIONS[i]}; give it with "
                                 f"--rate {TRANSITIONS[i]}=R.")
            share *= rate
        return share


@dataclass(frozen=True)
class SegmentSpec:
    """One ``--by`` value: its funnel and its share of the goal (left after the flywheel)."""

    name: str
    funnel: Funnel
    share: float


@dataclass(frozen=True)
class Flywheel:
    """The customer-referral flywheel (S4-3): ``referral_rate`` leads per customer per month,
    a base of ``customer_base`` customers at the start of the plan year, converting with
    ``funnel``."""

    referral_rate: float
    customer_base: float
    funnel: Funnel
    name: str = REFERRAL_CHANNEL


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan is computed from (see the module docstring)."""

    year: int
    fiscal_start: int
    funnel: Funnel
    revenue: float | None = None
    #: forward mode: the monthly volume of visits or of leads
    visits: float | None = None
    leads: float | None = None
    dimension: str | None = None
    segments: tuple[SegmentSpec, ...] = ()
    flywheel: Flywheel | None = None
    #: 12 seasonal weights summing to 1 (the customers' share of each month); None: flat
    weights: tuple[float, ...] | None = None
    currency: str = "USD"
    notes: tuple[str, ...] = ()
    #: where inputs came from (given or history), the history window...: shown in ``inputs``
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return "forward" if self.visits is not None or self.leads is not None else "reverse"


# -- segments ---------------------------------------------------------------------------------

@dataclass
class Segment:
    """A computed segment: 12 monthly values per row key (None where not planned)."""

    name: str
    kind: str  # goal, forward or flywheel
    funnel: Funnel
    share: float | None = None
    goal: float | None = None
    monthly: dict[str, list[float | None]] = field(default_factory=dict)

    def annual(self, key: str) -> float | None:
        values = self.monthly[key]
        return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def _weights(inputs: PlanInputs) -> list[float]:
    if inputs.weights is None:
        return [1 / 12] * 12
    total = sum(inputs.weights)
    if len(inputs.weights) != 12 or total <= 0:
        raise ValueError("seasonal weights need 12 non-negative values with a positive sum")
    return [w / total for w in inputs.weights]


def goal_segment(name: str, goal: float, funnel: Funnel, weights: Sequence[float], *,
                 share: float | None = None) -> Segment:
    """Work up the funnel from ``goal`` revenue: customers = goal ÷ deal size, each stage above
    = the stage below ÷ its rate; the stage volume of month m serves the customers of month
    m + lag (the plan repeats yearly)."""
    annual: dict[str, float | None] = {"customers": goal / funnel.deal_size}
    for i in reversed(range(len(TRANSITIONS))):
        below, rate = annual[STAGES[i + 1]], funnel.rate(TRANSITIONS[i])
        annual[STAGES[i]] = below / rate if below is not None and rate else None
    seg = Segment(name, "goal", funnel, share=share, goal=goal)
    for stage in STAGES:
        total = annual[stage]
        lag = funnel.lag(stage)
        seg.monthly[stage] = [None if total is None else total * weights[(m + lag) % 12]
                              for m in range(12)]
    seg.monthly["referral_leads"] = [0.0] * 12
    seg.monthly["revenue"] = [(c or 0.0) * funnel.deal_size for c in seg.monthly["customers"]]
    return seg


def forward_segment(name: str, stage: str, volume: float, funnel: Funnel) -> Segment:
    """Work down the funnel from ``volume`` of ``stage`` (visits or leads) every month."""
    seg = Segment(name, "forward", funnel)
    start = STAGES.index(stage)
    for i, s in enumerate(STAGES):
        if i >= start:
            value: float | None = volume * funnel.down(stage, s)
        else:  # visits from leads
            rate = funnel.rate(TRANSITIONS[i])
            value = volume / rate if rate else None
        seg.monthly[s] = [value] * 12
    seg.monthly["referral_leads"] = [0.0] * 12
    seg.monthly["revenue"] = [(c or 0.0) * funnel.deal_size for c in seg.monthly["customers"]]
    return seg


def flywheel_segment(fly: Flywheel, *, goal_customers: Sequence[float] | None = None,
                     acquired_customers: Sequence[float] | None = None) -> Segment:
    """Referral leads R(k) = rate × customer base at the start of month k; base(0) is the
    starting base, and it grows each month by the plan's new customers: ``goal_customers``
    (reverse mode: the goal's customers, whatever brings them) or ``acquired_customers`` plus
    the flywheel's own (forward mode). Churn is not subtracted. A lead of month k reaches stage
    s in month k + lag(leads) − lag(s); leads before the year (k < 0) are taken at the starting
    base."""
    funnel = fly.funnel
    lead_lag = funnel.lag("leads")
    base = [float(fly.customer_base)]
    customers: list[float] = []

    def referral(k: int) -> float:
        return fly.referral_rate * (fly.customer_base if k < 0 else base[k])

    p = funnel.down("leads", "customers")
    for m in range(12):
        customers.append(referral(m - lead_lag) * p)
        growth = goal_customers[m] if goal_customers is not None else (
            (acquired_customers[m] if acquired_customers is not None else 0.0) + customers[m])
        base.append(base[m] + growth)
    seg = Segment(fly.name, "flywheel", funnel)
    for stage in STAGES[1:]:
        offset = max(0, lead_lag - funnel.lag(stage))
        share = funnel.down("leads", stage)
        seg.monthly[stage] = [referral(m - offset) * share for m in range(12)]
    seg.monthly["visits"] = [None] * 12  # referrals need no website traffic
    seg.monthly["referral_leads"] = list(seg.monthly["leads"])
    seg.monthly["revenue"] = [(c or 0.0) * funnel.deal_size for c in seg.monthly["customers"]]
    seg.monthly["customer_base"] = base[:12]  # type: ignore[assignment]
    return seg


def whole_chain(customers: float, funnel: Funnel) -> dict[str, float | None]:
    """Customers rounded up, then each stage above rounded up (S4-9)."""
    out: dict[str, float | None] = {"customers": float(ceil(customers))}
    for i in reversed(range(len(TRANSITIONS))):
        below, rate = out[STAGES[i + 1]], funnel.rate(TRANSITIONS[i])
        out[STAGES[i]] = float(ceil(below / rate)) if below is not None and rate else None
    return out


def ceil(value: float) -> int:
    """Round up, ignoring float noise (11e6 / 1.1e6 is 10.000000000000002, not 11 deals)."""
    return math.ceil(value - EPS * max(1.0, abs(value)))


def floor(value: float) -> int:
    return math.floor(value + EPS * max(1.0, abs(value)))


# -- the plan ---------------------------------------------------------------------------------

def check(inputs: PlanInputs) -> None:
    """Refuse inputs that cannot make a plan, naming the option and what is allowed."""
    if inputs.visits is not None and inputs.leads is not None:
        raise UsageError("Give either --visits or --leads (the monthly volume forward mode "
                         "starts from), not both.")
    if inputs.mode == "reverse" and inputs.revenue is None:
        raise UsageError("Give a revenue goal with --revenue AMOUNT (reverse mode), or a "
                         "monthly volume with --visits N or --leads N (forward mode).")
    if inputs.mode == "forward" and inputs.segments:
        raise UsageError("--by splits a revenue goal over channels or motions; forward mode "
                         "(--visits / --leads) starts from one total volume, so leave out --by.")
    funnels = [inputs.funnel, *[s.funnel for s in inputs.segments]]
    if inputs.flywheel:
        funnels.append(inputs.flywheel.funnel)
    for fun in funnels:
        missing = [t for t in REQUIRED if fun.rate(t) is None]
        if inputs.visits is not None and fun is inputs.funnel and fun.rate(TRANSITIONS[0]) \
                is None:
            missing.insert(0, TRANSITIONS[0])
        if missing:
            raise UsageError(
                "The plan needs a conversion rate for every transition; missing: "
                + ", ".join(missing) + ". Give them with --rate TRANSITION=RATE (e.g. --rate "
                f"{missing[0]}=20%), or use --rates-from-history.")
        if not fun.deal_size or fun.deal_size <= 0:
            raise UsageError("The plan needs a deal size (revenue per new customer): give "
                             "--deal-size AMOUNT or --deal-size-from-history.")


def build(inputs: PlanInputs) -> dict[str, Any]:
    """The plan as a JSON-ready dict: ``mode, inputs, annual, quarterly[], monthly[],
    whole_deals, gap{revenue, status, text}, segments[], notes[]`` (numbers unrounded)."""
    check(inputs)
    weights = _weights(inputs)
    notes = list(inputs.notes)
    segments: list[Segment] = []
    if inputs.mode == "forward":
        stage = "visits" if inputs.visits is not None else "leads"
        volume = float(inputs.visits if inputs.visits is not None else inputs.leads or 0.0)
        acquired = forward_segment("all", stage, volume, inputs.funnel)
        segments.append(acquired)
        if inputs.flywheel:
            segments.append(flywheel_segment(
                inputs.flywheel,
                acquired_customers=[c or 0.0 for c in acquired.monthly["customers"]]))
    else:
        goal = float(inputs.revenue or 0.0)
        remaining = goal
        if inputs.flywheel:
            goal_customers = [goal / inputs.funnel.deal_size * w for w in weights]
            fly = flywheel_segment(inputs.flywheel, goal_customers=goal_customers)
            brought = sum(v or 0.0 for v in fly.monthly["revenue"])
            remaining = max(0.0, goal - brought)
            if brought >= goal:
                notes.append("The referral flywheel alone brings the whole goal; no other "
                             "leads are needed.")
        specs = inputs.segments or (SegmentSpec("all", inputs.funnel, 1.0),)
        total_share = sum(s.share for s in specs) or 1.0
        for spec in specs:
            share = spec.share / total_share
            segments.append(goal_segment(spec.name, remaining * share, spec.funnel, weights,
                                         share=share))
        if inputs.flywheel:
            segments.append(fly)
    months = plan_months(inputs.year, inputs.fiscal_start)
    totals = _totals(segments)
    result: dict[str, Any] = {
        "mode": inputs.mode,
        "inputs": _inputs(inputs, weights),
        "annual": _row(months[0], "year", inputs.fiscal_start,
                       {k: _sum(v) for k, v in totals.items()}),
        "quarterly": [_row(months[q * 3], "quarter", inputs.fiscal_start,
                           {k: _sum(v[q * 3: q * 3 + 3]) for k, v in totals.items()})
                      for q in range(4)],
        "monthly": [_row(months[m], "month", inputs.fiscal_start,
                         {k: v[m] for k, v in totals.items()}) for m in range(12)],
    }
    result["lead_time"] = _lead_time(inputs, months)
    if inputs.mode == "reverse":
        result["whole_deals"] = _whole_reverse(segments)
        result["gap"] = _gap_reverse(inputs, result, segments)
    else:
        result["whole_deals"] = _whole_forward(segments)
        result["gap"] = _gap_forward(inputs, result)
    if len(segments) > 1 or inputs.segments:
        result["segments"] = [_segment_out(s, inputs, months) for s in segments]
    else:
        result["segments"] = []
    if inputs.funnel.rate(TRANSITIONS[0]) is None and not any("visit_to_lead" in n
                                                                for n in notes):
        notes.append("No visit_to_lead rate was given, so the plan stops at leads (no "
                     "visits).")
    result["notes"] = notes
    return result


def _totals(segments: list[Segment]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for key in ROW_KEYS:
        column: list[float | None] = []
        for m in range(12):
            values = [s.monthly[key][m] for s in segments]
            known = [v for v in values if v is not None]
            # visits are planned when at least one segment plans them (a segment without web
            # traffic, or the flywheel, needs none)
            column.append(sum(known) if known and (key == "visits" or len(known) == len(values))
                          else None)
        out[key] = column
    return out


def _sum(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def _row(start: dt.date, grain: str, fiscal_start: int,
         values: Mapping[str, float | None]) -> dict[str, Any]:
    return {"period": start.isoformat(), "period_end": period_end(start, grain).isoformat(),
            "label": fiscal_label(start, grain, fiscal_start),
            **{k: values.get(k) for k in ROW_KEYS}}


def _inputs(inputs: PlanInputs, weights: Sequence[float]) -> dict[str, Any]:
    first = fiscal_year_start(inputs.year, inputs.fiscal_start)
    fun = inputs.funnel
    out: dict[str, Any] = {
        "revenue": inputs.revenue,
        "deal_size": fun.deal_size,
        "rates": {t: fun.rate(t) for t in TRANSITIONS},
        "visits_per_month": inputs.visits,
        "leads_per_month": inputs.leads,
        "period": {"year": inputs.year, "label": fiscal_label(first, "year", inputs.fiscal_start),
                   "start": first.isoformat(),
                   "end": period_end(first, "year").isoformat()},
        "fiscal_year_start_month": inputs.fiscal_start,
        "by": inputs.dimension,
        "weights": list(weights),
        "lags_months": {s: fun.lag(s) for s in STAGES},
        "currency": inputs.currency,
        "flywheel": None,
    }
    if inputs.flywheel:
        fly = inputs.flywheel
        out["flywheel"] = {"channel": fly.name, "referral_rate": fly.referral_rate,
                           "customer_base": fly.customer_base,
                           "rates": {t: fly.funnel.rate(t) for t in TRANSITIONS[1:]},
                           "deal_size": fly.funnel.deal_size}
    out.update(inputs.meta)
    return out


def _lead_time(inputs: PlanInputs, months: list[dt.date]) -> list[dict[str, Any]]:
    """When each stage must start for the plan's first customers (stage lags)."""
    out = []
    for stage in STAGES[:-1]:
        lag = inputs.funnel.lag(stage)
        out.append({"stage": stage, "lag_months": lag,
                    "first_month": shift_period(months[0], "month", -lag).isoformat()})
    return out


def _whole_reverse(segments: list[Segment]) -> dict[str, Any]:
    """Goal segments round up (each must close whole deals); the flywheel, a forecast of
    what the customer base brings, counts only its whole deals (rounded down)."""
    chains = [(seg, whole_chain(seg.annual("customers") or 0.0, seg.funnel)
               if seg.kind == "goal" else _floors(seg)) for seg in segments]
    totals: dict[str, float | None] = {}
    for s in STAGES:
        if s == "visits":
            # the flywheel and segments without web traffic need no visits
            known = [c[s] for seg, c in chains if seg.kind != "flywheel" and c[s] is not None]
            totals[s] = float(sum(v or 0.0 for v in known)) if known else None
        else:
            values = [c[s] for _, c in chains]
            totals[s] = None if any(v is None for v in values) else float(
                sum(v or 0.0 for v in values))
    revenue = sum((c["customers"] or 0.0) * seg.funnel.deal_size for seg, c in chains)
    out: dict[str, Any] = dict(totals)
    out["revenue"] = revenue
    out["per_month"] = {s: (v / 12 if v is not None else None) for s, v in totals.items()}
    out["per_month"]["revenue"] = revenue / 12
    out["rule"] = ("customers rounded up for the year, then each stage above rounded up, per "
                   "segment; the flywheel's deals rounded down; per month = year ÷ 12")
    return out


def _floors(seg: Segment) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for s in STAGES:
        value = seg.annual(s)
        out[s] = None if value is None else float(floor(value))
    return out


def _whole_forward(segments: list[Segment]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in STAGES:
        values = [seg.annual(s) for seg in segments if not (s == "visits"
                                                              and seg.kind == "flywheel")]
        out[s] = None if not values or any(v is None for v in values) else float(
            sum(floor(v or 0.0) for v in values))
    out["revenue"] = sum(floor(seg.annual("customers") or 0.0) * seg.funnel.deal_size
                         for seg in segments)
    out["per_month"] = {s: (v / 12 if v is not None else None) for s, v in out.items()}
    out["rule"] = "only whole deals close: each segment's yearly customers rounded down"
    return out


def _gap_reverse(inputs: PlanInputs, result: dict[str, Any],
                 segments: list[Segment]) -> dict[str, Any]:
    goal = float(inputs.revenue or 0.0)
    cur = inputs.currency
    whole = result["whole_deals"]
    exact = result["annual"]["customers"] or 0.0
    diff = whole["revenue"] - goal
    goals = [s for s in segments if s.kind == "goal"]
    fly = [s for s in segments if s.kind == "flywheel"]
    same_deal = len({s.funnel.deal_size for s in segments}) == 1
    text = f"The {money(goal, cur, goal)} goal"
    if same_deal:
        text += f" at {money(segments[0].funnel.deal_size, cur, goal)} per customer"
    text += f" needs {count(exact)} customers a year ({count(exact / 12)} a month)"
    if fly:
        text += (f"; the customer-referral flywheel brings {count(fly[0].annual('customers'))} "
                 "of them")
    if len(goals) > 1:
        text += f"; the rest is split over {len(goals)} {inputs.dimension or 'segment'}s"
    customers_w = whole["customers"] or 0.0
    text += (f". In whole deals that is {count(customers_w)} customers, bringing "
             f"{money(whole['revenue'], cur, goal)}: {_gap_words(diff, goal, cur)}.")
    if len(segments) == 1:
        down = floor(exact)
        if down < customers_w:
            down_rev = down * segments[0].funnel.deal_size
            text += (f" Rounding down to {count(float(down))} customers would bring "
                     f"{money(down_rev, cur, goal)}: {_gap_words(down_rev - goal, goal, cur)}.")
    return {"revenue": diff, "status": _status(diff, goal), "text": text}


def _gap_forward(inputs: PlanInputs, result: dict[str, Any]) -> dict[str, Any]:
    cur = inputs.currency
    annual = result["annual"]
    stage = "visits" if inputs.visits is not None else "leads"
    volume = float(inputs.visits if inputs.visits is not None else inputs.leads or 0.0)
    revenue = annual["revenue"] or 0.0
    ref = inputs.revenue or revenue
    steps = [(k, name) for k, name in (("leads", "leads"), ("mqls", "MQLs"), ("sqls", "SQLs"),
                                       ("opportunities", "opportunities"),
                                       ("customers", "customers"))
             if STAGES.index(k) > STAGES.index(stage)]
    yields = ", ".join(f"{count(_month_avg(result, k))} {name}" for k, name in steps[:-1])
    last_key, last_name = steps[-1]
    text = (f"{count(volume)} {stage} a month yield {yields} and "
            f"{count(_month_avg(result, last_key))} {last_name} a month: "
            f"{count(annual['customers'] or 0.0)} customers a year, "
            f"{money(revenue, cur, ref)} at {money(inputs.funnel.deal_size, cur, ref)} per "
            "customer")
    if inputs.revenue is None:
        return {"revenue": None, "status": None, "text": text + "."}
    goal = float(inputs.revenue)
    diff = revenue - goal
    text += f". That is {_gap_words(diff, goal, cur)}"
    needed = _needed_volume(inputs, stage)
    if needed is not None and diff < 0:
        text += (f"; reaching it needs {count(needed)} {stage} a month "
                 f"({count(needed - volume, like=needed)} more)")
    return {"revenue": diff, "status": _status(diff, goal), "text": text + ".",
            f"needed_{stage}_per_month": needed}


def _month_avg(result: dict[str, Any], key: str) -> float:
    return (result["annual"][key] or 0.0) / 12


def _needed_volume(inputs: PlanInputs, stage: str) -> float | None:
    """The monthly volume of ``stage`` the goal needs (a reverse plan of the same inputs)."""
    from dataclasses import replace

    reverse = build(replace(inputs, visits=None, leads=None))
    if stage == "leads":
        value = reverse["annual"]["leads"]
        referral = reverse["annual"]["referral_leads"] or 0.0
        return None if value is None else (value - referral) / 12
    value = reverse["annual"]["visits"]
    return None if value is None else value / 12


def _status(diff: float, goal: float) -> str:
    if abs(diff) <= EPS * max(1.0, goal):
        return "exact"
    return "surplus" if diff > 0 else "short"


def _gap_words(diff: float, goal: float, cur: str) -> str:
    status = _status(diff, goal)
    if status == "exact":
        return f"exactly the {money(goal, cur, goal)} goal"
    if status == "surplus":
        return f"{money(diff, cur, goal)} above the {money(goal, cur, goal)} goal"
    return f"{money(-diff, cur, goal)} short of the {money(goal, cur, goal)} goal"


def _segment_out(seg: Segment, inputs: PlanInputs, months: list[dt.date]) -> dict[str, Any]:
    annual = {k: seg.annual(k) for k in ROW_KEYS}
    out: dict[str, Any] = {
        "name": seg.name, "kind": seg.kind, "dimension": inputs.dimension,
        "share": seg.share, "goal": seg.goal, "deal_size": seg.funnel.deal_size,
        "rates": {t: seg.funnel.rate(t) for t in TRANSITIONS},
        "annual": annual,
        "monthly": [_row(months[m], "month", inputs.fiscal_start,
                         {k: seg.monthly[k][m] for k in ROW_KEYS}) for m in range(12)],
    }
    if seg.kind == "goal":
        out["whole_deals"] = whole_chain(annual["customers"] or 0.0, seg.funnel)
    if seg.kind == "flywheel":
        base = seg.monthly.get("customer_base") or []
        out["customer_base"] = [{"period": months[m].isoformat(), "customers": base[m]}
                                for m in range(12)]
    return out


# -- words and numbers ------------------------------------------------------------------------

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def count(value: float | None, *, like: float | None = None) -> str:
    """A stage volume for text and tables: 6,313 · 227.3 · 94.7 · 18.94 · 3.79 · 0.758 (the
    decimals follow the size of ``like`` when given, e.g. a difference of two volumes)."""
    if value is None:
        return "-"
    size = abs(like if like is not None else value)
    decimals = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 1 else 3
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(value: float | None, currency: str = "USD", ref: float | None = None) -> str:
    """An amount in the unit of ``ref`` (the goal): $10M, $9.504M, $0.496M; $250k; $950."""
    if value is None:
        return "-"
    scale = abs(ref if ref else value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    symbol = _SYMBOLS.get(currency.upper())
    if scale >= 1e6:
        number, unit = f"{size / 1e6:,.3f}", "M"
    elif scale >= 1e4:
        number, unit = f"{size / 1e3:,.1f}", "k"
    else:
        number, unit = f"{size:,.2f}", ""
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{sign}{symbol}{number}{unit}" if symbol else f"{sign}{number}{unit} {currency}"
