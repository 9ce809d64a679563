"""The funnel view: every stage's reached count per period, in one pass over the contacts.

A row per period × breakdown × stage (stages in funnel order) with ``value`` = ``numerator`` =
the stage's reached count and ``denominator`` = the previous stage's (for the first stage:
contacts created in the period), so numerator ÷ denominator is the step conversion;
``extra.of_first`` is the share of the first stage. With the cohort basis this is the cohort
matrix of metrics.md §1.
"""

from __future__ import annotations

from typing import Any

from funnelboard.metrics import funnel as fm
from funnelboard.metrics.engine import Engine, add_comparison, fill_grid
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import resolve
from funnelboard.metrics.result import MetricResult

DEFINITION = (
    "Contacts (or accounts) that reached each funnel stage, per period: value is the stage's "
    "count, numerator ÷ denominator the conversion from the previous stage (the first stage "
    "is divided by the contacts created), extra.of_first the share of the first stage. "
    "Cohort basis groups by creation period; period basis by the date each stage was reached.")


def funnel(engine: Engine, query: MetricQuery) -> MetricResult:
    if query.basis is None:
        query = query.replace(basis="cohort")
    settings = engine.settings
    stages = settings.stages
    notes: list[str] = []
    metric_defs = {s: resolve(settings.stage_plurals[s], settings) for s in stages}
    created_def = resolve("contacts_created", settings)
    fm_query = query.replace(metric="contacts_created")
    from funnelboard.metrics.engine import _check_dims

    _check_dims(created_def, fm_query)
    per_stage = _stage_rows(engine, query, notes)
    dims = tuple(query.by)
    filled = {name: fill_grid(rows, query, settings, dims,
                              created_def if name == "_created" else metric_defs[name])
              for name, rows in per_stage.items()}
    created = {_key(r, dims): r for r in filled["_created"]}
    by_stage = {s: {_key(r, dims): r for r in filled[s]} for s in stages}
    keys = [_key(r, dims) for r in filled["_created"]]
    for s in stages:  # cells a stage has that creation lacks (period basis)
        keys += [k for k in by_stage[s] if k not in created and k not in keys]
    keys = sorted(set(keys), key=lambda k: (k[0], *[(v is None, str(v)) for v in k[1:]]))
    rows: list[dict[str, Any]] = []
    for key in keys:
        base = created.get(key) or next(by_stage[s][key] for s in stages if key in by_stage[s])
        first_value = by_stage[stages[0]].get(key, {}).get("value") or 0
        previous = created[key]["value"] if key in created else 0
        for s in stages:
            cell = by_stage[s].get(key)
            value = cell["value"] if cell else 0
            extra = dict(cell["extra"]) if cell else {}
            extra["of_first"] = value / first_value if first_value else None
            rows.append({"period": key[0], "period_end": base["period_end"],
                         **dict(zip(dims, key[1:], strict=True)), "stage": s,
                         "value": value, "numerator": value, "denominator": previous,
                         "n": value, "partial": base["partial"], "extra": extra})
            previous = value
    result = MetricResult(
        metric="funnel", label="Funnel", unit="count", direction="up", definition=DEFINITION,
        query=query, rows=rows, notes=notes, aggregation="flow",
        settings_version=settings.version, dims=(*dims, "stage"))
    if query.compare and rows:
        add_comparison(engine, result, lambda q: funnel(engine, q))
    return result


def _key(row: dict[str, Any], dims: tuple[str, ...]) -> tuple[Any, ...]:
    return (row["period"], *[row.get(d) for d in dims])


def _stage_rows(engine: Engine, query: MetricQuery,
                notes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Aggregated rows per stage (and ``_created``), before the period grid is filled."""
    settings = engine.settings
    stages = settings.stages
    t = fm.reached(engine, query, notes)
    if query.basis == "period":
        out = {"_created": fm._counts(engine, t, query, None)}
        for s in stages:
            out[s] = fm._counts(engine, t, query, s)
        return out
    t, period = fm._period_column(t, query, settings, None)
    aggs: dict[str, Any] = {"created_n": t.count()}
    for i, s in enumerate(stages):
        hit = t[f"r_{s}"].notnull()
        aggs[f"n{i}"] = hit.sum()
        aggs[f"inf{i}"] = (hit & t[f"i_{s}"]).cast("int64").sum()
    agg = fm._group(t, period, query, **aggs)
    out = {"_created": [], **{s: [] for s in stages}}
    for r in engine.execute(agg):
        dims = {d: fm._dim(r[d]) for d in query.by}
        n = int(r["created_n"] or 0)
        out["_created"].append({"period": r["period"], **dims, "value": n, "numerator": None,
                                "denominator": None, "n": n, "extra": {}})
        for i, s in enumerate(stages):
            v = int(r[f"n{i}"] or 0)
            extra = {"inferred": int(r[f"inf{i}"] or 0)} if query.rule == "cumulative" else {}
            out[s].append({"period": r["period"], **dims, "value": v, "numerator": None,
                           "denominator": None, "n": v, "extra": extra})
    return out


__all__ = ["funnel"]
