"""Golden tests of the web and top-of-funnel metrics (metrics.md §2) on a tiny hand-counted
dataset. Every expected number is derived by hand in the test's docstring.

WEB (web_traffic, UTC workspace, default channel rules; '-' = empty cell):

    row date   sess src/medium          stored ch.  derived channel  page         visitor
    r1  01-05  10   google/organic      -           organic_search   /            new
    r2  01-20   5   google/cpc (brand)  -           paid_search      /pricing     returning
    r3  01-25   5   (direct)/(none)     direct      direct           /            returning
    r4  02-10  20   linkedin/paid       paid_social paid_social      /lp/webinar  new
    r5  02-14  10   newsletter/email    -           email            /            -
    r6  03-03  15   google/organic      -           organic_search   /pricing     new

    row users engaged bounces duration pageviews conversions scroll 25/50/75/100
    r1  9     6       4       600      20        1           8/6/4/2
    r2  5     4       1       300      8         2           5/4/3/1
    r3  4     2       -       100      6         0           -  (no scroll tracking)
    r4  18    8       12      800      30        3           16/10/5/1
    r5  10    7       3       500      15        1           9/7/5/3
    r6  14    -       -       -        25        -           -  (an older export: only
                                                                 sessions, users, pageviews)

Month sums: Jan sessions 20 (r1-r3), Feb 30 (r4, r5), Mar 15 (r6), Q1 65; no rows in April.
Rates divide by the sessions of the rows that report the numerator's measure.

CONTACTS (for visit_to_lead_rate; period basis, cumulative rule):

    contact created     channel                       stages
    k1      2025-01-03  organic_search                lead 01-03
    k2      2025-01-10  (utm google/cpc: paid_search)  lead 01-10
    k3      2025-01-28  organic_search                mql 02-02 only (lead inferred 02-02)
    k4      2025-02-05  webinar                       lead 02-05
    k5      2024-12-20  email                         lead 02-20 (created earlier)
    k6      2025-03-01  organic_search                no stage

Leads reached by period: Jan {k1, k2} = 2, Feb {k3 (inferred), k4, k5} = 3, Mar 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics.registry import all_metrics, resolve
from funnelboard.metrics.result import MetricResult
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"
JAN, FEB, MAR, APR = D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1), D(2025, 4, 1)
Q1 = JAN

WEB = """\
date,sessions,source,medium,campaign,channel,landing_page,visitor_type,users,engaged_sessions,bounces,duration_seconds,pageviews,conversions,scroll_25,scroll_50,scroll_75,scroll_100
2025-01-05,10,google,organic,,,/,new,9,6,4,600,20,1,8,6,4,2
2025-01-20,5,google,cpc,brand,,/pricing,returning,5,4,1,300,8,2,5,4,3,1
2025-01-25,5,(direct),(none),,direct,/,returning,4,2,,100,6,0,,,,
2025-02-10,20,linkedin,paid,,paid_social,/lp/webinar,new,18,8,12,800,30,3,16,10,5,1
2025-02-14,10,newsletter,email,,,/,,10,7,3,500,15,1,9,7,5,3
2025-03-03,15,google,organic,,,/pricing,new,14,,,,25,,,,,
"""
CONTACTS = """\
contact_id,created_at,channel,utm_source,utm_medium,lead_at,mql_at
k1,2025-01-03T09:00:00Z,organic_search,,,2025-01-03T09:00:00Z,
k2,2025-01-10T09:00:00Z,,google,cpc,2025-01-10T09:00:00Z,
k3,2025-01-28T09:00:00Z,organic_search,,,,2025-02-02T09:00:00Z
k4,2025-02-05T09:00:00Z,webinar,,,2025-02-05T09:00:00Z,
k5,2024-12-20T09:00:00Z,email,,,2025-02-20T09:00:00Z,
k6,2025-03-01T09:00:00Z,organic_search,,,,
"""
#: The WEB rows as Python tuples, for the plain-Python cross-checks:
#: (month, sessions, engaged, bounces, channel_derived)
ROWS = [(1, 10, 6, 4, "organic_search"), (1, 5, 4, 1, "paid_search"), (1, 5, 2, None, "direct"),
        (2, 20, 8, 12, "paid_social"), (2, 10, 7, 3, "email"),
        (3, 15, None, None, "organic_search")]


def load(ws: Workspace, folder: Path, **tables: str) -> Workspace:
    """Import CSV texts into their tables; every row must be accepted."""
    for table in ("contacts", "web_traffic"):
        if table in tables:
            path = folder / f"{table}.csv"
            path.write_text(tables[table], encoding="utf-8")
            result = ws.import_file(table, path)
            assert result.ok and result.rows_quarantined == 0, (
                table, result.message, [(i.code, i.message) for i in result.issues])
    return ws


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The WEB and CONTACTS dataset, loaded once (the tests only read it)."""
    folder = tmp_path_factory.mktemp("web")
    with Workspace.init(folder / "ws") as ws:
        yield load(ws, folder, web_traffic=WEB, contacts=CONTACTS)


