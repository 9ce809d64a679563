"""Exports: every canonical table survives CSV, XLSX and Parquet round trips exactly, and
spreadsheet formats never carry a live formula (reliability case T16).

The source workspace is filled once from small hand-written canonical files full of awkward
values (formula-like names, commas, quotes, line breaks, unicode, a negative cost, extras
columns, empty optional keys, contacts with stage columns, a double that needs 17 digits).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from funnelboard.errors import UsageError
from funnelboard.ingest.export import export_columns, export_table
from funnelboard.schema import TABLES
from funnelboard.settings import SETTINGS_FILE
from funnelboard.workspace import Workspace

FORMATS = ("csv", "xlsx", "parquet")

# One file per table, in an order where references exist before they are used.
SOURCES: dict[str, str] = {
    "accounts": (
        "account_id,name,domain,industry,employee_count,segment,region,country,icp_tier,"
        "is_target_account,created_at,owner,Tier Note\n"
        'A1,"=HYPERLINK(""http://x"",""y"")",acme.com,Software,250,SMB,EMEA,Deutschland,A,'
        'true,2024-01-05T10:00:00Z,"Smith, Jane",=1+2\n'
        "A2,+1 Corp,b.io,,,-Enterprise,,,,false,2024-02-01 12:30:15.25,@owner,\n"
        'A3,"Line\nbreak ""quoted""",,,,,,Österreich 🚀,,,,\' =SUM(A1),\n'
    ),
    "contacts": (
        "contact_id,created_at,account_id,email,source,source_detail,channel,motion,"
        "latest_source,latest_channel,campaign_id,utm_source,utm_medium,utm_campaign,"
        "utm_content,utm_term,lead_score,fit_score,job_title,persona,country,region,"
        "self_reported_source,owner,lead_at,mql_at,sql_at,opportunity_at,customer_at,"
        "Favourite colour\n"
        'C1,2024-01-05T10:00:00Z,A1,jane@acme.com,ORGANIC_SEARCH,"kw: crm, b2b",'
        'Organic Search,inbound,,,CMP1,google,cpc,brand,,,55.5,-3,"-VP, Sales",,,,'
        '"@friend said ""hi""",,2024-01-05T10:00:00Z,2024-01-10T08:00:00.123Z,,,,blue\n'
        "C2,2024-02-01,A2,,Web,,,outbound,,,,,,,,,0.30000000000000004,,,,,,'--,,"
        "2024-02-01T00:00:00Z,,2024-02-03T09:30:00Z,,,\n"
        'C3,2024-02-02T23:59:59Z,,,,,,,,,,,,,,,,,,,,,"\t@tab",,,,,,,\n'
    ),
    "stage_events": (
        "contact_id,stage,entered_at\n"
        "C1,sql,2024-01-20T00:00:00Z\n"
        "C1,mql,2024-01-12T00:00:00Z\n"
        "C3,lead,2024-02-03T00:00:00Z\n"
    ),
    "campaigns": (
        "campaign_id,name,channel,type,start_date,end_date,budget,cost\n"
        'CMP1,"Spring, 2024 ""Launch""",Paid Search,paid_search,2024-01-01,2024-03-31,'
        "5000,4321.25\n"
        "CMP2,@webinar,,webinar,2024-02-01,,,0.0001\n"
    ),
    "opportunities": (
        "opportunity_id,created_at,amount,currency,account_id,contact_id,name,stage,is_closed,"
        "is_won,close_date,probability,forecast_category,type,source_type,channel,campaign_id,"
        "owner,segment,competitor,loss_reason,term_months\n"
        "O1,2024-01-15T09:00:00Z,1234.5,USD,A1,C1,\"=cmd|' /C calc'!A0\",proposal,false,"
        'false,2024-03-31,0.5,Pipeline,new_business,marketing,paid_search,CMP1,-rep,,'
        '"Comp, Inc",,12\n'
        "O2,2024-01-20T09:00:00Z,99999999.9999,EUR,A2,,Deal ✓,closed_won,true,true,"
        "2024-02-15,1,Closed,expansion,sales,,,,,,,\n"
        "O3,2024-01-21,0,,,,,,,,,0.123456789012345,,,,,,,,,\"Lost: price\ntoo high\",\n"
    ),
    "opportunity_stages": (
        "opportunity_id,stage,entered_at\n"
        "O1,discovery,2024-01-15T09:00:00Z\n"
        "O1,proposal,2024-02-01T10:00:00.5Z\n"
        "O2,closed_won,2024-02-15T00:00:00Z\n"
    ),
    "meetings": (
        "meeting_id,booked_at,kind,contact_id,account_id,scheduled_for,status,channel,owner,"
        "opportunity_id\n"
        "M1,2024-01-08T14:00:00Z,demo,C1,A1,2024-01-10T15:00:00Z,held,Paid Search,=rep,O1\n"
        "M2,2024-02-05T08:00:00Z,Discovery,,,,No Show,,,\n"
    ),
    "touchpoints": (
        "touchpoint_id,occurred_at,contact_id,account_id,kind,channel,source,medium,campaign,"
        "content,campaign_id,Click ID\n"
        "T1,2024-01-05T09:59:00Z,C1,,ad_click,paid_search,google,cpc,\"brand, exact\",,"
        "CMP1,gclid=abc\n"
        ",2024-01-06T10:00:00Z,,A2,web_visit,,+direct,,,\"multi\nline\",,\n"
    ),
    "ad_performance": (
        "date,platform,campaign_id,campaign_name,impressions,clicks,spend,currency,engagements,"
        "conversions\n"
        "2024-01-01,Google Ads,G1,=Brand,1000,50,123.45,USD,,2.5\n"
        "2024-01-02,Google Ads,G1,=Brand,1200,60,150,USD,,3\n"
        "2024-01-01,google_ads,G2,\"Generic, EU\",10,0,0,EUR,,0\n"
    ),
    "ad_account_engagement": (
        "date,platform,account_id,company_domain,company_name,impressions,clicks,engagements\n"
        "2024-01-01,linkedin,A1,,,500,5,20\n"
        "2024-01-01,linkedin,,b.io,,100,1,2\n"
        "2024-01-02,linkedin,,,Nobody GmbH,7,0,0\n"
    ),
    "web_traffic": (
        "date,sessions,source,medium,campaign,content,term,channel,landing_page,visitor_type,"
        "account_id,users,engaged_sessions,bounces,duration_seconds,pageviews,conversions,"
        "scroll_25,scroll_50,scroll_75,scroll_100\n"
        "2024-01-01,10,google,organic,,,,Organic Search,/pricing,new,,8,6,4,123.25,30,1,"
        "9,7,5,3\n"
        "2024-01-01,3,=evil,,,,,,/,returning,A1,3,2,1,0.1,3,0,,,,\n"
        "2024-01-02,1,,,,,,,,new,,,,,,,,,,,\n"
    ),
    "engagement": (
        "date,platform,kind,audience,active_members,impressions,engagements,clicks,mentions,"
        "posts\n"
        "2024-01-01,LinkedIn,social,1500,,20000,300,40,2,5\n"
        "2024-01-01,Slack,community,800,120,,,,,\n"
    ),
    "community_questions": (
        "question_id,asked_at,platform,first_answered_at,answered_by,resolved_at\n"
        "Q1,2024-01-03T10:00:00Z,forum,2024-01-03T11:30:00Z,staff,2024-01-04T09:00:00Z\n"
        "Q2,2024-01-05T10:00:00Z,,,,\n"
    ),
    "email_sends": (
        "email_id,sent_at,name,campaign_id,program,audience,sent,delivered,unique_opens,"
        "unique_clicks,unsubscribes,bounces,spam_reports\n"
        "E1,2024-01-09T07:00:00Z,\"-50% off, today\",CMP1,nurture,prospects,1000,980,400,"
        "50,3,20,1\n"
        "E2,2024-01-16T07:00:00Z,Newsletter #2,,newsletter,customers,,,,,,,\n"
    ),
    "events": (
        "event_id,name,starts_at,kind,campaign_id,registrants,attendees,cost\n"
        "EV1,\"Webinar: \"\"Pipeline\"\" 101\",2024-02-01T16:00:00Z,webinar,CMP2,300,120,"
        "0.5\n"
        "EV2,@Summit Zürich,2024-03-10T08:00:00Z,trade_show,,,,12000\n"
    ),
    "mrr": (
        "month,account_id,mrr,plan,seats\n"
        "2024-01-01,A1,1000,Pro,10\n"
        "2024-02-01,A1,1100.5,+Pro,11\n"
        "2024-02-01,A2,0,,\n"
    ),
    "costs": (
        "month,category,amount,team,channel,campaign_id\n"
        "2024-01-01,ad_spend,1500.75,marketing,paid_search,CMP1\n"
        "2024-01-01,tools,-250,marketing,,\n"
        "2024-01-01,salaries,20000,sales,,\n"
    ),
    "nps_responses": (
        "response_id,responded_at,score,account_id,contact_id,survey,comment\n"
        'N1,2024-01-31T12:00:00Z,9,A1,C1,Q1 NPS,"Great, but =price ""high"""\n'
        "N2,2024-01-31T13:00:00Z,0,,,,\n"
    ),
    "survey_responses": (
        "response_id,responded_at,survey,question,answer,score,contact_id,account_id\n"
        "S1,2024-01-10T10:00:00Z,Onboarding,How did you hear about us?,+a podcast,,C1,A1\n"
        "S1,2024-01-10T10:00:00Z,Onboarding,Rating,,4.5,C1,A1\n"
    ),
    "product_usage": (
        "date,account_id,active_users,seats,key_events\n"
        "2024-01-01,A1,7,10,123\n"
        "2024-01-02,A1,8,10,\n"
    ),
    "fx_rates": (
        "date,currency,rate_to_reporting\n"
        "2024-01-01,EUR,1.0912345678901234\n"
        "2024-01-01,USD,1\n"
    ),
    "targets": (
        "metric,period_start,grain,target,dimension,dimension_value,kind\n"
        "mqls,2024-01-01,month,120,,,okr\n"
        "mqls,2024-01-01,month,40,channel,paid_search,plan\n"
        "pipeline,2024-01-01,quarter,500000.5,,,quota\n"
    ),
    "annotations": (
        "date,label,end_date,kind,channel,description\n"
        "2024-01-15,Pricing change,,pricing,,\"New tiers; see =doc\"\n"
        "2024-02-01,-Tracking outage,2024-02-03,tracking_change,,\n"
    ),
}


