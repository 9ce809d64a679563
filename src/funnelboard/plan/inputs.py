"""From the options of ``funnelboard plan`` to :class:`~funnelboard.plan.model.PlanInputs`:
parse every option first (so a typo fails before anything is read), then fill what was not
given from the workspace's history (:mod:`funnelboard.plan.history`). Given values always win
over history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from funnelboard.errors import UsageError
from funnelboard.plan import history
from funnelboard.plan.model import (
    DAYS_PER_MONTH,
    REFERRAL_CHANNEL,
    STAGES,
    TRANSITIONS,
    Flywheel,
    Funnel,
    PlanInputs,
    SegmentSpec,
    fiscal_year_of,
    fiscal_year_start,
    parse_amount,
    parse_count,
    parse_dimension,
    parse_rates,
    parse_year,
    plan_months,
)
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace


@dataclass(frozen=True)
class PlanRequest:
    """The options of ``funnelboard plan`` as the user wrote them (see docs/planning.md)."""

    revenue: str | None = None
    deal_size: str | None = None
    deal_size_from_history: bool = False
    rates: tuple[str, ...] = ()
    rates_from_history: bool = False
    months: int = 12
    visits: str | None = None
    leads: str | None = None
    by: str | None = None
    period: str | int | None = None
    seasonal: bool = False
    referral_rate: str | None = None
    customer_base: str | None = None
    as_of: dt.date | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def needs_history(self) -> bool:
        return bool(self.deal_size_from_history or self.rates_from_history or self.by
                    or self.seasonal)


def parse_referral_rate(text: str | None) -> float | None:
    """Referral leads per customer per month: a number ≥ 0 or a percentage (``2%``)."""
    if text is None:
        return None
    raw = text.strip()
    if raw.endswith("%"):
        return parse_count(raw[:-1], "--referral-rate", allow_zero=True) / 100
    return parse_count(raw, "--referral-rate", allow_zero=True)


def assemble(req: PlanRequest, ws: Workspace | None, settings: Settings,
             today: dt.date) -> PlanInputs:
    """The plan's inputs; ``ws`` is None outside a workspace (every input must be given)."""
    revenue = parse_amount(req.revenue, "--revenue") if req.revenue is not None else None
    given_deal = parse_amount(req.deal_size, "--deal-size") if req.deal_size is not None \
        else None
    if given_deal is not None and req.deal_size_from_history:
        raise UsageError("Give either --deal-size or --deal-size-from-history, not both.")
    given_rates = parse_rates(req.rates)
    visits = parse_count(req.visits, "--visits") if req.visits is not None else None
    leads = parse_count(req.leads, "--leads") if req.leads is not None else None
    dimension = parse_dimension(req.by)
    year = parse_year(req.period)
    ref_rate = parse_referral_rate(req.referral_rate)
    base = parse_count(req.customer_base, "--customer-base", allow_zero=True) \
        if req.customer_base is not None else None
    if revenue is None and visits is None and leads is None:
        raise UsageError("Give a revenue goal with --revenue AMOUNT (reverse mode), or a "
                         "monthly volume with --visits N or --leads N (forward mode); see "
                         "funnelboard plan --help.")
    if not 1 <= req.months <= 120:
        raise UsageError(f"--months {req.months} is not allowed; give a number of months from 1 "
                         "to 120.")
    as_of = req.as_of or today
    fiscal = settings.fiscal_year_start_month
    year = year or fiscal_year_of(as_of, fiscal)
    start = fiscal_year_start(year, fiscal)
    notes: list[str] = list(req.notes)
    meta: dict[str, Any] = {"as_of": as_of.isoformat(), "history": None}

    if (req.needs_history or (ref_rate and base is None)) and ws is None:
        raise UsageError("Planning from history (--rates-from-history, --deal-size-from-"
                         "history, --by, --seasonal or the flywheel's customer base) needs a "
                         "workspace; run it inside one or pass -w DIR.")
    window = history.trailing_window(as_of, req.months)
    if req.needs_history and ws is not None:
        missing = history.missing_stages(ws)
        if missing and (req.rates_from_history or dimension or req.seasonal):
            raise UsageError(
                "Planning from history needs the funnel stages lead, mql, sql, opportunity and "
                f"customer; this workspace has no {', '.join(missing)} stage. Give the rates "
                "with --rate TRANSITION=RATE instead.")
        meta["history"] = window.to_dict()

    # -- the overall funnel ------------------------------------------------------------------
    rates: dict[str, float | None] = {t: given_rates.get(t) for t in TRANSITIONS}
    sources: dict[str, str | None] = {t: "given" if t in given_rates else None
                                      for t in TRANSITIONS}
    observed: dict[str | None, dict[str, history.Observed]] = {}
    if req.rates_from_history and ws is not None:
        observed = history.conversion_rates(ws, window)
        for t in TRANSITIONS:
            if t in given_rates:
                continue
            obs = observed.get(None, {}).get(t)
            value = obs.value if obs else None
            if value:
                rates[t], sources[t] = min(value, 1.0), "history"
            elif t == TRANSITIONS[0]:
                notes.append(f"No website sessions between {window.start} and {window.end}, so "
                             "there is no historical visit_to_lead rate; visits are not "
                             "planned (give --rate visit_to_lead=R to plan them).")
            else:
                a, b = t.split("_to_")
                raise UsageError(
                    f"There is no historical {t} rate: between {window.start} and {window.end} "
                    f"{_obs_words(obs, a, b)}. Give it with --rate {t}=R, or widen the window "
                    "with --months.")
    meta["rate_sources"] = sources

    deal = given_deal
    deal_obs: dict[str | None, history.Observed] = {}
    if req.deal_size_from_history and ws is not None:
        deal_obs = history.deal_size(ws, window)
        value = deal_obs.get(None, history.Observed(0, 0)).value
        if not value:
            raise UsageError(f"No new-business deal was won between {window.start} and "
                             f"{window.end}, so there is no historical deal size; give "
                             "--deal-size AMOUNT, or widen the window with --months.")
        deal = value
        meta["deal_size_source"] = "history"
        meta["deal_size_deals"] = deal_obs[None].denominator
    else:
        meta["deal_size_source"] = "given" if deal is not None else None
    if deal is None:
        raise UsageError("The plan needs a deal size (revenue per new customer): give "
                         "--deal-size AMOUNT (e.g. 1.1M) or --deal-size-from-history.")

    lags: dict[str, int] = {}
    if req.rates_from_history and ws is not None:
        lags, lag_meta = _lags(ws, window, notes)
        meta["lags_days"] = lag_meta
    funnel = Funnel(rates, deal, lags)

    # -- segments (--by) ---------------------------------------------------------------------
    flywheel_on = bool(ref_rate) or (ref_rate is None and req.rates_from_history
                                     and ws is not None)
    by_rates: dict[str | None, dict[str, history.Observed]] = {}
    by_deal: dict[str | None, history.Observed] = {}
    segments: list[SegmentSpec] = []
    if dimension and ws is not None:
        if visits is not None or leads is not None:
            raise UsageError("--by splits a revenue goal over channels or motions; forward "
                             "mode (--visits / --leads) starts from one total volume, so leave "
                             "out --by.")
        shares = history.goal_shares(ws, window, dimension)
        if not shares:
            what = ("won new-business bookings" if dimension == "channel"
                    else "contacts reaching the customer stage")
            raise UsageError(f"--by {dimension} splits the goal by history, but there are no "
                             f"{what} between {window.start} and {window.end}; widen the window "
                             "with --months or plan without --by.")
        if req.rates_from_history:
            by_rates = history.conversion_rates(ws, window, dimension)
        if dimension == "channel":
            by_deal = history.deal_size(ws, window, dimension) if req.deal_size_from_history \
                else {}
        meta["shares"] = dict(shares)
        for name, share in shares.items():
            if flywheel_on and dimension == "channel" and name == REFERRAL_CHANNEL:
                continue  # the flywheel plans this channel
            seg_funnel = _segment_funnel(name, funnel, given_rates, by_rates.get(name, {}),
                                         by_deal.get(name), dimension, notes)
            segments.append(SegmentSpec(name, seg_funnel, share))
    else:
        if visits is not None and rates[TRANSITIONS[0]] is None:
            raise UsageError("Forward mode from --visits needs the visit_to_lead rate: give "
                             "--rate visit_to_lead=R (e.g. 1.5%), or start from --leads.")

    # -- the flywheel ------------------------------------------------------------------------
    fly: Flywheel | None = None
    if flywheel_on:
        known = (by_rates, by_deal) if dimension == "channel" else None
        fly = _flywheel(ws, req, window, ref_rate, base, start, as_of, funnel, given_rates,
                        notes, meta, known)

    weights: tuple[float, ...] | None = None
    if req.seasonal and ws is not None:
        found = history.seasonal_weights(ws, as_of, req.months, plan_months(year, fiscal))
        if found is None:
            notes.append("No contact reached the customer stage in the trailing years, so the "
                         "plan is spread flat over the months.")
        else:
            total = sum(found)
            weights = tuple(w / total for w in found)
    meta["seasonal"] = weights is not None
    return PlanInputs(year=year, fiscal_start=fiscal, funnel=funnel, revenue=revenue,
                      visits=visits, leads=leads, dimension=dimension,
                      segments=tuple(segments), flywheel=fly, weights=weights,
                      currency=settings.reporting_currency, notes=tuple(notes), meta=meta)


