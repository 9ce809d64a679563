"""Run metric queries on an Ibis backend and shape the answers into :class:`MetricResult`.

:class:`Engine` wraps one Ibis backend (the workspace's DuckDB file by default, PySpark or a
warehouse otherwise) and the settings the metrics depend on. :func:`compute` is the single
entry point: it resolves the metric key, asks the metric's compiler for an aggregated Ibis
expression, runs it, fills the period grid and adds comparisons.

Everything row-sized runs in the engine; Python only sees aggregated rows (one per period ×
dimension combination) and the small list of distinct raw channel inputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef, resolve
from funnelboard.metrics.result import MetricResult
from funnelboard.settings import Settings


class _Opened(Protocol):
    """What :meth:`Engine.for_workspace` needs of a workspace (an open ``Workspace``)."""

    settings: Settings

    def connection(self) -> Any: ...

#: A metric kind's compiler: aggregated rows (period, dims, value, numerator, denominator, n,
#: extra) for one query, before :func:`fill_grid` completes the period grid.
Compiler = Callable[["Engine", MetricDef, MetricQuery, list[str]], list[dict[str, Any]]]
COMPILERS: dict[str, Compiler] = {}


def compiler(*kinds: str) -> Callable[[Compiler], Compiler]:
    """Register a function as the compiler of metric ``kinds`` (see ``catalogue``)."""
    def register(fn: Compiler) -> Compiler:
        for kind in kinds:
            COMPILERS[kind] = fn
        return fn
    return register


#: Canonical tables the funnel metrics read (a backend must expose them under these names).
CANONICAL_INPUTS = ("contacts", "stage_events", "accounts", "opportunities")


class Engine:
    """One Ibis backend plus the workspace settings; see the module docstring."""

    def __init__(self, backend: ibis.BaseBackend, settings: Settings,
                 prepare: Callable[[], None] | None = None) -> None:
        self.backend = backend
        self.settings = settings
        self._prepare = prepare
        self._tables: dict[str, ir.Table] = {}
        self._temps: list[str] = []
        self._depth = 0
        #: small answers worth keeping between queries while :meth:`data_version` holds
        self.memo: dict[Any, Any] = {}

    @classmethod
    def for_workspace(cls, ws: _Opened) -> Engine:
        """The workspace's own DuckDB connection as an Ibis backend.

        Ibis resets DuckDB's session time zone to UTC when it wraps a connection, and imports
        set it to each file's zone, so it is set to the workspace zone before every query:
        that is what makes ``CAST(created_at AS DATE)`` a local date.
        """
        con = ws.connection()
        backend = ibis.duckdb.from_connection(con)
        zone = ws.settings.timezone

        def prepare() -> None:
            # SET takes no bound parameters; the zone was checked against the IANA
            # database when the settings were read, so it cannot carry SQL.
            con.execute(f"SET TimeZone = '{zone}'")

        prepare()
        return cls(backend, ws.settings, prepare)

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            self._tables[name] = self.backend.table(name)
        return self._tables[name]

    def materialize(self, expr: ir.Table) -> ir.Table:
        """``expr`` computed once into a temporary table (DuckDB only), so the queries built on
        it compile against a plain table instead of compiling its whole chain again. The
        table lives until the outermost :func:`compute` returns."""
        if not MATERIALIZE or self.backend.name != "duckdb" or self._depth == 0:
            return expr
        if self._prepare:
            self._prepare()
        name = f"fb_tmp_{id(self):x}_{len(self._temps)}"
        self._temps.append(name)
        return self.backend.create_table(name, expr, temp=True, overwrite=True)

    def _enter(self) -> None:
        self._depth += 1

    def _leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            temps, self._temps = self._temps, []
            for name in temps:
                self.backend.drop_table(name, force=True)

    def period_start(self, day: dt.date, grain: str) -> dt.date:
        """The first day of the ``grain`` period holding ``day``, in this workspace's fiscal
        year and week."""
        s = self.settings
        return periods.period_start(day, grain, fiscal_start=s.fiscal_year_start_month,
                                    week_start=s.week_start)

    def data_version(self) -> tuple[int, int] | None:
        """A key that changes whenever the workspace's data may have: the last import id of
        the ledger (every import commits its rows and its ledger entry together) and the
        contacts' row count. ``None`` where there is no ledger (another backend, a database
        that is not a workspace's): nothing may then be kept between queries."""
        if self.backend.name != "duckdb":
            return None
        con = self.backend.con
        if "ledger" not in self.memo:
            # looked up rather than tried: a failed query would end a read view's transaction
            found = con.execute("SELECT count(DISTINCT table_name) FROM duckdb_tables() WHERE "
                                "table_name IN ('_imports', 'contacts') AND schema_name = "
                                "current_schema() AND database_name = current_database()"
                                ).fetchone()
            self.memo["ledger"] = bool(found and found[0] == 2)
        if not self.memo["ledger"]:
            return None
        row = con.execute("SELECT (SELECT coalesce(max(import_id), 0) FROM _imports), "
                          "(SELECT count(*) FROM contacts)").fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def execute(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Run an (aggregated, small) expression and return its rows as dicts."""
        if self._prepare:
            self._prepare()
        table: pa.Table = self.backend.to_pyarrow(expr)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows


@dataclass(frozen=True)
class Window:
    """The local-date window a query covers: inclusive bounds, as-of applied."""

    start: dt.date | None
    end: dt.date

    @classmethod
    def of(cls, query: MetricQuery) -> Window:
        end = min(query.end, query.as_of) if query.end else query.as_of
        return cls(query.start, end)

    def contains(self, day: ir.DateValue) -> ir.BooleanValue:
        cond = day <= ibis.literal(self.end)
        if self.start is not None:
            cond = cond & (day >= ibis.literal(self.start))
        return cond


#: materialise shared intermediate tables (Engine.materialize); off only to cross-check
MATERIALIZE = True


def compute(engine: Engine, query: MetricQuery) -> MetricResult:
    """The metric's answer to ``query`` (comparisons included when asked for)."""
    engine._enter()
    try:
        return _compute(engine, query)
    finally:
        engine._leave()


def _compute(engine: Engine, query: MetricQuery) -> MetricResult:
    import funnelboard.metrics.catalogue  # noqa: F401  (registers every compiler)

    metric = resolve(query.metric, engine.settings)
    if query.basis is None:
        query = query.replace(basis=str(metric.params.get("default_basis", "cohort")))
    _check_dims(metric, query)
    if ONE_PASS_PREVIOUS and _one_pass(metric, query, engine.settings):
        return _with_targets(engine, metric, _with_previous_in_one_pass(engine, query))
    notes: list[str] = []
    rows = COMPILERS[metric.kind](engine, metric, query, notes)
    _round_money(rows, value=metric.unit == "currency")
    dims = tuple(query.by)
    rows = fill_grid(rows, query, engine.settings, dims, metric)
    result = MetricResult(
        metric=metric.key, label=metric.label, unit=metric.unit, direction=metric.direction,
        definition=metric.definition, query=query, rows=rows, notes=notes,
        aggregation=metric.aggregation, settings_version=engine.settings.version, dims=dims)
    if query.compare and rows:
        add_comparison(engine, result, lambda q: compute(engine, q))
    return _with_targets(engine, metric, result)


#: compare "previous" by computing one range that also holds the period before (see _one_pass)
ONE_PASS_PREVIOUS = True
#: kinds whose rows depend on the whole range asked for (ranked lists), never combined
_RANGE_DEPENDENT = ("landing_pages", "maturity")


def _one_pass(metric: MetricDef, query: MetricQuery, settings: Settings) -> bool:
    """True when the previous-period comparison can come from the same query widened by one
    period: no breakdown (a widened range could add combinations seen only in the earlier
    period), and a start that begins a period (so every period keeps its bounds)."""
    if query.compare != "previous" or query.by or query.start is None:
        return False
    if metric.kind in _RANGE_DEPENDENT:
        return False
    start = periods.period_start(query.start, query.grain,
                                 fiscal_start=settings.fiscal_year_start_month,
                                 week_start=settings.week_start)
    return start == query.start


def _with_previous_in_one_pass(engine: Engine, query: MetricQuery) -> MetricResult:
    """The result of ``query`` with its previous-period comparison, from one computation over
    the range widened by one period (half the work of computing the two ranges apart; the
    values are the same because each period's value depends only on that period)."""
    assert query.start is not None
    earlier = periods.shift_period(query.start, query.grain, -1)
    wide = compute(engine, query.replace(start=earlier, compare=None, with_target=False))
    index = {r["period"]: r for r in wide.rows}
    rows = [r for r in wide.rows if r["period"] >= query.start]
    for row in rows:
        before = index.get(periods.shift_period(row["period"], query.grain, -1))
        pv = before["value"] if before else None
        value = row["value"]
        row["previous_value"] = pv
        row["delta"] = (value - pv) if value is not None and pv is not None else None
        row["delta_pct"] = (row["delta"] / pv) if row["delta"] is not None and pv else None
        row["previous_numerator"] = before["numerator"] if before else None
        row["previous_denominator"] = before["denominator"] if before else None
    notes = [*wide.notes, "Compared with the previous period (whole period unless the range "
                          "starts mid-period)."]
    return MetricResult(
        metric=wide.metric, label=wide.label, unit=wide.unit, direction=wide.direction,
        definition=wide.definition, query=query, rows=rows, notes=notes,
        aggregation=wide.aggregation, settings_version=wide.settings_version, dims=wide.dims)


def _with_targets(engine: Engine, metric: MetricDef, result: MetricResult) -> MetricResult:
    query = result.query
    if query.with_target and result.rows:
        from funnelboard.metrics.targets import add_targets

        add_targets(engine, metric, result)
    return result


def _round_money(rows: list[dict[str, Any]], *, value: bool = True) -> None:
    """Float sums to 12 significant digits: DuckDB adds in parallel, so the same sum can
    differ in its last bits from one run to the next, and 0.745 must not print as .74 one day
    and .75 the next. Numerators and denominators always; the value of currency metrics."""
    keys = ("value", "numerator", "denominator") if value else ("numerator", "denominator")
    for row in rows:
        for key in keys:
            if isinstance(row.get(key), float):
                row[key] = float(f"{row[key]:.12g}")


def _check_dims(metric: MetricDef, query: MetricQuery) -> None:
    for dim in (*query.by, *query.filter_map):
        if dim not in metric.dimensions:
            allowed = ", ".join(metric.dimensions)
            from funnelboard.errors import did_you_mean

            raise UsageError(f"'{metric.key}' cannot be broken down or filtered by '{dim}'; "
                             f"its dimensions are: {allowed}." + did_you_mean(dim,
                                                                               metric.dimensions))


def fill_grid(rows: list[dict[str, Any]], query: MetricQuery, settings: Settings,
              dims: tuple[str, ...], metric: MetricDef) -> list[dict[str, Any]]:
    """Add the periods (and dimension combinations) that have no data, flag partial periods,
    add ``period_end`` and sort.

    Without ``start``/``end`` the periods run from the first to the last period with data;
    with them, every period of the range is returned. A period clipped by ``start``, ``end``
    or the as-of date is ``partial``. Counts of an empty cell are 0; rates and medians None.
    """
    grain = query.grain
    window = Window.of(query)

    def start_of(day: dt.date) -> dt.date:
        return periods.period_start(day, grain, fiscal_start=settings.fiscal_year_start_month,
                                    week_start=settings.week_start)

    present = {r["period"] for r in rows}
    if query.start is not None:
        first: dt.date | None = start_of(query.start)
    else:
        first = min(present) if present else None
    if query.end is not None and query.end > query.as_of and metric.params.get("future"):
        # forward-looking metrics (coverage of a quarter still to come) keep later periods
        last: dt.date | None = start_of(query.end)
    elif query.start is not None or query.end is not None:
        last = start_of(window.end)
    else:
        last = max(present) if present else None
    if first is None or last is None:
        return []
    combos = sorted({tuple(r.get(d) for d in dims) for r in rows}, key=_sort_key) \
        if dims else [()]
    if dims and not combos:
        return []
    index = {(r["period"], tuple(r.get(d) for d in dims)): r for r in rows}
    out: list[dict[str, Any]] = []
    for start in periods.periods_between(first, last, grain):
        end = periods.period_end(start, grain)
        partial = end > window.end or (query.start is not None and start < query.start)
        if start > query.as_of:
            partial = True  # a future period: nothing in it has happened yet
        for combo in combos:
            row = index.get((start, combo))
            if row is None:
                row = {"period": start, **dict(zip(dims, combo, strict=True)),
                       **empty_cell(metric, query.rule)}
            row["period_end"] = end
            row["partial"] = bool(partial)
            out.append(_ordered(row, dims))
    return out


def empty_cell(metric: MetricDef, rule: str = "cumulative") -> dict[str, Any]:
    """The values of a period × dimension cell without any data: a flow is 0, a share or
    rate is undefined (0 ÷ 0), a median or a stock has no value."""
    if metric.aggregation == "flow":
        extra = {"inferred": 0} if metric.kind == "count" and rule == "cumulative" else {}
        return {"value": 0, "numerator": None, "denominator": None, "n": 0, "extra": extra}
    if metric.kind in ("rate", "table_ratio") or (metric.aggregation == "ratio"
                                                   and metric.unit == "ratio"):
        return {"value": None, "numerator": 0, "denominator": 0, "n": 0, "extra": {}}
    return {"value": None, "numerator": None, "denominator": None, "n": 0, "extra": {}}


def _ordered(row: dict[str, Any], dims: tuple[str, ...]) -> dict[str, Any]:
    keys = ["period", "period_end", *dims, "value", "numerator", "denominator", "n", "partial",
            "extra"]
    out = {k: row.get(k) for k in keys}
    out["extra"] = row.get("extra") or {}
    for k, v in row.items():
        if k not in out:
            out[k] = v
    return out


def _sort_key(combo: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(v) if v is not None else "") for v in combo)