def _import(ws: Workspace, table: str, path: Path) -> Any:
    result = ws.import_file(table, path)
    assert result.status in ("imported", "no_changes"), \
        (table, [(i.code, i.message) for i in result.issues])
    assert result.rows_quarantined == 0, (table, [i.message for i in result.issues])
    return result


def _content(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    return ws.query(f'SELECT * EXCLUDE (_import_id) FROM "{table}" ORDER BY ALL')


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("export")
    ws = Workspace.init(folder / "ws")
    for table, text in SOURCES.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        assert _import(ws, table, path).status == "imported"
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def baseline(source: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's content right after the source imports (later tests compare with it)."""
    return {table: _content(source, table) for table in SOURCES}


@pytest.fixture(scope="module")
def exports(source: Workspace, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[tuple[str, str], tuple[Path, int]]:
    """Every table exported once in every format: (table, fmt) -> (file, rows written)."""
    folder = tmp_path_factory.mktemp("exports")
    out = {}
    for table in SOURCES:
        for fmt in FORMATS:
            path = folder / f"{table}.{fmt}"
            out[table, fmt] = path, export_table(source.connection(), source.settings, table,
                                                 path)
    return out


def test_sources_cover_every_canonical_table() -> None:
    assert set(SOURCES) == set(TABLES)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("table", list(SOURCES))
def test_reimport_into_same_workspace_changes_nothing(
        source: Workspace, exports: dict[tuple[str, str], tuple[Path, int]],
        baseline: dict[str, list[tuple[Any, ...]]], table: str, fmt: str) -> None:
    path, written = exports[table, fmt]
    before = baseline[table]
    expected = len(before) if table != "stage_events" else len(
        source.query("SELECT 1 FROM stage_events WHERE NOT _from_contact"))
    assert written == expected > 0
    result = _import(source, table, path)
    assert result.status == "no_changes", result.message
    assert result.rows_unchanged == written
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (0, 0, 0)
    assert _content(source, table) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_into_fresh_workspace_stores_the_same_rows(
        exports: dict[tuple[str, str], tuple[Path, int]],
        baseline: dict[str, list[tuple[Any, ...]]], fmt: str, tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "fresh") as fresh:
        for table in SOURCES:
            assert _import(fresh, table, exports[table, fmt][0]).status == "imported"
        for table in SOURCES:
            assert _content(fresh, table) == baseline[table], table


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_csv_is_exactly_the_canonical_text(
        exports: dict[tuple[str, str], tuple[Path, int]]) -> None:
    """Hand-written expectation: ISO UTC timestamps, escaped text, plain numbers, extras."""
    text = exports["accounts", "csv"][0].read_text(encoding="utf-8")
    assert text == (
        "account_id,name,domain,industry,employee_count,segment,region,country,icp_tier,"
        "is_target_account,created_at,owner,extras\n"
        'A1,"\'=HYPERLINK(""http://x"",""y"")",acme.com,Software,250,SMB,EMEA,Deutschland,A,'
        'true,2024-01-05T10:00:00Z,"Smith, Jane","{""Tier Note"":""=1+2""}"\n'
        "A2,'+1 Corp,b.io,,,'-Enterprise,,,,false,2024-02-01T12:30:15.25Z,'@owner,\n"
        'A3,"Line\nbreak ""quoted""",,,,,,Österreich 🚀,,,,\' =SUM(A1),\n'
    )


def test_csv_numbers_stay_numbers_and_keys_stay_empty(
        exports: dict[tuple[str, str], tuple[Path, int]]) -> None:
    rows = _csv_rows(exports["costs", "csv"][0])
    assert rows == [
        ["month", "category", "amount", "team", "channel", "campaign_id"],
        ["2024-01-01", "ad_spend", "1500.75", "marketing", "paid_search", "CMP1"],
        ["2024-01-01", "salaries", "20000", "sales", "", ""],
        ["2024-01-01", "tools", "-250", "marketing", "", ""],
    ]
    contacts = {r[0]: r for r in _csv_rows(exports["contacts", "csv"][0])}
    header = contacts["contact_id"]
    c1, c2, c3 = (dict(zip(header, contacts[k], strict=True)) for k in ("C1", "C2", "C3"))
    assert (c1["lead_score"], c1["fit_score"], c1["job_title"]) == ("55.5", "-3", "'-VP, Sales")
    assert c2["lead_score"] == "0.30000000000000004"
    assert c2["self_reported_source"] == "'--"
    assert c3["self_reported_source"] == "'\t@tab"
    assert c1["mql_at"] == "2024-01-10T08:00:00.123Z"
    # a contact's own stage columns, after the canonical ones, then extras
    assert header[-6:] == ["lead_at", "mql_at", "sql_at", "opportunity_at", "customer_at",
                           "extras"]
    assert [c2[f"{s}_at"] for s in ("lead", "mql", "sql", "opportunity", "customer")] == \
        ["2024-02-01T00:00:00Z", "", "2024-02-03T09:30:00Z", "", ""]
    # C3's lead entry came from stage_events, not from its row: it is not a contact column
    assert c3["lead_at"] == ""


def test_stage_events_export_holds_only_rows_not_owned_by_contacts(
        exports: dict[tuple[str, str], tuple[Path, int]]) -> None:
    assert _csv_rows(exports["stage_events", "csv"][0]) == [
        ["contact_id", "stage", "entered_at"],
        ["C1", "mql", "2024-01-12T00:00:00Z"],
        ["C1", "sql", "2024-01-20T00:00:00Z"],
        ["C3", "lead", "2024-02-03T00:00:00Z"],
    ]


def test_no_internal_columns_and_no_extras_column_without_extras(
        source: Workspace) -> None:
    con, settings = source.connection(), source.settings
    assert export_columns(con, settings, "stage_events") == ["contact_id", "stage", "entered_at"]
    assert export_columns(con, settings, "costs") == TABLES["costs"].column_names
    assert export_columns(con, settings, "touchpoints")[-1] == "extras"


def test_xlsx_text_is_never_a_formula_and_numbers_stay_numbers(
        exports: dict[tuple[str, str], tuple[Path, int]]) -> None:
    def sheet(table: str) -> dict[str, dict[str, Any]]:
        wb = openpyxl.load_workbook(exports[table, "xlsx"][0])
        ws = wb.worksheets[0]
        cells = list(ws.iter_rows())
        header = [c.value for c in cells[0]]
        out = {str(r[0].value): dict(zip(header, r, strict=True)) for r in cells[1:]}
        wb.close()
        return out

    accounts = sheet("accounts")
    name = accounts["A1"]["name"]
    assert name.data_type == "s"
    assert name.value == "'=HYPERLINK(\"http://x\",\"y\")"
    assert accounts["A2"]["owner"].value == "'@owner"
    assert accounts["A3"]["owner"].value == "' =SUM(A1)"
    assert accounts["A1"]["employee_count"].data_type == "n"
    assert accounts["A1"]["employee_count"].value == 250
    assert accounts["A1"]["created_at"].value == "2024-01-05T10:00:00Z"
    assert accounts["A1"]["is_target_account"].value == "true"
    wb = openpyxl.load_workbook(exports["costs", "xlsx"][0])
    amounts = {r[1].value: r[2] for r in wb.worksheets[0].iter_rows(min_row=2)}
    wb.close()
    assert amounts["tools"].data_type == "n"
    assert amounts["tools"].value == -250
    contacts = sheet("contacts")
    # 0.30000000000000004 needs 17 digits, more than a spreadsheet number keeps: text instead
    assert contacts["C2"]["lead_score"].value == "0.30000000000000004"
    assert contacts["C1"]["lead_score"].value == 55.5
    assert contacts["C1"]["fit_score"].value == -3


def test_parquet_is_typed_and_escapes_only_what_the_import_would_change(
        exports: dict[tuple[str, str], tuple[Path, int]]) -> None:
    con = duckdb.connect()
    path = str(exports["accounts", "parquet"][0])
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             "read_parquet(?))", [path]).fetchall())
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["employee_count"] == "BIGINT"
    assert types["is_target_account"] == "BOOLEAN"
    names = dict(con.execute("SELECT account_id, name FROM read_parquet(?)", [path]).fetchall())
    assert names["A1"] == '=HYPERLINK("http://x","y")'
    owners = dict(con.execute("SELECT account_id, owner FROM read_parquet(?)", [path]).fetchall())
    assert owners == {"A1": "Smith, Jane", "A2": "@owner", "A3": "' =SUM(A1)"}
    contacts = str(exports["contacts", "parquet"][0])
    srs = dict(con.execute("SELECT contact_id, self_reported_source FROM read_parquet(?)",
                           [contacts]).fetchall())
    assert srs["C2"] == "'--"
    costs = str(exports["costs", "parquet"][0])
    amount = con.execute("SELECT amount FROM read_parquet(?) WHERE category = 'tools'",
                         [costs]).fetchone()
    assert amount == (Decimal("-250.0000"),)
    con.close()


def test_contact_with_several_owned_entries_exports_the_earliest(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        src = tmp_path / "contacts.csv"
        src.write_text("contact_id,created_at,lead_at\nC1,2024-01-01,2024-01-02T00:00:00Z\n",
                       encoding="utf-8")
        _import(ws, "contacts", src)
        ws.connection().execute(
            "INSERT INTO stage_events VALUES ('C1', 'lead', TIMESTAMPTZ '2024-01-01 12:00:00+00',"
            " NULL, 99, true)")
        out = tmp_path / "out.csv"
        assert export_table(ws.connection(), ws.settings, "contacts", out) == 1
        row = dict(zip(*_csv_rows(out), strict=True))
        assert row["lead_at"] == "2024-01-01T12:00:00Z"


def test_timestamps_are_utc_whatever_the_workspace_zone(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    Workspace.init(folder).close()
    settings = folder / SETTINGS_FILE
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        'timezone = "UTC"', 'timezone = "America/New_York"'), encoding="utf-8")
    with Workspace.open(folder) as ws:
        assert ws.settings.timezone == "America/New_York"
        src = tmp_path / "c.csv"
        src.write_text("contact_id,created_at\nC1,2024-07-01 08:00\n", encoding="utf-8")
        _import(ws, "contacts", src)
        out = tmp_path / "c_out.csv"
        export_table(ws.connection(), ws.settings, "contacts", out)
        assert _csv_rows(out)[1][1] == "2024-07-01T12:00:00Z"  # 08:00 EDT
        for fmt in FORMATS:
            again = tmp_path / f"again.{fmt}"
            export_table(ws.connection(), ws.settings, "contacts", again)
            assert _import(ws, "contacts", again).status == "no_changes", fmt
        stored = ws.query("SELECT created_at FROM contacts")[0][0]
        assert stored == dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)


