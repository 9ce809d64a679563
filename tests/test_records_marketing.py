"""The drill-down of the marketing, web and community metrics lists exactly what the number
counts or sums: on the demo, for every cell, the records (or the sum of their ``counted``
column) equal the cell's value, numerator, denominator or median's count; on a tiny
hand-counted workspace, the records are the ones named in each test's docstring."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from funnelboard.metrics.query import MetricQuery, make_query
from funnelboard.metrics.records import COUNTED, cell_of, drillable, fetch, record_table, sides_of
from funnelboard.metrics.registry import all_metrics, resolve
from funnelboard.workspace import Workspace
from records_support import AS_OF, RANGE
from records_support import cells as _cells

RATIO = {"numerator": "numerator", "denominator": "denominator"}
#: for each metric, which field of a result row each side's records add up to
EXPECTED: dict[str, dict[str, str]] = {
    "engaged_accounts": {"numerator": "value"},
    "target_account_reach": RATIO,
    "target_account_engagement": RATIO,
    "cost_per_lead": RATIO,
    "cost_per_mql": RATIO,
    "cost_per_customer": RATIO,
    "demo_to_opportunity_rate": RATIO,
    "self_reported_source_mix": RATIO,
    "mql_follow_up_hours": {"numerator": "n"},  # a median: the records it is taken over
    "sla_met_rate": RATIO,
    "time_to_first_answer": {"numerator": "n"},
    "visit_to_lead_rate": RATIO,
    "landing_page_sessions": {"numerator": "value"},
}
#: the sides whose number is a sum (the records carry ``counted``), the others count records
SUMMED = {("cost_per_lead", "numerator"), ("cost_per_mql", "numerator"),
          ("cost_per_customer", "numerator"), ("visit_to_lead_rate", "denominator"),
          ("landing_page_sessions", "numerator")}


def _measured(ws: Workspace, q: MetricQuery, row: dict[str, Any], side: str) -> tuple[int, Any]:
    """(number of records, Σ counted or None) of one side of a cell, in one query."""
    first, last = cell_of(row["period"], q)
    engine = ws.engine()
    t, _notes = record_table(engine, q, first, last, side)
    aggs: dict[str, Any] = {"n": t.count()}
    if COUNTED in t.columns:
        aggs["counted"] = t[COUNTED].sum()
    got = engine.execute(t.aggregate(**aggs))[0]
    return int(got["n"]), (float(got["counted"] or 0) if COUNTED in t.columns else None)


def _check_cells(ws: Workspace, key: str, rng: dict[str, Any] | None = None,
                 **options: Any) -> dict[str, int]:
    """Assert every side of every cell; return, per side, how many cells are non-zero."""
    nonzero = dict.fromkeys(EXPECTED[key], 0)
    for row, q in _cells(ws, key, rng, **options):
        for side, field in EXPECTED[key].items():
            want = row[field] or 0
            n, counted = _measured(ws, q, row, side)
            if (key, side) in SUMMED:
                assert counted == pytest.approx(want, rel=1e-9, abs=1e-6), (key, side, row)
            else:
                assert counted is None and n == want, (key, side, row, n)
            nonzero[side] += bool(want)
    return nonzero


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_quarter_cell_lists_what_it_counts(demo_ws: Workspace, key: str) -> None:
    nonzero = _check_cells(demo_ws, key, grain="quarter")
    assert all(n >= 3 for n in nonzero.values()), nonzero


LAST_QUARTER = {"start": "2026-04-01", "end": "2026-06-30", "as_of": AS_OF}


@pytest.mark.parametrize(("key", "rng", "options"), [
    ("engaged_accounts", LAST_QUARTER, {"grain": "quarter", "by": ["segment"]}),
    ("target_account_reach", LAST_QUARTER, {"grain": "quarter", "by": ["segment"]}),
    ("time_to_first_answer", RANGE, {"grain": "quarter", "by": ["platform"]}),
    ("landing_page_sessions", RANGE, {"grain": "year", "by": ["landing_page"]}),
    # an answer nobody gave in a period has no row of its own: 0 ÷ 0, no records either
    ("self_reported_source_mix", LAST_QUARTER,
     {"grain": "quarter", "by": ["self_reported_source"]}),
    ("cost_per_mql", LAST_QUARTER, {"grain": "quarter", "by": ["channel"], "basis": "cohort"}),
    ("sla_met_rate", LAST_QUARTER, {"grain": "quarter", "by": ["channel"]}),
    ("visit_to_lead_rate", LAST_QUARTER, {"grain": "quarter", "by": ["channel"]}),
])
def test_cells_broken_down_list_their_own_records(demo_ws: Workspace, key: str,
                                                   rng: dict[str, Any],
                                                   options: dict[str, Any]) -> None:
    nonzero = _check_cells(demo_ws, key, rng, **options)
    assert all(n >= 2 for n in nonzero.values()), nonzero


def test_the_family_is_drillable_with_its_sides(demo_ws: Workspace) -> None:
    settings = demo_ws.settings
    kinds = {"mk_accounts", "mk_cost_per", "mk_demo_opportunity", "mk_mix", "mk_follow_up",
             "answer_hours", "visit_to_lead", "landing_pages"}
    family = [m for m in all_metrics(settings) if m.kind in kinds]
    assert len(family) == 10 + len(settings.stages)  # a cost per stage for every stage
    assert all(drillable(m) for m in family)
    assert list(sides_of(resolve("engaged_accounts", settings))) == ["numerator"]
    assert list(sides_of(resolve("target_account_reach", settings))) == list(RATIO)
    assert list(sides_of(resolve("mql_follow_up_hours", settings))) == ["numerator"]
    assert list(sides_of(resolve("sla_met_rate", settings))) == list(RATIO)


# -- a hand-counted workspace ------------------------------------------------------------------

HAND_AS_OF = "2025-06-30"
JAN = {"start": "2025-01-01", "end": "2025-01-31", "as_of": HAND_AS_OF}
DATA = {
    "accounts": """\
        account_id,name,domain,is_target_account,created_at,segment
        a1,Acme,acme.com,true,2024-01-01,Enterprise
        a2,Beta,beta.io,true,2024-01-01,SMB
        a3,Gamma,gamma.org,false,2024-01-01,SMB
        a4,Delta,delta.net,true,2025-02-15,Enterprise
        """,
    "contacts": """\
        contact_id,created_at,account_id,channel,self_reported_source,lead_at,mql_at
        f1,2025-01-02,a1,paid_search,Podcast,2025-01-02,2025-01-10T09:00:00
        f2,2025-01-03,a2,organic_search,Podcast,2025-01-03,2025-01-12T08:00:00
        f3,2025-01-04,a3,organic_search,LinkedIn,2025-01-04,2025-01-20T00:00:00
        f5,2025-01-05,,organic_search,,2025-01-05,
        k3,2024-12-01,a3,webinar,,,
        """,
    "ad_account_engagement": """\
        date,platform,account_id,company_domain,impressions,clicks,engagements
        2025-01-03,linkedin,a1,,100,2,0
        2025-01-04,linkedin,,WWW.Beta.io,50,0,0
        2025-01-25,linkedin,a4,,3,0,0
        """,
    "touchpoints": """\
        occurred_at,contact_id,account_id,kind
        2025-01-10T12:00:00,k3,,ad_click
        2025-01-11T12:00:00,f1,a1,ad_click
        2025-01-14T08:00:00,f2,,sales_touch
        """,
    "costs": """\
        month,category,amount,team,channel,campaign_id
        2025-01-01,ad_spend,999,marketing,paid_search,
        2025-01-01,events,1000,marketing,events,
        2025-01-01,tools,200,,,
        2025-01-01,salaries,5000,sales,,
        """,
    "ad_performance": """\
        date,platform,campaign_id,impressions,clicks,spend,currency
        2025-01-05,google_ads,g1,1000,10,50,USD
        2025-02-05,google_ads,g1,1000,10,70,USD
        """,
    "meetings": """\
        meeting_id,booked_at,kind,contact_id
        x1,2025-01-10T15:00:00,demo,f1
        x2,2025-01-11T08:00:00,meeting,f2
        x4,2025-01-20T10:00:00,demo,f2
        x5,2025-05-15T10:00:00,demo,f5
        """,
    "opportunities": """\
        opportunity_id,account_id,contact_id,created_at,amount,currency,stage
        o1,a1,f1,2025-02-01,1000,USD,open
        """,
    "web_traffic": """\
        date,sessions,source,medium,landing_page,conversions
        2025-01-02,10,google,organic,/pricing,1
        2025-01-03,5,(direct),(none),/,0
        2025-02-01,7,google,organic,/pricing,0
        """,
    "community_questions": """\
        question_id,asked_at,first_answered_at,platform
        q1,2025-01-05T00:00:00,2025-01-05T06:00:00,forum
        q2,2025-01-06T00:00:00,2025-01-05T00:00:00,forum
        q3,2025-01-07T00:00:00,,forum
        q4,2025-01-08T00:00:00,2025-07-15T00:00:00,slack
        """,
}


@pytest.fixture
def hand_ws(ws: Workspace, tmp_path: Path) -> Workspace:
    for table, content in DATA.items():
        path = tmp_path / f"{table}.csv"
        path.write_text(dedent(content).strip() + "\n", encoding="utf-8")
        result = ws.import_file(table, path)
        assert result.ok and not result.rows_quarantined, (table, result.message)
    return ws


def _records(ws: Workspace, key: str, side: str = "numerator", sort: str | None = None,
             descending: bool = False, **options: Any) -> Any:
    query = make_query(key, timezone="UTC", **JAN, **options)
    return fetch(ws.engine(), query, dt.date(2025, 1, 1), dt.date(2025, 1, 31), side=side,
                 sort=sort, descending=descending, limit=50)


def _ids(ws: Workspace, key: str, side: str = "numerator", **options: Any) -> list[Any]:
    got = _records(ws, key, side, **options)
    return sorted(r[got.columns[0]] for r in got.rows)


def test_hand_counted_accounts_costs_and_demos(hand_ws: Workspace) -> None:
    """January 2025.

    Accounts: a1 clicked (ad row and touchpoint), a2 only saw an ad (matched by its domain),
    a3 clicked through contact k3's touchpoint, a4 saw an ad before it was created. Engaged:
    a1, a3. Target reach: a1, a2 of the targets a1, a2 (a4 is created in February).
    Cost per MQL: costs events 1000 + tools 200 (no team: marketing) + ad spend 50; the
    ad_spend costs row (paid_search, which google_ads covers) and the sales salaries are left
    out → 1250 over 3 rows; MQLs f1, f2, f3.
    Demos: x1 (f1, opportunity o1 22 days later) converted, x4 (f2) not; x2 is no demo and
    x5 is too young at the as-of date.
    """
    ws = hand_ws
    engaged = _records(ws, "engaged_accounts")
    assert sorted(r["account_id"] for r in engaged.rows) == ["a1", "a3"]
    a1 = next(r for r in engaged.rows if r["account_id"] == "a1")
    assert (a1["name"], a1["hits"], a1["segment"]) == ("Acme", 2, "Enterprise")
    assert _ids(ws, "target_account_reach") == ["a1", "a2"]
    assert _ids(ws, "target_account_reach", "denominator") == ["a1", "a2"]
    assert _ids(ws, "target_account_engagement") == ["a1"]
    assert _ids(ws, "target_account_reach", by=["segment"],
                filters={"segment": ["SMB"]}) == ["a2"]

    cost = _records(ws, "cost_per_mql")
    assert (cost.total, cost.counted) == (3, pytest.approx(1250.0))
    assert sorted((r["source"], r["category"], r[COUNTED]) for r in cost.rows) == [
        ("ad_performance", "ad_spend", 50.0), ("costs", "events", 1000.0),
        ("costs", "tools", 200.0)]
    assert _ids(ws, "cost_per_mql", "denominator") == ["f1", "f2", "f3"]
    assert _ids(ws, "cost_per_lead", "denominator") == ["f1", "f2", "f3", "f5"]
    assert ws.metric("cost_per_mql", **JAN).rows[0]["numerator"] == cost.counted

    assert _ids(ws, "demo_to_opportunity_rate") == ["x1"]
    assert _ids(ws, "demo_to_opportunity_rate", "denominator") == ["x1", "x4"]


def test_hand_counted_mix_follow_up_web_and_answers(hand_ws: Workspace) -> None:
    """January 2025.

    Self-reported source: f1, f2 Podcast, f3 LinkedIn, f5 no answer → answered f1, f2, f3 of
    the four created; by answer, Podcast f1, f2 of the three answers.
    Follow-up: f1 MQL 09:00, demo booked 15:00 → 6 h (within the 24 h SLA); f2 MQL 01-12
    08:00, sales touch 01-14 08:00 → 48 h (the meeting x2 on 01-11 came before the MQL);
    f3 never followed up, deadline passed → judged, missed.
    Web: January rows 10 (/pricing) and 5 (/) sessions; leads f1, f2, f3, f5 → 4 ÷ 15.
    Questions: q1 answered after 6 h; q2's answer is dated before it, q3 is unanswered and
    q4 answered after the as-of date → only q1.
    """
    ws = hand_ws
    assert _ids(ws, "self_reported_source_mix") == ["f1", "f2", "f3"]
    assert _ids(ws, "self_reported_source_mix", "denominator") == ["f1", "f2", "f3", "f5"]
    podcast: dict[str, Any] = {"by": ["self_reported_source"],
                               "filters": {"self_reported_source": ["Podcast"]}}
    assert _ids(ws, "self_reported_source_mix", **podcast) == ["f1", "f2"]
    assert _ids(ws, "self_reported_source_mix", "denominator", **podcast) == ["f1", "f2", "f3"]

    hours = _records(ws, "mql_follow_up_hours")
    assert sorted((r["contact_id"], r["hours"]) for r in hours.rows) == [("f1", 6.0),
                                                                        ("f2", 48.0)]
    assert _ids(ws, "sla_met_rate") == ["f1"]
    assert _ids(ws, "sla_met_rate", "denominator") == ["f1", "f2", "f3"]

    sessions = _records(ws, "visit_to_lead_rate", "denominator", sort=COUNTED,
                        descending=True)
    assert (sessions.total, sessions.counted) == (2, 15.0)
    assert [(r["landing_page"], r[COUNTED]) for r in sessions.rows] == [("/pricing", 10),
                                                                       ("/", 5)]
    assert _ids(ws, "visit_to_lead_rate") == ["f1", "f2", "f3", "f5"]
    pricing = _records(ws, "landing_page_sessions", by=["landing_page"],
                       filters={"landing_page": ["/pricing"]})
    assert (pricing.total, pricing.counted) == (1, 10.0)

    answers = _records(ws, "time_to_first_answer")
    assert [(r["question_id"], r["hours"]) for r in answers.rows] == [("q1", 6.0)]
