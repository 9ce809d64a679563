"""``/api/v1/targets``, ``/api/v1/snapshots`` and ``/api/v1/plan``: the same answers as the
services the CLI calls, writes run on the server's one writer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from funnelboard import services
from funnelboard.plan.inputs import PlanRequest
from funnelboard.workspace import Workspace
from web_support import Web

AS_OF = "2026-06-30"
#: a plan whose answer is known by hand: $1.2M at $10k a deal is 120 customers (10 a month);
#: with every rate 50 % that is 240 opportunities, 480 SQLs, 960 MQLs and 1,920 leads
GIVEN = {"revenue": "1.2M", "deal_size": "10000", "as_of": AS_OF,
         "rate": ["lead_to_mql=50%", "mql_to_sql=0.5", "sql_to_opportunity=0.5",
                  "opportunity_to_customer=0.5"]}


def normal(data: Any) -> Any:
    """JSON as the API writes it (dates as text, tuples as lists)."""
    return json.loads(json.dumps(data, default=str))


def approx_tree(data: Any) -> Any:
    """``data`` with every float wrapped in ``pytest.approx``: DuckDB adds floats in parallel,
    so two computations of one ratio may differ in the last bit."""
    if isinstance(data, dict):
        return {k: approx_tree(v) for k, v in data.items()}
    if isinstance(data, list):
        return [approx_tree(v) for v in data]
    if isinstance(data, float):
        return pytest.approx(data, rel=1e-12)
    return data


# -- targets -------------------------------------------------------------------------------------


def test_a_target_put_is_listed_and_drawn_on_the_metric(web: Web) -> None:
    client = web.bearer("analyst")
    before = client.get("/api/v1/targets", params={"metric": "leads"}).json()["targets"]
    old = next((t["target"] for t in before if t["period"] == "2026-Q3" and not t["dimension"]),
               None)

    put = client.put("/api/v1/targets", json={"metric": "leads", "period": "2026-Q3",
                                              "value": 150})
    assert put.status_code == 200, put.text
    written = put.json()
    assert (written["metric"], written["period"], written["grain"], written["target"]) == (
        "leads", "2026-Q3", "quarter", 150.0)
    assert written["action"] == ("inserted" if old is None else "replaced")
    assert written["previous_target"] == old

    listed = client.get("/api/v1/targets", params={"metric": "leads"}).json()["targets"]
    row = [t for t in listed if t["period"] == "2026-Q3" and not t["dimension"]]
    assert len(row) == 1 and row[0]["target"] == 150.0
    assert row[0]["import_id"] == written["import_id"]

    metric = client.get("/api/v1/metrics/leads", params={
        "start": "2026-07-01", "end": "2026-09-30", "grain": "quarter", "as_of": "2026-09-30",
        "with_target": "true"}).json()
    assert [r["target"] for r in metric["rows"]] == [150.0]

    per_channel = client.put("/api/v1/targets", json={
        "metric": "leads", "period": "2026-07", "value": "12", "dimension": "channel=webinar",
        "kind": "quota"}).json()
    assert (per_channel["dimension"], per_channel["dimension_value"], per_channel["kind"],
            per_channel["action"]) == ("channel", "webinar", "quota", "inserted")
    audit = web.state.auth.audit_rows(action="target_set")
    assert len(audit) == 2 and audit[0].actor == "analyst@example.com"


def test_bad_targets_are_422_and_readers_cannot_write(web_module: Web) -> None:
    client = web_module.bearer("analyst")
    jobs = len(web_module.state.jobs.jobs())
    cases = [({"metric": "leeds", "period": "2026-Q3", "value": 1}, "leads"),
             ({"metric": "leads", "period": "Q3 next year", "value": 1}, "Q3 next year"),
             ({"metric": "leads", "period": "2026-Q3", "value": "lots"}, "not a number"),
             ({"metric": "leads", "period": "2026-Q3", "value": -4}, "negative"),
             ({"metric": "leads", "period": "2026-Q3", "value": 1, "kind": "wish"}, "wish"),
             ({"metric": "leads", "period": "2026-Q3", "value": 1, "dimension": "planet=x"},
              "planet")]
    for body, words in cases:
        response = client.put("/api/v1/targets", json=body)
        assert response.status_code == 422, body
        assert words in response.json()["detail"], (body, response.json())
    assert len(web_module.state.jobs.jobs()) == jobs  # nothing was queued
    refused = web_module.bearer("viewer").put("/api/v1/targets", json={
        "metric": "leads", "period": "2026-Q3", "value": 1})
    assert refused.status_code == 403
    # listing the targets of a metric that does not exist finds none, and says why
    unknown = web_module.bearer("viewer").get("/api/v1/targets", params={"metric": "leeds"})
    assert unknown.status_code == 200 and unknown.json()["targets"] == []
    assert "leeds" in unknown.json()["notes"][0]


# -- snapshots -----------------------------------------------------------------------------------


def _take(web: Web, client: Any, label: str, as_of: str) -> dict[str, Any]:
    queued = client.post("/api/v1/snapshots", json={"label": label, "as_of": as_of})
    assert queued.status_code == 202, queued.text
    web.state.jobs.wait_idle()
    job = client.get(f"/api/v1/snapshots/jobs/{queued.json()['id']}").json()
    assert job["status"] == "done", job
    result: dict[str, Any] = job["result"]
    return result


def _funnel_cells(snapshot: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(r["period"], r["stage"]): int(r["value"] or 0)
            for r in snapshot["payload"]["funnel"]["total"]["rows"]}


def test_snapshots_are_taken_listed_shown_and_diffed(web: Web) -> None:
    client = web.bearer("analyst")
    june = _take(web, client, "end of June", AS_OF)
    march = _take(web, client, "end of March", "2026-03-31")
    assert (june["label"], june["as_of"], march["as_of"]) == ("end of June", AS_OF,
                                                              "2026-03-31")

    listed = client.get("/api/v1/snapshots").json()
    assert [(s["snapshot_id"], s["label"]) for s in listed] == [
        (june["snapshot_id"], "end of June"), (march["snapshot_id"], "end of March")]
    shown = client.get(f"/api/v1/snapshots/{june['snapshot_id']}").json()
    assert shown["rows"] == june["rows"] > 0
    assert shown["payload"]["funnel"]["total"]["query"]["as_of"] == AS_OF

    # nothing changed between the June snapshot and "now" as of the same day
    same = client.get(f"/api/v1/snapshots/{june['snapshot_id']}/diff",
                      params={"against": "now", "as_of": AS_OF}).json()
    assert same["cells"] == [] and same["summary"].startswith("No cohort cell changed")

    # from March to June cohorts moved down the funnel: every cell is the two payloads' values
    moved = client.get(f"/api/v1/snapshots/{march['snapshot_id']}/diff",
                       params={"against": str(june["snapshot_id"])}).json()
    old = _funnel_cells(client.get(f"/api/v1/snapshots/{march['snapshot_id']}").json())
    new = _funnel_cells(shown)
    assert moved["cells"]
    for cell in moved["cells"]:
        key = (cell["period"], cell["stage"])
        assert (cell["old"], cell["new"]) == (old.get(key, 0), new.get(key, 0))
        assert cell["delta"] == cell["new"] - cell["old"] != 0
    assert moved["from"].startswith(f"snapshot {march['snapshot_id']}")


def test_unknown_snapshots_are_404_and_readers_cannot_take_one(web_module: Web) -> None:
    client = web_module.bearer("viewer")
    assert client.get("/api/v1/snapshots/987654").status_code == 404
    assert client.get("/api/v1/snapshots/987654/diff").status_code == 404
    assert client.get("/api/v1/snapshots/jobs/987654").status_code == 404
    assert client.post("/api/v1/snapshots", json={"label": "x"}).status_code == 403
    taken = web_module.state.jobs.run("snapshot", "for the 404 test", lambda: services.
                                      take_snapshot(web_module.state.workspace, "t",
                                                    dt.date(2026, 6, 30)).header())
    first = taken.result["snapshot_id"]
    missing = client.get(f"/api/v1/snapshots/{first}/diff", params={"against": "987654"})
    assert missing.status_code == 404
    wrong = client.get(f"/api/v1/snapshots/{first}/diff", params={"against": "last week"})
    assert wrong.status_code == 422 and "against" in wrong.json()["detail"]


# -- the plan ------------------------------------------------------------------------------------


def test_a_plan_with_given_inputs_has_the_known_numbers(web_module: Web) -> None:
    plan = web_module.bearer("viewer").get("/api/v1/plan", params=GIVEN)
    assert plan.status_code == 200, plan.text
    data = plan.json()
    annual = data["annual"]
    assert (annual["customers"], annual["opportunities"], annual["sqls"], annual["mqls"],
            annual["leads"], annual["revenue"]) == (120, 240, 480, 960, 1920, 1_200_000)
    assert annual["visits"] is None  # no visit_to_lead rate: the plan stops at leads
    assert [m["customers"] for m in data["monthly"]] == [10.0] * 12
    assert [q["label"] for q in data["quarterly"]] == ["2026-Q1", "2026-Q2", "2026-Q3",
                                                        "2026-Q4"]
    assert data["gap"]["status"] == "exact"


def test_a_plan_from_history_equals_the_cli_service(web_module: Web, demo_path: Path) -> None:
    params = {"revenue": "10M", "deal_size_from_history": "true",
              "rates_from_history": "true", "as_of": AS_OF}
    data = web_module.bearer("viewer").get("/api/v1/plan", params=params).json()
    expected = normal(services.plan(demo_path, PlanRequest(
        revenue="10M", deal_size_from_history=True, rates_from_history=True,
        as_of=dt.date(2026, 6, 30))))
    for part in ("mode", "annual", "quarterly", "monthly", "whole_deals", "gap", "notes",
                 "inputs", "segments"):
        assert data[part] == expected[part], part


def test_plan_inputs_that_cannot_work_are_422(web_module: Web) -> None:
    client = web_module.bearer("viewer")
    nothing = client.get("/api/v1/plan", params={"as_of": AS_OF})
    assert nothing.status_code == 422 and "--revenue" in nothing.json()["detail"]
    bad_rate = client.get("/api/v1/plan", params={**GIVEN, "rate": ["lead_to_mql=lots"]})
    assert bad_rate.status_code == 422
    assert client.get("/api/v1/plan", params={**GIVEN, "months": 0}).status_code == 422
    assert client.get("/api/v1/plan", params={**GIVEN, "by": "planet"}).status_code == 422


def test_the_report_card_is_the_year_asked_for(web_module: Web, demo_ws: Workspace) -> None:
    client = web_module.bearer("viewer")
    card = client.get("/api/v1/plan/report", params={"year": "2026", "as_of": AS_OF})
    assert card.status_code == 200, card.text
    data = card.json()
    assert data["period"] == {"year": 2026, "label": "2026", "start": "2026-01-01",
                              "end": "2026-12-31"}
    assert data["ytd"]["end"] == AS_OF
    assert data == approx_tree(normal(services.plan_report(demo_ws, "2026",
                                                           dt.date(2026, 6, 30))))
    earlier = client.get("/api/v1/plan/report", params={"year": "FY2025", "as_of": AS_OF})
    assert earlier.json()["period"]["year"] == 2025
    future = client.get("/api/v1/plan/report", params={"year": "2031", "as_of": AS_OF})
    assert future.status_code == 422 and "2031" in future.json()["detail"]


def test_saving_the_plan_writes_monthly_plan_targets(web: Web) -> None:
    assert web.bearer("viewer").post("/api/v1/plan/targets", json=GIVEN).status_code == 403
    client = web.bearer("analyst")
    saved = client.post("/api/v1/plan/targets", json=GIVEN)
    assert saved.status_code == 200, saved.text
    summary = saved.json()["saved_targets"]
    # leads, mqls, sqls, opportunities, customers and bookings for 12 months (no visits)
    assert summary["rows"] == 6 * 12 and summary["status"] == "imported"

    targets = client.get("/api/v1/targets", params={"metric": "customers"}).json()["targets"]
    months = {t["period_start"]: t["target"] for t in targets
              if t["kind"] == "plan" and t["grain"] == "month" and not t["dimension"]
              and t["period_start"].startswith("2026-")}
    assert len(months) == 12 and set(months.values()) == {10.0}

    card = client.get("/api/v1/plan/report", params={"year": "2026", "as_of": AS_OF}).json()
    customers = next(x for x in card["stages"] if x["metric"] == "customers")
    assert customers["plan_year"] == 120.0 and card["targets_kind"] == "plan"
    # half the year has passed: the plan to date is the six months' targets
    assert customers["plan_ytd"] == 60.0
