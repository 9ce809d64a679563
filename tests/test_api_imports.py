"""``/api/v1/imports``: an upload answered 202 with a job, the job, the ledger and one
import's issues and quarantined rows (T09, T12)."""

from __future__ import annotations

import dataclasses
from typing import Any

from funnelboard.workspace import TMP_DIR
from web_support import Web

CONTACTS = (b"contact_id,created_at,email,lead_score\n"
            b"api-c1,2026-04-01,one@example.org,1\n"
            b"api-c2,2026-04-02,two@example.org,oops\n"
            b"api-c3,2026-04-03,three@example.org,3\n")


def post_file(client: Any, content: bytes = CONTACTS, name: str = "api.csv",
              **fields: str) -> Any:
    return client.post("/api/v1/imports", data={"table": "contacts", **fields},
                       files={"file": (name, content, "text/csv")})


def test_an_import_with_a_write_token_is_queued_then_done(web: Web) -> None:
    client = web.bearer("analyst")
    queued = post_file(client)
    assert queued.status_code == 202
    job = queued.json()
    assert job["kind"] == "import" and job["status"] in ("queued", "running", "done")
    web.state.jobs.wait_idle()

    done = client.get(f"/api/v1/imports/jobs/{job['id']}").json()
    assert done["status"] == "done" and done["error"] is None
    result = done["result"]
    assert (result["status"], result["file"], result["table"]) == ("imported", "api.csv",
                                                                   "contacts")
    assert (result["rows_read"], result["rows_inserted"], result["rows_quarantined"]) == (3, 2, 1)
    assert web.state.reader.query("SELECT contact_id FROM contacts WHERE contact_id LIKE "
                                  "'api-%' ORDER BY 1") == [("api-c1",), ("api-c3",)]

    ledger = client.get("/api/v1/imports", params={"table": "contacts"}).json()
    assert ledger[-1]["import_id"] == result["import_id"]
    assert ledger[-1]["file_name"] == "api.csv" and ledger[-1]["status"] == "imported"
    assert {e["table_name"] for e in ledger} == {"contacts"}

    issues = client.get(f"/api/v1/imports/{result['import_id']}/issues").json()
    assert issues["quarantine_total"] == 1
    assert [(q["source_row"], q["column_name"], q["raw_value"], q["rule"])
            for q in issues["quarantine"]] == [(3, "lead_score", "oops", "invalid_number")]
    assert issues["quarantine"][0]["raw_row"]["email"] == "two@example.org"
    assert [(i["code"], i["row"]) for i in issues["issues"]] == [("invalid_number", 3)]
    assert not list((web.state.workspace.path / TMP_DIR).glob("upload-*"))


def test_a_read_token_cannot_import(web_module: Web) -> None:
    jobs = len(web_module.state.jobs.jobs())
    response = post_file(web_module.bearer("viewer"))
    assert response.status_code == 403
    assert response.json()["detail"].startswith("This needs the analyst role")
    # an analyst's read-only token is refused too (the scope limits the role)
    assert post_file(web_module.bearer("analyst", scope="read")).status_code == 403
    assert post_file(web_module.anonymous()).status_code == 401
    assert len(web_module.state.jobs.jobs()) == jobs


def test_a_dry_run_answers_a_preview_and_writes_nothing(web: Web) -> None:
    client = web.bearer("analyst")
    entries = web.state.reader.query("SELECT count(*) FROM _imports")[0][0]
    job = post_file(client, dry_run="true").json()
    web.state.jobs.wait_idle()
    result = client.get(f"/api/v1/imports/jobs/{job['id']}").json()["result"]
    assert result["status"] == "dry_run" and result["import_id"] is None
    assert [r["contact_id"] for r in result["preview"]] == ["api-c1", "api-c3"]
    assert web.state.reader.query("SELECT count(*) FROM _imports")[0][0] == entries
    assert web.state.reader.query("SELECT count(*) FROM contacts WHERE contact_id LIKE "
                                  "'api-%'") == [(0,)]


def test_bad_uploads_are_refused_with_a_sentence(web_module: Web) -> None:
    client = web_module.bearer("analyst")
    bad_type = post_file(client, name="contacts.docx")
    assert bad_type.status_code == 422 and ".docx" in bad_type.json()["detail"]
    no_table = post_file(client, table="leads_and_more")
    assert no_table.status_code == 422 and "leads_and_more" in no_table.json()["detail"]
    no_preset = post_file(client, mapping="hubspot-everything")
    assert no_preset.status_code == 422
    assert "salesforce-lead" in no_preset.json()["detail"]  # it lists the presets
    empty = post_file(client, content=b"")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_jobs_and_imports_that_do_not_exist_are_404(web_module: Web) -> None:
    client = web_module.bearer("viewer")
    assert client.get("/api/v1/imports/jobs/987654").status_code == 404
    assert client.get("/api/v1/imports/987654/issues").status_code == 404
    assert client.get("/api/v1/imports/0/issues").status_code == 422
    # a job that is not an import is not found here either
    other = web_module.state.jobs.submit("snapshot", "not an import", lambda: None,
                                         owner=web_module.users["viewer"])
    web_module.state.jobs.wait_idle()
    assert client.get(f"/api/v1/imports/jobs/{other.id}").status_code == 404


def test_issue_pages_are_limited_by_the_server_setting(web: Web) -> None:
    analyst = web.bearer("analyst")
    bad_rows = b"contact_id,created_at\np0,2026-02-01\n" + b"".join(
        f"p{i},2026-02-{i:02d}x\n".encode() for i in range(1, 6))
    post_file(analyst, content=bad_rows, name="five-bad.csv")
    web.state.jobs.wait_idle()
    entry = analyst.get("/api/v1/imports").json()[-1]
    assert (entry["file_name"], entry["rows_quarantined"]) == ("five-bad.csv", 5)
    url = f"/api/v1/imports/{entry['import_id']}/issues"
    pages = [analyst.get(url, params={"limit": 2, "offset": o}).json() for o in (0, 2, 4)]
    assert [[q["source_row"] for q in p["quarantine"]] for p in pages] == [[3, 4], [5, 6], [7]]
    assert {p["quarantine_total"] for p in pages} == {5}
    # a page never holds more than the server's max_rows_per_response
    ws = web.state.workspace
    ws.settings = dataclasses.replace(
        ws.settings, server=dataclasses.replace(ws.settings.server, max_rows_per_response=3))
    capped = analyst.get(url, params={"limit": 1000}).json()
    assert capped["limit"] == 3 and len(capped["quarantine"]) == 3


def test_the_presets_are_listed_with_their_tables(web_module: Web) -> None:
    presets = web_module.bearer("viewer").get("/api/v1/imports/presets").json()
    by_key = {p["key"]: p["table"] for p in presets}
    assert by_key["salesforce-lead"] == "contacts"
    assert by_key["salesforce-opportunity"] == "opportunities"
