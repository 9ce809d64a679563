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

#: rows looked at to decide the decimal mark and the day/month order, spread evenly over the
#: file (a file sorted by date would otherwise show only its first days)
SAMPLE_ROWS = 20_000
MONTH_COLUMNS = {("mrr", "month"), ("costs", "month")}


@dataclass
class Reading:
    """How numbers and dates of this file are read (decided once per file)."""

    decimal: str = "."
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[Issue] = field(default_factory=list)


def cleaned(cp: ColumnPlan, mapping: Mapping, source: str | None = None) -> str:
    """Cleaned text of the column; ``source`` is an already trimmed expression, if any."""
    assert cp.source is not None
    name = cp.column.name
    return coerce.clean(
        source or cp.source, typed=cp.column.type not in ("id", "text", "slug"),
        value_map=mapping.values.get(name), default=mapping.defaults.get(name),
        trimmed=source is not None,
    )


#: Values whose one separator could be a thousands separator or a decimal mark (1.200, 1,200).
AMBIGUOUS_DOT = r"'^[+-]?[1-9]\d{0,2}(\.\d{3})+$'"
AMBIGUOUS_COMMA = r"'^[+-]?[1-9]\d{0,2}(,\d{3})+$'"


def decide_reading(con: duckdb.DuckDBPyConnection, plan: Plan, mapping: Mapping,
                   file: str, *, delimiter: str = ",") -> Reading:
    """Decimal mark and day/month order, from the mapping or from a sample of the values.

    Without a mapping's ``decimal``, a decimal comma is chosen when values show one (``12,5``,
    ``1.234,56``) and none show a decimal point. When no value decides it but some could be
    read either way (``1.200``), a semicolon-separated file (European Excel) is read with a
    decimal comma, any other with a decimal point, and a ``1.200`` read as 1.2 gets a warning.
    """
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
            probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, {AMBIGUOUS_DOT}))")
            probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, {AMBIGUOUS_COMMA}))")
    for cp in dated:
        v = cleaned(cp, mapping)
        slash = r"'^(\d{1,2})/(\d{1,2})/\d{2,4}'"
        probes.append(f"count(*) FILTER (WHERE TRY_CAST(regexp_extract({v}, {slash}, 1) AS INT) "
                      "> 12)")
        probes.append(f"count(*) FILTER (WHERE TRY_CAST(regexp_extract({v}, {slash}, 2) AS INT) "
                      "> 12)")
        probes.append(f"count(*) FILTER (WHERE regexp_matches({v}, {slash}))")
    counts: list[int] = []
    sample = sample_rows(con) if probes else ""
    if probes:
        row = con.execute(f"SELECT {', '.join(probes)} FROM _raw WHERE {sample}").fetchone()
        counts = [int(x) for x in row] if row else []
    pos = 0
    if not mapping.decimal and numeric:
        n = len(numeric)
        comma, dot, amb_dot, amb_comma = (sum(counts[i] for i in range(k, 4 * n, 4))
                                          for k in range(4))
        pos = 4 * n
        if comma > 0 and dot == 0:
            reading.decimal = ","
            reading.notes.append(Issue("info", "decimal_comma",
                                       "Numbers are read with a decimal comma (1.234,56). Set "
                                       "decimal = \".\" in a mapping if that is wrong.",
                                       file=file))
        elif not comma and not dot and (amb_dot or amb_comma):
            reading.notes.extend(_ambiguous_decimal(con, numeric, mapping, reading, file,
                                                    delimiter=delimiter, sample=sample))
    for cp in numeric:
        if cp.column.type == "ratio" and mapping.formats.get(cp.column.name) == coerce.PERCENT:
            reading.formats[cp.column.name] = (coerce.PERCENT,)
    for cp in dated:
        day_first, month_first, slashed = counts[pos:pos + 3]
        pos += 3
        name = cp.column.name
        explicit = _explicit_formats(mapping, name, cp.column.type)
        if explicit:
            reading.formats[name] = explicit
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


def _ambiguous_decimal(con: duckdb.DuckDBPyConnection, numeric: list[ColumnPlan],
                       mapping: Mapping, reading: Reading, file: str, *,
                       delimiter: str, sample: str) -> list[Issue]:
    """Decide (and say) how values such as 1.200 are read when nothing else tells.

    A comma-separated file with ``1,200`` is the usual US layout and needs no note.
    """
    patterns: tuple[str, ...]
    if delimiter == ";":
        reading.decimal = ","
        patterns = (AMBIGUOUS_DOT, AMBIGUOUS_COMMA)
        shown = "a decimal comma, as usual in semicolon-separated files (1.200 = 1200)"
    else:
        patterns, shown = (AMBIGUOUS_DOT,), "a decimal point (1.200 = 1.2)"
    for cp in numeric:
        v = cleaned(cp, mapping)
        cond = " OR ".join(f"regexp_matches({v}, {p})" for p in patterns)
        row = con.execute(f"SELECT min(__line), arg_min({v}, __line) FROM _raw WHERE "
                          f"{sample} AND ({cond})").fetchone()
        if row and row[0] is not None:
            return [Issue("warning", "ambiguous_decimal",
                          f"Values such as '{row[1]}' in '{cp.header}' could use either "
                          f"separator as the decimal mark; numbers were read with {shown}. Set "
                          "decimal in a mapping to be sure.", file=file, row=int(row[0]),
                          column=cp.header, value=str(row[1]))]
    return []


