"""Golden tests of the pipeline and revenue metrics (metrics.md §4) on tiny hand-counted data.

Every expected number is derived by hand from metrics.md §4 and data-contract.md ("Derived
semantics": Money, Status, Marketing-sourced); the derivation is in each test's docstring.

DEALS — the main dataset (UTC workspace, reporting currency USD, dates are local midnights):

    opp created amount    acct cont type          source     status close notes
    O1  01-10  10000 USD A1   C1   new_business  marketing  won    02-20 term 24, competitor X
    O2  01-15  20000 USD A2   C2   new_business  sales      lost   03-05 channel trade_show,
                                                                     competitor Y, reason price
    O3  02-01   5000 (-) A3   C3   new_business  (-)        won    04-10 no term
    O4  02-10   8000 EUR A1   C1   expansion     sales      open   07-15 proposal, no probability
    O5  03-01  12000 USD A2   (-)  new_business  (-)        open   06-15 negotiation, prob. 0.7
    O6  04-05   7000 USD A3   C2   renewal       (-)        lost   05-20 own segment SMB,
                                                                     reason no_budget
    O7  05-01   3000 GBP A1   C1   new_business  marketing  open   08-30 discovery (no GBP rate!)
    O8  04-20   9000 USD A1   (-)  new_business  partner    won    06-10 term 12
    O9  04-01   4000 USD A2   (-)  new_business  sales      open   05-01 demo, no probability

    account  segment     region  target     contact  channel         motion
    A1       Enterprise  EMEA    true       C1       organic_search  inbound
    A2       SMB         NA      false      C2       outbound_email  outbound
    A3       Mid-Market  NA      false      C3       paid_search     inbound

    fx_rates EUR: 1.10 from 2025-01-01, 1.20 from 2025-06-01; no GBP rate at all.
    targets (metric bookings, quarter): 2025-Q1 20000, 2025-Q2 10000, 2025-Q3 4400.

Derived source_type: O3 (contact C3 inbound) → marketing, O5 (no contact) → other, O6 (contact
C2 outbound) → sales. Settings' default probabilities: discovery 0.1, demo 0.2, proposal 0.5,
negotiation 0.8. None of these deals has stage history, so a deal closed now was open until
its close date.

HISTORY — the stage-history dataset (all amounts USD, no source fields):

    opp created amount now                   close history (entered)
    H1  01-05   10000 won                   03-20 discovery 01-05, proposal 02-10,
                                                  closed_won 03-20
    H2  01-20    4000 open, demo, prob 0.3  05-31 discovery 01-20, demo 02-25
    H3  02-01    6000 lost                  04-10 discovery 02-01, "Negotiation" 03-01,
                                                  closed_lost 04-15
    H4  01-10    2000 won                   02-15 (no history)

WIN HISTORY (weighted pipeline by historical stage-to-win rate) and NO DECISION (win rates
without "no decision" losses) are small datasets of their own, drawn in their tests.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics.query import make_query
from funnelboard.metrics.registry import resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"
Q1, Q2 = D(2025, 1, 1), D(2025, 4, 1)
H1_2025 = {"start": "2025-01-01", "end": "2025-06-30", "as_of": AS_OF}

ACCOUNTS = """\
account_id,name,segment,region,icp_tier,is_target_account
A1,Acme,Enterprise,EMEA,A,true
A2,Beta,SMB,NA,B,false
A3,Gamma,Mid-Market,NA,A,false
"""
CONTACTS = """\
contact_id,created_at,account_id,channel,motion
C1,2024-12-01,A1,organic_search,inbound
C2,2024-12-01,A2,outbound_email,outbound
C3,2024-12-01,A3,paid_search,inbound
"""
OPPORTUNITIES = """\
opportunity_id,created_at,amount,currency,account_id,contact_id,stage,is_closed,is_won,close_date,probability,type,source_type,channel,owner,segment,competitor,loss_reason,term_months
O1,2025-01-10,10000,USD,A1,C1,closed_won,true,true,2025-02-20,,new_business,marketing,,ann,,X,,24
O2,2025-01-15,20000,USD,A2,C2,closed_lost,true,false,2025-03-05,,new_business,sales,trade_show,bob,,Y,price,
O3,2025-02-01,5000,,A3,C3,closed_won,true,true,2025-04-10,,new_business,,,ann,,,,
O4,2025-02-10,8000,EUR,A1,C1,proposal,false,false,2025-07-15,,expansion,sales,,bob,,,,
O5,2025-03-01,12000,USD,A2,,negotiation,false,false,2025-06-15,0.7,new_business,,,bob,,,,
O6,2025-04-05,7000,USD,A3,C2,closed_lost,true,false,2025-05-20,,renewal,,,ann,SMB,,no_budget,
O7,2025-05-01,3000,GBP,A1,C1,discovery,false,false,2025-08-30,,new_business,marketing,,ann,,,,
O8,2025-04-20,9000,USD,A1,,closed_won,true,true,2025-06-10,,new_business,partner,,bob,,,,12
O9,2025-04-01,4000,USD,A2,,demo,false,false,2025-05-01,,new_business,sales,,ann,,,,
"""
FX = """\
date,currency,rate_to_reporting
2025-01-01,EUR,1.10
2025-06-01,EUR,1.20
"""
TARGETS = """\
metric,period_start,grain,target,kind
bookings,2025-01-01,quarter,20000,quota
bookings,2025-04-01,quarter,10000,quota
bookings,2025-07-01,quarter,4400,quota
"""
MEETINGS = """\
meeting_id,booked_at,kind,contact_id,account_id,status,opportunity_id
M1,2025-01-10,demo,C1,A1,held,O1
M6,2025-01-05,demo,C1,A1,held,O1
M2,2025-03-01,demo,C3,A3,held,
M3,2025-03-20,demo,,A1,held,
M4,2025-02-01,demo,C1,A1,canceled,
M5,2025-02-01,meeting,C2,A2,held,
"""
HISTORY_OPPS = """\
opportunity_id,created_at,amount,stage,is_closed,is_won,close_date,probability,type
H1,2025-01-05,10000,closed_won,true,true,2025-03-20,1,new_business
H2,2025-01-20,4000,demo,false,false,2025-05-31,0.3,new_business
H3,2025-02-01,6000,closed_lost,true,false,2025-04-10,0,new_business
H4,2025-01-10,2000,closed_won,true,true,2025-02-15,1,new_business
"""
HISTORY_STAGES = """\
opportunity_id,stage,entered_at
H1,discovery,2025-01-05
H1,proposal,2025-02-10
H1,closed_won,2025-03-20
H2,discovery,2025-01-20
H2,demo,2025-02-25
H3,discovery,2025-02-01
H3,Negotiation,2025-03-01
H3,closed_lost,2025-04-15
"""


def _build(folder: Path, files: dict[str, str], *, no_decision: tuple[str, ...] = ()
           ) -> Workspace:
    """A new workspace holding ``files``; ``no_decision`` is written to its funnelboard.toml
    as ``[pipeline] no_decision_loss_reasons`` before it is opened."""
    ws = Workspace.init(folder)
    if no_decision:
        ws.close()
        toml = folder / "funnelboard.toml"
        text = toml.read_text(encoding="utf-8")
        listed = ", ".join(f'"{r}"' for r in no_decision)
        edited = text.replace("no_decision_loss_reasons = []",
                              f"no_decision_loss_reasons = [{listed}]")
        assert edited != text
        toml.write_text(edited, encoding="utf-8")
        ws = Workspace.open(folder)
    for table, text in files.items():
        path = folder.parent / f"{folder.name}_{table}.csv"
        path.write_text(text, encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.status != "rejected", (table, result.issues)
    return ws


@pytest.fixture(scope="module")
def deals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _build(tmp_path_factory.mktemp("pipeline") / "deals", {
        "accounts": ACCOUNTS, "contacts": CONTACTS, "opportunities": OPPORTUNITIES,
        "fx_rates": FX, "targets": TARGETS, "meetings": MEETINGS})
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def hist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _build(tmp_path_factory.mktemp("pipeline") / "hist", {
        "opportunities": HISTORY_OPPS, "opportunity_stages": HISTORY_STAGES})
    yield ws
    ws.close()


def values(ws: Workspace, key: str, **query: Any) -> dict[Any, Any]:
    """``{period: value}`` (or ``{(period, dim...): value}`` with a breakdown)."""
    res = ws.metric(key, **query)
    by = list(query.get("by") or [])
    return {(r["period"], *[r[d] for d in by]) if by else r["period"]: r["value"]
            for r in res.rows}


def rows(ws: Workspace, key: str, **query: Any) -> dict[Any, dict[str, Any]]:
    res = ws.metric(key, **query)
    by = list(query.get("by") or [])
    return {(r["period"], *[r[d] for d in by]) if by else r["period"]: r for r in res.rows}


# -- registration -------------------------------------------------------------------------------

KEYS = ("opportunities_created", "pipeline_created", "marketing_sourced_opportunities",
        "marketing_sourced_pipeline", "marketing_pipeline_share", "open_pipeline",
        "weighted_pipeline", "pipeline_coverage", "bookings_target_attainment", "bookings",
        "won_revenue", "marketing_sourced_revenue", "win_rate", "win_rate_amount",
        "cohort_win_rate", "loss_reasons", "avg_deal_size", "acv", "opportunity_stage_days",
        "demo_to_close_days", "sales_velocity", "opportunity_stage_conversion")


@pytest.mark.parametrize("key", KEYS)
def test_every_metric_is_registered_with_full_metadata(key: str) -> None:
    m = resolve(key, Settings())
    assert m.kind == "pipeline" and m.label and m.group in ("pipeline", "revenue")
    assert m.unit in ("count", "currency", "ratio", "multiple", "days")
    assert m.direction in ("up", "down", "neutral")
    assert m.aggregation in ("flow", "stock", "ratio")
    assert m.time_basis and len(m.definition) > 80 and m.dimensions


def test_stock_and_flow_declarations() -> None:
    s = Settings()
    assert resolve("open_pipeline", s).aggregation == "stock"
    assert resolve("weighted_pipeline", s).aggregation == "stock"
    assert resolve("bookings", s).aggregation == "flow"
    assert resolve("win_rate", s).aggregation == "ratio"
    assert "loss_reason" in resolve("loss_reasons", s).dimensions
    assert "loss_reason" not in resolve("win_rate", s).dimensions
    assert resolve("won_revenue", s).definition.startswith(resolve("bookings", s).definition)


# -- created ------------------------------------------------------------------------------------

def test_opportunities_created_by_month_and_quarter(deals: Workspace) -> None:
    """Created: Jan O1 O2 · Feb O3 O4 · Mar O5 · Apr O6 O8 O9 · May O7 · Jun none (0, a flow).
    Quarters: Q1 = 5, Q2 = 4 — a flow, so a quarter is the sum of its months."""
    by_month = values(deals, "opportunities_created", grain="month", **H1_2025)
    assert by_month == {D(2025, 1, 1): 2, D(2025, 2, 1): 2, D(2025, 3, 1): 1,
                        D(2025, 4, 1): 3, D(2025, 5, 1): 1, D(2025, 6, 1): 0}
    assert values(deals, "opportunities_created", grain="quarter", **H1_2025) == {Q1: 5, Q2: 4}


def test_pipeline_created_converts_currencies_and_leaves_out_a_missing_rate(
        deals: Workspace) -> None:
    """Amounts in USD: closed deals at their close date, open deals at the as-of date.
    O4 (8000 EUR, open) at 06-30: rate 1.20 → 9600. O7 (3000 GBP) has no rate: left out,
    with a note — never counted unconverted.
    Q1: O1 10000 + O2 20000 + O3 5000 + O4 9600 + O5 12000 = 56600 (5 deals).
    Q2: O6 7000 + O8 9000 + O9 4000 = 20000 (3 priced deals; O7 left out)."""
    res = deals.metric("pipeline_created", grain="quarter", **H1_2025)
    got = {r["period"]: (r["value"], r["n"]) for r in res.rows}
    assert got[Q1] == (pytest.approx(56600), 5)
    assert got[Q2] == (pytest.approx(20000), 3)
    assert any("no exchange rate" in n for n in res.notes)


def test_pipeline_created_at_an_earlier_as_of_uses_that_days_rate(deals: Workspace) -> None:
    """As of 05-15, O4 is open and converted at the 05-15 rate (1.10): Q1 = 10000 + 20000 +
    5000 + 8800 + 12000 = 55800."""
    got = values(deals, "pipeline_created", grain="quarter", start="2025-01-01",
                 end="2025-03-31", as_of="2025-05-15")
    assert got == {Q1: pytest.approx(55800)}


def test_pipeline_created_by_channel_sums_to_the_total(deals: Workspace) -> None:
    """Channel = the deal's, else its primary contact's. Q1: O1, O4 (C1 organic_search) 10000 +
    9600 = 19600; O2 trade_show (its own) 20000; O3 (C3 paid_search) 5000; O5 (no contact, no
    channel) 12000. The parts sum to 56600."""
    got = values(deals, "pipeline_created", grain="quarter", by=["channel"],
                 start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    assert got == {(Q1, "organic_search"): pytest.approx(19600),
                   (Q1, "trade_show"): pytest.approx(20000),
                   (Q1, "paid_search"): pytest.approx(5000), (Q1, None): pytest.approx(12000)}
    assert sum(got.values()) == pytest.approx(56600)


def test_segment_is_the_deals_own_else_its_accounts(deals: Workspace) -> None:
    """Q2 created: O6 (own segment SMB, account Mid-Market) → SMB; O8 (A1) Enterprise; O9 (A2)
    SMB; O7 (A1) Enterprise. Counts: SMB 2, Enterprise 2."""
    got = values(deals, "opportunities_created", grain="quarter", by=["segment"],
                 start="2025-04-01", end="2025-06-30", as_of=AS_OF)
    assert got == {(Q2, "Enterprise"): 2, (Q2, "SMB"): 2}


def test_source_type_is_derived_from_the_contacts_motion(deals: Workspace) -> None:
    """Empty source_type: O3 (C3 inbound) → marketing, O5 (no contact) → other, O6 (C2
    outbound) → sales; each flagged as derived.
    Q1: marketing O1 O3 (1 derived) · sales O2 O4 · other O5 (1 derived).
    Q2: marketing O7 · sales O6 (derived) O9 · partner O8."""
    res = deals.metric("opportunities_created", grain="quarter", by=["source_type"], **H1_2025)
    got = {(r["period"], r["source_type"]): (r["value"], r["extra"]["derived_source_type"])
           for r in res.rows if r["value"]}
    assert got == {(Q1, "marketing"): (2, 1), (Q1, "sales"): (2, 0), (Q1, "other"): (1, 1),
                   (Q2, "marketing"): (1, 0), (Q2, "sales"): (2, 1), (Q2, "partner"): (1, 0)}
    assert any("derived from the primary contact's motion" in n for n in res.notes)


def test_marketing_sourced_opportunities_and_pipeline(deals: Workspace) -> None:
    """Marketing-sourced: Q1 O1 10000 + O3 5000 (derived) = 2 deals, 15000; Q2 O7 only — one
    deal whose GBP amount has no rate, so the pipeline is 0 (and a note says why)."""
    assert values(deals, "marketing_sourced_opportunities", grain="quarter",
                  **H1_2025) == {Q1: 2, Q2: 1}
    res = deals.metric("marketing_sourced_pipeline", grain="quarter", **H1_2025)
    assert {r["period"]: r["value"] for r in res.rows} == {Q1: pytest.approx(15000), Q2: 0}
    assert res.rows[0]["extra"]["derived_source_type"] == 1
    assert any("no exchange rate" in n for n in res.notes)


def test_marketing_pipeline_share_of_new_business(deals: Workspace) -> None:
    """New business only. Q1: O1 10000 (marketing) + O3 5000 (marketing, derived) ÷ (O1 + O2
    20000 + O3 + O5 12000 = 47000) = 15000/47000. O4 is an expansion: not counted.
    Q2: O8 9000 (partner) + O9 4000 (sales); O7 has no rate → 0/13000 = 0.
    By month, June creates nothing: an empty denominator gives None, not 0."""
    res = deals.metric("marketing_pipeline_share", grain="quarter", **H1_2025)
    got = {r["period"]: (r["value"], r["numerator"], r["denominator"]) for r in res.rows}
    assert got[Q1] == (pytest.approx(15000 / 47000), pytest.approx(15000),
                       pytest.approx(47000))
    assert got[Q2] == (0.0, 0.0, pytest.approx(13000))
    monthly = values(deals, "marketing_pipeline_share", grain="month", **H1_2025)
    assert monthly[D(2025, 6, 1)] is None
    assert monthly[D(2025, 3, 1)] == 0.0  # O5 (other) is the only new-business deal


# -- stocks -------------------------------------------------------------------------------------

def test_open_pipeline_at_each_month_end(deals: Workspace) -> None:
    """Open at the end of day T: created by T, not closed by T (a closed deal without
    history closed on its close date). Open deals' amounts at T's rate (EUR 1.10, 1.20 from
    06-01); O7 (GBP) never has a value.
      Jan 31: O1 10000 + O2 20000 = 30000
      Feb 28: O2 20000 + O3 5000 + O4 8800 = 33800   (O1 closed 02-20)
      Mar 31: O3 5000 + O4 8800 + O5 12000 = 25800    (O2 closed 03-05)
      Apr 30: O4 8800 + O5 12000 + O6 7000 + O8 9000 + O9 4000 = 40800   (O3 closed 04-10)
      May 31: O4 8800 + O5 12000 + O8 9000 + O9 4000 = 33800   (O6 closed 05-20; O9 stale)
      Jun 30: O4 9600 + O5 12000 + O9 4000 = 25600   (O8 closed 06-10; O5, O9 stale)"""
    got = values(deals, "open_pipeline", grain="month", **H1_2025)
    assert got == {D(2025, 1, 1): pytest.approx(30000), D(2025, 2, 1): pytest.approx(33800),
                   D(2025, 3, 1): pytest.approx(25800), D(2025, 4, 1): pytest.approx(40800),
                   D(2025, 5, 1): pytest.approx(33800), D(2025, 6, 1): pytest.approx(25600)}


def test_open_pipeline_at_quarter_grain_is_the_quarter_end_not_a_sum(deals: Workspace) -> None:
    """A stock: Q1 = the value on 03-31 (25800), Q2 = on 06-30 (25600) — not the sum of the
    months (89600 and 100200)."""
    res = deals.metric("open_pipeline", grain="quarter", **H1_2025)
    got = {r["period"]: (r["value"], r["extra"]["measured_on"]) for r in res.rows}
    assert got == {Q1: (pytest.approx(25800), D(2025, 3, 31)),
                   Q2: (pytest.approx(25600), D(2025, 6, 30))}


def test_open_pipeline_lists_stale_deals(deals: Workspace) -> None:
    """On 06-30, O5 (close 06-15) and O9 (close 05-01) are open with a close date in the
    past: stale, included in the value and listed (oldest close date first)."""
    r = rows(deals, "open_pipeline", grain="quarter", **H1_2025)[Q2]
    assert r["extra"]["stale"] == 2 and r["extra"]["stale_amount"] == pytest.approx(16000)
    assert [(d["opportunity_id"], d["close_date"], d["amount"])
            for d in r["extra"]["stale_deals"]] == [("O9", D(2025, 5, 1), 4000.0),
                                                    ("O5", D(2025, 6, 15), 12000.0)]
    assert rows(deals, "open_pipeline", grain="quarter", **H1_2025)[Q1]["extra"][
        "stale_deals"] == []


def test_running_period_is_measured_at_the_as_of_date(deals: Workspace) -> None:
    """As of 05-15, Q2 is measured on 05-15: O4 8800 + O5 12000 + O6 7000 (closes 05-20) +
    O8 9000 (closes 06-10) + O9 4000 (stale since 05-01) = 40800; O7 has no rate."""
    r = rows(deals, "open_pipeline", grain="quarter", start="2025-04-01", as_of="2025-05-15")
    assert r[Q2]["value"] == pytest.approx(40800)
    assert r[Q2]["extra"]["measured_on"] == D(2025, 5, 15) and r[Q2]["partial"]


def test_weighted_pipeline(deals: Workspace) -> None:
    """Probability = the row's, else the stage's default. On 06-30: O4 proposal 0.5 × 9600 =
    4800; O5 row 0.7 × 12000 = 8400; O9 demo 0.2 × 4000 = 800 → 14000 (unweighted 25600).
    On 03-31: O3 is open but closed now and has no stage history, so its probability then
    is unknown (counted in no_probability, adds nothing); O4 0.5 × 8800 = 4400 + O5 8400 =
    12800."""
    r = rows(deals, "weighted_pipeline", grain="quarter", **H1_2025)
    assert r[Q2]["value"] == pytest.approx(14000)
    assert r[Q2]["extra"]["unweighted"] == pytest.approx(25600)
    assert r[Q1]["value"] == pytest.approx(12800)
    assert r[Q1]["extra"]["no_probability"] == 1


def test_past_as_of_takes_stage_and_status_from_history(hist: Workspace) -> None:
    """HISTORY dataset, as of 02-28, by month.
    Jan 31: H1 open in discovery (0.1) → 1000; H2 open in discovery — not its current stage
    (demo), so the stage default 0.1, not its row's 0.3 → 400; H4 (no history, closed 02-15)
    was open with an unknown probability. Open = 10000 + 4000 + 2000 = 16000; weighted 1400.
    Feb 28: H1 in proposal (0.5) → 5000; H2 in demo since 02-25, its current stage → row
    0.3 → 1200; H3 in discovery (0.1) → 600; H4 closed. Open 20000; weighted 6800."""
    q = {"grain": "month", "start": "2025-01-01", "as_of": "2025-02-28"}
    res = hist.metric("weighted_pipeline", **q)
    got = {r["period"]: (r["value"], r["extra"]["unweighted"], r["extra"]["no_probability"])
           for r in res.rows}
    assert got == {D(2025, 1, 1): (pytest.approx(1400), pytest.approx(16000), 1),
                   D(2025, 2, 1): (pytest.approx(6800), pytest.approx(20000), 0)}
    assert any("opportunity_stages" in n for n in res.notes)
    by_stage = values(hist, "open_pipeline", by=["stage"], **q)
    assert by_stage[(D(2025, 2, 1), "proposal")] == pytest.approx(10000)
    assert by_stage[(D(2025, 2, 1), "demo")] == pytest.approx(4000)
    assert by_stage[(D(2025, 2, 1), "discovery")] == pytest.approx(6000)
    assert by_stage[(D(2025, 1, 1), None)] == pytest.approx(2000)  # H4: stage unknown


def test_history_decides_when_a_deal_closed(hist: Workspace) -> None:
    """H3's close date says 04-10 but its history enters closed_lost on 04-15. As of 04-12
    it is still open (negotiation 0.8, stale: close date before 04-12) and not yet lost;
    as of 04-30 it is lost in April.
    Q2 as of 04-12: open H2 4000 (demo, row 0.3 → 1200) + H3 6000 (0.8 → 4800) = 10000,
    weighted 6000; H3 listed as stale. Q1 (03-31): the same two deals, also 6000."""
    q = {"grain": "quarter", "start": "2025-01-01", "as_of": "2025-04-12"}
    w = rows(hist, "weighted_pipeline", **q)
    assert (w[Q1]["value"], w[Q2]["value"]) == (pytest.approx(6000), pytest.approx(6000))
    assert w[Q2]["extra"]["unweighted"] == pytest.approx(10000)
    assert [d["opportunity_id"] for d in w[Q2]["extra"]["stale_deals"]] == ["H3"]
    assert w[Q1]["extra"]["stale_deals"] == []
    assert values(hist, "loss_reasons", **q)[Q2] == 0
    assert values(hist, "loss_reasons", grain="quarter", start="2025-01-01",
                  as_of="2025-04-30")[Q2] == 1


WIN_HISTORY_OPPS = """\
opportunity_id,created_at,amount,stage,is_closed,is_won,close_date,probability
W1,2025-01-05,10000,closed_won,true,true,2025-03-10,
W2,2025-01-10,2000,closed_lost,true,false,2025-03-20,
W3,2025-02-01,6000,closed_won,true,true,2025-05-10,
W4,2025-02-15,4000,closed_lost,true,false,2025-05-20,
W5,2024-01-10,7000,closed_won,true,true,2024-03-01,
P1,2025-04-01,10000,discovery,false,false,2025-07-31,0.1
P2,2025-04-05,20000,proposal,false,false,2025-08-31,0.6
P3,2025-05-01,5000,negotiation,false,false,2025-07-15,0.9
P4,2025-05-10,8000,demo,false,false,2025-09-30,
P5,2025-06-01,3000,pilot,false,false,2025-09-30,
"""
WIN_HISTORY_STAGES = """\
opportunity_id,stage,entered_at
W1,discovery,2025-01-05
W1,demo,2025-01-20
W1,proposal,2025-02-10
W1,closed_won,2025-03-10
W2,discovery,2025-01-10
W2,demo,2025-02-01
W2,closed_lost,2025-03-20
W3,discovery,2025-02-01
W3,proposal,2025-03-01
W3,closed_won,2025-05-10
W4,discovery,2025-02-15
W4,demo,2025-03-01
W4,proposal,2025-04-01
W4,closed_lost,2025-05-20
W5,discovery,2024-01-10
W5,negotiation,2024-02-01
W5,closed_won,2024-03-01
P1,discovery,2025-04-01
P2,discovery,2025-04-05
P2,proposal,2025-05-01
P3,negotiation,2025-05-01
"""


@pytest.fixture(scope="module")
def winhist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _build(tmp_path_factory.mktemp("pipeline") / "winhist", {
        "opportunities": WIN_HISTORY_OPPS, "opportunity_stages": WIN_HISTORY_STAGES})
    yield ws
    ws.close()


def test_weighted_pipeline_by_historical_stage_to_win_rate(winhist: Workspace) -> None:
    """WIN HISTORY (USD). Closed: W1 won 03-10 (discovery, demo, proposal), W2 lost 03-20
    (discovery, demo), W3 won 05-10 (discovery, proposal), W4 lost 05-20 (discovery, demo,
    proposal), W5 won 2024-03-01 (discovery, negotiation). Open now: P1 discovery 10000 (row
    0.1), P2 proposal 20000 (0.6), P3 negotiation 5000 (0.9), P4 demo 8000 (no row
    probability, no history: stage default 0.2), P5 'pilot' 3000 (no probability at all).

    A stage's rate at the measuring day T = won ÷ closed among deals closed by T with a close
    date in the 365 days to T that had entered the stage.
    Q2, T = 06-30 (window 2024-07-01 … 2025-06-30: W1 W2 W3 W4; W5 is too old):
      discovery W1 W2 W3 W4 → 2/4; demo W1 W2 W4 → 1/3; proposal W1 W3 W4 → 2/3;
      negotiation: none → CRM fallback.
      P1 10000 × 1/2 = 5000; P2 20000 × 2/3 = 13333.33; P3 5000 × 0.9 (fallback) = 4500;
      P4 8000 × 1/3 = 2666.67; P5 no rate, no probability → 0 → 25500 (unweighted 46000).
      With CRM probabilities: 1000 + 12000 + 4500 + 1600 = 19100.
    Q1, T = 03-31 (window 2024-04-01 … 2025-03-31: W1 won, W2 lost): open W3 in proposal
      (since 03-01) → 1/1 × 6000; W4 in demo (since 03-01) → 1/2 × 4000 → 8000."""
    q = {"grain": "quarter", "start": "2025-01-01", "end": "2025-06-30", "as_of": AS_OF}
    res = winhist.metric("weighted_pipeline", probability="history", **q)
    r = {row["period"]: row for row in res.rows}
    assert r[Q2]["value"] == pytest.approx(25500)
    ex = r[Q2]["extra"]
    assert (ex["unweighted"], ex["crm_fallback"], ex["no_probability"], ex["probability"]) == (
        pytest.approx(46000), 1, 1, "history")
    assert ex["stage_win_rates"] == {
        "discovery": {"won": 2, "closed": 4, "win_rate": 0.5},
        "demo": {"won": 1, "closed": 3, "win_rate": pytest.approx(1 / 3)},
        "proposal": {"won": 2, "closed": 3, "win_rate": pytest.approx(2 / 3)},
        "negotiation": {"won": 0, "closed": 0, "win_rate": None},
        "pilot": {"won": 0, "closed": 0, "win_rate": None}}
    assert r[Q1]["value"] == pytest.approx(8000)
    assert (r[Q1]["extra"]["crm_fallback"], r[Q1]["extra"]["no_probability"]) == (0, 0)
    assert r[Q1]["extra"]["stage_win_rates"] == {
        "proposal": {"won": 1, "closed": 1, "win_rate": 1.0},
        "demo": {"won": 1, "closed": 2, "win_rate": 0.5}}
    assert any("historical stage-to-win rate" in n and "crm_fallback" in n for n in res.notes)
    crm = values(winhist, "weighted_pipeline", **q)
    assert crm[Q2] == pytest.approx(19100)
    assert values(winhist, "weighted_pipeline", probability="crm", **q) == crm


def test_historical_weights_by_stage_add_up_and_ignore_filters(winhist: Workspace) -> None:
    """By stage on 06-30: discovery 5000, proposal 13333.33, negotiation 4500 (fallback),
    demo 2666.67, pilot 0 — summing to 25500. A filter does not change a stage's rate (it is
    over all deals): stage=proposal alone still weighs P2 by 2/3."""
    q = {"grain": "quarter", "start": "2025-04-01", "end": "2025-06-30", "as_of": AS_OF,
         "probability": "history"}
    got = values(winhist, "weighted_pipeline", by=["stage"], **q)
    assert got == {(Q2, "discovery"): pytest.approx(5000),
                   (Q2, "proposal"): pytest.approx(40000 / 3),
                   (Q2, "negotiation"): pytest.approx(4500),
                   (Q2, "demo"): pytest.approx(8000 / 3), (Q2, "pilot"): 0.0}
    assert sum(got.values()) == pytest.approx(25500)
    assert values(winhist, "weighted_pipeline", filters={"stage": "proposal"}, **q) == {
        Q2: pytest.approx(40000 / 3)}


def test_probability_option_is_checked() -> None:
    with pytest.raises(UsageError, match="--probability"):
        make_query("weighted_pipeline", probability="guess")


def test_cli_metrics_show_passes_probability(tmp_path: Path) -> None:
    """``funnelboard metrics show weighted_pipeline --probability history`` on WIN HISTORY
    gives the Q2 value above (25500); a bad value is a plain sentence."""
    import json

    from typer.testing import CliRunner

    from funnelboard.cli.app import app

    folder = tmp_path / "cli"
    _build(folder, {"opportunities": WIN_HISTORY_OPPS,
                    "opportunity_stages": WIN_HISTORY_STAGES}).close()
    args = ["-w", str(folder), "--as-of", AS_OF, "metrics", "show", "weighted_pipeline",
            "--grain", "quarter", "--start", "2025-04-01", "--end", "2025-06-30", "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--probability", "history"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["query"]["probability"] == "history"
    assert out["rows"][0]["value"] == pytest.approx(25500)
    bad = CliRunner().invoke(app, [*args, "--probability", "guess"])
    assert bad.exit_code != 0 and "--probability 'guess' is not allowed" in bad.stderr


# -- bookings and win rates ---------------------------------------------------------------------

def test_bookings_and_won_revenue(deals: Workspace) -> None:
    """Won by close date: O1 02-20 10000 · O3 04-10 5000 · O8 06-10 9000.
    Q1 10000, Q2 14000; won_revenue is the same metric under its own key."""
    assert values(deals, "bookings", grain="quarter", **H1_2025) == {
        Q1: pytest.approx(10000), Q2: pytest.approx(14000)}
    assert values(deals, "won_revenue", grain="quarter", **H1_2025) == values(
        deals, "bookings", grain="quarter", **H1_2025)


def test_marketing_sourced_revenue(deals: Workspace) -> None:
    """Won and marketing-sourced: O1 (Q1, 10000) and O3 (Q2, 5000, derived from C3's
    inbound motion); O8 is partner-sourced."""
    res = deals.metric("marketing_sourced_revenue", grain="quarter", **H1_2025)
    assert {r["period"]: r["value"] for r in res.rows} == {
        Q1: pytest.approx(10000), Q2: pytest.approx(5000)}
    assert res.rows[1]["extra"]["derived_source_type"] == 1


def test_win_rate_by_month_and_quarter(deals: Workspace) -> None:
    """Closed: O1 won 02-20, O2 lost 03-05, O3 won 04-10, O6 lost 05-20, O8 won 06-10.
    Q1 = 1/2, Q2 = 2/3. By month: Jan nothing closed → None (never 0); Feb 1/1, Mar 0/1,
    Apr 1/1, May 0/1, Jun 1/1."""
    res = deals.metric("win_rate", grain="quarter", **H1_2025)
    got = {r["period"]: (r["value"], r["numerator"], r["denominator"], r["extra"])
           for r in res.rows}
    assert got[Q1] == (0.5, 1, 2, {"won": 1, "lost": 1})
    assert got[Q2] == (pytest.approx(2 / 3), 2, 3, {"won": 2, "lost": 1})
    monthly = values(deals, "win_rate", grain="month", **H1_2025)
    assert monthly == {D(2025, 1, 1): None, D(2025, 2, 1): 1.0, D(2025, 3, 1): 0.0,
                       D(2025, 4, 1): 1.0, D(2025, 5, 1): 0.0, D(2025, 6, 1): 1.0}


def test_win_rate_by_segment_sums_to_the_total(deals: Workspace) -> None:
    """H1 2025 (one half-year = two quarters; use grain year): Enterprise O1 won, O8 won →
    2/2; SMB O2 lost (account A2), O6 lost (its own segment) → 0/2; Mid-Market O3 won → 1/1.
    Numerators and denominators add up to the total 3/5."""
    q = {"grain": "year", **H1_2025}
    res = deals.metric("win_rate", by=["segment"], **q)
    got = {r["segment"]: (r["numerator"], r["denominator"]) for r in res.rows}
    assert got == {"Enterprise": (2, 2), "SMB": (0, 2), "Mid-Market": (1, 1)}
    total = deals.metric("win_rate", **q).rows[0]
    assert (total["numerator"], total["denominator"]) == (3, 5)
    assert sum(n for n, _ in got.values()) == total["numerator"]
    assert sum(d for _, d in got.values()) == total["denominator"]


def test_win_rate_by_competitor_and_target_account(deals: Workspace) -> None:
    """Competitor X: O1 won → 1/1; Y: O2 lost → 0/1; none: O3 O6 O8 → 2/3.
    Target accounts (A1): O1 O8 won → 1.0; others O2 O3 O6 → 1/3."""
    q = {"grain": "year", **H1_2025}
    assert values(deals, "win_rate", by=["competitor"], **q) == {
        (Q1, "X"): 1.0, (Q1, "Y"): 0.0, (Q1, None): pytest.approx(2 / 3)}
    assert values(deals, "win_rate", by=["is_target_account"], **q) == {
        (Q1, "true"): 1.0, (Q1, "false"): pytest.approx(1 / 3)}


def test_win_rate_amount(deals: Workspace) -> None:
    """Q1: won 10000 ÷ closed 30000; Q2: won 5000 + 9000 ÷ closed 21000 (O6 7000 lost)."""
    got = values(deals, "win_rate_amount", grain="quarter", **H1_2025)
    assert got == {Q1: pytest.approx(1 / 3), Q2: pytest.approx(2 / 3)}


NO_DECISION_OPPS = """\
opportunity_id,created_at,amount,stage,is_closed,is_won,close_date,loss_reason
N1,2025-03-01,10000,closed_won,true,true,2025-04-10,
N2,2025-03-01,5000,closed_lost,true,false,2025-04-20,price
N3,2025-03-01,8000,closed_lost,true,false,2025-05-05,No decision
N4,2025-03-01,2000,closed_lost,true,false,2025-05-06,"  no DECISION "
N5,2025-03-01,4000,closed_lost,true,false,2025-06-01,Went dark
N6,2025-03-01,6000,closed_won,true,true,2025-06-15,
N7,2025-03-01,1000,closed_lost,true,false,2025-06-20,
N8,2025-03-01,3000,closed_won,true,true,2025-06-25,no decision
"""
NO_DECISION = ("No decision", "went dark")


@pytest.fixture(scope="module")
def undecided(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """NO DECISION: the deals above in a workspace whose settings list the "no decision"
    loss reasons ``["No decision", "went dark"]``."""
    ws = _build(tmp_path_factory.mktemp("pipeline") / "undecided",
                {"opportunities": NO_DECISION_OPPS}, no_decision=NO_DECISION)
    yield ws
    ws.close()


def test_no_decision_losses_leave_the_win_rate_denominator(undecided: Workspace) -> None:
    """Settings: no_decision_loss_reasons = ["No decision", "went dark"], compared trimmed and
    case-insensitively. All USD, all closed in Q2:
      won  N1 04-10 10000, N6 06-15 6000, N8 06-25 3000 (its reason says no decision, but it
           was won: only lost deals are left out)
      lost N2 04-20 5000 (price), N7 06-20 1000 (no reason)
      no decision: N3 05-05 8000 "No decision", N4 05-06 2000 "  no DECISION ",
           N5 06-01 4000 "Went dark"
    Q2 counts: 3 won ÷ (3 won + 2 lost) = 0.6, no_decision 3 (without the setting 3/8).
    Q2 amounts: 19000 ÷ (19000 + 6000) = 0.76, no_decision 3 deals, 14000.
    By month: Apr 1/2; May only no-decision losses → 0/0 → None (not 0), no_decision 2;
    Jun 2 won ÷ 3 (N7 lost) with no_decision 1."""
    q = {"start": "2025-04-01", "end": "2025-06-30", "as_of": AS_OF}
    res = undecided.metric("win_rate", grain="quarter", **q)
    (r,) = res.rows
    assert (r["value"], r["numerator"], r["denominator"], r["n"]) == (0.6, 3, 5, 5)
    assert r["extra"] == {"won": 3, "lost": 2, "no_decision": 3}
    assert any("no_decision_loss_reasons" in n for n in res.notes)
    (a,) = undecided.metric("win_rate_amount", grain="quarter", **q).rows
    assert (a["value"], a["numerator"], a["denominator"]) == (
        pytest.approx(0.76), pytest.approx(19000), pytest.approx(25000))
    assert (a["extra"]["no_decision"], a["extra"]["no_decision_amount"]) == (
        3, pytest.approx(14000))
    assert a["extra"]["lost_amount"] == pytest.approx(6000)
    monthly = rows(undecided, "win_rate", grain="month", **q)
    assert [(m["value"], m["extra"]["no_decision"]) for m in monthly.values()] == [
        (0.5, 0), (None, 2), (pytest.approx(2 / 3), 1)]
    assert (monthly[D(2025, 5, 1)]["numerator"], monthly[D(2025, 5, 1)]["denominator"]) == (0, 0)


def test_no_decision_matches_a_plain_python_count_and_is_off_by_default(
        undecided: Workspace, tmp_path: Path) -> None:
    """Cross-check from the CSV text in plain Python (reasons trimmed and lower-cased); and the
    same deals in a workspace with the default settings (no "no decision" reasons) count
    every loss: Q2 3 ÷ 8, and extra has no no_decision."""
    import csv
    import io

    wanted = {r.strip().lower() for r in NO_DECISION}
    won = closed = 0
    for row in csv.DictReader(io.StringIO(NO_DECISION_OPPS)):
        undecided_loss = row["is_won"] != "true" and row["loss_reason"].strip().lower() in wanted
        won += row["is_won"] == "true"
        closed += not undecided_loss
    q = {"grain": "quarter", "start": "2025-04-01", "end": "2025-06-30", "as_of": AS_OF}
    (r,) = undecided.metric("win_rate", **q).rows
    assert (r["numerator"], r["denominator"]) == (won, closed) == (3, 5)
    plain = _build(tmp_path / "plain", {"opportunities": NO_DECISION_OPPS})
    try:
        (p,) = plain.metric("win_rate", **q).rows
        assert (p["value"], p["extra"]) == (3 / 8, {"won": 3, "lost": 5})
    finally:
        plain.close()


def test_win_rate_definitions_mention_no_decision() -> None:
    for key in ("win_rate", "win_rate_amount"):
        assert "no_decision_loss_reasons" in resolve(key, Settings()).definition


def test_cohort_win_rate(deals: Workspace) -> None:
    """By creation quarter, status as of 06-30. Q1 cohort O1..O5: won O1 O3, lost O2, open O4
    O5 → 2/5. Q2 cohort O6 O7 O8 O9: won O8, lost O6, open O7 O9 → 1/4."""
    r = rows(deals, "cohort_win_rate", grain="quarter", **H1_2025)
    assert (r[Q1]["value"], r[Q1]["extra"]) == (0.4, {"won": 2, "lost": 1, "still_open": 2})
    assert (r[Q2]["value"], r[Q2]["extra"]) == (0.25, {"won": 1, "lost": 1, "still_open": 2})


def test_loss_reasons(deals: Workspace) -> None:
    """Lost: O2 (price, 03-05, 20000), O6 (no_budget, 05-20, 7000)."""
    res = deals.metric("loss_reasons", grain="quarter", by=["loss_reason"], **H1_2025)
    got = {(r["period"], r["loss_reason"]): (r["value"], r["extra"]["amount"])
           for r in res.rows if r["value"]}
    assert got == {(Q1, "price"): (1, 20000.0), (Q2, "no_budget"): (1, 7000.0)}


def test_avg_deal_size_and_acv(deals: Workspace) -> None:
    """avg_deal_size: Q1 O1 10000; Q2 (O3 5000 + O8 9000) ÷ 2 = 7000; Jan (month) has no won
    deal → None.
    acv (won new business): O1 10000 × 12 ÷ 24 = 5000 (Q1); O3 has no term → 5000 (listed);
    O8 9000 × 12 ÷ 12 = 9000 → Q2 (5000 + 9000) ÷ 2 = 7000."""
    assert values(deals, "avg_deal_size", grain="quarter", **H1_2025) == {
        Q1: pytest.approx(10000), Q2: pytest.approx(7000)}
    assert values(deals, "avg_deal_size", grain="month", **H1_2025)[D(2025, 1, 1)] is None
    r = rows(deals, "acv", grain="quarter", **H1_2025)
    assert r[Q1]["value"] == pytest.approx(5000)
    assert r[Q2]["value"] == pytest.approx(7000)
    assert r[Q2]["extra"] == {"no_term": 1, "no_term_deals": ["O3"]}


def test_avg_deal_size_by_source_type(deals: Workspace) -> None:
    """H1 won deals: marketing O1 10000 + O3 5000 (derived) → 7500; partner O8 9000."""
    got = values(deals, "avg_deal_size", grain="year", by=["source_type"], **H1_2025)
    assert got == {(Q1, "marketing"): pytest.approx(7500), (Q1, "partner"): pytest.approx(9000)}


def test_win_rate_and_bookings_match_an_independent_computation(deals: Workspace) -> None:
    """Cross-check: the same numbers from the CSV text in plain Python, and from hand-written
    SQL on the workspace's own connection."""
    import csv
    import io

    quarter = {1: Q1, 2: Q1, 3: Q1, 4: Q2, 5: Q2, 6: Q2}
    won: dict[dt.date, int] = {}
    closed: dict[dt.date, int] = {}
    booked: dict[dt.date, float] = {}
    for row in csv.DictReader(io.StringIO(OPPORTUNITIES)):
        if row["is_closed"] != "true":
            continue
        q = quarter[int(row["close_date"][5:7])]
        closed[q] = closed.get(q, 0) + 1
        if row["is_won"] == "true":
            won[q] = won.get(q, 0) + 1
            booked[q] = booked.get(q, 0.0) + float(row["amount"])  # all won deals are USD
    python_rate = {q: won.get(q, 0) / closed[q] for q in closed}
    sql = deals.query(
        "SELECT date_trunc('quarter', close_date)::DATE AS q, "
        "avg(CASE WHEN is_won THEN 1.0 ELSE 0.0 END), "
        "sum(CASE WHEN is_won THEN amount ELSE 0 END) "
        "FROM opportunities WHERE is_closed AND close_date <= DATE '2025-06-30' "
        "GROUP BY 1 ORDER BY 1")
    sql_rate = {r[0]: float(r[1]) for r in sql}
    sql_booked = {r[0]: float(r[2]) for r in sql}
    rate = values(deals, "win_rate", grain="quarter", **H1_2025)
    book = values(deals, "bookings", grain="quarter", **H1_2025)
    assert python_rate == pytest.approx(sql_rate) and booked == pytest.approx(sql_booked)
    assert rate == pytest.approx(python_rate)
    assert book == pytest.approx(booked)


