"""Golden tests of the reverse-funnel planner (metrics.md §7, S4-2, S4-3, S4-9;
docs/planning.md).

Every expected number is worked out by hand in the test's docstring. The reference case is
S4-9: a $10M new-revenue goal at $1.1M per new customer with 1.5 % visit→lead, 20 % lead→MQL,
20 % MQL→SQL, 40 % SQL→opportunity and 50 % opportunity→customer.

The history tests use TINY (a UTC workspace, as of 2025-12-31, trailing window 2025-01-01 …
2025-12-31). Stage entries (first, actual; contacts c1…c10 reach lead in 2025):

    contact  channel            lead   mql    sql    opp    customer
    c1       webinar            01-10  02-10  03-01  04-01  07-10
    c2       webinar            02-01  03-01  04-01  05-01  06-01
    c3       paid_search        03-01  04-01  05-01  06-01  09-01
    c4       paid_search        04-01  05-01  06-01  08-01  -
    c5       webinar            05-01  06-01  -      -      -
    c6, c7   webinar            06-01, 07-01 (lead only)
    c8, c9   paid_search        08-01, 09-01 (lead only)
    c10      customer_referral  06-01 (lead only)
    c11      webinar            2024-06-01 lead, 2024-07-01 mql (outside the window)

Period basis in the window: leads 10, MQLs 5 (c1-c5), SQLs 4, opportunities 4, customers 3,
so lead→MQL 5/10 = 0.5, MQL→SQL 4/5 = 0.8, SQL→opp 4/4 = 1, opp→customer 3/4 = 0.75.
Sessions 2025: paid_search 400 (03-15) + organic_search 600 (05-15) = 1000 (999 in 2024-12 are
outside), so visit→lead = 10/1000 = 0.01. By channel: webinar leads 5, MQLs 3, SQLs 2, opps 2,
customers 2; paid_search 4, 2, 2, 2, 1 with 400 sessions (visit→lead 4/400 = 0.01).

Lags to the customer stage (days, c1 / c2 / c3): lead 181 / 120 / 184 → median 181 (5.95
months → 6); MQL 150 / 92 / 153 → 150 (4.93 → 5); SQL 131 / 61 / 123 → 123 (4.04 → 4);
opportunity 100 / 31 / 92 → 92 (3.02 → 3).

Won new-business deals closed in 2025: o1 webinar 1,000 (07-10), o2 webinar 2,000 (06-01), o3
paid_search 3,000 (09-01); o4 is an expansion (5,000) and o5 lost, o6 won in 2024: none counts.
Deal size 6,000 / 3 = 2,000 (webinar 1,500, paid_search 3,000); bookings shares 3,000 / 6,000:
webinar 0.5, paid_search 0.5.

MRR: a1 pays 2024-12 … 2025-12, a2 2025-06 … 2025-12, so paying customers at the end of
2024-12 … 2025-11 are 1,1,1,1,1,1,2,2,2,2,2,2 = 18 customer-months; one customer_referral lead
(c10) gives a referral rate of 1/18 leads per customer per month; the base at the start of 2026
(end of 2025-12) is 2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import FileWriter, WorkspaceFactory
from funnelboard import services
from funnelboard.cli.app import app
from funnelboard.errors import UsageError
from funnelboard.plan import history
from funnelboard.plan.inputs import PlanRequest, assemble
from funnelboard.plan.io import plan_rows, safe, target_rows
from funnelboard.plan.model import (
    TRANSITIONS,
    Flywheel,
    Funnel,
    PlanInputs,
    build,
    count,
    money,
    parse_amount,
    parse_fraction,
    parse_rates,
)
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

runner = CliRunner()
WIDE = {"COLUMNS": "220"}
S4_9_RATES = ["visit_to_lead=1.5%", "lead_to_mql=20%", "mql_to_sql=20%",
              "sql_to_opportunity=40%", "opportunity_to_customer=50%"]
S4_9_ARGS = ["--revenue", "10M", "--deal-size", "1.1M", "--period", "2026",
             *[a for r in S4_9_RATES for a in ("--rate", r)]]
AS_OF = dt.date(2025, 12, 31)

TINY_CONTACTS = """\
contact_id,created_at,account_id,channel,lead_at,mql_at,sql_at,opportunity_at,customer_at
c1,2025-01-10T00:00:00Z,a1,webinar,2025-01-10T00:00:00Z,2025-02-10T00:00:00Z,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-07-10T00:00:00Z
c2,2025-02-01T00:00:00Z,a2,webinar,2025-02-01T00:00:00Z,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z
c3,2025-03-01T00:00:00Z,a3,paid_search,2025-03-01T00:00:00Z,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,2025-09-01T00:00:00Z
c4,2025-04-01T00:00:00Z,,paid_search,2025-04-01T00:00:00Z,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,2025-08-01T00:00:00Z,
c5,2025-05-01T00:00:00Z,,webinar,2025-05-01T00:00:00Z,2025-06-01T00:00:00Z,,,
c6,2025-06-01T00:00:00Z,,webinar,2025-06-01T00:00:00Z,,,,
c7,2025-07-01T00:00:00Z,,webinar,2025-07-01T00:00:00Z,,,,
c8,2025-08-01T00:00:00Z,,paid_search,2025-08-01T00:00:00Z,,,,
c9,2025-09-01T00:00:00Z,,paid_search,2025-09-01T00:00:00Z,,,,
c10,2025-06-01T00:00:00Z,,customer_referral,2025-06-01T00:00:00Z,,,,
c11,2024-06-01T00:00:00Z,,webinar,2024-06-01T00:00:00Z,2024-07-01T00:00:00Z,,,
"""
TINY_ACCOUNTS = """\
account_id,name
a1,Acme
a2,Beta
a3,Gamma
"""
TINY_OPPORTUNITIES = """\
opportunity_id,created_at,amount,account_id,is_closed,is_won,close_date,type,channel
o1,2025-04-01T00:00:00Z,1000,a1,true,true,2025-07-10,new_business,webinar
o2,2025-05-01T00:00:00Z,2000,a2,true,true,2025-06-01,new_business,webinar
o3,2025-06-01T00:00:00Z,3000,a3,true,true,2025-09-01,new_business,paid_search
o4,2025-06-01T00:00:00Z,5000,a1,true,true,2025-10-01,expansion,webinar
o5,2025-08-01T00:00:00Z,9000,,true,false,2025-11-01,new_business,paid_search
o6,2024-03-01T00:00:00Z,7000,,true,true,2024-11-01,new_business,webinar
"""
TINY_WEB = """\
date,channel,sessions
2025-03-15,paid_search,400
2025-05-15,organic_search,600
2024-12-15,organic_search,999
"""


def _mrr() -> str:
    rows = ["month,account_id,mrr"]
    rows += [f"{2024 + (i + 11) // 12}-{(i + 11) % 12 + 1:02d}-01,a1,100" for i in range(13)]
    rows += [f"2025-{m:02d}-01,a2,100" for m in range(6, 13)]
    return "\n".join(rows) + "\n"


def load_tiny(ws: Workspace, write_file: FileWriter) -> Workspace:
    for table, text in (("accounts", TINY_ACCOUNTS), ("contacts", TINY_CONTACTS),
                        ("opportunities", TINY_OPPORTUNITIES), ("web_traffic", TINY_WEB),
                        ("mrr", _mrr())):
        result = ws.import_file(table, write_file(text, name=f"{table}.csv"))
        assert result.ok and result.rows_quarantined == 0, (table, result.message)
    return ws


@pytest.fixture
def tiny(ws: Workspace, write_file: FileWriter) -> Workspace:
    return load_tiny(ws, write_file)


def s49_funnel() -> Funnel:
    return Funnel(parse_rates(S4_9_RATES), parse_amount("$1.1M", "--deal-size"))


def s49(**changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"year": 2026, "fiscal_start": 1, "funnel": s49_funnel(),
                               "revenue": 10_000_000.0}
    options.update(changes)
    return build(PlanInputs(**options))


def cli(*args: str, folder: Path | None = None) -> tuple[int, str, str]:
    pre = ["-w", str(folder), "--as-of", AS_OF.isoformat()] if folder else []
    result = runner.invoke(app, [*pre, *args], env=WIDE)
    return result.exit_code, result.stdout, result.stderr


# -- S4-9: the reference case --------------------------------------------------------------------

def test_s4_9_reverse_exact_numbers() -> None:
    """$10M ÷ $1.1M = 9.0909 customers a year; ÷ 0.5 = 18.18 opportunities; ÷ 0.4 = 45.45
    SQLs; ÷ 0.2 = 227.27 MQLs; ÷ 0.2 = 1,136.4 leads; ÷ 0.015 = 75,757.6 visits. A month is
    a twelfth: 0.758 customers, 1.515 opportunities, 3.79 SQLs, 18.94 MQLs, 94.7 leads and
    6,313 visits (S4-9's acceptance, rounded as it states them); a quarter a quarter."""
    plan = s49()
    assert set(plan) >= {"mode", "inputs", "annual", "quarterly", "monthly", "whole_deals",
                         "gap"}
    assert plan["mode"] == "reverse"
    year = plan["annual"]
    assert year["customers"] == pytest.approx(10 / 1.1)
    assert round(year["customers"], 2) == 9.09
    assert year["opportunities"] == pytest.approx(10 / 1.1 / 0.5)
    assert year["visits"] == pytest.approx(10 / 1.1 / 0.5 / 0.4 / 0.2 / 0.2 / 0.015)
    assert year["revenue"] == pytest.approx(10_000_000)
    assert len(plan["monthly"]) == 12 and len(plan["quarterly"]) == 4
    for month in plan["monthly"]:
        assert round(month["customers"], 3) == 0.758
        assert round(month["opportunities"], 3) == 1.515
        assert round(month["sqls"], 2) == 3.79
        assert round(month["mqls"], 2) == 18.94
        assert round(month["leads"], 1) == 94.7
        assert round(month["visits"]) == 6313
    assert [m["label"] for m in plan["monthly"]][:2] == ["2026-01", "2026-02"]
    assert plan["quarterly"][0]["label"] == "2026-Q1"
    assert plan["quarterly"][0]["customers"] == pytest.approx(10 / 1.1 / 4)
    # unrounded in JSON
    assert json.loads(json.dumps(plan))["monthly"][0]["visits"] == pytest.approx(
        6313.131313131313)


def test_s4_9_whole_deals_and_the_gap_rounding_leaves() -> None:
    """Customers rounded up for the year: ⌈9.09⌉ = 10; then each stage above up: 10 ÷ 0.5 =
    20 opportunities, ÷ 0.4 = 50 SQLs, ÷ 0.2 = 250 MQLs, ÷ 0.2 = 1,250 leads, ÷ 0.015 =
    83,333.3 → 83,334 visits. 10 deals × $1.1M = $11M: $1M above the goal; the article's 9
    customers would bring $9.9M: $0.1M short. Per month: a twelfth (10/12 = 0.833)."""
    plan = s49()
    whole = plan["whole_deals"]
    assert {k: whole[k] for k in ("customers", "opportunities", "sqls", "mqls", "leads",
                                  "visits")} == {
        "customers": 10, "opportunities": 20, "sqls": 50, "mqls": 250, "leads": 1250,
        "visits": 83334}
    assert whole["revenue"] == pytest.approx(11_000_000)
    assert whole["per_month"]["customers"] == pytest.approx(10 / 12)
    gap = plan["gap"]
    assert gap["revenue"] == pytest.approx(1_000_000) and gap["status"] == "surplus"
    assert "9.09 customers a year (0.758 a month)" in gap["text"]
    assert "10 customers, bringing $11M: $1M above the $10M goal" in gap["text"]
    assert "Rounding down to 9 customers would bring $9.9M: $0.1M short of the $10M goal" \
        in gap["text"]


def test_s4_9_forward_from_6000_visits_states_the_shortfall() -> None:
    """6,000 visits × 1.5 % = 90 leads, × 20 % = 18 MQLs, × 20 % = 3.6 SQLs, × 40 % = 1.44
    opportunities, × 50 % = 0.72 customers a month; × 12 = 8.64 a year; × $1.1M = $9.504M:
    $0.496M short of the $10M goal (6,313 visits a month would reach it)."""
    plan = s49(visits=6000.0)
    assert plan["mode"] == "forward"
    month = plan["monthly"][0]
    assert month["leads"] == pytest.approx(90)
    assert month["mqls"] == pytest.approx(18)
    assert month["sqls"] == pytest.approx(3.6)
    assert month["opportunities"] == pytest.approx(1.44)
    assert month["customers"] == pytest.approx(0.72)
    assert plan["annual"]["customers"] == pytest.approx(8.64)
    assert plan["annual"]["revenue"] == pytest.approx(9_504_000)
    assert plan["gap"]["revenue"] == pytest.approx(-496_000)
    assert plan["gap"]["status"] == "short"
    text = plan["gap"]["text"]
    assert text.startswith("6,000 visits a month yield 90 leads, 18 MQLs, 3.6 SQLs, 1.44 "
                           "opportunities and 0.72 customers a month: 8.64 customers a year, "
                           "$9.504M")
    assert "$0.496M short of the $10M goal" in text
    assert "reaching it needs 6,313 visits a month (313 more)" in text
    assert plan["gap"]["needed_visits_per_month"] == pytest.approx(10 / 1.1 / 12 / 0.00012)
    # only whole deals close: 8 of the 8.64
    assert plan["whole_deals"]["customers"] == 8
    assert plan["whole_deals"]["revenue"] == pytest.approx(8_800_000)


def test_forward_from_leads_and_without_a_goal() -> None:
    """90 leads a month with the S4-9 rates: 90 ÷ 0.015 = 6,000 visits behind them and the
    same 0.72 customers; without --revenue there is no gap, only the yield."""
    plan = s49(leads=90.0, revenue=None)
    assert plan["monthly"][0]["visits"] == pytest.approx(6000)
    assert plan["annual"]["customers"] == pytest.approx(8.64)
    assert plan["gap"]["revenue"] is None
    assert plan["gap"]["text"].startswith("90 leads a month yield 18 MQLs, 3.6 SQLs")


def test_s4_9_on_the_command_line_outside_a_workspace(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No workspace, every input given: JSON carries the exact numbers, the table the gap
    sentence."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELBOARD_WORKSPACE", raising=False)
    code, out, err = cli("plan", *S4_9_ARGS, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["monthly"][0]["visits"] == pytest.approx(6313.131313)
    assert data["whole_deals"]["customers"] == 10
    assert "$1M above the $10M goal" in " ".join(err.split())  # on stderr beside JSON
    code, out, err = cli("plan", *S4_9_ARGS, "--visits", "6000")
    assert code == 0, err
    text = " ".join(out.split())  # the console may wrap at any width
    assert "$0.496M short of the $10M goal" in text
    assert "8.64 customers a year" in text


def test_s4_9_in_an_empty_workspace(make_ws: WorkspaceFactory) -> None:
    """An empty workspace plans as well when every input is given (its fiscal year: FY2026
    with fiscal_year_start_month 1 is the calendar year 2026)."""
    ws = make_ws()
    ws.close()
    code, out, err = cli("plan", *S4_9_ARGS, "--format", "json", folder=ws.path)
    assert code == 0, err
    data = json.loads(out)
    assert data["annual"]["customers"] == pytest.approx(10 / 1.1)
    assert data["inputs"]["period"] == {"year": 2026, "label": "2026", "start": "2026-01-01",
                                        "end": "2026-12-31"}


def test_fiscal_year_and_default_period(make_ws_with: WorkspaceFactory) -> None:
    """fiscal_year_start_month 4: FY2026 runs 2025-04-01 … 2026-03-31, quarters FY2026-Q1 …;
    without --period the plan covers the fiscal year holding the as-of date (2025-12-31 lies
    in FY2026)."""
    ws = make_ws_with(fiscal_year_start_month=4)
    plan = build(assemble(PlanRequest(revenue="10M", deal_size="1.1M",
                                      rates=tuple(S4_9_RATES), as_of=AS_OF),
                          ws, ws.settings, AS_OF))
    assert plan["inputs"]["period"]["label"] == "FY2026"
    assert plan["monthly"][0]["period"] == "2025-04-01"
    assert plan["monthly"][-1]["period_end"] == "2026-03-31"
    assert plan["quarterly"][1]["label"] == "FY2026-Q2"


def test_whole_deals_ignore_float_noise() -> None:
    """$11M ÷ $1.1M is 10.000000000000002 in floating point; it is 10 whole deals, and the
    goal is met exactly."""
    plan = s49(revenue=11_000_000.0)
    assert plan["whole_deals"]["customers"] == 10
    assert plan["gap"]["status"] == "exact"
    assert "exactly the $11M goal" in plan["gap"]["text"]


def test_without_visit_to_lead_the_plan_stops_at_leads() -> None:
    rates = dict.fromkeys(TRANSITIONS[1:], 0.5)
    plan = build(PlanInputs(2026, 1, Funnel(rates, 1000.0), revenue=16_000.0))
    assert plan["annual"]["leads"] == pytest.approx(16 / 0.0625)
    assert plan["annual"]["visits"] is None and plan["whole_deals"]["visits"] is None
    assert any("stops at leads" in n for n in plan["notes"])


# -- lags, seasonality and the flywheel (hand-counted on the model) ------------------------------

def test_seasonal_weights_and_stage_lags_shift_the_months() -> None:
    """12 customers a year at $1,000, every rate 50 % (lead→customer 1/16), all customers in
    March and September (weights 0.5 each); leads lag customers by 2 months, MQLs by 1. The
    volume of month m serves the customers of month m + lag: leads 192/2 = 96 in January and
    July, MQLs 96/2 = 48 in February and August, customers 6 in March and September; the
    year totals are unchanged. Lead time: leads start 2 months before the year (2025-11)."""
    weights = tuple(0.5 if m in (2, 8) else 0.0 for m in range(12))
    rates = dict.fromkeys(TRANSITIONS, 0.5)
    funnel = Funnel(rates, 1000.0, {"leads": 2, "mqls": 1})
    plan = build(PlanInputs(2026, 1, funnel, revenue=12_000.0, weights=weights))
    by_month = {m["label"]: m for m in plan["monthly"]}
    assert [k for k, m in by_month.items() if m["leads"]] == ["2026-01", "2026-07"]
    assert by_month["2026-01"]["leads"] == pytest.approx(96)
    assert by_month["2026-01"]["visits"] == pytest.approx(192)  # visits move with leads
    assert [k for k, m in by_month.items() if m["mqls"]] == ["2026-02", "2026-08"]
    assert [k for k, m in by_month.items() if m["customers"]] == ["2026-03", "2026-09"]
    assert by_month["2026-03"]["customers"] == pytest.approx(6)
    assert by_month["2026-03"]["sqls"] == pytest.approx(24)  # no lag given: same month
    assert plan["annual"]["leads"] == pytest.approx(192)
    assert plan["quarterly"][0]["leads"] == pytest.approx(96)
    lead_time = {x["stage"]: x for x in plan["lead_time"]}
    assert lead_time["leads"] == {"stage": "leads", "lag_months": 2, "first_month": "2025-11-01"}


def test_flywheel_referral_leads_grow_with_the_customer_base() -> None:
    """The flywheel (S4-3): 0.1 referral leads per customer per month, 10 customers at the
    start of the year, the goal $12,000 at $1,000 (12 customers, 1 a month), every rate 50 %
    (lead→customer 0.0625), visit→lead 2 %, no lags.

    The base grows by the goal's customers: 10 + m at the start of month m (m = 0…11), so
    referral leads are 1 + 0.1 m: 1.0 in January … 2.1 in December, 12 + 0.1 × 66 = 18.6 a
    year, bringing 18.6 × 0.0625 = 1.1625 customers = $1,162.50. The rest of the goal,
    $10,837.50, needs 10.8375 customers: 173.4 leads (14.45 a month) and 173.4 ÷ 0.02 = 8,670
    visits (referrals need none). Total leads 173.4 + 18.6 = 192 = 12 ÷ 0.0625, as without
    the flywheel; January's leads 14.45 + 1 = 15.45. Whole deals: ⌈10.8375⌉ = 11 acquired +
    ⌊1.1625⌋ = 1 referral = 12 customers = $12,000: exactly the goal."""
    rates = dict.fromkeys(TRANSITIONS, 0.5)
    rates["visit_to_lead"] = 0.02
    funnel = Funnel(rates, 1000.0)
    plan = build(PlanInputs(2026, 1, funnel, revenue=12_000.0,
                            flywheel=Flywheel(0.1, 10.0, funnel)))
    year = plan["annual"]
    assert year["referral_leads"] == pytest.approx(18.6)
    assert year["leads"] == pytest.approx(192)
    assert year["visits"] == pytest.approx(8670)
    assert year["customers"] == pytest.approx(12)
    assert plan["monthly"][0]["referral_leads"] == pytest.approx(1.0)
    assert plan["monthly"][11]["referral_leads"] == pytest.approx(2.1)
    assert plan["monthly"][0]["leads"] == pytest.approx(15.45)
    segs = {s["name"]: s for s in plan["segments"]}
    assert segs["customer_referral"]["kind"] == "flywheel"
    assert segs["customer_referral"]["annual"]["customers"] == pytest.approx(1.1625)
    assert segs["customer_referral"]["customer_base"][11]["customers"] == pytest.approx(21)
    assert segs["all"]["annual"]["customers"] == pytest.approx(10.8375)
    assert plan["whole_deals"]["customers"] == 12
    assert plan["gap"]["status"] == "exact"
    assert "the customer-referral flywheel brings 1.16 of them" in plan["gap"]["text"]


def test_flywheel_in_forward_mode_compounds() -> None:
    """Forward: 100 leads a month at lead→customer 0.0625 bring 6.25 customers a month; the
    flywheel (0.1 per customer, base 0) adds referral leads on the growing base: month 0: 0,
    month 1: 0.1 × 6.25 = 0.625 (its customers 0.0390625), month 2: 0.1 × (12.5 + 0.0390625)
    = 1.25390625."""
    rates = dict.fromkeys(TRANSITIONS, 0.5)
    funnel = Funnel(rates, 1000.0)
    plan = build(PlanInputs(2026, 1, funnel, leads=100.0, flywheel=Flywheel(0.1, 0.0, funnel)))
    months = plan["monthly"]
    assert months[0]["referral_leads"] == pytest.approx(0)
    assert months[1]["referral_leads"] == pytest.approx(0.625)
    assert months[2]["referral_leads"] == pytest.approx(1.25390625)
    assert months[2]["leads"] == pytest.approx(101.25390625)
    assert months[0]["visits"] == pytest.approx(200)  # 100 leads ÷ 0.5; referrals need none


def test_flywheel_on_the_command_line(make_ws: WorkspaceFactory) -> None:
    """--referral-rate and --customer-base in an empty workspace: the numbers of the flywheel
    test above."""
    ws = make_ws()
    ws.close()
    args = ["plan", "--revenue", "12000", "--deal-size", "1000", "--period", "2026",
            "--referral-rate", "10%", "--customer-base", "10", "--format", "json",
            *[a for t in TRANSITIONS[1:] for a in ("--rate", f"{t}=0.5")],
            "--rate", "visit_to_lead=2%"]
    code, out, err = cli(*args, folder=ws.path)
    assert code == 0, err
    data = json.loads(out)
    assert data["annual"]["referral_leads"] == pytest.approx(18.6)
    assert data["inputs"]["flywheel"]["customer_base"] == 10
    assert data["inputs"]["flywheel_sources"] == {"referral_rate": "given",
                                                  "customer_base": "given"}


# -- history (TINY) ------------------------------------------------------------------------------

def test_history_readings_on_the_tiny_workspace(tiny: Workspace) -> None:
    """The readings of the module docstring, each one hand-counted there."""
    window = history.trailing_window(AS_OF, 12)
    assert (window.start, window.end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    rates = history.conversion_rates(tiny, window)[None]
    assert {t: (o.numerator, o.denominator) for t, o in rates.items()} == {
        "visit_to_lead": (10, 1000), "lead_to_mql": (5, 10), "mql_to_sql": (4, 5),
        "sql_to_opportunity": (4, 4), "opportunity_to_customer": (3, 4)}
    per = history.conversion_rates(tiny, window, "channel")
    assert {t: (o.numerator, o.denominator) for t, o in per["webinar"].items()
            if t != "visit_to_lead"} == {"lead_to_mql": (3, 5), "mql_to_sql": (2, 3),
                                         "sql_to_opportunity": (2, 2),
                                         "opportunity_to_customer": (2, 2)}
    assert per["paid_search"]["visit_to_lead"].value == pytest.approx(0.01)
    assert per["webinar"]["visit_to_lead"].value is None  # no sessions tracked for webinars
    lags = history.stage_lags(tiny, window)
    assert lags == {"leads": (181.0, 3), "mqls": (150.0, 3), "sqls": (123.0, 3),
                    "opportunities": (92.0, 3)}
    assert history.deal_size(tiny, window)[None].value == pytest.approx(2000)
    by_deal = history.deal_size(tiny, window, "channel")
    assert by_deal["webinar"].value == pytest.approx(1500)
    assert by_deal["paid_search"].value == pytest.approx(3000)
    assert history.goal_shares(tiny, window, "channel") == {"paid_search": 0.5, "webinar": 0.5}
    ref = history.referral_rate(tiny, window)
    assert (ref.numerator, ref.denominator) == (1, 18)
    assert history.customer_base(tiny, dt.date(2026, 1, 1), AS_OF) == 2


def test_history_cross_checks(tiny: Workspace) -> None:
    """Independent computations: the lags equal the catalogue's <stage>_to_customer_days on
    the period basis for the calendar year 2025 (the window is that year), and the rates equal
    a plain count over the TINY stage dates."""
    window = history.trailing_window(AS_OF, 12)
    lags = history.stage_lags(tiny, window)
    for key, stage in (("leads", "lead"), ("mqls", "mql"), ("sqls", "sql"),
                       ("opportunities", "opportunity")):
        res = tiny.metric(f"{stage}_to_customer_days", basis="period", grain="year",
                          start="2025-01-01", end="2025-12-31", as_of=AS_OF)
        assert res.rows[0]["value"] == pytest.approx(lags[key][0])
    lines = [line.split(",") for line in TINY_CONTACTS.strip().splitlines()[1:]]
    in_2025 = [[c.startswith("2025") for c in line[4:9]] for line in lines]
    reached = [sum(1 for row in in_2025 if row[i]) for i in range(5)]
    assert reached == [10, 5, 4, 4, 3]
    rates = history.conversion_rates(tiny, window)[None]
    for i, t in enumerate(TRANSITIONS[1:]):
        assert rates[t].value == pytest.approx(reached[i + 1] / reached[i])


def test_historical_plan(tiny: Workspace) -> None:
    """--rates-from-history --deal-size-from-history, goal $12,000 for 2026, flywheel off
    (--referral-rate 0): 12,000 ÷ 2,000 = 6 customers; ÷ 0.75 = 8 opportunities; ÷ 1 = 8
    SQLs; ÷ 0.8 = 10 MQLs; ÷ 0.5 = 20 leads; ÷ 0.01 = 2,000 visits. Lags 6/5/4/3 months
    (leads/MQLs/SQLs/opportunities): leads for January's customers start 2025-07."""
    req = PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                      referral_rate="0", period="2026", as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    year = plan["annual"]
    assert [year[k] for k in ("customers", "opportunities", "sqls", "mqls", "leads", "visits")] \
        == pytest.approx([6, 8, 8, 10, 20, 2000])
    inputs = plan["inputs"]
    assert inputs["deal_size"] == pytest.approx(2000) and inputs["deal_size_source"] == "history"
    assert inputs["rates"] == pytest.approx({"visit_to_lead": 0.01, "lead_to_mql": 0.5,
                                             "mql_to_sql": 0.8, "sql_to_opportunity": 1.0,
                                             "opportunity_to_customer": 0.75})
    assert set(inputs["rate_sources"].values()) == {"history"}
    assert inputs["lags_months"] == {"visits": 6, "leads": 6, "mqls": 5, "sqls": 4,
                                     "opportunities": 3, "customers": 0}
    assert inputs["lags_days"]["leads"] == {"median_days": 181.0, "contacts": 3}
    assert inputs["history"] == {"start": "2025-01-01", "end": "2025-12-31", "months": 12,
                                 "as_of": "2025-12-31"}
    assert plan["lead_time"][1] == {"stage": "leads", "lag_months": 6,
                                    "first_month": "2025-07-01"}
    assert plan["inputs"]["flywheel"] is None
    assert plan["whole_deals"]["customers"] == 6 and plan["gap"]["status"] == "exact"


def test_historical_plan_given_rate_wins(tiny: Workspace) -> None:
    """A --rate given beside --rates-from-history wins for its transition."""
    req = PlanRequest(revenue="12000", deal_size="3000", rates_from_history=True,
                      rates=("lead_to_mql=25%",), referral_rate="0", period="2026",
                      as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    assert plan["inputs"]["rates"]["lead_to_mql"] == 0.25
    assert plan["inputs"]["rate_sources"]["lead_to_mql"] == "given"
    assert plan["annual"]["leads"] == pytest.approx(4 / 0.75 / 0.8 / 0.25)


def test_historical_seasonal_plan(tiny: Workspace) -> None:
    """--seasonal: customers reached per calendar month in 2025: June (c2), July (c1),
    September (c3), so 6 customers a year become 2 in June, July and September; leads lag 6
    months, so the 20 leads are needed 20/3 each in December (for June), January (for July)
    and March (for September)."""
    req = PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                      referral_rate="0", seasonal=True, period="2026", as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    customers = {m["label"]: m["customers"] for m in plan["monthly"] if m["customers"]}
    assert customers == pytest.approx({"2026-06": 2, "2026-07": 2, "2026-09": 2})
    leads = {m["label"]: m["leads"] for m in plan["monthly"] if m["leads"]}
    assert leads == pytest.approx({"2026-01": 20 / 3, "2026-03": 20 / 3, "2026-12": 20 / 3})
    assert plan["inputs"]["seasonal"] is True


def test_historical_flywheel(tiny: Workspace) -> None:
    """The flywheel from history: 1/18 referral leads per customer per month, base 2 at the
    start of 2026, growing by the goal's 0.5 customers a month (6 a year); customer_referral
    has no MQL in the window, so its leads convert at the overall rates (lead→customer 0.5 ×
    0.8 × 1 × 0.75 = 0.3, with a note). Leads lag customers 6 months: January … June's
    referral customers come from leads before the year, at the starting base (2/18 × 0.3 =
    1/30 each: 0.2); July … December's from the leads of months k = 0…5, (2 + 0.5 k)/18 × 0.3:
    Σ = (12 + 7.5)/60 = 0.325. The flywheel brings 0.525 customers ($1,050); the other
    $10,950 need 5.475 customers, 18.25 leads and 1,825 visits. Referral leads in the year:
    Σ (2 + 0.5 m)/18 = 57/18."""
    req = PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                      period="2026", as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    fly = plan["inputs"]["flywheel"]
    assert fly["referral_rate"] == pytest.approx(1 / 18) and fly["customer_base"] == 2
    assert plan["inputs"]["flywheel_sources"] == {"referral_rate": "history",
                                                  "customer_base": "history"}
    segs = {s["name"]: s for s in plan["segments"]}
    assert segs["customer_referral"]["annual"]["customers"] == pytest.approx(0.525)
    assert segs["customer_referral"]["annual"]["revenue"] == pytest.approx(1050)
    assert segs["all"]["annual"]["customers"] == pytest.approx(5.475)
    assert plan["annual"]["customers"] == pytest.approx(6)
    assert plan["annual"]["referral_leads"] == pytest.approx(57 / 18)
    assert plan["annual"]["visits"] == pytest.approx(1825)
    assert any("customer_referral: no history for lead_to_mql" in n for n in plan["notes"])


def test_plan_by_channel(tiny: Workspace) -> None:
    """--by channel splits $12,000 by new-business bookings (webinar 0.5, paid_search 0.5),
    each with its own rates and deal size: webinar $6,000 ÷ 1,500 = 4 customers, ÷ 1 (opp) =
    4 ÷ 1 (SQL) = 4 ÷ (2/3) = 6 MQLs ÷ 0.6 = 10 leads (no sessions: no visits); paid_search
    $6,000 ÷ 3,000 = 2 customers ÷ 0.5 = 4 opps ÷ 1 = 4 SQLs ÷ 1 = 4 MQLs ÷ 0.5 = 8 leads ÷
    0.01 = 800 visits. Total 6 customers, 18 leads, 800 visits."""
    req = PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                      referral_rate="0", by="channel", period="2026", as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    segs = {s["name"]: s for s in plan["segments"]}
    assert set(segs) == {"webinar", "paid_search"}
    web, paid = segs["webinar"]["annual"], segs["paid_search"]["annual"]
    assert [web[k] for k in ("customers", "opportunities", "sqls", "mqls", "leads")] == \
        pytest.approx([4, 4, 4, 6, 10])
    assert web["visits"] is None
    assert [paid[k] for k in ("customers", "opportunities", "sqls", "mqls", "leads",
                              "visits")] == pytest.approx([2, 4, 4, 4, 8, 800])
    assert plan["annual"]["customers"] == pytest.approx(6)
    assert plan["annual"]["leads"] == pytest.approx(18)
    assert plan["annual"]["visits"] == pytest.approx(800)
    assert segs["webinar"]["share"] == 0.5 and segs["webinar"]["deal_size"] == 1500
    assert plan["inputs"]["shares"] == {"paid_search": 0.5, "webinar": 0.5}


def test_plan_by_motion(tiny: Workspace) -> None:
    """--by motion: every TINY channel is inbound, so inbound gets the whole goal (share of
    contacts reaching the customer stage: 3 of 3) at the overall rates and deal size; its
    visit→lead is inbound leads ÷ all sessions = 10/1000."""
    req = PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                      referral_rate="0", by="motion", period="2026", as_of=AS_OF)
    plan = build(assemble(req, tiny, tiny.settings, AS_OF))
    assert [s["name"] for s in plan["segments"]] == ["inbound"]
    assert plan["segments"][0]["rates"]["visit_to_lead"] == pytest.approx(0.01)
    assert plan["annual"]["visits"] == pytest.approx(2000)


# -- saving as targets ---------------------------------------------------------------------------

def test_save_as_targets_round_trip(tiny: Workspace) -> None:
    """The S4-9 plan saved for 2026: per month one target per metric — sessions 6,313.13,
    leads 94.70, mqls 18.94, sqls 3.788, opportunities 1.515, customers 0.7576, bookings
    833,333.33 — kind plan, grain month, no dimension: 7 × 12 = 84 rows. They come back from
    the table and from the targets list service; saving again changes nothing."""
    path = tiny.path
    tiny.close()
    req = PlanRequest(revenue="10M", deal_size="1.1M", rates=tuple(S4_9_RATES), period="2026",
                      referral_rate="0", as_of=AS_OF)
    plan = services.plan(path, req, save_as_targets=True)
    assert plan["saved_targets"]["rows"] == 84 and plan["saved_targets"]["inserted"] == 84
    with Workspace.open(path) as ws:
        rows = ws.query("SELECT metric, count(*), min(target), max(target), min(period_start), "
                        "max(period_start), min(kind), min(grain), max(coalesce(dimension, '')) "
                        "FROM targets GROUP BY metric ORDER BY metric")
        listed, _notes = services.list_targets(ws, "mqls")
    expected = {"bookings": 10e6 / 12, "customers": 10 / 1.1 / 12,
                "leads": 10 / 1.1 / 12 / 0.5 / 0.4 / 0.2 / 0.2,
                "mqls": 10 / 1.1 / 12 / 0.5 / 0.4 / 0.2,
                "opportunities": 10 / 1.1 / 12 / 0.5,
                "sessions": 10 / 1.1 / 12 / 0.5 / 0.4 / 0.2 / 0.2 / 0.015,
                "sqls": 10 / 1.1 / 12 / 0.5 / 0.4}
    assert [r[0] for r in rows] == sorted(expected)
    for metric, n, lo, hi, first, last, kind, grain, dim in rows:
        assert n == 12 and kind == "plan" and grain == "month" and dim == ""
        assert lo == pytest.approx(expected[metric]) and hi == pytest.approx(expected[metric])
        assert (first, last) == (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
    assert len(listed) == 12 and listed[0]["kind"] == "plan"
    assert listed[0]["source"] == "plan 2026 --save-as-targets"
    again = services.plan(path, req, save_as_targets=True)
    assert again["saved_targets"]["unchanged"] == 84


def test_save_as_targets_by_channel(tiny: Workspace) -> None:
    """With --by channel each channel's months are saved too (dimension channel): webinar's
    leads 10/12 a month, paid_search's 8/12 and sessions 800/12; webinar has no sessions
    target (it plans no visits); the totals are saved beside them."""
    rows = target_rows(build(assemble(
        PlanRequest(revenue="12000", deal_size_from_history=True, rates_from_history=True,
                    referral_rate="0", by="channel", period="2026", as_of=AS_OF),
        tiny, tiny.settings, AS_OF)), tiny.settings)
    cell = {(r["metric"], r["dimension"], r["dimension_value"], r["period_start"]): r["target"]
            for r in rows}
    assert cell[("leads", "channel", "webinar", "2026-03-01")] == pytest.approx(10 / 12)
    assert cell[("leads", "channel", "paid_search", "2026-03-01")] == pytest.approx(8 / 12)
    assert cell[("sessions", "channel", "paid_search", "2026-03-01")] == pytest.approx(800 / 12)
    assert ("sessions", "channel", "webinar", "2026-03-01") not in cell
    assert cell[("leads", "", "", "2026-03-01")] == pytest.approx(18 / 12)
    assert {r["kind"] for r in rows} == {"plan"} and {r["grain"] for r in rows} == {"month"}


def test_save_as_targets_needs_a_workspace(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELBOARD_WORKSPACE", raising=False)
    code, _out, err = cli("plan", *S4_9_ARGS, "--save-as-targets")
    assert code == 1 and "--save-as-targets writes into a workspace" in " ".join(err.split())


# -- output formats ------------------------------------------------------------------------------

def test_csv_and_xlsx_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV: a header, the year, 4 quarters, 12 months and the whole deals (19 lines); XLSX:
    Summary and Plan sheets with the same numbers."""
    import openpyxl

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELBOARD_WORKSPACE", raising=False)
    code, out, err = cli("plan", *S4_9_ARGS, "--format", "csv")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("section,segment,period,period_end,label,visits,leads")
    assert len(lines) == 19
    assert lines[-1].startswith("whole_deals,total,")
    xlsx = tmp_path / "plan.xlsx"
    code, out, err = cli("plan", *S4_9_ARGS, "--format", "xlsx", "--output", str(xlsx))
    assert code == 0, err
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Summary", "Plan"]
    plan_sheet = list(book["Plan"].iter_rows(values_only=True))
    header = plan_sheet[0]
    january = dict(zip(header, plan_sheet[6], strict=True))
    assert january["label"] == "2026-01"
    assert january["visits"] == pytest.approx(6313.1313, rel=1e-6)
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True)}
    assert "$1M above the $10M goal" in summary["gap"]


def test_formula_text_is_neutralised() -> None:
    assert safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe(-5) == -5 and safe(None) == ""
    plan = s49()
    plan["segments"] = [{"name": "@evil", "monthly": plan["monthly"][:1]}]
    assert plan_rows(plan)[-1][1] == "'@evil"


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "lead_to_mql=0"], "--rate lead_to_mql '0' is not allowed: a rate must be above 0"),
    (["--rate", "lead_to_mql=20"], "A bare number is a fraction; for a percentage write the % "
                                   "sign (20%)"),
    (["--rate", "lead_to_mql=150%"], "at most 100%"),
    (["--rate", "lead_to_mql=-0.2"], "a rate must be above 0"),
    (["--rate", "lead_to_sql=20%"], "'lead_to_sql' is not a transition; use one of: "
                                    "visit_to_lead, lead_to_mql"),
    (["--rate", "lead_to_mq=20%"], "Did you mean 'lead_to_mql'"),
    (["--rate", "20%"], "should be written TRANSITION=RATE"),
    (["--rate", "lead_to_mql=abc"], "--rate lead_to_mql 'abc' is not a rate"),
    (["--revenue", "-5M"], "--revenue '-5M' is not allowed: it must be a positive amount"),
    (["--revenue", "0"], "--revenue '0' is not allowed"),
    (["--revenue", "ten"], "--revenue 'ten' is not an amount"),
    (["--deal-size", "0"], "--deal-size '0' is not allowed"),
    (["--period", "2026-Q3"], "--period '2026-Q3' is not a fiscal year"),
    (["--visits", "-10"], "--visits '-10' is not allowed: it must be a number above 0"),
    (["--by", "region"], "--by 'region' is not allowed; plan by one of: channel, motion"),
    (["--months", "0"], "--months 0 is not allowed"),
    (["--format", "xml"], "--format 'xml' is not one of table, json, csv, xlsx"),
    (["--format", "xlsx"], "--format xlsx writes a file: give --output FILE.xlsx"),
    (["--referral-rate", "-1"], "--referral-rate '-1' is not allowed"),
])
def test_bad_input_names_the_argument(args: list[str], message: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each bad option is a usage error (exit 2) naming the option and what is allowed; the
    options given later win over S4_9_ARGS (typer keeps the last value of a single option,
    and a second --rate for the same transition is refused by name)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELBOARD_WORKSPACE", raising=False)
    base = list(S4_9_ARGS)
    if args[0] == "--rate":
        key = args[1].split("=")[0]
        keep = [r for r in S4_9_RATES if not r.startswith(key + "=")]
        base = ["--revenue", "10M", "--deal-size", "1.1M",
                *[a for r in keep for a in ("--rate", r)]]
    code, _out, err = cli("plan", *base, *args)
    assert code == 2, err
    assert message in " ".join(err.split()), err


def test_missing_inputs() -> None:
    """No goal and no volume; no deal size; a missing rate; both volumes; a repeated rate;
    two deal sizes; history outside a workspace."""
    settings = Settings()
    cases = [
        (PlanRequest(deal_size="1M", rates=tuple(S4_9_RATES)), "Give a revenue goal with "
         "--revenue AMOUNT"),
        (PlanRequest(revenue="10M", rates=tuple(S4_9_RATES)), "The plan needs a deal size"),
        (PlanRequest(revenue="10M", deal_size="1M", rates=tuple(S4_9_RATES[:-1])),
         "missing: opportunity_to_customer"),
        (PlanRequest(revenue="10M", deal_size="1M", rates=tuple(S4_9_RATES), visits="1",
                     leads="1"), "Give either --visits or --leads"),
        (PlanRequest(revenue="10M", deal_size="1M", rates=(*S4_9_RATES, "lead_to_mql=0.3")),
         "--rate lead_to_mql is given twice"),
        (PlanRequest(revenue="10M", deal_size="1M", deal_size_from_history=True),
         "Give either --deal-size or --deal-size-from-history"),
        (PlanRequest(revenue="10M", deal_size="1M", rates_from_history=True),
         "Planning from history"),
        (PlanRequest(revenue="10M", deal_size="1M", rates=tuple(S4_9_RATES[1:]),
                     visits="6000"), "Forward mode from --visits needs the visit_to_lead rate"),
    ]
    for req, message in cases:
        with pytest.raises(UsageError, match=re.escape(message)):
            build(assemble(req, None, settings, AS_OF))


def test_history_errors_name_what_is_missing(ws: Workspace) -> None:
    """An empty workspace has no history: the error says which reading is missing and what
    to give instead."""
    req = PlanRequest(revenue="10M", deal_size="1M", rates_from_history=True, as_of=AS_OF)
    with pytest.raises(UsageError, match=re.escape(
            "There is no historical lead_to_mql rate: between 2025-01-01 and 2025-12-31 no "
            "contact reached the lead stage. Give it with --rate lead_to_mql=R")):
        assemble(req, ws, ws.settings, AS_OF)
    req = PlanRequest(revenue="10M", deal_size_from_history=True, rates=tuple(S4_9_RATES),
                      as_of=AS_OF)
    with pytest.raises(UsageError, match="No new-business deal was won between 2025-01-01 and "
                       "2025-12-31"):
        assemble(req, ws, ws.settings, AS_OF)
    req = PlanRequest(revenue="10M", deal_size="1M", rates=tuple(S4_9_RATES), by="channel",
                      as_of=AS_OF)
    with pytest.raises(UsageError, match="--by channel splits the goal by history, but there "
                       "are no won new-business bookings"):
        assemble(req, ws, ws.settings, AS_OF)


def test_by_needs_reverse_mode(tiny: Workspace) -> None:
    req = PlanRequest(revenue="12000", deal_size="2000", rates=tuple(S4_9_RATES), by="channel",
                      visits="6000", as_of=AS_OF)
    with pytest.raises(UsageError, match=r"forward mode .* starts from one total volume, so "
                       r"leave out --by"):
        assemble(req, tiny, tiny.settings, AS_OF)


def test_parsers() -> None:
    assert parse_amount("$10M", "x") == 10_000_000
    assert parse_amount("10,000,000", "x") == 10_000_000
    assert parse_amount("1.1m", "x") == pytest.approx(1_100_000)
    assert parse_amount("250k", "x") == 250_000
    assert parse_fraction("1.5%", "x") == pytest.approx(0.015)
    assert parse_fraction("1", "x") == 1.0 and parse_fraction("100%", "x") == 1.0
    assert count(6313.13) == "6,313" and count(94.697) == "94.7" and count(0.7576) == "0.758"
    assert money(9_504_000, "USD", 10e6) == "$9.504M" and money(496_000, "EUR", 10e6) == "€0.496M"
    assert money(1500, "CHF", 1500) == "1,500 CHF"
    assert math.isclose(parse_fraction("0.2", "x"), 0.2)