def sample_rows(con: duckdb.DuckDBPyConnection) -> str:
    """A condition on ``_raw`` keeping about :data:`SAMPLE_ROWS` rows spread evenly over the
    file (every row of a smaller file)."""
    row = con.execute("SELECT max(__rec) FROM _raw").fetchone()
    last = int(row[0] or 0) if row else 0
    step = max(1, -(-last // SAMPLE_ROWS))
    return "true" if step == 1 else f"__rec % {step} = 0"


def _explicit_formats(mapping: Mapping, name: str, col_type: str) -> tuple[str, ...]:
    """The mapping's formats for a date or timestamp column, most specific first.

    A timestamp column also accepts the mapping's ``date_format``: exports mix date-only and
    date-time values in one column (Salesforce ``CreatedDate`` as ``02/23/26``), and a
    date-only value is local midnight.
    """
    if name in mapping.formats:
        return (mapping.formats[name],)
    if col_type == "date":
        return (mapping.date_format,) if mapping.date_format else ()
    return tuple(f for f in (mapping.datetime_format, mapping.date_format) if f)


def build_typed(con: duckdb.DuckDBPyConnection, plan: Plan, mapping: Mapping,
                reading: Reading) -> None:
    """Create ``_typed`` (see the module docstring).

    Nested selects: trimmed text ``x_*``, cleaned text ``v_*``, typed values ``t_*``, then
    flags that compare the two. Each expression is written once, so DuckDB evaluates it once
    per cell.
    """
    trim = ["__rec", "__line", f"{_extras_sql(plan)} AS __extras"]
    clean = ["__rec", "__line", "__extras"]
    typed = ["__rec", "__line", "__extras"]
    final = ["__rec", "__line"]
    for cp in plan.columns:
        name = cp.column.name
        col = ident(name)
        if cp.source is None:
            final.append(f"CAST({_absent_value(plan, cp)} AS {_sql_type(cp)}) AS {col}")
            continue
        x, v, t = ident(f"x_{name}"), ident(f"v_{name}"), ident(f"t_{name}")
        trim.append(f"fb_trim({cp.source}) AS {x}")
        clean.append(f"{cleaned(cp, mapping, x)} AS {v}")
        typed.append(v)
        expr = coerce.typed(v, cp.column.type, decimal=reading.decimal,
                            formats=reading.formats.get(name, ()))
        typed.append(f"{expr} AS {t}")
        value = t
        if (plan.table.name, name) in MONTH_COLUMNS:
            value = f"CAST(date_trunc('month', {t}) AS DATE)"
            final.append(f"({t} <> date_trunc('month', {t})) AS {ident('__moved_' + name)}")
        final.append(f"{_key_fill(plan, name, value)} AS {col}")
        if cp.column.type not in ("id", "text"):
            final.append(f"({v} IS NOT NULL AND {t} IS NULL) AS {ident('__bad_' + name)}")
        if cp.column.type == "ratio":
            pct = coerce.ratio_is_percent(v, decimal=reading.decimal,
                                          declared=coerce.PERCENT in reading.formats.get(name, ()))
            final.append(f"coalesce({pct}, false) AS {ident('__pct_' + name)}")
        if cp.column.type == "date":
            final.append(f"coalesce(regexp_matches({v}, '\\d[ T]\\d{{1,2}}:\\d\\d') AND NOT "
                         f"regexp_matches({v}, '[ T]0?0:00(:00(\\.0+)?)?([+-]\\d\\d:?\\d\\d|Z)?$')"
                         f", false) AS {ident('__cut_' + name)}")
    final.append("__extras AS extras")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {', '.join(final)} FROM ("
        f"SELECT {', '.join(typed)} FROM (SELECT {', '.join(clean)} FROM ("
        f"SELECT {', '.join(trim)} FROM _raw)))"
    )


def _key_fill(plan: Plan, name: str, value: str) -> str:
    """Optional key columns are stored as '' (never NULL), so keys always compare equal."""
    table = plan.table
    if name in table.key and not table.column(name).required:
        return f"coalesce({value}, '')"
    return value


def _absent_value(plan: Plan, cp: ColumnPlan) -> str:
    name = cp.column.name
    if name in plan.table.key and not cp.column.required:
        return "''"
    return "NULL"


def _sql_type(cp: ColumnPlan) -> str:
    from funnelboard.schema import STORAGE_TYPE

    return STORAGE_TYPE[cp.column.type]


def _extras_sql(plan: Plan) -> str:
    parts = []
    if plan.extras:
        # keys sorted, so the same data with its columns in another order is the same row
        pairs = ", ".join(f"{lit(h)}, nullif(trim({ref}), '')" for h, ref in sorted(plan.extras))
        parts.append(f"json_object({pairs})")
    if plan.has_extras_column:
        parts.insert(0, f"TRY_CAST(nullif(trim({plan.has_extras_column}), '') AS JSON)")
    if not parts:
        return "CAST(NULL AS JSON)"
    merged = "json_merge_patch('{}', " + ", ".join(f"coalesce({p}, '{{}}')" for p in parts) + ")"
    return f"nullif({merged}, '{{}}')::JSON"
