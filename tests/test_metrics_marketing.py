"""Golden tests for metrics.md §3 (ads, engagement and ABM leading indicators).

Every test loads a tiny, hand-counted dataset into a fresh workspace (time zone UTC, default
settings, reporting currency USD) and checks the numbers against the derivation written in its
docstring; several also recompute the value independently (plain Python or SQL over the same
rows).
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics import marketing
from funnelboard.metrics.registry import resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"


def load(ws: Workspace, tmp_path: Path, **tables: str) -> None:
    """Import each CSV text (canonical headers) into its table."""
    for table, content in tables.items():
        path = tmp_path / f"{table}.csv"
        path.write_text(dedent(content).strip() + "\n", encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.ok and not result.rows_quarantined, (table, result.message,
                                                         [i.message for i in result.issues])


def rows(ws: Workspace, key: str, **query: Any) -> list[dict[str, Any]]:
    query.setdefault("as_of", AS_OF)
    return ws.metric(key, **query).rows


def by_period(result_rows: list[dict[str, Any]], *dims: str) -> dict[tuple[Any, ...], Any]:
    return {(r["period"], *[r[d] for d in dims]): r for r in result_rows}


# -- ads ------------------------------------------------------------------------------------

ADS = """\
    date,platform,campaign_id,impressions,clicks,spend,currency,engagements,conversions
    2025-01-05,google_ads,g1,1000,10,50,USD,3,1.5
    2025-01-20,linkedin,l1,100,5,150,,7,2.25
    2025-02-10,google_ads,g1,400,4,20,USD,0,0
    """
CAMPAIGNS = """\
    campaign_id,name,channel
    l1,ABM LinkedIn,display
    """


def test_ad_sums_and_ratios_are_recomputed_from_sums(ws: Workspace, tmp_path: Path) -> None:
    """Two January rows with different ratios:

    * g1 (google_ads, not in campaigns → platform default paid_search): 1000 impressions,
      10 clicks, $50 → CTR 1 %, CPC $5, CPM $50;
    * l1 (linkedin; campaigns says channel display): 100 impressions, 5 clicks, $150 (empty
      currency = USD) → CTR 5 %, CPC $30, CPM $1500.

    January from sums: 1100 impressions, 15 clicks, $200 spend, 10 engagements, 3.75
    conversions → CTR 15/1100 = 0.013636…, CPC 200/15 = 13.333…, CPM 200/1100×1000 = 181.818….
    Averaging the row ratios would give 3 %, $17.50 and $775 instead.
    February: g1 400 / 4 / $20. Quarter Q1: 1500 impressions, 19 clicks, $220 → CTR 19/1500,
    CPC 220/19, CPM 220/1500×1000.
    """
    load(ws, tmp_path, campaigns=CAMPAIGNS, ad_performance=ADS)
    month = {"start": "2025-01-01", "end": "2025-02-28"}
    assert [r["value"] for r in rows(ws, "impressions", **month)] == [1100, 400]
    assert [r["value"] for r in rows(ws, "clicks", **month)] == [15, 4]
    assert [r["value"] for r in rows(ws, "ad_spend", **month)] == [200.0, 20.0]
    assert [r["value"] for r in rows(ws, "ad_engagements", **month)] == [10, 0]
    assert [r["value"] for r in rows(ws, "ad_conversions", **month)] == [3.75, 0]
    jan = {"start": "2025-01-01", "end": "2025-01-31"}
    ctr, = rows(ws, "ctr", **jan)
    assert (ctr["numerator"], ctr["denominator"]) == (15, 1100)
    assert ctr["value"] == pytest.approx(15 / 1100)
    assert ctr["value"] != pytest.approx((0.01 + 0.05) / 2)
    cpc, = rows(ws, "cpc", **jan)
    assert cpc["value"] == pytest.approx(200 / 15)
    assert cpc["value"] != pytest.approx((5 + 30) / 2)
    cpm, = rows(ws, "cpm", **jan)
    assert (cpm["numerator"], cpm["denominator"]) == (200.0, 1100)
    assert cpm["value"] == pytest.approx(200 / 1100 * 1000)
    q1, = rows(ws, "cpm", start="2025-01-01", end="2025-03-31", grain="quarter")
    assert q1["value"] == pytest.approx(220 / 1500 * 1000)
    q1, = rows(ws, "cpc", start="2025-01-01", end="2025-03-31", grain="quarter")
    assert q1["value"] == pytest.approx(220 / 19)
    # cross-check: the same CTR by hand-written SQL over the stored rows
    (clicks, impressions), = ws.query(
        "SELECT sum(clicks), sum(impressions) FROM ad_performance WHERE date < '2025-02-01'")
    assert ctr["value"] == pytest.approx(clicks / impressions)


def test_ad_channel_is_the_campaigns_else_the_platform_default(ws: Workspace,
                                                                tmp_path: Path) -> None:
    """By channel in January: g1 → paid_search (google_ads default) CTR 10/1000; l1 →
    display (campaigns.channel wins over linkedin's paid_social) CTR 5/100, CPC 150/5.
    Filtering platform=linkedin keeps l1 only."""
    load(ws, tmp_path, campaigns=CAMPAIGNS, ad_performance=ADS)
    jan = {"start": "2025-01-01", "end": "2025-01-31"}
    got = by_period(rows(ws, "ctr", by=["channel"], **jan), "channel")
    assert set(got) == {(D(2025, 1, 1), "paid_search"), (D(2025, 1, 1), "display")}
    assert got[(D(2025, 1, 1), "paid_search")]["value"] == pytest.approx(0.01)
    assert got[(D(2025, 1, 1), "display")]["value"] == pytest.approx(0.05)
    cpc = by_period(rows(ws, "cpc", by=["campaign"], **jan), "campaign")
    assert cpc[(D(2025, 1, 1), "l1")]["value"] == pytest.approx(30.0)
    assert cpc[(D(2025, 1, 1), "g1")]["value"] == pytest.approx(5.0)
    only, = rows(ws, "impressions", filters={"platform": ["linkedin"]}, **jan)
    assert only["value"] == 100


def test_ad_spend_in_reporting_currency_and_missing_rate(ws: Workspace,
                                                         tmp_path: Path) -> None:
    """Three January rows: $100 (USD); €100 with EUR rate 1.10 dated 2025-01-01 → $110;
    £100 with no GBP rate → left out with a note (never counted unconverted).

    ad_spend = 100 + 110 = $210. CPC leaves the £ row's clicks out too: (100 + 110) ÷
    (10 + 10) = 10.5 (the £ row's 30 clicks would otherwise give 210/50 = 4.2); CTR keeps
    every row: 50 clicks / 3000 impressions.
    """
    load(ws, tmp_path,
         fx_rates="""\
         date,currency,rate_to_reporting
         2025-01-01,EUR,1.10
         """,
         ad_performance="""\
         date,platform,campaign_id,impressions,clicks,spend,currency
         2025-01-10,google_ads,us,1000,10,100,USD
         2025-01-11,google_ads,eu,1000,10,100,EUR
         2025-01-12,google_ads,uk,1000,30,100,GBP
         """)
    jan = {"start": "2025-01-01", "end": "2025-01-31"}
    res = ws.metric("ad_spend", as_of=AS_OF, **jan)
    assert res.rows[0]["value"] == pytest.approx(210.0)
    assert any("1 ad spend rows had no exchange rate" in n for n in res.notes), res.notes
    cpc = ws.metric("cpc", as_of=AS_OF, **jan)
    assert cpc.rows[0]["value"] == pytest.approx(10.5)
    assert cpc.rows[0]["denominator"] == 20
    assert any("exchange rate" in n for n in cpc.notes)
    assert rows(ws, "ctr", **jan)[0]["value"] == pytest.approx(50 / 3000)


def test_ad_ratios_with_no_delivery_are_none(ws: Workspace, tmp_path: Path) -> None:
    """January has delivery, February none (no rows): February's CTR, CPC and CPM are None
    with 0/0 (an empty denominator), its impressions 0."""
    load(ws, tmp_path, ad_performance="""\
         date,platform,campaign_id,impressions,clicks,spend
         2025-01-05,google_ads,g1,100,0,0
         """)
    q = {"start": "2025-01-01", "end": "2025-02-28"}
    for key in ("ctr", "cpc", "cpm"):
        feb = rows(ws, key, **q)[1]
        assert (feb["value"], feb["denominator"]) == (None, 0), key
    jan = rows(ws, "cpc", **q)[0]
    assert jan["value"] is None  # spend $0 over 0 clicks: still undefined, not 0
    assert rows(ws, "ctr", **q)[0]["value"] == 0.0
    assert [r["value"] for r in rows(ws, "impressions", **q)] == [100, 0]


# -- ABM ------------------------------------------------------------------------------------

ACCOUNTS = """\
    account_id,name,domain,icp_tier,is_target_account,created_at,segment
    a1,Acme,acme.com,A,true,2024-01-01,Enterprise
    a2,Beta,beta.io,B,true,2024-01-01,SMB
    a3,Gamma,gamma.org, a ,false,2024-01-01,SMB
    a4,Delta,delta.net,C,true,2025-02-15,Enterprise
    a5,Epsilon,eps.com,B,false,,SMB
    """


def test_engaged_accounts_and_target_account_reach(ws: Workspace, tmp_path: Path) -> None:
    """Accounts: a1, a2 targets since 2024; a3 not a target; a4 a target created 2025-02-15.

    ad_account_engagement:
    * 01-03 a1 (account_id): 100 impressions, 2 clicks → a1 reached and engaged;
    * 01-04 company_domain ``WWW.Beta.io`` (no account_id; the import could not match it, the
      query matches it to a2 ignoring case and www.): 50 impressions only → a2 reached;
    * 01-05 company_domain unknown.com: 1 click → matches no account: left out, noted;
    * 02-20 a4: 5 impressions, 1 engagement → a4 reached and engaged;
    * 01-25 a4: 3 impressions, before a4 was created → not in January's reach (a4 is not in
      January's denominator either, so the share never exceeds 1).
    Touchpoints: 01-10 ad_click of contact k3 (account a3) and 01-11 ad_click of a1 (again).

    January: engaged {a1, a3} = 2; target accounts at Jan 31 = {a1, a2} → reach {a1, a2} 2/2,
    engagement {a1} 1/2. February: engaged {a4} = 1; targets {a1, a2, a4} → reach 1/3,
    engagement 1/3. March: nothing → engaged 0, reach 0/3 = 0.0 (not None: targets exist).
    Quarter Q1 (distinct over the quarter, not a sum of months): engaged {a1, a3, a4} = 3;
    reach {a1, a2, a4} 3/3; engagement {a1, a4} 2/3.
    """
    load(ws, tmp_path, accounts=ACCOUNTS,
         contacts="""\
         contact_id,created_at,account_id
         k1,2024-12-01,a1
         k3,2024-12-01,a3
         """,
         ad_account_engagement="""\
         date,platform,account_id,company_domain,impressions,clicks,engagements
         2025-01-03,linkedin,a1,,100,2,0
         2025-01-04,linkedin,,WWW.Beta.io,50,0,0
         2025-01-05,linkedin,,unknown.com,0,1,0
         2025-02-20,linkedin,a4,,5,0,1
         2025-01-25,linkedin,a4,,3,0,0
         """,
         touchpoints="""\
         occurred_at,contact_id,account_id,kind
         2025-01-10T12:00:00,k3,,ad_click
         2025-01-11T12:00:00,k1,a1,ad_click
         2025-01-12T12:00:00,k1,a1,web_visit
         """)
    q = {"start": "2025-01-01", "end": "2025-03-31"}
    res = ws.metric("engaged_accounts", as_of=AS_OF, **q)
    assert [r["value"] for r in res.rows] == [2, 1, 0]
    assert any("1 ad_account_engagement row(s) match no account" in n for n in res.notes)
    reach = rows(ws, "target_account_reach", **q)
    assert [(r["numerator"], r["denominator"]) for r in reach] == [(2, 2), (1, 3), (0, 3)]
    assert [r["value"] for r in reach] == [1.0, pytest.approx(1 / 3), 0.0]
    eng = rows(ws, "target_account_engagement", **q)
    assert [(r["numerator"], r["denominator"]) for r in eng] == [(1, 2), (1, 3), (0, 3)]
    qq = {**q, "grain": "quarter"}
    assert rows(ws, "engaged_accounts", **qq)[0]["value"] == 3
    assert rows(ws, "target_account_reach", **qq)[0]["value"] == 1.0
    assert rows(ws, "target_account_engagement", **qq)[0]["value"] == pytest.approx(2 / 3)
    # by segment: January engaged a1 (Enterprise) and a3 (SMB)
    seg = by_period(rows(ws, "engaged_accounts", by=["segment"], **q), "segment")
    assert seg[(D(2025, 1, 1), "Enterprise")]["value"] == 1
    assert seg[(D(2025, 1, 1), "SMB")]["value"] == 1
    assert seg[(D(2025, 2, 1), "Enterprise")]["value"] == 1
    # reach by segment: Enterprise targets a1 (+ a4 from Feb), SMB target a2
    seg = by_period(rows(ws, "target_account_reach", by=["segment"], **q), "segment")
    assert (seg[(D(2025, 1, 1), "Enterprise")]["numerator"],
            seg[(D(2025, 1, 1), "Enterprise")]["denominator"]) == (1, 1)
    assert (seg[(D(2025, 2, 1), "Enterprise")]["numerator"],
            seg[(D(2025, 2, 1), "Enterprise")]["denominator"]) == (1, 2)
    assert seg[(D(2025, 3, 1), "SMB")]["value"] == 0.0


def test_target_reach_without_targets_is_none(ws: Workspace, tmp_path: Path) -> None:
    """No account is a target: reach has an empty denominator in every period → None."""
    load(ws, tmp_path, accounts="""\
         account_id,name,is_target_account
         a1,Acme,false
         """, ad_account_engagement="""\
         date,platform,account_id,impressions
         2025-01-03,linkedin,a1,100
         """)
    got = rows(ws, "target_account_reach", start="2025-01-01", end="2025-01-31")
    assert [(r["value"], r["denominator"]) for r in got] == [(None, 0)]
    assert rows(ws, "engaged_accounts", start="2025-01-01", end="2025-01-31")[0]["value"] == 0


# -- cost per stage ---------------------------------------------------------------------------

COST_CONTACTS = """\
    contact_id,created_at,channel,account_id,lead_at,mql_at
    c1,2025-01-02,paid_search,a1,2025-01-02,2025-01-10
    c2,2025-01-03,paid_search,a2,2025-01-03,2025-01-15
    c3,2025-01-04,webinar,a3,2025-01-04,2025-01-20
    c4,2024-12-20,webinar,a5,2024-12-20,2025-01-05
    c5,2025-02-01,paid_social,,2025-02-01,2025-02-03
    c6,2025-02-02,webinar,a5,2025-02-02,
    """
COSTS = """\
    month,category,amount,team,channel,campaign_id
    2025-01-01,ad_spend,999,marketing,paid_search,
    2025-01-01,programs,300,marketing,webinar,
    2025-01-01,salaries,1000,marketing,,
    2025-01-01,salaries,5000,sales,,
    2025-02-01,ad_spend,400,marketing,paid_social,
    """
COST_ADS = """\
    date,platform,campaign_id,impressions,clicks,spend
    2025-01-05,google_ads,g1,1000,10,200
    """


def test_cost_per_mql_period_basis_by_channel(ws: Workspace, tmp_path: Path) -> None:
    """Marketing cost and MQLs, period basis (the MQL date's month), cumulative rule.

    Cost, January: ad_performance paid_search $200; costs: ad_spend paid_search $999 — the
    same month and channel as ad_performance, so left out (not counted twice); programs
    webinar $300; salaries (no channel) $1000; sales salaries $5000 — not marketing.
    → $1500 (ad_performance 200, costs 1300). February: ad_spend paid_social $400 (no ad
    rows for paid_social → kept).
    MQLs by mql date: January c1, c2 (paid_search), c3, c4 (webinar; c4 was created in
    December) = 4; February c5 (paid_social) = 1.
    cost_per_mql: January 1500/4 = 375, February 400/1 = 400.
    By channel, January: paid_search 200/2 = 100, webinar 300/2 = 150, no channel: $1000
    over 0 MQLs → None. February: paid_social 400/1; webinar has an MQL-less month → no row.
    cost_per_lead, January: leads by lead date c1, c2, c3 = 3 → 500 (c4's lead was in Dec).
    """
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS, costs=COSTS,
         ad_performance=COST_ADS)
    q = {"start": "2025-01-01", "end": "2025-02-28", "basis": "period"}
    res = ws.metric("cost_per_mql", as_of=AS_OF, **q)
    jan, feb = res.rows
    assert (jan["numerator"], jan["denominator"], jan["value"]) == (1500.0, 4, 375.0)
    assert jan["extra"]["cost_sources"] == {"ad_performance": 200.0, "costs": 1300.0}
    assert (feb["numerator"], feb["denominator"], feb["value"]) == (400.0, 1, 400.0)
    assert feb["extra"]["cost_sources"] == {"costs": 400.0}
    assert any("1 ad_spend cost row(s) cover a month and channel" in n for n in res.notes)
    assert any("sources used in this result: ad_performance 200.00; costs 1,700.00" in n
               for n in res.notes), res.notes
    got = by_period(rows(ws, "cost_per_mql", by=["channel"], **q), "channel")
    assert got[(D(2025, 1, 1), "paid_search")]["value"] == 100.0
    assert got[(D(2025, 1, 1), "webinar")]["value"] == 150.0
    none = got[(D(2025, 1, 1), None)]
    assert (none["value"], none["numerator"], none["denominator"]) == (None, 1000.0, 0)
    assert got[(D(2025, 2, 1), "paid_social")]["value"] == 400.0
    # a filter keeps only one channel's cost and MQLs
    ps, _ = rows(ws, "cost_per_mql", filters={"channel": ["paid_search"]}, **q)
    assert (ps["numerator"], ps["denominator"]) == (200.0, 2)
    lead_jan = rows(ws, "cost_per_lead", **q)[0]
    assert (lead_jan["denominator"], lead_jan["value"]) == (3, 500.0)
    # cross-check in plain Python over the hand-typed rows
    cost_jan = 200 + 300 + 1000
    mqls_jan = sum(1 for d in ("2025-01-10", "2025-01-15", "2025-01-20", "2025-01-05"))
    assert jan["value"] == cost_jan / mqls_jan


def test_cost_per_mql_cohort_basis(ws: Workspace, tmp_path: Path) -> None:
    """Cohort basis: cost of the creation month ÷ that month's contacts that reached MQL.

    December 2024: cost $0, cohort c4 reached MQL → 0/1 = 0.0. January: $1500 ÷ cohort
    {c1, c2, c3} = 500. February: $400 ÷ {c5} (c6 never reached MQL) = 400.
    """
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS, costs=COSTS,
         ad_performance=COST_ADS)
    got = rows(ws, "cost_per_mql", start="2024-12-01", end="2025-02-28", basis="cohort")
    assert [(r["numerator"], r["denominator"], r["value"]) for r in got] == [
        (0.0, 1, 0.0), (1500.0, 3, 500.0), (400.0, 1, 400.0)]
    # quarter grain: Q1 2025 = (1500 + 400) ÷ 4 contacts created in Q1 that reached MQL
    q1, = rows(ws, "cost_per_mql", start="2025-01-01", end="2025-03-31", grain="quarter",
               basis="cohort")
    assert (q1["numerator"], q1["denominator"]) == (1900.0, 4)


def test_cost_per_stage_without_contacts_is_none(ws: Workspace, tmp_path: Path) -> None:
    """Nobody became a customer: every period's cost_per_customer is None (cost ÷ 0), with
    the cost still shown as the numerator; a range with no cost at all says so in notes."""
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS, costs=COSTS,
         ad_performance=COST_ADS)
    got = rows(ws, "cost_per_customer", start="2025-01-01", end="2025-02-28", basis="period")
    assert [(r["value"], r["numerator"], r["denominator"]) for r in got] == [
        (None, 1500.0, 0), (None, 400.0, 0)]
    res = ws.metric("cost_per_lead", start="2025-05-01", end="2025-05-31", as_of=AS_OF,
                    basis="period")
    assert res.rows[0]["value"] is None
    assert any("No marketing cost rows" in n for n in res.notes)


def test_cost_per_stage_keys_follow_the_stages() -> None:
    """One cost_per_<stage> and icp_share_<plural> per configured stage."""
    settings = Settings()
    keys = {m.key for m in marketing.stage_metrics(settings)}
    assert keys == {"cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_opportunity",
                    "cost_per_customer", "icp_share_leads", "icp_share_mqls",
                    "icp_share_sqls", "icp_share_opportunities", "icp_share_customers"}
    custom = Settings(stages=("lead", "sal", "customer"),
                      stage_plurals={"lead": "leads", "sal": "sals", "customer": "customers"})
    assert {m.key for m in marketing.stage_metrics(custom)} >= {"cost_per_sal",
                                                                "icp_share_sals"}
    assert resolve("cost_per_mql", settings).params["stage"] == "mql"


# -- ICP share --------------------------------------------------------------------------------

def test_icp_share_of_mqls(ws: Workspace, tmp_path: Path) -> None:
    """MQLs (cohort basis) and their accounts:

    January cohort: c1 → a1 (tier A, target) ICP; c2 → a2 (tier B but target) ICP; c3 → a3
    (tier " a ": trimmed, any case → A) ICP. December cohort: c4 → a5 (tier B, not a target)
    not ICP. February: c5 has no account → not ICP, counted in no_account.
    January 3/3 = 1.0 (tier A: c1, c3; target: c1, c2); December 0/1; February 0/1.
    Period basis, January: MQLs c1, c2, c3, c4 → 3/4.
    """
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS)
    got = rows(ws, "icp_share_mqls", start="2024-12-01", end="2025-02-28")
    assert [(r["numerator"], r["denominator"]) for r in got] == [(0, 1), (3, 3), (0, 1)]
    assert got[1]["extra"] == {"icp_tier_a": 2, "target": 2, "no_account": 0}
    assert got[2]["extra"]["no_account"] == 1
    jan = rows(ws, "icp_share_mqls", start="2025-01-01", end="2025-01-31", basis="period")[0]
    assert jan["value"] == 0.75
    # leads of February: c5 (no account), c6 (a5, tier B) → 0/2
    assert rows(ws, "icp_share_leads", start="2025-02-01", end="2025-02-28")[0]["value"] == 0
    # a month without any MQL has an empty denominator
    may = rows(ws, "icp_share_mqls", start="2025-05-01", end="2025-05-31")[0]
    assert may["value"] is None


# -- lead score ------------------------------------------------------------------------------

def test_lead_score_avg_and_high_score_share(ws: Workspace, tmp_path: Path) -> None:
    """Contacts created in January with scores 80, 50, 20 and one unscored; threshold 50.

    lead_score_avg = (80 + 50 + 20) / 3 = 50; high_score_share = {80, 50} / 3 = 2/3 (at the
    threshold counts). February: one unscored contact → both None (no scored contact).
    By channel: webinar {80, 20} → 50 avg, 1/2 high.
    """
    load(ws, tmp_path, contacts="""\
         contact_id,created_at,channel,lead_score
         s1,2025-01-05,webinar,80
         s2,2025-01-06,paid_search,50
         s3,2025-01-07,webinar,20
         s4,2025-01-08,webinar,
         s5,2025-02-08,webinar,
         """)
    q = {"start": "2025-01-01", "end": "2025-02-28"}
    avg = rows(ws, "lead_score_avg", **q)
    assert [(r["value"], r["denominator"]) for r in avg] == [(50.0, 3), (None, 0)]
    high = rows(ws, "high_score_share", **q)
    assert high[0]["value"] == pytest.approx(2 / 3)
    assert high[1]["value"] is None
    web = by_period(rows(ws, "high_score_share", by=["channel"], **q), "channel")
    assert web[(D(2025, 1, 1), "webinar")]["value"] == 0.5
    # cross-check: statistics over the typed scores
    assert avg[0]["value"] == statistics.mean([80, 50, 20])


# -- meetings --------------------------------------------------------------------------------

MEETINGS = """\
    meeting_id,booked_at,kind,contact_id,account_id,scheduled_for,status,channel
    m1,2025-01-05T10:00:00,demo,c1,,2025-01-08T10:00:00,held,
    m2,2025-01-10T10:00:00,demo,c2,a2,2025-02-02T10:00:00,no_show,paid_social
    m3,2025-01-12T10:00:00,discovery,c3,,2025-01-13T10:00:00,held,
    m4,2025-01-20T10:00:00,demo,c3,,2025-01-25T10:00:00,canceled,
    m5,2025-02-01T10:00:00,meeting,c4,,2025-02-03T10:00:00,held,
    m6,2025-02-25T10:00:00,demo,c5,,2025-03-01T10:00:00,scheduled,
    m7,2025-05-01T10:00:00,demo,c6,,2025-05-05T10:00:00,held,
    """
OPPS = """\
    opportunity_id,created_at,amount,account_id,contact_id
    o1,2025-02-01,100,a1,c1
    o2,2025-01-09,100,a2,
    o3,2025-04-25,100,a3,
    o4,2025-05-26,100,,c5
    o5,2025-05-20,100,a5,c6
    """


def test_meetings_booked_held_and_no_show(ws: Workspace, tmp_path: Path) -> None:
    """Booked (by booked_at): January m1, m2, m3, m4 = 4 (demos m1, m2, m4 = 3; m4 canceled
    still booked); February m5, m6 = 2 (demos: m6); May m7.
    Held (status held, by scheduled_for): January m1 (01-08), m3 (01-13) = 2; February m5;
    May m7. No-show rate (no_show ÷ held + no_show, by scheduled_for): January 0/2; February
    m2 (scheduled 02-02, no_show) and m5 held → 1/2; March: m6 still scheduled → 0/0 None.
    Demo channel: m2's own paid_social; m1, m4 take their contacts' (paid_search, webinar).
    """
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS, meetings=MEETINGS)
    q = {"start": "2025-01-01", "end": "2025-03-31"}
    assert [r["value"] for r in rows(ws, "meetings_booked", **q)] == [4, 2, 0]
    assert [r["value"] for r in rows(ws, "demos_booked", **q)] == [3, 1, 0]
    assert [r["value"] for r in rows(ws, "meetings_held", **q)] == [2, 1, 0]
    ns = rows(ws, "no_show_rate", **q)
    assert [(r["numerator"], r["denominator"]) for r in ns] == [(0, 2), (1, 2), (0, 0)]
    assert [r["value"] for r in ns] == [0.0, 0.5, None]
    demos = by_period(rows(ws, "demos_booked", by=["channel"], **q), "channel")
    jan = {k[1]: v["value"] for k, v in demos.items() if k[0] == D(2025, 1, 1)}
    assert {k: v for k, v in jan.items() if v} == {"paid_search": 1, "paid_social": 1,
                                                   "webinar": 1}
    kinds = by_period(rows(ws, "meetings_booked", by=["kind"], **q), "kind")
    assert kinds[(D(2025, 1, 1), "discovery")]["value"] == 1
    # account dimension: m2's own account a2 (SMB); m1 via contact c1 → a1 (Enterprise)
    seg = by_period(rows(ws, "demos_booked", by=["segment"], **q), "segment")
    assert seg[(D(2025, 1, 1), "SMB")]["value"] == 2  # m2 (a2) and m4 (c3 → a3)
    assert seg[(D(2025, 1, 1), "Enterprise")]["value"] == 1


def test_demo_to_opportunity_rate(ws: Workspace, tmp_path: Path) -> None:
    """Window 90 days (settings default), as-of 2025-06-30.

    January demos: m1 (c1, booked 01-05): o1 of c1 created 02-01 → converted. m2 (c2, account
    a2, booked 01-10): o2 of a2 created 01-09, before the booking → not. m4 (c3 → account a3,
    booked 01-20): o3 of a3 created 04-25 = 95 days later → not. → 1/3.
    February: m6 (c5, booked 02-25): o4 of c5 created 05-26 = day 90, inclusive → 1/1.
    May: m7 (booked 05-01) is younger than 90 days at 06-30 → left out (young 1) → 0/0 None,
    though o5 of its account was created 05-20.
    Quarter Q1: 2/4.
    """
    load(ws, tmp_path, accounts=ACCOUNTS, contacts=COST_CONTACTS, meetings=MEETINGS,
         opportunities=OPPS)
    res = ws.metric("demo_to_opportunity_rate", start="2025-01-01", end="2025-05-31",
                    as_of=AS_OF)
    got = by_period(res.rows)
    assert (got[(D(2025, 1, 1),)]["numerator"], got[(D(2025, 1, 1),)]["denominator"]) == (1, 3)
    assert got[(D(2025, 2, 1),)]["value"] == 1.0
    may = got[(D(2025, 5, 1),)]
    assert (may["value"], may["denominator"], may["extra"]["young"]) == (None, 0, 1)
    assert got[(D(2025, 3, 1),)]["value"] is None
    assert any("1 demo(s) were booked less than 90 days" in n for n in res.notes)
    q1, = rows(ws, "demo_to_opportunity_rate", start="2025-01-01", end="2025-03-31",
               grain="quarter")
    assert (q1["numerator"], q1["denominator"]) == (2, 4)
    # a later as-of date makes m7 mature: o5 (account a5 via c6) 19 days later → 1/1
    late = rows(ws, "demo_to_opportunity_rate", start="2025-05-01", end="2025-05-31",
                as_of="2025-09-30")[0]
    assert (late["numerator"], late["denominator"]) == (1, 1)


# -- events, social, press, surveys ---------------------------------------------------------------

def test_events_registrants_attendees_and_rate(ws: Workspace, tmp_path: Path) -> None:
    """e1 (January webinar) 100 registered, 40 attended; e2 (January trade show) no
    registrants, 50 walk-in attendees; e3 (February webinar) 50 / 30.
    January: registrants 100, attendees 90, attendance 40/100 (e2 has no registrants, so it
    is out of both sums). Quarter Q1: 150 registrants, 120 attendees, rate (40+30)/150.
    """
    load(ws, tmp_path, events="""\
         event_id,name,starts_at,kind,registrants,attendees
         e1,Webinar 1,2025-01-15T16:00:00,webinar,100,40
         e2,Expo,2025-01-20T09:00:00,trade_show,,50
         e3,Webinar 2,2025-02-12T16:00:00,webinar,50,30
         """)
    q = {"start": "2025-01-01", "end": "2025-02-28"}
    assert [r["value"] for r in rows(ws, "event_registrants", **q)] == [100, 50]
    assert [r["value"] for r in rows(ws, "event_attendees", **q)] == [90, 30]
    rate = rows(ws, "attendance_rate", **q)
    assert [(r["numerator"], r["denominator"]) for r in rate] == [(40, 100), (30, 50)]
    q1, = rows(ws, "attendance_rate", start="2025-01-01", end="2025-03-31", grain="quarter")
    assert q1["value"] == pytest.approx(70 / 150)
    kinds = by_period(rows(ws, "event_attendees", by=["kind"], **q), "kind")
    assert kinds[(D(2025, 1, 1), "trade_show")]["value"] == 50


def test_social_audience_is_a_stock_and_engagement_a_ratio(ws: Workspace,
                                                          tmp_path: Path) -> None:
    """Social rows (kind social): linkedin audience 1000 (01-31), 1100 (02-28), 1200
    (03-31); x audience 500 (01-15), 520 (02-15), 550 (03-10). Press row: 3 mentions in
    February (social rows' mentions are not press).

    social_audience, months: 1500, 1620, 1750; quarter Q1 = the values at its end, 1200 + 550
    = 1750 (not the sum of months, 4870). social_engagements: Σ engagements; rate =
    engagements ÷ impressions of rows with impressions: January (10 + 5) / (200 + 100); the
    x February row has 4 engagements and no impressions → out of both: February 20/400.
    """
    load(ws, tmp_path, engagement="""\
         date,platform,kind,audience,impressions,engagements,mentions
         2025-01-31,linkedin,social,1000,200,10,
         2025-02-28,linkedin,social,1100,400,20,
         2025-03-31,linkedin,social,1200,,,
         2025-01-15,x,social,500,100,5,7
         2025-02-15,x,social,520,,4,
         2025-03-10,x,social,550,,,
         2025-02-10,press,press,,,,3
         """)
    q = {"start": "2025-01-01", "end": "2025-03-31"}
    assert [r["value"] for r in rows(ws, "social_audience", **q)] == [1500, 1620, 1750]
    q1, = rows(ws, "social_audience", grain="quarter", **q)
    assert q1["value"] == 1750
    assert [r["value"] for r in rows(ws, "social_engagements", **q)] == [15, 24, 0]
    rate = rows(ws, "social_engagement_rate", **q)
    assert [(r["numerator"], r["denominator"]) for r in rate] == [(15, 300), (20, 400),
                                                                  (0, 0)]
    assert rate[2]["value"] is None
    assert [r["value"] for r in rows(ws, "press_mentions", **q)] == [0, 3, 0]
    per = by_period(rows(ws, "social_audience", by=["platform"], **q), "platform")
    assert per[(D(2025, 2, 1), "x")]["value"] == 520


def test_survey_responses_and_score(ws: Workspace, tmp_path: Path) -> None:
    """Survey S: r1 answers q1 (score 4) and q2 (text), r2 answers q1 (score 2); survey T: r3
    answers q1 (score 9). January responses: r1, r2, r3 = 3 (r1 counted once, though it has
    two answer rows). Score average: (4 + 2 + 9) / 3 = 5; by survey: S 3, T 9; by question
    within S, q2 has no score → None.
    """
    load(ws, tmp_path, survey_responses="""\
         response_id,responded_at,survey,question,answer,score
         r1,2025-01-05,S,q1,,4
         r1,2025-01-05,S,q2,Great,
         r2,2025-01-06,S,q1,,2
         r3,2025-01-07,T,q1,,9
         """)
    jan = {"start": "2025-01-01", "end": "2025-01-31"}
    assert rows(ws, "survey_responses", **jan)[0]["value"] == 3
    assert rows(ws, "survey_score_avg", **jan)[0]["value"] == 5.0
    by = by_period(rows(ws, "survey_score_avg", by=["survey", "question"], **jan), "survey",
                   "question")
    assert by[(D(2025, 1, 1), "S", "q1")]["value"] == 3.0
    assert by[(D(2025, 1, 1), "T", "q1")]["value"] == 9.0
    assert by[(D(2025, 1, 1), "S", "q2")]["value"] is None
    per_q = by_period(rows(ws, "survey_responses", by=["question"], **jan), "question")
    assert per_q[(D(2025, 1, 1), "q1")]["value"] == 3
    assert per_q[(D(2025, 1, 1), "q2")]["value"] == 1


# -- self-reported source -----------------------------------------------------------------------

def test_self_reported_source_mix(ws: Workspace, tmp_path: Path) -> None:
    """January contacts answered Podcast, Podcast, LinkedIn; one did not answer.
    By self_reported_source: Podcast 2/3, LinkedIn 1/3 (share of answers), no_answer 1.
    Without the breakdown: the answer rate 3/4. A filter on one answer keeps the full
    denominator: Podcast 2/3.
    """
    load(ws, tmp_path, contacts="""\
         contact_id,created_at,channel,self_reported_source
         p1,2025-01-02,organic_search,Podcast
         p2,2025-01-03,paid_search,Podcast
         p3,2025-01-04,organic_search,LinkedIn
         p4,2025-01-05,organic_search,
         """)
    jan = {"start": "2025-01-01", "end": "2025-01-31"}
    got = by_period(rows(ws, "self_reported_source_mix", by=["self_reported_source"], **jan),
                    "self_reported_source")
    pod = got[(D(2025, 1, 1), "Podcast")]
    assert (pod["numerator"], pod["denominator"], pod["extra"]) == (2, 3, {"no_answer": 1})
    assert got[(D(2025, 1, 1), "LinkedIn")]["value"] == pytest.approx(1 / 3)
    assert sum(r["value"] for r in got.values()) == pytest.approx(1.0)
    total, = rows(ws, "self_reported_source_mix", **jan)
    assert (total["numerator"], total["denominator"]) == (3, 4)
    only, = rows(ws, "self_reported_source_mix", by=["self_reported_source"],
                 filters={"self_reported_source": ["Podcast"]}, **jan)
    assert only["value"] == pytest.approx(2 / 3)
    organic = by_period(rows(ws, "self_reported_source_mix",
                             by=["channel", "self_reported_source"], **jan),
                        "channel", "self_reported_source")
    assert organic[(D(2025, 1, 1), "organic_search", "Podcast")]["value"] == 0.5


# -- MQL follow-up SLA ---------------------------------------------------------------------------

def test_mql_follow_up_hours_and_sla(ws: Workspace, tmp_path: Path) -> None:
    """MQLs (first mql entry) and their first follow-up at or after it:

    * f1 MQL 01-10 09:00; meeting booked 01-10 15:00 → 6 h (met);
    * f2 MQL 01-12 08:00; a meeting booked 01-11 (before the MQL: ignored); sales_touch
      01-14 08:00 → 48 h (missed);
    * f3 MQL 01-20 00:00; never followed up; deadline passed → missed, not in the median;
    * f4 MQL 06-30 10:00 (the as-of day); no follow-up yet, deadline 07-01 10:00 after the
      as-of date → pending.
    January: median of [6, 48] = 27 h, p75 = 6 + 0.75 × 42 = 37.5, not_followed_up 1; SLA
    met 1 of 3 judged. June: no follow-up → median None; SLA 0/0 None with pending 1.
    """
    load(ws, tmp_path,
         contacts="""\
         contact_id,created_at,lead_at,mql_at
         f1,2025-01-01,2025-01-01,2025-01-10T09:00:00
         f2,2025-01-01,2025-01-01,2025-01-12T08:00:00
         f3,2025-01-01,2025-01-01,2025-01-20T00:00:00
         f4,2025-06-01,2025-06-01,2025-06-30T10:00:00
         """,
         meetings="""\
         meeting_id,booked_at,kind,contact_id
         x1,2025-01-10T15:00:00,demo,f1
         x2,2025-01-11T08:00:00,meeting,f2
         x3,2025-01-10T20:00:00,demo,f1
         """,
         touchpoints="""\
         occurred_at,contact_id,kind
         2025-01-14T08:00:00,f2,sales_touch
         2025-01-21T08:00:00,f3,email_click
         """)
    q = {"start": "2025-01-01", "end": "2025-06-30"}
    hours = by_period(rows(ws, "mql_follow_up_hours", **q))
    jan = hours[(D(2025, 1, 1),)]
    assert (jan["value"], jan["n"]) == (27.0, 2)
    assert jan["extra"] == {"p75": 37.5, "not_followed_up": 1}
    assert jan["value"] == statistics.median([6, 48])
    june = hours[(D(2025, 6, 1),)]
    assert (june["value"], june["extra"]["not_followed_up"]) == (None, 1)
    sla = by_period(rows(ws, "sla_met_rate", **q))
    assert (sla[(D(2025, 1, 1),)]["numerator"], sla[(D(2025, 1, 1),)]["denominator"]) == (1, 3)
    june = sla[(D(2025, 6, 1),)]
    assert (june["value"], june["denominator"], june["extra"]["pending"]) == (None, 0, 1)
    assert june["extra"]["sla_hours"] == 24  # the funnel.mql_sla_hours default


def test_follow_up_needs_an_mql_stage(make_ws_with: Any) -> None:
    """A funnel without an 'mql' stage cannot measure the MQL follow-up: a plain error."""
    ws = make_ws_with()
    engine = ws.engine()
    engine.settings = Settings(stages=("lead", "customer"),
                               stage_plurals={"lead": "leads", "customer": "customers"})
    with pytest.raises(UsageError, match="needs the funnel stage 'mql'"):
        ws.metric("sla_met_rate", as_of=AS_OF)


# -- metadata -------------------------------------------------------------------------------

SECTION_3 = (
    "impressions", "clicks", "ad_spend", "ad_engagements", "ad_conversions", "ctr", "cpc",
    "cpm", "engaged_accounts", "target_account_reach", "target_account_engagement",
    "cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_opportunity",
    "cost_per_customer", "icp_share_leads", "icp_share_mqls", "icp_share_sqls",
    "icp_share_opportunities", "icp_share_customers", "lead_score_avg", "high_score_share",
    "demos_booked", "meetings_booked", "meetings_held", "no_show_rate",
    "demo_to_opportunity_rate", "event_registrants", "event_attendees", "attendance_rate",
    "social_audience", "social_engagements", "social_engagement_rate", "press_mentions",
    "self_reported_source_mix", "mql_follow_up_hours", "sla_met_rate", "survey_score_avg",
    "survey_responses")


@pytest.mark.parametrize("key", SECTION_3)
def test_every_metric_has_full_metadata(key: str) -> None:
    m = resolve(key, Settings())
    assert m.label and m.group and m.time_basis and m.dimensions
    assert m.unit in ("count", "currency", "ratio", "days", "hours", "months", "score")
    assert m.direction in ("up", "down", "neutral")
    assert m.aggregation in ("flow", "stock", "ratio")
    assert len(m.definition) > 80, m.definition


def test_every_metric_runs_on_an_empty_workspace(ws: Workspace) -> None:
    """No data: no rows without a range; with a range, flows 0, ratios and stocks None."""
    for key in SECTION_3:
        assert ws.metric(key, as_of=AS_OF).rows == [], key
        got = ws.metric(key, start="2025-01-01", end="2025-01-31", as_of=AS_OF).rows
        m = resolve(key, Settings())
        assert [r["value"] for r in got] == ([0] if m.aggregation == "flow" else [None]), key
