"""The ``targets`` table: reading it for metric results, listing it, and writing one target.

A target row is keyed by ``(metric, period_start, grain, dimension, dimension_value)``.
:func:`make_target` checks what a user typed (``targets set``) and gives the row;
:func:`save` writes rows **through the importer** (a generated CSV imported into ``targets``),
so every write is one transaction, appears in the import ledger under a name that says where it
came from (``targets set mqls --period 2025-Q3 --value 120``), and is replayed by
``funnelboard rebuild`` like any other import. :func:`lookup` finds the target of each result
row in the engine (docs/targets.md, "Which target a row gets").
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError, did_you_mean
from funnelboard.ingest.result import ImportResult
from funnelboard.metrics import periods
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import NONE_LABEL, MetricQuery
from funnelboard.metrics.registry import MetricDef, resolve
from funnelboard.settings import Settings

#: Grains a target can have (data-contract.md, ``targets.grain``).
TARGET_GRAINS = ("month", "quarter", "year")
KINDS = ("okr", "quota", "plan")
#: Finer grains whose complete set of rows adds up to a coarser period's target.
FINER: dict[str, tuple[tuple[str, int], ...]] = {
    "quarter": (("month", 3),),
    "year": (("quarter", 4), ("month", 12)),
}
COLUMNS = ("metric", "period_start", "grain", "target", "dimension", "dimension_value", "kind")

_YEAR = re.compile(r"^(?:fy)?(\d{4})$", re.I)
_QUARTER = re.compile(r"^(?:fy)?(\d{4})-?q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
PERIOD_HELP = ("a fiscal year (2025), a fiscal quarter (2025-Q3) or a month (2025-07); a fiscal "
               "year is named by the year it ends in")


@dataclass(frozen=True)
class TargetRow:
    """One row of the ``targets`` table."""

    metric: str
    period_start: dt.date
    grain: str
    target: float
    dimension: str = ""
    dimension_value: str = ""
    kind: str = "okr"

    def key(self) -> tuple[str, dt.date, str, str, str]:
        return (self.metric, self.period_start, self.grain, self.dimension,
                self.dimension_value)

    def label(self, fiscal_start: int) -> str:
        """``mqls 2025-Q3 channel=webinar``."""
        text = f"{self.metric} {periods.fiscal_label(self.period_start, self.grain, fiscal_start)}"
        return text + (f" {self.dimension}={self.dimension_value}" if self.dimension else "")


# -- parsing what the user typed -----------------------------------------------------------------


def parse_period(text: str, fiscal_start: int = 1) -> tuple[dt.date, str]:
    """``(first day, grain)`` of ``2025`` (fiscal year 2025, the one ending in 2025),
    ``2025-Q3`` (its third fiscal quarter; ``FY2025-Q3`` reads the same) or ``2025-07`` (the
    calendar month)."""
    raw = str(text).strip()
    fy = ("" if fiscal_start == 1 else
          f" (this workspace's fiscal year starts in month {fiscal_start}, so 2025 runs from "
          f"{_fiscal_year_start(2025, fiscal_start):%Y-%m-%d} to "
          f"{_fiscal_year_start(2026, fiscal_start) - dt.timedelta(days=1):%Y-%m-%d})")
    bad = UsageError(f"--period '{text}' is not a period; write {PERIOD_HELP}{fy}.")
    if m := _YEAR.match(raw):
        start, grain = _fiscal_year_start(int(m.group(1)), fiscal_start), "year"
    elif m := _QUARTER.match(raw):
        first = _fiscal_year_start(int(m.group(1)), fiscal_start)
        start, grain = periods.shift_period(first, "month", 3 * (int(m.group(2)) - 1)), "quarter"
    elif m := _MONTH.match(raw):
        if not 1 <= int(m.group(2)) <= 12:
            raise bad
        start, grain = dt.date(int(m.group(1)), int(m.group(2)), 1), "month"
    else:
        raise bad
    if not 1900 <= start.year <= 2199:
        raise UsageError(f"--period '{text}' lies outside the years 1900-2199.")
    return start, grain


def _fiscal_year_start(year: int, fiscal_start: int) -> dt.date:
    """First day of the fiscal year named ``year`` (the year it ends in)."""
    return dt.date(year if fiscal_start == 1 else year - 1, fiscal_start, 1)


def parse_value(text: str | float, metric: MetricDef) -> float:
    """The target as a number in the metric's unit: ratios as a fraction (``0.25``) or a
    percentage (``25%``); a bare number above 1 for a ratio is refused (it is ambiguous)."""
    raw = str(text).strip().replace("_", "")
    pct = raw.endswith("%")
    body = raw[:-1].strip() if pct else raw
    if metric.unit == "multiple" and body[-1:] in ("x", "×"):
        body = body[:-1].strip()
    if _THOUSANDS.match(body):
        body = body.replace(",", "")
    what = _value_help(metric)
    try:
        number = float(body)
    except ValueError:
        raise UsageError(f"--value '{text}' is not a number; {what}.") from None
    if not math.isfinite(number):
        raise UsageError(f"--value '{text}' is not a finite number; {what}.")
    if number < 0:
        raise UsageError(f"--value '{text}' is negative; a target is zero or more ({what}).")
    if pct:
        if metric.unit != "ratio":
            raise UsageError(f"--value '{text}' is a percentage, but '{metric.key}' is measured "
                             f"in {metric.unit}; {what}.")
        number /= 100
    elif metric.unit == "ratio" and number > 1:
        raise UsageError(f"--value '{text}' is a bare number above 1, but '{metric.key}' is a "
                         f"ratio; {what} (a ratio above 100 % is written as a percentage, "
                         "e.g. 110%).")
    return number


def _value_help(metric: MetricDef) -> str:
    if metric.unit == "ratio":
        return (f"'{metric.key}' is a ratio, so give a fraction up to 1 (0.25) or a percentage "
                "(25%)")
    return f"give '{metric.key}' a number in {metric.unit} (e.g. 120)"


def parse_dimension(items: list[str] | tuple[str, ...] | str | None,
                    metric: MetricDef) -> tuple[str, str]:
    """``channel=webinar`` → ``("channel", "webinar")``; none → a total target ``("", "")``.
    A target has at most one dimension, and it must be one the metric can be broken down by."""
    if items is None or items == "":
        return "", ""
    given = [items] if isinstance(items, str) else list(items)
    if not given:
        return "", ""
    if len(given) > 1:
        raise UsageError("--dimension was given more than once; a target is set in total or "
                         "for one dimension value (e.g. --dimension channel=webinar).")
    text = given[0]
    dim, sep, value = text.partition("=")
    dim, value = dim.strip().lower(), value.strip()
    if not sep or not dim or not value:
        raise UsageError(f"--dimension '{text}' should be written DIMENSION=VALUE, for example "
                         "channel=webinar.")
    if dim not in metric.dimensions:
        allowed = ", ".join(metric.dimensions) or "none (it has no breakdowns)"
        raise UsageError(f"--dimension '{dim}': '{metric.key}' cannot be broken down by it; its "
                         f"dimensions are: {allowed}." + did_you_mean(dim, metric.dimensions))
    if value == NONE_LABEL:
        raise UsageError(f"--dimension '{text}': a target needs a value of {dim}, not "
                         f"{NONE_LABEL}.")
    return dim, value


def parse_kind(text: str | None) -> str | None:
    if text is None or not str(text).strip():
        return None
    kind = str(text).strip().lower()
    if kind not in KINDS:
        raise UsageError(f"--kind '{text}' is not allowed; use one of: {', '.join(KINDS)}."
                         + did_you_mean(kind, KINDS))
    return kind


def make_target(settings: Settings, metric: str, period: str, value: str | float,
                dimension: list[str] | tuple[str, ...] | str | None = None,
                kind: str | None = None) -> tuple[TargetRow, bool]:
    """The row ``targets set`` writes, every argument checked; the flag says whether a kind
    was given (when not, a replaced row keeps its kind; a new one is ``okr``)."""
    definition = resolve(metric, settings)  # an unknown key lists close matches
    start, grain = parse_period(period, settings.fiscal_year_start_month)
    number = parse_value(value, definition)
    dim, dim_value = parse_dimension(dimension, definition)
    chosen = parse_kind(kind)
    return TargetRow(definition.key, start, grain, number, dim, dim_value,
                     chosen or "okr"), chosen is not None


# -- reading and writing the table ---------------------------------------------------------------


class _Writable(Protocol):
    """What :func:`save` needs of a workspace (an open, writable ``Workspace``)."""

    path: Path
    settings: Settings

    def import_file(self, table: str, path: str | os.PathLike[str], *,
                    as_of: dt.date | None = None,
                    display_name: str | None = None) -> ImportResult: ...


def save(ws: _Writable, rows: list[TargetRow], *, source: str,
         as_of: dt.date | None = None) -> ImportResult:
    """Write ``rows`` into ``targets`` (same key: replaced) in one import whose ledger entry is
    named ``source``; the generated CSV is kept in ``raw/`` so ``rebuild`` replays it."""
    if not rows:
        raise UsageError("There is no target to write.")
    tmp_root = ws.path / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root) as work:
        path = Path(work) / "targets.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            for r in rows:
                writer.writerow([r.metric, r.period_start.isoformat(), r.grain, repr(r.target),
                                 r.dimension, r.dimension_value, r.kind])
        result = ws.import_file("targets", path, as_of=as_of, display_name=source)
    if result.status == "rejected":
        raise UsageError("The target was not written: "
                         + "; ".join(i.message for i in result.issues.errors))
    return result


def stored(con: duckdb.DuckDBPyConnection, settings: Settings,
           metric: str | None = None) -> list[dict[str, Any]]:
    """The stored targets (optionally of one metric key), with the period as the CLI writes it
    and the import that wrote each row (``source``: a file name, or ``targets set ...``)."""
    sql = ("SELECT t.metric, t.period_start, t.grain, t.dimension, t.dimension_value, "
           "t.target, t.kind, t._import_id AS import_id, i.file_name AS source "
           "FROM targets t LEFT JOIN _imports i ON i.import_id = t._import_id "
           "WHERE ? IS NULL OR trim(t.metric) = ? "
           "ORDER BY t.metric, t.period_start, t.grain, t.dimension, t.dimension_value")
    key = metric.strip() if metric else None
    cur = con.execute(sql, [key, key])
    names = [d[0] for d in cur.description or []]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        row["period"] = periods.fiscal_label(row["period_start"], row["grain"],
                                             settings.fiscal_year_start_month) \
            if row["grain"] in TARGET_GRAINS else row["period_start"].isoformat()
        row["dimension"] = row["dimension"] or ""
        row["dimension_value"] = row["dimension_value"] or ""
        row["kind"] = row["kind"] or ""
        out.append({k: row[k] for k in ("metric", "period", "period_start", "grain",
                                        "dimension", "dimension_value", "target", "kind",
                                        "import_id", "source")})
    return out


def existing(con: duckdb.DuckDBPyConnection, row: TargetRow) -> dict[str, Any] | None:
    """The stored row with ``row``'s key, if any (``target``, ``kind``)."""
    found = con.execute(
        "SELECT target, kind FROM targets WHERE metric = ? AND period_start = ? AND grain = ? "
        "AND coalesce(dimension, '') = ? AND coalesce(dimension_value, '') = ?",
        list(row.key())).fetchone()
    return {"target": found[0], "kind": found[1] or ""} if found else None


