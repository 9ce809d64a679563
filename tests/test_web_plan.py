"""The Plan page: the planner as a GET form (a bookmarkable plan that writes nothing), "Save
as targets" as a queued POST, and the report card for a chosen year."""

from __future__ import annotations

import re
from typing import Any

from web_support import Web, csrf_of

AS_OF = "2026-06-30"
#: $1.2M at $10k a deal, every rate 50 %: 120 customers, 240 opportunities ... 1,920 leads
FORM = {"plan": "1", "revenue": "1.2M", "deal_size": "10000", "rate_lead_to_mql": "50%",
        "rate_mql_to_sql": "0.5", "rate_sql_to_opportunity": "0.5",
        "rate_opportunity_to_customer": "0.5", "months": "12", "as_of": AS_OF}


def annual_cells(html: str) -> dict[str, float]:
    """The plan table's year row: column key -> the exact number behind the cell."""
    row = html[html.index('<tr class="year">'):]
    row = row[:row.index("</tr>")]
    return {k: float(v) for k, v in re.findall(r'data-key="(\w+)" data-raw="([^"]+)"', row)}


def targets(web: Web, metric: str) -> list[tuple[Any, ...]]:
    return web.state.reader.query(
        "SELECT period_start, target FROM targets WHERE metric = ? AND kind = 'plan' AND "
        "grain = 'month' AND coalesce(dimension, '') = '' AND year(period_start) = 2026 "
        "ORDER BY period_start", [metric])


def test_the_plan_is_a_get_url_with_the_known_numbers(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    page = viewer.get("/plan", params=FORM)
    assert page.status_code == 200, page.text[:2000]
    assert annual_cells(page.text) == {"leads": 1920, "mqls": 960, "sqls": 480,
                                       "opportunities": 240, "customers": 120,
                                       "revenue": 1_200_000}
    assert 'id="plan-gap"' in page.text and "exactly the $1.2M goal" in page.text
    assert page.text.count('<tr class="month">') == 12
    # the form keeps what was typed, and a viewer is not offered the save button
    assert 'name="revenue" value="1.2M"' in page.text
    assert 'action="/plan/targets"' not in page.text
    # the JSON link asks the API for the same plan
    link = re.search(r'href="(/api/v1/plan\?[^"]+)"', page.text)
    assert link
    api = web_module.bearer("viewer").get(link.group(1).replace("&amp;", "&")).json()
    assert api["annual"]["customers"] == 120.0 and api["inputs"]["deal_size"] == 10000.0


def test_the_page_without_inputs_shows_the_form_and_the_report_card(web_module: Web) -> None:
    page = web_module.login("viewer").get("/plan", params={"as_of": AS_OF})
    assert page.status_code == 200
    assert 'id="plan-form"' in page.text and 'id="plan-table"' not in page.text
    # the defaults plan from history
    assert 'name="rates_from_history" value="on" checked' in page.text
    assert "Report card 2026: 2026-01-01 to" in page.text
    assert 'id="report-stages"' in page.text


def test_the_report_card_shows_the_chosen_year(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    page = viewer.get("/plan", params={**FORM, "report_year": "2025"})
    assert page.status_code == 200
    assert "Report card 2025: 2025-01-01 to 2025-12-31" in page.text
    wrong = viewer.get("/plan", params={**FORM, "report_year": "20x5"})
    assert wrong.status_code == 200  # the plan is fine; the card says what is wrong
    assert 'id="report-error"' in wrong.text and "20x5" in wrong.text


def test_inputs_that_cannot_work_are_explained(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    for change, words in (({"revenue": "lots"}, "lots"), ({"months": "0"}, "1 to 120"),
                          ({"as_of": "June"}, "YYYY-MM-DD"),
                          ({"rate_mql_to_sql": "150%"}, "mql_to_sql")):
        page = viewer.get("/plan", params={**FORM, **change})
        assert page.status_code == 422, change
        error = re.search(r'id="plan-error">([^<]+)<', page.text)
        assert error and words in error.group(1), (change, error)


def test_save_as_targets_is_a_queued_post_for_analysts(web: Web) -> None:
    viewer = web.login("viewer")
    assert viewer.post("/plan/targets", data={**FORM, "csrf_token": csrf_of(viewer)}
                       ).status_code == 403
    analyst = web.login("analyst")
    page = analyst.get("/plan", params=FORM)
    form = page.text[page.text.index('id="plan-save"'):]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert {k: hidden[k] for k in FORM} == FORM and hidden["csrf_token"]
    assert analyst.post("/plan/targets", data=FORM).status_code == 403  # no CSRF token

    saved = analyst.post("/plan/targets", data=hidden)
    assert saved.status_code == 303
    job = saved.headers["location"]
    web.state.jobs.wait_idle()
    result = analyst.get(job).text
    assert "Saved the plan as 72 monthly targets (kind plan) for 2026" in result
    assert [t for _, t in targets(web, "customers")] == [10.0] * 12
    assert [t for _, t in targets(web, "leads")] == [160.0] * 12
    assert web.state.auth.audit_rows(action="plan_save")[0].actor == "analyst@example.com"
