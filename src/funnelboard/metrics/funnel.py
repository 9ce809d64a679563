"""Funnel metrics as Ibis expressions: who reached which stage, when, and how fast.

The building block is :func:`reached`: one row per contact (or account) with its cohort date,
its breakdown dimensions and, per configured stage, the first actual entry ``e_<stage>`` and
the reached date ``r_<stage>`` under the query's rule (data-contract.md, "Derived semantics"):

* cumulative: reached *k* if it entered *k* or any later stage; dated by *k*'s first entry,
  else the earliest first entry of a later stage (then flagged inferred);
* strict: reached *k* only if it entered every stage up to *k*; dated by *k*'s first entry.

Only the first entry per stage counts, and everything dated after the as-of date is ignored.
Each metric kind then aggregates that table by period (cohort: creation date; period: the
reached date) and dimensions.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.dimensions import contact_dimensions
from funnelboard.metrics.engine import Engine, Window, compiler
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef

if TYPE_CHECKING:
    from funnelboard.settings import Settings

SECONDS_PER_DAY = 86_400


def local_date(ts: ir.TimestampValue) -> ir.DateValue:
    """The local calendar date of an instant (the backend's session zone is the workspace's)."""
    return ts.date()


def _utc_midnight(day: dt.date) -> ir.TimestampValue:
    return ibis.literal(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC))


def on_or_before(ts: ir.TimestampValue, day: dt.date) -> ir.BooleanValue:
    """``local_date(ts) <= day``, written so that the engine rarely converts to a local date.

    Converting every instant to a local date is the costliest part of a date filter (DuckDB
    looks each one up in the zone's rules) and keeps the filter out of the table scan. No zone
    is more than a day from UTC, so an instant before ``day`` 00:00 UTC is on or before ``day``
    everywhere, and one from ``day`` + 2 00:00 UTC on is after it everywhere; only the instants
    in between are converted, by the backend's own zone rules (the same as :func:`local_date`
    uses, so the answer is that of ``local_date(ts) <= day`` on every backend, daylight-saving
    changes at midnight included). The first test is a plain comparison with a constant, which
    DuckDB applies in the scan.
    """
    return (ts < _utc_midnight(day + dt.timedelta(days=2))) & (
        (ts < _utc_midnight(day)) | (local_date(ts) <= day))


def on_or_after(ts: ir.TimestampValue, day: dt.date) -> ir.BooleanValue:
    """``local_date(ts) >= day``, the same way as :func:`on_or_before`."""
    return (ts >= _utc_midnight(day - dt.timedelta(days=1))) & (
        (ts >= _utc_midnight(day + dt.timedelta(days=1))) | (local_date(ts) >= day))


def days_between(engine: Engine, later: ir.TimestampValue,
                 earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Timestamp difference in days (elapsed seconds ÷ 86,400, as data-contract.md defines it).

    Ibis has no expression giving the elapsed seconds on every backend across a daylight-saving
    change: on DuckDB ``delta(unit="second")`` is elapsed time and ``epoch_seconds()`` the
    epoch of the *local* wall clock; on Spark it is the other way round (docs/warehouses.md).
    """
    if engine.backend.name == "pyspark":
        seconds = later.epoch_seconds() - earlier.epoch_seconds()
    else:
        seconds = later.delta(earlier, unit="second")
    return seconds.cast("float64") / SECONDS_PER_DAY


def _bucket(day: ir.DateValue, query: MetricQuery, settings: Settings) -> ir.DateValue:
    return periods.bucket(day, query.grain, fiscal_start=settings.fiscal_year_start_month,
                          week_start=settings.week_start)


def first_entries(engine: Engine, as_of: dt.date) -> ir.Table:
    """Per contact: ``e_<stage>`` = first entry of each configured stage up to ``as_of``."""
    stages = engine.settings.stages
    ev = engine.table("stage_events")
    ev = ev.filter(ev.stage.isin(list(stages)), on_or_before(ev.entered_at, as_of))
    return ev.group_by("contact_id").aggregate(
        **{f"e_{s}": ev.entered_at.min(where=ev.stage == s) for s in stages})


def apply_rule(t: ir.Table, stages: tuple[str, ...], rule: str) -> ir.Table:
    """Add ``r_<stage>`` (reached date) and ``i_<stage>`` (date inferred) columns."""
    cols: dict[str, ir.Value] = {}
    for k, stage in enumerate(stages):
        actual = t[f"e_{stage}"]
        if rule == "strict":
            ok = ibis.and_(*[t[f"e_{s}"].notnull() for s in stages[: k + 1]])
            cols[f"r_{stage}"] = ibis.ifelse(ok, actual, ibis.null().cast(actual.type()))
            cols[f"i_{stage}"] = ibis.literal(False)
        else:
            later = [t[f"e_{s}"] for s in stages[k + 1:]]
            earliest_later = ibis.least(*later) if len(later) > 1 else (
                later[0] if later else ibis.null().cast(actual.type()))
            cols[f"r_{stage}"] = actual.coalesce(earliest_later)
            cols[f"i_{stage}"] = actual.isnull() & earliest_later.notnull()
    return t.mutate(**cols)


