"""The dashboard in a real browser: headless Debian chromium driven by Playwright.

A uvicorn server runs in a thread over a copy of the demo; the browser signs in with the
one-time link, opens every page, changes a filter, drills down, downloads a CSV and compares
every tile with ``/api/v1/metrics/{key}`` for the same parameters. Each page's screenshot is
saved (to ``$FUNNELBOARD_SCREENSHOTS`` when set: ``make screenshots`` refreshes the README's).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn

from funnelboard.web.app import create_app
from funnelboard.web.server import open_state
from funnelboard.web.state import ServerState
from web_support import CHEAP_HASHER, SECRET_ENV

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
AS_OF = "2026-06-30"
PAGES = ["/", "/funnel", "/channels", "/web", "/pipeline", "/revenue", "/community", "/plan",
         "/data"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(demo_path: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, ServerState]]:
    folder = tmp_path_factory.mktemp("browser") / "ws"
    shutil.copytree(demo_path, folder)
    state = open_state(folder, env=SECRET_ENV, password_hasher=CHEAP_HASHER)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", state
    server.should_exit = True
    thread.join(timeout=30)
    state.close()


@pytest.fixture(scope="module")
def page(served: tuple[str, ServerState], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    base, state = served
    downloads = tmp_path_factory.mktemp("downloads")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                     headless=True)
        context = browser.new_context(base_url=base, accept_downloads=True,
                                      viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(240_000)
        link = state.auth.create_login_link(minutes=15)
        tab.goto(f"/login?token={link}")
        tab.wait_for_url(f"{base}/")
        tab.downloads_dir = downloads  # type: ignore[attr-defined]
        yield tab
        context.close()
        browser.close()


def _screenshot(tab: Any, name: str, tmp: Path) -> Path:
    folder = Path(os.environ.get("FUNNELBOARD_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def _charts_drawn(tab: Any) -> None:
    tab.wait_for_function(
        "() => [...document.querySelectorAll('.chart')].every("
        "c => c.getAttribute('data-rendered'))", timeout=120_000)
    failed = tab.locator(".chart[data-rendered=error]")
    assert failed.count() == 0, failed.first.text_content()


def test_every_page_opens_draws_its_charts_and_is_saved(page: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for path in PAGES:
        response = page.goto(f"{path}?as_of={AS_OF}")
        assert response.status == 200, path
        assert page.locator("main h1").count() >= 1
        _charts_drawn(page)
        name = path.strip("/") or "overview"
        assert _screenshot(page, name, tmp_path).stat().st_size > 10_000
    assert not errors, errors


def _api_value(page: Any, metric: str, params: str) -> Any:
    data = page.request.get(f"/api/v1/metrics/{metric}?{params}").json()
    return data["rows"][-1]["value"] if data["rows"] else None


def test_every_tile_equals_the_api_for_the_same_parameters(page: Any) -> None:
    checked = 0
    for path in PAGES[:7]:
        page.goto(f"{path}?as_of={AS_OF}")
        for tile in page.locator(".tile").all():
            metric = tile.get_attribute("data-metric")
            params = tile.get_attribute("data-params")
            shown = tile.get_attribute("data-value")
            expected = _api_value(page, metric, params)
            if expected is None:
                assert shown == "", (path, metric)
            else:
                assert float(shown) == pytest.approx(float(expected), rel=1e-9), (path, metric)
            checked += 1
    assert checked >= 20


def test_a_filter_changes_the_url_and_the_numbers(page: Any) -> None:
    page.goto(f"/funnel?as_of={AS_OF}")
    first_table = page.locator("table.data").first
    before = first_table.text_content()
    page.select_option("select[name=grain]", "quarter")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**grain=quarter**")
    assert parse_qs(page.url.split("?", 1)[1])["grain"] == ["quarter"]
    _charts_drawn(page)
    assert "channel=" not in page.url  # empty filters are left out of the URL
    assert page.locator("table.data").first.text_content() != before


def test_drill_down_lists_as_many_records_as_the_number_clicked(page: Any) -> None:
    page.goto(f"/?as_of={AS_OF}")
    link = page.locator(".tile[data-metric=leads] .tile-value a")
    clicked = int(link.inner_text().replace(",", ""))
    assert clicked > 0
    link.click()
    page.wait_for_url("**/records/leads?**")
    total = int(page.locator("#record-total").get_attribute("data-total"))
    assert total == clicked
    rows = page.locator("table.records tbody tr").count()
    assert rows == min(clicked, 50)


def test_csv_download_holds_the_table(page: Any) -> None:
    page.goto(f"/channels?as_of={AS_OF}")
    section = page.locator("section.card:has(a:text('CSV'))").first
    with page.expect_download() as info:
        section.locator("a", has_text="CSV").first.click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    headers = [h.text_content().strip() for h in section.locator("table.data thead th").all()]
    assert rows[0] == headers
    body = section.locator("table.data tbody tr")
    assert len(rows) - 1 == body.count()