# -- coverage and attainment --------------------------------------------------------------------

def test_pipeline_coverage_of_the_running_quarter(deals: Workspace) -> None:
    """As of 05-15, Q2 (ends 06-30) is running. Open on 05-15 with a close date in Q2 and not
    stale: O5 (06-15) 12000, O6 (05-20) 7000, O8 (06-10) 9000 = 28000; O9 (05-01) is stale
    and left out; O4 and O7 close after Q2. Target 10000 → coverage 2.8 (under the 3× bar).
    Booked so far in Q2: O3 5000 → remaining 5000, coverage of the remainder 5.6.
    Historical amount win rate (closed 2024-05-16 … 2025-05-15): won O1 10000 + O3 5000 ÷
    closed 35000 (O2 20000 lost) = 3/7 → required coverage 7/3 ≈ 2.33, which 2.8 meets."""
    res = deals.metric("pipeline_coverage", grain="quarter", start="2025-04-01",
                       as_of="2025-05-15")
    (r,) = res.rows
    assert (r["value"], r["numerator"], r["denominator"], r["n"]) == (
        pytest.approx(2.8), pytest.approx(28000), 10000.0, 3)
    ex = r["extra"]
    assert ex["booked_to_date"] == pytest.approx(5000)
    assert ex["remaining_target"] == pytest.approx(5000)
    assert ex["coverage_of_remaining"] == pytest.approx(5.6)
    assert ex["bar"] == 3.0 and ex["meets_bar"] is False
    assert ex["historical_win_rate"] == pytest.approx(3 / 7)
    assert ex["required_coverage"] == pytest.approx(7 / 3) and ex["meets_required"] is True
    assert (ex["stale_excluded"], ex["stale_excluded_amount"]) == (1, pytest.approx(4000))


