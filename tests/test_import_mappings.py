"""Mappings (TOML files and --map options) and the mapping files kept in mappings/, run on real
exports copied from public repositories (tests/data/samples, with their licences) and on a
Google Ads "Campaign report" written in the layout the samples README describes.

The expected numbers were counted by hand from the files.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import (
    DATA,
    MAPPINGS,
    SAMPLES,
    FileWriter,
    codes,
    issue,
    mapping,
    mapping_file,
    quarantine,
    rows,
)
from funnelboard import services
from funnelboard.errors import ConfigError, UsageError
from funnelboard.ingest.mapping import load_mapping
from funnelboard.workspace import Workspace

UTC = dt.UTC
POWERBI = SAMPLES / "salesforce-export-powerbi-demo"
SFDC = SAMPLES / "salesforce-export-sfdc-assets"


def test_every_sample_folder_carries_its_licence() -> None:
    for folder in (POWERBI, SFDC):
        licence = [p for p in folder.iterdir() if p.name.startswith("LICENSE")]
        assert licence and licence[0].stat().st_size > 500, folder


@pytest.mark.parametrize("path", sorted(MAPPINGS.glob("*.toml")), ids=lambda p: p.name)
def test_mapping_files_load_and_fit_their_table(path: Path) -> None:
    from funnelboard.ingest.pipeline import stage_columns
    from funnelboard.schema import get_table
    from funnelboard.settings import Settings

    m = load_mapping(path)
    assert m.table and m.name
    table = get_table(m.table)
    m.check(table, extra_columns={c.name for c in stage_columns(table, Settings())})


# -- the mapping format -----------------------------------------------------------------------

def test_rename_values_constants_defaults(ws: Workspace, write_file: FileWriter) -> None:
    m = mapping(
        rename={"Record ID": "contact_id", "Create Date": ["created_at", "lead_at"],
                "Original Source": "source", "Notes": ""},
        values={"source": {"ORGANIC_SEARCH": "Organic search", "paid_search": "Paid search"}},
        constants={"country": "DE"},
        defaults={"owner": "unassigned"},
    )
    result = ws.import_file("contacts", write_file(
        "Record ID,Create Date,Original Source,Notes,Owner\n"
        "101,2024-01-05,ORGANIC_SEARCH,call back,\n102,2024-01-06,PAID_SEARCH,,Kim\n"), mapping=m)
    assert issue(result, "column_ignored").column == "Notes"
    assert rows(ws, "contacts", "contact_id, source, country, owner, extras") == [
        ("101", "Organic search", "DE", "unassigned", None),
        ("102", "Paid search", "DE", "Kim", None)]
    assert rows(ws, "stage_events", "contact_id, stage, entered_at") == [
        ("101", "lead", dt.datetime(2024, 1, 5, tzinfo=UTC)),
        ("102", "lead", dt.datetime(2024, 1, 6, tzinfo=UTC))]


def test_map_options_override_the_mapping_file(ws: Workspace, write_file: FileWriter,
                                               tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('[mapping]\ntable = "accounts"\n[rename]\nKey = "account_id"\n'
                    'Label = "name"\n', encoding="utf-8")
    m = services.build_mapping(toml, ["Label=industry", "Title=name"])
    ws.import_file("accounts", write_file("Key,Label,Title\na1,Software,Acme\n"), mapping=m)
    assert rows(ws, "accounts", "account_id, name, industry") == [("a1", "Acme", "Software")]


def test_header_row_and_delimiter_options(ws: Workspace, write_file: FileWriter) -> None:
    text = "account_id|name\nnot|the header\nid|title\na1|Acme\n"
    m = mapping(mapping={"header_row": 3, "delimiter": "|"},
                rename={"id": "account_id", "title": "name"})
    result = ws.import_file("accounts", write_file(text), mapping=m)
    assert result.dialect.endswith("header on line 3")
    assert rows(ws, "accounts", "account_id, name") == [("a1", "Acme")]


def test_two_columns_claiming_one_target_reject_the_file(ws: Workspace,
                                                         write_file: FileWriter) -> None:
    result = ws.import_file("accounts", write_file("Id,account_id\na1,a2\n"),
                            mapping=mapping(rename={"Id": "account_id"}))
    assert result.status == "rejected"
    assert "'Id' and 'account_id' both map to 'account_id'" in issue(
        result, "file_rejected").message


@pytest.mark.parametrize(("doc", "error", "words"), [
    ({"mapping": {"colour": "x"}}, ConfigError, "mapping.colour"),
    ({"renames": {}}, ConfigError, "one of the sections"),
    ({"mapping": {"header_row": 0}}, ConfigError, "a line number from 1"),
    ({"mapping": {"decimal": ";"}}, ConfigError, "'.' or ','"),
    ({"mapping": {"timezone": "Mars/Olympus"}}, ConfigError, "an IANA time zone"),
    ({"rename": {"X": 3}}, ConfigError, "a column name or a list"),
])
def test_bad_mapping_documents(doc: dict[str, object], error: type[Exception],
                               words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(".", r"\.")):
        mapping(**doc)


def test_mapping_targets_must_be_columns_of_the_table(ws: Workspace,
                                                      write_file: FileWriter) -> None:
    path = write_file("a,b\n1,2\n")
    with pytest.raises(UsageError, match="Did you mean 'employee_count'"):
        ws.import_file("accounts", path, mapping=mapping(rename={"a": "employe_count"}))
    with pytest.raises(UsageError, match="is for the table contacts, not accounts"):
        ws.import_file("accounts", path, mapping=mapping(mapping={"table": "contacts"}))
    with pytest.raises(UsageError, match=r"\[constants\] names 'colour'"):
        ws.import_file("accounts", path, mapping=mapping(constants={"colour": "red"}))
    assert ws.query("SELECT count(*) FROM _imports") == [(0,)]  # usage errors write nothing


def test_unreadable_mapping_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[rename\n", encoding="utf-8")
    with pytest.raises(UsageError, match="could not be read"):
        load_mapping(bad)


# -- Salesforce Opportunity (Excel re-save: MM/DD/YY, 12-hour clock, TRUE/FALSE, 0-100) -------

def test_salesforce_opportunity_excel_resave(ws: Workspace) -> None:
    result = ws.import_file("opportunities", POWERBI / "Opportunity.csv",
                            mapping=mapping_file("salesforce-opportunity.toml"),
                            as_of=dt.date(2026, 3, 10))
    assert result.status == "imported"
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (36, 31, 5)
    # the five deals created in the org without an Amount stay visible, on their lines
    assert quarantine(ws) == [(line, "amount", None, "missing_value") for line in range(33, 38)]
    assert issue(result, "missing_value").message.startswith("'Amount' is required but empty")
    assert rows(ws, "opportunities", "count(*), count(*) FILTER (is_won), "
                "count(*) FILTER (is_closed AND NOT is_won), sum(amount), "
                "sum(amount) FILTER (is_won)", "1") == [
        (31, 12, 6, Decimal("5760000"), Decimal("2815000"))]
    assert ws.query(
        "SELECT name, stage, amount, close_date, is_won, is_closed, probability, created_at, "
        "account_id, extras->>'LeadSource' FROM opportunities "
        "WHERE opportunity_id = '006bm00000LKJNPAA5'") == [(
            "Express Logistics Standby Generator", "Closed Won", Decimal("220000"),
            dt.date(2024, 2, 3), True, True, 1.0, dt.datetime(2026, 2, 23, tzinfo=UTC),
            "001bm00001ZL8UFAA1", "Trade Show")]
    assert ws.query("SELECT stage, amount, is_won, is_closed, probability FROM opportunities "
                    "WHERE opportunity_id = '006bm00000LKJNTAA5'") == [
        ("Closed Lost", Decimal("120000"), False, True, 0.0)]
    assert ws.query("SELECT probability FROM opportunities "
                    "WHERE opportunity_id = '006bm00000LKJNqAAP'") == [(0.2,)]
    # Probability is read as a percentage column, and said so
    assert issue(result, "percent_read").count == 31
    assert "ExpectedRevenue" in {i.column for i in result.issues if i.code == "column_ignored"}


def test_salesforce_opportunity_times_are_local_to_the_exporting_user(ws: Workspace) -> None:
    ws.import_file("opportunities", POWERBI / "Opportunity.csv",
                   mapping=mapping_file("salesforce-opportunity.toml"),
                   timezone="America/Los_Angeles")
    assert ws.query("SELECT created_at FROM opportunities "
                    "WHERE opportunity_id = '006bm00000LKJNPAA5'") == [
        (dt.datetime(2026, 2, 23, 8, tzinfo=UTC),)]  # midnight in Los Angeles


def test_salesforce_opportunity_data_loader_export(ws: Workspace) -> None:
    """The same mapping on an API-name export with a BOM, ISO times and 1/empty booleans."""
    result = ws.import_file("opportunities", SFDC / "Opportunity.csv",
                            mapping=mapping_file("salesforce-opportunity.toml"))
    assert result.dialect == "CSV, UTF-8 with BOM, comma-separated, header on line 1"
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (50, 50, 0)
    assert ws.query("SELECT count(*) FILTER (is_won), count(*) FILTER (is_closed AND NOT is_won),"
                    " count(*) FILTER (NOT is_closed), sum(amount) FILTER (is_won) "
                    "FROM opportunities") == [(12, 3, 35, Decimal("10542562.98"))]
    assert ws.query("SELECT amount, close_date, is_won, is_closed, probability, stage, created_at "
                    "FROM opportunities WHERE opportunity_id = '006Ec00000AieKFIAZ'") == [(
                        Decimal("1124741.15"), dt.date(2024, 11, 10), False, False, 0.1,
                        "Qualification", dt.datetime(2024, 1, 22, 16, 14, 25, tzinfo=UTC))]


# -- Salesforce OpportunityHistory -> opportunity_stages --------------------------------------

def test_salesforce_opportunity_history(ws: Workspace) -> None:
    ws.import_file("opportunities", POWERBI / "Opportunity.csv",
                   mapping=mapping_file("salesforce-opportunity.toml"))
    result = ws.import_file("opportunity_stages", POWERBI / "OpportunityHistory.csv",
                            mapping=mapping_file("salesforce-opportunity-history.toml"))
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (48, 48, 0)
    assert ws.query("SELECT count(*), count(DISTINCT opportunity_id) FROM opportunity_stages"
                    ) == [(48, 36)]
    # a deal edited from Closed Won to Closed Lost keeps both entries, in time order
    assert ws.query("SELECT stage, entered_at, extras->>'Amount' FROM opportunity_stages "
                    "WHERE opportunity_id = '006bm00000LKJNTAA5' ORDER BY entered_at") == [
        ("Closed Won", dt.datetime(2026, 2, 23, 20, 55, tzinfo=UTC), "120000"),
        ("Closed Lost", dt.datetime(2026, 3, 7, 21, 0, tzinfo=UTC), "120000")]
    # the five deals quarantined from Opportunity.csv (no Amount) are unknown references
    warning = issue(result, "unknown_reference")
    assert (warning.count, warning.value) == (11, "006bm00000LKdM8AAL")
    assert ws.query("SELECT stage, count(*) FROM opportunity_stages GROUP BY ALL "
                    "ORDER BY 2 DESC, 1 LIMIT 2") == [("Closed Won", 19), ("Closed Lost", 8)]


# -- Salesforce Lead -> contacts --------------------------------------------------------------

def test_salesforce_lead_export(ws: Workspace) -> None:
    result = ws.import_file("contacts", SFDC / "Lead.csv",
                            mapping=mapping_file("salesforce-lead.toml"),
                            timezone="America/New_York")
    assert result.status == "imported"
    assert result.dialect == "CSV, UTF-8 with BOM, comma-separated, header on line 1"
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (60, 60, 0)
    # +0000 is an offset: kept exact whatever --timezone says
    assert ws.query("SELECT created_at, email, source, owner, account_id, job_title, "
                    "extras->>'Status', extras->>'Company' FROM contacts "
                    "WHERE contact_id = '00QEc00000BBaeXMAT'") == [(
                        dt.datetime(2024, 1, 22, 20, 36, 47, tzinfo=UTC),
                        "william.lee@example.com", "Online Form", "005Ec000004oBPNIA2", None,
                        None, "Qualified", "001Ec00000GINb1IAH")]
    assert ws.query("SELECT source, count(*) FROM contacts GROUP BY ALL ORDER BY ALL") == [
        ("Cold Call", 25), ("Online Form", 13), ("Referral", 22)]
    # every lead entered the lead stage at creation; none is converted, so no SQL entries
    assert ws.query("SELECT stage, count(*), min(entered_at) FROM stage_events GROUP BY ALL"
                    ) == [("lead", 60, dt.datetime(2024, 1, 22, 20, 36, 47, tzinfo=UTC))]
    # the JSON address cell and the other Lead fields stay in extras, as text
    assert ws.query("SELECT json_extract_string(extras->>'Address', '$.city') FROM contacts "
                    "WHERE contact_id = '00QEc00000BBaeXMAT'") == [("East Kellyburgh",)]


def test_salesforce_lead_conversion_date_is_the_sql_entry(ws: Workspace,
                                                         write_file: FileWriter) -> None:
    text = ("Id,CreatedDate,Email,IsConverted,ConvertedDate,ConvertedAccountId\n"
            "00Q1,2024-01-22T20:36:47.000+0000,a@example.com,1,2024-02-05,001A\n"
            "00Q2,2024-01-23T09:00:00.000+0000,b@example.com,,,\n")
    ws.import_file("contacts", write_file(text), mapping=mapping_file("salesforce-lead.toml"),
                   timezone="Europe/Berlin")
    assert rows(ws, "contacts", "contact_id, account_id") == [("00Q1", "001A"), ("00Q2", None)]
    assert rows(ws, "stage_events", "contact_id, stage, entered_at") == [
        ("00Q1", "lead", dt.datetime(2024, 1, 22, 20, 36, 47, tzinfo=UTC)),
        ("00Q1", "sql", dt.datetime(2024, 2, 4, 23, tzinfo=UTC)),  # Berlin midnight
        ("00Q2", "lead", dt.datetime(2024, 1, 23, 9, tzinfo=UTC))]


# -- Google Ads Campaign report -> ad_performance ---------------------------------------------

GOOGLE = "google-ads-campaign-report.toml"


@pytest.mark.parametrize("name", ["google_ads_campaign_report.csv",
                                  "google_ads_campaign_report_excel.csv"])
def test_google_ads_campaign_report(ws: Workspace, name: str) -> None:
    result = ws.import_file("ad_performance", DATA / name, mapping=mapping_file(GOOGLE))
    assert result.status == "imported"
    assert issue(result, "summary_rows_skipped").count == 5
    assert result.rows_accepted == 5
    # hand-summed from the file, equal to its own "Total: Account" row
    assert ws.query("SELECT count(*), sum(impressions), sum(clicks), sum(spend), "
                    "sum(conversions), min(date), max(date) FROM ad_performance") == [
        (5, 1815436, 24454, Decimal("100431.64"), 9722.8, dt.date(2024, 7, 1),
         dt.date(2024, 7, 2))]
    assert ws.query("SELECT platform, campaign_id, campaign_name, impressions, clicks, spend, "
                    "currency, conversions, extras->>'Campaign type' FROM ad_performance "
                    "WHERE date = '2024-07-01' ORDER BY campaign_id") == [
        ("google_ads", "Brand Search", "Brand Search", 795836, 12004, Decimal("50252.14"),
         "USD", 4838.8, "Search"),
        ("google_ads", "Display Remarketing", "Display Remarketing", 120000, 300,
         Decimal("99.50"), "USD", 3.0, "Display"),
        # " --" means not applicable: empty, never 0
        ("google_ads", "Old Video", "Old Video", None, None, Decimal("0"), "USD", None,
         "Video")]
    # ratios are recomputed, never imported: not even kept in extras
    assert ws.query("SELECT DISTINCT json_keys(extras) FROM ad_performance") == [
        (["Budget", "Campaign status", "Campaign type", "Interactions"],)]
    assert "percent_read" not in codes(result)


def test_google_ads_report_without_a_day_column_is_rejected(ws: Workspace,
                                                            write_file: FileWriter) -> None:
    text = ('Campaign report\n"July 1, 2024 - July 31, 2024"\n'
            'Campaign,Impr.,Clicks,Cost\nBrand,"1,000",10,5.00\nTotal: Account,"1,000",10,5.00\n')
    result = ws.import_file("ad_performance", write_file(text), mapping=mapping_file(GOOGLE))
    assert result.status == "rejected"
    assert "required ad_performance column(s) date" in issue(result, "file_rejected").message
    # the documented way out for a one-day report: a constant date
    m = mapping_file(GOOGLE)
    m.constants["date"] = "2024-07-31"
    ok = ws.import_file("ad_performance", write_file(text), mapping=m)
    assert ok.status == "imported"
    assert rows(ws, "ad_performance", "date, campaign_id, impressions") == [
        (dt.date(2024, 7, 31), "Brand", 1000)]


def test_google_ads_report_with_a_campaign_id_column(ws: Workspace,
                                                     write_file: FileWriter) -> None:
    text = ("Day,Campaign,Campaign ID,Impr.,Cost\n2024-07-01,Brand,12345,100,1.00\n")
    clash = ws.import_file("ad_performance", write_file(text), mapping=mapping_file(GOOGLE))
    assert clash.status == "rejected"
    assert "both map to 'campaign_id'" in issue(clash, "file_rejected").message
    m = services.build_mapping(MAPPINGS / GOOGLE,
                               ["Campaign ID=campaign_id", "Campaign=campaign_name"])
    ws.import_file("ad_performance", write_file(text), mapping=m)
    assert rows(ws, "ad_performance", "campaign_id, campaign_name") == [("12345", "Brand")]


def test_google_ads_overlapping_downloads_replace_not_double_count(
        ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("ad_performance", DATA / "google_ads_campaign_report.csv",
                   mapping=mapping_file(GOOGLE))
    second = ("Campaign report\n\"July 2, 2024 - July 3, 2024\"\n"
              "Day,Campaign,Impr.,Clicks,Cost,Currency code\n"
              "2024-07-02,Brand Search,\"801,100\",\"11,900\",49980.00,USD\n"
              "2024-07-03,Brand Search,\"10,000\",100,500.00,USD\n"
              "Total: Account,,\"811,100\",\"12,000\",50480.00,USD\n")
    result = ws.import_file("ad_performance", write_file(second), mapping=mapping_file(GOOGLE))
    # July 2 and 3 replaced: Display Remarketing's July 2 row is not in the new download
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (1, 1, 1)
    assert ws.query("SELECT date, sum(impressions) FROM ad_performance GROUP BY ALL "
                    "ORDER BY ALL") == [(dt.date(2024, 7, 1), 915836),
                                        (dt.date(2024, 7, 2), 801100),
                                        (dt.date(2024, 7, 3), 10000)]
