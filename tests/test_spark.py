"""The funnel metrics give identical rows on DuckDB and on Spark (Ibis PySpark backend).

DESIGN.md's scale-out proof: the metric code is Ibis expressions, so the same code must give
the same answer on a distributed engine. One workspace (zone America/New_York) is built once;
its canonical tables are copied into one local SparkSession for the module
(:func:`funnelboard.metrics.spark.spark_backend`), and every query is computed on both engines
and compared row for row. The data (times are UTC; local = New York, UTC−5 in winter, UTC−4
from 9 March and until 2 November 2025):

    contact  created             local            account  channel (how)
    n1       02-01 02:30Z        01-31 21:30      a1       webinar        the edge contact
    n2       01-15 12:00Z        01-15 07:00      a1       paid_search
    n3       02-10 10:00Z        02-10 05:00      a2       paid_search    derived from UTMs
    n4       03-01 04:59:59Z     02-28 23:59:59   -        organic_search
    n5       03-01 05:00Z        03-01 00:00      a3       paid_search
    n6       04-01 03:00Z        03-31 23:00      a2       webinar        customer entry only
    n7       05-31 12:00Z        05-31 08:00      a3       event          no stage
    n8       06-30 23:00Z        06-30 19:00      -        webinar        lead 07-01 02:00Z (06-30)
    n9       07-01 05:00Z        07-01 01:00      a1       webinar        after the as-of date
    n10      04-10 14:00Z        04-10 10:00      a3       paid_search
    n11      10-28 14:00Z        10-28 10:00      a2       webinar        MQL→SQL across 2 November

Every MQL→SQL pair but n11's lies within one UTC offset; n11 is only seen with a later as-of.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funnelboard.metrics.engine import CANONICAL_INPUTS, Engine, compute
from funnelboard.metrics.funnel_view import funnel
from funnelboard.metrics.query import make_query
from funnelboard.workspace import Workspace

pytestmark = pytest.mark.spark

ZONE = "America/New_York"
AS_OF = "2025-06-30"
JAN = dt.date(2025, 1, 1)

CONTACTS = """\
contact_id,created_at,account_id,channel,utm_source,utm_medium,lead_at,mql_at,sql_at,opportunity_at,customer_at
n1,2025-02-01T02:30:00Z,a1,webinar,,,2025-02-01T02:30:00Z,2025-02-03T15:00:00Z,2025-02-10T15:00:00Z,,
n2,2025-01-15T12:00:00Z,a1,paid_search,,,2025-01-15T12:00:00Z,2025-01-20T12:00:00Z,2025-01-22T18:00:00Z,2025-02-01T04:00:00Z,2025-02-20T16:00:00Z
n3,2025-02-10T10:00:00Z,a2,,google,cpc,2025-02-10T10:00:00Z,,2025-02-25T10:00:00Z,,
n4,2025-03-01T04:59:59Z,,organic_search,,,2025-03-01T04:59:59Z,,,,
n5,2025-03-01T05:00:00Z,a3,paid_search,,,2025-03-01T05:00:00Z,2025-03-05T09:00:00Z,,,
n6,2025-04-01T03:00:00Z,a2,webinar,,,,,,,2025-05-02T03:30:00Z
n7,2025-05-31T12:00:00Z,a3,event,,,,,,,
n8,2025-06-30T23:00:00Z,,webinar,,,2025-07-01T02:00:00Z,,,,
n9,2025-07-01T05:00:00Z,a1,webinar,,,2025-07-01T05:00:00Z,2025-07-02T05:00:00Z,,,
n10,2025-04-10T14:00:00Z,a3,paid_search,,,2025-04-10T14:00:00Z,2025-04-12T14:00:00Z,2025-04-15T20:30:00Z,2025-05-01T12:00:00Z,
n11,2025-10-28T14:00:00Z,a2,webinar,,,2025-10-28T14:00:00Z,2025-10-30T14:00:00Z,2025-11-04T14:00:00Z,,
"""
ACCOUNTS = """\
account_id,name,segment,region,industry,is_target_account
a1,Acme,Enterprise,NA,Software,true
a2,Beta,SMB,EMEA,Retail,false
a3,Gamma,SMB,NA,Software,true
"""
OPPORTUNITIES = """\
opportunity_id,created_at,amount,account_id,is_closed,is_won,close_date,type,channel
o1,2025-02-01T04:00:00Z,1200.50,a1,true,true,2025-02-20,new_business,paid_social
o2,2025-05-01T12:00:00Z,800,a3,false,false,2025-08-30,new_business,
o3,2025-05-02T03:30:00Z,300,a2,true,true,2025-05-02,expansion,event
"""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace of the module docstring, made once (zone set before it is opened)."""
    folder = tmp_path_factory.mktemp("spark") / "ws"
    Workspace.init(folder).close()
    toml = folder / "funnelboard.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'timezone = "UTC"' in text
    toml.write_text(text.replace('timezone = "UTC"', f'timezone = "{ZONE}"'), encoding="utf-8")
    ws = Workspace.open(folder)
    assert ws.settings.timezone == ZONE
    for table, content in (("accounts", ACCOUNTS), ("contacts", CONTACTS),
                           ("opportunities", OPPORTUNITIES)):
        path = folder.parent / f"{table}.csv"
        path.write_text(content, encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.ok and result.rows_quarantined == 0, (
            table, result.message, [(i.code, i.message) for i in result.issues])
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def engines(ws: Workspace) -> Iterator[tuple[Engine, Engine]]:
    """(DuckDB engine, Spark engine) over the same tables; one SparkSession for the module."""
    if _java() is None:
        pytest.skip("Java not found (JAVA_HOME or java on PATH): the Spark tests need Java 17")
    from funnelboard.metrics.spark import spark_backend, stop_spark

    duck = Engine.for_workspace(ws)
    backend = spark_backend(ws.connection(), timezone=ws.settings.timezone,
                            tables=CANONICAL_INPUTS)
    try:
        yield duck, Engine(backend, ws.settings)
    finally:
        stop_spark()


def _approx(value: Any) -> Any:
    """``value`` with every float (also inside ``extra``) compared with pytest.approx."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value


def both(engines: tuple[Engine, Engine], metric: str, **options: Any) -> list[dict[str, Any]]:
    """The rows of ``metric`` on DuckDB, after checking Spark gives the same rows."""
    duck, spark = engines
    query = make_query(metric, **options)
    expected = compute(duck, query).rows
    actual = compute(spark, query).rows
    assert actual == _approx(expected)
    assert [list(r) for r in actual] == [list(r) for r in expected]  # same keys, same order
    return expected


def counts(rows: list[dict[str, Any]], *dims: str) -> dict[tuple[Any, ...], Any]:
    return {(r["period"], *(r[d] for d in dims)): r["value"] for r in rows if r["value"]}


def test_spark_sees_the_duckdb_tables_with_the_same_types(ws: Workspace,
                                                          engines: tuple[Engine, Engine]) -> None:
    """TIMESTAMPTZ arrives as a Spark TIMESTAMP (the same instant), DECIMAL stays DECIMAL, JSON
    becomes a string; the session zone is the workspace zone, not the UTC Ibis sets."""
    _, spark = engines
    session = spark.backend._session  # type: ignore[attr-defined]
    assert session.conf.get("spark.sql.session.timeZone") == ZONE
    schema = spark.backend.table("opportunities").schema()
    assert schema["created_at"].is_timestamp()
    assert schema["amount"].is_decimal()
    assert (schema["amount"].precision, schema["amount"].scale) == (20, 4)
    assert schema["extras"].is_string()
    assert spark.backend.table("contacts").count().execute() == 11
    edge = session.sql("SELECT unix_timestamp(created_at) AS s, CAST(created_at AS DATE) AS d "
                       "FROM contacts WHERE contact_id = 'n1'").collect()
    assert [(r.s, r.d) for r in edge] == [
        (int(dt.datetime(2025, 2, 1, 2, 30, tzinfo=dt.UTC).timestamp()), dt.date(2025, 1, 31))]


def test_leads_by_month_cohort_basis(engines: tuple[Engine, Engine]) -> None:
    """The edge contact n1 (02-01 02:30Z = 01-31 21:30 local) is a January lead on both; n4
    (02-28 23:59:59 local) is February; n5 (03-01 00:00 local) and n6 (03-31 23:00 local, lead
    inferred from its customer entry) March; n8 (06-30 19:00 local) June; n9 is after as-of."""
    rows = both(engines, "leads", as_of=AS_OF, grain="month")
    assert counts(rows) == {
        (JAN, ): 2, (dt.date(2025, 2, 1), ): 2, (dt.date(2025, 3, 1), ): 2,
        (dt.date(2025, 4, 1), ): 1, (dt.date(2025, 6, 1), ): 1}


def test_leads_by_month_and_channel_period_basis(engines: tuple[Engine, Engine]) -> None:
    """Period basis dates each lead by its (local) lead entry: n8's 07-01 02:00Z is a June
    lead; n3's channel comes from its UTMs (google / cpc → paid_search) on both engines."""
    rows = both(engines, "leads", as_of=AS_OF, grain="month", basis="period", by=["channel"])
    assert counts(rows, "channel") == {
        (JAN, "paid_search"): 1, (JAN, "webinar"): 1, (dt.date(2025, 2, 1), "paid_search"): 1,
        (dt.date(2025, 2, 1), "organic_search"): 1, (dt.date(2025, 3, 1), "paid_search"): 1,
        (dt.date(2025, 4, 1), "paid_search"): 1, (dt.date(2025, 5, 1), "webinar"): 1,
        (dt.date(2025, 6, 1), "webinar"): 1}


@pytest.mark.parametrize("basis", ["cohort", "period"])
def test_lead_to_mql_rate_by_month_by_channel(engines: tuple[Engine, Engine],
                                              basis: str) -> None:
    rows = both(engines, "lead_to_mql_rate", as_of=AS_OF, grain="month", by=["channel"],
                basis=basis)
    assert any(r["channel"] == "paid_search" and r["denominator"] for r in rows)


def test_rate_within_days_with_filters_and_comparison(engines: tuple[Engine, Engine]) -> None:
    """``lead_to_mql_rate_7d`` (``created + interval(days=7)`` in the engine), a filter with
    ``(none)`` and a comparison with the previous period."""
    rows = both(engines, "lead_to_mql_rate_7d", as_of=AS_OF, grain="quarter",
                start="2025-01-01", end="2025-06-30", compare="previous",
                filters={"channel": ["paid_search", "webinar", "(none)"]})
    assert rows[0]["denominator"]


def test_mql_to_sql_days(engines: tuple[Engine, Engine]) -> None:
    """Medians and 75th percentiles (interpolated) of the MQL→SQL days of n1 (7.0), n2 (2.25)
    and n10 (3.27); n3 has no MQL entry. No pair crosses a DST change before the as-of date."""
    rows = both(engines, "mql_to_sql_days", as_of=AS_OF, grain="quarter")
    assert [(r["period"], r["n"]) for r in rows if r["n"]] == [(JAN, 2), (dt.date(2025, 4, 1), 1)]


@pytest.mark.parametrize("options", [
    pytest.param({"grain": "quarter"}, id="cumulative"),
    pytest.param({"grain": "month", "by": ["channel"], "rule": "strict"}, id="strict"),
    pytest.param({"grain": "quarter", "by": ["channel"], "level": "account"}, id="account"),
])
def test_the_whole_funnel(engines: tuple[Engine, Engine], options: dict[str, Any]) -> None:
    """``ws.funnel``: every stage's count per period, with the step conversions. Strict: n3 (no
    MQL entry) is no SQL, n6 (customer entry only) no customer. Account level: accounts reach
    a stage with their first contact, a1's channel is its won new-business opportunity's
    (paid_social), and n4 and n8 (no account) are left out."""
    duck, spark = engines
    query = make_query("funnel", as_of=AS_OF, **options)
    expected = funnel(duck, query)
    actual = funnel(spark, query)
    assert expected.rows
    assert actual.rows == _approx(expected.rows)
    assert actual.notes == expected.notes
    if options.get("level") == "account":
        assert any(r.get("channel") == "paid_social" and r["value"] for r in expected.rows)


def test_mql_to_sql_days_across_a_dst_change(engines: tuple[Engine, Engine]) -> None:
    """n11: MQL 10-30 14:00Z (10:00 local), SQL 11-04 14:00Z (09:00 local, clocks went back on
    2 November) = exactly 5 days elapsed on both engines (a wall-clock difference would be
    5 days − 1 hour)."""
    rows = both(engines, "mql_to_sql_days", as_of="2025-12-31", grain="month",
                start="2025-10-01", end="2025-12-31")
    assert [r["value"] for r in rows if r["n"]] == [5.0]  # n11 is the only measured contact
