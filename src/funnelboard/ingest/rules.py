"""Row rules (send a row to quarantine) and checks that only warn.

Each row rule is a SQL condition over ``_typed`` with a stable code and a plain message; all of
them run in one statement that fills ``_issues``. Warnings are counted over the accepted rows
and reported with the first line where they occur.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from funnelboard.ingest.plan import Plan
from funnelboard.ingest.sqltext import ident, lit, lit_list
from funnelboard.issues import Issue, Level
from funnelboard.settings import Settings

TYPE_RULES = {
    "num": ("invalid_number", "is not a number (write it like 1234.56; a currency sign or "
            "thousands separator is fine)"),
    "int": ("invalid_integer", "is not a whole number"),
    "money": ("invalid_amount", "is not an amount (write it like 1234.56)"),
    "bool": ("invalid_boolean", "is not true/false, yes/no or 1/0"),
    "date": ("invalid_date", "is not a date (use YYYY-MM-DD, or set date_format in a mapping)"),
    "ts": ("invalid_timestamp", "is not a date and time (use ISO 8601 such as 2024-01-31 "
           "14:05, or set datetime_format in a mapping)"),
    "ratio": ("invalid_ratio", "is not a fraction or percentage"),
    "slug": ("invalid_value", "has no letters or digits"),
}

#: Timestamps and dates that may lie in the future without a warning (plans, expectations).
FUTURE_OK = {
    ("targets", "period_start"), ("annotations", "date"), ("annotations", "end_date"),
    ("opportunities", "close_date"), ("meetings", "scheduled_for"), ("campaigns", "start_date"),
    ("campaigns", "end_date"), ("events", "starts_at"),
}

#: (table, column) -> referenced table and its key column.
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("contacts", "account_id"): ("accounts", "account_id"),
    ("stage_events", "contact_id"): ("contacts", "contact_id"),
    ("opportunities", "account_id"): ("accounts", "account_id"),
    ("opportunities", "contact_id"): ("contacts", "contact_id"),
    ("opportunity_stages", "opportunity_id"): ("opportunities", "opportunity_id"),
    ("meetings", "contact_id"): ("contacts", "contact_id"),
    ("meetings", "opportunity_id"): ("opportunities", "opportunity_id"),
    ("mrr", "account_id"): ("accounts", "account_id"),
    ("product_usage", "account_id"): ("accounts", "account_id"),
    ("nps_responses", "account_id"): ("accounts", "account_id"),
}


@dataclass(frozen=True)
class RowRule:
    column: str
    code: str
    message: str
    condition: str


def row_rules(plan: Plan, settings: Settings) -> list[RowRule]:
    """Every per-row rule that applies to this file's columns."""
    rules: list[RowRule] = []
    table = plan.table.name
    for cp in plan.columns:
        col = cp.column
        c = ident(col.name)
        if cp.source is not None and col.type in TYPE_RULES:
            code, msg = TYPE_RULES[col.type]
            if col.name == "probability":
                code, msg = "probability_out_of_range", (
                    "is not a probability between 0 and 1 (or 0% to 100%)")
            rules.append(RowRule(col.name, code, msg, ident("__bad_" + col.name)))
        if col.required and col.name in plan.table.column_names:
            rules.append(RowRule(col.name, "missing_value", "is required but empty",
                                 f"{c} IS NULL AND NOT {_flag(plan, col.name)}"))
        if cp.source is None:
            continue
        if col.type == "ratio":
            code = "probability_out_of_range" if col.name == "probability" else \
                "ratio_out_of_range"
            rules.append(RowRule(col.name, code, "must be between 0 and 1 (or 0% to 100%)",
                                 f"({c} < 0 OR {c} > 1)"))
        if col.min is not None and col.max is not None:
            code = "nps_out_of_range" if table == "nps_responses" else "out_of_range"
            rules.append(RowRule(col.name, code,
                                 f"must be from {col.min:g} to {col.max:g}",
                                 f"({c} < {col.min} OR {c} > {col.max})"))
        elif col.min is not None:
            rules.append(RowRule(col.name, "negative_value", "must not be negative",
                                 f"{c} < {col.min}"))
        if col.choices:
            rules.append(RowRule(col.name, "unknown_value",
                                 "must be one of: " + ", ".join(col.choices),
                                 # '' is how an empty optional key column is stored
                                 f"{c} <> '' AND NOT list_contains({lit_list(col.choices)}, "
                                 f"{c})"))
        if col.type in ("date", "ts"):
            rules.append(RowRule(col.name, "date_out_of_range",
                                 "has a year outside 1900-2199", _year_out_of_range(c, col.type)))
    rules.extend(_table_rules(plan, settings))
    return rules