def add_comparison(engine: Engine, result: MetricResult,
                   recompute: Callable[[MetricQuery], MetricResult]) -> None:
    """Add previous_value, delta, delta_pct (and the previous numerator and denominator) to
    each row, from the same query over the shifted periods (previous or a year earlier)."""
    query = result.query
    settings = engine.settings

    def shifted(start: dt.date) -> dt.date:
        if query.compare == "yoy":
            day = periods.year_earlier(start, query.grain, week_start=settings.week_start)
            return periods.period_start(day, query.grain,
                                        fiscal_start=settings.fiscal_year_start_month,
                                        week_start=settings.week_start)
        return periods.shift_period(start, query.grain, -1)

    first = min(r["period"] for r in result.rows)
    last = max(r["period"] for r in result.rows)
    prev_query = query.replace(start=shifted(first),
                               end=periods.period_end(shifted(last), query.grain),
                               compare=None, with_target=False)
    if query.start is not None and query.start > first:
        # a range starting mid-period compares with the same days of the earlier period
        prev_query = prev_query.replace(start=shifted(first) + (query.start - first))
    previous = recompute(prev_query)
    dims = result.dims
    index = {(r["period"], tuple(r.get(d) for d in dims)): r for r in previous.rows}
    for row in result.rows:
        before = index.get((shifted(row["period"]), tuple(row.get(d) for d in dims)))
        pv = before["value"] if before else None
        row["previous_value"] = pv
        value = row["value"]
        row["delta"] = (value - pv) if value is not None and pv is not None else None
        row["delta_pct"] = (row["delta"] / pv) if row["delta"] is not None and pv else None
        row["previous_numerator"] = before["numerator"] if before else None
        row["previous_denominator"] = before["denominator"] if before else None
    if query.compare == "previous":
        result.notes.append("Compared with the previous period (whole period unless the range "
                            "starts mid-period).")
    else:
        result.notes.append("Compared with the same period one year earlier.")
