"""The dashboard's filters, read from query parameters so every view is a bookmarkable URL.

Only allow-listed names reach the metric engine (reliability-plan.md T14); values are passed
as data (the engine compares them as literals) and never formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from funnelboard.errors import UsageError
from funnelboard.metrics.query import BASES, COMPARES, GRAINS, RULES, parse_date, today_in
from funnelboard.metrics.registry import MetricDef

#: dimensions the filter bar offers; each maps to a metric dimension of the same name
FILTER_DIMENSIONS = ("channel", "motion", "segment", "region", "is_target_account")
#: the longest filter value accepted (a longer one is a 422, not a slow query)
MAX_VALUE_LENGTH = 200
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class Filters:
    """One view's filters. ``start``/``end`` default to the 12 months up to the as-of date."""

    as_of: dt.date
    start: dt.date
    end: dt.date
    grain: str = "month"
    compare: str | None = "previous"
    basis: str | None = None
    rule: str = "cumulative"
    dims: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: start/end as given (None when defaulted), so links keep the user's choice only
    explicit_range: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, timezone: str,
                    as_of: dt.date | None = None) -> Filters:
        """Read filters from query parameters (a Starlette ``QueryParams`` or a dict of
        lists); a bad value raises :class:`UsageError` with a plain sentence."""
        def get(name: str) -> str | None:
            value = params.get(name)
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            text = None if value is None else str(value).strip()
            if text and len(text) > MAX_VALUE_LENGTH:
                raise UsageError(f"The filter '{name}' is longer than {MAX_VALUE_LENGTH} "
                                 "characters.")
            return text or None

        day = parse_date(get("as_of"), "as_of") or as_of or today_in(timezone)
        end = parse_date(get("end"), "end") or day
        start = parse_date(get("start"), "start") or _months_back(end, DEFAULT_MONTHS)
        if start > end:
            raise UsageError(f"The start {start} is after the end {end}; the range is empty.")
        grain = _choice(get("grain") or "month", "grain", GRAINS)
        compare_text = get("compare")
        compare = None if compare_text == "none" else _choice(compare_text or "previous",
                                                                "compare", COMPARES)
        basis = _choice(get("basis"), "basis", BASES) if get("basis") else None
        rule = _choice(get("rule") or "cumulative", "rule", RULES)
        dims = []
        for dim in FILTER_DIMENSIONS:
            values = _values(params, dim)
            if values:
                dims.append((dim, values))
        return cls(as_of=day, start=start, end=end, grain=grain, compare=compare, basis=basis,
                   rule=rule, dims=tuple(dims),
                   explicit_range=bool(get("start") or get("end")))

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    def to_params(self) -> dict[str, Any]:
        """Query parameters that reproduce this view (dims as repeated parameters)."""
        out: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat(),
                               "grain": self.grain, "as_of": self.as_of.isoformat()}
        if self.compare != "previous":
            out["compare"] = self.compare or "none"
        if self.basis:
            out["basis"] = self.basis
        if self.rule != "cumulative":
            out["rule"] = self.rule
        for dim, values in self.dims:
            out[dim] = list(values)
        return out

    def query(self, metric: MetricDef, notes: list[str] | None = None,
              **overrides: Any) -> dict[str, Any]:
        """Options for ``Workspace.metric`` for ``metric``: filters the metric cannot take
        are left out and said so in ``notes``."""
        filters: dict[str, list[str]] = {}
        for dim, values in self.dims:
            if dim in metric.dimensions:
                filters[dim] = list(values)
            elif notes is not None:
                note = f"{metric.label} cannot be filtered by {dim.replace('_', ' ')}; it " \
                       "shows all of them."
                if note not in notes:
                    notes.append(note)
        options: dict[str, Any] = {"start": self.start, "end": self.end, "as_of": self.as_of,
                                   "grain": self.grain, "filters": filters or None,
                                   "rule": self.rule}
        if self.basis and metric.kind in ("created", "count", "rate", "days"):
            options["basis"] = self.basis
        options.update(overrides)
        return {k: v for k, v in options.items() if v is not None}


def api_params(options: Mapping[str, Any]) -> dict[str, Any]:
    """The query parameters of ``/api/v1/metrics/{key}`` that reproduce ``options``."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key == "filters":
            out["filter"] = [f"{d}={v}" for d, vals in value.items() for v in vals]
        elif key == "by":
            out["by"] = list(value) if not isinstance(value, str) else [value]
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, bool):
            if value:
                out[key] = "true"
        else:
            out[key] = value
    return out


def _values(params: Mapping[str, Any], name: str) -> tuple[str, ...]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist else params.get(name)
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if len(text) > MAX_VALUE_LENGTH:
            raise UsageError(f"The filter '{name}' is longer than {MAX_VALUE_LENGTH} "
                             "characters.")
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str:
    text = (value or "").lower()
    if text not in allowed:
        raise UsageError(f"The {name} '{value}' is not allowed; use one of: "
                         f"{', '.join(allowed)}.")
    return text


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months - 1`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)