def _obs_words(obs: history.Observed | None, a: str, b: str) -> str:
    if obs is None or not obs.denominator:
        return f"no contact reached the {a} stage"
    return f"{obs.denominator:g} contacts reached {a} but none reached {b}"


def _lags(ws: Workspace, window: history.Window,
          notes: list[str]) -> tuple[dict[str, int], dict[str, Any]]:
    """Stage lags in whole months (days ÷ 30.44, rounded), made monotone: a stage never comes
    after the stage below it."""
    found = history.stage_lags(ws, window)
    months: dict[str, int] = {}
    meta: dict[str, Any] = {}
    for key in STAGES[1:-1]:
        days, n = found[key]
        meta[key] = {"median_days": days, "contacts": n}
        months[key] = round(days / DAYS_PER_MONTH) if days is not None else 0
    if all(found[k][0] is None for k in found):
        notes.append(f"No contact became a customer between {window.start} and {window.end} "
                     "with dated earlier stages, so the plan has no stage lags.")
    # a higher stage comes no later than the one below it
    floor_lag = 0
    for key in reversed(STAGES[1:-1]):
        floor_lag = max(floor_lag, months[key])
        months[key] = floor_lag
    return months, meta


def _segment_funnel(name: str, overall: Funnel, given: dict[str, float],
                    observed: dict[str, history.Observed], deal: history.Observed | None,
                    dimension: str, notes: list[str]) -> Funnel:
    rates: dict[str, float | None] = {}
    fallback: list[str] = []
    for t in TRANSITIONS:
        if t in given:
            rates[t] = given[t]
            continue
        obs = observed.get(t)
        value = obs.value if obs else None
        if value:
            rates[t] = min(value, 1.0)
        elif t == TRANSITIONS[0]:
            # no sessions for this channel (or motion): its leads need no website visits
            rates[t] = None
        elif observed:
            rates[t] = overall.rate(t)
            fallback.append(t)
        else:
            rates[t] = overall.rate(t)
    if fallback:
        notes.append(f"{dimension} {name}: no history for {', '.join(fallback)}; the overall "
                     "rate is used.")
    size = deal.value if deal and deal.value else overall.deal_size
    return Funnel(rates, size, overall.lags)


