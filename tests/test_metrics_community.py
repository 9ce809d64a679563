"""Golden tests of the community and nurture metrics (metrics.md §6, S3-3) on tiny
hand-counted datasets; the derivation of every expected number is in the test's docstring.

ENGAGEMENT (engagement table; only kind = community counts):

    date        platform  kind       audience  active_members  posts
    2024-03-31  forum     community  80        15              3      (a year earlier)
    2025-01-15  forum     community  100       20              5
    2025-01-31  forum     community  110       22              6
    2025-01-31  slack     community  50        10              3
    2025-01-31  linkedin  social     999       -               9      (not community)
    2025-02-28  forum     community  120       25              4      (slack: no Feb row)
    2025-03-15  forum     community  130       30              7      (forum's last Q1 row)
    2025-03-31  slack     community  70        12              2

QUESTIONS (community_questions, UTC, as-of 2025-06-30):

    id  asked             first answer        lag (h)  platform  by
    q1  01-02 10:00       01-02 12:00         2        forum     staff
    q2  01-05 00:00       01-05 06:00         6        forum     community
    q3  01-10 00:00       01-11 00:00         24       slack     staff
    q4  01-20 00:00       01-20 10:00         10       slack     community
    q5  01-25 00:00       -                   -        forum     -
    q6  01-30 00:00       2025-07-05 (after the as-of date: unanswered at as-of)  slack
    q7  02-03 00:00       02-03 03:00         3        forum     staff
    q8  02-10 00:00       02-09 00:00         -24      forum     staff  (data error)
    q9  03-10 00:00       -                   -        slack     -

EMAILS (email_sends):

    id  sent        program     audience   campaign sent  deliv. opens clicks unsub bounces spam
    e1  01-10 15:00 nurture     prospects  C1       1000  950    300   60     5     50      1
    e2  01-20 09:00 newsletter  customers  C2       500   490    200   40     2     10      0
    e3  02-05 09:00 nurture     prospects  C1       400   -      100   10     1     8       0
    e4  03-03 09:00 product     customers  -        0     0      0     0      0     0       0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FileWriter, WorkspaceFactory
from funnelboard.errors import UsageError
from funnelboard.metrics.registry import all_metrics, resolve
from funnelboard.metrics.result import MetricResult
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"
JAN, FEB, MAR, APR = D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1), D(2025, 4, 1)
Q1 = JAN

ENGAGEMENT = """\
date,platform,kind,audience,active_members,posts
2024-03-31,forum,community,80,15,3
2025-01-15,forum,community,100,20,5
2025-01-31,forum,community,110,22,6
2025-01-31,slack,community,50,10,3
2025-01-31,linkedin,social,999,,9
2025-02-28,forum,community,120,25,4
2025-03-15,forum,community,130,30,7
2025-03-31,slack,community,70,12,2
"""
QUESTIONS = """\
question_id,asked_at,first_answered_at,platform,answered_by
q1,2025-01-02T10:00:00Z,2025-01-02T12:00:00Z,forum,staff
q2,2025-01-05T00:00:00Z,2025-01-05T06:00:00Z,forum,community
q3,2025-01-10T00:00:00Z,2025-01-11T00:00:00Z,slack,staff
q4,2025-01-20T00:00:00Z,2025-01-20T10:00:00Z,slack,community
q5,2025-01-25T00:00:00Z,,forum,
q6,2025-01-30T00:00:00Z,2025-07-05T00:00:00Z,slack,staff
q7,2025-02-03T00:00:00Z,2025-02-03T03:00:00Z,forum,staff
q8,2025-02-10T00:00:00Z,2025-02-09T00:00:00Z,forum,staff
q9,2025-03-10T00:00:00Z,,slack,
"""
EMAILS = """\
email_id,sent_at,program,audience,campaign_id,sent,delivered,unique_opens,unique_clicks,unsubscribes,bounces,spam_reports
e1,2025-01-10T15:00:00Z,nurture,prospects,C1,1000,950,300,60,5,50,1
e2,2025-01-20T09:00:00Z,newsletter,customers,C2,500,490,200,40,2,10,0
e3,2025-02-05T09:00:00Z,nurture,prospects,C1,400,,100,10,1,8,0
e4,2025-03-03T09:00:00Z,product,customers,,0,0,0,0,0,0,0
"""


def load(ws: Workspace, folder: Path, **tables: str) -> Workspace:
    """Import CSV texts into their tables; every row must be accepted."""
    for table, content in tables.items():
        path = folder / f"{table}.csv"
        path.write_text(content, encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.ok and result.rows_quarantined == 0, (
            table, result.message, [(i.code, i.message) for i in result.issues])
    return ws


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """ENGAGEMENT, QUESTIONS and EMAILS in one UTC workspace, loaded once (read only)."""
    folder = tmp_path_factory.mktemp("community")
    with Workspace.init(folder / "ws") as ws:
        yield load(ws, folder, engagement=ENGAGEMENT, community_questions=QUESTIONS,
                   email_sends=EMAILS)


def values(res: MetricResult) -> list[tuple[Any, ...]]:
    return [(r["period"], r["value"]) for r in res.rows]


def ratios(res: MetricResult) -> list[tuple[Any, ...]]:
    return [(r["period"], r["numerator"], r["denominator"], r["value"]) for r in res.rows]


def row(res: MetricResult, period: dt.date, **dims: Any) -> dict[str, Any]:
    found = [r for r in res.rows if r["period"] == period
             and all(r.get(k) == v for k, v in dims.items())]
    assert len(found) == 1, (period, dims, res.rows)
    return found[0]


RANGE = {"start": "2025-01-01", "end": "2025-04-30", "as_of": AS_OF}


# -- community size and activity --------------------------------------------------------------

def test_community_members_is_the_period_end_audience_summed_over_platforms(
        data: Workspace) -> None:
    """Per platform, the audience of its last row in the month; linkedin (kind social) never
    counts. Jan: forum 110 (01-31, not 01-15's 100) + slack 50 = 160 (n = 2 platforms).
    Feb: forum 120; slack reported nothing in Feb, so only forum counts: 120 (n = 1).
    Mar: forum 130 (03-15) + slack 70 (03-31) = 200. Apr: no row → None (a stock has no
    value without data, not 0)."""
    res = data.metric("community_members", **RANGE)
    assert values(res) == [(JAN, 160), (FEB, 120), (MAR, 200), (APR, None)]
    assert [r["n"] for r in res.rows] == [2, 1, 2, 0]
    assert row(res, MAR)["extra"] == {"measured_on": D(2025, 3, 31)}


def test_community_members_at_quarter_grain_is_the_quarter_end_value_not_a_sum(
        data: Workspace) -> None:
    """Q1 2025 = forum's last Q1 value 130 (03-15) + slack's 70 (03-31) = 200 — the value at
    the quarter's end, not 160 + 120 + 200 = 480. With compare="yoy": Q1 2024 = forum 80
    (2024-03-31), so delta = 120 and delta_pct = 1.5 (the growth direction S3-3 asks for)."""
    res = data.metric("community_members", grain="quarter", start="2025-01-01",
                      end="2025-03-31", compare="yoy", as_of=AS_OF)
    r = row(res, Q1)
    assert (r["value"], r["previous_value"], r["delta"], r["delta_pct"]) == (200, 80, 120, 1.5)
    assert res.rows[0]["value"] != 160 + 120 + 200


def test_community_active_members_is_a_stock_too(data: Workspace) -> None:
    """active_members per platform on its last row of the period, summed: Jan 22 + 10 = 32,
    Feb 25 (forum only), Mar 30 + 12 = 42; Q1 = 42 (quarter end), not 99."""
    res = data.metric("community_active_members", as_of=AS_OF, start="2025-01-01")
    assert values(res)[:3] == [(JAN, 32), (FEB, 25), (MAR, 42)]
    q = data.metric("community_active_members", grain="quarter", start="2025-01-01",
                    end="2025-03-31", as_of=AS_OF)
    assert values(q) == [(Q1, 42)]
    assert resolve("community_active_members", data.settings).aggregation == "stock"


def test_community_members_by_platform(data: Workspace) -> None:
    """Q1 by platform: forum 130, slack 70 (their sum is the total 200)."""
    res = data.metric("community_members", grain="quarter", by=["platform"],
                      start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    assert {r["platform"]: r["value"] for r in res.rows} == {"forum": 130, "slack": 70}


def test_community_posts_is_a_flow_whose_breakdown_sums_to_the_total(data: Workspace) -> None:
    """Posts of community rows: Jan 5 + 6 + 3 = 14 (linkedin's 9 excluded), Feb 4, Mar 7 + 2
    = 9, Apr 0. Q1 = 14 + 4 + 9 = 27; by platform forum 5+6+4+7 = 22, slack 3+2 = 5, sum 27.
    YoY: Q1 2024 = 3 → delta 24."""
    res = data.metric("community_posts", **RANGE)
    assert values(res) == [(JAN, 14), (FEB, 4), (MAR, 9), (APR, 0)]
    q = data.metric("community_posts", grain="quarter", start="2025-01-01", end="2025-03-31",
                    compare="yoy", as_of=AS_OF)
    assert (q.rows[0]["value"], q.rows[0]["previous_value"], q.rows[0]["delta"]) == (27, 3, 24)
    split = data.metric("community_posts", grain="quarter", by=["platform"],
                        start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    assert {r["platform"]: r["value"] for r in split.rows} == {"forum": 22, "slack": 5}
    assert sum(r["value"] for r in split.rows) == q.rows[0]["value"]


def test_community_metrics_reject_other_dimensions(data: Workspace) -> None:
    with pytest.raises(UsageError, match="platform"):
        data.metric("community_members", by=["channel"], as_of=AS_OF)


# -- questions ---------------------------------------------------------------------------------

def test_time_to_first_answer_median_p75_and_unanswered(data: Workspace) -> None:
    """Jan answered lags (hours): 2, 6, 24, 10 → sorted 2, 6, 10, 24: median (6+10)/2 = 8,
    p75 (linear) = 10 + 0.25 × (24 − 10) = 13.5; n = 4; asked 6; unanswered 2 (q5 never,
    q6 only after the as-of date).
    Feb: q7 3 h; q8's answer is dated before its question (−24 h): left out, counted as
    invalid → median 3, p75 3, n 1, asked 2, unanswered 0, invalid 1, and a note.
    Mar: q9 unanswered → None, n 0, unanswered 1. Apr: no question → None."""
    res = data.metric("time_to_first_answer", **RANGE)
    assert res.unit == "hours"
    assert values(res) == [(JAN, 8.0), (FEB, 3.0), (MAR, None), (APR, None)]
    assert [r["n"] for r in res.rows] == [4, 1, 0, 0]
    assert row(res, JAN)["extra"] == {"p75": 13.5, "asked": 6, "unanswered": 2, "invalid": 0}
    assert row(res, FEB)["extra"] == {"p75": 3.0, "asked": 2, "unanswered": 0, "invalid": 1}
    assert row(res, MAR)["extra"]["unanswered"] == 1
    assert any("before the question" in n for n in res.notes)


def test_time_to_first_answer_quarter_and_breakdowns(data: Workspace) -> None:
    """Q1 lags 2, 3, 6, 10, 24: median 6, p75 at position 0.75 × 4 = 3 → 10.
    Jan by answered_by: staff q1 2, q3 24 → 13; community q2 6, q4 10 → 8; no answerer
    (q5 unanswered; q6 is 'staff' but answered after the as-of date, so it is unanswered in
    the staff group) → None.
    Jan by platform: forum 2, 6 → 4 (q5 unanswered); slack 24, 10 → 17 (q6 unanswered)."""
    q = data.metric("time_to_first_answer", grain="quarter", as_of=AS_OF)
    assert (q.rows[0]["value"], q.rows[0]["extra"]["p75"], q.rows[0]["n"]) == (6.0, 10.0, 5)
    by = data.metric("time_to_first_answer", by=["answered_by"], start="2025-01-01",
                     end="2025-01-31", as_of=AS_OF)
    assert {r["answered_by"]: (r["value"], r["extra"]["unanswered"]) for r in by.rows} == {
        "staff": (13.0, 1), "community": (8.0, 0), None: (None, 1)}
    plat = data.metric("time_to_first_answer", by=["platform"], start="2025-01-01",
                       end="2025-01-31", as_of=AS_OF)
    assert {r["platform"]: (r["value"], r["extra"]["unanswered"]) for r in plat.rows} == {
        "forum": (4.0, 1), "slack": (17.0, 1)}


def test_time_to_first_answer_as_of_counts_late_answers_as_unanswered(
        data: Workspace) -> None:
    """With as-of 2025-07-10, q6's answer (07-05, 3,720 hours after 01-30 00:00 — 155 days)
    counts: Jan lags 2, 6, 10, 24, 3720 → median 10, unanswered 1 (q5)."""
    res = data.metric("time_to_first_answer", start="2025-01-01", end="2025-01-31",
                      as_of="2025-07-10")
    assert (res.rows[0]["value"], res.rows[0]["extra"]["unanswered"]) == (10.0, 1)


def test_answered_rate(data: Workspace) -> None:
    """Answered (on or before the as-of date) ÷ asked, by asked month: Jan 4/6 (q5, q6
    unanswered), Feb 2/2 (q8 has an answer, even if its date is wrong), Mar 0/1 = 0.0 (not
    None: a question was asked), Apr 0/0 → None. Q1 6/9."""
    res = data.metric("answered_rate", **RANGE)
    assert ratios(res) == [(JAN, 4, 6, pytest.approx(4 / 6)), (FEB, 2, 2, 1.0),
                           (MAR, 0, 1, 0.0), (APR, 0, 0, None)]
    q = data.metric("answered_rate", grain="quarter", as_of=AS_OF)
    assert ratios(q) == [(Q1, 6, 9, pytest.approx(6 / 9))]


# -- email ----------------------------------------------------------------------------------

def test_emails_sent_and_breakdown_sums(data: Workspace) -> None:
    """Jan 1000 + 500 = 1500, Feb 400, Mar 0. Q1 by program: nurture 1400, newsletter 500,
    product 0 → 1900, the total. Filter audience=prospects: Jan 1000, Feb 400."""
    res = data.metric("emails_sent", as_of=AS_OF)
    assert values(res) == [(JAN, 1500), (FEB, 400), (MAR, 0)]
    split = data.metric("emails_sent", grain="quarter", by=["program"], as_of=AS_OF)
    assert {r["program"]: r["value"] for r in split.rows} == {
        "nurture": 1400, "newsletter": 500, "product": 0}
    assert sum(r["value"] for r in split.rows) == 1900
    pros = data.metric("emails_sent", filters={"audience": ["prospects"]}, as_of=AS_OF)
    assert values(pros) == [(JAN, 1000), (FEB, 400)]


def test_email_rates_per_month(data: Workspace) -> None:
    """Jan (e1 + e2): delivered_rate 1440/1500 = 0.96; email_bounce_rate 60/1500 = 0.04;
    open_rate 500/1440; click_rate 100/1440; unsubscribe_rate 7/1440; spam_rate 1/1440;
    click_to_open_rate 100/500 = 0.2.
    Feb (e3, delivered unknown): delivered_rate None (no send reports both), bounce 8/400 =
    0.02, open/click/unsubscribe/spam None (÷ delivered), click_to_open 10/100 = 0.1.
    Mar (e4, all zero): every rate 0/0 → None."""
    expected = {
        "delivered_rate": [(1440, 1500), (0, 0), (0, 0)],
        "email_bounce_rate": [(60, 1500), (8, 400), (0, 0)],
        "open_rate": [(500, 1440), (0, 0), (0, 0)],
        "click_rate": [(100, 1440), (0, 0), (0, 0)],
        "unsubscribe_rate": [(7, 1440), (0, 0), (0, 0)],
        "spam_rate": [(1, 1440), (0, 0), (0, 0)],
        "click_to_open_rate": [(100, 500), (10, 100), (0, 0)],
    }
    for key, months in expected.items():
        res = data.metric(key, as_of=AS_OF)
        want = [(p, n, d, pytest.approx(n / d) if d else None)
                for p, (n, d) in zip((JAN, FEB, MAR), months, strict=True)]
        assert ratios(res) == want, key
        assert res.unit == "ratio"


def test_email_rates_quarter_is_a_ratio_of_sums(data: Workspace) -> None:
    """Q1 click_to_open_rate = (60+40+10)/(300+200+100) = 110/600, not the mean of the
    monthly 0.2 and 0.1. Q1 email_bounce_rate = (50+10+8+0)/(1000+500+400+0) = 68/1900."""
    ctor = data.metric("click_to_open_rate", grain="quarter", as_of=AS_OF)
    assert ratios(ctor) == [(Q1, 110, 600, pytest.approx(110 / 600))]
    bounce = data.metric("email_bounce_rate", grain="quarter", as_of=AS_OF)
    assert ratios(bounce) == [(Q1, 68, 1900, pytest.approx(68 / 1900))]


def test_email_rates_by_program_audience_and_campaign(data: Workspace) -> None:
    """Jan open_rate by program: nurture 300/950, newsletter 200/490. By audience:
    prospects 300/950, customers 200/490. By campaign: C1 300/950, C2 200/490."""
    for dim, a, b in (("program", "nurture", "newsletter"),
                      ("audience", "prospects", "customers"), ("campaign", "C1", "C2")):
        res = data.metric("open_rate", by=[dim], start="2025-01-01", end="2025-01-31",
                          as_of=AS_OF)
        got = {r[dim]: (r["numerator"], r["denominator"]) for r in res.rows}
        assert got == {a: (300, 950), b: (200, 490)}, dim


def test_open_rate_matches_hand_written_sql(data: Workspace) -> None:
    """An independent SQL computation over email_sends (sends reporting both opens and
    delivered) gives the same monthly numerator and denominator."""
    sql = data.query(
        "SELECT date_trunc('month', sent_at AT TIME ZONE 'UTC')::DATE AS m, "
        "sum(CASE WHEN delivered IS NOT NULL AND unique_opens IS NOT NULL "
        "THEN unique_opens ELSE 0 END), "
        "sum(CASE WHEN delivered IS NOT NULL AND unique_opens IS NOT NULL "
        "THEN delivered ELSE 0 END) FROM email_sends GROUP BY 1 ORDER BY 1")
    res = data.metric("open_rate", as_of=AS_OF)
    assert [(r["period"], r["numerator"], r["denominator"]) for r in res.rows] == [
        (m, int(n), int(d)) for m, n, d in sql]


def test_emails_are_bucketed_by_local_send_date(make_ws_with: WorkspaceFactory,
                                                write_file: FileWriter) -> None:
    """In America/New_York, a send at 2025-02-01 02:00 UTC is 2025-01-31 21:00 local: it
    belongs to January. A question asked 2025-03-01 03:00 UTC (Feb 28 local) belongs to
    February."""
    ws = make_ws_with(timezone="America/New_York")
    ws.import_file("email_sends", write_file(
        "email_id,sent_at,sent,delivered\n"
        "x1,2025-02-01T02:00:00Z,100,90\nx2,2025-02-01T12:00:00Z,10,10\n",
        name="email_sends.csv"))
    ws.import_file("community_questions", write_file(
        "question_id,asked_at,first_answered_at\nz1,2025-03-01T03:00:00Z,"
        "2025-03-01T05:00:00Z\n", name="community_questions.csv"))
    assert values(ws.metric("emails_sent", as_of=AS_OF)) == [(JAN, 100), (FEB, 10)]
    assert values(ws.metric("time_to_first_answer", as_of=AS_OF)) == [(FEB, 2.0)]


# -- metadata ------------------------------------------------------------------------------------

COMMUNITY_KEYS = {
    "community_members": "stock", "community_active_members": "stock",
    "community_posts": "flow", "time_to_first_answer": "ratio", "answered_rate": "ratio",
    "emails_sent": "flow", "delivered_rate": "ratio", "email_bounce_rate": "ratio",
    "open_rate": "ratio", "click_rate": "ratio", "click_to_open_rate": "ratio",
    "unsubscribe_rate": "ratio", "spam_rate": "ratio"}


def test_every_community_metric_is_registered_with_full_metadata(data: Workspace) -> None:
    listed = {m.key for m in all_metrics(data.settings)}
    for key, aggregation in COMMUNITY_KEYS.items():
        m = resolve(key, data.settings)
        assert key in listed
        assert m.aggregation == aggregation, key
        assert m.label and m.definition and m.time_basis and m.dimensions, key
        assert m.group in ("community", "email"), key
        assert m.direction in ("up", "down", "neutral"), key
    for key in ("email_bounce_rate", "unsubscribe_rate", "spam_rate", "time_to_first_answer"):
        assert resolve(key, data.settings).direction == "down", key
