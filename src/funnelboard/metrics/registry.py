"""Every metric's key and metadata, and the key grammar of funnel metrics.

Static metrics are registered once with :func:`register`. Funnel keys depend on the workspace's
stages (``leads`` … ``customers``, ``<a>_to_<b>_rate``, ``<a>_to_<b>_rate_<N>d``,
``<a>_to_<b>_days``), so :func:`resolve` builds their definitions from the settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from funnelboard.errors import UsageError, suggest
from funnelboard.settings import Settings

FUNNEL_DIMENSIONS = (
    "channel", "motion", "source", "source_detail", "latest_channel", "latest_source",
    "campaign", "segment", "region", "industry", "icp_tier", "is_target_account", "persona",
    "owner",
)
WITHIN_DAYS = (30, 60, 90, 180)


@dataclass(frozen=True)
class MetricDef:
    """A metric's metadata (metrics.md, "Rules for all metrics")."""

    key: str
    label: str
    group: str
    kind: str  # which compiler computes it: count, rate, days, created, maturity, cycle
    unit: str  # count, currency, ratio, days, hours, months, score
    direction: str  # up (more is better), down, neutral
    aggregation: str  # flow, stock, ratio
    leading: bool
    time_basis: str
    definition: str
    dimensions: tuple[str, ...] = FUNNEL_DIMENSIONS
    #: kind-specific parameters (stage, from/to stage, within days)
    params: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def leading_label(self) -> str:
        return "leading" if self.leading else "lagging"


_STATIC: dict[str, MetricDef] = {}
#: Functions giving the metrics a workspace's stages define (cost_per_<stage>, …).
_FAMILIES: list[Callable[[Settings], list[MetricDef]]] = []


def register(metric: MetricDef) -> MetricDef:
    _STATIC[metric.key] = metric
    return metric


def register_family(family: Callable[[Settings], list[MetricDef]]) -> None:
    """Register metrics whose keys depend on the settings (one per configured stage, …);
    they are listed and resolved for the workspace's own stages."""
    if family not in _FAMILIES:
        _FAMILIES.append(family)


def _family_metrics(settings: Settings) -> list[MetricDef]:
    return [m for family in _FAMILIES for m in family(settings)]


register(MetricDef(
    "contacts_created", "Contacts created", "funnel", "created", "count", "up", "flow", True,
    "contact created_at",
    "Contacts created in the period (their creation date is the cohort date). Every contact "
    "counts, whether or not it reached a funnel stage."))
register(MetricDef(
    "sales_cycle_days", "Sales cycle (days)", "funnel", "cycle", "days", "down", "ratio", False,
    "opportunity close_date",
    "Median days from opportunity creation to close date over won deals of all types, by the "
    "period of the close date; p75 in extra.", dimensions=()))
register(MetricDef(
    "cohort_maturity", "Cohort maturity", "funnel", "maturity", "ratio", "neutral", "ratio",
    False, "contact created_at",
    "For each creation cohort and a transition a→b (default: first stage to last): the share "
    "of a→b lags observed in older cohorts (those older than the 95th percentile lag) that are "
    "no longer than this cohort's age (as-of date minus the cohort's first day) — how much of "
    "its eventual conversion is already visible. Choose the transition with --transition.",
    dimensions=()))


def _load_catalogue() -> None:
    """Import every metric module so its metrics are registered (done once, lazily: the
    modules import this one)."""
    import funnelboard.metrics.catalogue  # noqa: F401