def test_finished_period_shows_attainment_instead_of_coverage(deals: Workspace) -> None:
    """As of 05-15, Q1 is finished: no coverage (None); bookings 10000 ÷ target 20000 = 0.5
    in extra. bookings_target_attainment as of 06-30: Q1 0.5, Q2 14000 ÷ 10000 = 1.4."""
    r = rows(deals, "pipeline_coverage", grain="quarter", start="2025-01-01",
             as_of="2025-05-15")
    assert r[Q1]["value"] is None
    assert r[Q1]["extra"]["bookings_target_attainment"] == pytest.approx(0.5)
    assert r[Q2]["value"] == pytest.approx(2.8)
    assert values(deals, "bookings_target_attainment", grain="quarter", **H1_2025) == {
        Q1: pytest.approx(0.5), Q2: pytest.approx(1.4)}


def test_coverage_and_attainment_without_a_target_are_none(deals: Workspace) -> None:
    """There is no monthly bookings target: May's coverage and attainment are undefined."""
    res = deals.metric("pipeline_coverage", grain="month", start="2025-05-01",
                       as_of="2025-05-15")
    assert res.rows[0]["value"] is None and res.rows[0]["numerator"] == pytest.approx(7000)
    assert any("target" in n for n in res.notes)
    assert values(deals, "bookings_target_attainment", grain="month", start="2025-04-01",
                  end="2025-04-30", as_of=AS_OF) == {D(2025, 4, 1): None}


