"""T24 (malformed CSV) and file formats: encodings, delimiters, preambles, comments, totals,
quoted line breaks, ragged rows, header matching, XLSX and Parquet.

Every file is either read correctly, with the detected dialect reported and each bad row placed
on its physical line (header = line 1), or rejected whole with the file and line named.
"""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import (
    DATA,
    FileWriter,
    codes,
    issue,
    ledger,
    mapping,
    quarantine,
    raw_files,
    rows,
)
from funnelboard.workspace import Workspace

ACCOUNTS = "account_id,name,employee_count\na1,Café Zürich,1200\na2,Ærø €uro,\n"
EXPECTED_ACCOUNTS = [("a1", "Café Zürich", 1200), ("a2", "Ærø €uro", None)]


def _accounts(ws: Workspace) -> list[tuple[object, ...]]:
    return rows(ws, "accounts", "account_id, name, employee_count")


# -- encodings --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("label", "data", "dialect"),
    [
        ("utf-8", ACCOUNTS.encode("utf-8"), "CSV, UTF-8, comma-separated, header on line 1"),
        ("utf-8 BOM", codecs.BOM_UTF8 + ACCOUNTS.encode("utf-8"),
         "CSV, UTF-8 with BOM, comma-separated, header on line 1"),
        ("utf-16 LE BOM", codecs.BOM_UTF16_LE + ACCOUNTS.encode("utf-16-le"),
         "CSV, UTF-16 with BOM, comma-separated, header on line 1"),
        ("utf-16 BE BOM", codecs.BOM_UTF16_BE + ACCOUNTS.encode("utf-16-be"),
         "CSV, UTF-16 with BOM, comma-separated, header on line 1"),
        ("utf-16 LE no BOM", ACCOUNTS.encode("utf-16-le"),
         "CSV, UTF-16 LE, comma-separated, header on line 1"),
        ("utf-16 BE no BOM", ACCOUNTS.encode("utf-16-be"),
         "CSV, UTF-16 BE, comma-separated, header on line 1"),
        ("cp1252", ACCOUNTS.encode("cp1252"),
         "CSV, Windows-1252, comma-separated, header on line 1"),
    ],
)
def test_encodings_read_the_same_rows(ws: Workspace, write_file: FileWriter, label: str,
                                      data: bytes, dialect: str) -> None:
    result = ws.import_file("accounts", write_file(data))
    assert result.status == "imported", label
    assert result.dialect == dialect
    assert _accounts(ws) == EXPECTED_ACCOUNTS
    # the BOM never leaks into the first header (it would make account_id unknown)
    assert rows(ws, "accounts", "extras") == [(None,), (None,)]


def test_cp1252_fallback_is_reported(ws: Workspace) -> None:
    result = ws.import_file("accounts", DATA / "accounts_cp1252.csv")
    assert result.status == "imported"
    assert "encoding_fallback" in codes(result, "info")
    assert rows(ws, "accounts", "account_id, name, country, employee_count") == [
        ("a1", "Café Crème SARL", "France", 1200),
        ("a2", "Smørrebrød A/S", "Danmark", 35),
        ("a3", "Prix 5€ Ltd", "United Kingdom", 12),
    ]


def test_utf16_tab_separated_excel_csv_with_line_numbers(ws: Workspace) -> None:
    """Google Ads "Excel CSV": UTF-16 LE, BOM, tabs, CRLF, title lines above the header."""
    result = ws.import_file("ad_performance", DATA / "google_ads_campaign_report_excel.csv",
                            mapping=mapping(rename={"Day": "date", "Campaign": "campaign_id",
                                                    "Impr.": "impressions", "Cost": "spend"},
                                            constants={"platform": "google_ads"}))
    assert result.status == "imported"
    assert result.dialect == "CSV, UTF-16 with BOM, tab-separated, header on line 3"
    assert quarantine(ws) == [(9, "date", "July 2", "invalid_date")]
    assert rows(ws, "ad_performance", "date, campaign_id, impressions, spend") == [
        (dt.date(2024, 7, 1), "Brand Search", 795836, Decimal("50252.14")),
        (dt.date(2024, 7, 1), "Display Remarketing", 120000, Decimal("99.5")),
        (dt.date(2024, 7, 1), "Old Video", None, Decimal("0")),
        (dt.date(2024, 7, 2), "Brand Search", 801100, Decimal("49980")),
        (dt.date(2024, 7, 2), "Display Remarketing", 98500, Decimal("100")),
    ]


