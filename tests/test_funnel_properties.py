"""Property tests of the funnel metrics (metrics.md §1) on small generated datasets.

* Results do not depend on the row order of the imported files, nor on importing the contacts
  in two files instead of one (data-contract.md: the stored rows are the data; only the first
  entry per stage counts, whatever the order it arrives in).
* For counts, the rows of a breakdown add up to the total of their period.
* Under the cumulative rule a contact that reached stage k reached every earlier stage, so
  reached counts never grow along the funnel and every conversion is at most 1.

Each example gets fresh workspaces (copies of the session's template) that are closed and
removed at its end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelboard.workspace import Workspace

STAGES = ("lead", "mql", "sql", "opportunity", "customer")
AS_OF = "2025-06-30"
START = dt.datetime(2025, 1, 1)
CHANNELS = ("webinar", "paid_search", "organic_search")
ACCOUNTS = "account_id,segment\na1,Enterprise\na2,SMB\na3,SMB\n"
_counter = itertools.count(1)

PROPERTY = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: three workspaces per example: fewer examples keep the suite fast (each example builds
#: whole workspaces; the invariants are also covered by the hand-counted golden tests)
INVARIANCE = settings(PROPERTY, max_examples=6)


# -- data --------------------------------------------------------------------------------------

def _ts(days: int, hours: int) -> str:
    return (START + dt.timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def contacts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1–8 contacts created in Jan–Mar 2025, each with a stored channel, an account or none,
    and any subset of the stages entered 0–100 days after creation (some after the as-of
    date), plus 0–2 repeated entries of its stages dated later than the first."""
    out = []
    for i in range(draw(st.integers(1, 8))):
        created = draw(st.integers(0, 89))
        stages: dict[str, str] = {}
        repeats: list[tuple[str, str]] = []
        for stage in STAGES:
            lag = draw(st.none() | st.integers(0, 100))
            if lag is not None:
                stages[stage] = _ts(created + lag, draw(st.integers(0, 23)))
                if draw(st.booleans()) and draw(st.booleans()):
                    repeats.append((stage, _ts(created + lag + draw(st.integers(1, 40)), 0)))
        out.append({
            "contact_id": f"c{i}",
            "created_at": _ts(created, draw(st.integers(0, 23))),
            "channel": draw(st.sampled_from(CHANNELS)),
            "account_id": draw(st.sampled_from(("", "a1", "a2", "a3"))),
            "stages": stages, "repeats": repeats,
        })
    return out


def contacts_file(rows: list[dict[str, Any]]) -> str:
    header = "contact_id,created_at,channel,account_id," + ",".join(f"{s}_at" for s in STAGES)
    lines = [header] + [
        ",".join([r["contact_id"], r["created_at"], r["channel"], r["account_id"],
                  *(r["stages"].get(s, "") for s in STAGES)]) for r in rows]
    return "\n".join(lines) + "\n"


def events_file(rows: list[dict[str, Any]]) -> str:
    """stage_events: the repeated (later) entries; the stage history is the union of these and
    the contacts' ``<stage>_at`` columns."""
    lines = ["contact_id,stage,entered_at"]
    for r in rows:
        lines += [f"{r['contact_id']},{stage},{at}" for stage, at in r["repeats"]]
    return "\n".join(lines) + "\n"


# -- workspaces ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("funnel_props")


@pytest.fixture(scope="module")
def template(_template_ws: Path, scratch: Path) -> Path:
    """The session's empty workspace plus the three accounts (imported once, copied often)."""
    folder = scratch / "template"
    shutil.copytree(_template_ws, folder)
    path = scratch / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    ws = Workspace.open(folder)
    try:
        assert ws.import_file("accounts", path).rows_inserted == 3
    finally:
        ws.close()
    return folder


@contextlib.contextmanager
def workspace(template: Path, scratch: Path, files: list[tuple[str, str]]) -> Iterator[Workspace]:
    """A fresh workspace with ``files`` (table, CSV text) imported in order."""
    folder = scratch / f"ws{next(_counter)}"
    shutil.copytree(template, folder)
    ws = Workspace.open(folder)
    try:
        for n, (table, text) in enumerate(files):
            if text.count("\n") < 2:  # header only: nothing to import (an empty file is refused)
                continue
            path = folder.parent / f"{folder.name}_{n}_{table}.csv"
            path.write_text(text, encoding="utf-8")
            result = ws.import_file(table, path)
            assert result.ok and result.rows_quarantined == 0, (table, result.message)
        yield ws
    finally:
        ws.close()
        shutil.rmtree(folder, ignore_errors=True)


