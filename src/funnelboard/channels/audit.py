"""Find the raw source / medium / campaign values that the channel rules leave unassigned.

After an import the analyst needs to know which raw values fell through every rule, ranked by
how much data they carry, to add a rule or a source value for them (``funnelboard channels
audit``). Rows that carry a stored channel are left out: their channel is not derived. The
work runs in DuckDB with the same ``CASE`` the metrics use, so the audit cannot disagree with
the numbers.
"""

from __future__ import annotations

from typing import Any

import duckdb

from funnelboard.channels.model import UNASSIGNED, ChannelRules
from funnelboard.channels.text import sql_literal, sql_normalise

_NULL = "CAST(NULL AS VARCHAR)"

#: Columns each audited table may have; a missing one reads as NULL.
_TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("source", "source_detail", "utm_source", "utm_medium", "utm_campaign", "channel"),
    "web_traffic": ("source", "medium", "campaign", "channel", "sessions"),
    "touchpoints": ("source", "medium", "campaign", "channel"),
}


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Audited tables present in the current database's ``main`` schema, with their columns."""
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "AND table_name IN ('contacts', 'web_traffic', 'touchpoints')"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), set()).add(str(column).lower())
    return found


def _inputs(table: str, columns: set[str]) -> tuple[str, str, str, str, str]:
    """SQL for (source, medium, campaign, inputs label, sessions) of one table's rows."""

    def col(name: str) -> str:
        return f'CAST("{name}" AS VARCHAR)' if name in columns else _NULL

    sessions = 'CAST("sessions" AS BIGINT)' if "sessions" in columns else "CAST(NULL AS BIGINT)"
    if table != "contacts":
        label = sql_literal("source, medium, campaign")
        return col("source"), col("medium"), col("campaign"), label, sessions
    # UTMs describe the first touch better than the CRM's own source, when there are any.
    utm = f"({sql_normalise(col('utm_source'))} <> '' OR {sql_normalise(col('utm_medium'))} <> '')"
    return (
        f"CASE WHEN {utm} THEN {col('utm_source')} ELSE {col('source')} END",
        f"CASE WHEN {utm} THEN {col('utm_medium')} ELSE {_NULL} END",
        f"CASE WHEN {utm} THEN {col('utm_campaign')} ELSE {col('source_detail')} END",
        f"CASE WHEN {utm} THEN {sql_literal('utm_source, utm_medium, utm_campaign')} "
        f"ELSE {sql_literal('source, source_detail')} END",
        sessions,
    )


def _unassigned(
    con: duckdb.DuckDBPyConnection, rules: ChannelRules, table: str, columns: set[str]
) -> duckdb.DuckDBPyRelation:
    source, medium, campaign, label, sessions = _inputs(table, columns)
    rel = con.table(table)
    if "channel" in columns:
        rel = rel.filter('"channel" IS NULL OR trim(CAST("channel" AS VARCHAR)) = \'\'')
    rel = rel.project(
        f'{sql_literal(table)} AS "table", {source} AS "source", {medium} AS "medium", '
        f'{campaign} AS "campaign", {label} AS "inputs", {sessions} AS "sessions"'
    )
    derived = rules.sql_case('"source"', '"medium"', '"campaign"')
    rel = rel.filter(f"({derived}) = {sql_literal(UNASSIGNED)}")
    keys = '"table", "source", "medium", "campaign", "inputs"'
    return rel.aggregate(
        f'{keys}, count(*) AS "rows", CAST(sum("sessions") AS BIGINT) AS "sessions"', keys
    )


def audit_unassigned(con: duckdb.DuckDBPyConnection, rules: ChannelRules) -> list[dict[str, Any]]:
    """Raw value combinations without a stored channel that the rules leave ``unassigned``.

    One dict per distinct (table, source, medium, campaign) as stored, with ``rows`` (row
    count), ``sessions`` (sum, web_traffic only, else ``None``) and ``inputs`` (which columns
    the raw values came from: contacts use their UTMs when ``utm_source`` or ``utm_medium`` is
    set, else ``source`` with ``source_detail`` as the campaign). Most rows first. Tables
    that do not exist are skipped.
    """
    present = _existing_columns(con)
    parts = [
        _unassigned(con, rules, table, present[table]) for table in _TABLES if table in present
    ]
    if not parts:
        return []
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.union(part)
    ordered = combined.order(
        '"rows" DESC, "sessions" DESC NULLS LAST, "table", '
        '"source" NULLS FIRST, "medium" NULLS FIRST, "campaign" NULLS FIRST'
    )
    names = ordered.columns
    return [dict(zip(names, row, strict=True)) for row in ordered.fetchall()]
