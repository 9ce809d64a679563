"""Validation rules and quarantine: every rule code sends its row to ``_quarantine`` with the
exact physical line (header = line 1), column and raw value; files that cannot be imported at
all are rejected whole; warnings keep their rows.

    SELECT source_row, column_name, raw_value, rule FROM _quarantine
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import (
    FileWriter,
    WorkspaceFactory,
    codes,
    issue,
    ledger,
    quarantine,
    raw_files,
    rows,
)
from funnelboard import schema
from funnelboard.workspace import Workspace

# table, file, expected quarantine rows: one case per rule code
RULE_CASES = {
    "invalid_number": ("contacts", "contact_id,created_at,lead_score\nc1,2024-01-01,7\n"
                       "c2,2024-01-01,seven\n", [(3, "lead_score", "seven", "invalid_number")]),
    "invalid_integer": ("accounts", "account_id,employee_count\na1,10\na2,ten\n",
                        [(3, "employee_count", "ten", "invalid_integer")]),
    "invalid_amount": ("opportunities", "opportunity_id,created_at,amount\n"
                       "o1,2024-01-01,5\no2,2024-01-01,5 dollars\n",
                       [(3, "amount", "5 dollars", "invalid_amount")]),
    "invalid_boolean": ("accounts", "account_id,is_target_account\na1,yes\na2,sometimes\n",
                        [(3, "is_target_account", "sometimes", "invalid_boolean")]),
    "invalid_date": ("campaigns", "campaign_id,start_date\nk1,2024-01-01\nk2,soon\n",
                     [(3, "start_date", "soon", "invalid_date")]),
    "invalid_timestamp": ("contacts", "contact_id,created_at\nc1,2024-01-01\nc2,later\n",
                          [(3, "created_at", "later", "invalid_timestamp")]),
    "probability_out_of_range": ("opportunities", "opportunity_id,created_at,amount,probability"
                                 "\no1,2024-01-01,5,0.5\no2,2024-01-01,5,101\n",
                                 [(3, "probability", "101", "probability_out_of_range")]),
    "nps_out_of_range": ("nps_responses", "response_id,responded_at,score\nr1,2024-01-01,10\n"
                         "r2,2024-01-01,11\n", [(3, "score", "11", "nps_out_of_range")]),
    "negative_value": ("ad_performance", "date,platform,campaign_id,clicks\n"
                       "2024-01-01,meta,k1,3\n2024-01-01,meta,k2,-3\n",
                       [(3, "clicks", "-3", "negative_value")]),
    "unknown_value": ("meetings", "meeting_id,booked_at,status\nm1,2024-01-01,held\n"
                      "m2,2024-01-01,postponed\n", [(3, "status", "postponed", "unknown_value")]),
    "missing_value": ("accounts", "account_id,name\na1,Acme\n,Nameless\n",
                      [(3, "account_id", None, "missing_value")]),
    "date_out_of_range": ("annotations", "date,label\n2024-01-01,launch\n1899-12-31,old\n",
                          [(3, "date", "1899-12-31", "date_out_of_range")]),
    "unknown_stage": ("stage_events", "contact_id,stage,entered_at\nc1,lead,2024-01-01\n"
                      "c1,demo,2024-01-02\n", [(3, "stage", "demo", "unknown_stage")]),
    "period_start_not_aligned": ("targets", "metric,period_start,grain,target\n"
                                 "leads,2024-04-01,quarter,10\nleads,2024-05-01,quarter,10\n",
                                 [(3, "period_start", "2024-05-01",
                                   "period_start_not_aligned")]),
    "missing_reference": ("touchpoints", "occurred_at,contact_id,account_id\n"
                          "2024-01-01,c1,\n2024-01-01,,\n",
                          [(3, "contact_id", None, "missing_reference")]),
    "wrong_field_count": ("accounts", "account_id,name\na1,Acme\na2,Beta,extra\n",
                          [(3, None, None, "wrong_field_count")]),
    "invalid_value": ("campaigns", "campaign_id,channel\nk1,Paid Search\nk2,???\n",
                      [(3, "channel", "???", "invalid_value")]),
}


@pytest.mark.parametrize("code", sorted(RULE_CASES))
def test_each_rule_quarantines_its_row_at_the_exact_line(ws: Workspace, write_file: FileWriter,
                                                         code: str) -> None:
    table, text, expected = RULE_CASES[code]
    result = ws.import_file(table, write_file(text))
    assert result.status == "imported", [i.message for i in result.issues]
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    assert quarantine(ws) == expected
    # the result says the same thing, as a sentence naming file, row and column
    found = issue(result, code)
    assert found.level == "error" and found.row == 3 and found.file == "f.csv"
    assert found.location().startswith("f.csv, row 3")
    assert "sent to quarantine" in found.message
    # the stored row is the one good row, nothing of the bad one
    assert rows(ws, table, "count(*)") == [(1,)]


def test_ratio_rules_on_a_ratio_column_other_than_probability(
        monkeypatch: pytest.MonkeyPatch, make_ws: WorkspaceFactory,
        write_file: FileWriter) -> None:
    """probability has its own code; any other ratio column uses ratio_out_of_range (the
    contract has no such column today, so a test table stands in)."""
    table = schema.Table(
        "test_rates", "entity", ("rate_id",), group="test", description="test only",
        columns=(schema.C("rate_id", "id", "id", required=True),
                 schema.C("share", "ratio", "a share")))
    monkeypatch.setitem(schema.TABLES, "test_rates", table)
    ws = make_ws()
    result = ws.import_file("test_rates", write_file(
        "rate_id,share\nr1,40\nr2,140\nr3,-0.1\nr4,lots\n"))
    assert quarantine(ws) == [
        (3, "share", "140", "ratio_out_of_range"),
        (4, "share", "-0.1", "ratio_out_of_range"),
        (5, "share", "lots", "invalid_ratio"),
    ]
    assert rows(ws, "test_rates", "rate_id, share") == [("r1", 0.4)]
    assert "percent_read" in codes(result)


def test_one_row_with_several_problems_is_listed_once_per_problem(
        ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("opportunities", write_file(
        "opportunity_id,created_at,amount,is_won,close_date\n"
        "o1,2024-01-01,5,true,2024-02-01\n"
        ",never,-5,perhaps,2024-13-01\n"))
    assert quarantine(ws) == [
        (3, "amount", "-5", "negative_value"),
        (3, "close_date", "2024-13-01", "invalid_date"),
        (3, "created_at", "never", "invalid_timestamp"),
        (3, "is_won", "perhaps", "invalid_boolean"),
        (3, "opportunity_id", None, "missing_value"),
    ]
    assert result.rows_quarantined == 1  # one row, five reasons


def test_quarantine_keeps_the_whole_raw_row_and_a_message(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file(
        "account_id,name,employee_count\na1,Acme,10\na2,Beta,ten\na3,Gamma,1,2\n"))
    stored = ws.query("SELECT source_row, message, raw_row::VARCHAR, import_id, table_name "
                      "FROM _quarantine ORDER BY source_row")
    assert stored[0][:2] == (3, "is not a whole number")
    assert json.loads(stored[0][2]) == {"account_id": "a2", "name": "Beta",
                                        "employee_count": "ten"}
    assert stored[1][0] == 4 and stored[1][1].startswith("has more fields than the header")
    assert json.loads(stored[1][2]) == {"line": stored[1][1]}
    assert {(r[3], r[4]) for r in stored} == {(1, "accounts")}


def test_quarantine_export_can_be_fixed_and_imported(ws: Workspace, write_file: FileWriter,
                                                     tmp_path: Path) -> None:
    from funnelboard import services

    ws.import_file("contacts", write_file(
        "contact_id,created_at,email\nc1,2024-01-05,a@x.com\nc2,2024-01-32,=cmd\n"))
    out = tmp_path / "fix-me.csv"
    assert services.export_quarantine(ws, 1, out) == 1
    with open(out, encoding="utf-8", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert exported == [{"import_id": "1", "table": "contacts", "source_row": "3",
                         "problems": "created_at: is not a date and time (use ISO 8601 such "
                         "as 2024-01-31 14:05, or set datetime_format in a mapping) "
                         "[invalid_timestamp]",
                         "contact_id": "c2", "created_at": "2024-01-32", "email": "'=cmd"}]
    # fix the date; the extra columns of the export land in extras, the escape is undone
    fixed = out.read_text(encoding="utf-8").replace("2024-01-32", "2024-01-31")
    result = ws.import_file("contacts", write_file(fixed))
    assert result.status == "imported"
    assert rows(ws, "contacts", "contact_id, created_at, email") == [
        ("c1", dt.datetime(2024, 1, 5, tzinfo=dt.UTC), "a@x.com"),
        ("c2", dt.datetime(2024, 1, 31, tzinfo=dt.UTC), "=cmd")]


# -- whole-file rejections --------------------------------------------------------------------

def _assert_nothing_written_but_a_rejected_ledger_row(ws: Workspace, table: str) -> None:
    assert rows(ws, table, "count(*)") == [(0,)]
    assert quarantine(ws) == []
    assert ledger(ws) == [(1, table, "rejected", None)]
    assert raw_files(ws) == []


def test_a_file_without_a_single_good_row_is_rejected(ws: Workspace,
                                                      write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at\nc1,yesterday\nc2,\n"))
    assert result.status == "rejected"
    assert result.message == "rejected: nothing was written"
    assert codes(result, "error") == {"invalid_timestamp", "missing_value", "no_good_rows"}
    # the row-level findings say the rows were not imported, not that they are in quarantine
    assert "(not imported)" in issue(result, "invalid_timestamp").message
    _assert_nothing_written_but_a_rejected_ledger_row(ws, "contacts")
    stored = json.loads(ws.query("SELECT issues FROM _imports")[0][0])
    assert {i["code"] for i in stored} == {"invalid_timestamp", "missing_value", "no_good_rows"}


def test_a_file_with_only_a_header_is_rejected(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file("contact_id,created_at\n\n"))
    assert result.status == "rejected"
    assert issue(result, "no_good_rows").message == (
        "f.csv has a header but no data rows, so nothing was imported.")
    _assert_nothing_written_but_a_rejected_ledger_row(ws, "contacts")


def test_a_missing_required_column_is_rejected(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("opportunities", write_file(
        "opportunity_id,created_at\no1,2024-01-01\n"))
    assert result.status == "rejected"
    message = issue(result, "file_rejected").message
    assert message.startswith("f.csv has no column for the required opportunities column(s) "
                              "amount.")
    _assert_nothing_written_but_a_rejected_ledger_row(ws, "opportunities")


def test_an_unreadable_file_is_rejected(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(b"\x00\x00\x00\x01\x02", "contacts.csv"))
    assert result.status == "rejected"
    assert issue(result, "file_rejected").message.startswith("contacts.csv contains NUL bytes")
    _assert_nothing_written_but_a_rejected_ledger_row(ws, "contacts")


def test_a_rejected_file_leaves_earlier_imports_untouched(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file("account_id,name\na1,Acme\n"))
    result = ws.import_file("accounts", write_file("account_id,name\na1,\"Changed\na2,Beta\n"))
    assert result.status == "rejected"
    assert rows(ws, "accounts", "account_id, name") == [("a1", "Acme")]
    assert [r[2] for r in ledger(ws)] == ["imported", "rejected"]


# -- warnings keep their rows -----------------------------------------------------------------

def test_stage_order_warning_keeps_the_rows(ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,lead_at,mql_at,sql_at\n"
        "c1,2024-01-01,2024-01-01,2024-01-03,2024-01-05\n"
        "c2,2024-01-01,2024-01-05,2024-01-03,\n"    # mql before lead
        "c3,2024-01-01,2024-01-05,,2024-01-04\n"))  # sql before lead, mql empty
    warning = issue(result, "stage_order")
    assert (warning.level, warning.row, warning.count) == ("warning", 3, 2)
    assert result.status == "imported" and rows(ws, "contacts", "count(*)") == [(3,)]


def test_unknown_reference_warning_keeps_the_rows(ws: Workspace,
                                                  write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file("account_id\na1\n"))
    result = ws.import_file("contacts", write_file(
        "contact_id,created_at,account_id\nc1,2024-01-01,a1\nc2,2024-01-01,a9\n"
        "c3,2024-01-01,a9\nc4,2024-01-01,\n"))
    warning = issue(result, "unknown_reference")
    assert (warning.row, warning.count, warning.value, warning.column) == (3, 2, "a9",
                                                                         "account_id")
    assert "not in accounts" in warning.message
    assert rows(ws, "contacts", "count(*)") == [(4,)]


def test_stage_events_of_unknown_contacts_are_kept_and_reported(
        ws: Workspace, write_file: FileWriter) -> None:
    result = ws.import_file("stage_events", write_file(
        "contact_id,stage,entered_at\nghost,lead,2024-01-01\n"))
    assert "funnels ignore these stage entries" in issue(result, "unknown_reference").message
    assert rows(ws, "stage_events", "contact_id, stage") == [("ghost", "lead")]


def test_future_dates_warn_against_the_as_of_date(ws: Workspace,
                                                  write_file: FileWriter) -> None:
    text = ("opportunity_id,created_at,amount,close_date\n"
            "o1,2024-06-30 23:59,5,2024-12-31\n"
            "o2,2024-07-01,5,2024-12-31\n")
    result = ws.import_file("opportunities", write_file(text), as_of=dt.date(2024, 6, 30))
    warning = issue(result, "future_date")
    # created_at after the as-of date warns; an expected close date in the future does not
    assert (warning.column, warning.row, warning.count) == ("created_at", 3, 1)
    assert rows(ws, "opportunities", "count(*)") == [(2,)]
    later = ws.import_file("opportunities", write_file(text), as_of=dt.date(2024, 7, 1))
    assert "future_date" not in codes(later)


def test_duplicate_key_in_a_file_warns_and_the_later_row_wins(ws: Workspace,
                                                              write_file: FileWriter) -> None:
    result = ws.import_file("accounts", write_file(
        "account_id,name\na1,First\na2,Other\na1,Second\n"))
    warning = issue(result, "duplicate_key")
    assert (warning.level, warning.row, warning.count) == ("warning", 4, 1)
    assert rows(ws, "accounts", "account_id, name") == [("a1", "Second"), ("a2", "Other")]


def test_every_rule_code_is_tested_and_documented() -> None:
    from funnelboard.ingest.rules import TYPE_RULES

    tested = set(RULE_CASES) | {"ratio_out_of_range", "invalid_ratio"}
    assert {code for code, _ in TYPE_RULES.values()} <= tested
    doc = (Path(__file__).resolve().parents[1] / "docs" / "importing.md").read_text(
        encoding="utf-8")
    missing = [code for code in sorted(tested) if f"| `{code}` |" not in doc]
    assert not missing, missing


def test_an_empty_optional_key_with_allowed_values_is_accepted(
    ws: Workspace, write_file: FileWriter
) -> None:
    """web_traffic.visitor_type and costs.team are optional key columns with a vocabulary: an
    empty cell is stored as '' (contract: optional keys are never NULL), not rejected as an
    unknown value; a wrong value still is."""
    web = write_file("date,sessions,visitor_type\n2024-01-02,5,\n2024-01-02,3,returning\n"
                     "2024-01-02,1,loyal\n")
    r = ws.import_file("web_traffic", web)
    assert (r.rows_accepted, r.rows_quarantined) == (2, 1)
    assert quarantine(ws) == [(4, "visitor_type", "loyal", "unknown_value")]
    assert ws.query("SELECT visitor_type, sessions FROM web_traffic ORDER BY 1") == [
        ("", 5), ("returning", 3)]
    costs = write_file("month,category,amount,team\n2024-01-01,tools,100,\n")
    assert ws.import_file("costs", costs).rows_accepted == 1
    assert ws.query("SELECT team, amount FROM costs") == [("", 100)]