def test_nul_bytes_reject_the_file(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("accounts", write_file(b"account_id\x00,name\na1,\x00\xff\x00x\n"))
    assert result.status == "rejected"
    assert "NUL bytes" in issue(result, "file_rejected").message
    assert ledger(ws) == [(1, "accounts", "rejected", None)]


def test_undecodable_bytes_reject_the_file(ws: Workspace, write_file: FileWriter) -> None:
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8
    result = ws.import_file("accounts", write_file(b"account_id,name\na1,\x81\x81\n"))
    assert result.status == "rejected"
    message = issue(result, "file_rejected").message
    assert "f.csv" in message and "utf-8 or cp1252" in message


# -- delimiters and numbers -------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(ws: Workspace, write_file: FileWriter,
                                 delimiter: str) -> None:
    text = ACCOUNTS.replace(",", delimiter)
    result = ws.import_file("accounts", write_file(text))
    assert result.status == "imported"
    assert _accounts(ws) == EXPECTED_ACCOUNTS


def test_semicolon_and_decimal_comma(ws: Workspace) -> None:
    result = ws.import_file("opportunities", DATA / "opportunities_semicolon.csv")
    assert result.dialect == "CSV, UTF-8, semicolon-separated, header on line 1"
    assert "decimal_comma" in codes(result, "info")
    assert rows(ws, "opportunities",
                "opportunity_id, created_at, amount, probability, close_date, is_won") == [
        ("o1", dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.UTC), Decimal("1234.56"), 0.25,
         dt.date(2024, 3, 31), True),
        ("o2", dt.datetime(2024, 3, 2, tzinfo=dt.UTC), Decimal("12.5"), 0.3,
         dt.date(2024, 4, 15), False),
        ("o3", dt.datetime(2024, 3, 3, tzinfo=dt.UTC), Decimal("1000000"), None,
         dt.date(2024, 6, 30), None),
    ]
    assert quarantine(ws) == [(5, "amount", "abc", "invalid_amount")]


# -- layout: preambles, comments, blank lines, totals -----------------------------------------

def test_ga4_preamble_comment_and_blank_lines(ws: Workspace) -> None:
    result = ws.import_file("web_traffic", DATA / "web_traffic_ga4.csv", mapping=mapping(
        rename={"Date": "date", "Session source": "source", "Session medium": "medium"}))
    assert result.dialect == "CSV, UTF-8, comma-separated, header on line 9"
    assert issue(result, "preamble_skipped").count == 7
    comment = issue(result, "comment_rows_skipped")
    assert (comment.row, comment.count) == (12, 1)
    assert rows(ws, "web_traffic", "date, source, medium, sessions, engaged_sessions") == [
        (dt.date(2024, 1, 1), "google", "organic", 120, 80),
        (dt.date(2024, 1, 2), "(direct)", "(none)", 50, 20),
        (dt.date(2024, 1, 3), "linkedin.com", "referral", 7, 5),
    ]
    assert quarantine(ws) == [(13, "sessions", "bad", "invalid_integer")]


def test_comment_line_with_data_is_not_a_comment(ws: Workspace, write_file: FileWriter) -> None:
    """Only a line with nothing but a '#...' first cell is a comment; '#1' with data is a row."""
    result = ws.import_file("accounts", write_file("account_id,name\n#1,Hash Corp\n#note,\n"))
    assert rows(ws, "accounts", "account_id, name") == [("#1", "Hash Corp")]
    assert issue(result, "comment_rows_skipped").row == 3


def test_google_ads_title_lines_totals_and_placeholders(ws: Workspace) -> None:
    result = ws.import_file("ad_performance", DATA / "google_ads_campaign_report.csv",
                            mapping=mapping(rename={"Day": "date", "Campaign": "campaign_id",
                                                    "Impr.": "impressions", "Cost": "spend"},
                                            constants={"platform": "google_ads"}))
    assert result.status == "imported"
    assert result.dialect == "CSV, UTF-8, comma-separated, header on line 3"
    totals = issue(result, "summary_rows_skipped")
    assert (totals.row, totals.count) == (9, 5)
    assert result.rows_accepted == 5 and result.rows_quarantined == 0
    # " --" is empty, never 0: the paused campaign has no impressions, clicks or conversions
    assert rows(ws, "ad_performance", "impressions, clicks, conversions, spend",
                "campaign_id, date")[-1] == (None, None, None, Decimal("0"))


