"""Targets on metric results: attainment, pacing, projection and status (metrics.md §7).

:func:`add_targets` (called by ``compute`` for a query with ``with_target``) adds to every row
``target``, ``attainment``, ``pacing``, ``projection`` and ``status`` — all ``None`` for a
row without a target — and ``extra["target"]`` with what explains them. The rules, in short
(docs/targets.md has them in full, with worked examples):

- **attainment** = actual ÷ target.
- A **finished** period (its last day on or before the as-of date): pacing = attainment,
  projection = actual, status from attainment.
- A **running** period: for a flow metric, pacing = actual to date ÷ (target × elapsed share)
  and projection = actual ÷ elapsed share, where the elapsed share is the days elapsed ÷ the
  days of the period (linear; the as-of day counts as elapsed) or, with ``[targets] pacing =
  "seasonal"``, the share of the period's value that had come in by the same date in the
  previous one to three years. A stock or a ratio is not pro-rated: pacing = attainment and
  projection = the current value. Status from pacing.
- A period that has not started has its target only.
- **status**: the ratio (pacing or attainment) is turned into a score — itself for a metric
  whose direction is up, ``2 − ratio`` for one whose direction is down (10 % over a cost
  target scores 0.90), ``1 − |ratio − 1|`` for a neutral one — and compared with the
  settings: ``on_track`` at or above ``targets.on_track_from``, ``behind`` below
  ``targets.behind_below``, ``at_risk`` between.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.engine import Engine, Window, compute
from funnelboard.metrics.registry import MetricDef
from funnelboard.metrics.result import TARGET_FIELDS, MetricResult
from funnelboard.metrics.target_store import Match, dim_key, lookup
from funnelboard.settings import Settings

__all__ = ["TARGET_FIELDS", "add_targets"]
STATUSES = ("on_track", "at_risk", "behind")
#: Years of history seasonal pacing learns from (the same period 1, 2 and 3 years earlier).
HISTORY_YEARS = 3


def status_of(ratio: float | None, direction: str, settings: Settings) -> str | None:
    """``on_track`` / ``at_risk`` / ``behind`` for pacing or attainment ``ratio``.

    Up: the ratio itself is the score. Down (costs, churn, cycle time: under target is good):
    the score is ``2 − ratio``, so 5 % over the target scores 0.95 and 5 % under 1.05. Neutral:
    ``1 − |ratio − 1|`` (any distance from the target counts against it). On track when the
    score is at least ``on_track_from``, behind when it is below ``behind_below``.
    """
    if ratio is None:
        return None
    if direction == "down":
        score = 2 - ratio
    elif direction == "neutral":
        score = 1 - abs(ratio - 1)
    else:
        score = ratio
    score = round(score, 9)  # 2 - 1.05 must compare equal to 0.95
    if score >= settings.target_on_track_from:
        return "on_track"
    if score < settings.target_behind_below:
        return "behind"
    return "at_risk"


def linear_share(start: dt.date, end: dt.date, cut: dt.date) -> float:
    """Days from ``start`` through ``cut`` (both counted) ÷ days of the period."""
    return ((cut - start).days + 1) / ((end - start).days + 1)


@dataclass
class _Running:
    """The one period the as-of date (or the range end) falls inside, and its elapsed share."""

    start: dt.date
    end: dt.date
    cut: dt.date
    linear: float
    #: per breakdown combination: (seasonal share, years used), None → linear
    seasonal: dict[tuple[Any, ...], tuple[float, list[int]] | None]


def add_targets(engine: Engine, metric: MetricDef, result: MetricResult) -> None:
    """Add ``target``, ``attainment``, ``pacing``, ``projection``, ``status`` (and
    ``extra["target"]``) to each row of ``result``; see the module docstring."""
    query, settings = result.query, engine.settings
    notes = result.notes
    dims = result.dims
    found = lookup(engine, metric, query, notes)
    window_end = Window.of(query).end
    flow = metric.aggregation == "flow"
    running: _Running | None = None
    clipped_start = direct = False
    matched = 0
    for row in result.rows:
        for name in TARGET_FIELDS:
            row[name] = None
        combo = tuple(dim_key(row.get(d)) for d in dims)
        match = found.get((row["period"], *combo))
        if match is None:
            continue
        matched += 1
        start, end = row["period"], row["period_end"]
        row["target"] = match.target
        detail: dict[str, Any] = {"from": match.source, "kind": match.kind}
        row["extra"] = {**(row.get("extra") or {}), "target": detail}
        if query.start is not None and query.start > start:
            clipped_start = True
            detail["pacing_basis"] = "clipped"
            continue
        if start > window_end:
            detail["pacing_basis"] = "not_started"
            continue
        value = row.get("value")
        cut = min(end, window_end)
        attainment = _div(value, match.target)
        row["attainment"] = attainment
        if cut >= end:
            row["pacing"] = attainment
            row["projection"] = _num(value)
            row["status"] = status_of(attainment, metric.direction, settings)
            detail.update(pacing_basis="final", elapsed_share=1.0,
                          expected_to_date=match.target)
            continue
        if not flow:
            direct = True
            row["pacing"] = attainment
            row["projection"] = _num(value)
            row["status"] = status_of(attainment, metric.direction, settings)
            detail.update(pacing_basis="direct", elapsed_share=_round(
                linear_share(start, end, cut)), expected_to_date=match.target)
            continue
        if running is None:
            running = _Running(start, end, cut, linear_share(start, end, cut), {})
            if settings.target_pacing == "seasonal":
                running.seasonal = _seasonal_shares(engine, result, start, end, cut, found)
        seasonal = running.seasonal.get(combo)
        share, basis = (seasonal[0], "seasonal") if seasonal else (running.linear, "linear")
        expected = match.target * share
        row["pacing"] = _div(value, expected)
        row["projection"] = _div(value, share)
        row["status"] = status_of(row["pacing"], metric.direction, settings)
        detail.update(pacing_basis=basis, elapsed_share=_round(share),
                      expected_to_date=_round(expected))
        if seasonal:
            detail["history_years"] = seasonal[1]
    if matched == 0 and not _shape_noted(notes):
        notes.append(f"No target for '{metric.key}' matches these {query.grain}s; set one with "
                     f"'funnelboard targets set {metric.key} --period PERIOD --value N' or "
                     "import a targets file.")
    if any(r["target"] == 0 for r in result.rows):
        notes.append("A target of 0 gives no attainment, pacing or status (nothing to divide "
                     "by).")
    if direct:
        notes.append(f"'{metric.key}' is a {metric.aggregation}, so a running period is not "
                     "pro-rated: its pacing compares the current value with the target directly "
                     "and its projection is the current value.")
    if clipped_start:
        notes.append("A period that starts before --start has only part of its actual, so it "
                     "shows its target but no attainment, pacing or status.")
    if running is not None:
        _running_notes(notes, running, result, settings)


def _shape_noted(notes: list[str]) -> bool:
    return any(n.startswith("Targets are") for n in notes)


def _running_notes(notes: list[str], running: _Running, result: MetricResult,
                   settings: Settings) -> None:
    grain = result.query.grain
    label = periods.fiscal_label(running.start, grain, settings.fiscal_year_start_month)
    days = (running.cut - running.start).days + 1
    total = (running.end - running.start).days + 1
    text = (f"{label} is running: {days} of its {total} days have elapsed by "
            f"{running.cut.isoformat()}, so pacing compares the actual to date with the "
            "target pro-rated ")
    if settings.target_pacing != "seasonal":
        notes.append(text + f"linearly ({days}/{total} = {running.linear:.1%}), and the "
                            "projection is the actual ÷ that share.")
        return
    used = [v for v in running.seasonal.values() if v is not None]
    fell_back = len(running.seasonal) - len(used)
    if not used:
        notes.append(text + f"linearly ({days}/{total} = {running.linear:.1%}): seasonal "
                            "pacing needs an earlier year with the whole period in the data "
                            "and something in it by the same date, and there is none.")
        return
    if len(running.seasonal) == 1:
        share, years = used[0]
        named = " and ".join(str(running.start.year - k) for k in years)
        notes.append(text + f"seasonally: by the same date in {named}, {share:.1%} of the "
                            f"{grain}'s value had come in (against {running.linear:.1%} of its "
                            "days); the projection is the actual ÷ that share.")
        return
    notes.append(text + "seasonally, each breakdown value by its own history (the share of the "
                        f"{grain}'s value that had come in by the same date in the previous "
                        f"1-{HISTORY_YEARS} years)"
                 + (f"; {fell_back} value(s) without a whole earlier period in the data are "
                    f"pro-rated linearly ({running.linear:.1%})" if fell_back else "") + ".")


def _seasonal_shares(engine: Engine, result: MetricResult, start: dt.date, end: dt.date,
                     cut: dt.date, found: dict[tuple[Any, ...], Match]
                     ) -> dict[tuple[Any, ...], tuple[float, list[int]] | None]:
    """Per breakdown combination, the share of the period's value that came in by ``cut``'s
    date in earlier years: Σ value(start_k … cut_k) ÷ Σ value(start_k … end_k) over the years
    k = 1…3 whose whole period is in the data (its total is positive and the series has a
    non-zero day before it starts). None (→ linear) without such a year."""
    query, grain = result.query, result.query.grain
    dims = result.dims
    years = list(range(1, HISTORY_YEARS + 1))
    starts = {k: periods.shift_period(start, "month", -12 * k) for k in years}
    ends = {k: periods.period_end(starts[k], grain) for k in years}
    cuts = {k: _years_back(cut, k) for k in years}
    first = periods.shift_period(starts[HISTORY_YEARS], grain, -1)
    history_query = query.replace(start=first, end=ends[1], grain="day", compare=None,
                                  with_target=False)
    try:
        rows = compute(engine, history_query).rows
    except UsageError:
        rows = []
    daily: dict[tuple[Any, ...], dict[dt.date, float]] = defaultdict(dict)
    for r in rows:
        if r.get("value") is not None:
            daily[tuple(dim_key(r.get(d)) for d in dims)][r["period"]] = float(r["value"])
    combos = {k[1:] for k in found if k[0] == start}
    out: dict[tuple[Any, ...], tuple[float, list[int]] | None] = {}
    for combo in combos:
        series = daily.get(combo, {})
        seen = [d for d, v in series.items() if v != 0]
        first_day = min(seen) if seen else None
        to_date = whole = 0.0
        used = []
        for k in years:
            total = sum(v for d, v in series.items() if starts[k] <= d <= ends[k])
            if total <= 0 or first_day is None or first_day >= starts[k]:
                continue
            used.append(k)
            whole += total
            to_date += sum(v for d, v in series.items() if starts[k] <= d <= cuts[k])
        out[combo] = (to_date / whole, used) if used and to_date > 0 else None
    return out


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _div(num: Any, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return _round(float(num) / den)