def _stage_maps(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    plural = dict(settings.stage_plurals)
    return plural, {p: s for s, p in plural.items()}


def funnel_metrics(settings: Settings) -> list[MetricDef]:
    """The funnel keys this workspace's stages define (what ``metrics list`` shows)."""
    stages = list(settings.stages)
    out = [_STATIC["contacts_created"]]
    out += [_count_def(settings, s) for s in stages]
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            out.append(_rate_def(a, b, None))
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            out.append(_days_def(a, b))
    out += [_STATIC["sales_cycle_days"], _STATIC["cohort_maturity"]]
    return out


def all_metrics(settings: Settings) -> list[MetricDef]:
    """Every listed metric: funnel keys first, then the other registered metrics."""
    _load_catalogue()
    listed = funnel_metrics(settings)
    family = {m.key: m for m in _family_metrics(settings)}
    seen = {m.key for m in listed}
    listed += [m for k, m in _STATIC.items() if k not in seen and k not in family]
    seen |= {m.key for m in listed}
    return listed + [m for k, m in family.items() if k not in seen]


_RATE = re.compile(r"^([a-z][a-z0-9_]*?)_to_([a-z][a-z0-9_]*?)_rate(?:_(\d+)d)?$")
_DAYS = re.compile(r"^([a-z][a-z0-9_]*?)_to_([a-z][a-z0-9_]*?)_days$")


def resolve(key: str, settings: Settings) -> MetricDef:
    """The definition of ``key``; an unknown key is an error listing close matches."""
    _load_catalogue()
    key = key.strip()
    for metric in _family_metrics(settings):
        if metric.key == key:
            return metric
    if key in _STATIC:
        return _STATIC[key]
    stages = list(settings.stages)
    _, by_plural = _stage_maps(settings)
    if key in by_plural:
        return _count_def(settings, by_plural[key])
    m = _RATE.match(key)
    if m and m.group(1) in stages and m.group(2) in stages:
        a, b, days = m.group(1), m.group(2), m.group(3)
        _check_order(a, b, stages, key)
        return _rate_def(a, b, int(days) if days else None)
    m = _DAYS.match(key)
    if m and m.group(1) in stages and m.group(2) in stages:
        _check_order(m.group(1), m.group(2), stages, key)
        return _days_def(m.group(1), m.group(2))
    names = [d.key for d in all_metrics(settings)]
    close = suggest(key, names)
    hint = (" Did you mean " + " or ".join(f"'{c}'" for c in close) + "?") if close else ""
    raise UsageError(f"There is no metric '{key}'.{hint} 'funnelboard metrics list' shows them "
                     "all.")


def _check_order(a: str, b: str, stages: list[str], key: str) -> None:
    if stages.index(a) >= stages.index(b):
        raise UsageError(f"'{key}': the stage '{b}' comes before '{a}' (or is the same) in the "
                         f"funnel ({' → '.join(stages)}); name the earlier stage first.")


def _count_def(settings: Settings, stage: str) -> MetricDef:
    plural = settings.stage_plurals[stage]
    return MetricDef(
        plural, plural.replace("_", " ").capitalize() if plural != "mqls" and plural != "sqls"
        else plural[:3].upper() + "s", "funnel", "count", "count", "up", "flow",
        stage != settings.stages[-1], "contact created_at (cohort) or stage date (period)",
        f"Contacts that reached the {stage} stage. Cumulative rule (default): entered "
        f"{stage} or any later stage, dated by the first {stage} entry, else the earliest later "
        f"entry (flagged inferred). Strict rule: entered every stage up to {stage}. Cohort "
        "basis (default) counts by the contact's creation period; period basis by the period "
        "of the reached date.",
        params={"stage": stage})


def _rate_def(a: str, b: str, days: int | None) -> MetricDef:
    key = f"{a}_to_{b}_rate" + (f"_{days}d" if days else "")
    label = f"{a.upper() if len(a) == 3 else a.capitalize()} → " \
            f"{b.upper() if len(b) == 3 else b} rate" + (f" within {days} days" if days else "")
    within = (f" Only conversions within {days} days of contact creation count, so cohorts of "
              f"different age compare fairly; a cohort younger than {days} days at the as-of "
              "date has no value.") if days else ""
    return MetricDef(
        key, label, "funnel", "rate", "ratio", "up", "ratio", True,
        "contact created_at (cohort) or stage date (period)",
        f"Contacts that reached {b} ÷ contacts that reached {a}, same cohort (or period) and "
        f"rule; empty when none reached {a}.{within}",
        params={"a": a, "b": b, "days": days})


def _days_def(a: str, b: str) -> MetricDef:
    return MetricDef(
        f"{a}_to_{b}_days", f"Days {a} → {b}", "funnel", "days", "days", "down", "ratio", False,
        "contact created_at (cohort) or date of reaching the later stage (period)",
        f"Median days from the first {a} entry to the first {b} entry, over contacts with an "
        "actual entry in both stages (an inferred date is an upper bound, not a measurement); "
        "p75 in extra.",
        params={"a": a, "b": b})


def with_params(metric: MetricDef, **params: object) -> MetricDef:
    return replace(metric, params={**metric.params, **params})
