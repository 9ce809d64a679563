"""Golden tests of the year-to-date report card (S4-1; docs/planning.md, "Report card").

CARD is a UTC workspace; the card is for fiscal year 2025 as of 2025-06-15 (Jan-May whole,
June 15 of 30 days: 5.5 months of plan to date, linear). Actuals on the period basis (stage
first reached from 2025-01-01 to 2025-06-15):

    contact  channel      lead   mql    sql    opp    customer
    c1       webinar      01-10  02-10  03-01  04-01  07-10 (after the as-of date)
    c2       webinar      02-01  03-01  04-01  05-01  06-01
    c3       paid_search  03-01  04-01  05-01  06-01  09-01 (after)
    c4       paid_search  04-01  05-01  06-01  08-01  -
    c5       webinar      05-01  06-01  -      -      -
    c6       webinar      06-01
    c7       webinar      06-20 (after)

Leads 6 (webinar 4, paid_search 2), MQLs 5, SQLs 4, opportunities 3, customers 1. Sessions:
400 (03-15) + 600 (05-15) = 1,000 (the 50 of 06-20 come after). Deals won by 06-15: o2
(webinar, new business, marketing-sourced, 2,000, 06-01) and o4 (expansion, sales-sourced,
5,000, 03-01); o1 and o3 close after. Marketing cost: 200 a month Jan-May = 1,000.

PLAN (kind plan, monthly, 2025): leads 2 a month in total and 1 each for webinar and
paid_search, MQLs 1, customers 0.5, bookings 900, sessions 250. To date (× 5.5): leads 11 (5.5
per channel), MQLs 5.5, customers 2.75, bookings 4,950, sessions 1,375.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FileWriter
from funnelboard import services
from funnelboard.cli.app import app
from funnelboard.errors import UsageError
from funnelboard.plan.inputs import PlanRequest
from funnelboard.plan.report import report_card
from funnelboard.workspace import Workspace

AS_OF = dt.date(2025, 6, 15)
runner = CliRunner()

CONTACTS = """\
contact_id,created_at,channel,lead_at,mql_at,sql_at,opportunity_at,customer_at
c1,2025-01-10T00:00:00Z,webinar,2025-01-10T00:00:00Z,2025-02-10T00:00:00Z,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-07-10T00:00:00Z
c2,2025-02-01T00:00:00Z,webinar,2025-02-01T00:00:00Z,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z
c3,2025-03-01T00:00:00Z,paid_search,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,2025-09-01T00:00:00Z
c4,2025-04-01T00:00:00Z,paid_search,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,2025-08-01T00:00:00Z,
c5,2025-05-01T00:00:00Z,webinar,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,,,
c6,2025-06-01T00:00:00Z,webinar,2025-06-01T00:00:00Z,,,,
c7,2025-06-20T00:00:00Z,webinar,2025-06-20T00:00:00Z,,,,
"""
OPPORTUNITIES = """\
opportunity_id,created_at,amount,is_closed,is_won,close_date,type,channel,source_type
o1,2025-04-01T00:00:00Z,1000,true,true,2025-07-10,new_business,webinar,marketing
o2,2025-05-01T00:00:00Z,2000,true,true,2025-06-01,new_business,webinar,marketing
o3,2025-06-01T00:00:00Z,3000,true,true,2025-09-01,new_business,paid_search,marketing
o4,2025-01-15T00:00:00Z,5000,true,true,2025-03-01,expansion,webinar,sales
"""
WEB = """\
date,channel,sessions
2025-03-15,paid_search,400
2025-05-15,organic_search,600
2025-06-20,paid_search,50
"""
COSTS = "month,category,amount,team\n" + "".join(
    f"2025-{m:02d}-01,programs,200,marketing\n" for m in range(1, 6))


def targets_csv(rows: list[tuple[str, str, str, float, str, str, str]]) -> str:
    lines = ["metric,period_start,grain,target,dimension,dimension_value,kind"]
    lines += [",".join(str(c) for c in r) for r in rows]
    return "\n".join(lines) + "\n"


def monthly(metric: str, value: float, dim: str = "", dim_value: str = "",
            kind: str = "plan") -> list[tuple[str, str, str, float, str, str, str]]:
    return [(metric, f"2025-{m:02d}-01", "month", value, dim, dim_value, kind)
            for m in range(1, 13)]


PLAN = [*monthly("leads", 2), *monthly("leads", 1, "channel", "webinar"),
        *monthly("leads", 1, "channel", "paid_search"), *monthly("mqls", 1),
        *monthly("customers", 0.5), *monthly("bookings", 900), *monthly("sessions", 250)]


def load(ws: Workspace, write_file: FileWriter,
         targets: list[tuple[str, str, str, float, str, str, str]] | None = None) -> Workspace:
    for table, text in (("contacts", CONTACTS), ("opportunities", OPPORTUNITIES),
                        ("web_traffic", WEB), ("costs", COSTS)):
        result = ws.import_file(table, write_file(text, name=f"{table}.csv"))
        assert result.ok and result.rows_quarantined == 0, (table, result.message)
    if targets:
        result = ws.import_file("targets", write_file(targets_csv(targets), name="t.csv"))
        assert result.ok and result.rows_quarantined == 0, result.message
    return ws


@pytest.fixture
def card_ws(ws: Workspace, write_file: FileWriter) -> Workspace:
    return load(ws, write_file, PLAN)


def by_metric(lines: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {(x.get("value"), x["metric"]) if "value" in x else x["metric"]: x for x in lines}


def test_report_card_stages(card_ws: Workspace) -> None:
    """Per stage (plan to date, actual, attainment, status with on track ≥ 95 %, behind
    < 80 %): customers 2.75 / 1 = 36.4 % behind; bookings (new business only: o2's 2,000; the
    expansion o4 is not the plan's) 4,950 / 2,000 = 40.4 % behind; leads 11 / 6 = 54.5 %
    behind; sessions 1,375 / 1,000 = 72.7 % behind; MQLs 5.5 / 5 = 90.9 % at risk — in that
    order (lowest attainment first). Plan for the year: leads 24, MQLs 12, customers 6."""
    card = report_card(card_ws, None, AS_OF)
    assert card["targets_kind"] == "plan"
    assert card["period"]["label"] == "2025"
    assert card["ytd"] == {"start": "2025-01-01", "end": "2025-06-15",
                           "elapsed_share": pytest.approx(166 / 365)}
    order = [x["metric"] for x in card["stages"]]
    assert order == ["customers", "bookings", "leads", "sessions", "mqls"]
    lines = by_metric(card["stages"])
    expected = {"customers": (2.75, 1, "behind"), "bookings": (4950, 2000, "behind"),
                "leads": (11, 6, "behind"), "sessions": (1375, 1000, "behind"),
                "mqls": (5.5, 5, "at_risk")}
    for metric, (plan, actual, status) in expected.items():
        line = lines[metric]
        assert line["plan_ytd"] == pytest.approx(plan), metric
        assert line["actual_ytd"] == pytest.approx(actual), metric
        assert line["gap"] == pytest.approx(actual - plan), metric
        assert line["attainment"] == pytest.approx(actual / plan), metric
        assert line["status"] == status, metric
        assert line["grain"] == "month"
    assert lines["leads"]["plan_year"] == pytest.approx(24)
    assert lines["bookings"]["plan_year"] == pytest.approx(10800)


def test_report_card_channels(card_ws: Workspace) -> None:
    """Per channel: paid_search leads 5.5 / 2 = 36.4 % first, then webinar 5.5 / 4 = 72.7 %."""
    card = report_card(card_ws, 2025, AS_OF)
    assert [(x["value"], x["metric"]) for x in card["channels"]] == [
        ("paid_search", "leads"), ("webinar", "leads")]
    lines = by_metric(card["channels"])
    assert lines[("paid_search", "leads")]["actual_ytd"] == 2
    assert lines[("webinar", "leads")]["actual_ytd"] == 4
    assert lines[("webinar", "leads")]["plan_ytd"] == pytest.approx(5.5)
    assert lines[("webinar", "leads")]["dimension"] == "channel"


def test_report_card_rates_and_roi(card_ws: Workspace) -> None:
    """Rates of the year so far (period basis) beside the plan's ratios: visit→lead plan 24 /
    3,000 = 0.8 %, actual 6 / 1,000; lead→MQL plan 12 / 24, actual 5 / 6; MQL→SQL actual 4 / 5
    (no SQL plan); SQL→opportunity 3 / 4; opportunity→customer 1 / 3. Marketing ROI: (2,000
    marketing-sourced × 0.8 gross margin − 1,000 cost) ÷ 1,000 = 0.6, the same as the
    catalogue's marketing_roi over the window."""
    card = report_card(card_ws, 2025, AS_OF)
    rates = {r["transition"]: r for r in card["rates"]}
    assert rates["visit_to_lead"]["plan"] == pytest.approx(0.008)
    assert (rates["visit_to_lead"]["numerator"], rates["visit_to_lead"]["denominator"]) == \
        (6, 1000)
    assert rates["lead_to_mql"]["plan"] == pytest.approx(0.5)
    assert rates["lead_to_mql"]["actual"] == pytest.approx(5 / 6)
    assert rates["mql_to_sql"]["plan"] is None
    assert rates["mql_to_sql"]["actual"] == pytest.approx(0.8)
    assert rates["sql_to_opportunity"]["actual"] == pytest.approx(0.75)
    assert rates["opportunity_to_customer"]["actual"] == pytest.approx(1 / 3)
    roi = card["marketing_roi"]
    assert roi["value"] == pytest.approx(0.6)
    check = card_ws.metric("marketing_roi", start="2025-01-01", end="2025-06-15", as_of=AS_OF,
                           grain="year")
    assert roi["value"] == pytest.approx(check.rows[0]["value"])


def test_okr_fallback_and_finest_grain(ws: Workspace, write_file: FileWriter) -> None:
    """No plan rows: the OKR rows are used, and the card says so. Leads 6 a quarter: to date
    Q1 whole (6) + Q2 from April 1 to June 15 (76 of 91 days): 6 + 6 × 76/91 = 11.011.
    MQLs have a Q1 row of 100 and monthly rows of 1 for January-March: the months win (3 to
    date, not 103). Bookings of OKR targets are every deal type: o2 2,000 + o4 5,000 = 7,000
    against Q1's 3,000. A stock metric (mrr) and an unknown key are left out with a note."""
    okr = [*[("leads", f"2025-{m:02d}-01", "quarter", 6, "", "", "okr") for m in (1, 4, 7, 10)],
           ("mqls", "2025-01-01", "quarter", 100, "", "", "okr"),
           *[("mqls", f"2025-{m:02d}-01", "month", 1, "", "", "okr") for m in (1, 2, 3)],
           ("bookings", "2025-01-01", "quarter", 3000, "", "", "okr"),
           ("mrr", "2025-01-01", "quarter", 500, "", "", "okr"),
           ("no_such_metric", "2025-01-01", "quarter", 5, "", "", "okr")]
    load(ws, write_file, okr)
    card = report_card(ws, 2025, AS_OF)
    assert card["targets_kind"] == "okr"
    assert any("no plan for 2025" in n and "OKR targets instead" in n for n in card["notes"])
    lines = by_metric(card["stages"])
    assert lines["leads"]["plan_ytd"] == pytest.approx(6 + 6 * 76 / 91)
    assert lines["leads"]["grain"] == "quarter"
    assert lines["mqls"]["plan_ytd"] == pytest.approx(3) and lines["mqls"]["grain"] == "month"
    assert lines["bookings"]["actual_ytd"] == pytest.approx(7000)
    assert lines["bookings"]["status"] == "on_track"
    assert "mrr" not in lines
    assert any("The target on mrr (stock) is not a sum" in n for n in card["notes"])
    assert any("'no_such_metric', which is not a metric" in n for n in card["notes"])


def test_total_summed_from_channel_targets(ws: Workspace, write_file: FileWriter) -> None:
    """Only webinar has a leads plan (1 a month): the total line sums the channel targets
    (5.5 to date) and compares them with webinar's actual leads (4), not all 6."""
    load(ws, write_file, monthly("leads", 1, "channel", "webinar"))
    card = report_card(ws, 2025, AS_OF)
    line = by_metric(card["stages"])["leads"]
    assert line["plan_ytd"] == pytest.approx(5.5)
    assert line["actual_ytd"] == 4
    assert any("leads has no total target, only per-channel ones" in n for n in card["notes"])


def test_no_targets(ws: Workspace, write_file: FileWriter) -> None:
    """Without targets the card shows the actuals with no plan, and says so."""
    load(ws, write_file)
    card = report_card(ws, 2025, AS_OF)
    assert card["targets_kind"] is None
    assert any("no plan or OKR targets for 2025" in n for n in card["notes"])
    lines = by_metric(card["stages"])
    assert lines["leads"]["actual_ytd"] == 6 and lines["leads"]["plan_ytd"] is None
    assert lines["opportunities"]["actual_ytd"] == 3
    assert card["channels"] == []


def test_year_not_started(card_ws: Workspace) -> None:
    with pytest.raises(UsageError, match="The fiscal year 2026 starts on 2026-01-01, after the "
                       "as-of date 2025-06-15"):
        report_card(card_ws, 2026, AS_OF)


def test_saved_plan_feeds_the_report(ws: Workspace, write_file: FileWriter) -> None:
    """A plan saved with --save-as-targets is the card's plan: $12,000 at $2,000 for 2025 with
    every rate 50 % and visit→lead 1 %: 6 customers a year, 96 leads (6 ÷ 0.0625); to date
    (5.5 months) 44 leads against 6 actual."""
    load(ws, write_file)
    path = ws.path
    ws.close()
    req = PlanRequest(revenue="12000", deal_size="2000", period="2025", referral_rate="0",
                      rates=("visit_to_lead=1%", "lead_to_mql=50%", "mql_to_sql=50%",
                             "sql_to_opportunity=50%", "opportunity_to_customer=50%"),
                      as_of=AS_OF)
    services.plan(path, req, save_as_targets=True)
    with Workspace.open(path, read_only=True) as again:
        card = services.plan_report(again, "2025", AS_OF)
    assert card["targets_kind"] == "plan"
    leads = by_metric(card["stages"])["leads"]
    assert leads["plan_year"] == pytest.approx(96)
    assert leads["plan_ytd"] == pytest.approx(96 / 12 * 5.5)
    assert leads["actual_ytd"] == 6


def test_report_on_the_command_line(card_ws: Workspace) -> None:
    path: Path = card_ws.path
    card_ws.close()
    base = ["-w", str(path), "--as-of", AS_OF.isoformat(), "plan", "report"]
    result = runner.invoke(app, [*base, "--format", "json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stages"][0]["metric"] == "customers"
    result = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())  # the console may wrap at any width
    assert "Report card 2025: 2025-01-01 to 2025-06-15" in text
    assert "Marketing ROI to date: 60.0%" in text
    result = runner.invoke(app, [*base, "--format", "csv"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("stage,,,customers,2.75,")
    result = runner.invoke(app, [*base, "--period", "2025-Q1"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "--period '2025-Q1' is not a fiscal year" in " ".join(result.stderr.split())
