"""Write accepted rows into a canonical table: upsert for entity tables, range replacement for
additive tables. Runs inside the caller's transaction; counts what changed.

Entity tables: the row with a key already stored is replaced when any value differs (latest
import wins); two rows with one key in a file: the later one wins. Additive tables: rows with the
same key in a file are summed, then the stored rows of the file's date range and scope are
replaced, so overlapping exports never double count.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from funnelboard.ingest.sqltext import ident, lit
from funnelboard.issues import Issue
from funnelboard.schema import Table


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.removed)


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0] or 0) if row else 0


def prepare(con: duckdb.DuckDBPyConnection, table: Table, *, file: str) -> list[Issue]:
    """Make ``_new`` from ``_good``: derived keys filled, in-file duplicates resolved.

    Optional key columns were already filled with '' while typing. ``_new`` is a view of the
    typed rows when nothing needs resolving, so a large clean file is never copied again.
    """
    notes: list[Issue] = []
    cols = table.column_names
    if table.name == "touchpoints":
        body = ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), '')" for c in cols
                         if c != "touchpoint_id")
        con.execute(f"UPDATE _typed SET touchpoint_id = 'h' || md5(concat_ws('|', {body})) "
                    "WHERE touchpoint_id = ''")
    if table.name == "ad_account_engagement":
        con.execute(f"UPDATE _typed SET account_id = {_resolve_account()} WHERE account_id = ''")
    key = ", ".join(ident(k) for k in table.key)
    if table.kind == "additive":
        rows = scalar(con, "SELECT count(*) FROM _good")
        measures = table.measures
        dims = [c for c in cols if c not in measures]
        agg = [ident(d) for d in dims] + [f"sum({ident(m)}) AS {ident(m)}" for m in measures]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS SELECT {', '.join(agg)}, "
                    f"any_value(extras) AS extras, min(__line) AS __line FROM _good "
                    f"GROUP BY {', '.join(ident(d) for d in dims)}")
        merged = rows - scalar(con, "SELECT count(*) FROM _new")
        if merged:
            notes.append(Issue("info", "rows_summed",
                               f"{merged} row(s) shared a key ({key}) with another row of the "
                               "file and were summed into it.", file=file, count=merged))
        return notes
    dups = scalar(con, f"SELECT count(*) - count(DISTINCT ({key})) FROM _good")
    if dups:
        first = scalar(con, f"SELECT min(__line) FROM (SELECT __line, row_number() OVER "
                            f"(PARTITION BY {key} ORDER BY __rec) AS n FROM _good) WHERE n > 1")
        notes.append(Issue("warning", "duplicate_key",
                           f"{dups} row(s) repeat the key ({key}) of an earlier row in the file; "
                           "the later row wins.", file=file, row=first, count=dups))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS SELECT * FROM _good QUALIFY "
                    f"row_number() OVER (PARTITION BY {key} ORDER BY __rec DESC) = 1")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT * FROM _good")
    return notes


def _resolve_account() -> str:
    return ("coalesce((SELECT min(a.account_id) FROM accounts a WHERE "
            "lower(a.domain) = lower(_typed.company_domain)), (SELECT min(a.account_id) FROM "
            "accounts a WHERE lower(a.name) = lower(_typed.company_name)), "
            "'unmatched:' || lower(coalesce(company_domain, company_name)))")


def _same(cols: list[str], a: str, b: str) -> str:
    parts = [f"{a}.{ident(c)} IS NOT DISTINCT FROM {b}.{ident(c)}" for c in cols]
    parts.append(f"CAST({a}.extras AS VARCHAR) IS NOT DISTINCT FROM CAST({b}.extras AS VARCHAR)")
    return " AND ".join(parts)


def _join_on(table: Table, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{ident(k)} = {b}.{ident(k)}" for k in table.key)


def apply_entity(con: duckdb.DuckDBPyConnection, table: Table, import_id: int,
                 stages: list[str]) -> Counts:
    """Upsert ``_new`` into ``table`` (and contact-owned stage entries)."""
    t = ident(table.name)
    cols = table.column_names
    own = " WHERE NOT coalesce(_from_contact, false)" if table.name == "stage_events" else ""
    if not scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {t}{own} LIMIT 1)"):
        return _insert_all(con, table, import_id, stages)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _diff AS SELECT n.*, CASE WHEN o.__hit IS NULL THEN 'i' "
        f"WHEN {_same(cols, 'n', 'o')} THEN 's' ELSE 'u' END AS __op FROM _new n "
        f"LEFT JOIN (SELECT *, true AS __hit FROM {t}{own}) o ON {_join_on(table, 'n', 'o')}"
    )
    if table.name == "contacts":
        _contact_stage_changes(con, stages)
    counts = Counts(
        inserted=scalar(con, "SELECT count(*) FROM _diff WHERE __op = 'i'"),
        updated=scalar(con, "SELECT count(*) FROM _diff WHERE __op = 'u'"),
        unchanged=scalar(con, "SELECT count(*) FROM _diff WHERE __op = 's'"),
    )
    if counts.updated:
        con.execute(f"DELETE FROM {t} USING _diff d WHERE d.__op = 'u' AND "
                    f"{_join_on(table, t, 'd')}{own.replace(' WHERE', ' AND')}")
    if counts.inserted or counts.updated:
        names = ", ".join(ident(c) for c in [*cols, "extras", "_import_id"])
        values = ", ".join([*(ident(c) for c in cols), "extras", str(int(import_id))])
        if table.name == "stage_events":
            names += ", _from_contact"
            values += ", false"
        con.execute(f"INSERT INTO {t} ({names}) SELECT {values} FROM _diff "
                    "WHERE __op IN ('i', 'u')")
        if table.name == "contacts":
            _write_contact_stages(con, stages, import_id)
    return counts


def _insert_all(con: duckdb.DuckDBPyConnection, table: Table, import_id: int,
                stages: list[str]) -> Counts:
    """First import into an empty table: every row is new, no comparison needed."""
    t = ident(table.name)
    names = ", ".join(ident(c) for c in [*table.column_names, "extras", "_import_id"])
    values = ", ".join([*(ident(c) for c in table.column_names), "extras", str(int(import_id))])
    if table.name == "stage_events":
        names += ", _from_contact"
        values += ", false"
    con.execute(f"INSERT INTO {t} ({names}) SELECT {values} FROM _new")
    if table.name == "contacts" and stages:
        rows = _stage_rows_sql(stages, source="_new")
        con.execute("INSERT INTO stage_events (contact_id, stage, entered_at, extras, _import_id, "
                    f"_from_contact) SELECT contact_id, stage, entered_at, NULL, "
                    f"{int(import_id)}, true FROM ({rows})")
    return Counts(inserted=scalar(con, "SELECT count(*) FROM _new"))


def _stage_rows_sql(stages: list[str], where: str = "", source: str = "_diff") -> str:
    """(contact_id, stage, entered_at) of the contacts' ``<stage>_at`` columns, one row per
    non-empty cell: one UNPIVOT scan of ``source`` (a UNION ALL of one scan per stage cost
    about a third more)."""
    if not stages:
        return ("SELECT NULL::VARCHAR AS contact_id, NULL::VARCHAR AS stage, "
                "NULL::TIMESTAMPTZ AS entered_at WHERE false")
    cols = ", ".join(ident(s + "_at") for s in stages)
    names = " ".join(f"WHEN {lit(s + '_at')} THEN {lit(s)}" for s in stages)
    filt = f" WHERE true{where}" if where else ""
    return (f"SELECT contact_id, CASE fb_col {names} END AS stage, entered_at FROM "
            f"(UNPIVOT (SELECT contact_id, {cols} FROM {source}{filt}) ON {cols} "
            "INTO NAME fb_col VALUE entered_at)")


def _contact_stage_changes(con: duckdb.DuckDBPyConnection, stages: list[str]) -> None:
    """A contact whose own stage entries differ from the file's counts as updated.

    Only the stages the file has columns for are compared: a file without ``mql_at`` says
    nothing about MQL dates and leaves them as they are.
    """
    owned = ", ".join(lit(s) for s in stages) or "NULL"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _stage_new AS {_stage_rows_sql(stages)};
        UPDATE _diff SET __op = 'u' WHERE __op = 's' AND contact_id IN (
            SELECT contact_id FROM (
                (SELECT contact_id, stage, entered_at FROM _stage_new
                 EXCEPT SELECT contact_id, stage, entered_at FROM stage_events
                 WHERE _from_contact AND stage IN ({owned}))
                UNION ALL
                (SELECT contact_id, stage, entered_at FROM stage_events
                 WHERE _from_contact AND stage IN ({owned})
                   AND contact_id IN (SELECT contact_id FROM _diff)
                 EXCEPT SELECT contact_id, stage, entered_at FROM _stage_new)))"""
    )