def reached(engine: Engine, query: MetricQuery, notes: list[str]) -> ir.Table:
    """One row per unit (contact or account): ``created``, dimensions, ``e_*``, ``r_*``,
    ``i_*``. Units created after the as-of date are left out, so no time in the table is
    after the as-of date (:func:`_in_window` relies on it)."""
    settings = engine.settings
    stages = settings.stages
    contacts = contact_dimensions(engine, query)
    contacts = contacts.filter(on_or_before(contacts.created, query.as_of))
    entries = first_entries(engine, query.as_of)
    t = contacts.left_join(entries, contacts.contact_id == entries.contact_id)
    t = t.select(*[c for c in t.columns if c != "contact_id_right"])
    if query.level == "account":
        t = _accounts(engine, t, query, notes)
    t = apply_rule(t, stages, query.rule)
    return _filter(t, query)


def _accounts(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str]) -> ir.Table:
    """Contacts rolled up to accounts: an account reaches a stage with its first contact, is
    created with its earliest contact, and takes its dimensions from
    :func:`~funnelboard.metrics.dimensions.account_rollup`."""
    from funnelboard.metrics.dimensions import account_rollup

    without = engine.execute(
        t.filter(t.account_id.isnull()).aggregate(n=lambda x: x.count()))[0]["n"]
    if without:
        notes.append(f"{without} contact(s) without an account are not counted at account "
                     "level.")
    return account_rollup(engine, t.filter(t.account_id.notnull()), query)


def _filter(t: ir.Table, query: MetricQuery) -> ir.Table:
    """Filters: values of one dimension are ORed, dimensions ANDed; ``(none)`` is empty."""
    for dim, values in query.filters:
        col = t[dim]
        wanted = [v for v in values if v != NONE_LABEL]
        cond = col.isin(wanted) if wanted else ibis.literal(False)
        if NONE_LABEL in values or "" in values:
            cond = cond | col.isnull()
        t = t.filter(cond)
    return t


@compiler("created", "count", "rate", "days", "maturity", "cycle")
def compile_rows(engine: Engine, metric: MetricDef, query: MetricQuery,
                 notes: list[str]) -> list[dict[str, Any]]:
    """Aggregated rows (period, dims, value, numerator, denominator, n, extra) of a funnel
    metric; :func:`~funnelboard.metrics.engine.fill_grid` completes them."""
    kind = metric.kind
    if kind == "cycle":
        return _sales_cycle(engine, query)
    t = reached(engine, query, notes)
    if kind == "created":
        return _counts(engine, t, query, None)
    if kind == "count":
        return _counts(engine, t, query, str(metric.params["stage"]))
    if kind == "rate":
        days = metric.params.get("days")
        return _rates(engine, t, query, str(metric.params["a"]), str(metric.params["b"]),
                      int(days) if isinstance(days, int) else None)
    if kind == "days":
        return _days(engine, t, query, str(metric.params["a"]), str(metric.params["b"]))
    if kind == "maturity":
        return _maturity(engine, t, query)
    raise UsageError(f"'{metric.key}' cannot be computed by the funnel engine.")


def _period_column(t: ir.Table, query: MetricQuery, settings: Settings,
                   stage: str | None) -> tuple[ir.Table, ir.DateValue]:
    """(table limited to the window, period expression) for a count of ``stage``."""
    ts = t[f"r_{stage}"] if query.basis == "period" and stage is not None else t.created
    return _in_window(t, ts, query), _bucket(local_date(ts), query, settings)


def _in_window(t: ir.Table, ts: ir.TimestampValue, query: MetricQuery) -> ir.Table:
    """The rows of ``t`` (from :func:`reached`) whose ``ts`` has a local date in the query's
    window. :func:`reached` already left out every time after the as-of date, so that bound
    is not tested again; the window's start, and its end when before the as-of date, are."""
    window = Window.of(query)
    bounds = []
    if window.start is not None:
        bounds.append(on_or_after(ts, window.start))
    if window.end < query.as_of:
        bounds.append(on_or_before(ts, window.end))
    return t.filter(*bounds) if bounds else t


def _group(t: ir.Table, period: ir.DateValue, query: MetricQuery, **aggs: Any) -> ir.Table:
    keys = {"period": period, **{d: t[d] for d in query.by}}
    return t.group_by(**keys).aggregate(**aggs)


