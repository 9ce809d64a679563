"""Checks that keep the row but deserve a warning: future dates, unknown references, and
funnel stage dates out of order. They run over ``_good`` (the accepted rows)."""

from __future__ import annotations

import datetime as dt

import duckdb

from funnelboard.ingest.plan import Plan
from funnelboard.ingest.rules import FUTURE_OK, REFERENCES
from funnelboard.ingest.sqltext import ident, lit
from funnelboard.issues import Issue
from funnelboard.settings import Settings


def warnings(con: duckdb.DuckDBPyConnection, plan: Plan, settings: Settings, *,
             as_of: dt.date, file: str) -> list[Issue]:
    out: list[Issue] = []
    out += _future(con, plan, as_of, file)
    out += _references(con, plan, file)
    if plan.table.name == "contacts":
        out += _stage_order(con, plan, settings, file)
    return out


def _future(con: duckdb.DuckDBPyConnection, plan: Plan, as_of: dt.date,
            file: str) -> list[Issue]:
    cols = [cp for cp in plan.present if cp.column.type in ("ts", "date")
            and (plan.table.name, cp.column.name) not in FUTURE_OK]
    if not cols:
        return []
    limit = as_of + dt.timedelta(days=1)
    parts = []
    for cp in cols:
        c = ident(cp.column.name)
        cond = (f"{c} >= CAST({lit(limit.isoformat())} AS TIMESTAMPTZ)"
                if cp.column.type == "ts" else f"{c} > DATE {lit(as_of.isoformat())}")
        parts.append(f"count(*) FILTER (WHERE {cond}), min(__line) FILTER (WHERE {cond})")
    row = con.execute(f"SELECT {', '.join(parts)} FROM _good").fetchone()
    out = []
    for i, cp in enumerate(cols):
        count, first = (row[2 * i], row[2 * i + 1]) if row else (0, None)
        if count and first is not None:
            out.append(Issue("warning", "future_date",
                             f"{count} row(s) have '{cp.header}' after the as-of date "
                             f"{as_of.isoformat()}; metrics ignore them until then.",
                             file=file, row=int(first), column=cp.header, count=int(count)))
    return out


def _references(con: duckdb.DuckDBPyConnection, plan: Plan, file: str) -> list[Issue]:
    out = []
    for cp in plan.present:
        ref = REFERENCES.get((plan.table.name, cp.column.name))
        if ref is None:
            continue
        other, key = ref
        c = ident(cp.column.name)
        same_file = plan.table.name == other
        known = f"SELECT {ident(key)} FROM {ident(other)}"
        if same_file:
            known += f" UNION ALL SELECT {ident(key)} FROM _good"
        row = con.execute(
            f"SELECT count(*), count(DISTINCT g.{c}), min(g.__line), arg_min(g.{c}, g.__line) "
            f"FROM _good g WHERE g.{c} IS NOT NULL AND g.{c} <> '' AND g.{c} NOT IN ({known})"
        ).fetchone()
        if row and row[0]:
            out.append(Issue(
                "warning", "unknown_reference",
                f"{row[0]} row(s) have a {cp.column.name} value that is not in {other} "
                f"({row[1]} distinct, first '{row[3]}'). Import {other} too, or check the ids; "
                + ("funnels ignore these stage entries until the contact exists."
                   if plan.table.name == "stage_events" else "the rows are kept."),
                file=file, row=int(row[2]), column=cp.header, value=str(row[3]),
                count=int(row[0])))
    return out


def _stage_order(con: duckdb.DuckDBPyConnection, plan: Plan, settings: Settings,
                 file: str) -> list[Issue]:
    present = [s for s in settings.stages if plan.target(f"{s}_at").source is not None]
    # every pair, not only neighbours: lead after sql is out of order even when mql is empty
    conds = [f"({ident(a + '_at')} > {ident(b + '_at')})"
             for i, a in enumerate(present) for b in present[i + 1:]]
    if not conds:
        return []
    cond = " OR ".join(conds)
    row = con.execute(f"SELECT count(*), min(__line) FROM _good WHERE {cond}").fetchone()
    if not row or not row[0]:
        return []
    return [Issue("warning", "stage_order",
                  f"{row[0]} contact(s) entered a later funnel stage before an earlier one "
                  f"(order: {', '.join(present)}). They are kept; the cumulative rule still "
                  "counts them in the earlier stage.", file=file, row=int(row[1]),
                  count=int(row[0]))]