def _write_contact_stages(con: duckdb.DuckDBPyConnection, stages: list[str],
                          import_id: int) -> None:
    owned = ", ".join(lit(s) for s in stages) or "NULL"
    con.execute(f"DELETE FROM stage_events WHERE _from_contact AND stage IN ({owned}) AND "
                "contact_id IN (SELECT contact_id FROM _diff WHERE __op = 'u')")
    rows = _stage_rows_sql(stages, where=" AND __op IN ('i', 'u')")
    con.execute(
        "INSERT INTO stage_events (contact_id, stage, entered_at, extras, _import_id, "
        f"_from_contact) SELECT contact_id, stage, entered_at, NULL, {int(import_id)}, true "
        f"FROM ({rows})"
    )


def apply_additive(con: duckdb.DuckDBPyConnection, table: Table, import_id: int, *,
                   append: bool) -> Counts:
    """Replace the stored rows of ``_new``'s date range and scope with ``_new``."""
    t = ident(table.name)
    cols = table.column_names
    date = ident(table.date_column or "date")
    scope = " AND ".join(
        [f"{date} BETWEEN (SELECT min({date}) FROM _new) AND (SELECT max({date}) FROM _new)"]
        + ([f"({', '.join(ident(s) for s in table.scope)}) IN (SELECT DISTINCT "
            f"({', '.join(ident(s) for s in table.scope)}) FROM _new)"] if table.scope else [])
    )
    names = ", ".join(ident(c) for c in [*cols, "extras", "_import_id"])
    values = ", ".join([*(ident(c) for c in cols), "extras", str(int(import_id))])
    if append:
        n = scalar(con, "SELECT count(*) FROM _new")
        con.execute(f"INSERT INTO {t} ({names}) SELECT {values} FROM _new")
        return Counts(inserted=n)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _old AS SELECT * FROM {t} WHERE {scope}")
    on = _join_on(table, "n", "o")
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE o.__hit IS NULL), "
        f"count(*) FILTER (WHERE n.__hit IS NULL), "
        f"count(*) FILTER (WHERE n.__hit AND o.__hit AND NOT ({_same(cols, 'n', 'o')})), "
        f"count(*) FILTER (WHERE n.__hit AND o.__hit AND {_same(cols, 'n', 'o')}) "
        f"FROM (SELECT *, true AS __hit FROM _new) n FULL OUTER JOIN "
        f"(SELECT *, true AS __hit FROM _old) o ON {on}"
    ).fetchone()
    assert row is not None
    counts = Counts(inserted=int(row[0]), removed=int(row[1]), updated=int(row[2]),
                    unchanged=int(row[3]))
    if counts.changed:
        con.execute(f"DELETE FROM {t} WHERE {scope}")
        con.execute(f"INSERT INTO {t} ({names}) SELECT {values} FROM _new")
    return counts