def values(res: MetricResult) -> list[tuple[Any, ...]]:
    return [(r["period"], r["value"]) for r in res.rows]


def ratios(res: MetricResult) -> list[tuple[Any, ...]]:
    return [(r["period"], r["numerator"], r["denominator"], r["value"]) for r in res.rows]


def by_dim(res: MetricResult, dim: str) -> dict[tuple[Any, ...], Any]:
    return {(r["period"], r[dim]): r["value"] for r in res.rows}


def row(res: MetricResult, period: dt.date, **dims: Any) -> dict[str, Any]:
    found = [r for r in res.rows if r["period"] == period
             and all(r.get(k) == v for k, v in dims.items())]
    assert len(found) == 1, (period, dims, res.rows)
    return found[0]


MONTHS = {"start": "2025-01-01", "end": "2025-04-30", "as_of": AS_OF}


# -- flows --------------------------------------------------------------------------------------

def test_sessions_pageviews_users_engaged_conversions_are_sums_per_month(web: Workspace) -> None:
    """sessions: Jan 10+5+5 = 20, Feb 20+10 = 30, Mar 15, Apr (no rows, in range) 0.
    pageviews: Jan 20+8+6 = 34, Feb 30+15 = 45, Mar 25, Apr 0.
    users: Jan 9+5+4 = 18, Feb 18+10 = 28, Mar 14 (a sum per row, labelled so).
    engaged_sessions: Jan 6+4+2 = 12, Feb 8+7 = 15, Mar (r6 reports none) 0.
    web_conversions: Jan 1+2+0 = 3, Feb 3+1 = 4, Mar 0. n = rows behind each value."""
    expected = {
        "sessions": [20, 30, 15, 0], "pageviews": [34, 45, 25, 0], "users": [18, 28, 14, 0],
        "engaged_sessions": [12, 15, 0, 0], "web_conversions": [3, 4, 0, 0]}
    for key, want in expected.items():
        res = web.metric(key, **MONTHS)
        assert values(res) == list(zip([JAN, FEB, MAR, APR], want, strict=True)), key
        assert [r["n"] for r in res.rows] == [3, 2, 1, 0], key
    assert web.metric("users", **MONTHS).label == "Users (sum of users per row)"


def test_sessions_at_quarter_grain_is_the_sum_of_the_months(web: Workspace) -> None:
    """A flow: Q1 = 20 + 30 + 15 = 65 (as-of 2025-06-30, so Q1 is whole, not partial)."""
    res = web.metric("sessions", grain="quarter", as_of=AS_OF)
    assert [(r["period"], r["value"], r["partial"]) for r in res.rows] == [(Q1, 65, False)]


