"""The year-to-date report card (S4-1): actual vs plan per funnel stage and per channel,
marketing ROI and the conversion rates of the year so far, biggest gaps first.

* **Plan**: the ``targets`` rows of the fiscal year with ``kind = plan`` (what ``funnelboard
  plan --save-as-targets`` writes); without any, the ``okr`` rows, and the card says so.
  Per metric and dimension value the finest grain present is used (months before quarters
  before the year, so a quarter target is not counted twice beside its months). The plan to
  date sums the targets of the periods up to the as-of date, a period running over it
  pro-rated by its elapsed days (linear).
* **Actual**: the metric engine over the fiscal year up to the as-of date: funnel stages on
  the period basis (stage reached in the window: the plan's monthly volumes are stage entries
  in that month), ``sessions``, and ``bookings`` of new-business deals when the plan is the
  planner's (its revenue is new business); any other flow metric with a target as it is.
  Targets on stock or ratio metrics are not summed to date; the card lists them in a note.
* **Gaps**: gap = actual − plan to date; attainment = actual ÷ plan to date; status from the
  settings' thresholds (``targets.on_track_from``, ``targets.behind_below``). Lines are sorted
  by attainment, lowest first (the biggest relative gap first: stages in different units
  compare by share), lines without a plan last.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from funnelboard.errors import UsageError
from funnelboard.metrics.periods import fiscal_label, period_end
from funnelboard.metrics.query import NONE_LABEL
from funnelboard.metrics.registry import MetricDef, resolve
from funnelboard.plan.model import fiscal_year_of, fiscal_year_start
from funnelboard.workspace import Workspace

GRAIN_ORDER = ("month", "quarter", "year")
#: funnel order of the keys a plan saves (stage keys are the workspace's plurals)
PLAN_ORDER = ("sessions", "leads", "mqls", "sqls", "opportunities", "customers", "bookings")


def _overlap_share(start: dt.date, grain: str, first: dt.date, last: dt.date) -> float:
    """The share of the period starting ``start`` that lies within [first, last]."""
    end = period_end(start, grain)
    lo, hi = max(start, first), min(end, last)
    if hi < lo:
        return 0.0
    return ((hi - lo).days + 1) / ((end - start).days + 1)


def _stage_keys(ws: Workspace) -> list[str]:
    plurals = ws.settings.stage_plurals
    return ["sessions", *[plurals.get(s, s + "s") for s in ws.settings.stages], "bookings"]


def report_card(ws: Workspace, year: int | None, as_of: dt.date) -> dict[str, Any]:
    """The card as a JSON-ready dict: ``period, as_of, ytd, targets_kind, stages[],
    channels[], rates[], marketing_roi, notes[]``."""
    settings = ws.settings
    fiscal = settings.fiscal_year_start_month
    year = year or fiscal_year_of(as_of, fiscal)
    start = fiscal_year_start(year, fiscal)
    end = period_end(start, "year")
    label = fiscal_label(start, "year", fiscal)
    if as_of < start:
        raise UsageError(f"The fiscal year {label} starts on {start}, after the as-of date "
                         f"{as_of}; choose an earlier --period or a later --as-of.")
    ytd_end = min(as_of, end)
    notes: list[str] = []
    rows = ws.query("SELECT metric, period_start, grain, target, dimension, dimension_value, "
                    "kind FROM targets WHERE period_start >= ? AND period_start <= ?",
                    [start, end])
    kinds = {r[6] for r in rows}
    kind: str | None = "plan" if "plan" in kinds else "okr" if "okr" in kinds else None
    if kind == "okr":
        notes.append(f"There is no plan for {label} (targets of kind plan); the card compares "
                     "with the OKR targets instead. Save a plan with funnelboard plan ... "
                     "--save-as-targets.")
    elif kind is None:
        notes.append(f"There are no plan or OKR targets for {label}; the card shows actuals "
                     "only. Save a plan with funnelboard plan ... --save-as-targets.")
    chosen = [r for r in rows if r[6] == kind]
    plan = _plan_to_date(chosen, start, ytd_end)
    order = _stage_keys(ws)
    metrics: dict[str, MetricDef] = {}
    for key in sorted({k[0] for k in plan}, key=lambda k: (k not in order,
                                                           order.index(k) if k in order else 0,
                                                           k)):
        try:
            metric = resolve(key, settings)
        except UsageError:
            notes.append(f"A target names '{key}', which is not a metric; it is left out.")
            continue
        if metric.aggregation != "flow":
            notes.append(f"The target on {key} ({metric.aggregation}) is not a sum over the "
                         f"year; see funnelboard metrics show {key} --with-target.")
            continue
        metrics[key] = metric
    if kind is None:
        metrics = {k: resolve(k, settings) for k in order if _known(k, settings)}
    window = {"start": start, "end": ytd_end, "as_of": as_of, "grain": "year"}
    new_business = kind == "plan"
    stages = _lines(ws, metrics, plan, None, window, new_business, settings, notes)
    channels: list[dict[str, Any]] = []
    for dim in sorted({k[1] for k in plan if k[1]}):
        channels += _lines(ws, metrics, plan, dim, window, new_business, settings, notes)
    if kind is not None and not channels:
        notes.append("The plan has no per-channel targets; save one with funnelboard plan "
                     "--by channel --save-as-targets to compare channels.")
    days_in_year = (end - start).days + 1
    return {
        "period": {"year": year, "label": label, "start": start.isoformat(),
                   "end": end.isoformat()},
        "as_of": as_of.isoformat(),
        "ytd": {"start": start.isoformat(), "end": ytd_end.isoformat(),
                "elapsed_share": ((ytd_end - start).days + 1) / days_in_year},
        "targets_kind": kind,
        "stages": _sorted(stages),
        "channels": _sorted(channels),
        "rates": _rates(ws, stages, window, settings),
        "marketing_roi": _roi(ws, window),
        "thresholds": {"on_track_from": settings.target_on_track_from,
                       "behind_below": settings.target_behind_below},
        "notes": notes,
    }


def _known(key: str, settings: Any) -> bool:
    try:
        resolve(key, settings)
    except UsageError:
        return False
    return True


PlanKey = tuple[str, str, str]  # metric, dimension ('' = total), value


def _plan_to_date(rows: Iterable[tuple[Any, ...]], first: dt.date,
                  last: dt.date) -> dict[PlanKey, dict[str, Any]]:
    """Per (metric, dimension, value): the plan to date and for the year, at the finest grain
    present."""
    grouped: dict[PlanKey, dict[str, list[tuple[dt.date, float]]]] = {}
    for metric, start, grain, target, dim, value, _kind in rows:
        name = str(value or "")
        if dim and not name:
            name = NONE_LABEL  # a target on the empty value of a dimension
        key = (str(metric), str(dim or ""), name)
        grouped.setdefault(key, {}).setdefault(str(grain), []).append((start, float(target)))
    out: dict[PlanKey, dict[str, Any]] = {}
    for key, by_grain in grouped.items():
        grain = next(g for g in GRAIN_ORDER if g in by_grain)
        items = by_grain[grain]
        out[key] = {"grain": grain,
                    "plan_ytd": sum(t * _overlap_share(s, grain, first, last) for s, t in items),
                    "plan_year": sum(t for _, t in items)}
    # a metric planned only per dimension value gets its total as their sum
    for metric, dim in {(k[0], k[1]) for k in out if k[1]}:
        if (metric, "", "") in out:
            continue
        parts = [v for k, v in out.items() if k[0] == metric and k[1] == dim]
        out[(metric, "", "")] = {"grain": parts[0]["grain"],
                                 "plan_ytd": sum(p["plan_ytd"] for p in parts),
                                 "plan_year": sum(p["plan_year"] for p in parts),
                                 "summed_from": dim}
    return out


def _query(metric: MetricDef, window: dict[str, Any], new_business: bool) -> dict[str, Any]:
    options: dict[str, Any] = dict(window)
    if metric.kind == "count":
        options["basis"] = "period"
    if metric.key == "bookings" and new_business:
        options["filters"] = {"type": ["new_business"]}
    return options


def _lines(ws: Workspace, metrics: dict[str, MetricDef], plan: dict[PlanKey, dict[str, Any]],
           dim: str | None, window: dict[str, Any], new_business: bool, settings: Any,
           notes: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, metric in metrics.items():
        planned = {k[2]: v for k, v in plan.items() if k[0] == key and k[1] == (dim or "")}
        if dim and not planned:
            continue
        if dim and dim not in metric.dimensions:
            notes.append(f"{key} cannot be broken down by {dim}; its per-{dim} targets are left "
                         "out.")
            continue
        # a total summed from per-value targets is compared with the same values' actuals
        split = None if dim else (planned.get("") or {}).get("summed_from")
        over = dim or split
        if split and split not in metric.dimensions:
            split = over = None
        res = ws.metric(key, by=[over] if over else [], **_query(metric, window, new_business))
        notes.extend(n for n in res.notes if n not in notes)
        actual: dict[str, float] = {}
        wanted = {k[2] for k in plan if k[0] == key and k[1] == split} if split else None
        for r in res.rows:
            name = "" if not over else (NONE_LABEL if r.get(over) is None else str(r[over]))
            if split:
                if name not in (wanted or set()):
                    continue
                name = ""
            actual[name] = actual.get(name, 0.0) + float(r.get("value") or 0)
        if split:
            notes.append(f"{key} has no total target, only per-{split} ones: its total line "
                         f"sums those and compares them with the same {split} values' actuals.")
        names = sorted(planned) if dim else [""]
        for name in names:
            p = planned.get(name)
            line = _line(metric, p, actual.get(name, 0.0), settings)
            if dim:
                line = {"dimension": dim, "value": name, **line}
            out.append(line)
    return out


def _line(metric: MetricDef, plan: dict[str, Any] | None, actual: float,
          settings: Any) -> dict[str, Any]:
    plan_ytd = plan["plan_ytd"] if plan else None
    attainment = actual / plan_ytd if plan_ytd else None
    score = attainment
    if metric.direction == "down" and plan_ytd:
        score = plan_ytd / actual if actual else float("inf")
    status = None
    if score is not None:
        status = ("on_track" if score >= settings.target_on_track_from
                  else "behind" if score < settings.target_behind_below else "at_risk")
    return {"metric": metric.key, "label": metric.label, "unit": metric.unit,
            "plan_ytd": plan_ytd, "actual_ytd": actual,
            "gap": actual - plan_ytd if plan_ytd is not None else None,
            "attainment": attainment, "status": status,
            "plan_year": plan["plan_year"] if plan else None,
            "grain": plan["grain"] if plan else None}


def _sorted(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(lines, key=lambda x: (x["attainment"] is None, x["attainment"] or 0.0))


def _rates(ws: Workspace, stages: list[dict[str, Any]], window: dict[str, Any],
           settings: Any) -> list[dict[str, Any]]:
    """Conversion between consecutive planned stages: the plan's ratio and the actual rate of
    the year so far (period basis; visit_to_lead_rate for sessions → leads)."""
    plan = {s["metric"]: s["plan_year"] for s in stages}
    plurals = settings.stage_plurals
    chain = [("sessions", None)] + [(plurals.get(s, s + "s"), s) for s in settings.stages]
    out = []
    for (a_key, a_stage), (b_key, b_stage) in itertools.pairwise(chain):
        if a_stage is None:
            metric, transition = "visit_to_lead_rate", "visit_to_lead"
            res = ws.metric(metric, **window)
        else:
            transition = f"{a_stage}_to_{b_stage}"
            metric = f"{transition}_rate"
            res = ws.metric(metric, basis="period", **window)
        num = sum(float(r.get("numerator") or 0) for r in res.rows)
        den = sum(float(r.get("denominator") or 0) for r in res.rows)
        pa, pb = plan.get(a_key), plan.get(b_key)
        out.append({"transition": transition, "metric": metric,
                    "plan": pb / pa if pa and pb is not None else None,
                    "actual": num / den if den else None, "numerator": num,
                    "denominator": den})
    return out


def _roi(ws: Workspace, window: dict[str, Any]) -> dict[str, Any]:
    res = ws.metric("marketing_roi", **window)
    row = res.rows[0] if res.rows else {}
    return {"value": row.get("value"), "numerator": row.get("numerator"),
            "denominator": row.get("denominator"), "definition": res.definition,
            "notes": list(res.notes)}

