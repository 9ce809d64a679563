"""Import templates: headers straight from the schema, and XLSX headers that explain
themselves (a comment per header cell, required columns in bold, an About sheet)."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from funnelboard.errors import UsageError
from funnelboard.ingest.templates import write_template
from funnelboard.schema import TABLES, TYPE_HELP
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

STAGE_COLUMNS = ["lead_at", "mql_at", "sql_at", "opportunity_at", "customer_at"]
SETTINGS = Settings()


def _expected(table: str) -> list[str]:
    return TABLES[table].column_names + (STAGE_COLUMNS if table == "contacts" else [])


@pytest.mark.parametrize("table", list(TABLES))
def test_csv_template_header_is_the_schema(table: str, tmp_path: Path) -> None:
    out = write_template(table, tmp_path / f"{table}.csv", SETTINGS)
    assert out == tmp_path / f"{table}.csv"
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 1
    assert next(csv.reader([text.strip()])) == _expected(table)


def test_header_line_without_a_file() -> None:
    assert write_template("costs", None, SETTINGS) == \
        "month,category,amount,team,channel,campaign_id"
    assert write_template("Stage_Events ", None, SETTINGS) == "contact_id,stage,entered_at"


def test_contacts_template_follows_the_configured_stages() -> None:
    custom = Settings(stages=("lead", "sal", "won"))
    line = write_template("contacts", None, custom)
    assert isinstance(line, str)
    assert line.endswith(",owner,lead_at,sal_at,won_at")


@pytest.mark.parametrize("table", list(TABLES))
def test_xlsx_template_headers_carry_comments(table: str, tmp_path: Path) -> None:
    out = write_template(table, tmp_path / f"{table}.xlsx", SETTINGS)
    assert isinstance(out, Path)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [table, "About"]
    sheet = wb[table]
    header = next(sheet.iter_rows(min_row=1, max_row=1))
    assert [c.value for c in header] == _expected(table)
    assert sheet.max_row == 1
    assert sheet.freeze_panes == "A2"
    spec = TABLES[table]
    for cell in header:
        assert cell.comment is not None, cell.value
        text = cell.comment.text
        if spec.has(cell.value):
            col = spec.column(cell.value)
            assert col.description in text
            assert TYPE_HELP[col.type] in text
            assert ("Required" in text) == col.required, (cell.value, text)
            assert cell.font.b == col.required, cell.value
            for choice in col.choices:
                assert choice in text
        else:  # a contact's stage column
            assert TYPE_HELP["ts"] in text and "Required" not in text
    about = [r[0] for r in wb["About"].iter_rows(values_only=True)]
    assert about[0] == f"Table: {table}"
    assert spec.description in about
    wb.close()


def test_xlsx_comment_names_bounds_and_allowed_values(tmp_path: Path) -> None:
    out = write_template("nps_responses", tmp_path / "nps.xlsx", SETTINGS)
    assert isinstance(out, Path)
    wb = openpyxl.load_workbook(out)
    score = wb["nps_responses"]["C1"]
    assert score.value == "score"
    assert score.comment is not None
    assert "Must be at least 0 and at most 10." in score.comment.text
    assert "Required: every row needs a value." in score.comment.text
    wb.close()


def test_filled_in_template_imports(tmp_path: Path) -> None:
    """The template's header is what the importer expects: filled in, it imports as is."""
    out = write_template("mrr", tmp_path / "mrr.csv", SETTINGS)
    assert isinstance(out, Path)
    with out.open("a", encoding="utf-8") as fh:
        fh.write("2024-01-01,A1,100,Pro,3\n")
    with Workspace.init(tmp_path / "ws") as ws:
        result = ws.import_file("mrr", out)
        assert (result.status, result.rows_inserted) == ("imported", 1)
        assert not [i for i in result.issues if i.code == "extra_columns"]


def test_bad_names_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.csv or \.xlsx"):
        write_template("accounts", tmp_path / "a.parquet", SETTINGS)
    with pytest.raises(UsageError, match="Unknown table 'acounts'"):
        write_template("acounts", tmp_path / "a.csv", SETTINGS)
    with pytest.raises(UsageError, match="does not exist"):
        write_template("accounts", tmp_path / "missing" / "a.csv", SETTINGS)
    assert not list(tmp_path.iterdir())