def _counts(engine: Engine, t: ir.Table, query: MetricQuery,
            stage: str | None) -> list[dict[str, Any]]:
    settings = engine.settings
    t, period = _period_column(t, query, settings, stage)
    if stage is None:
        agg = _group(t, period, query, value=t.count(), inferred=ibis.literal(0))
    else:
        hit = t[f"r_{stage}"].notnull()
        if query.basis == "period":
            t = t.filter(hit)
            agg = _group(t, period, query, value=t.count(),
                         inferred=t[f"i_{stage}"].cast("int64").sum())
        else:
            agg = _group(t, period, query, value=hit.sum(),
                         inferred=(hit & t[f"i_{stage}"]).cast("int64").sum())
    rows = []
    for r in engine.execute(agg):
        value = int(r["value"] or 0)
        extra = {"inferred": int(r["inferred"] or 0)} if stage and query.rule == "cumulative" \
            else {}
        rows.append({"period": r["period"], **{d: _dim(r[d]) for d in query.by},
                     "value": value, "numerator": None, "denominator": None, "n": value,
                     "extra": extra})
    return rows


def _dim(value: Any) -> Any:
    return None if value is None or value == "" else value


def _rates(engine: Engine, t: ir.Table, query: MetricQuery, a: str, b: str,
           days: int | None) -> list[dict[str, Any]]:
    settings = engine.settings
    if query.basis == "period":
        if days:
            raise UsageError("Conversion within N days is defined on creation cohorts; use "
                             "--basis cohort.")
        # reached b in the period ÷ reached a in the period, each counted in its own period
        num = _counts(engine, t, query, b)
        den = _counts(engine, t, query, a)
        return _ratio_rows(num, den, query)
    t, period = _period_column(t, query, settings, None)
    hit_b = t[f"r_{b}"].notnull()
    if days:
        hit_b = hit_b & (t[f"r_{b}"] <= t.created + ibis.interval(days=days))
    agg = _group(t, period, query, den=t[f"r_{a}"].notnull().sum(), num=hit_b.sum())
    rows = []
    for r in engine.execute(agg):
        num_v, den_v = int(r["num"] or 0), int(r["den"] or 0)
        row = {"period": r["period"], **{d: _dim(r[d]) for d in query.by},
               "value": num_v / den_v if den_v else None, "numerator": num_v,
               "denominator": den_v, "n": den_v, "extra": {}}
        if days:
            end = periods.period_end(r["period"], query.grain)
            if end + dt.timedelta(days=days) > query.as_of:
                row["value"] = None
                row["extra"] = {"young": True}
        rows.append(row)
    return rows


def _ratio_rows(num: list[dict[str, Any]], den: list[dict[str, Any]],
                query: MetricQuery) -> list[dict[str, Any]]:
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["period"], *[r.get(d) for d in query.by])

    nums = {key(r): r["value"] for r in num}
    dens = {key(r): r["value"] for r in den}
    rows = []
    for k in sorted(set(nums) | set(dens), key=lambda x: (x[0], *[str(v) for v in x[1:]])):
        n, d = nums.get(k, 0), dens.get(k, 0)
        rows.append({"period": k[0], **dict(zip(query.by, k[1:], strict=True)),
                     "value": n / d if d else None, "numerator": n, "denominator": d,
                     "n": d, "extra": {}})
    return rows


def stage_lags(engine: Engine, t: ir.Table, query: MetricQuery, a: str,
               b: str) -> tuple[ir.Table, ir.TimestampValue]:
    """The units a days metric measures, and the instant that dates each: the rows of ``t``
    (from :func:`reached`) with an actual entry in both ``a`` and ``b`` (an inferred date is
    no measurement), ``lag`` = days from the first ``a`` entry to the first ``b`` entry, kept
    when their creation (cohort basis) or ``b`` entry (period basis) is in the query window.
    The drill-down lists these rows, so it shares this function with :func:`_days`."""
    ea, eb = t[f"e_{a}"], t[f"e_{b}"]
    t = t.filter(ea.notnull(), eb.notnull())
    t = t.mutate(lag=days_between(engine, t[f"e_{b}"], t[f"e_{a}"]))
    dated_by = f"e_{b}" if query.basis == "period" else "created"
    t = _in_window(t, t[dated_by], query)
    return t, t[dated_by]