def _year_out_of_range(c: str, col_type: str) -> str:
    """The value's (local) year is outside 1900-2199.

    Compared with bounds rather than ``year()``: the bounds are cast once in the session's
    time zone (the file's), the same local calendar ``year()`` would use, but without
    converting every timestamp to calendar fields (about 0.3 s per column per million rows).
    """
    kind = "TIMESTAMPTZ" if col_type == "ts" else "DATE"
    return (f"NOT ({c} >= CAST('1900-01-01' AS {kind}) AND "
            f"{c} < CAST('2200-01-01' AS {kind}))")


def _flag(plan: Plan, name: str) -> str:
    cp = plan.target(name)
    if cp.source is None or cp.column.type in ("id", "text"):
        return "false"
    return ident("__bad_" + name)


def _table_rules(plan: Plan, settings: Settings) -> list[RowRule]:
    table = plan.table.name
    out: list[RowRule] = []
    if table == "stage_events":
        stages = ", ".join(settings.stages)
        out.append(RowRule("stage", "unknown_stage",
                           f"is not a configured funnel stage ({stages})",
                           f"NOT list_contains({lit_list(settings.stages)}, stage)"))
    if table == "targets":
        fy = settings.fiscal_year_start_month
        out.append(RowRule(
            "period_start", "period_start_not_aligned",
            f"does not begin a period of its grain (months start on day 1; fiscal quarters and "
            f"years start in month {fy})",
            "(day(period_start) <> 1 OR (grain = 'quarter' AND "
            f"(month(period_start) - {fy} + 12) % 3 <> 0) OR (grain = 'year' AND "
            f"month(period_start) <> {fy}))"))
    if table == "touchpoints":
        out.append(RowRule("contact_id", "missing_reference",
                           "is empty and so is account_id; a touchpoint needs one of them",
                           "contact_id IS NULL AND account_id IS NULL"))
    if table == "ad_account_engagement":
        out.append(RowRule("account_id", "missing_reference",
                           "is empty and so are company_domain and company_name; a row needs "
                           "one of them",
                           "account_id IS NULL AND company_domain IS NULL AND "
                           "company_name IS NULL"))
    return out


def collect_issues(con: duckdb.DuckDBPyConnection, rules: list[RowRule]) -> None:
    """Fill ``_issues(__rec, __line, column_name, rule, message)``.

    One narrow scan per rule: each reads only the columns its condition names, which on a
    columnar engine is cheaper than one wide pass evaluating every rule on every row.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _issues (__rec BIGINT, __line BIGINT, "
                "column_name VARCHAR, rule VARCHAR, message VARCHAR)")
    for r in rules:
        con.execute(
            f"INSERT INTO _issues SELECT __rec, __line, {lit(r.column)}, {lit(r.code)}, "
            f"{lit(r.message)} FROM _typed WHERE coalesce({r.condition}, false)"
        )


def coercion_notes(con: duckdb.DuckDBPyConnection, plan: Plan, file: str, *,
                   percent_columns: frozenset[str] = frozenset()) -> list[Issue]:
    """Report values whose meaning changed while typing (percent, time dropped, month moved).

    ``percent_columns`` are ratio columns the mapping declares as percentages.
    """
    checks: list[tuple[str, str, str, str]] = []
    for cp in plan.present:
        name = cp.column.name
        header = cp.header or name
        if cp.column.type == "ratio":
            which = ("" if name in percent_columns else "above 1 ")
            checks.append((f"__pct_{name}", "percent_read", header,
                           f"value(s) in '{header}' {which}were read as percentages "
                           "and divided by 100"))
        if cp.column.type == "date":
            checks.append((f"__cut_{name}", "time_dropped", header,
                           f"'{header}' holds times; only the date is kept"))
        if (plan.table.name, name) in (("mrr", "month"), ("costs", "month")):
            checks.append((f"__moved_{name}", "month_moved", header,
                           f"'{header}' values that are not the first of a month were moved "
                           "to the first day of their month"))
    if not checks:
        return []
    parts = ", ".join(f"count(*) FILTER (WHERE {ident(f)}), min(__line) FILTER (WHERE {ident(f)})"
                      for f, *_ in checks)
    # (IS NOT NULL: a NULL in a NOT IN list would hide every row)
    row = con.execute(f"SELECT {parts} FROM _typed WHERE __rec NOT IN (SELECT __rec FROM "
                      "_issues WHERE __rec IS NOT NULL)").fetchone()
    notes = []
    for i, (_, code, header, text) in enumerate(checks):
        count, first = (row[2 * i], row[2 * i + 1]) if row else (0, None)
        if count and first is not None:
            level: Level = "warning" if code == "month_moved" else "info"
            notes.append(Issue(level, code, f"{count} {text}.", file=file,
                               row=int(first), column=header, count=int(count)))
    return notes