def test_sessions_by_channel_uses_stored_else_derived_channel_and_sums_to_total(
        web: Workspace) -> None:
    """Channel: r3 and r4 carry a stored channel (direct, paid_social); the others get the
    rules' channel: google/organic → organic_search, google/cpc → paid_search,
    newsletter/email → email. Q1: organic_search 10 + 15 = 25, paid_search 5, direct 5,
    paid_social 20, email 10; the rows sum to the total 65."""
    res = web.metric("sessions", grain="quarter", by=["channel"], as_of=AS_OF)
    assert by_dim(res, "channel") == {
        (Q1, "direct"): 5, (Q1, "email"): 10, (Q1, "organic_search"): 25,
        (Q1, "paid_search"): 5, (Q1, "paid_social"): 20}
    assert sum(r["value"] for r in res.rows) == 65
    cross = {}
    for _, sessions, _, _, channel in ROWS:
        cross[(Q1, channel)] = cross.get((Q1, channel), 0) + sessions
    assert by_dim(res, "channel") == cross


def test_sessions_filter_on_derived_channel_and_other_dimensions(web: Workspace) -> None:
    """channel=organic_search keeps r1 (Jan 10) and r6 (Mar 15); Feb has none → 0.
    landing_page=/ keeps r1, r3 (Jan 15) and r5 (Feb 10). visitor_type=(none) keeps r5.
    source=google and medium=cpc keep r2 (Jan 5)."""
    res = web.metric("sessions", filters={"channel": ["organic_search"]}, start="2025-01-01",
                     end="2025-03-31", as_of=AS_OF)
    assert values(res) == [(JAN, 10), (FEB, 0), (MAR, 15)]
    res = web.metric("sessions", filters={"landing_page": ["/"]}, as_of=AS_OF)
    assert values(res) == [(JAN, 15), (FEB, 10)]
    res = web.metric("sessions", filters={"visitor_type": ["(none)"]}, as_of=AS_OF)
    assert values(res) == [(FEB, 10)]
    res = web.metric("sessions", filters={"source": ["google"], "medium": ["cpc"]},
                     as_of=AS_OF)
    assert values(res) == [(JAN, 5)]
    res = web.metric("sessions", by=["campaign"], as_of=AS_OF, grain="quarter")
    assert by_dim(res, "campaign") == {(Q1, None): 60, (Q1, "brand"): 5}


# -- rates of sessions ------------------------------------------------------------------------

def test_engagement_rate_ratio_of_sums_and_empty_denominator(web: Workspace) -> None:
    """Jan 12/20 = 0.6, Feb 15/30 = 0.5; Mar: r6 reports no engaged sessions, so its sessions
    are not in the denominator: 0/0 → None (not 0); Apr has no rows: None with 0/0.
    Q1 = (12+15)/(20+30) = 27/50 = 0.54 — not the mean of the monthly rates (0.55)."""
    res = web.metric("engagement_rate", **MONTHS)
    assert ratios(res) == [(JAN, 12, 20, 0.6), (FEB, 15, 30, 0.5), (MAR, 0, 0, None),
                           (APR, 0, 0, None)]
    q = web.metric("engagement_rate", grain="quarter", as_of=AS_OF)
    assert ratios(q) == [(Q1, 27, 50, 0.54)]
    # plain-Python cross-check over the same rows
    num = sum(e for _, _, e, _, _ in ROWS if e is not None)
    den = sum(s for _, s, e, _, _ in ROWS if e is not None)
    assert q.rows[0]["value"] == pytest.approx(num / den)


