"""T25 (value chaos): how text cells become typed values, and that every value that cannot be
read is quarantined with a reason instead of becoming NULL or 0, and every coercion is said."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from conftest import FileWriter, codes, issue, mapping, quarantine, rows
from funnelboard.errors import UsageError
from funnelboard.workspace import Workspace

UTC = dt.UTC


# -- timestamps: stored as UTC, "no offset" means local time in the file's zone ----------------

TIMES = """contact_id,created_at
c01,2024-01-05
c02,2024-01-05 00:00
c03,2024-01-05T10:00:00+02:00
c04,2024-01-05T10:00:00Z
c05,2024-01-23T02:46:47.000+0000
c06,2024-07-05 12:00
c07,20240105
c08,"July 1, 2024"
c09,05.01.2024 09:15
c10,2024-03-10 02:30
"""


def test_timestamps_without_offset_are_local_in_the_file_zone(ws: Workspace,
                                                             write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(TIMES), timezone="America/New_York")
    assert result.status == "imported" and result.rows_quarantined == 0
    assert rows(ws, "contacts", "contact_id, created_at") == [
        ("c01", dt.datetime(2024, 1, 5, 5, tzinfo=UTC)),       # date only: local midnight
        ("c02", dt.datetime(2024, 1, 5, 5, tzinfo=UTC)),       # 00:00 New York = 05:00 UTC
        ("c03", dt.datetime(2024, 1, 5, 8, tzinfo=UTC)),       # offset kept exact
        ("c04", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("c05", dt.datetime(2024, 1, 23, 2, 46, 47, tzinfo=UTC)),  # +0000 without a colon
        ("c06", dt.datetime(2024, 7, 5, 16, tzinfo=UTC)),      # summer time: UTC-4
        ("c07", dt.datetime(2024, 1, 5, 5, tzinfo=UTC)),       # GA4 YYYYMMDD
        ("c08", dt.datetime(2024, 7, 1, 4, tzinfo=UTC)),       # Google Ads long form
        ("c09", dt.datetime(2024, 1, 5, 14, 15, tzinfo=UTC)),  # dd.mm.yyyy hh:mm
        ("c10", dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)),  # in the spring-forward gap
    ]


def test_zone_precedence_option_then_mapping_then_workspace(ws: Workspace,
                                                           write_file: FileWriter) -> None:
    path = write_file("contact_id,created_at\nc1,2024-01-05 09:00\n")
    tokyo = mapping(mapping={"timezone": "Asia/Tokyo"})
    ws.import_file("contacts", path)  # the workspace zone, UTC
    assert rows(ws, "contacts", "created_at") == [(dt.datetime(2024, 1, 5, 9, tzinfo=UTC),)]
    ws.import_file("contacts", path, mapping=tokyo)
    assert rows(ws, "contacts", "created_at") == [(dt.datetime(2024, 1, 5, 0, tzinfo=UTC),)]
    ws.import_file("contacts", path, mapping=tokyo, timezone="Europe/London")
    assert rows(ws, "contacts", "created_at") == [(dt.datetime(2024, 1, 5, 9, tzinfo=UTC),)]
    ws.import_file("contacts", path, timezone="America/Chicago")
    assert rows(ws, "contacts", "created_at") == [(dt.datetime(2024, 1, 5, 15, tzinfo=UTC),)]
    # the session zone is put back after each import
    assert ws.query("SELECT current_setting('TimeZone')") == [("UTC",)]


def test_unknown_time_zone_is_a_usage_error(ws: Workspace, write_file: FileWriter) -> None:
    with pytest.raises(UsageError, match="--timezone 'Mars/Olympus' is not a time zone"):
        ws.import_file("contacts", write_file("contact_id,created_at\nc1,2024-01-01\n"),
                       timezone="Mars/Olympus")
    assert ws.query("SELECT count(*) FROM _imports") == [(0,)]


def test_unreadable_and_impossible_timestamps(ws: Workspace, write_file: FileWriter) -> None:
    text = ("contact_id,created_at\nc1,yesterday\nc2,2024-02-30\nc3,1704412800000\n"
            "c4,0001-01-01\nc5,9999-12-31 23:59\nc6,2024-01-01\n")
    ws.import_file("contacts", write_file(text))
    assert quarantine(ws) == [
        (2, "created_at", "yesterday", "invalid_timestamp"),
        (3, "created_at", "2024-02-30", "invalid_timestamp"),
        (4, "created_at", "1704412800000", "invalid_timestamp"),  # epoch ms: not guessed
        (5, "created_at", "0001-01-01", "date_out_of_range"),
        (6, "created_at", "9999-12-31 23:59", "date_out_of_range"),
    ]


# -- dates ------------------------------------------------------------------------------------

def test_date_order_is_inferred_per_column(ws: Workspace, write_file: FileWriter) -> None:
    text = ("opportunity_id,created_at,amount,close_date\n"
            "o1,01/02/2024,1,31/01/2024\n"      # close_date shows day first (31)
            "o2,01/13/2024,1,02/03/2024\n")     # created_at shows month first (13)
    result = ws.import_file("opportunities", write_file(text))
    assert rows(ws, "opportunities", "opportunity_id, created_at, close_date") == [
        ("o1", dt.datetime(2024, 1, 2, tzinfo=UTC), dt.date(2024, 1, 31)),
        ("o2", dt.datetime(2024, 1, 13, tzinfo=UTC), dt.date(2024, 3, 2)),
    ]
    assert {i.column for i in result.issues if i.code == "date_order"} == {
        "created_at", "close_date"}


def test_ambiguous_dates_warn(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("opportunities", write_file(
        "opportunity_id,created_at,amount\no1,03/04/2025,1\n"))
    warning = issue(result, "ambiguous_dates")
    assert warning.level == "warning" and warning.column == "created_at"
    assert rows(ws, "opportunities", "created_at") == [(dt.datetime(2025, 3, 4, tzinfo=UTC),)]


def test_date_column_with_times_says_the_time_is_dropped(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    text = ("opportunity_id,created_at,amount,close_date\n"
            "o1,2024-01-01,1,2024-02-01 00:00:00\no2,2024-01-01,1,2024-02-02 17:45\n")
    result = ws.import_file("opportunities", write_file(text))
    note = issue(result, "time_dropped")
    assert (note.row, note.count) == (3, 1)
    assert rows(ws, "opportunities", "close_date") == [
        (dt.date(2024, 2, 1),), (dt.date(2024, 2, 2),)]


def test_excel_serial_number_in_a_csv_is_not_guessed(ws: Workspace,
                                                     write_file: FileWriter) -> None:
    ws.import_file("opportunities", write_file(
        "opportunity_id,created_at,amount,close_date\no1,2024-01-01,1,45292\n"
        "o2,2024-01-01,1,2024-01-01\n"))
    assert quarantine(ws) == [(2, "close_date", "45292", "invalid_date")]


def test_mapping_formats(ws: Workspace, write_file: FileWriter) -> None:
    """datetime_format, with date_format accepted for date-only values in the same column."""
    text = ("opportunity_id,created_at,amount,close_date\n"
            "o1,02/23/26 08:55 PM,1,02/03/24\no2,02/24/26,1,03/31/26\n"
            "o3,2026-02-25T10:00:00Z,1,2026-04-01\n")
    ws.import_file("opportunities", write_file(text), mapping=mapping(
        mapping={"date_format": "%m/%d/%y", "datetime_format": "%m/%d/%y %I:%M %p"}))
    assert rows(ws, "opportunities", "opportunity_id, created_at, close_date") == [
        ("o1", dt.datetime(2026, 2, 23, 20, 55, tzinfo=UTC), dt.date(2024, 2, 3)),
        ("o2", dt.datetime(2026, 2, 24, tzinfo=UTC), dt.date(2026, 3, 31)),
        ("o3", dt.datetime(2026, 2, 25, 10, tzinfo=UTC), dt.date(2026, 4, 1)),
    ]


def test_mrr_month_is_moved_to_the_first_with_a_warning(ws: Workspace,
                                                       write_file: FileWriter) -> None:
    result = ws.import_file("mrr", write_file(
        "month,account_id,mrr\n2024-01-01,a1,100\n2024-02-15,a1,120\n2024-03-31,a1,130\n"))
    moved = issue(result, "month_moved")
    assert (moved.level, moved.row, moved.count) == ("warning", 3, 2)
    assert rows(ws, "mrr", "month, mrr") == [
        (dt.date(2024, 1, 1), Decimal("100")), (dt.date(2024, 2, 1), Decimal("120")),
        (dt.date(2024, 3, 1), Decimal("130"))]


# -- numbers and amounts ----------------------------------------------------------------------

def test_amount_spellings(ws: Workspace, write_file: FileWriter) -> None:
    text = ('month,category,amount\n'
            '2024-01-01,tools,"1,234.56"\n'
            '2024-02-01,tools,$1200\n'
            '2024-03-01,tools,"$1,200"\n'
            '2024-04-01,tools,(500)\n'          # costs may be negative (a refund)
            '2024-05-01,tools,"USD 12,500.00"\n'
            '2024-06-01,tools,€ 99\n'
            '2024-07-01,tools,"1\u00a0234,5"\n'  # non-breaking space, decimal comma
            '2024-08-01,tools,250-\n'            # trailing minus
            '2024-09-01,tools,1e309\n'
            '2024-10-01,tools,NaN\n'
            '2024-11-01,tools,inf\n'
            '2024-12-01,tools,12.5.1\n')
    result = ws.import_file("costs", write_file(text))
    assert rows(ws, "costs", "month, amount") == [
        (dt.date(2024, 1, 1), Decimal("1234.56")),
        (dt.date(2024, 2, 1), Decimal("1200")),
        (dt.date(2024, 3, 1), Decimal("1200")),
        (dt.date(2024, 4, 1), Decimal("-500")),
        (dt.date(2024, 5, 1), Decimal("12500")),
        (dt.date(2024, 6, 1), Decimal("99")),
        (dt.date(2024, 8, 1), Decimal("-250")),
    ]
    assert quarantine(ws) == [
        (8, "amount", "1\u00a0234,5", "invalid_amount"),  # a decimal comma in a dot file
        (10, "amount", "1e309", "invalid_amount"),
        (11, "amount", "NaN", "invalid_amount"),
        (12, "amount", "inf", "invalid_amount"),
        (13, "amount", "12.5.1", "invalid_amount"),
    ]
    assert result.rows_quarantined == 5


def test_negative_amount_where_not_allowed(ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("opportunities", write_file(
        "opportunity_id,created_at,amount\no1,2024-01-01,(500)\no2,2024-01-01,500\n"))
    assert quarantine(ws) == [(2, "amount", "(500)", "negative_value")]


def test_numbers_and_integers(ws: Workspace, write_file: FileWriter) -> None:
    text = ('contact_id,created_at,lead_score,fit_score\n'
            'c1,2024-01-01,"1,234.5",12.0\n'
            'c2,2024-01-01,1e309,\n'
            'c3,2024-01-01,NaN,x\n'
            'c4,2024-01-01,-3.25,1e2\n')
    ws.import_file("contacts", write_file(text))
    assert rows(ws, "contacts", "contact_id, lead_score, fit_score") == [
        ("c1", 1234.5, 12.0), ("c4", -3.25, 100.0)]
    assert quarantine(ws) == [
        (3, "lead_score", "1e309", "invalid_number"),
        (4, "fit_score", "x", "invalid_number"),
        (4, "lead_score", "NaN", "invalid_number"),
    ]


def test_integers(ws: Workspace, write_file: FileWriter) -> None:
    text = ('account_id,employee_count\na1,"1,200"\na2,12.0\na3,1.5\na4,99999999999999999999\n'
            'a5, 42 \n')
    ws.import_file("accounts", write_file(text))
    assert rows(ws, "accounts", "account_id, employee_count") == [
        ("a1", 1200), ("a2", 12), ("a5", 42)]
    assert quarantine(ws) == [
        (4, "employee_count", "1.5", "invalid_integer"),
        (5, "employee_count", "99999999999999999999", "invalid_integer"),
    ]


def test_ambiguous_decimal_point_is_warned(ws: Workspace, write_file: FileWriter) -> None:
    """1.200 could be 1200 (European thousands) or 1.2: read as 1.2 in a comma file, said."""
    result = ws.import_file("costs", write_file(
        'month,category,amount\n2024-01-01,tools,1.200\n2024-02-01,tools,"1,200"\n'))
    warning = issue(result, "ambiguous_decimal")
    assert (warning.level, warning.row, warning.value) == ("warning", 2, "1.200")
    assert rows(ws, "costs", "amount") == [(Decimal("1.2"),), (Decimal("1200"),)]


def test_semicolon_file_without_decimals_reads_european_thousands(
        ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("accounts", write_file(
        "account_id;employee_count\na1;1.200\na2;35\n", encoding="cp1252"))
    assert issue(result, "ambiguous_decimal").level == "warning"
    assert rows(ws, "accounts", "employee_count", "account_id") == [(1200,), (35,)]


def test_mapping_decimal_wins(ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("costs", write_file("month;category;amount\n2024-01-01;tools;1.200\n"),
                   mapping=mapping(mapping={"decimal": "."}))
    assert rows(ws, "costs", "amount") == [(Decimal("1.2"),)]


# -- placeholders, booleans, ratios, slugs, text ----------------------------------------------

@pytest.mark.parametrize("empty", ["", " ", "--", " --", "-", "n/a", "N/A", "#N/A", "null",
                                   "None", "(none)"])
def test_placeholders_are_empty_never_zero(ws: Workspace, write_file: FileWriter,
                                           empty: str) -> None:
    result = ws.import_file("ad_performance", write_file(
        f'date,platform,campaign_id,impressions,spend,conversions\n'
        f'2024-01-01,meta,c1,"{empty}","{empty}","{empty}"\n'))
    assert result.rows_quarantined == 0
    assert rows(ws, "ad_performance", "impressions, spend, conversions") == [
        (None, None, None)]


def test_text_placeholder_only_for_the_google_dash(ws: Workspace,
                                                  write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file("account_id,name,industry\na1, --,n/a\n"))
    assert rows(ws, "accounts", "name, industry") == [(None, "n/a")]


def test_booleans(ws: Workspace, write_file: FileWriter) -> None:
    words = ["true", "TRUE", "t", "Yes", "y", "1", "false", "FALSE", "f", "No", "n", "0", "",
             "maybe"]
    body = "".join(f"o{i},2024-01-01,1,{w}\n" for i, w in enumerate(words))
    ws.import_file("opportunities", write_file("opportunity_id,created_at,amount,is_won\n" + body))
    stored = dict(rows(ws, "opportunities", "opportunity_id, is_won"))
    assert [stored.get(f"o{i}", "quarantined") for i in range(len(words))] == [
        True] * 6 + [False] * 6 + [None, "quarantined"]
    assert quarantine(ws) == [(15, "is_won", "maybe", "invalid_boolean")]


def test_ratios_and_percent_conversion_is_reported(ws: Workspace,
                                                   write_file: FileWriter) -> None:
    text = ("opportunity_id,created_at,amount,probability\n"
            "o1,2024-01-01,1,0.25\no2,2024-01-01,1,25%\no3,2024-01-01,1,25\n"
            "o4,2024-01-01,1,1\no5,2024-01-01,1,100\no6,2024-01-01,1,0\n"
            "o7,2024-01-01,1,150\no8,2024-01-01,1,-5%\no9,2024-01-01,1,high\n")
    result = ws.import_file("opportunities", write_file(text))
    assert rows(ws, "opportunities", "opportunity_id, probability") == [
        ("o1", 0.25), ("o2", 0.25), ("o3", 0.25), ("o4", 1.0), ("o5", 1.0), ("o6", 0.0)]
    note = issue(result, "percent_read")
    assert (note.row, note.count) == (4, 2)  # 25 and 100 were read as percentages
    assert "above 1" in note.message
    assert quarantine(ws) == [
        (8, "probability", "150", "probability_out_of_range"),
        (9, "probability", "-5%", "probability_out_of_range"),
        (10, "probability", "high", "probability_out_of_range"),
    ]


def test_percent_format_reads_every_value_as_a_percentage(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    """Salesforce Probability is 0-100: its 1 is 1%, not 100%."""
    text = "opportunity_id,created_at,amount,probability\no1,2024-01-01,1,1\no2,2024-01-01,1,75\n"
    result = ws.import_file("opportunities", write_file(text),
                            mapping=mapping(formats={"probability": "percent"}))
    assert rows(ws, "opportunities", "probability") == [(0.01,), (0.75,)]
    note = issue(result, "percent_read")
    assert note.count == 2 and "above 1" not in note.message


def test_slugs_are_normalised_and_their_labels_kept(ws: Workspace,
                                                    write_file: FileWriter) -> None:
    ws.import_file("meetings", write_file(
        "meeting_id,booked_at,kind,status,channel\n"
        "m1,2024-01-01,Demo,No Show,Organic Search\nm2,2024-01-01,demo,held,!!!\n"))
    assert rows(ws, "meetings", "meeting_id, kind, status, channel") == [
        ("m1", "demo", "no_show", "organic_search")]
    assert quarantine(ws) == [(3, "channel", "!!!", "invalid_value")]
    assert ws.query("SELECT column_name, slug, label FROM _labels ORDER BY ALL") == [
        ("channel", "organic_search", "Organic Search"), ("kind", "demo", "Demo"),
        ("status", "no_show", "No Show")]


def test_ids_and_text_are_trimmed_and_formula_escapes_undone(ws: Workspace,
                                                             write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file(
        "account_id,name,owner\n  A-1  ,'=SUM(A1),'O'Brien\n"))
    assert rows(ws, "accounts", "account_id, name, owner") == [("A-1", "=SUM(A1)", "'O'Brien")]


def test_optional_key_columns_are_stored_as_empty_text(ws: Workspace,
                                                       write_file: FileWriter) -> None:
    ws.import_file("targets", write_file("metric,period_start,grain,target\nleads,2024-01-01,"
                                         "month,10\n"))
    ws.import_file("costs", write_file("month,category,amount\n2024-01-01,tools,5\n"))
    assert rows(ws, "targets", "dimension, dimension_value") == [("", "")]
    assert rows(ws, "costs", "team, channel, campaign_id") == [("", "", "")]


def test_every_coercion_is_recorded(ws: Workspace, write_file: FileWriter) -> None:
    """What changed meaning while typing is listed once per column, with its first row."""
    result = ws.import_file("opportunities", write_file(
        "opportunity_id,created_at,amount,probability,close_date\n"
        "o1,2024-01-01,1,50,2024-02-01 10:00\n"))
    assert {"percent_read", "time_dropped"} <= codes(result, "info")
    stored = json.loads(ws.query("SELECT issues FROM _imports")[0][0])
    assert {"percent_read", "time_dropped"} <= {i["code"] for i in stored}
