"""Writing accepted rows: entity tables upsert by key (latest import wins, later row in a file
wins), contact-owned stage entries follow their contact row, and additive tables sum rows that
share a key and replace the stored rows of the file's date range within its scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import FileWriter, issue, rows
from funnelboard.errors import UsageError
from funnelboard.workspace import Workspace

UTC = dt.UTC


def _d(day: int, month: int = 1) -> dt.date:
    return dt.date(2024, month, day)


def _t(day: int, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, tzinfo=UTC)


# -- entity tables ----------------------------------------------------------------------------

def test_latest_import_wins_and_other_rows_stay(ws: Workspace, write_file: FileWriter) -> None:
    first = ws.import_file("accounts", write_file(
        "account_id,name,industry\na1,Acme,Software\na2,Beta,Retail\n"))
    assert (first.rows_inserted, first.rows_updated) == (2, 0)
    second = ws.import_file("accounts", write_file(
        "account_id,name,industry\na2,Beta Group,Retail\na3,Gamma,\n"))
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (1, 1, 0)
    assert second.message == "1 inserted, 1 updated, 0 unchanged"
    assert rows(ws, "accounts", "account_id, name, industry, _import_id") == [
        ("a1", "Acme", "Software", 1), ("a2", "Beta Group", "Retail", 2),
        ("a3", "Gamma", None, 2)]


def test_an_emptied_cell_clears_the_stored_value(ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file("account_id,name,industry\na1,Acme,Software\n"))
    ws.import_file("accounts", write_file("account_id,name,industry\na1,Acme,\n"))
    assert rows(ws, "accounts", "industry") == [(None,)]


def test_a_column_missing_from_the_file_is_stored_empty(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    """A row is replaced whole: the latest import's row is the row."""
    ws.import_file("accounts", write_file("account_id,name,industry\na1,Acme,Software\n"))
    result = ws.import_file("accounts", write_file("account_id,name\na1,Acme\n"))
    assert result.rows_updated == 1
    assert rows(ws, "accounts", "name, industry") == [("Acme", None)]


def test_later_row_in_a_file_wins(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,email,lead_at\n"
        "c1,2024-01-01,old@x.com,2024-01-01\nc1,2024-01-02,new@x.com,2024-01-02\n"))
    assert issue(result, "duplicate_key").row == 3
    assert result.rows_inserted == 1
    assert rows(ws, "contacts", "contact_id, created_at, email") == [
        ("c1", _t(2), "new@x.com")]
    assert rows(ws, "stage_events", "stage, entered_at") == [("lead", _t(2))]


def test_optional_key_columns_are_empty_text_so_keys_match(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    """targets: dimension/dimension_value empty in one file, absent in the other: same key."""
    ws.import_file("targets", write_file(
        "metric,period_start,grain,target,dimension,dimension_value\n"
        "leads,2024-01-01,month,10,,\nleads,2024-01-01,month,4,channel,paid_search\n"))
    result = ws.import_file("targets", write_file(
        "metric,period_start,grain,target\nleads,2024-01-01,month,12\n"))
    assert (result.rows_inserted, result.rows_updated) == (0, 1)
    assert rows(ws, "targets", "dimension, dimension_value, target") == [
        ("", "", 12.0), ("channel", "paid_search", 4.0)]
    assert ws.query("SELECT count(*) FROM targets WHERE dimension IS NULL") == [(0,)]


def test_touchpoints_without_id_are_keyed_by_a_hash_of_the_row(ws: Workspace,
                                                               write_file: FileWriter) -> None:
    text = "occurred_at,contact_id,kind\n2024-01-01,c1,web_visit\n2024-01-02,c1,web_visit\n"
    ws.import_file("touchpoints", write_file(text))
    again = ws.import_file("touchpoints", write_file(text))
    assert again.status == "no_changes"
    ids = [r[0] for r in rows(ws, "touchpoints", "touchpoint_id")]
    assert len(ids) == 2 and all(i.startswith("h") and len(i) == 33 for i in ids)


# -- stage entries owned by a contact row -----------------------------------------------------

CONTACTS = ("contact_id,created_at,lead_at,mql_at,sql_at\n"
            "c1,2024-01-01,2024-01-01,2024-01-05,2024-01-09\n"
            "c2,2024-01-02,2024-01-02,2024-01-06,\n")


def _stages(ws: Workspace) -> list[tuple[object, ...]]:
    return rows(ws, "stage_events", "contact_id, stage, entered_at, _from_contact")


def test_wide_stage_columns_become_stage_events(ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("contacts", write_file(CONTACTS))
    assert _stages(ws) == [
        ("c1", "lead", _t(1), True), ("c1", "mql", _t(5), True), ("c1", "sql", _t(9), True),
        ("c2", "lead", _t(2), True), ("c2", "mql", _t(6), True)]


def test_reimport_replaces_a_contacts_stage_entries(ws: Workspace,
                                                    write_file: FileWriter) -> None:
    ws.import_file("contacts", write_file(CONTACTS))
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,lead_at,mql_at,sql_at\n"
        "c1,2024-01-01,2024-01-01,2024-01-07,\n"))  # mql moved, sql emptied
    # only the stage cells changed, and that is a change of the contact
    assert (result.status, result.rows_updated) == ("imported", 1)
    assert _stages(ws) == [
        ("c1", "lead", _t(1), True), ("c1", "mql", _t(7), True),
        ("c2", "lead", _t(2), True), ("c2", "mql", _t(6), True)]


