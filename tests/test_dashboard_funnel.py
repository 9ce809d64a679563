"""The funnel page on the demo company: the cohort matrix agrees with a count made by hand from
the raw contacts and stage events (data-contract.md, "Derived semantics"), under both rules and
both bases; the step-conversion trend agrees with the matrix; the channel table adds up; and
the snapshot cards list a snapshot and show what moved since it, as ``snapshot diff`` does."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funnelboard import services
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import funnel
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)
STAGES = ("lead", "mql", "sql", "opportunity", "customer")
PLURALS = ("leads", "mqls", "sqls", "opportunities", "customers")
STEP_RATES = ("lead_to_mql_rate", "mql_to_sql_rate", "sql_to_opportunity_rate",
              "opportunity_to_customer_rate")
LABELS = {"lead": "Leads", "mql": "MQLs", "sql": "SQLs", "opportunity": "Opportunities",
          "customer": "Customers"}
SNAPSHOT_AS_OF = dt.date(2026, 3, 31)


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return funnel.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


@pytest.fixture(scope="module")
def entries(demo_ws: Workspace) -> dict[str, tuple[dt.date, dict[str, dt.datetime]]]:
    """Per contact created by the as-of date: its creation month and the first entry of each
    stage up to the as-of date, read straight from the tables (the demo's zone is UTC)."""
    contacts = demo_ws.query("SELECT contact_id, CAST(created_at AS DATE) FROM contacts "
                             "WHERE CAST(created_at AS DATE) <= ?", [AS_OF])
    out: dict[str, tuple[dt.date, dict[str, dt.datetime]]] = {
        cid: (month_start(created), {}) for cid, created in contacts}
    for cid, stage, entered in demo_ws.query(
            "SELECT contact_id, stage, min(entered_at) FROM stage_events "
            "WHERE CAST(entered_at AS DATE) <= ? GROUP BY ALL", [AS_OF]):
        if cid in out:
            out[cid][1][stage] = entered
    return out


def by_hand(entries: dict[str, tuple[dt.date, dict[str, dt.datetime]]], rule: str,
            basis: str) -> Counter[tuple[dt.date, str]]:
    """(month, stage) → contacts that reached the stage, following data-contract.md:
    cumulative = entered the stage or a later one, dated by its own first entry else the
    earliest later one; strict = entered every stage up to it; cohort basis counts in the
    creation month, period basis in the month of the reached date."""
    counts: Counter[tuple[dt.date, str]] = Counter()
    for created_month, first in entries.values():
        for k, stage in enumerate(STAGES):
            if rule == "strict":
                if not all(s in first for s in STAGES[: k + 1]):
                    continue
                reached = first[stage]
            else:
                later = [first[s] for s in STAGES[k:] if s in first]
                if not later:
                    continue
                reached = first.get(stage) or min(later)
            month = created_month if basis == "cohort" else month_start(reached.date())
            counts[(month, stage)] += 1
    return counts


def test_every_section_is_there(page: Page) -> None:
    assert [s.id for s in page.sections] == ["view", "cohort_matrix", "stage_conversion",
                                             "channel_stages", "snapshots"]
    assert [s.kind for s in page.sections] == ["text", "chart", "chart", "table", "table"]
    matrix = section(page, "cohort_matrix")
    assert matrix.chart is not None
    assert matrix.chart["usermeta"]["funnelboard"]["chart"] == "cohort-heatmap"
    assert matrix.chart["usermeta"]["funnelboard"]["stages"] == list(STAGES)


def test_the_view_card_names_rule_and_basis(demo_ws: Workspace, page: Page) -> None:
    assert "cumulative rule" in section(page, "view").note
    assert "cohort basis" in section(page, "view").note
    strict = funnel.view_section(make_filters(rule="strict", basis="period"))
    assert "strict rule" in strict.note and "period basis" in strict.note


def test_cohort_matrix_equals_a_count_by_hand(page: Page, entries: Any) -> None:
    table = section(page, "cohort_matrix").table
    assert table is not None
    expected = by_hand(entries, "cumulative", "cohort")
    created = Counter(month for month, _ in entries.values())
    months = [r["period"] for r in table.rows]
    assert months == [dt.date(2025 + (6 + i) // 12, (6 + i) % 12 + 1, 1) for i in range(12)]
    for row in table.rows:
        assert row["contacts_created"] == created[row["period"]]
        for stage, plural in zip(STAGES, PLURALS, strict=True):
            assert row[plural] == expected[(row["period"], stage)], (row["period"], stage)
    march = next(r for r in table.rows if r["period"] == dt.date(2026, 3, 1))
    assert (march["contacts_created"], march["mqls"]) == (51, 20)


def test_conversions_are_each_count_over_the_previous_one(page: Page) -> None:
    table = section(page, "cohort_matrix").table
    assert table is not None
    for row in table.rows:
        previous = row["contacts_created"]
        for plural in PLURALS:
            expected = row[plural] / previous if previous else None
            assert row[f"{plural}_conversion"] == pytest.approx(expected)
            previous = row[plural]
    columns = {c.key: c for c in table.columns}
    assert columns["mqls_conversion"].metric == "lead_to_mql_rate"
    assert columns["leads_conversion"].metric is None  # contacts → lead is no metric


def test_count_cells_drill_to_their_cohort(page: Page) -> None:
    table = section(page, "cohort_matrix").table
    assert table is not None
    columns = {c.key: c for c in table.columns}
    for i, row in enumerate(table.rows):
        for key in ("contacts_created", *PLURALS):
            assert columns[key].metric == key
            drill = table.drill[(i, key)]
            month_end = (row["period"] + dt.timedelta(days=31)).replace(day=1) \
                - dt.timedelta(days=1)
            assert drill["cell_start"] == row["period"].isoformat()
            assert drill["cell_end"] == month_end.isoformat()
            assert drill["rule"] == "cumulative" and drill["as_of"] == AS_OF.isoformat()
        assert (i, "mqls_conversion") not in table.drill


def test_step_conversion_trend_agrees_with_the_matrix(page: Page) -> None:
    trend = section(page, "stage_conversion")
    matrix = section(page, "cohort_matrix").table
    assert trend.metrics == list(STEP_RATES)
    assert trend.table is not None and matrix is not None
    assert trend.chart is not None
    assert len(trend.chart["usermeta"]["funnelboard"]["series"]) == 4
    by_period = {r["period"]: r for r in matrix.rows}
    for i, row in enumerate(trend.table.rows):
        cohort = by_period[row["period"]]
        for rate, plural in zip(STEP_RATES, PLURALS[1:], strict=True):
            assert row[rate] == pytest.approx(cohort[f"{plural}_conversion"]), (rate, row)
            assert trend.table.drill[(i, rate)]["cell_start"] == row["period"].isoformat()


def test_channel_rows_add_up_to_the_matrix(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "channel_stages").table
    matrix = section(page, "cohort_matrix").table
    assert table is not None and matrix is not None
    assert [c.key for c in table.columns] == ["channel", *PLURALS, "lead_to_customer_rate"]
    for plural in PLURALS:
        assert sum(r.get(plural) or 0 for r in table.rows) == sum(r[plural]
                                                                   for r in matrix.rows)
    paid = next(r for r in table.rows if r["channel"] == "paid_search")
    direct = demo_ws.metric("mqls", start=START, end=AS_OF, as_of=AS_OF,
                            filters={"channel": "paid_search"})
    assert paid["mqls"] == sum(r["value"] for r in direct.rows)
    i = table.rows.index(paid)
    assert table.drill[(i, "mqls")]["filter"] == ["channel=paid_search"]


@pytest.mark.parametrize(("rule", "basis"), [("strict", "cohort"), ("cumulative", "period")])
def test_rule_and_basis_switches_follow_the_contract(demo_ws: Workspace, entries: Any,
                                                     rule: str, basis: str) -> None:
    notes: list[str] = []
    matrix = funnel.cohort_section(demo_ws, make_filters(rule=rule, basis=basis), notes)
    assert matrix is not None and matrix.table is not None
    expected = by_hand(entries, rule, basis)
    for row in matrix.table.rows:
        for stage, plural in zip(STAGES, PLURALS, strict=True):
            assert row[plural] == expected[(row["period"], stage)], (rule, basis, row)
    assert matrix.title == ("Cohort matrix" if basis == "cohort" else "Funnel by period")
    assert matrix.table.drill[(0, "mqls")]["rule"] == rule
    if basis == "period":
        assert matrix.table.drill[(0, "mqls")]["basis"] == "period"


def test_channel_filter_narrows_the_matrix(demo_ws: Workspace, page: Page) -> None:
    notes: list[str] = []
    matrix = funnel.cohort_section(demo_ws, make_filters(channel="webinar"), notes)
    whole = section(page, "cohort_matrix").table
    assert matrix is not None and matrix.table is not None and whole is not None
    mqls = demo_ws.metric("mqls", start=START, end=AS_OF, as_of=AS_OF,
                          filters={"channel": "webinar"})
    assert [r["mqls"] for r in matrix.table.rows] == [r["value"] for r in mqls.rows]
    assert sum(r["leads"] for r in matrix.table.rows) < sum(r["leads"] for r in whole.rows)
    assert matrix.table.drill[(0, "leads")]["filter"] == ["channel=webinar"]


def test_no_snapshot_yet_says_how_to_take_one(page: Page) -> None:
    listed = section(page, "snapshots")
    assert listed.table is not None and listed.table.rows == []
    assert "funnelboard snapshot take" in listed.note


# -- snapshots ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snap_ws(demo_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A copy of the demo with one snapshot taken as of 31 March 2026."""
    folder = tmp_path_factory.mktemp("snap") / "acme"
    shutil.copytree(demo_path, folder)
    ws = Workspace.open(folder)
    services.take_snapshot(ws, "March close", SNAPSHOT_AS_OF)
    yield ws
    ws.close()


def test_saved_snapshots_are_listed(snap_ws: Workspace) -> None:
    listed = funnel.snapshots_section(snap_ws)
    assert listed.table is not None
    assert [(r["snapshot_id"], r["label"], r["as_of"]) for r in listed.table.rows] == [
        (1, "March close", SNAPSHOT_AS_OF)]
    assert isinstance(listed.table.rows[0]["taken_at"], dt.datetime)


def test_the_diff_matches_snapshot_diff_now(snap_ws: Workspace) -> None:
    page = funnel.build(snap_ws, make_filters(), snapshot="1")
    diff = section(page, "snapshot_diff")
    expected = services.diff_snapshots(snap_ws, "1", "now", AS_OF)
    assert diff.table is not None and expected["cells"]
    assert diff.note == expected["summary"]
    assert [(r["period"].isoformat(), r["stage"], r["old"], r["new"], r["delta"])
            for r in diff.table.rows] == [
        (c["period"], LABELS[c["stage"]], c["old"], c["new"], c["delta"])
        for c in expected["cells"]]
    # a cohort that matured since: March 2026 had 16 MQLs on 31 March, 20 now (counted above)
    march = next(r for r in diff.table.rows
                 if r["period"] == dt.date(2026, 3, 1) and r["stage"] == "MQLs")
    assert (march["old"], march["new"]) == (16, 20)


def test_the_diff_by_channel_follows_the_channel_filter(snap_ws: Workspace) -> None:
    notes: list[str] = []
    diff = funnel.diff_section(snap_ws, make_filters(channel="paid_search", segment="smb"),
                               "1", notes)
    expected = services.diff_snapshots(snap_ws, "1", "now", AS_OF)
    wanted = [c for c in expected["channel_cells"] if c["channel"] == "paid_search"]
    assert diff.table is not None
    assert [c.key for c in diff.table.columns][:2] == ["period", "channel"]
    assert [(r["period"].isoformat(), r["channel"], r["delta"]) for r in diff.table.rows] == [
        (c["period"], c["channel"], c["delta"]) for c in wanted]
    assert any("not by segment" in n for n in notes)


@pytest.mark.parametrize(("given", "words"), [("7", "There is no snapshot 7"),
                                              ("march", "is not a snapshot id")])
def test_an_unknown_snapshot_is_a_sentence(snap_ws: Workspace, given: str, words: str) -> None:
    diff = funnel.diff_section(snap_ws, make_filters(), given, [])
    assert diff.kind == "text" and words in diff.note
