"""The web server against reliability-plan.md's security cases, end to end through HTTP.

Service-level cases (hashing, throttle windows, token storage) are in tests/test_auth_*.py;
these check what a browser or an API client actually gets back.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any

import pytest

from funnelboard.errors import FunnelboardError
from funnelboard.web.access import SESSION_COOKIE
from funnelboard.web.server import open_state
from web_support import LOGIN_CSRF, PASSWORD, SECRET_ENV, Web, csrf_of

AS_OF = {"as_of": "2026-06-30"}


def login_form(client: Any, next_: str = "/") -> str:
    page = client.get("/login", params={"next": next_})
    found = re.search(LOGIN_CSRF, page.text)
    assert found
    return found.group(1)


def post_login(client: Any, email: str, password: str, next_: str = "/") -> Any:
    csrf = login_form(client, next_)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf, "next": next_})


def session_cookie(response: Any) -> str:
    header = response.headers.get("set-cookie", "")
    assert SESSION_COOKIE in header, header
    return header


# -- T01 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"FUNNELBOARD_SECRET_KEY": "short"},
                                 {"FUNNELBOARD_SECRET_KEY": "changeme" * 5}])
def test_T01_no_weak_or_missing_secret_beyond_loopback(demo_path: Any, env: dict[str, str]
                                                       ) -> None:
    with pytest.raises(FunnelboardError) as err:
        open_state(demo_path, host="0.0.0.0", env=env)
    assert "FUNNELBOARD_SECRET_KEY" in err.value.message


# -- T02 -------------------------------------------------------------------------------------


def test_T02_login_throttled_per_user_then_correct_password_refused(web: Web) -> None:
    client = web.anonymous()
    statuses = [post_login(client, "viewer@example.com", "wrong password!!").status_code
                for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    locked = post_login(client, "viewer@example.com", PASSWORD)
    assert locked.status_code == 429 and "retry-after" in locked.headers
    unknown = post_login(web.anonymous(), "nobody@example.com", "wrong password!!")
    wrong = post_login(web.anonymous(), "admin@example.com", "wrong password!!")
    message = re.compile(r'class="error" role="alert">([^<]+)<')
    assert message.search(unknown.text).group(1) == message.search(wrong.text).group(1)  # type: ignore[union-attr]
    failures = [r for r in web.state.auth.audit_rows(limit=100, action="login")
                if r.outcome in ("failed", "locked")]
    assert len(failures) >= 12


def test_T02_login_throttled_per_ip_across_user_names(web: Web) -> None:
    client = web.anonymous()
    statuses = [post_login(client, f"user{i}@example.com", "wrong password!!").status_code
                for i in range(51)]
    assert statuses[:50] == [401] * 50 and statuses[50] == 429
    assert post_login(client, "admin@example.com", PASSWORD).status_code == 429


# -- T03 -------------------------------------------------------------------------------------


def _replay(web: Web, cookie: str) -> int:
    client = web.anonymous()
    client.cookies.set(SESSION_COOKIE, cookie)
    return int(client.get("/api/v1/metrics").status_code)


def test_T03_logout_ends_the_session_at_once(web: Web) -> None:
    client = web.login("viewer")
    cookie = client.cookies[SESSION_COOKIE]
    assert _replay(web, cookie) == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
    assert _replay(web, cookie) == 401


@pytest.mark.parametrize("change", ["password", "disable", "role"])
def test_T03_password_disable_and_role_change_revoke_sessions_and_limit_tokens(
        web: Web, change: str) -> None:
    client = web.login("analyst")
    cookie = client.cookies[SESSION_COOKIE]
    token = web.token("analyst", "write")
    api = web.anonymous()
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.post("/api/v1/snapshots", json={"label": "before"}).status_code in (200, 201,
                                                                                   202)
    user = web.users["analyst"]
    if change == "password":
        web.state.auth.set_password(user, "a brand new passphrase")
    elif change == "disable":
        web.state.auth.set_disabled(user, True)
    else:
        web.state.auth.set_role(user, "viewer")
    assert _replay(web, cookie) == 401
    status = api.post("/api/v1/snapshots", json={"label": "after"}).status_code
    expected = {"password": (401,), "disable": (401,), "role": (403,)}[change]
    assert status in expected


# -- T04 -------------------------------------------------------------------------------------


def test_T04_cookie_flags_and_rotation_at_login(web: Web) -> None:
    client = web.anonymous()
    first = post_login(client, "viewer@example.com", PASSWORD)
    header = session_cookie(first)
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Max-Age=43200" in header  # the absolute lifetime, 12 h
    assert "Secure" not in header  # plain http on loopback
    old = client.cookies[SESSION_COOKIE]
    second = post_login(client, "viewer@example.com", PASSWORD)
    assert second.status_code == 303
    new = client.cookies[SESSION_COOKIE]
    assert new != old
    assert _replay(web, old) == 401 and _replay(web, new) == 200


def test_T04_secure_flag_behind_https(web: Web) -> None:
    web.state.secure_cookies = True
    header = session_cookie(post_login(web.anonymous(https=True), "viewer@example.com",
                                       PASSWORD))
    assert "Secure" in header


def test_T04_idle_and_absolute_timeouts(web: Web) -> None:
    auth = web.state.auth
    real = auth.clock
    client = web.login("viewer")
    cookie = client.cookies[SESSION_COOKIE]
    start = real()
    auth.clock = lambda: start + dt.timedelta(minutes=119)  # type: ignore[method-assign]
    assert _replay(web, cookie) == 200
    auth.clock = lambda: start + dt.timedelta(minutes=119 + 121)  # type: ignore[method-assign]
    assert _replay(web, cookie) == 401  # idle for more than 2 h
    auth.clock = real  # type: ignore[method-assign]
    client = web.login("viewer")
    cookie = client.cookies[SESSION_COOKIE]
    start = real()
    for hours in range(1, 12):  # busy all day: a request every hour
        moment = start + dt.timedelta(hours=hours)
        auth.clock = lambda m=moment: m  # type: ignore[method-assign]
        assert _replay(web, cookie) == 200
    auth.clock = lambda: start + dt.timedelta(hours=12, minutes=1)  # type: ignore[method-assign]
    assert _replay(web, cookie) == 401  # absolute lifetime over


# -- T05 / T06 -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/setup", "/api/v1/setup", "/api/session/properties",
                                  "/api/v1/properties", "/api/v1/users"])
def test_T05_no_setup_or_properties_endpoint(web_module: Web, path: str) -> None:
    client = web_module.anonymous()
    assert client.get(path).status_code == 404
    assert client.post(path, json={}).status_code in (404, 405)


def test_T05_unauthenticated_responses_hold_no_secret(web_module: Web) -> None:
    client = web_module.anonymous()
    secret = SECRET_ENV["FUNNELBOARD_SECRET_KEY"]
    for path in ("/login", "/static/app.js", "/api/v1/metrics", "/nowhere"):
        body = client.get(path).text
        assert secret not in body and "token=" not in body


def test_T05_anonymous_cannot_create_users(web: Web) -> None:
    client = web.anonymous()
    response = client.post("/admin/users", data={"email": "evil@example.com",
                                                 "password": "x" * 20, "role": "admin"})
    assert response.status_code in (303, 401)
    assert web.state.auth.find_user("evil@example.com") is None


def test_T06_login_link_is_single_use_and_expires(web: Web) -> None:
    auth = web.state.auth
    link = auth.create_login_link(minutes=15)
    first = web.anonymous().get("/login", params={"token": link})
    assert first.status_code == 303 and SESSION_COOKIE in first.headers["set-cookie"]
    again = web.anonymous().get("/login", params={"token": link})
    assert again.status_code == 401 and SESSION_COOKIE not in again.headers.get("set-cookie",
                                                                                   "")
    late = auth.create_login_link(minutes=15)
    real = auth.clock
    auth.clock = lambda: real() + dt.timedelta(minutes=16)  # type: ignore[method-assign]
    try:
        assert web.anonymous().get("/login", params={"token": late}).status_code == 401
    finally:
        auth.clock = real  # type: ignore[method-assign]


# -- T07 -------------------------------------------------------------------------------------


def test_T07_argon2id_only_and_no_password_in_the_database_or_audit(web: Web) -> None:
    long_password = "p" * 180 + "é" * 10  # 200 bytes in UTF-8
    assert len(long_password.encode()) == 200
    web.state.auth.set_password(web.users["viewer"], long_password)
    assert post_login(web.anonymous(), "viewer@example.com", long_password).status_code == 303
    assert post_login(web.anonymous(), "viewer@example.com",
                      long_password[:-1]).status_code == 401
    db = web.state.workspace.path / "app.sqlite"
    with sqlite3.connect(db) as con:
        hashes = [r[0] for r in con.execute("SELECT password_hash FROM users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    raw = b"".join(p.read_bytes() for p in db.parent.glob("app.sqlite*"))
    assert long_password.encode() not in raw and PASSWORD.encode() not in raw


# -- T09 -------------------------------------------------------------------------------------


def test_T09_other_users_token_cannot_be_revoked_and_leaks_nothing(web: Web) -> None:
    token_id = web.state.auth.create_token(web.users["admin"], "admin's", "read")[1].id
    viewer = web.login("viewer")
    response = viewer.post(f"/account/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_of(viewer)})
    assert response.status_code == 404
    assert not web.state.auth.list_tokens(web.users["admin"])[0].revoked


# -- T10 -------------------------------------------------------------------------------------


def test_T10_cached_results_are_keyed_by_identity(web: Web) -> None:
    params = {**AS_OF, "start": "2026-01-01"}
    viewer = web.login("viewer")
    first = viewer.get("/api/v1/metrics/mqls", params=params)
    assert first.status_code == 200
    assert web.anonymous().get("/api/v1/metrics/mqls", params=params).status_code == 401
    analyst = web.login("analyst")
    assert analyst.get("/api/v1/metrics/mqls", params=params).json() == first.json()
    owners = {(k[1], k[2]) for k in web.state.cache._items}
    assert (web.users["viewer"], "viewer") in owners
    assert (web.users["analyst"], "analyst") in owners


# -- T12 -------------------------------------------------------------------------------------


def test_T12_token_scope_expiry_and_revocation(web: Web) -> None:
    read = web.bearer("analyst", "read")
    assert read.get("/api/v1/metrics").status_code == 200
    assert read.post("/api/v1/snapshots", json={"label": "x"}).status_code == 403
    plaintext, _info = web.state.auth.create_token(web.users["analyst"], "short", "write", 1)
    client = web.anonymous()
    client.headers["Authorization"] = f"Bearer {plaintext}"
    assert client.get("/api/v1/metrics").status_code == 200
    auth = web.state.auth
    real = auth.clock
    auth.clock = lambda: real() + dt.timedelta(days=1, minutes=1)  # type: ignore[method-assign]
    try:
        assert client.get("/api/v1/metrics").status_code == 401
    finally:
        auth.clock = real  # type: ignore[method-assign]
    other, other_info = web.state.auth.create_token(web.users["analyst"], "gone", "read", 30)
    web.state.auth.revoke_token(other_info.id)
    client.headers["Authorization"] = f"Bearer {other}"
    assert client.get("/api/v1/metrics").status_code == 401
    raw = b"".join(p.read_bytes() for p in web.state.workspace.path.glob("app.sqlite*"))
    assert plaintext.encode() not in raw and other.encode() not in raw


# -- T13 / T14 / T15 ---------------------------------------------------------------------------


def _counts(web: Web) -> list[Any]:
    return web.state.reader.query("SELECT (SELECT count(*) FROM contacts), "
                                  "(SELECT count(*) FROM stage_events)")


@pytest.mark.parametrize("value", ["' OR 1=1 --", "x\\' OR '1'='1", "a; DROP TABLE contacts;",
                                   "\x00", "ｗｅｂｉｎａｒ", "1 OR 1=1", "x" * 200,
                                   "read_csv('/etc/passwd')"])
def test_T13_T15_filter_values_are_literals(web_module: Web, value: str) -> None:
    client = web_module.bearer("viewer")
    before = _counts(web_module)
    response = client.get("/api/v1/metrics/mqls", params={**AS_OF, "start": "2026-01-01",
                                                          "filter": f"channel={value}"})
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert all(r["value"] == 0 for r in response.json()["rows"])
    assert "duckdb" not in response.text.lower() and "binder" not in response.text.lower()
    assert _counts(web_module) == before


@pytest.mark.parametrize("params", [{"start": "1 OR 1=1"}, {"grain": "month; DROP"},
                                    {"by": 'category" DESC --'}, {"filter": "x\"=1"},
                                    {"level": "contact' --"}])
def test_T13_T14_bad_options_and_identifiers_are_422(web_module: Web,
                                                    params: dict[str, str]) -> None:
    response = web_module.bearer("viewer").get("/api/v1/metrics/mqls",
                                               params={**AS_OF, **params})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and "duckdb" not in response.text.lower()


def test_T14_records_sort_only_by_its_own_columns(web_module: Web) -> None:
    client = web_module.bearer("viewer")
    base = {**AS_OF, "cell_start": "2026-03-01", "cell_end": "2026-03-31"}
    ok = client.get("/api/v1/records/mqls", params={**base, "sort": "created", "desc": True})
    assert ok.status_code == 200
    created = [r["created"] for r in ok.json()["rows"]]
    assert created == sorted(created, reverse=True)
    bad = client.get("/api/v1/records/mqls", params={**base, "sort": "created; DROP TABLE x"})
    assert bad.status_code == 422


def test_T15_metric_keys_are_never_table_functions(web_module: Web) -> None:
    client = web_module.bearer("viewer")
    for key in ("read_csv('/etc/passwd')", "contacts", "../../etc/passwd"):
        response = client.get(f"/api/v1/metrics/{key}", params=AS_OF)
        assert response.status_code in (404, 422)
        assert "root:" not in response.text


# -- T16 / T17 -------------------------------------------------------------------------------


HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", " =1",
           "<script>alert(1)</script>"]


def _import_hostile(web: Web, tmp_path: Any) -> None:
    lines = ["contact_id,created_at,source_detail,source"]
    for i, text in enumerate(HOSTILE):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"H{i},2026-03-0{i + 1} 10:00,{quoted},{quoted}")
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = web.state.jobs.submit("import", "hostile",
                                lambda: web.state.workspace.import_file("contacts", path))
    job.finished.wait(60)
    assert job.status == "done", job.error
    assert job.result.rows_accepted == len(HOSTILE)


def test_T16_exports_neutralise_formulas_and_keep_numbers(web: Web, tmp_path: Any) -> None:
    import io

    import openpyxl

    _import_hostile(web, tmp_path)
    client = web.login("viewer")
    params = {**AS_OF, "cell_start": "2026-03-01", "cell_end": "2026-03-31", "by": "source"}
    text = client.get("/records/contacts_created", params={**params, "format": "csv"}).text
    for hostile in HOSTILE[:6]:
        stored = hostile.strip()  # imports trim surrounding white space
        assert "'" + stored.replace('"', '""') in text, hostile
    book = openpyxl.load_workbook(io.BytesIO(client.get(
        "/records/contacts_created", params={**params, "format": "xlsx"}).content))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3" in cells
    assert "=HYPERLINK(\"http://x\")" not in cells
    section = client.get("/pages/funnel/sections/cohorts.xlsx",
                         params={**AS_OF, "start": "2026-01-01"})
    if section.status_code == 200:
        sheet = openpyxl.load_workbook(io.BytesIO(section.content)).active
        numbers = [c.value for row in sheet.iter_rows(min_row=2) for c in row
                   if isinstance(c.value, int | float)]
        assert numbers  # counts stay numbers


def test_T17_hostile_text_is_escaped_and_types_are_right(web: Web, tmp_path: Any) -> None:
    _import_hostile(web, tmp_path)
    client = web.login("viewer")
    page = client.get("/records/contacts_created",
                      params={**AS_OF, "cell_start": "2026-03-01", "cell_end": "2026-03-31",
                              "by": "source", "filter": f"source={HOSTILE[-1]}"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    reflected = client.get("/funnel", params={**AS_OF, "channel": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in reflected.text
    assert "default-src 'self'" in reflected.headers["content-security-policy"]
    assert reflected.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/records/<img src=x onerror=alert(1)>", params={
        **AS_OF, "cell_start": "2026-03-01", "cell_end": "2026-03-31"})
    assert "<img src=x" not in missing.text
    api = client.get("/api/v1/metrics/mqls", params=AS_OF)
    assert api.headers["content-type"].startswith("application/json")
    csv_response = client.get("/records/contacts_created", params={
        **AS_OF, "cell_start": "2026-03-01", "cell_end": "2026-03-31", "format": "csv"})
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.headers["x-content-type-options"] == "nosniff"


# -- T18 / T20 -------------------------------------------------------------------------------


def test_T18_forms_need_the_csrf_token_but_bearer_calls_do_not(web: Web) -> None:
    client = web.login("analyst")
    assert client.post("/logout").status_code == 403
    assert client.post("/account/tokens", data={"name": "x", "scope": "read"}
                       ).status_code == 403
    assert client.post("/account/tokens", data={"name": "x", "scope": "read",
                                                "csrf_token": "forged"}).status_code == 403
    assert client.post("/api/v1/snapshots", json={"label": "s"}).status_code == 403
    assert web.state.auth.list_tokens(web.users["analyst"]) == []
    anonymous = web.anonymous()
    no_token = anonymous.post("/login", data={"email": "analyst@example.com",
                                              "password": PASSWORD})
    assert no_token.status_code == 403
    api = web.bearer("analyst", "write")
    assert api.post("/api/v1/snapshots", json={"label": "s"}).status_code in (200, 201, 202)


@pytest.mark.parametrize(("target", "expected"), [
    ("/funnel?grain=quarter", "/funnel?grain=quarter"), ("//evil.example", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("javascript:alert(1)", "/")])
def test_T20_only_same_site_redirects_after_login(web: Web, target: str, expected: str
                                                 ) -> None:
    response = post_login(web.anonymous(), "viewer@example.com", PASSWORD, target)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_T15_the_served_database_cannot_reach_files_or_attach(web_module: Web) -> None:
    import duckdb

    reader = web_module.state.reader
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "ATTACH '/tmp/other.duckdb'",
                "COPY (SELECT 1) TO '/tmp/out.csv'", "INSTALL httpfs",
                "SET enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            reader.query(sql)
    assert reader.query("SELECT count(*) FROM contacts")[0][0] > 0


def test_T15_an_import_from_outside_the_workspace_still_works(web: Web, tmp_path: Any) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("contact_id,created_at\nOUT1,2026-06-01 10:00\n", encoding="utf-8")
    job = web.state.jobs.run("import", "outside",
                             lambda: web.state.workspace.import_file("contacts", outside))
    assert job.status == "done" and job.result.rows_inserted == 1
    assert job.result.file == "elsewhere.csv"
    assert not list((web.state.workspace.path / ".tmp").glob("*.csv"))