def _days(engine: Engine, t: ir.Table, query: MetricQuery, a: str,
          b: str) -> list[dict[str, Any]]:
    settings = engine.settings
    t, ts = stage_lags(engine, t, query, a, b)
    agg = _group(t, _bucket(local_date(ts), query, settings), query, value=t.lag.median(),
                 p75=t.lag.quantile(0.75), n=t.count())
    return [{"period": r["period"], **{d: _dim(r[d]) for d in query.by},
             "value": _float(r["value"]), "numerator": None, "denominator": None,
             "n": int(r["n"]), "extra": {"p75": _float(r["p75"])}}
            for r in engine.execute(agg)]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sales_cycle(engine: Engine, query: MetricQuery) -> list[dict[str, Any]]:
    """Median days from opportunity creation (local date) to close date over won deals, by
    the close date's period."""
    if query.by:
        raise UsageError("sales_cycle_days has no breakdown yet; leave out --by.")
    settings = engine.settings
    o = cycle_deals(engine, query)
    agg = o.group_by(period=_bucket(o.close_date, query, settings)).aggregate(
        value=o.lag.median(), p75=o.lag.quantile(0.75), n=o.count())
    return [{"period": r["period"], "value": _float(r["value"]), "numerator": None,
             "denominator": None, "n": int(r["n"]), "extra": {"p75": _float(r["p75"])}}
            for r in engine.execute(agg)]


def cycle_deals(engine: Engine, query: MetricQuery) -> ir.Table:
    """The deals the sales cycle measures: won, with a close date in the query window, and
    ``lag`` = days from the creation's local date to the close date (shared with the
    drill-down)."""
    o = engine.table("opportunities")
    created = local_date(o.created_at)
    o = o.filter(o.is_won, o.close_date.notnull(), Window.of(query).contains(o.close_date))
    return o.mutate(lag=o.close_date.delta(created, unit="day").cast("float64"))


def _maturity(engine: Engine, t: ir.Table, query: MetricQuery) -> list[dict[str, Any]]:
    """cohort_maturity (metrics.md §1): see the registry definition."""
    a, b = maturity_transition(engine, query)
    settings = engine.settings
    ref, l95 = maturity_reference(engine, t, query, a, b)
    # cohorts (with the query's window and dimensions) whose value is wanted
    cohorts, period = _period_column(t, query, settings, None)
    cohort_rows = engine.execute(_group(cohorts, period, query, units=cohorts.count()))
    if l95 is None:
        return [{"period": r["period"], **{d: _dim(r[d]) for d in query.by}, "value": None,
                 "numerator": None, "denominator": None, "n": 0, "extra": {}}
                for r in cohort_rows]
    # reference lags as a histogram by whole days
    hist = engine.execute(ref.group_by(day=ref.whole_days).aggregate(n=ref.count()))
    hist.sort(key=lambda r: r["day"])
    total = sum(int(r["n"]) for r in hist)
    out = []
    for r in cohort_rows:
        cohort_age = (query.as_of - r["period"]).days
        within = sum(int(h["n"]) for h in hist if h["day"] <= cohort_age)
        out.append({"period": r["period"], **{d: _dim(r[d]) for d in query.by},
                    "value": within / total if total else None,
                    "numerator": within if total else None,
                    "denominator": total if total else None, "n": total,
                    "extra": {"age_days": cohort_age, "l95_days": l95,
                              "transition": f"{a}_to_{b}"}})
    return out


def maturity_transition(engine: Engine, query: MetricQuery) -> tuple[str, str]:
    """The stages (a, b) of cohort maturity: ``--transition``, else first to last stage."""
    stages = list(engine.settings.stages)
    a, b = stages[0], stages[-1]
    if query.transition:
        parts = query.transition.split("_to_")
        if len(parts) != 2 or parts[0] not in stages or parts[1] not in stages or \
                stages.index(parts[0]) >= stages.index(parts[1]):
            raise UsageError(f"--transition '{query.transition}' should name two stages in "
                             f"funnel order, like {stages[0]}_to_{stages[-1]}.")
        a, b = parts
    return a, b


def maturity_reference(engine: Engine, t: ir.Table, query: MetricQuery, a: str,
                       b: str) -> tuple[ir.Table, float | None]:
    """The reference a→b lags of cohort maturity, and L95 (None without any lag).

    Over every unit of ``t`` (from :func:`reached`: the query's filters, not its window) with
    an actual entry in both stages, L95 is the 95th percentile lag; the reference is the units
    whose creation cohort began more than L95 days before the as-of date, with ``lag`` (days),
    ``whole_days`` (the lag rounded up: the histogram's bin) and ``cohort``. Shared with the
    drill-down, which lists the reference."""
    lags = t.filter(t[f"e_{a}"].notnull(), t[f"e_{b}"].notnull())
    lags = lags.mutate(lag=days_between(engine, lags[f"e_{b}"], lags[f"e_{a}"]),
                       cohort=_bucket(local_date(lags.created), query, engine.settings))
    l95_row = engine.execute(lags.aggregate(l95=lags.lag.quantile(0.95)))
    l95 = _float(l95_row[0]["l95"]) if l95_row else None
    if l95 is None:
        return lags.filter(ibis.literal(False)), None
    age = ibis.literal(query.as_of).delta(lags.cohort, unit="day")
    ref = lags.filter(age.cast("float64") > l95)
    return ref.mutate(whole_days=ref.lag.ceil().cast("int64")), l95