def test_pipeline_coverage_of_the_next_quarter(deals: Workspace) -> None:
    """As of 05-15 with the range running to 09-30: Q2 (running) as before, 2.8; Q3 (starts
    after the as-of date, partial) = deals open on 05-15 with a close date in Q3: O4 (07-15,
    8000 EUR at the 05-15 rate 1.10 = 8800); O7 (08-30, GBP) has no rate and is left out
    ÷ Q3 target 4400 = 2.0. Nothing is booked in Q3 yet, so the remaining target is the
    whole 4400; no stale deals; required coverage 7/3 (the same historical rate) is not met.
    As of 06-30, a range of Q3 only: O4 at 1.20 = 9600 ÷ 4400."""
    res = deals.metric("pipeline_coverage", grain="quarter", start="2025-04-01",
                       end="2025-09-30", as_of="2025-05-15")
    r = {row["period"]: row for row in res.rows}
    q3 = D(2025, 7, 1)
    assert list(r) == [Q2, q3]
    assert r[Q2]["value"] == pytest.approx(2.8) and r[Q2]["extra"]["future"] is False
    row = r[q3]
    assert (row["value"], row["numerator"], row["denominator"], row["n"]) == (
        pytest.approx(2.0), pytest.approx(8800), 4400.0, 1)
    assert (row["partial"], row["period_end"]) == (True, D(2025, 9, 30))
    ex = row["extra"]
    assert (ex["future"], ex["finished"], ex["measured_on"]) == (True, False, D(2025, 5, 15))
    assert (ex["booked_to_date"], ex["remaining_target"]) == (0.0, 4400.0)
    assert ex["coverage_of_remaining"] == pytest.approx(2.0)
    assert (ex["stale_excluded"], ex["meets_bar"], ex["meets_required"]) == (0, False, False)
    assert ex["required_coverage"] == pytest.approx(7 / 3)
    assert any("after the as-of date" in n for n in res.notes)
    assert values(deals, "pipeline_coverage", grain="quarter", start="2025-07-01",
                  end="2025-09-30", as_of=AS_OF) == {q3: pytest.approx(9600 / 4400)}