def _flywheel(ws: Workspace | None, req: PlanRequest, window: history.Window,
              ref_rate: float | None, base: float | None, start: dt.date, as_of: dt.date,
              funnel: Funnel, given_rates: dict[str, float], notes: list[str],
              meta: dict[str, Any],
              known: tuple[dict[str | None, dict[str, history.Observed]],
                           dict[str | None, history.Observed]] | None = None
              ) -> Flywheel | None:
    """The flywheel's inputs; ``known`` are the per-channel readings already made for
    ``--by channel`` (not read twice)."""
    rate = ref_rate
    source = "given"
    if rate is None and ws is not None:
        obs = history.referral_rate(ws, window)
        rate, source = obs.value, "history"
        meta["referral_history"] = {"referral_leads": obs.numerator,
                                    "customer_months": obs.denominator}
        if not rate:
            return None  # no referral leads (or no customers) in history: no flywheel
    if not rate:
        return None
    base_source = "given"
    if base is None:
        found = history.customer_base(ws, start, as_of) if ws is not None else None
        base, base_source = (found, "history") if found is not None else (0.0, "none")
        if found is None:
            notes.append("No MRR history gives the customer base, so the flywheel starts from "
                         "0 customers (give --customer-base N).")
    fly_funnel = funnel
    if req.rates_from_history and ws is not None:
        rates_by, deals_by = known if known else (
            history.conversion_rates(ws, window, "channel"),
            history.deal_size(ws, window, "channel") if req.deal_size_from_history else {})
        by_channel = rates_by.get(REFERRAL_CHANNEL, {})
        deal = deals_by.get(REFERRAL_CHANNEL) if req.deal_size_from_history else None
        fly_funnel = _segment_funnel(REFERRAL_CHANNEL, funnel, given_rates, by_channel, deal,
                                     "channel", notes)
    meta["flywheel_sources"] = {"referral_rate": source, "customer_base": base_source}
    return Flywheel(rate, float(base), fly_funnel)