def snapshot(ws: Workspace) -> dict[str, Any]:
    """What must not change: every stage count by reached date (cumulative: first and inferred
    entries) and by cohort (strict), a time between stages (first entries only) and an
    account-level count with its notes."""
    accounts = ws.metric("customers", as_of=AS_OF, level="account")
    return {
        "funnel_period": ws.funnel(as_of=AS_OF, basis="period").rows,
        "funnel_strict": ws.funnel(as_of=AS_OF, rule="strict").rows,
        "days": ws.metric("lead_to_sql_days", as_of=AS_OF).rows,
        "accounts": (accounts.rows, accounts.notes),
    }


# -- properties --------------------------------------------------------------------------------

@INVARIANCE
@given(rows=contacts(), data=st.data())
def test_results_do_not_depend_on_row_order_or_on_splitting_the_import(
        template: Path, scratch: Path, rows: list[dict[str, Any]], data: st.DataObject,
) -> None:
    """Same contacts and events imported (a) in one file in order, (b) with the rows of both
    files shuffled, (c) as two contacts files (split at a drawn index): identical results."""
    shuffled = data.draw(st.permutations(rows), label="shuffled")
    split = data.draw(st.integers(min(1, len(rows) - 1), max(len(rows) - 1, 0)), label="split")
    events = events_file(rows)
    shuffled_events = events.splitlines()[:1] + data.draw(
        st.permutations(events.splitlines()[1:]), label="events order")
    with workspace(template, scratch, [("contacts", contacts_file(rows)),
                                       ("stage_events", events)]) as ws:
        expected = snapshot(ws)
    with workspace(template, scratch, [("contacts", contacts_file(shuffled)),
                                       ("stage_events", "\n".join(shuffled_events) + "\n")]) as ws:
        assert snapshot(ws) == expected, "row order changed a result"
    files = [("contacts", contacts_file(rows[:split])),
             ("contacts", contacts_file(rows[split:]))]
    with workspace(template, scratch, [*files, ("stage_events", events)]) as ws:
        assert snapshot(ws) == expected, "splitting the contacts import changed a result"


@PROPERTY
@given(rows=contacts())
def test_breakdown_counts_sum_to_the_total(template: Path, scratch: Path,
                                          rows: list[dict[str, Any]]) -> None:
    """For each count and dimension, Σ rows of a period = the period's total; the same per
    (period, stage) for the funnel by channel."""
    with workspace(template, scratch, [("contacts", contacts_file(rows)),
                                       ("stage_events", events_file(rows))]) as ws:
        for key, dim, basis in [("contacts_created", "segment", "cohort"),
                                ("mqls", "motion", "period")]:
            total = {r["period"]: r["value"]
                     for r in ws.metric(key, as_of=AS_OF, basis=basis).rows}
            sums: dict[dt.date, int] = {}
            for r in ws.metric(key, as_of=AS_OF, basis=basis, by=[dim]).rows:
                sums[r["period"]] = sums.get(r["period"], 0) + r["value"]
            assert {p: v for p, v in sums.items() if v} == \
                {p: v for p, v in total.items() if v}, (key, dim, basis)
        total = {(r["period"], r["stage"]): r["value"] for r in ws.funnel(as_of=AS_OF).rows}
        sums = {}
        for r in ws.funnel(as_of=AS_OF, by=["channel"]).rows:
            sums[(r["period"], r["stage"])] = sums.get((r["period"], r["stage"]), 0) + r["value"]
        assert {k: v for k, v in sums.items() if v} == {k: v for k, v in total.items() if v}


@PROPERTY
@given(rows=contacts())
def test_cumulative_conversions_never_exceed_one(template: Path, scratch: Path,
                                                 rows: list[dict[str, Any]]) -> None:
    """Cumulative rule: reached(k+1) ⊆ reached(k) ⊆ created, per cohort and per account.
    So funnel numerators never exceed their denominators, of_first ≤ 1, counts do not grow
    along the stages, and any a→b rate (plain or within N days) is between 0 and 1."""
    with workspace(template, scratch, [("contacts", contacts_file(rows)),
                                       ("stage_events", events_file(rows))]) as ws:
        for level in ("contact", "account"):
            funnel = ws.funnel(as_of=AS_OF, level=level).rows
            for r in funnel:
                assert 0 <= r["numerator"] <= r["denominator"], (level, r)
                if r["extra"].get("of_first") is not None:
                    assert 0 <= r["extra"]["of_first"] <= 1, (level, r)
            by_period: dict[dt.date, list[int]] = {}
            for r in funnel:
                by_period.setdefault(r["period"], []).append(r["value"])
            for counts in by_period.values():
                assert counts == sorted(counts, reverse=True), (level, counts)
        for key in ("mql_to_customer_rate", "lead_to_opportunity_rate",
                    "lead_to_customer_rate_90d"):
            for r in ws.metric(key, as_of=AS_OF).rows:
                if r["value"] is not None:
                    assert 0 <= r["value"] <= 1, (key, r)
                    assert r["numerator"] <= r["denominator"], (key, r)
                elif not r["extra"].get("young"):
                    assert r["denominator"] == 0, (key, r)