def test_periods_to_come_without_a_target_are_none(deals: Workspace) -> None:
    """By month as of 05-15 to 07-31: no monthly targets. May (running): open deals closing
    05-15 … 05-31: O6 7000 (O9, 05-01, is stale); June: O5 12000 + O8 9000; July: O4 8800.
    Every value is None (no target), the numerators are kept, and a note names the months."""
    res = deals.metric("pipeline_coverage", grain="month", start="2025-05-01",
                       end="2025-07-31", as_of="2025-05-15")
    got = {r["period"]: (r["value"], r["numerator"], r["partial"]) for r in res.rows}
    assert got == {D(2025, 5, 1): (None, pytest.approx(7000), True),
                   D(2025, 6, 1): (None, pytest.approx(21000), True),
                   D(2025, 7, 1): (None, pytest.approx(8800), True)}
    assert any("month starting 2025-07-01" in n for n in res.notes)


# -- velocity -----------------------------------------------------------------------------------

def test_opportunity_stage_days(hist: Workspace) -> None:
    """Time in a stage = next entry − this entry, dated by the exit.
    Q1 exits: discovery H1 36 d (01-05 → 02-10), H2 36 d (01-20 → 02-25), H3 28 d (02-01 →
    03-01) → median 36; proposal H1 38 d (02-10 → 03-20). Q2: negotiation H3 45 d (03-01 →
    04-15). H2's demo has no exit yet: not measured."""
    res = hist.metric("opportunity_stage_days", grain="quarter", by=["stage"],
                      start="2025-01-01", as_of=AS_OF)
    got = {(r["period"], r["stage"]): (r["value"], r["n"]) for r in res.rows
           if r["value"] is not None}
    assert got == {(Q1, "discovery"): (36.0, 3), (Q1, "proposal"): (38.0, 1),
                   (Q2, "negotiation"): (45.0, 1)}