def test_bounce_rate_derives_missing_bounces_from_engaged_sessions(web: Workspace) -> None:
    """r3 has no bounces: derived 5 − 2 = 3 (GA4: 1 − engagement rate). Jan (4+1+3)/20 = 0.4;
    Feb (12+3)/30 = 0.5; Mar: r6 has neither bounces nor engaged sessions → None."""
    res = web.metric("bounce_rate", start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    assert ratios(res) == [(JAN, 8, 20, 0.4), (FEB, 15, 30, 0.5), (MAR, 0, 0, None)]
    assert resolve("bounce_rate", web.settings).direction == "down"


def test_returning_share_divides_by_sessions_with_a_known_visitor_type(web: Workspace) -> None:
    """Jan: returning r2 + r3 = 10 of 20 typed sessions = 0.5. Feb: r4 (new, 20) and r5 (no
    type, 10): 0 of 20 = 0.0. Mar: r6 new: 0/15 = 0.0. Q1: 10/(20+20+15) = 10/55."""
    res = web.metric("returning_share", as_of=AS_OF)
    assert ratios(res) == [(JAN, 10, 20, 0.5), (FEB, 0, 20, 0.0), (MAR, 0, 15, 0.0)]
    q = web.metric("returning_share", grain="quarter", as_of=AS_OF)
    assert q.rows[0]["value"] == pytest.approx(10 / 55)


def test_avg_session_duration_and_pages_per_session(web: Workspace) -> None:
    """avg_session_duration (seconds): Jan (600+300+100)/20 = 50.0, Feb (800+500)/30 = 43.33…,
    Mar: r6 has no duration → None. pages_per_session: Jan 34/20 = 1.7, Feb 45/30 = 1.5,
    Mar 25/15."""
    res = web.metric("avg_session_duration", as_of=AS_OF)
    assert res.unit == "seconds"
    assert [(r["period"], r["numerator"], r["denominator"]) for r in res.rows] == [
        (JAN, 1000, 20), (FEB, 1300, 30), (MAR, 0, 0)]
    assert [r["value"] for r in res.rows] == [50.0, pytest.approx(1300 / 30), None]
    res = web.metric("pages_per_session", as_of=AS_OF)
    assert ratios(res) == [(JAN, 34, 20, 1.7), (FEB, 45, 30, 1.5),
                           (MAR, 25, 15, pytest.approx(25 / 15))]


def test_scroll_rates_leave_out_rows_without_scroll_tracking(web: Workspace) -> None:
    """Rows reporting scroll depth: Jan r1 (10 sessions) and r2 (5) — r3 has none; Feb r4 (20)
    and r5 (10); Mar none.
    scroll_rate_25: Jan (8+5)/15, Feb (16+9)/30, Mar None.
    scroll_rate_50: Jan (6+4)/15, Feb (10+7)/30. scroll_rate_75: Jan (4+3)/15, Feb (5+5)/30.
    scroll_rate_100: Jan (2+1)/15 = 0.2, Feb (1+3)/30."""
    expected = {25: [(13, 15), (25, 30)], 50: [(10, 15), (17, 30)], 75: [(7, 15), (10, 30)],
                100: [(3, 15), (4, 30)]}
    for depth, months in expected.items():
        res = web.metric(f"scroll_rate_{depth}", as_of=AS_OF)
        want = [(p, n, d, pytest.approx(n / d)) for p, (n, d) in zip((JAN, FEB), months,
                                                                      strict=True)]
        assert ratios(res) == [*want, (MAR, 0, 0, None)], depth


def test_scroll_rate_per_landing_page(web: Workspace) -> None:
    """S2-3: scroll_rate_50 by landing page, Q1. '/': r1 6/10 (r3 and r5: r3 untracked, r5
    7/10) → (6+7)/(10+10) = 0.65; '/pricing': r2 4/5 = 0.8 (r6 untracked); '/lp/webinar':
    r4 10/20 = 0.5."""
    res = web.metric("scroll_rate_50", grain="quarter", by=["landing_page"], as_of=AS_OF)
    assert by_dim(res, "landing_page") == {(Q1, "/"): 0.65, (Q1, "/lp/webinar"): 0.5,
                                           (Q1, "/pricing"): 0.8}


def test_web_conversion_rate(web: Workspace) -> None:
    """Jan 3/20 = 0.15; Feb 4/30; Mar: r6 reports no conversions → None; Apr None."""
    res = web.metric("web_conversion_rate", **MONTHS)
    assert ratios(res) == [(JAN, 3, 20, 0.15), (FEB, 4, 30, pytest.approx(4 / 30)),
                           (MAR, 0, 0, None), (APR, 0, 0, None)]


def test_organic_share_counts_free_channels(web: Workspace) -> None:
    """Free: organic_search, organic_social, organic_video, organic_shopping, referral,
    direct, email. Jan: organic_search 10 + direct 5 of 20 = 0.75 (paid_search 5 is not free);
    Feb: email 10 of 30; Mar: organic_search 15/15 = 1.0; Q1 (10+5+10+15)/65 = 40/65.
    By channel every row is 1 or 0 and the numerators sum to the total's."""
    res = web.metric("organic_share", as_of=AS_OF)
    assert ratios(res) == [(JAN, 15, 20, 0.75), (FEB, 10, 30, pytest.approx(1 / 3)),
                           (MAR, 15, 15, 1.0)]
    q = web.metric("organic_share", grain="quarter", as_of=AS_OF)
    assert ratios(q) == [(Q1, 40, 65, pytest.approx(40 / 65))]
    split = web.metric("organic_share", grain="quarter", by=["channel"], as_of=AS_OF)
    assert by_dim(split, "channel") == {
        (Q1, "direct"): 1.0, (Q1, "email"): 1.0, (Q1, "organic_search"): 1.0,
        (Q1, "paid_search"): 0.0, (Q1, "paid_social"): 0.0}
    assert sum(r["numerator"] for r in split.rows) == 40
    free = {"organic_search", "direct", "email"}
    assert sum(s for _, s, _, _, c in ROWS if c in free) == 40


# -- visit → lead --------------------------------------------------------------------------------

def test_visit_to_lead_rate_leads_from_contacts_over_sessions(web: Workspace) -> None:
    """Leads (period basis, cumulative): Jan 2 (k1, k2), Feb 3 (k3 inferred 02-02, k4, k5 —
    k5 was created in December but became a lead in Feb), Mar 0. Sessions Jan 20, Feb 30,
    Mar 15, Apr 0. Rate: Jan 2/20 = 0.1, Feb 3/30 = 0.1, Mar 0/15 = 0.0; April has neither
    leads nor sessions: 0 ÷ 0, value None (an empty cell of a rate is 0 ÷ 0).
    extra: leads, sessions and the inferred count (Feb 1)."""
    res = web.metric("visit_to_lead_rate", **MONTHS)
    assert ratios(res) == [(JAN, 2, 20, 0.1), (FEB, 3, 30, 0.1), (MAR, 0, 15, 0.0),
                           (APR, 0, 0, None)]
    assert row(res, FEB)["extra"] == {"leads": 3, "sessions": 30, "inferred": 1}
    # cross-check: the leads metric (period basis) and the sessions metric
    leads = web.metric("leads", basis="period", **MONTHS)
    sessions = web.metric("sessions", **MONTHS)
    for r, lead, sess in zip(res.rows, leads.rows, sessions.rows, strict=True):
        assert (r["numerator"] or 0, r["denominator"] or 0) == (lead["value"], sess["value"])


def test_visit_to_lead_rate_quarter_and_strict_rule(web: Workspace) -> None:
    """Q1: (2+3+0)/(20+30+15) = 5/65. Strict rule: k3 never entered lead, so Feb has 2
    (k4, k5): Feb 2/30."""
    q = web.metric("visit_to_lead_rate", grain="quarter", as_of=AS_OF)
    assert ratios(q) == [(Q1, 5, 65, pytest.approx(5 / 65))]
    strict = web.metric("visit_to_lead_rate", rule="strict", as_of=AS_OF)
    assert row(strict, FEB)["numerator"] == 2
    assert "inferred" not in row(strict, FEB)["extra"]


def test_visit_to_lead_rate_by_channel_uses_each_sides_channel(web: Workspace) -> None:
    """Leads by the contact's channel, sessions by the web row's channel.
    Jan: organic_search 1 (k1) / 10 (r1) = 0.1; paid_search 1 (k2, channel derived from its
    UTMs google/cpc) / 5 (r2) = 0.2; direct 0 / 5 = 0.0.
    Feb: organic_search 1 (k3) / 0 → None with numerator 1; webinar 1 (k4) / 0 → None;
    email 1 (k5) / 10 (r5) = 0.1; paid_social 0 / 20 = 0.0.
    Mar: organic_search 0 / 15 = 0.0. Per month the numerators sum to the total leads."""
    res = web.metric("visit_to_lead_rate", by=["channel"], as_of=AS_OF)
    got = {(r["period"], r["channel"]): (r["numerator"], r["denominator"], r["value"])
           for r in res.rows if r["numerator"] or r["denominator"]}
    assert got == {
        (JAN, "organic_search"): (1, 10, 0.1), (JAN, "paid_search"): (1, 5, 0.2),
        (JAN, "direct"): (0, 5, 0.0),
        (FEB, "organic_search"): (1, 0, None), (FEB, "webinar"): (1, 0, None),
        (FEB, "email"): (1, 10, 0.1), (FEB, "paid_social"): (0, 20, 0.0),
        (MAR, "organic_search"): (0, 15, 0.0)}
    for period, total in ((JAN, 2), (FEB, 3), (MAR, 0)):
        assert sum(r["numerator"] or 0 for r in res.rows if r["period"] == period) == total
    only = web.metric("visit_to_lead_rate", filters={"channel": ["email"]}, as_of=AS_OF)
    assert [(r["period"], r["numerator"], r["denominator"]) for r in only.rows] == [
        (FEB, 1, 10)]


def test_visit_to_lead_rate_rejects_other_dimensions_and_account_level(web: Workspace) -> None:
    """Contacts have no landing page; account-level leads do not compare with sessions."""
    with pytest.raises(UsageError, match="landing_page"):
        web.metric("visit_to_lead_rate", by=["landing_page"], as_of=AS_OF)
    with pytest.raises(UsageError, match="level account"):
        web.metric("visit_to_lead_rate", level="account", as_of=AS_OF)


def test_visit_to_lead_rate_compares_with_previous_period(web: Workspace) -> None:
    """Feb against Jan: 0.1 vs 0.1 → delta 0; the previous numerator and denominator (2, 20)
    show both sample sizes."""
    res = web.metric("visit_to_lead_rate", start="2025-02-01", end="2025-02-28",
                     compare="previous", as_of=AS_OF)
    r = row(res, FEB)
    assert (r["previous_value"], r["delta"], r["previous_numerator"],
            r["previous_denominator"]) == (0.1, 0.0, 2, 20)


# -- landing pages ------------------------------------------------------------------------------

def test_landing_page_sessions_ranked_with_conversions(web: Workspace) -> None:
    """Q1 by landing page: '/' = r1 10 + r3 5 + r5 10 = 25 (conversions 1+0+1 = 2, rate
    2/25 = 0.08); '/pricing' = r2 5 + r6 15 = 20 (conversions 2; r6 reports none, so the rate
    is 2/5 = 0.4); '/lp/webinar' = r4 20 (conversions 3, 3/20 = 0.15). Rank by sessions, ties
    by name: '/' 1, '/lp/webinar' 2, '/pricing' 3. The rows sum to the sessions total 65."""
    res = web.metric("landing_page_sessions", grain="quarter", by=["landing_page"],
                     as_of=AS_OF)
    got = {r["landing_page"]: (r["value"], r["extra"]) for r in res.rows}
    assert got == {
        "/": (25, {"rank": 1, "conversions": 2, "conversion_rate": 0.08}),
        "/lp/webinar": (20, {"rank": 2, "conversions": 3, "conversion_rate": 0.15}),
        "/pricing": (20, {"rank": 3, "conversions": 2, "conversion_rate": 0.4})}
    assert sum(r["value"] for r in res.rows) == 65


def test_landing_page_sessions_without_breakdown_lists_top_pages(web: Workspace) -> None:
    """Without --by landing_page: per month the sessions and the ranked pages.
    Jan: 20 sessions; '/' 15 (r1, r3; conversions 1), '/pricing' 5 (conversions 2)."""
    res = web.metric("landing_page_sessions", as_of=AS_OF)
    jan = row(res, JAN)
    assert jan["value"] == 20
    assert jan["extra"] == {"pages": 2, "top_pages": [
        {"landing_page": "/", "sessions": 15, "conversions": 1, "rank": 1},
        {"landing_page": "/pricing", "sessions": 5, "conversions": 2, "rank": 2}]}
    assert values(res) == [(JAN, 20), (FEB, 30), (MAR, 15)]


def test_landing_pages_rank_within_each_channel(web: Workspace) -> None:
    """By channel and landing page, Q1: organic_search has '/pricing' 15 (r6, rank 1) and '/'
    10 (r1, rank 2); every other channel has one page (rank 1)."""
    res = web.metric("landing_page_sessions", grain="quarter",
                     by=["channel", "landing_page"], as_of=AS_OF)
    got = {(r["channel"], r["landing_page"]): (r["value"], r["extra"]["rank"])
           for r in res.rows if r["value"]}
    assert got == {("organic_search", "/pricing"): (15, 1), ("organic_search", "/"): (10, 2),
                   ("paid_search", "/pricing"): (5, 1), ("direct", "/"): (5, 1),
                   ("paid_social", "/lp/webinar"): (20, 1), ("email", "/"): (10, 1)}


# -- metadata and cross-check -----------------------------------------------------------------

WEB_KEYS = ("sessions", "pageviews", "users", "returning_share", "engaged_sessions",
            "engagement_rate", "bounce_rate", "avg_session_duration", "pages_per_session",
            "scroll_rate_25", "scroll_rate_50", "scroll_rate_75", "scroll_rate_100",
            "web_conversions", "web_conversion_rate", "visit_to_lead_rate", "organic_share",
            "landing_page_sessions")


def test_every_web_metric_is_registered_with_full_metadata(ws: Workspace) -> None:
    """Each key resolves with a label, group web, unit, direction, aggregation, time basis,
    dimensions and a definition; counts are flows, rates are ratios."""
    for key in WEB_KEYS:
        m = resolve(key, ws.settings)
        assert m.group == "web" and m.label and m.definition and m.time_basis, key
        assert m.direction in ("up", "down", "neutral"), key
        assert m.aggregation in ("flow", "ratio"), key
        assert m.aggregation == ("ratio" if m.unit in ("ratio", "seconds") or
                                 key == "pages_per_session" else "flow"), key
        assert m.dimensions, key
    listed = {m.key for m in all_metrics(ws.settings)}
    assert set(WEB_KEYS) <= listed


def test_engagement_rate_matches_hand_written_sql(web: Workspace) -> None:
    """An independent computation in SQL over the stored table gives the same monthly
    numerators and denominators."""
    sql = web.query(
        "SELECT date_trunc('month', date)::DATE AS m, "
        "sum(engaged_sessions) AS num, "
        "sum(CASE WHEN engaged_sessions IS NOT NULL THEN sessions ELSE 0 END) AS den "
        "FROM web_traffic GROUP BY 1 ORDER BY 1")
    res = web.metric("engagement_rate", as_of=AS_OF)
    assert [(r["period"], r["numerator"], r["denominator"]) for r in res.rows] == [
        (m, int(num or 0), int(den)) for m, num, den in sql]


def test_as_of_ignores_later_rows(web: Workspace) -> None:
    """as_of 2025-02-12: Feb keeps r4 (02-10) only → 20 sessions, partial; r5 (02-14) and
    March are ignored."""
    res = web.metric("sessions", as_of="2025-02-12")
    assert [(r["period"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, 20, False), (FEB, 20, True)]
