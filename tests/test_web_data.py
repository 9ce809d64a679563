"""The Data page: uploads queued as import jobs, the job page, one import's issues and
quarantine, and who may see and do what (T09, T18, T21)."""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from funnelboard.workspace import TMP_DIR
from web_support import Web, csrf_of

CONTACTS = (b"contact_id,created_at,email,lead_score\n"
            b"web-c1,2026-05-01,ada@example.org,10\n"
            b"web-c2,2026-05-02,grace@example.org,20\n"
            b"web-c3,2026-05-03,linus@example.org,30\n")
#: row 3 of the file (the header is row 1) has a lead score that is not a number
WITH_BAD_ROW = (b"contact_id,created_at,email,lead_score\n"
                b"web-q1,2026-05-01,ok@example.org,5\n"
                b"web-q2,2026-05-02,bad@example.org,seven\n")


def upload(client: Any, content: bytes, name: str = "contacts.csv", table: str = "contacts",
           csrf: str | None = "fetch", **fields: str) -> Any:
    data = {"table": table, **fields}
    if csrf == "fetch":
        data["csrf_token"] = csrf_of(client)
    elif csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/data/upload", data=data, files={"file": (name, content, "text/csv")})


def job_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:500]
    found = re.fullmatch(r"/data/jobs/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def web_contacts(web: Web, prefix: str) -> list[tuple[Any, ...]]:
    return web.state.reader.query("SELECT contact_id, email FROM contacts WHERE contact_id "
                                  "LIKE ? ORDER BY contact_id", [prefix + "%"])


def leftover_uploads(web: Web) -> list[str]:
    folder = web.state.workspace.path / TMP_DIR
    return sorted(p.name for p in folder.glob("upload-*")) if folder.exists() else []


def test_an_uploaded_csv_is_imported_once_and_listed_in_the_ledger(web: Web) -> None:
    analyst = web.login("analyst")
    before = web.state.reader.query("SELECT count(*) FROM contacts")[0][0]

    first = job_id(upload(analyst, CONTACTS, name="march-leads.csv"))
    web.state.jobs.wait_idle()
    page = analyst.get(f"/data/jobs/{first}")
    assert page.status_code == 200
    assert 'data-status="done"' in page.text and 'http-equiv="refresh"' not in page.text
    assert re.search(r'id="rows-inserted">3<', page.text)
    assert web_contacts(web, "web-c") == [("web-c1", "ada@example.org"),
                                          ("web-c2", "grace@example.org"),
                                          ("web-c3", "linus@example.org")]
    job = web.state.jobs.get(first)
    assert job is not None and job.owner == web.users["analyst"]
    import_id = job.result.import_id
    ledger = analyst.get("/data").text
    assert f'href="/data/imports/{import_id}">#{import_id}<' in ledger
    assert "march-leads.csv" in ledger

    # the same file again: the ledger says no changes and the table is as it was
    again = job_id(upload(analyst, CONTACTS, name="march-leads.csv"))
    web.state.jobs.wait_idle()
    result = web.state.jobs.get(again).result  # type: ignore[union-attr]
    assert (result.status, result.rows_inserted, result.rows_updated) == ("no_changes", 0, 0)
    assert web.state.reader.query("SELECT count(*) FROM contacts")[0][0] == before + 3
    assert leftover_uploads(web) == []
    actions = [(e.action, e.actor, e.outcome) for e in web.state.auth.audit_rows(action="import")]
    assert actions.count(("import", "analyst@example.com", "ok")) == 2


def test_the_quarantine_page_lists_the_bad_row_with_its_row_and_column(web: Web) -> None:
    analyst = web.login("analyst")
    upload(analyst, WITH_BAD_ROW, name="scores.csv")
    web.state.jobs.wait_idle()
    entry = web.state.reader.query("SELECT max(import_id) FROM _imports")[0][0]

    page = analyst.get(f"/data/imports/{entry}")
    assert page.status_code == 200
    quarantine = page.text[page.text.index('id="quarantine"'):]
    assert 'data-total="1"' in quarantine
    row = re.search(r"<tr><td class=\"num\" data-raw=\"(\d+)\">\d+</td><td>([^<]+)</td>"
                    r"<td>([^<]*)</td>", quarantine)
    assert row and row.groups() == ("3", "lead_score", "seven")
    assert "invalid_number" in quarantine
    # the issues from the ledger name the same place
    assert "row 3 · lead_score" in page.text

    download = analyst.get(f"/data/imports/{entry}/quarantine.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.text.splitlines()
    assert lines[0] == "import_id,table,source_row,problems,contact_id,created_at,email,lead_score"
    assert lines[1].startswith(f"{entry},contacts,3,lead_score: ")
    assert lines[1].endswith(",web-q2,2026-05-02,bad@example.org,seven")
    assert len(lines) == 2
    # the good row was imported, the bad one was not
    assert [r[0] for r in web_contacts(web, "web-q")] == ["web-q1"]


def test_an_unknown_import_or_job_is_404(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    for path in ("/data/imports/987654", "/data/imports/abc", "/data/imports/987654/"
                 "quarantine.csv", "/data/jobs/987654", "/data/jobs/x"):
        response = viewer.get(path)
        assert response.status_code == 404, path


def test_a_viewer_cannot_upload(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    jobs = len(web_module.state.jobs.jobs())
    response = upload(viewer, CONTACTS)
    assert response.status_code == 403
    assert "analyst role" in response.text
    assert len(web_module.state.jobs.jobs()) == jobs
    assert leftover_uploads(web_module) == []
    # and the page offers a viewer no upload form
    assert 'action="/data/upload"' not in viewer.get("/data").text


def test_an_upload_without_the_csrf_token_is_refused(web_module: Web) -> None:
    analyst = web_module.login("analyst")
    jobs = len(web_module.state.jobs.jobs())
    for token in (None, "forged-token"):
        response = upload(analyst, CONTACTS, csrf=token)
        assert response.status_code == 403, token
    assert len(web_module.state.jobs.jobs()) == jobs
    assert leftover_uploads(web_module) == []


def test_a_file_type_that_cannot_be_imported_is_422(web_module: Web) -> None:
    analyst = web_module.login("analyst")
    for name in ("contacts.exe", "contacts", "contacts.csv.html"):
        response = upload(analyst, CONTACTS, name=name)
        assert response.status_code == 422, name
        assert "imports .csv, .tsv, .txt, .xlsx and .parquet files" in response.text
    assert leftover_uploads(web_module) == []


def test_a_preset_for_another_table_is_422(web_module: Web) -> None:
    analyst = web_module.login("analyst")
    response = upload(analyst, CONTACTS, table="accounts", mapping="salesforce-lead")
    assert response.status_code == 422
    assert "is for the table contacts, not accounts" in response.text
    response = upload(analyst, CONTACTS, table="nonsense")
    assert response.status_code == 422


def test_an_xlsx_over_its_own_limit_is_413_and_leaves_no_file(web: Web) -> None:
    ws = web.state.workspace
    ws.settings = dataclasses.replace(
        ws.settings, server=dataclasses.replace(ws.settings.server, upload_max_xlsx_mb=1))
    analyst = web.login("analyst")
    big = b"PK" + b"\0" * (1024 * 1024 + 10)
    response = upload(analyst, big, name="pipeline.xlsx")
    assert response.status_code == 413
    assert "limit for an XLSX workbook (1 MB)" in response.text
    assert leftover_uploads(web) == []
    refused = web.state.auth.audit_rows(action="import")
    assert refused and refused[0].outcome == "refused"
    # the same size as CSV is within the general limit
    assert upload(analyst, CONTACTS + b"\n" * (1024 * 1024), name="ok.csv").status_code == 303
    web.state.jobs.wait_idle()


def test_a_job_of_another_user_is_404_for_a_viewer(web: Web) -> None:
    analyst = web.login("analyst")
    mine = job_id(upload(analyst, CONTACTS))
    web.state.jobs.wait_idle()
    viewer = web.login("viewer")
    unknown = viewer.get("/data/jobs/987654")
    theirs = viewer.get(f"/data/jobs/{mine}")
    assert theirs.status_code == unknown.status_code == 404
    assert "There is no such job." in theirs.text
    assert "contacts.csv" not in theirs.text
    assert web.bearer("viewer").get(f"/api/v1/imports/jobs/{mine}").status_code == 404
    # analysts and admins see every job; the viewer sees a job of their own
    assert web.login("admin").get(f"/data/jobs/{mine}").status_code == 200
    own = web.state.jobs.submit("snapshot", "a viewer's job", lambda: None,
                                owner=web.users["viewer"])
    web.state.jobs.wait_idle()
    assert viewer.get(f"/data/jobs/{own.id}").status_code == 200
    assert f"/data/jobs/{own.id}" in viewer.get("/data").text
    assert f"/data/jobs/{mine}" not in viewer.get("/data").text


def test_a_waiting_job_page_reloads_itself_without_inline_script(web: Web) -> None:
    release = threading.Event()
    web.state.jobs.submit("test", "hold the writer", lambda: release.wait(30))
    try:
        analyst = web.login("analyst")
        waiting = job_id(upload(analyst, CONTACTS))
        page = analyst.get(f"/data/jobs/{waiting}")
        assert '<meta http-equiv="refresh" content="2">' in page.text
        assert re.search(r'data-status="(queued|running)"', page.text)
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None
    finally:
        release.set()
    web.state.jobs.wait_idle()
    assert 'http-equiv="refresh"' not in analyst.get(f"/data/jobs/{waiting}").text


def test_a_dry_run_previews_and_writes_nothing(web: Web) -> None:
    analyst = web.login("analyst")
    entries = web.state.reader.query("SELECT count(*) FROM _imports")[0][0]
    done = job_id(upload(analyst, CONTACTS, dry_run="true"))
    web.state.jobs.wait_idle()
    page = analyst.get(f"/data/jobs/{done}").text
    assert "dry run: nothing was written" in page and 'id="import-preview"' in page
    assert "linus@example.org" in page
    assert web_contacts(web, "web-c") == []
    assert web.state.reader.query("SELECT count(*) FROM _imports")[0][0] == entries


def test_the_data_page_shows_ledger_audit_and_settings(web_module: Web) -> None:
    viewer = web_module.login("viewer")
    page = viewer.get("/data")
    assert page.status_code == 200
    ledger = web_module.state.reader.query("SELECT count(*) FROM _imports")[0][0]
    assert ledger > 0
    section = page.text[page.text.index('id="imports"'):page.text.index('id="channel-audit"')]
    assert len(re.findall(r'href="/data/imports/\d+"', section)) == ledger
    assert "<code>server.upload_max_mb</code></td><td>100</td>" in page.text
    assert "<code>reporting_currency</code></td><td>USD</td>" in page.text
    assert 'id="channel-audit"' in page.text
    # an analyst gets the form, with the table list and the shipped presets
    form = web_module.login("analyst").get("/data").text
    assert 'action="/data/upload"' in form and 'enctype="multipart/form-data"' in form
    assert '<option value="contacts"' in form and '<option value="salesforce-lead"' in form
