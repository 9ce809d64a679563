"""The one query shape every metric answers (DESIGN.md, "The one query model").

A :class:`MetricQuery` is built from user input (CLI options, API parameters, Python keyword
arguments) by :func:`make_query`, which checks every field and turns a bad one into a sentence
naming the option, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from funnelboard.errors import UsageError, did_you_mean

GRAINS = ("day", "week", "month", "quarter", "year")
BASES = ("cohort", "period")
RULES = ("cumulative", "strict")
LEVELS = ("contact", "account")
COMPARES = ("previous", "yoy")
PROBABILITIES = ("crm", "history")
#: The written form of an empty dimension value, in filters and tables.
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class MetricQuery:
    """What to compute. Dates are local calendar dates in the workspace time zone; both bounds
    are inclusive. ``filters`` maps a dimension to its allowed values (OR within a dimension,
    AND across dimensions)."""

    metric: str
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.date = field(default_factory=dt.date.today)
    grain: str = "month"
    by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: None until :func:`~funnelboard.metrics.engine.compute` applies the metric's default
    #: (cohort for funnel counts, period for cost per stage)
    basis: str | None = None
    rule: str = "cumulative"
    level: str = "contact"
    compare: str | None = None
    #: ``cohort_maturity`` only: the transition, e.g. ``lead_to_customer``
    transition: str | None = None
    #: ``weighted_pipeline`` only: ``crm`` (the deal's probability, default) or ``history``
    #: (the historical stage-to-win rate)
    probability: str | None = None
    #: add target, attainment, pacing, projection and status to each row (metrics.md §7)
    with_target: bool = False

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO dates), as recorded in every result and snapshot."""
        out = asdict(self)
        for key in ("start", "end", "as_of"):
            out[key] = out[key].isoformat() if out[key] else None
        out["by"] = list(self.by)
        out["filters"] = {k: list(v) for k, v in self.filters}
        return out

    def replace(self, **changes: Any) -> MetricQuery:
        data = {**self.__dict__, **changes}
        return MetricQuery(**data)


def parse_date(value: object, option: str) -> dt.date | None:
    """A date from a ``date``, ``datetime`` or ISO text (``2025-03-01``)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise UsageError(f"{option} '{value}' is not a date; write it as YYYY-MM-DD.") from None


def _choice(value: object, option: str, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise UsageError(f"{option} '{value}' is not allowed; use one of: {', '.join(allowed)}."
                         + did_you_mean(text, allowed))
    return text


def parse_filters(filters: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{"channel": "webinar"}``, ``{"channel": ["a", "b"]}`` or ``["channel=a", ...]``."""
    merged: dict[str, list[str]] = {}
    if filters is None:
        return ()
    if isinstance(filters, dict):
        items: list[tuple[str, object]] = list(filters.items())
    elif isinstance(filters, str):
        items = [_split_filter(filters)]
    else:
        items = [_split_filter(str(f)) for f in filters]  # type: ignore[attr-defined]
    for dim, values in items:
        vals = [values] if isinstance(values, str) or not hasattr(values, "__iter__") \
            else list(values)
        for v in vals:
            text = "" if v is None else str(v)
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
                raise UsageError(f"The filter value for '{str(dim).strip()[:40]}' contains a "
                                 "control character (such as a NUL or line break); remove it.")
            bucket = merged.setdefault(str(dim).strip(), [])
            if text not in bucket:
                bucket.append(text)
    return tuple((k, tuple(v)) for k, v in merged.items())


def _split_filter(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"--filter '{text}' should be written DIMENSION=VALUE, for example "
                         "channel=paid_search.")
    dim, value = text.split("=", 1)
    return dim.strip(), value.strip()


def today_in(zone: str | None) -> dt.date:
    """Today's date in the workspace time zone (not the machine's)."""
    if not zone:
        return dt.date.today()
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(zone)).date()


def make_query(metric: str, *, timezone: str | None = None, **options: Any) -> MetricQuery:
    """Check and normalise query options (see :class:`MetricQuery`); without ``as_of`` the
    as-of date is today in ``timezone`` (the workspace's)."""
    known = set(MetricQuery.__dataclass_fields__) - {"metric"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"Unknown query option '{unknown[0]}'; the options are: "
                         f"{', '.join(sorted(known))}." + did_you_mean(unknown[0], known))
    start = parse_date(options.get("start"), "--start")
    end = parse_date(options.get("end"), "--end")
    as_of = parse_date(options.get("as_of"), "--as-of") or today_in(timezone)
    if start and end and start > end:
        raise UsageError(f"--start {start} is after --end {end}; the range would be empty.")
    by_opt = options.get("by") or ()
    by = (by_opt,) if isinstance(by_opt, str) else tuple(by_opt)
    by = tuple(dict.fromkeys(b.strip() for b in by if b and b.strip()))
    compare = options.get("compare")
    transition = options.get("transition")
    return MetricQuery(
        metric=metric.strip(),
        start=start, end=end, as_of=as_of,
        grain=_choice(options.get("grain") or "month", "--grain", GRAINS),
        by=by, filters=parse_filters(options.get("filters")),
        basis=_choice(options["basis"], "--basis", BASES) if options.get("basis") else None,
        rule=_choice(options.get("rule") or "cumulative", "--rule", RULES),
        level=_choice(options.get("level") or "contact", "--level", LEVELS),
        compare=_choice(compare, "--compare", COMPARES) if compare else None,
        transition=str(transition).strip() if transition else None,
        probability=_choice(options["probability"], "--probability", PROBABILITIES)
        if options.get("probability") else None,
        with_target=bool(options.get("with_target")),
    )
