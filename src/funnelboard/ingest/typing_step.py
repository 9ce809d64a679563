"""Build ``_typed`` from ``_raw``: every planned column cleaned and typed in one SQL pass.

Next to each typed column that can fail we keep a ``__bad_<col>`` flag (the cell had text that
could not be read) and, where a value was changed in meaning, a note flag (a ratio read as a
percentage, a time dropped from a date, a month moved to its first day).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from funnelboard.ingest import coerce
from funnelboard.ingest.mapping import Mapping
from funnelboard.ingest.plan import ColumnPlan, Plan
from funnelboard.ingest.sqltext import ident, lit
from funnelboard.issues import Issue

SAMPLE_ROWS = 200_000
MONTH_COLUMNS = {("mrr", "month"), ("costs", "month")}


@dataclass
class Reading:
    """How numbers and dates of this file are read (decided once per file)."""

    decimal: str = "."
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[Issue] = field(default_factory=list)


def cleaned(cp: ColumnPlan, mapping: Mapping) -> str:
    assert cp.source is not None
    name = cp.column.name
    return coerce.clean(
        cp.source, typed=cp.column.type not in ("id", "text", "slug"),
        value_map=mapping.values.get(name), default=mapping.defaults.get(name),
    )


def decide_reading(con: duckdb.DuckDBPyConnection, plan: Plan, mapping: Mapping,
                   file: str) -> Reading:
    """Decimal mark and day/month order, from the mapping or from a sample of the values."""
    reading = Reading(decimal=mapping.decimal or ".")
    numeric = [cp for cp in plan.present if cp.column.type in ("num", "int", "money", "ratio")
               and cp.source and cp.source.startswith("c")]
    dated = [cp for cp in plan.present if cp.column.type in ("ts", "date")
             and cp.source and cp.source.startswith("c")]
    probes: list[str] = []
    if not mapping.decimal:
        for cp in numeric:
            v = cleaned(cp, mapping)
            probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, "
                          r"'\d,\d{1,2}$|\d,\d{4,}$|\.\d{3},\d'))")
            probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, "
                          r"'\d\.\d{1,2}$|\d\.\d{4,}$|,\d{3}\.\d'))")
    for cp in dated:
        v = cleaned(cp, mapping)
        slash = r"'^(\d{1,2})/(\d{1,2})/\d{2,4}'"
        probes.append(f"count(*) FILTER (WHERE TRY_CAST(regexp_extract({v}, {slash}, 1) AS INT) "
                      "> 12)")
        probes.append(f"count(*) FILTER (WHERE TRY_CAST(regexp_extract({v}, {slash}, 2) AS INT) "
                      "> 12)")
        probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, {slash}))")
    counts: list[int] = []
    if probes:
        row = con.execute(f"SELECT {', '.join(probes)} FROM _raw WHERE __rec <= {SAMPLE_ROWS}"
                          ).fetchone()
        counts = [int(x) for x in row] if row else []
    pos = 0
    if not mapping.decimal and numeric:
        comma = sum(counts[i] for i in range(0, 2 * len(numeric), 2))
        dot = sum(counts[i] for i in range(1, 2 * len(numeric), 2))
        pos = 2 * len(numeric)
        if comma > 0 and dot == 0:
            reading.decimal = ","
            reading.notes.append(Issue("info", "decimal_comma",
                                       "Numbers are read with a decimal comma (1.234,56). Set "
                                       "decimal = \".\" in a mapping if that is wrong.",
                                       file=file))
    for cp in dated:
        day_first, month_first, slashed = counts[pos:pos + 3]
        pos += 3
        name = cp.column.name
        explicit = mapping.formats.get(name) or (
            mapping.datetime_format if cp.column.type == "ts" else mapping.date_format)
        if explicit:
            reading.formats[name] = (explicit,)
            continue
        if not slashed:
            continue
        if day_first and not month_first:
            reading.formats[name] = coerce.DAY_FIRST
            order = "day/month (31/01/2025)"
        else:
            reading.formats[name] = coerce.MONTH_FIRST
            order = "month/day (01/31/2025)"
        if day_first and month_first:
            continue  # mixed: values that fit neither order are quarantined one by one
        if not day_first and not month_first:
            reading.notes.append(Issue(
                "warning", "ambiguous_dates",
                f"Dates such as 03/04/2025 in '{cp.header}' could be read either way; they "
                f"were read as {order}. Set date_format in a mapping to be sure.",
                file=file, column=cp.header))
        else:
            reading.notes.append(Issue("info", "date_order",
                                       f"Dates in '{cp.header}' are read as {order}.",
                                       file=file, column=cp.header))
    return reading


def build_typed(con: duckdb.DuckDBPyConnection, plan: Plan, mapping: Mapping,
                reading: Reading) -> None:
    """Create ``_typed`` (see the module docstring)."""
    inner = ["__rec", "__line"]
    outer = ["__rec", "__line"]
    for cp in plan.columns:
        name = cp.column.name
        col = ident(name)
        if cp.source is None:
            outer.append(f"CAST(NULL AS {_sql_type(cp)}) AS {col}")
            continue
        v = f"v_{name}"
        inner.append(f"{cleaned(cp, mapping)} AS {v}")
        expr = coerce.typed(v, cp.column.type, decimal=reading.decimal,
                            formats=reading.formats.get(name, ()))
        if (plan.table.name, name) in MONTH_COLUMNS:
            outer.append(f"CAST(date_trunc('month', {expr}) AS DATE) AS {col}")
            outer.append(f"({expr} <> date_trunc('month', {expr})) AS {ident('__moved_' + name)}")
        else:
            outer.append(f"{expr} AS {col}")
        if cp.column.type not in ("id", "text"):
            outer.append(f"({v} IS NOT NULL AND ({expr}) IS NULL) AS {ident('__bad_' + name)}")
        if cp.column.type == "ratio":
            outer.append(f"coalesce({coerce.ratio_is_percent(v, decimal=reading.decimal)}, "
                         f"false) AS {ident('__pct_' + name)}")
        if cp.column.type == "date":
            outer.append(f"coalesce(regexp_matches({v}, '\\d[ T]\\d{{1,2}}:\\d\\d') AND NOT "
                         f"regexp_matches({v}, '[ T]0?0:00(:00(\\.0+)?)?([+-]\\d\\d:?\\d\\d|Z)?$')"
                         f", false) AS {ident('__cut_' + name)}")
    inner.append(f"{_extras_sql(plan)} AS __extras")
    outer.append("__extras AS extras")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM _raw)"
    )


def _sql_type(cp: ColumnPlan) -> str:
    from funnelboard.schema import STORAGE_TYPE

    return STORAGE_TYPE[cp.column.type]


def _extras_sql(plan: Plan) -> str:
    parts = []
    if plan.extras:
        pairs = ", ".join(f"{lit(h)}, nullif(trim({ref}), '')" for h, ref in plan.extras)
        parts.append(f"json_object({pairs})")
    if plan.has_extras_column:
        parts.insert(0, f"TRY_CAST(nullif(trim({plan.has_extras_column}), '') AS JSON)")
    if not parts:
        return "CAST(NULL AS JSON)"
    merged = "json_merge_patch('{}', " + ", ".join(f"coalesce({p}, '{{}}')" for p in parts) + ")"
    return f"nullif({merged}, '{{}}')::JSON"
