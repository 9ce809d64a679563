"""``metrics list``, ``metrics show`` and ``funnel`` on a seven-contact workspace whose numbers
are counted by hand below.

As of 2025-03-31, cohort basis, cumulative rule (a later stage implies the earlier ones):

========  =======  ====  ===  ===  ===========  ========
cohort    created  lead  mql  sql  opportunity  customer
========  =======  ====  ===  ===  ===========  ========
2025-01   3        3     2    1    1            0         c1 c2 c3
2025-02   3        2     1    0    0            0         c4 c5 c6 (c5 reached nothing)
2025-03   1        1     1    1    0            0         c7
========  =======  ====  ===  ===  ===========  ========
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import WorkspaceFactory
from funnelboard.cli.app import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
AS_OF = "2025-03-31"

CONTACTS = textwrap.dedent("""\
    contact_id,created_at,channel,persona,lead_at,mql_at,sql_at,opportunity_at,customer_at
    c1,2025-01-05,paid_search,"=HYPERLINK(""http://x"")",2025-01-05,2025-01-10,,,
    c2,2025-01-06,paid_search,cfo,2025-01-06,,,,
    c3,2025-01-20,webinar,cto,2025-01-21,2025-01-25,2025-02-03,2025-02-20,
    c4,2025-02-02,webinar,cfo,2025-02-02,2025-02-05,,,
    c5,2025-02-10,,cfo,,,,,
    c6,2025-02-11,paid_search,cto,2025-02-12,,,,
    c7,2025-03-03,webinar,cfo,2025-03-03,2025-03-04,2025-03-10,,
    """)


@pytest.fixture
def folder(make_ws: WorkspaceFactory, tmp_path: Path) -> Path:
    """A closed workspace holding the seven contacts (so the CLI can open it)."""
    ws = make_ws()
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    assert ws.import_file("contacts", path).status == "imported"
    ws.close()
    return ws.path


def run(folder: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["-w", str(folder), "--as-of", AS_OF, *args], env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def test_metrics_list_has_the_funnel_keys(folder: Path) -> None:
    code, out, _ = run(folder, "metrics", "list", "--format", "json")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)}
    assert rows["leads"]["group"] == "funnel" and rows["leads"]["unit"] == "count"
    assert rows["lead_to_mql_rate"]["group"] == "funnel"
    assert rows["lead_to_mql_rate"]["unit"] == "ratio"
    assert rows["lead_to_mql_rate"]["aggregation"] == "ratio"
    assert rows["customers"]["indicator"] == "lagging"
    assert rows["leads"]["indicator"] == "leading"
    assert rows["leads"]["definition"]

    code, out, _ = run(folder, "metrics", "list", "--group", "funnel")
    assert code == 0 and "lead_to_mql_rate" in out and "Contacts created" in out

    code, out, _ = run(folder, "metrics", "list", "-f", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["key"] for r in table][:3] == ["contacts_created", "leads", "mqls"]
    assert table[1]["indicator"] == "leading"

    code, _, err = run(folder, "metrics", "list", "--group", "funel")
    assert code == 2 and "Did you mean 'funnel'" in err


def test_metrics_show_json_is_the_metric_result(folder: Path) -> None:
    code, out, err = run(folder, "metrics", "show", "leads", "--format", "json")
    assert code == 0, err
    data = json.loads(out)  # stdout holds the JSON and nothing else
    assert data["metric"] == "leads" and data["unit"] == "count"
    assert data["query"]["as_of"] == AS_OF and data["query"]["grain"] == "month"
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in data["rows"]] == [
        ("2025-01-01", "2025-01-31", 3, False), ("2025-02-01", "2025-02-28", 2, False),
        ("2025-03-01", "2025-03-31", 1, False)]

    code, out, _ = run(folder, "metrics", "show", "lead_to_mql_rate", "-f", "json")
    rows = json.loads(out)["rows"]
    assert [(r["numerator"], r["denominator"]) for r in rows] == [(2, 3), (1, 2), (1, 1)]
    assert [r["value"] for r in rows] == pytest.approx([2 / 3, 0.5, 1.0])


def test_metrics_show_options_reach_the_engine(folder: Path) -> None:
    code, out, _ = run(folder, "metrics", "show", "leads", "--grain", "quarter",
                       "--filter", "channel=webinar", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert [(r["period"], r["value"]) for r in data["rows"]] == [("2025-01-01", 3)]
    assert data["query"]["filters"] == {"channel": ["webinar"]}

    code, out, _ = run(folder, "metrics", "show", "mqls", "--by", "channel", "-f", "json")
    cells = {(r["period"], r["channel"]): r["value"] for r in json.loads(out)["rows"]}
    assert cells[("2025-01-01", "paid_search")] == 1
    assert cells[("2025-01-01", "webinar")] == 1
    assert cells[("2025-02-01", "webinar")] == 1
    assert cells[("2025-02-01", "paid_search")] == 0

    # the option after the command wins over the global one
    result = runner.invoke(app, ["-w", str(folder), "--as-of", "2025-12-31", "metrics", "show",
                                 "sqls", "--as-of", "2025-02-28", "-f", "json"], env=WIDE)
    rows = json.loads(result.stdout)["rows"]
    assert [(r["period"], r["value"], r["partial"]) for r in rows] == [
        ("2025-01-01", 1, False), ("2025-02-01", 0, False)]


def test_metrics_show_table(folder: Path) -> None:
    code, out, _ = run(folder, "metrics", "show", "lead_to_mql_rate", "--compare", "previous")
    assert code == 0
    assert "Contacts that reached mql" in out  # the definition on top
    lines = [ln for ln in out.splitlines() if "2025-0" in ln]
    assert "66.7%" in lines[0] and "50.0%" in lines[1] and "100.0%" in lines[2]
    assert "-16.7 pp" in lines[1] and "+50.0 pp" in lines[2]
    code, out, err = run(folder, "metrics", "show", "leads", "--start", "2025-03-01",
                         "--end", "2025-03-15")
    assert "2025-03 *" in out and "partial period" in err


def test_metrics_show_csv_neutralises_formulas(folder: Path) -> None:
    code, out, _ = run(folder, "metrics", "show", "leads", "--by", "persona", "-f", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["period", "period_end", "persona", "value", "numerator", "denominator",
                       "n", "partial", "extra"]
    jan = {r[2]: r for r in rows[1:] if r[0] == "2025-01-01"}
    assert set(jan) == {"'=HYPERLINK(\"http://x\")", "cfo", "cto"}
    assert jan["cfo"][3] == "1" and jan["cfo"][7] == "false"
    assert json.loads(jan["cfo"][8]) == {"inferred": 0}
    assert not any(cell.startswith("=") for r in rows for cell in r)

    code, out, err = run(folder, "metrics", "show", "leads", "--compare", "previous", "-f", "csv")
    rows = list(csv.reader(io.StringIO(out)))  # stdout is CSV alone; the note is on stderr
    assert rows[0][-6:] == ["previous_value", "delta", "delta_pct", "previous_numerator",
                            "previous_denominator", "extra"]
    assert [(r[2], r[7], r[8]) for r in rows[1:]] == [("3", "0", "3"), ("2", "3", "-1"),
                                                      ("1", "2", "-1")]
    assert "Compared with the previous period" in err


def test_funnel_table_json_and_csv(folder: Path) -> None:
    code, out, _ = run(folder, "funnel")
    assert code == 0
    jan = next(ln for ln in out.splitlines() if "2025-01" in ln)
    cells = [c.strip() for c in jan.strip("│ ").split("│")]
    assert cells == ["2025-01", "3", "3 · 100.0%", "2 · 66.7%", "1 · 50.0%", "1 · 100.0%",
                     "0 · 0.0%"]
    feb = next(ln for ln in out.splitlines() if "2025-02" in ln)
    assert [c.strip() for c in feb.strip("│ ").split("│")] == [
        "2025-02", "3", "2 · 66.7%", "1 · 50.0%", "0 · 0.0%", "0", "0"]

    code, out, _ = run(folder, "funnel", "-f", "json")
    data = json.loads(out)
    assert data["metric"] == "funnel"
    march = [(r["stage"], r["value"], r["denominator"]) for r in data["rows"]
             if r["period"] == "2025-03-01"]
    assert march == [("lead", 1, 1), ("mql", 1, 1), ("sql", 1, 1), ("opportunity", 0, 1),
                     ("customer", 0, 0)]

    code, out, _ = run(folder, "funnel", "--by", "channel", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:4] == ["period", "period_end", "channel", "stage"]
    got = {(r["period"], r["channel"], r["stage"]): r["value"] for r in rows}
    assert got[("2025-02-01", "unassigned", "lead")] == "0"
    assert got[("2025-01-01", "paid_search", "mql")] == "1"


def test_errors_are_clean(folder: Path) -> None:
    code, out, err = run(folder, "metrics", "show", "lead")
    assert code == 2 and "Did you mean 'leads'" in err and "Traceback" not in err + out
    code, _, err = run(folder, "metrics", "show", "leads", "--grain", "fortnight")
    assert code == 2 and "--grain 'fortnight'" in err
    code, _, err = run(folder, "funnel", "--grain", "fortnight")
    assert code == 2 and "day, week, month, quarter, year" in err
    code, _, err = run(folder, "metrics", "show", "leads", "--by", "colour")
    assert code == 2 and "colour" in err
    code, _, err = run(folder, "metrics", "show", "leads", "--filter", "webinar")
    assert code == 2 and "DIMENSION=VALUE" in err
    code, _, err = run(folder, "metrics", "show", "leads", "-f", "xml")
    assert code == 2 and "table, csv, json" in err