def test_stage_metrics_need_by_stage(hist: Workspace) -> None:
    for key in ("opportunity_stage_days", "opportunity_stage_conversion"):
        with pytest.raises(UsageError, match="--by stage"):
            hist.metric(key, as_of=AS_OF)


def test_opportunity_stage_conversion(hist: Workspace) -> None:
    """Cohort Q1 (all created in Q1), as of 06-30; H4 has no history and is left out.
    Reached (entered it or a later stage, or won): H1 discovery demo proposal negotiation won;
    H2 discovery demo (open); H3 discovery demo proposal negotiation (lost).
    discovery → demo 3/3; demo → proposal 2/3 (H2 still open); proposal → negotiation 2/2;
    negotiation → won 1/2 (H3 lost)."""
    res = hist.metric("opportunity_stage_conversion", grain="quarter", by=["stage"],
                      start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    got = {r["stage"]: (r["numerator"], r["denominator"], r["extra"]["next_stage"],
                        r["extra"]["lost"], r["extra"]["still_open"]) for r in res.rows}
    assert got == {"discovery": (3, 3, "demo", 0, 0), "demo": (2, 3, "proposal", 0, 1),
                   "proposal": (2, 2, "negotiation", 0, 0),
                   "negotiation": (1, 2, "won", 1, 0)}
    assert any("no stage history" in n for n in res.notes)


def test_demo_to_close_days(deals: Workspace) -> None:
    """Demos (not canceled; M5 is not a demo, M4 is canceled):
    O1 ← M6 (01-05, names O1) and M1 (01-10, names O1): the earliest, 01-05 → 02-20 = 46 d.
    O3 ← M2 (03-01, contact C3, no opportunity): C3's next won deal O3, 03-01 → 04-10 = 40 d.
    O8 ← M3 (03-20, account A1 only): A1's next won deal closed on/after 03-20 and created
    within 90 days: O8 (created 04-20), 03-20 → 06-10 = 82 d.
    By close quarter: Q1 46; Q2 median(40, 82) = 61."""
    r = rows(deals, "demo_to_close_days", grain="quarter", **H1_2025)
    assert (r[Q1]["value"], r[Q1]["n"]) == (46.0, 1)
    assert (r[Q2]["value"], r[Q2]["n"]) == (61.0, 2)
    assert r[Q2]["extra"]["linked_by"] == {"meeting": 0, "contact": 1, "account": 1}


def test_sales_velocity(deals: Workspace) -> None:
    """Trailing 90 days to the period end.
    Q1 (01-01 … 03-31): created O1..O5 = 5; closed O1 won, O2 lost → 1/2; average won 10000;
    cycle O1 01-10 → 02-20 = 41 d → 5 × 0.5 × 10000 ÷ 41.
    Q2 (04-02 … 06-30): created O6 O7 O8 = 3 (O9 on 04-01 is outside); closed O3 won, O6 lost,
    O8 won → 2/3; average won (5000 + 9000) ÷ 2 = 7000; cycles O3 68 d, O8 51 d → median 59.5
    → 3 × 2/3 × 7000 ÷ 59.5."""
    r = rows(deals, "sales_velocity", grain="quarter", **H1_2025)
    assert r[Q1]["value"] == pytest.approx(5 * 0.5 * 10000 / 41)
    assert r[Q2]["value"] == pytest.approx(3 * (2 / 3) * 7000 / 59.5)
    ex = r[Q2]["extra"]
    assert (ex["opportunities_created"], ex["won"], ex["lost"], ex["sales_cycle_days"]) == (
        3, 2, 1, 59.5)
    assert ex["window_start"] == D(2025, 4, 2)


def test_velocity_without_won_deals_is_none(deals: Workspace) -> None:
    """January (window 11-03 … 01-31): nothing closed → no win rate → None, not 0."""
    r = rows(deals, "sales_velocity", grain="month", start="2025-01-01", end="2025-01-31",
             as_of=AS_OF)
    assert r[D(2025, 1, 1)]["value"] is None


def test_filters_apply(deals: Workspace) -> None:
    """Filter owner=bob: bookings are O8 only (Q2 9000); type=new_business and owner=ann:
    created O1 O3 (Q1), O7 O9 (Q2)."""
    assert values(deals, "bookings", grain="quarter", filters={"owner": "bob"},
                  **H1_2025) == {Q1: 0, Q2: pytest.approx(9000)}
    assert values(deals, "opportunities_created", grain="quarter",
                  filters={"owner": "ann", "type": "new_business"}, **H1_2025) == {Q1: 2, Q2: 2}


def test_empty_workspace_gives_no_rows(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    with Workspace.init(folder) as ws:
        for key in ("open_pipeline", "win_rate", "bookings", "sales_velocity",
                    "pipeline_coverage"):
            assert ws.metric(key, as_of=AS_OF).rows == []
    shutil.rmtree(folder)


def test_targets_from_finer_rows_and_per_dimension(make_ws: Any, tmp_path: Path) -> None:
    """One deal won on 05-10 for 6000 (segment SMB). Monthly bookings targets: Apr 1000,
    May 2000, Jun 3000 (Q2 complete → 6000), Jul 5000 only (Q3 incomplete → no target);
    a quarterly SMB target of 4000 for Q2.
    Quarter attainment: Q2 6000 ÷ 6000 = 1.0; Q3 None. May: 6000 ÷ 2000 = 3.0.
    By segment: Q2 SMB 6000 ÷ 4000 = 1.5."""
    ws = make_ws()
    opps = tmp_path / "o.csv"
    opps.write_text("opportunity_id,created_at,amount,is_closed,is_won,close_date,segment\n"
                    "T1,2025-03-01,6000,true,true,2025-05-10,SMB\n", encoding="utf-8")
    goals = tmp_path / "t.csv"
    goals.write_text("metric,period_start,grain,target,dimension,dimension_value\n"
                     "bookings,2025-04-01,month,1000,,\nbookings,2025-05-01,month,2000,,\n"
                     "bookings,2025-06-01,month,3000,,\nbookings,2025-07-01,month,5000,,\n"
                     "bookings,2025-04-01,quarter,4000,segment,SMB\n", encoding="utf-8")
    ws.import_file("opportunities", opps)
    ws.import_file("targets", goals)
    q = {"start": "2025-04-01", "end": "2025-09-30", "as_of": "2025-09-30"}
    assert values(ws, "bookings_target_attainment", grain="quarter", **q) == {
        Q2: 1.0, D(2025, 7, 1): None}
    assert values(ws, "bookings_target_attainment", grain="month", **q)[D(2025, 5, 1)] == 3.0
    assert values(ws, "bookings_target_attainment", grain="quarter", by=["segment"],
                  **q)[(Q2, "SMB")] == 1.5


def test_periods_are_local_dates(make_ws_with: Any, tmp_path: Path) -> None:
    """New York workspace: a deal created 2025-04-01 02:00 UTC was created on 03-31 local
    time, so it belongs to Q1 (fiscal year = calendar year)."""
    ws = make_ws_with(timezone="America/New_York")
    opps = tmp_path / "o.csv"
    opps.write_text("opportunity_id,created_at,amount\n"
                    "Z1,2025-04-01T02:00:00Z,100\nZ2,2025-04-01T12:00:00Z,200\n",
                    encoding="utf-8")
    ws.import_file("opportunities", opps)
    assert values(ws, "pipeline_created", grain="quarter", start="2025-01-01",
                  end="2025-06-30", as_of=AS_OF) == {Q1: 100.0, Q2: 200.0}
    assert values(ws, "open_pipeline", grain="month", start="2025-03-01", end="2025-04-30",
                  as_of=AS_OF) == {D(2025, 3, 1): 100.0, D(2025, 4, 1): 300.0}