def test_a_file_without_a_stage_column_leaves_those_entries(ws: Workspace,
                                                            write_file: FileWriter) -> None:
    ws.import_file("contacts", write_file(CONTACTS))
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,email,lead_at\nc1,2024-01-01,a@x.com,2024-01-01\n"))
    assert result.rows_updated == 1  # the email changed
    assert _stages(ws) == [
        ("c1", "lead", _t(1), True), ("c1", "mql", _t(5), True), ("c1", "sql", _t(9), True),
        ("c2", "lead", _t(2), True), ("c2", "mql", _t(6), True)]
    unchanged = ws.import_file("contacts", write_file(
        "contact_id,created_at,email\nc1,2024-01-01,a@x.com\n"))
    assert unchanged.status == "no_changes"
    assert len(_stages(ws)) == 5


def test_direct_stage_events_are_added_and_survive_contact_reimports(
        ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("contacts", write_file(CONTACTS))
    ws.import_file("stage_events", write_file(
        "contact_id,stage,entered_at\nc1,mql,2024-01-05\nc1,mql,2024-03-01\nc2,sql,2024-01-20\n"))
    ws.import_file("contacts", write_file(
        "contact_id,created_at,lead_at,mql_at,sql_at\nc1,2024-01-01,2024-01-01,,\n"))
    assert _stages(ws) == [
        ("c1", "lead", _t(1), True),
        ("c1", "mql", _t(5), False),    # the direct row stays, though the contact's cell emptied
        ("c1", "mql", _t(1, 3), False),
        ("c2", "lead", _t(2), True), ("c2", "mql", _t(6), True),
        ("c2", "sql", _t(20), False)]


def test_stage_event_reimport_is_an_upsert_by_its_whole_key(ws: Workspace,
                                                            write_file: FileWriter) -> None:
    text = "contact_id,stage,entered_at\nc1,lead,2024-01-01\nc1,MQL,2024-01-02\n"
    ws.import_file("stage_events", write_file(text))
    again = ws.import_file("stage_events", write_file(text))
    assert again.status == "no_changes"
    assert rows(ws, "stage_events", "stage") == [("lead",), ("mql",)]


# -- additive tables --------------------------------------------------------------------------

AD_HEADER = "date,platform,campaign_id,impressions,clicks,spend\n"


def _ads(ws: Workspace) -> list[tuple[object, ...]]:
    return rows(ws, "ad_performance", "date, platform, campaign_id, impressions, clicks, spend")


def test_rows_with_one_key_in_a_file_are_summed(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-01,google_ads,g1,100,10,5\n2024-01-01,google_ads,g1,50,5,2.5\n"
        "2024-01-01,Google Ads,g1,1,,\n2024-01-02,google_ads,g1,10,1,1\n"))
    summed = issue(result, "rows_summed")
    assert summed.count == 2 and summed.level == "info"
    assert (result.rows_accepted, result.rows_inserted) == (4, 2)
    assert _ads(ws) == [
        (_d(1), "google_ads", "g1", 151, 15, Decimal("7.5")),
        (_d(2), "google_ads", "g1", 10, 1, Decimal("1"))]


