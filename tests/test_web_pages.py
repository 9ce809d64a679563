"""Pages through HTTP without a browser: downloads of a section match its table, charts export
as PNG and SVG, bad filters are a sentence (422), unknown pages and sections are 404."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

from web_support import Web

AS_OF = {"as_of": "2026-06-30"}


def test_web_page_renders_every_section_and_its_downloads_match(web_module: Web) -> None:
    client = web_module.login("viewer")
    page = client.get("/web", params=AS_OF)
    assert page.status_code == 200
    sections = re.findall(r'<section class="card [^"]*" id="section-([a-z0-9_]+)"', page.text)
    assert {"headline", "sessions_by_channel", "channels", "scroll_depth"} <= set(sections)
    from html import escape

    from funnelboard.metrics.registry import resolve

    definition = resolve("bounce_rate", web_module.state.settings).definition
    assert f'title="{escape(definition)}"' in page.text  # the column header explains it
    text = client.get("/pages/web/sections/channels.csv", params=AS_OF).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Channel" and len(rows) > 2
    # the CSV's sessions column sums to the sessions of the whole range (SQL on the table)
    col = rows[0].index("Sessions")
    total = sum(int(r[col]) for r in rows[1:] if r[col])
    expected = web_module.state.reader.query(
        "SELECT sum(sessions) FROM web_traffic WHERE date BETWEEN '2025-07-01' AND "
        "'2026-06-30'")[0][0]
    assert total == expected
    book = openpyxl.load_workbook(io.BytesIO(
        client.get("/pages/web/sections/channels.xlsx", params=AS_OF).content))
    sheet = [[c.value for c in row] for row in book.active.iter_rows()]
    assert sheet[0] == rows[0] and len(sheet) == len(rows)
    assert all(isinstance(r[col], int | float) for r in sheet[1:] if r[col] is not None)


def test_charts_export_as_png_and_svg(web_module: Web) -> None:
    client = web_module.login("viewer")
    png = client.get("/pages/web/sections/sessions_by_channel.png", params=AS_OF)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["content-type"] == "image/png"
    svg = client.get("/pages/web/sections/sessions_by_channel.svg", params=AS_OF)
    assert svg.status_code == 200 and "<svg" in svg.text
    assert "attachment" in svg.headers["content-disposition"]


def test_unknown_pages_sections_and_bad_filters(web_module: Web) -> None:
    client = web_module.login("viewer")
    assert client.get("/pages/nowhere/sections/x.csv", params=AS_OF).status_code == 404
    assert client.get("/pages/web/sections/nothing.csv", params=AS_OF).status_code == 404
    assert client.get("/pages/web/sections/channels.exe", params=AS_OF).status_code == 404
    bad = client.get("/web", params={**AS_OF, "grain": "fortnight"})
    assert bad.status_code == 422
    assert "The grain &#39;fortnight&#39; is not allowed" in bad.text
    late = client.get("/web", params={**AS_OF, "start": "2026-07-01", "end": "2026-01-01"})
    assert late.status_code == 422 and "after the end" in late.text


def test_static_files_and_the_vega_bundle_are_served_locally(web_module: Web) -> None:
    client = web_module.anonymous()
    js = client.get("/static/vega.js")
    assert js.status_code == 200 and "vegaEmbed" in js.text
    assert js.headers["content-type"].startswith("text/javascript") and js.headers["etag"]
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "#vg-tooltip-element" in css.text
    assert client.get("/static/../funnelboard.toml").status_code == 404
    assert client.get("/static/secret.key").status_code == 404


def test_money_tiles_drill_to_records_that_add_up(web_module: Web) -> None:
    """The revenue page's MRR tile links to the accounts behind it; their ``counted`` sum is
    the tile's number, and a ratio's page offers its other side."""
    from html import unescape

    client = web_module.login("viewer")
    page = client.get("/revenue", params=AS_OF).text
    links = {m.group(1): unescape(m.group(2)) for m in
             re.finditer(r'<a href="/records/([a-z_]+)\?([^"]+)" title="List the records', page)}
    assert {"mrr", "nrr"} <= set(links)
    records = client.get(f"/records/mrr?{links['mrr']}")
    assert records.status_code == 200
    counted = float(re.search(r'data-counted="([^"]+)"', records.text).group(1))  # type: ignore[union-attr]
    params = dict(p.split("=", 1) for p in links["mrr"].split("&"))
    api = client.get("/api/v1/metrics/mrr", params={
        "start": params["cell_start"], "end": params["cell_end"], "as_of": params["as_of"],
        "grain": params.get("grain", "month")}).json()
    assert api["rows"] and abs(api["rows"][-1]["value"] - counted) < 0.01
    nrr = client.get(f"/records/nrr?{links['nrr']}").text
    assert "Show the denominator" in nrr