def test_total_rows_only_at_the_edges_and_only_real_totals(ws: Workspace,
                                                           write_file: FileWriter) -> None:
    text = ("campaign_id,date,platform,impressions\n"
            "Grand total,,,30\n"                # a leading grand total (GA4 explorations)
            "Total Recall,2024-01-01,meta,10\n"  # a campaign, not a total
            "Brand,2024-01-01,meta,20\n"
            "Totals,,,30\n"
            ",,,\n")
    result = ws.import_file("ad_performance", write_file(text))
    assert rows(ws, "ad_performance", "campaign_id, impressions") == [
        ("Brand", 20), ("Total Recall", 10)]
    assert issue(result, "summary_rows_skipped").count == 2
    assert issue(result, "empty_rows_skipped").row == 6


# -- quoted line breaks, blank lines, ragged rows, quotes -------------------------------------

def test_quoted_line_breaks_blank_lines_and_ragged_rows(ws: Workspace) -> None:
    result = ws.import_file("accounts", DATA / "accounts_multiline.csv")
    assert result.status == "imported"
    assert rows(ws, "accounts", "account_id, name, employee_count") == [
        ("a1", "Acme\nHoldings", 120),
        ("a3", 'Gamma "The Best"\nCorp\n\nLtd', 30),
        ("a5", "Epsilon", None),  # a short row is padded with empty cells
    ]
    # line numbers count the physical lines, after quoted line breaks and blank lines
    assert quarantine(ws) == [
        (5, "employee_count", "abc", "invalid_integer"),
        (10, None, None, "wrong_field_count"),
        (12, "employee_count", "-4", "negative_value"),
    ]
    assert "a4,Delta,Health,10,extra" in issue(result, "wrong_field_count").message


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rejected_line_after_blank_lines_and_line_breaks(ws: Workspace, write_file: FileWriter,
                                                         newline: str) -> None:
    text = ('account_id,name,employee_count\n'   # 1
            'a1,"multi\nline",1\n'                # 2-3
            '\n\n'                                # 4-5
            'a2,x,1,extra\n'                      # 6
            '\n'                                  # 7
            'a3,"q\n\nq",zz\n'                    # 8-10
            'a4,y,2,3\n'                          # 11
            'a5,ok,-1\n\n\n').replace("\n", newline)  # 12
    result = ws.import_file("accounts", write_file(text))
    assert result.status == "imported"
    assert quarantine(ws) == [
        (6, None, None, "wrong_field_count"),
        (8, "employee_count", "zz", "invalid_integer"),
        (11, None, None, "wrong_field_count"),
        (12, "employee_count", "-1", "negative_value"),
    ]
    assert rows(ws, "accounts", "account_id") == [("a1",)]


def test_quoted_line_break_above_the_header(ws: Workspace, write_file: FileWriter) -> None:
    text = 'Report\n"a note\nover two lines"\naccount_id,name,employee_count\na1,x,1\na2,y,z\n'
    result = ws.import_file("accounts", write_file(text))
    assert result.dialect.endswith("header on line 4")
    assert rows(ws, "accounts", "account_id") == [("a1",)]
    assert quarantine(ws) == [(6, "employee_count", "z", "invalid_integer")]


def test_unclosed_quote_rejects_the_whole_file(ws: Workspace) -> None:
    result = ws.import_file("accounts", DATA / "accounts_unclosed_quote.csv")
    assert result.status == "rejected"
    message = issue(result, "file_rejected").message
    assert "accounts_unclosed_quote.csv" in message and "line 3" in message
    assert "never closed" in message
    assert rows(ws, "accounts", "count(*)") == [(0,)]
    assert quarantine(ws) == []
    assert ledger(ws) == [(1, "accounts", "rejected", None)]
    assert raw_files(ws) == []


def test_unclosed_quote_after_a_quoted_line_break_names_the_physical_line(
        ws: Workspace, write_file: FileWriter) -> None:
    text = 'account_id,name\na1,"two\nlines"\n\na2,"never closed\na3,x\n'
    result = ws.import_file("accounts", write_file(text))
    assert "record starting near line 5:" in issue(result, "file_rejected").message