def test_overlapping_date_range_replaces_within_the_platform(ws: Workspace,
                                                            write_file: FileWriter) -> None:
    ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-01,google_ads,g1,100,10,5\n2024-01-02,google_ads,g1,10,1,1\n"
        "2024-01-03,google_ads,g1,10,1,1\n"))
    ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-02,linkedin,l1,7,1,3\n"))
    result = ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-02,google_ads,g1,20,2,2\n2024-01-04,google_ads,g2,20,2,2\n"))
    # Jan 2-4 of google_ads replaced: g1 Jan 2 updated, g1 Jan 3 gone, g2 Jan 4 new
    assert (result.rows_inserted, result.rows_updated, result.rows_removed) == (1, 1, 1)
    assert result.message == "1 inserted, 1 updated, 0 unchanged, 1 replaced"
    assert _ads(ws) == [
        (_d(1), "google_ads", "g1", 100, 10, Decimal("5")),    # before the range: kept
        (_d(2), "google_ads", "g1", 20, 2, Decimal("2")),
        (_d(2), "linkedin", "l1", 7, 1, Decimal("3")),         # other platform: kept
        (_d(4), "google_ads", "g2", 20, 2, Decimal("2"))]


def test_engagement_scope_is_platform_and_kind(ws: Workspace, write_file: FileWriter) -> None:
    header = "date,platform,kind,impressions\n"
    ws.import_file("engagement", write_file(
        header + "2024-01-01,linkedin,social,10\n2024-01-01,linkedin,community,5\n"
        "2024-01-01,x,social,1\n"))
    ws.import_file("engagement", write_file(header + "2024-01-01,linkedin,social,99\n"))
    assert rows(ws, "engagement", "platform, kind, impressions") == [
        ("linkedin", "community", 5), ("linkedin", "social", 99), ("x", "social", 1)]


def test_costs_scope_is_team_and_category(ws: Workspace, write_file: FileWriter) -> None:
    header = "month,category,amount,team,channel\n"
    ws.import_file("costs", write_file(
        header + "2024-01-01,ad_spend,100,marketing,paid_search\n"
        "2024-01-01,ad_spend,40,marketing,paid_social\n"
        "2024-01-01,salaries,500,sales,\n2024-01-01,ad_spend,7,sales,\n"))
    ws.import_file("costs", write_file(header + "2024-01-01,ad_spend,120,marketing,paid_search\n"))
    assert rows(ws, "costs", "team, category, channel, amount") == [
        ("marketing", "ad_spend", "paid_search", Decimal("120")),  # paid_social replaced
        ("sales", "ad_spend", "", Decimal("7")),
        ("sales", "salaries", "", Decimal("500"))]


def test_web_traffic_replaces_the_whole_range_or_appends(ws: Workspace,
                                                         write_file: FileWriter) -> None:
    header = "date,sessions,source\n"
    ws.import_file("web_traffic", write_file(
        header + "2024-01-01,5,google\n2024-01-01,3,bing\n2024-01-02,4,google\n"))
    ws.import_file("web_traffic", write_file(header + "2024-01-01,6,google\n"))
    assert rows(ws, "web_traffic", "date, source, sessions") == [
        (_d(1), "google", 6), (_d(2), "google", 4)]   # bing on Jan 1 replaced (one property)
    extra = write_file(header + "2024-01-01,2,google\n2024-01-01,1,duckduckgo\n")
    appended = ws.import_file("web_traffic", extra, append=True)
    assert (appended.status, appended.rows_inserted) == ("imported", 2)
    assert ws.query("SELECT source, sum(sessions) FROM web_traffic WHERE date = '2024-01-01' "
                    "GROUP BY ALL ORDER BY ALL") == [("duckduckgo", 1), ("google", 8)]
    # appending the very same file again adds nothing
    again = ws.import_file("web_traffic", extra, append=True)
    assert again.status == "no_changes"
    assert ws.query("SELECT sum(sessions) FROM web_traffic") == [(13,)]


@pytest.mark.parametrize("table", ["ad_performance", "accounts"])
def test_append_is_for_web_traffic_only(ws: Workspace, write_file: FileWriter,
                                        table: str) -> None:
    with pytest.raises(UsageError, match="--append is for web_traffic only"):
        ws.import_file(table, write_file(AD_HEADER + "2024-01-01,meta,k1,1,1,1\n"), append=True)
    assert ws.query("SELECT count(*) FROM _imports") == [(0,)]


def test_session_level_and_aggregated_rows_meet_in_one_table(ws: Workspace,
                                                             write_file: FileWriter) -> None:
    ws.import_file("web_traffic", write_file(
        "date,sessions,source,medium\n2024-01-01,1,google,organic\n2024-01-01,1,google,organic\n"
        "2024-01-01,1,bing,organic\n"))
    assert rows(ws, "web_traffic", "source, sessions") == [("bing", 1), ("google", 2)]
