"""Dry runs write nothing and show what would happen; --max-bad-rows turns "some rows were
quarantined" into "the file is rejected" above a count or a share of the rows read."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import FileWriter, codes, issue, ledger, quarantine, raw_files, rows
from funnelboard.errors import UsageError
from funnelboard.workspace import Workspace

TEN = "contact_id,created_at,Shoe size\n" + "".join(
    f"c{i},{'not a date' if i in (3, 7) else f'2024-01-{i + 1:02d}'},42\n" for i in range(10))


def test_dry_run_writes_nothing_and_returns_a_preview(ws: Workspace,
                                                      write_file: FileWriter) -> None:
    result = ws.import_file("contacts", write_file(TEN), dry_run=True)
    assert (result.status, result.message) == ("dry_run", "dry run: nothing was written")
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (10, 8, 2)
    assert result.import_id is None
    assert issue(result, "invalid_timestamp").count == 2
    assert "extra_columns" in codes(result)
    assert len(result.preview) == 8
    assert result.preview[0] == {
        "__line": 2, "contact_id": "c0", "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "extras": '{"Shoe size":"42"}'}
    assert [p["__line"] for p in result.preview] == [2, 3, 4, 6, 7, 8, 10, 11]
    assert rows(ws, "contacts", "count(*)") == [(0,)]
    assert rows(ws, "stage_events", "count(*)") == [(0,)]
    assert quarantine(ws) == []
    assert ledger(ws) == []
    assert raw_files(ws) == []


def test_dry_run_of_a_file_that_would_be_rejected(ws: Workspace,
                                                  write_file: FileWriter) -> None:
    missing = ws.import_file("contacts", write_file("contact_id\nc1\n"), dry_run=True)
    hopeless = ws.import_file("contacts", write_file("contact_id,created_at\nc1,x\n"),
                              dry_run=True)
    too_many = ws.import_file("contacts", write_file(TEN), dry_run=True, max_bad_rows=1)
    assert [r.status for r in (missing, hopeless, too_many)] == ["rejected"] * 3
    assert ledger(ws) == [] and raw_files(ws) == []


def test_dry_run_then_real_import_agree(ws: Workspace, write_file: FileWriter) -> None:
    path = write_file(TEN)
    dry = ws.import_file("contacts", path, dry_run=True)
    real = ws.import_file("contacts", path)
    assert real.status == "imported"
    assert (real.rows_accepted, real.rows_quarantined) == (dry.rows_accepted,
                                                           dry.rows_quarantined)
    assert [(i.code, i.row) for i in real.issues] == [(i.code, i.row) for i in dry.issues]


@pytest.mark.parametrize(("limit", "status"), [
    (None, "imported"), (2, "imported"), ("2", "imported"), (1, "rejected"), (0, "rejected"),
    ("20%", "imported"), ("19%", "rejected"), ("0%", "rejected"), ("100%", "imported"),
])
def test_max_bad_rows_as_count_and_share(ws: Workspace, write_file: FileWriter,
                                         limit: int | str | None, status: str) -> None:
    result = ws.import_file("contacts", write_file(TEN), max_bad_rows=limit)
    assert result.status == status
    if status == "rejected":
        error = issue(result, "too_many_bad_rows")
        assert error.message == (f"2 of 10 rows failed validation, more than --max-bad-rows "
                                 f"{limit}; the file was rejected.")
        assert "(2 rows, first on line 5; not imported)" in issue(
            result, "invalid_timestamp").message
        assert rows(ws, "contacts", "count(*)") == [(0,)]
        assert quarantine(ws) == []
        assert ledger(ws) == [(1, "contacts", "rejected", None)]
    else:
        assert rows(ws, "contacts", "count(*)") == [(8,)]
        assert quarantine(ws) == [(5, "created_at", "not a date", "invalid_timestamp"),
                                  (9, "created_at", "not a date", "invalid_timestamp")]


@pytest.mark.parametrize("limit", ["many", "-1", "150%", "2.5"])
def test_bad_max_bad_rows_is_a_usage_error_before_any_work(ws: Workspace,
                                                           write_file: FileWriter,
                                                           limit: str) -> None:
    with pytest.raises(UsageError, match="--max-bad-rows"):
        ws.import_file("contacts", write_file(TEN), max_bad_rows=limit)
    assert ledger(ws) == []


def test_wrong_field_count_rows_count_as_bad_rows(ws: Workspace,
                                                  write_file: FileWriter) -> None:
    text = "account_id,name\na1,x\na2,y,z\na3,w\n"
    result = ws.import_file("accounts", write_file(text), max_bad_rows=0)
    assert result.status == "rejected" and result.rows_quarantined == 1
    assert ws.import_file("accounts", write_file(text), max_bad_rows=1).status == "imported"