# -- the target of each result row ---------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The target of one result row and where it came from."""

    target: float
    #: ``quarter`` (a row of the query's grain) or ``3 months`` (finer rows summed)
    source: str
    kind: str


def _text(col: ir.Value) -> ir.StringValue:
    return col.cast("string").strip().nullif("")


def dim_key(value: Any) -> str | None:
    """A dimension value as targets store it (text; empty → None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lookup(engine: Engine, metric: MetricDef, query: MetricQuery,
           notes: list[str]) -> dict[tuple[Any, ...], Match]:
    """``{(period, *breakdown values): Match}`` for the query's periods.

    A row of the query's grain starting on the period's first day; else, for a quarter or a
    year, the sum of finer rows when they cover the whole period (3 months; 4 quarters or 12
    months). Without a breakdown the total target applies (or, with a filter on values of one
    dimension, the sum of those values' targets when every one has a target); with a breakdown
    by one dimension, each value's own target. Other shapes have no target (a note says so).
    The metric key and the dimension name match as the catalogue spells them (``targets
    list`` flags stored keys that match no metric).
    """
    key = metric.key
    if query.grain not in TARGET_GRAINS:
        notes.append(f"Targets are monthly, quarterly or yearly; a {query.grain} has no target "
                     "(use --grain month, quarter or year).")
        return {}
    by, fm = tuple(query.by), query.filter_map
    dim: str | None = None
    values: tuple[str | None, ...] | None = None
    if len(by) == 1 and all(d == by[0] for d in fm):
        dim = by[0]
    elif not by and len(fm) == 1:
        dim = next(iter(fm))
        values = tuple(None if v in ("", NONE_LABEL) else v for v in fm[dim])
    elif by or fm:
        shape = " and ".join([*(f"--by {d}" for d in by), *(f"--filter {d}" for d in fm
                                                            if d not in by)])
        notes.append(f"Targets are set in total or per value of one dimension, so this query "
                     f"({shape}) has no target; use a breakdown or filter on one dimension.")
        return {}

    tt = engine.table("targets")
    tt = tt.select(metric=_text(tt.metric), start=tt.period_start,
                   grain=_text(tt.grain).lower(), dimension=_text(tt.dimension),
                   dv=_text(tt.dimension_value), target=tt.target.cast("float64"),
                   kind=_text(tt.kind).lower())
    tt = tt.filter((tt.metric == key) & tt.target.notnull() & tt.start.notnull())
    tt = tt.filter(tt.dimension == dim) if dim else tt.filter(tt.dimension.isnull())
    if values is not None:
        named = [v for v in values if v is not None]
        cond = tt.dv.isin(named) if named else ibis.literal(False)
        if None in values:
            cond = cond | tt.dv.isnull()
        tt = tt.filter(cond)
    s = engine.settings
    period = periods.bucket(tt.start, query.grain, fiscal_start=s.fiscal_year_start_month,
                            week_start=s.week_start)
    finer = [g for g, _ in FINER.get(query.grain, ())]
    tt = tt.mutate(period=period)
    exact = (tt.grain == query.grain) & (tt.start == tt.period)
    tt = tt.filter(exact | tt.grain.isin(finer) if finer else exact)
    group = ["period", "grain"] + (["dv"] if dim and values is None else [])
    agg = tt.group_by(group).aggregate(target=tt.target.sum(), rows=tt.count(),
                                       kind_lo=tt.kind.min(), kind_hi=tt.kind.max())
    found: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in engine.execute(agg):
        k = (r["period"], dim_key(r["dv"])) if dim and values is None else (r["period"],)
        found.setdefault(k, {})[r["grain"]] = r
    width = len(set(values)) if values is not None else 1
    out: dict[tuple[Any, ...], Match] = {}
    for k, by_grain in found.items():
        for grain, count in ((query.grain, 1), *FINER.get(query.grain, ())):
            got = by_grain.get(grain)
            if got is not None and int(got["rows"]) == count * width:
                source = grain if count == 1 else f"{count} {grain}s"
                kind = got["kind_lo"] if got["kind_lo"] == got["kind_hi"] else "mixed"
                out[k] = Match(float(got["target"]), source, kind or "")
                break
    return out