def test_empty_file_is_rejected(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("accounts", write_file(b""))
    assert result.status == "rejected"
    assert "empty" in issue(result, "file_rejected").message


def test_long_field(ws: Workspace, write_file: FileWriter) -> None:
    big = "x" * 1_000_000
    ws.import_file("accounts", write_file(f'account_id,name\na1,"{big}"\na2,ok\n'))
    assert rows(ws, "accounts", "account_id, length(name)") == [("a1", 1_000_000), ("a2", 2)]


# -- headers ----------------------------------------------------------------------------------

def test_headers_match_case_space_and_punctuation_insensitively(ws: Workspace,
                                                                write_file: FileWriter) -> None:
    text = " Contact ID ,CREATED_AT, EMAIL ,lead-score\nc1,2024-01-05,a@example.com,7\n"
    result = ws.import_file("contacts", write_file(text))
    assert result.status == "imported"
    assert rows(ws, "contacts", "contact_id, email, lead_score, extras") == [
        ("c1", "a@example.com", 7.0, None)]


def test_unknown_columns_are_kept_in_extras_and_reported(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    text = 'contact_id,created_at,Favourite colour,<b>x</b>,"a"";DROP TABLE contacts;--"\n' \
           "c1,2024-01-05,green,bold,1\n"
    result = ws.import_file("contacts", write_file(text))
    note = issue(result, "extra_columns")
    assert note.count == 3 and "'Favourite colour'" in note.message
    assert rows(ws, "contacts", "contact_id, extras->>'Favourite colour', "
                "extras->>'a\";DROP TABLE contacts;--', json_keys(extras)") == [
        ("c1", "green", "1", ['<b>x</b>', "Favourite colour", 'a";DROP TABLE contacts;--'])]


def test_duplicate_and_empty_headers(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,email,Email,\nc1,2024-01-05,first@x.com,second@x.com,z\n"))
    assert issue(result, "duplicate_header").column == "Email"
    assert rows(ws, "contacts", "email, extras") == [
        ("first@x.com", '{"Email_2":"second@x.com","column_5":"z"}')]


def test_missing_required_column_rejects_before_any_write(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file("contact_id,email\nc1,a@example.com\n"))
    assert result.status == "rejected"
    message = issue(result, "file_rejected").message
    assert "f.csv" in message and "created_at" in message and "'email'" in message
    assert rows(ws, "contacts", "count(*)") == [(0,)]
    assert ledger(ws) == [(1, "contacts", "rejected", None)]
    assert raw_files(ws) == []


def test_a_line_with_another_delimiter_is_quarantined(ws: Workspace,
                                                      write_file: FileWriter) -> None:
    ws.import_file("contacts", write_file(
        "contact_id,created_at,email\nc1,2024-01-01,a@x.com\nc2;2024-01-02;b@x.com\n"
        "c3,2024-01-03,c@x.com\n"))
    assert rows(ws, "contacts", "contact_id") == [("c1",), ("c3",)]
    assert quarantine(ws) == [(3, "created_at", None, "missing_value")]


def test_too_many_columns_reject_the_file(ws: Workspace, write_file: FileWriter) -> None:
    header = ",".join(["account_id", *(f"x{i}" for i in range(1000))])
    result = ws.import_file("accounts", write_file(header + "\n" + "a1" + ",1" * 1000 + "\n"))
    assert result.status == "rejected"
    assert "1001 columns, more than the limit of 1000" in issue(result, "file_rejected").message


def test_long_and_odd_headers_are_kept_verbatim_in_extras(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    long_name = "n" * 1000
    ws.import_file("accounts", write_file(f'account_id,{long_name},"😀 ""q""",x\na1,1,2,3\n'))
    assert rows(ws, "accounts", "json_keys(extras)") == [([long_name, "x", '😀 "q"'],)]


# -- XLSX and Parquet -------------------------------------------------------------------------

def test_xlsx_with_title_row_real_dates_and_numbers(ws: Workspace, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "Pipeline"
    sheet.append(["Opportunity export (all open deals)"])
    sheet.append([])
    sheet.append(["Opportunity ID", "Created At", "Amount", "Close Date", "Is Won",
                  "Probability", "Region"])
    sheet.append(["o1", dt.datetime(2024, 1, 5, 10, 30), 1234.5, dt.date(2024, 2, 1), True,
                  0.25, "EMEA"])
    sheet.append([1002, dt.date(2024, 1, 6), 100, "2024-02-02", False, 50, None])
    sheet.append(["o3", dt.datetime(2024, 1, 7), "lots", None, None, None, None])
    sheet.append(["Total", None, 1334.5])
    wb.create_sheet("Notes").append(["nothing to see"])
    path = tmp_path / "pipeline.xlsx"
    wb.save(path)

    result = ws.import_file("opportunities", path, timezone="Europe/Paris")
    assert result.status == "imported"
    assert result.dialect == "Excel workbook, header on row 3"
    assert {"sheet_chosen", "preamble_skipped", "summary_rows_skipped"} <= codes(result)
    assert rows(ws, "opportunities", "opportunity_id, created_at, amount, close_date, is_won, "
                "probability, extras") == [
        ("1002", dt.datetime(2024, 1, 5, 23, tzinfo=dt.UTC), Decimal("100"),
         dt.date(2024, 2, 2), False, 0.5, None),
        # a date cell is local time in the file's zone: 10:30 in Paris is 09:30 UTC
        ("o1", dt.datetime(2024, 1, 5, 9, 30, tzinfo=dt.UTC), Decimal("1234.5"),
         dt.date(2024, 2, 1), True, 0.25, '{"Region":"EMEA"}'),
    ]
    # the sheet row number, not the line of some converted file
    assert quarantine(ws) == [(6, "amount", "lots", "invalid_amount")]


def test_xlsx_cells_beyond_the_header_are_a_wrong_field_count(ws: Workspace,
                                                              tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["account_id", "name"])
    sheet.append(["a1", "Acme"])
    sheet.append(["a2", "Beta", "stray"])
    sheet.append(["a3", "Gamma"])
    path = tmp_path / "accounts.xlsx"
    wb.save(path)
    ws.import_file("accounts", path)
    assert rows(ws, "accounts", "account_id") == [("a1",), ("a3",)]
    assert quarantine(ws) == [(3, None, None, "wrong_field_count")]


def test_parquet(ws: Workspace, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "contact_id": ["c1", "c2", None],
        "created_at": pa.array([dt.datetime(2024, 1, 5, 12), dt.datetime(2024, 1, 6),
                                dt.datetime(2024, 1, 7)], pa.timestamp("us")),
        "lead_score": [1.5, None, 2.0],
        "Extra Col": ["x", "y", "z"],
    })
    path = tmp_path / "contacts.parquet"
    pq.write_table(table, path)
    result = ws.import_file("contacts", path, timezone="America/New_York")
    assert result.dialect == "Parquet"
    assert rows(ws, "contacts", "contact_id, created_at, lead_score, extras") == [
        ("c1", dt.datetime(2024, 1, 5, 17, tzinfo=dt.UTC), 1.5, '{"Extra Col":"x"}'),
        ("c2", dt.datetime(2024, 1, 6, 5, tzinfo=dt.UTC), None, '{"Extra Col":"y"}'),
    ]
    assert quarantine(ws) == [(4, "contact_id", None, "missing_value")]

    # a zone-aware Parquet timestamp is an instant: kept exact whatever the file's zone
    aware = pa.table({"contact_id": ["c3"], "created_at": pa.array(
        [dt.datetime(2024, 1, 5, 12, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))})
    path2 = tmp_path / "aware.parquet"
    pq.write_table(aware, path2)
    ws.import_file("contacts", path2, timezone="America/New_York")
    assert rows(ws, "contacts", "created_at", "contact_id")[-1] == (
        dt.datetime(2024, 1, 5, 12, tzinfo=dt.UTC),)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a valid .xlsx"),
    ("broken.parquet", b"PAR1 nope", "could not be read as Parquet"),
    ("notes.docx", b"hello", "'.docx' is not one of them"),
])
def test_unreadable_files_are_rejected(ws: Workspace, write_file: FileWriter, name: str,
                                       content: bytes, words: str) -> None:
    result = ws.import_file("accounts", write_file(content, name))
    assert result.status == "rejected"
    message = issue(result, "file_rejected").message
    assert name in message and words in message
    assert ledger(ws) == [(1, "accounts", "rejected", None)]
    assert raw_files(ws) == []
