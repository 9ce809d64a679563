"""Golden tests of the customer and unit-economics metrics (metrics.md §5) on tiny hand-counted
datasets, plus a reconciliation of MRR movements on the demo company.

Every expected number is derived by hand in the test's docstring from metrics.md §5 and
data-contract.md. The main dataset, BASE (UTC workspace, as-of 2025-06-30, gross margin 0.8,
LTV churn window 6 months, cap 60), is:

MRR (blank = no row, which counts as 0; the first month of data, January, is the opening
balance):

    account  segment     Jan  Feb  Mar  Apr  May  Jun  Jul   channel (account level)
    a1       Enterprise  100  100  150  150  120  120  999*  webinar (contact c1)
    a2       SMB         200  200   .    .   250  250        paid_search (c2, motion outbound)
    a3       SMB          .   300  300   0    .    .         event (first won new-business
                                                               deal o1; contact c3 paid_search)
    a4       Enterprise   .    .    .   50   50   90         paid_social (c4; o3 has no channel)
    a5       SMB          0    .   40   40   40   40         paid_search (c5)
    total MRR            300  600  490  240  460  500        (* after the as-of date: ignored)
    paying                 2    3    3    3    4    4

Movements per month (start + new + expansion − contraction − churned + reactivation = end):

    Feb  300 + new 300 (a3)                                      = 600
    Mar  600 + new 40 (a5, first > 0 ever) + exp 50 (a1) − churn 200 (a2, no row) = 490
    Apr  490 + new 50 (a4) − churn 300 (a3, explicit 0)          = 240
    May  240 + reactivation 250 (a2: back after 0s, not a new logo) − contraction 30 (a1) = 460
    Jun  460 + exp 40 (a4)                                        = 500

Costs (reporting currency USD; EUR = 1.1 USD from 2025-04-01, no earlier rate):

    Feb  marketing programs 1000, marketing events 250 (campaign cp4), sales salaries 2000
    Mar  marketing salaries 500, ad spend google_ads cp1 (paid_search) 600, linkedin cp2
         100 EUR on 03-15 (no rate: left out), costs ad_spend paid_search 999 (ad_performance
         already covers paid_search in March: not counted twice)
    Apr  costs row without team 300 (counts as marketing, with a warning), linkedin cp2
         100 EUR on 04-05 = 110
    May  product cogs 400; campaign cp3's campaigns.cost 700 dated 05-10 (not itemised)

Opportunities: o1 a3 new_business won 2025-02-20 3600 USD marketing (campaign cp4, created
01-15); o2 a1 expansion won 2025-03-15 1000 EUR, source_type empty, contact c1 (inbound →
derived marketing; no EUR rate on 03-15: left out; created 02-10); o3 a4 new_business won
2025-04-20 500 EUR marketing (campaign cp1, created 03-20) = 550; o4 open, created 05-02,
2000 USD marketing (campaign cp3); o5 lost 03-01, created 02-01, 800 USD, source_type empty,
contact c2 (outbound → derived sales).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FileWriter
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"
JAN, FEB, MAR, APR, MAY, JUN = (D(2025, m, 1) for m in range(1, 7))
Q1, Q2 = JAN, APR

ACCOUNTS = """\
account_id,name,segment,region
a1,Acme,Enterprise,NA
a2,Beta,SMB,EMEA
a3,Gamma,SMB,NA
a4,Delta,Enterprise,EMEA
a5,Epsilon,SMB,NA
"""
CONTACTS = """\
contact_id,created_at,account_id,channel,motion,source
c1,2024-12-01T00:00:00Z,a1,webinar,,Webinar list
c2,2024-12-02T00:00:00Z,a2,paid_search,outbound,Google
c3,2024-12-03T00:00:00Z,a3,paid_search,,Google
c4,2024-12-04T00:00:00Z,a4,paid_social,,LinkedIn
c5,2024-12-05T00:00:00Z,a5,paid_search,,Google
"""
MRR = {  # account -> {month: mrr}; a missing month has no row
    "a1": {JAN: 100, FEB: 100, MAR: 150, APR: 150, MAY: 120, JUN: 120, D(2025, 7, 1): 999},
    "a2": {JAN: 200, FEB: 200, MAY: 250, JUN: 250},
    "a3": {FEB: 300, MAR: 300, APR: 0},
    "a4": {APR: 50, MAY: 50, JUN: 90},
    "a5": {JAN: 0, MAR: 40, APR: 40, MAY: 40, JUN: 40},
}
OPPORTUNITIES = """\
opportunity_id,created_at,amount,currency,account_id,contact_id,is_closed,is_won,close_date,type,source_type,channel,campaign_id
o1,2025-01-15T00:00:00Z,3600,USD,a3,c3,true,true,2025-02-20,new_business,marketing,event,cp4
o2,2025-02-10T00:00:00Z,1000,EUR,a1,c1,true,true,2025-03-15,expansion,,,
o3,2025-03-20T00:00:00Z,500,EUR,a4,c4,true,true,2025-04-20,new_business,marketing,,cp1
o4,2025-05-02T00:00:00Z,2000,USD,a4,c4,false,false,2025-09-30,expansion,marketing,,cp3
o5,2025-02-01T00:00:00Z,800,USD,a2,c2,true,false,2025-03-01,new_business,,,
"""
CAMPAIGNS = """\
campaign_id,name,channel,type,start_date,end_date,cost
cp1,Search,paid_search,paid_search,2025-03-01,2025-06-30,
cp2,Social,paid_social,paid_social,2025-03-01,2025-06-30,
cp3,Webinar,webinar,webinar,2025-05-10,2025-05-10,700
cp4,Roadshow,webinar,event,2025-02-01,2025-02-28,300
"""
AD_PERFORMANCE = """\
date,platform,campaign_id,impressions,clicks,spend,currency
2025-03-10,google_ads,cp1,1000,50,600,USD
2025-03-15,linkedin,cp2,500,5,100,EUR
2025-04-05,linkedin,cp2,500,5,100,EUR
"""
FX_RATES = """\
date,currency,rate_to_reporting
2025-04-01,EUR,1.1
"""
COSTS = """\
month,category,amount,team,channel,campaign_id
2025-02-01,programs,1000,marketing,,
2025-02-01,events,250,marketing,webinar,cp4
2025-02-01,salaries,2000,sales,,
2025-03-01,salaries,500,marketing,,
2025-03-01,ad_spend,999,marketing,paid_search,
2025-04-01,other,300,,,
2025-05-01,cogs,400,product,,
"""
NPS = """\
response_id,responded_at,score,account_id,contact_id,survey
r1,2025-01-05T10:00:00Z,10,a1,,relationship
r2,2025-01-06T10:00:00Z,10,a1,,relationship
r3,2025-01-07T10:00:00Z,9,a2,,relationship
r4,2025-01-08T10:00:00Z,8,a4,,onboarding
r5,2025-01-09T10:00:00Z,6,a2,,relationship
r6,2025-01-10T10:00:00Z,2,,c5,onboarding
r7,2025-02-03T10:00:00Z,9,a1,,relationship
r8,2025-02-04T10:00:00Z,7,a4,,relationship
"""
USAGE = """\
date,account_id,active_users,seats,key_events
2025-01-10,a1,5,10,100
2025-01-25,a1,7,10,50
2025-03-05,a1,8,12,10
2025-01-20,a2,3,4,20
2025-02-15,a2,2,,5
"""
ORDER = ("accounts", "contacts", "opportunities", "campaigns", "fx_rates", "ad_performance",
         "costs", "mrr", "nps_responses", "product_usage")


def mrr_csv(table: dict[str, dict[dt.date, float]]) -> str:
    lines = ["month,account_id,mrr"]
    for account, months in table.items():
        lines += [f"{m.isoformat()},{account},{v}" for m, v in months.items()]
    return "\n".join(lines) + "\n"


def load(ws: Workspace, write_file: Callable[..., Path], **tables: str) -> Workspace:
    """Import CSV texts in dependency order; every row must be accepted."""
    for table in ORDER:
        if table in tables:
            result = ws.import_file(table, write_file(tables[table], name=f"{table}.csv"))
            assert result.ok and result.rows_quarantined == 0, (
                table, result.message, [(i.code, i.message) for i in result.issues])
    return ws


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The BASE dataset of the module docstring, imported once for the module (the tests
    only read it)."""
    root = tmp_path_factory.mktemp("revenue")
    files = root / "files"
    files.mkdir()

    def write(content: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
        path = files / name
        path.write_text(content, encoding=encoding)
        return path

    ws = Workspace.init(root / "ws")
    load(ws, write, accounts=ACCOUNTS, contacts=CONTACTS, opportunities=OPPORTUNITIES,
         campaigns=CAMPAIGNS, fx_rates=FX_RATES, ad_performance=AD_PERFORMANCE, costs=COSTS,
         mrr=mrr_csv(MRR), nps_responses=NPS, product_usage=USAGE)
    yield ws
    ws.close()


def metric(ws: Workspace, key: str, **query: Any) -> MetricResult:
    return ws.metric(key, **{"as_of": AS_OF, **query})


def values(res: MetricResult) -> dict[Any, Any]:
    """``{period: value}``."""
    return {r["period"]: r["value"] for r in res.rows}


def by_dim(res: MetricResult, dim: str) -> dict[tuple[Any, Any], Any]:
    return {(r["period"], r[dim]): r["value"] for r in res.rows}


def approx(expected: dict[Any, Any]) -> Any:
    return {k: (pytest.approx(v) if isinstance(v, float) else v) for k, v in expected.items()}


# -- an independent reference: plain Python over the tiny MRR table ------------------------------

def reference(table: dict[str, dict[dt.date, float]], months: list[dt.date]
              ) -> dict[dt.date, dict[str, float]]:
    """MRR, movements and logo counts per month, by the rules of metrics.md §5, written
    without the engine: loop over accounts and months (the first month is the opening
    balance)."""
    out: dict[dt.date, dict[str, float]] = {}
    for i, month in enumerate(months):
        cell = dict.fromkeys(("mrr", "paying", "new", "expansion", "contraction", "churned",
                              "reactivation", "new_logos", "churned_logos", "starting"), 0.0)
        for rows in table.values():
            first = min(rows)
            if month < first:
                continue
            cur = rows.get(month, 0)
            prev = rows.get(months[i - 1], 0) if i and months[i - 1] >= first else 0
            before = any(v > 0 for m, v in rows.items() if m < month)
            cell["mrr"] += cur
            cell["paying"] += cur > 0
            cell["starting"] += prev > 0 and i > 0
            if i == 0:
                continue
            if cur > 0 and prev == 0:
                cell["reactivation" if before else "new"] += cur
                cell["new_logos"] += not before
            elif cur == 0 and prev > 0:
                cell["churned"] += prev
                cell["churned_logos"] += 1
            elif cur > 0 and prev > 0:
                cell["expansion"] += max(cur - prev, 0)
                cell["contraction"] += max(prev - cur, 0)
        out[month] = cell
    return out


# -- MRR stock and movements ----------------------------------------------------------------------

def test_mrr_movements_by_month_match_hand_count(base: Workspace) -> None:
    """The table of the module docstring, month by month. January is the opening balance: no
    movement although a1 and a2 pay (and a5 has an explicit 0 row). a2 has no rows in March and
    April: March churns its 200 and May is a reactivation (250), not new. a3's explicit 0 in
    April churns its 300. a5 pays for the first time in March (new 40) although it had a row
    in January (at 0). a1's July row is after the as-of date and ignored."""
    assert values(metric(base, "mrr")) == approx(
        {JAN: 300.0, FEB: 600.0, MAR: 490.0, APR: 240.0, MAY: 460.0, JUN: 500.0})
    assert values(metric(base, "new_mrr")) == approx(
        {JAN: 0.0, FEB: 300.0, MAR: 40.0, APR: 50.0, MAY: 0.0, JUN: 0.0})
    assert values(metric(base, "expansion_mrr")) == approx(
        {JAN: 0.0, FEB: 0.0, MAR: 50.0, APR: 0.0, MAY: 0.0, JUN: 40.0})
    assert values(metric(base, "contraction_mrr")) == approx(
        {JAN: 0.0, FEB: 0.0, MAR: 0.0, APR: 0.0, MAY: 30.0, JUN: 0.0})
    assert values(metric(base, "churned_mrr")) == approx(
        {JAN: 0.0, FEB: 0.0, MAR: 200.0, APR: 300.0, MAY: 0.0, JUN: 0.0})
    assert values(metric(base, "reactivation_mrr")) == approx(
        {JAN: 0.0, FEB: 0.0, MAR: 0.0, APR: 0.0, MAY: 250.0, JUN: 0.0})
    assert values(metric(base, "paying_customers")) == {JAN: 2, FEB: 3, MAR: 3, APR: 3, MAY: 4,
                                                        JUN: 4}
    assert values(metric(base, "arr")) == approx(
        {JAN: 3600.0, FEB: 7200.0, MAR: 5880.0, APR: 2880.0, MAY: 5520.0, JUN: 6000.0})


def test_leaving_and_returning_account_is_churn_then_reactivation_not_a_new_logo(
        base: Workspace) -> None:
    """a2 churns in March (n of churned_mrr = 1 account) and returns in May: reactivation_mrr
    counts it (n = 1), new_logos does not (May: 0 new logos, extra.reactivated = 1). New logos:
    Feb a3, Mar a5, Apr a4."""
    new_logos = metric(base, "new_logos")
    assert values(new_logos) == {JAN: 0, FEB: 1, MAR: 1, APR: 1, MAY: 0, JUN: 0}
    may = next(r for r in new_logos.rows if r["period"] == MAY)
    assert may["extra"]["reactivated"] == 1
    churned = {r["period"]: r["n"] for r in metric(base, "churned_mrr").rows}
    assert churned[MAR] == 1 and churned[APR] == 1
    back = {r["period"]: r["n"] for r in metric(base, "reactivation_mrr").rows}
    assert back == {JAN: 0, FEB: 0, MAR: 0, APR: 0, MAY: 1, JUN: 0}


def test_stocks_at_quarter_grain_are_the_last_month_flows_are_sums(base: Workspace) -> None:
    """Q1 MRR is March's 490 (not 300 + 600 + 490 = 1390), Q2 is June's 500; paying customers
    3 and 4. Flows sum their months: new Q1 = 300 + 40 = 340, Q2 = 50; churned Q1 = 200,
    Q2 = 300; Q2 reconciles: 490 + 50 + 40 − 30 − 300 + 250 = 500."""
    q = {"grain": "quarter"}
    assert values(metric(base, "mrr", **q)) == approx({Q1: 490.0, Q2: 500.0})
    assert values(metric(base, "paying_customers", **q)) == {Q1: 3, Q2: 4}
    assert values(metric(base, "arr", **q)) == approx({Q1: 5880.0, Q2: 6000.0})
    moves = {k: values(metric(base, k, **q)) for k in (
        "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr")}
    assert moves["new_mrr"] == approx({Q1: 340.0, Q2: 50.0})
    assert moves["churned_mrr"] == approx({Q1: 200.0, Q2: 300.0})
    assert moves["expansion_mrr"] == approx({Q1: 50.0, Q2: 40.0})
    q2 = 490 + moves["new_mrr"][Q2] + moves["expansion_mrr"][Q2] \
        - moves["contraction_mrr"][Q2] - moves["churned_mrr"][Q2] + moves["reactivation_mrr"][Q2]
    assert q2 == pytest.approx(500.0)


def test_quarter_clipped_by_the_range_end_takes_its_last_month_in_range(
        base: Workspace) -> None:
    """end = 2025-05-20: Q2 is partial and its stock is May's 460 (the last month inside the
    window); the quarter's flows only count April and May (churned 300, reactivation 250)."""
    q = {"grain": "quarter", "start": "2025-04-01", "end": "2025-05-20"}
    res = metric(base, "mrr", **q)
    assert [(r["period"], r["value"], r["partial"]) for r in res.rows] == [(Q2, 460.0, True)]
    assert values(metric(base, "reactivation_mrr", **q)) == approx({Q2: 250.0})
    assert values(metric(base, "expansion_mrr", **q)) == approx({Q2: 0.0})


def test_movements_cross_checked_against_plain_python(base: Workspace) -> None:
    """Cross-check: :func:`reference` (a plain Python loop over the MRR dict, independent of
    the engine) gives the same MRR, movements and logo counts for every month."""
    months = [JAN, FEB, MAR, APR, MAY, JUN]
    ref = reference({a: {m: v for m, v in rows.items() if m <= JUN} for a, rows in MRR.items()},
                    months)
    keys = {"mrr": "mrr", "new_mrr": "new", "expansion_mrr": "expansion",
            "contraction_mrr": "contraction", "churned_mrr": "churned",
            "reactivation_mrr": "reactivation", "paying_customers": "paying",
            "new_logos": "new_logos"}
    for key, ref_key in keys.items():
        got = values(metric(base, key))
        assert got == approx({m: type(got[m])(ref[m][ref_key]) for m in months}), key
    churn = metric(base, "logo_churn_rate")
    assert {r["period"]: (r["numerator"], r["denominator"]) for r in churn.rows} == {
        m: (int(ref[m]["churned_logos"]), int(ref[m]["starting"])) for m in months}


def test_mrr_compared_with_the_previous_period(base: Workspace) -> None:
    """compare=previous: June 500 against May 460 (delta 40); Q2 500 against Q1 490."""
    jun = metric(base, "mrr", start="2025-06-01", compare="previous").rows[0]
    assert (jun["previous_value"], jun["delta"]) == (pytest.approx(460.0), pytest.approx(40.0))
    q2 = metric(base, "mrr", grain="quarter", start="2025-04-01", compare="previous").rows[0]
    assert q2["previous_value"] == pytest.approx(490.0)


def test_mrr_by_dimension_and_filter(base: Workspace) -> None:
    """June MRR by the account-level channel: webinar a1 120, paid_search a2 250 + a5 40 = 290,
    paid_social a4 90 (o3 won new-business without a channel → the earliest contact's). a3's
    channel is its first won new-business deal's (event, not its contact's paid_search): it
    pays 300 in March. Filter segment = SMB in June: a2 250 + a5 40 = 290."""
    res = by_dim(metric(base, "mrr", by=["channel"]), "channel")
    assert res[(JUN, "webinar")] == pytest.approx(120.0)
    assert res[(JUN, "paid_search")] == pytest.approx(290.0)
    assert res[(JUN, "paid_social")] == pytest.approx(90.0)
    assert res[(MAR, "event")] == pytest.approx(300.0)
    smb = metric(base, "mrr", filters={"segment": ["SMB"]}, start="2025-06-01")
    assert values(smb) == approx({JUN: 290.0})


def test_rows_after_the_last_mrr_month_count_as_zero_with_a_note(base: Workspace) -> None:
    """as-of 2025-08-15: a1's July row (999) now counts; August has no row at all, so every
    account is at 0 in August (a month without a row is 0) and the result says the data ends
    in July."""
    res = base.metric("mrr", as_of="2025-08-15", start="2025-07-01")
    assert values(res) == approx({D(2025, 7, 1): 999.0, D(2025, 8, 1): 0.0})
    assert any("no rows after 2025-07" in n for n in res.notes)


def test_empty_mrr_table_gives_no_rows_and_none_for_ranges(ws: Workspace) -> None:
    """Without MRR data: no periods; with a range, stocks and rates are None, flows 0."""
    assert metric(ws, "mrr").rows == []
    assert values(metric(ws, "mrr", start="2025-01-01", end="2025-02-28")) == {
        JAN: None, FEB: None}
    assert values(metric(ws, "new_mrr", start="2025-01-01", end="2025-01-31")) == {JAN: 0}
    assert values(metric(ws, "logo_churn_rate", start="2025-01-01", end="2025-01-31")) == {
        JAN: None}


def test_monthly_metrics_refuse_week_grain(base: Workspace) -> None:
    with pytest.raises(UsageError, match="monthly data"):
        metric(base, "mrr", grain="week")


# -- churn and retention --------------------------------------------------------------------------

def test_logo_churn_rate_monthly_quarterly_and_annualised(base: Workspace) -> None:
    """Churned logos ÷ paying the month before: Jan 0/0 → None (opening, nobody paid before);
    Feb 0/2; Mar 1/3 (a2); Apr 1/3 (a3; paying in March a1 a3 a5); May 0/3; Jun 0/4. Q1 sums
    numerators and denominators: (0 + 0 + 1) ÷ (0 + 2 + 3) = 0.2, annualised 1 − 0.8^12;
    Q2: 1 ÷ (3 + 3 + 4) = 0.1."""
    res = metric(base, "logo_churn_rate")
    assert [(r["period"], r["numerator"], r["denominator"]) for r in res.rows] == [
        (JAN, 0, 0), (FEB, 0, 2), (MAR, 1, 3), (APR, 1, 3), (MAY, 0, 3), (JUN, 0, 4)]
    assert values(res) == approx({JAN: None, FEB: 0.0, MAR: 1 / 3, APR: 1 / 3, MAY: 0.0,
                                  JUN: 0.0})
    q = metric(base, "logo_churn_rate", grain="quarter")
    assert values(q) == approx({Q1: 0.2, Q2: 0.1})
    assert q.rows[0]["extra"]["annualised"] == pytest.approx(1 - 0.8 ** 12)


def test_gross_mrr_churn_rate(base: Workspace) -> None:
    """(churned + contraction) ÷ MRR of the previous month: Jan 0/0 → None; Feb 0/300; Mar
    200/600; Apr 300/490; May 30/240; Jun 0/460. Q1 = 200 ÷ (0 + 300 + 600) = 2/9; Q2 =
    (300 + 30) ÷ (490 + 240 + 460) = 330/1190."""
    assert values(metric(base, "gross_mrr_churn_rate")) == approx(
        {JAN: None, FEB: 0.0, MAR: 200 / 600, APR: 300 / 490, MAY: 30 / 240, JUN: 0.0})
    q = metric(base, "gross_mrr_churn_rate", grain="quarter")
    assert values(q) == approx({Q1: 2 / 9, Q2: 330 / 1190})
    assert q.rows[1]["extra"]["contraction_mrr"] == pytest.approx(30.0)


NRR_MRR = {
    "b1": {D(2024, 1, 1): 100, D(2025, 1, 1): 400},
    "b2": {D(2024, 1, 1): 200},
    "b3": {D(2024, 1, 1): 100, D(2025, 1, 1): 60},
    "b4": {D(2024, 6, 1): 500, D(2025, 1, 1): 500},
    "b5": {D(2024, 1, 1): 0, D(2025, 1, 1): 80},
}


def test_nrr_and_grr_over_twelve_months(ws: Workspace, write_file: FileWriter) -> None:
    """E = 2025-01, cohort = accounts with MRR > 0 in 2024-01: b1 100, b2 200, b3 100 (b4
    starts later, b5 had 0) → Σ MRR(E−12) = 400. NRR = (400 + 0 + 60) ÷ 400 = 1.15; GRR =
    (min(400, 100) + min(0, 200) + min(60, 100)) ÷ 400 = 160/400 = 0.4 (never above 1).
    Quarter grain with the range ending 2025-01-31: Q1 2025 is January (its last month in the
    window). 2024-12: E−12 is before any data → no cohort → None."""
    load(ws, write_file, mrr=mrr_csv(NRR_MRR))
    q = {"as_of": "2025-03-31", "start": "2024-12-01", "end": "2025-01-31"}
    nrr = ws.metric("nrr", **q)
    assert values(nrr) == approx({D(2024, 12, 1): None, D(2025, 1, 1): 1.15})
    jan = nrr.rows[1]
    assert (jan["numerator"], jan["denominator"], jan["n"]) == (
        pytest.approx(460.0), pytest.approx(400.0), 3)
    assert jan["extra"]["start_month"] == D(2024, 1, 1)
    assert values(ws.metric("grr", **q)) == approx({D(2024, 12, 1): None, D(2025, 1, 1): 0.4})
    quarter = ws.metric("nrr", grain="quarter", as_of="2025-03-31", start="2025-01-01",
                        end="2025-01-31")
    assert values(quarter) == approx({D(2025, 1, 1): 1.15})


def test_churn_by_source(base: Workspace) -> None:
    """Churned accounts by the account's original channel: Q1 a2 (paid_search, 200 MRR), Q2 a3
    (event — its first won new-business deal's channel — 300 MRR). Each is the whole of its
    quarter's churn (share 1.0); empty cells are 0."""
    res = metric(base, "churn_by_source", grain="quarter", by=["channel"])
    cells = {(r["period"], r["channel"]): (r["value"], r["extra"].get("churned_mrr"),
                                           r["extra"].get("share")) for r in res.rows}
    assert cells[(Q1, "paid_search")] == (1, pytest.approx(200.0), 1.0)
    assert cells[(Q2, "event")] == (1, pytest.approx(300.0), 1.0)
    assert cells[(Q1, "event")][0] == 0 and cells[(Q2, "paid_search")][0] == 0


# -- ARPA and LTV ---------------------------------------------------------------------------------

def test_arpa(base: Workspace) -> None:
    """MRR ÷ paying at the period end: Q1 (March) 490/3, Q2 (June) 500/4 = 125."""
    res = metric(base, "arpa", grain="quarter")
    assert values(res) == approx({Q1: 490 / 3, Q2: 125.0})
    assert (res.rows[1]["numerator"], res.rows[1]["denominator"]) == (pytest.approx(500.0), 4)


def test_ltv_capped_uncapped_and_undefined(base: Workspace) -> None:
    """LTV(M) = ARPA(M) × 0.8 × min(60, 1 ÷ trailing churn), churn over the 6 months ending M.
    Jan: no logo paid the month before (opening) → None. Feb: ARPA 600/3 = 200; churned 0 of
    starting 0 + 2 → zero churn → cap 60 → 200 × 0.8 × 60 = 9600. Jun: ARPA 125; churned
    0+0+1+1+0+0 = 2 of starting 0+2+3+3+3+4 = 15 → lifetime 7.5 → 125 × 0.8 × 7.5 = 750.
    Q1 = March: ARPA 490/3, churn 1/5 → lifetime 5 → 490/3 × 0.8 × 5 = 653.33."""
    res = metric(base, "ltv")
    got = values(res)
    assert got[JAN] is None
    assert got[FEB] == pytest.approx(9600.0)
    assert got[JUN] == pytest.approx(750.0)
    jun = res.rows[-1]["extra"]
    assert (jun["churned_logos"], jun["starting_logos"], jun["lifetime_months"],
            jun["capped"]) == (2, 15, pytest.approx(7.5), False)
    assert values(metric(base, "ltv", grain="quarter")) == approx(
        {Q1: 490 / 3 * 0.8 * 5, Q2: 750.0})


def test_ltv_by_segment(base: Workspace) -> None:
    """June by segment. Enterprise (a1 120, a4 90): ARPA 105; no churn; starting logos Feb–Jun
    1+1+1+2+2 = 7 → cap 60 → 105 × 0.8 × 60 = 5040. SMB (a2 250, a5 40): ARPA 145; churned
    a2 (Mar) and a3 (Apr) = 2 of starting 1+2+2+1+2 = 8 → 1 ÷ 0.25 = 4 months → 145 × 0.8 × 4
    = 464."""
    res = by_dim(metric(base, "ltv", by=["segment"], start="2025-06-01"), "segment")
    assert res == approx({(JUN, "Enterprise"): 5040.0, (JUN, "SMB"): 464.0})


# -- CAC, payback, LTV:CAC ------------------------------------------------------------------------

def test_cac_fully_loaded_blended(base: Workspace) -> None:
    """Marketing + sales cost ÷ new logos. Feb (1000 + 250 + 2000) ÷ 1 = 3250. Mar: 500 + 600
    (google_ads) = 1100 — the EUR LinkedIn spend of 03-15 has no rate (left out, noted) and
    the 999 ad_spend cost row is covered by ad_performance (not counted twice) — ÷ 1 = 1100.
    Apr: 300 (no team → marketing, warned) + 100 EUR × 1.1 = 410 ÷ 1. May: no cost and no new
    logo (a2 returns: a reactivation, not a new customer) → None. Product cogs never count.
    Q1 = 4350 ÷ 2 = 2175; Q2 = 410 ÷ 1."""
    res = metric(base, "cac")
    assert values(res) == approx({JAN: None, FEB: 3250.0, MAR: 1100.0, APR: 410.0, MAY: None,
                                  JUN: None})
    feb = res.rows[1]
    assert (feb["extra"]["marketing_cost"], feb["extra"]["sales_cost"]) == (
        pytest.approx(1250.0), pytest.approx(2000.0))
    assert any("no exchange rate" in n for n in res.notes)
    assert any("no team" in n for n in res.notes)
    assert any("already reports" in n for n in res.notes)
    assert values(metric(base, "cac", grain="quarter")) == approx({Q1: 2175.0, Q2: 410.0})


def test_cac_payback_and_ltv_to_cac(base: Workspace) -> None:
    """Payback = CAC ÷ (new MRR per new logo × 0.8) = cost ÷ (new MRR × 0.8): Q1 4350 ÷
    ((300 + 40) × 0.8) = 4350/272; Q2 410 ÷ (50 × 0.8) = 10.25. LTV:CAC = LTV at the period's
    last month ÷ CAC: Q1 (490/3 × 0.8 × 5) ÷ 2175; Q2 750 ÷ 410."""
    q = {"grain": "quarter"}
    payback = metric(base, "cac_payback_months", **q)
    assert values(payback) == approx({Q1: 4350 / 272, Q2: 10.25})
    assert payback.rows[0]["extra"]["new_arpa"] == pytest.approx(170.0)
    ratio = metric(base, "ltv_to_cac", **q)
    assert values(ratio) == approx({Q1: (490 / 3 * 0.8 * 5) / 2175, Q2: 750 / 410})
    month = values(metric(base, "cac_payback_months"))
    assert month[MAY] is None


def test_paid_cac_per_channel(base: Workspace) -> None:
    """Channel ad spend ÷ new logos of that channel. March: paid_search spend 600 (cp1), new
    logo a5 (paid_search) → 600; paid_social's March spend has no rate (left out). April:
    paid_social 110, new logo a4 (paid_social) → 110. By quarter without --by: Q1 600 ÷ 1,
    Q2 110 ÷ 1."""
    res = by_dim(metric(base, "paid_cac", by=["channel"]), "channel")
    assert res[(MAR, "paid_search")] == pytest.approx(600.0)
    assert res[(APR, "paid_social")] == pytest.approx(110.0)
    assert values(metric(base, "paid_cac", grain="quarter")) == approx({Q1: 600.0, Q2: 110.0})


# -- ROI and profit -------------------------------------------------------------------------------

def test_marketing_roi_with_derived_source_and_missing_rate(base: Workspace) -> None:
    """(marketing-sourced bookings × 0.8 − marketing cost) ÷ marketing cost. Feb: o1 3600 →
    (2880 − 1250) ÷ 1250 = 1.304. Mar: o2 is marketing-sourced by derivation (empty source
    type, inbound contact c1) but has no EUR rate on 03-15, so it is left out (noted): (0 −
    1100) ÷ 1100 = −1. Apr: o3 500 EUR × 1.1 = 550 → (440 − 410) ÷ 410. May: no marketing
    cost → None (as January and June). o5 (outbound contact) is sales-sourced and lost
    anyway. Q1: (2880 − 2350) ÷ 2350."""
    res = metric(base, "marketing_roi", start="2025-01-01", end="2025-06-30")
    assert values(res) == approx({JAN: None, FEB: 1.304, MAR: -1.0, APR: 30 / 410, MAY: None,
                                  JUN: None})
    mar = next(r for r in res.rows if r["period"] == MAR)
    assert mar["extra"]["derived_source_type"] == 1
    assert any("no exchange rate" in n for n in res.notes)
    assert values(metric(base, "marketing_roi", grain="quarter")) == approx(
        {Q1: 530 / 2350, Q2: 30 / 410})


def test_pipeline_to_spend(base: Workspace) -> None:
    """Marketing-sourced pipeline created ÷ marketing cost: Q1 created o1 3600 (Jan), o2 (Feb,
    derived marketing, closed on 03-15 without a rate: no value), o3 550 (Mar; converted at
    its close date 04-20) = 4150 ÷ 2350; Q2 o4 2000 (open, at the as-of date) ÷ 410. January
    has pipeline but no cost → None."""
    assert values(metric(base, "pipeline_to_spend", grain="quarter")) == approx(
        {Q1: 4150 / 2350, Q2: 2000 / 410})
    assert values(metric(base, "pipeline_to_spend"))[JAN] is None


def test_campaign_roi_sourced(base: Workspace) -> None:
    """Per campaign, quarter grain. Q1: cp4 won o1 3600, cost = its costs row 250 (its
    campaigns.cost 300 is ignored because the campaign has itemised rows; noted) → 13.4; cp1
    cost 600 (ad spend), nothing won → −1. Q2: cp1 won o3 550 with no cost in Q2 → None; cp2
    110 → −1; cp3 campaigns.cost 700 dated 05-10 (no itemised rows; o4 is still open) → −1.
    All campaigns: Q1 (3600 − 850) ÷ 850, Q2 (550 − 810) ÷ 810."""
    res = metric(base, "campaign_roi", grain="quarter", by=["campaign"])
    cells = by_dim(res, "campaign")
    assert cells == approx({(Q1, "cp1"): -1.0, (Q1, "cp4"): 13.4, (Q1, "cp2"): None,
                            (Q1, "cp3"): None, (Q2, "cp1"): None, (Q2, "cp2"): -1.0,
                            (Q2, "cp3"): -1.0, (Q2, "cp4"): None})
    assert all(r["extra"].get("attribution") == "sourced" for r in res.rows if r["n"])
    assert any("itemised" in n for n in res.notes)
    assert values(metric(base, "campaign_roi", grain="quarter")) == approx(
        {Q1: 2750 / 850, Q2: -260 / 810})


def test_profit(base: Workspace) -> None:
    """Revenue (Σ MRR of the quarter's months) − every cost. Q1: 300 + 600 + 490 = 1390 −
    (3250 + 1100) = −2960. Q2: 240 + 460 + 500 = 1200 − (410 + cogs 400) = 390."""
    res = metric(base, "profit", grain="quarter")
    assert values(res) == approx({Q1: -2960.0, Q2: 390.0})
    assert res.rows[1]["extra"]["costs_by_team"] == approx(
        {"marketing": 410.0, "product": 400.0})
    assert any("no team" in n for n in res.notes)


# -- NPS and product usage ------------------------------------------------------------------------

def test_nps_with_margin_of_error(base: Workspace) -> None:
    """Jan: scores 10 10 9 8 6 2 → n 6, promoters 3, passives 1, detractors 2: NPS =
    100 × (3 − 2) ÷ 6 = 16.67; P = 1/2, D = 1/3, P + D − (P − D)² = 5/6 − 1/36 = 29/36, MoE =
    196 × √(29/36 ÷ 6) = 196 × √(29/216) = 71.817. Feb: 9 7 → 50, MoE = 196 × √((1/2 − 1/4) ÷
    2) = 196 × √(1/8) = 69.30. Q1: n 8, P 4, D 2 → 25."""
    res = metric(base, "nps")
    jan = res.rows[0]
    assert jan["value"] == pytest.approx(100 / 6)
    assert (jan["numerator"], jan["denominator"], jan["n"]) == (1, 6, 6)
    assert {k: jan["extra"][k] for k in ("promoters", "passives", "detractors")} == {
        "promoters": 3, "passives": 1, "detractors": 2}
    assert jan["extra"]["margin_of_error"] == pytest.approx(196 * math.sqrt(29 / 216))
    assert jan["extra"]["margin_of_error"] == pytest.approx(71.817, abs=1e-3)
    assert res.rows[1]["value"] == pytest.approx(50.0)
    assert res.rows[1]["extra"]["margin_of_error"] == pytest.approx(69.296, abs=1e-3)
    assert values(metric(base, "nps", grain="quarter")) == approx({Q1: 25.0})


def test_nps_by_segment_and_survey(base: Workspace) -> None:
    """Q1 by segment: Enterprise a1 10 10 9, a4 8 7 → (3 − 0) ÷ 5 = 60; SMB a2 9 6 and r6
    (no account; its contact c5 is at a5) 2 → (1 − 2) ÷ 3 = −33.3. By survey: onboarding r4 8,
    r6 2 → (0 − 1) ÷ 2 = −50."""
    seg = by_dim(metric(base, "nps", grain="quarter", by=["segment"]), "segment")
    assert seg == approx({(Q1, "Enterprise"): 60.0, (Q1, "SMB"): -100 / 3})
    survey = by_dim(metric(base, "nps", grain="quarter", by=["survey"]), "survey")
    assert survey[(Q1, "onboarding")] == pytest.approx(-50.0)


def test_product_usage(base: Workspace) -> None:
    """Active users are a stock: per account the latest reading in the period. Jan: a1 7
    (01-25), a2 3 → 10; Feb: a2 2; Mar: a1 8; Q1: a1 8 (03-05) + a2 2 (02-15) = 10 (not
    5 + 7 + 8 + 3 + 2). Usage per seat: latest reading with seats per account; Jan (7 + 3) ÷
    (10 + 4); Feb: a2's only reading has no seats → None; Q1 (8 + 3) ÷ (12 + 4). Key events are
    a flow: Q1 = 100 + 50 + 10 + 20 + 5 = 185."""
    assert values(metric(base, "product_active_users")) == {JAN: 10, FEB: 2, MAR: 8}
    assert values(metric(base, "product_active_users", grain="quarter")) == {Q1: 10}
    assert values(metric(base, "usage_per_seat")) == approx(
        {JAN: 10 / 14, FEB: None, MAR: 8 / 12})
    assert values(metric(base, "usage_per_seat", grain="quarter")) == approx({Q1: 11 / 16})
    assert values(metric(base, "product_key_events", grain="quarter")) == {Q1: 185}
    by_seg = by_dim(metric(base, "product_active_users", grain="quarter", by=["segment"]),
                    "segment")
    assert by_seg == {(Q1, "Enterprise"): 8, (Q1, "SMB"): 2}


def test_metadata_is_complete() -> None:
    """Every metric of this module declares its metadata (metrics.md, "Rules for all
    metrics")."""
    from funnelboard.metrics.registry import resolve
    from funnelboard.settings import Settings

    keys = ("mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
            "reactivation_mrr", "paying_customers", "new_logos", "logo_churn_rate",
            "gross_mrr_churn_rate", "nrr", "grr", "churn_by_source", "arpa", "ltv", "cac",
            "paid_cac", "ltv_to_cac", "cac_payback_months", "marketing_roi",
            "pipeline_to_spend", "campaign_roi", "profit", "nps", "product_active_users",
            "usage_per_seat")
    for key in keys:
        m = resolve(key, Settings())
        assert m.unit in ("count", "currency", "ratio", "multiple", "days", "hours", "months",
                              "score")
        assert m.direction in ("up", "down", "neutral")
        assert m.aggregation in ("flow", "stock", "ratio")
        assert m.group in ("customers", "unit_economics")
        assert len(m.definition) > 80 and m.time_basis


# -- the demo company: movements reconcile every month --------------------------------------------

DEMO_END = D(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from funnelboard.services import build_demo

    folder: Path = tmp_path_factory.mktemp("demo") / "ws"
    build_demo(folder, contacts=2000, seed=11, end=DEMO_END)
    ws = Workspace.open(folder)
    yield ws
    ws.close()


def test_demo_mrr_movements_reconcile_every_month(demo: Workspace) -> None:
    """For every month after the opening one: MRR(M−1) + new + expansion − contraction −
    churned + reactivation = MRR(M); and MRR(M) equals the plain sum of that month's mrr rows
    (an independent SQL query)."""
    q = {"as_of": DEMO_END.isoformat()}
    series = {k: values(demo.metric(k, **q)) for k in (
        "mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
        "reactivation_mrr")}
    months = sorted(series["mrr"])
    assert len(months) >= 24
    for prev, month in itertools.pairwise(months):
        end = (series["mrr"][prev] + series["new_mrr"][month] + series["expansion_mrr"][month]
               - series["contraction_mrr"][month] - series["churned_mrr"][month]
               + series["reactivation_mrr"][month])
        assert end == pytest.approx(series["mrr"][month], abs=1e-6), month
    con = demo.connection()
    plain = dict(con.execute(
        "SELECT month, sum(mrr)::DOUBLE FROM mrr WHERE month <= ? GROUP BY month",
        [DEMO_END]).fetchall())
    for month in months:
        assert series["mrr"][month] == pytest.approx(plain.get(month, 0.0), abs=1e-6), month


def test_demo_unit_economics_are_plausible(demo: Workspace) -> None:
    """Sanity bounds on the demo's yearly figures: NRR and GRR between 50 % and 200 % (GRR ≤
    NRR and ≤ 1), LTV:CAC and payback positive where defined."""
    q = {"as_of": DEMO_END.isoformat(), "grain": "year", "start": "2025-01-01",
         "end": "2025-12-31"}
    nrr = values(demo.metric("nrr", **q))[D(2025, 1, 1)]
    grr = values(demo.metric("grr", **q))[D(2025, 1, 1)]
    assert nrr is not None and grr is not None
    assert 0.5 < grr <= 1.0 and grr <= nrr < 2.0
    ratio = values(demo.metric("ltv_to_cac", **q))[D(2025, 1, 1)]
    payback = values(demo.metric("cac_payback_months", **q))[D(2025, 1, 1)]
    assert ratio is None or ratio > 0
    assert payback is None or payback > 0