def test_unknown_format_is_a_usage_error(source: Workspace, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.csv, \.xlsx or \.parquet"):
        export_table(source.connection(), source.settings, "accounts", tmp_path / "a.json")
    with pytest.raises(UsageError, match="csv, xlsx or parquet"):
        export_table(source.connection(), source.settings, "accounts", tmp_path / "a.csv",
                     fmt="json")
    assert not list(tmp_path.iterdir())


def test_explicit_format_overrides_the_suffix(source: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "accounts.dat"
    assert export_table(source.connection(), source.settings, "accounts", out,
                        fmt="parquet") == 3
    assert out.read_bytes()[:4] == b"PAR1"
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.dat"]


def test_parquet_timestamps_round_trip_in_a_zone_with_second_offsets(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    Workspace.init(folder).close()
    settings = folder / SETTINGS_FILE
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        'timezone = "UTC"', 'timezone = "Africa/Monrovia"'), encoding="utf-8")
    with Workspace.open(folder) as ws:
        src = tmp_path / "c.csv"
        src.write_text("contact_id,created_at\nC1,1960-01-01T00:00:00Z\n", encoding="utf-8")
        _import(ws, "contacts", src)
        out = tmp_path / "c.parquet"
        export_table(ws.connection(), ws.settings, "contacts", out)
        assert _import(ws, "contacts", out).status == "no_changes"
