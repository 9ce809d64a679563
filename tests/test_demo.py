"""The demo company generator: canonical files, the story the data tells, determinism.

One company (6,000 contacts, seed 7, ending 2026-06-30, so the data starts 2023-07-01) is
generated once for the module and checked with DuckDB SQL on the CSV files. Values are read as
text and dates cut from the ISO strings, so no time-zone setting can change a result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from funnelboard.demo import generate, import_order, write_contacts_csv, write_stage_events_csv
from funnelboard.errors import UsageError
from funnelboard.schema import TABLES

END = dt.date(2026, 6, 30)
STAGE_COLUMNS = ["lead_at", "mql_at", "sql_at", "opportunity_at", "customer_at"]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("demo"), contacts=6000, seed=7, end=END)


@pytest.fixture(scope="module")
def db(demo: dict[str, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every table loaded as text columns (``<table>``) and as typed columns (``t_<table>``)."""
    con = duckdb.connect()
    for table, path in demo.items():
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', all_varchar=true,"
                    " header=true)")
        con.execute(f"CREATE TABLE t_{table} AS SELECT * FROM read_csv('{path}', header=true)")
    yield con
    con.close()


def rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return db.execute(sql).fetchall()


def one(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    found = db.execute(sql).fetchone()
    assert found is not None
    return found[0]


def test_every_canonical_table_is_written_and_not_empty(demo: dict[str, Path]) -> None:
    assert set(demo) == set(TABLES)
    assert set(import_order()) == set(TABLES)
    assert import_order().index("accounts") < import_order().index("contacts") \
        < import_order().index("stage_events") < import_order().index("opportunities")
    for table, path in demo.items():
        assert path == path.parent / f"{table}.csv"
        with path.open(encoding="utf-8") as f:
            assert f.readline() and f.readline(), f"{table} has no rows"


def test_headers_are_exactly_the_canonical_columns(demo: dict[str, Path]) -> None:
    for table, path in demo.items():
        header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        expected = TABLES[table].column_names
        if table == "contacts":
            expected = expected + STAGE_COLUMNS
        assert header == expected, table


def test_cells_use_the_canonical_formats(db: duckdb.DuckDBPyConnection,
                                         demo: dict[str, Path]) -> None:
    for table in demo:
        for col in TABLES[table].columns:
            values = [r[0] for r in rows(db, f"SELECT DISTINCT {col.name} FROM {table} "
                                             f"WHERE {col.name} IS NOT NULL LIMIT 2000")]
            if col.type == "ts":
                assert all(TS.match(str(v)) for v in values), (table, col.name)
            elif col.type == "date":
                assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", str(v)) for v in values)
            elif col.type == "bool":
                assert set(values) <= {"true", "false"}, (table, col.name)
            elif col.type in ("int", "num", "money", "ratio"):
                assert all(re.fullmatch(r"-?\d+(\.\d+)?", str(v)) for v in values), \
                    (table, col.name, values[:3])
            if col.choices:
                assert set(values) <= set(col.choices), (table, col.name)
    for path in demo.values():  # empty cells are empty, never a quoted ""
        assert '"' not in path.read_text(encoding="utf-8")


def test_keys_are_unique_and_references_resolve(db: duckdb.DuckDBPyConnection) -> None:
    for name, table in TABLES.items():
        key = ", ".join(f"coalesce({k}, '')" for k in table.key)
        if name == "ad_account_engagement":  # rows without account_id match by domain
            key += ", coalesce(company_domain, '')"
        dup = one(db, f"SELECT count(*) FROM (SELECT {key} FROM {name} GROUP BY ALL "
                      "HAVING count(*) > 1)")
        assert dup == 0, name
    for child, col, parent, pcol in [
        ("contacts", "account_id", "accounts", "account_id"),
        ("stage_events", "contact_id", "contacts", "contact_id"),
        ("opportunities", "contact_id", "contacts", "contact_id"),
        ("opportunities", "account_id", "accounts", "account_id"),
        ("opportunity_stages", "opportunity_id", "opportunities", "opportunity_id"),
        ("meetings", "opportunity_id", "opportunities", "opportunity_id"),
        ("touchpoints", "contact_id", "contacts", "contact_id"),
        ("mrr", "account_id", "accounts", "account_id"),
        ("ad_performance", "campaign_id", "campaigns", "campaign_id"),
        ("events", "campaign_id", "campaigns", "campaign_id"),
        ("contacts", "campaign_id", "campaigns", "campaign_id"),
    ]:
        missing = one(db, f"SELECT count(*) FROM {child} WHERE {col} IS NOT NULL AND {col} "
                          f"NOT IN (SELECT {pcol} FROM {parent})")
        assert missing == 0, (child, col)


def test_stage_columns_are_ordered_and_most_contacts_stop_early(
        db: duckdb.DuckDBPyConnection) -> None:
    stages = ["created_at", *STAGE_COLUMNS]
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            assert one(db, f"SELECT count(*) FROM contacts WHERE {a} > {b}") == 0, (a, b)
    n, leads, mqls, sqls, opps, customers, skipped = rows(db, """
        SELECT count(*), count(lead_at), count(mql_at), count(sql_at), count(opportunity_at),
               count(customer_at), count(*) FILTER (WHERE sql_at IS NOT NULL AND mql_at IS NULL)
        FROM contacts""")[0]
    assert n == 6000
    assert n > leads > mqls > sqls > opps > customers > 0
    assert mqls < leads / 2 and skipped > 0
    assert one(db, "SELECT count(*) FROM stage_events WHERE stage = 'mql'") > 0  # recycled
    assert one(db, "SELECT count(*) FROM contacts WHERE channel IS NULL") > 1000
    assert {r[0] for r in rows(db, "SELECT DISTINCT utm_source || '/' || utm_medium "
                                    "FROM contacts WHERE utm_source IS NOT NULL")} >= {
        "google/cpc", "linkedin/paid_social", "(direct)/(none)", "google/organic"}


def test_september_leads_beat_july_and_december_every_year(
        db: duckdb.DuckDBPyConnection) -> None:
    by_month = dict(rows(db, "SELECT substr(lead_at, 1, 7), count(*) FROM contacts "
                             "WHERE lead_at IS NOT NULL GROUP BY 1"))
    for year in (2023, 2024, 2025):  # the years whose July, September and December are in
        sep, jul, dec = (by_month[f"{year}-{m}"] for m in ("09", "07", "12"))
        assert sep > jul and sep > dec, (year, jul, sep, dec)


def test_last_two_quarters_sessions_rise_while_visit_to_lead_falls(
        db: duckdb.DuckDBPyConnection) -> None:
    """Q-2 = 2025 Q4, Q-1 = 2026 Q1, Q = 2026 Q2: the last two complete quarters before the
    end date (2026-06-30 closes Q2) and the quarter before them as the baseline.

    Visit-to-lead = contacts whose lead_at falls in the quarter / sessions in the quarter.
    """
    found = rows(db, """
        WITH s AS (SELECT CAST(date_trunc('quarter', CAST(date AS DATE)) AS DATE) AS q,
                          sum(CAST(sessions AS BIGINT)) AS sessions
                   FROM web_traffic GROUP BY 1),
             l AS (SELECT CAST(date_trunc('quarter', CAST(substr(lead_at, 1, 10) AS DATE))
                                AS DATE) AS q,
                          count(*) AS leads
                   FROM contacts WHERE lead_at IS NOT NULL GROUP BY 1)
        SELECT s.q, sessions, leads FROM s JOIN l USING (q)
        WHERE s.q >= DATE '2025-10-01' ORDER BY s.q""")
    assert [r[0] for r in found] == [dt.date(2025, 10, 1), dt.date(2026, 1, 1),
                                     dt.date(2026, 4, 1)]
    sessions = [int(str(r[1])) for r in found]
    rate = [int(str(r[2])) / int(str(r[1])) for r in found]
    assert sessions[0] < sessions[1] < sessions[2]
    assert rate[0] > rate[1] > rate[2]


def test_won_deals_take_about_six_months(db: duckdb.DuckDBPyConnection) -> None:
    median = one(db, """SELECT median(CAST(close_date AS DATE)
                                      - CAST(substr(created_at, 1, 10) AS DATE))
                        FROM opportunities WHERE is_won = 'true'""")
    assert 150 <= float(str(median)) <= 210


@pytest.mark.parametrize("deals", ["new_business", "all"])
def test_target_accounts_win_more_often(db: duckdb.DuckDBPyConnection, deals: str) -> None:
    """Win rate = won / closed, on new-business deals and on all deal types."""
    only = "AND o.type = 'new_business'" if deals == "new_business" else ""
    found = dict(rows(db, f"""
        SELECT a.is_target_account, avg(CASE WHEN o.is_won = 'true' THEN 1 ELSE 0 END)
        FROM opportunities o JOIN accounts a USING (account_id)
        WHERE o.is_closed = 'true' {only} GROUP BY 1"""))
    assert found["true"] > found["false"]


def test_opportunities_have_types_stages_and_currencies(db: duckdb.DuckDBPyConnection) -> None:
    assert {r[0] for r in rows(db, "SELECT DISTINCT type FROM opportunities")} == {
        "new_business", "expansion", "renewal"}
    assert {r[0] for r in rows(db, "SELECT DISTINCT currency FROM opportunities")} >= {
        "USD", "EUR"}
    assert {r[0] for r in rows(db, "SELECT DISTINCT stage FROM opportunity_stages")} == {
        "discovery", "demo", "proposal", "negotiation", "closed_won", "closed_lost"}
    assert one(db, "SELECT count(*) FROM opportunities WHERE is_closed = 'false'") > 0
    assert one(db, "SELECT count(*) FROM meetings WHERE opportunity_id IS NOT NULL") > 0
    assert {r[0] for r in rows(db, "SELECT DISTINCT status FROM meetings")} >= {
        "held", "no_show", "canceled"}


def test_mrr_has_expansion_contraction_and_reactivation(db: duckdb.DuckDBPyConnection) -> None:
    expansions, contractions, reactivations = rows(db, """
        WITH m AS (SELECT account_id, CAST(month AS DATE) AS month,
                          CAST(mrr AS DOUBLE) AS mrr FROM mrr WHERE CAST(mrr AS DOUBLE) > 0),
             p AS (SELECT *, lag(mrr) OVER w AS prev, lag(month) OVER w AS prev_month
                   FROM m WINDOW w AS (PARTITION BY account_id ORDER BY month))
        SELECT count(*) FILTER (WHERE prev_month = month - INTERVAL 1 MONTH AND mrr > prev),
               count(*) FILTER (WHERE prev_month = month - INTERVAL 1 MONTH AND mrr < prev),
               count(*) FILTER (WHERE prev_month < month - INTERVAL 1 MONTH)
        FROM p""")[0]
    assert expansions > 0 and contractions > 0 and reactivations > 0


def test_funnels_of_web_and_email_never_grow(db: duckdb.DuckDBPyConnection) -> None:
    assert one(db, """SELECT count(*) FROM t_web_traffic
        WHERE scroll_25 > sessions OR scroll_50 > scroll_25 OR scroll_75 > scroll_50
           OR scroll_100 > scroll_75 OR engaged_sessions > sessions OR conversions > sessions
           OR engaged_sessions + bounces <> sessions""") == 0
    assert one(db, """SELECT count(*) FROM t_email_sends WHERE delivered > sent
        OR unique_opens > delivered OR unique_clicks > unique_opens""") == 0
    assert {r[0] for r in rows(db, "SELECT DISTINCT program FROM email_sends")} == {
        "nurture", "newsletter", "onboarding", "product", "event", "sales"}
    assert {r[0] for r in rows(db, "SELECT DISTINCT platform FROM ad_performance")} == {
        "google_ads", "linkedin", "meta"}


def test_events_bring_a_lead_spike_and_appear_everywhere(db: duckdb.DuckDBPyConnection) -> None:
    shows = rows(db, "SELECT CAST(substr(starts_at, 1, 10) AS DATE), campaign_id FROM events "
                     "WHERE kind = 'trade_show'")
    webinars = one(db, "SELECT count(*) FROM events WHERE kind = 'webinar'")
    assert len(shows) == 6 and webinars == 36
    for start, campaign in shows:  # badge scans arrive in the days after the show
        after, before = rows(db, f"""
            SELECT count(*) FILTER (WHERE d BETWEEN DATE '{start}' + 3 AND DATE '{start}' + 5),
                   count(*) FILTER (WHERE d BETWEEN DATE '{start}' - 4 AND DATE '{start}' - 2)
            FROM (SELECT CAST(substr(lead_at, 1, 10) AS DATE) AS d FROM contacts)""")[0]
        assert int(str(after)) > 2 * int(str(before)), start
        assert one(db, f"SELECT count(*) FROM campaigns WHERE campaign_id = '{campaign}'") == 1
        assert one(db, f"SELECT count(*) FROM annotations WHERE date = '{start}' "
                       "AND kind = 'trade_show'") == 1


def test_same_seed_same_bytes_other_seed_other_company(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    a = generate(tmp_path / "a", contacts=1500, seed=3, end=END,
                 progress=lambda label, done, total: calls.append((label, done, total)))
    assert ("contacts", 1500, 1500) in calls and calls[-1][0] == "done"
    b = generate(tmp_path / "b", contacts=1500, seed=3, end=END)
    c = generate(tmp_path / "c", contacts=1500, seed=4, end=END)
    for table in TABLES:
        assert a[table].read_bytes() == b[table].read_bytes(), table
    assert a["contacts"].read_bytes() != c["contacts"].read_bytes()
    accounts = a["accounts"].read_text(encoding="utf-8").count("\n") - 1
    assert 1500 // 8 - 1 <= accounts <= 1500 // 8 + 1


def test_sizes_out_of_range_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        generate(tmp_path, contacts=10)


def test_benchmark_writers_write_exactly_n_rows(tmp_path: Path) -> None:
    contacts, events = tmp_path / "contacts.csv", tmp_path / "stage_events.csv"
    write_contacts_csv(contacts, 12_345, seed=2)
    write_stage_events_csv(events, 12_345, seed=2)
    con = duckdb.connect()
    assert one(con, f"SELECT count(*) FROM read_csv('{contacts}', all_varchar=true)") == 12_345
    assert one(con, f"SELECT count(DISTINCT contact_id) FROM read_csv('{contacts}', "
                    "all_varchar=true)") == 12_345
    assert one(con, f"SELECT count(*) FROM read_csv('{events}', all_varchar=true)") == 12_345
    assert one(con, f"""SELECT count(*) FROM (SELECT contact_id, stage, entered_at
        FROM read_csv('{events}', all_varchar=true) GROUP BY ALL HAVING count(*) > 1)""") == 0
    assert one(con, f"""SELECT count(*) FROM read_csv('{events}', all_varchar=true)
        WHERE contact_id NOT IN (SELECT contact_id FROM read_csv('{contacts}',
                                                                 all_varchar=true))""") == 0
    header = contacts.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    assert header == TABLES["contacts"].column_names + STAGE_COLUMNS
    write_contacts_csv(tmp_path / "again.csv", 12_345, seed=2)
    assert (tmp_path / "again.csv").read_bytes() == contacts.read_bytes()
    con.close()
