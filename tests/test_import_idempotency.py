"""T28: re-importing changes nothing. The same file twice, the same rows shuffled, and the file
split in two all leave the same table content, and the ledger says "no changes"; the raw file
kept under raw/ lets ``rebuild`` replay the ledger to the same database."""

from __future__ import annotations

import random
from typing import Any

import pytest

from conftest import DATA, FileWriter, WorkspaceFactory, ledger, mapping, raw_files
from funnelboard import services
from funnelboard.workspace import Workspace

CONTACTS_HEADER = "contact_id,created_at,email,account_id,lead_at,mql_at,Region\n"
CONTACT_ROWS = [
    f"c{i},2024-01-{1 + i % 28:02d},p{i}@example.com,a{i % 3},2024-01-{1 + i % 28:02d},"
    f"{'' if i % 2 else f'2024-02-{1 + i % 27:02d}'},{['EMEA', 'AMER', ''][i % 3]}\n"
    for i in range(30)
] + ["c30,not a date,bad@example.com,a0,,,\n"]  # one quarantined row

AD_HEADER = "date,platform,campaign_id,impressions,clicks,spend,conversions\n"
AD_ROWS = [
    f"2024-01-{1 + i % 10:02d},{['google_ads', 'meta'][i % 2]},k{i % 4},{10 * i},{i},"
    f"{i * 1.25:.2f},{i / 4}\n"
    for i in range(40)
]  # several rows share a key (day, platform, campaign) and are summed

TABLES = ("contacts", "stage_events", "ad_performance", "_quarantine")


def _snapshot(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored value except the import id (which says *when*, not *what*)."""
    out = {}
    for table in TABLES:
        cols = [r[0] for r in ws.query(f"DESCRIBE {table}")
                if r[0] not in ("_import_id", "import_id")]
        sel = ", ".join(f'"{c}"::VARCHAR' for c in cols)
        out[table] = ws.query(f"SELECT {sel} FROM {table} ORDER BY ALL")
    return out


def _shuffled(header: str, body: list[str], seed: int) -> str:
    lines = list(body)
    random.Random(seed).shuffle(lines)
    return header + "".join(lines)


@pytest.mark.parametrize(("table", "header", "body"), [
    ("contacts", CONTACTS_HEADER, CONTACT_ROWS),
    ("ad_performance", AD_HEADER, AD_ROWS),
])
def test_same_file_twice_then_shuffled_changes_nothing(ws: Workspace, write_file: FileWriter,
                                                       table: str, header: str,
                                                       body: list[str]) -> None:
    path = write_file(header + "".join(body))
    first = ws.import_file(table, path)
    assert first.status == "imported"
    before = _snapshot(ws)
    again = ws.import_file(table, path)
    assert (again.status, again.message) == ("no_changes", "no changes")
    assert (again.rows_inserted, again.rows_updated, again.rows_removed) == (0, 0, 0)
    assert again.rows_unchanged == first.rows_inserted
    shuffled = ws.import_file(table, write_file(_shuffled(header, body, seed=28)))
    assert shuffled.status == "no_changes"
    after = _snapshot(ws)
    # the quarantine grows by the re-imports' own bad rows; the tables do not change at all
    assert {k: v for k, v in after.items() if k != "_quarantine"} == {
        k: v for k, v in before.items() if k != "_quarantine"}
    assert [r[2] for r in ledger(ws)] == ["imported", "no_changes", "no_changes"]


def test_same_data_with_columns_in_another_order_changes_nothing(
        ws: Workspace, write_file: FileWriter) -> None:
    ws.import_file("accounts", write_file("account_id,zeta,name,alpha\na1,1,Acme,2\n"))
    again = ws.import_file("accounts", write_file("alpha,name,account_id,zeta\n2,Acme,a1,1\n"))
    assert again.status == "no_changes"
    assert ws.query("SELECT extras FROM accounts") == [('{"alpha":"2","zeta":"1"}',)]


def test_the_same_bytes_are_stored_once_under_raw(ws: Workspace, write_file: FileWriter) -> None:
    text = CONTACTS_HEADER + "".join(CONTACT_ROWS)
    ws.import_file("contacts", write_file(text))
    ws.import_file("contacts", write_file(text, name="copy.csv"))
    stored = raw_files(ws)
    assert len(stored) == 1 and stored[0].read_bytes() == text.encode()
    assert len({r[3] for r in ledger(ws)}) == 1


def test_entity_file_split_in_two_gives_the_whole(make_ws: WorkspaceFactory,
                                                  write_file: FileWriter) -> None:
    whole, split = make_ws(), make_ws()
    whole.import_file("contacts", write_file(CONTACTS_HEADER + "".join(CONTACT_ROWS)))
    rows = _shuffled("", CONTACT_ROWS, seed=7).splitlines(keepends=True)
    split.import_file("contacts", write_file(CONTACTS_HEADER + "".join(rows[:13])))
    split.import_file("contacts", write_file(CONTACTS_HEADER + "".join(rows[13:])))
    a, b = _snapshot(whole), _snapshot(split)
    for table in ("contacts", "stage_events"):
        assert a[table] == b[table], table
    # the bad row is quarantined once, whichever half carried it
    assert len(a["_quarantine"]) == len(b["_quarantine"]) == 1
    # importing the whole file over the two halves changes nothing
    assert split.import_file("contacts", write_file(
        CONTACTS_HEADER + "".join(CONTACT_ROWS))).status == "no_changes"


def test_additive_file_split_by_date_gives_the_whole(make_ws: WorkspaceFactory,
                                                     write_file: FileWriter) -> None:
    """Additive imports replace their date range per platform, so an export is split by date
    (or by platform), never by campaign within one date range."""
    whole, split = make_ws(), make_ws()
    whole.import_file("ad_performance", write_file(AD_HEADER + "".join(AD_ROWS)))
    early = [r for r in AD_ROWS if r < "2024-01-05"]
    late = [r for r in AD_ROWS if r >= "2024-01-05"]
    split.import_file("ad_performance", write_file(AD_HEADER + "".join(late)))
    split.import_file("ad_performance", write_file(AD_HEADER + "".join(early)))
    assert _snapshot(whole)["ad_performance"] == _snapshot(split)["ad_performance"]
    assert split.import_file("ad_performance", write_file(
        AD_HEADER + "".join(AD_ROWS))).status == "no_changes"


def test_additive_file_split_by_campaign_keeps_only_the_second_half(
        ws: Workspace, write_file: FileWriter) -> None:
    """The documented consequence of range replacement, pinned so it never changes silently."""
    ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-01,meta,k1,10,1,1,0\n2024-01-02,meta,k1,10,1,1,0\n"))
    result = ws.import_file("ad_performance", write_file(
        AD_HEADER + "2024-01-01,meta,k2,10,1,1,0\n2024-01-02,meta,k2,10,1,1,0\n"))
    assert result.rows_removed == 2
    assert ws.query("SELECT DISTINCT campaign_id FROM ad_performance") == [("k2",)]


def test_rebuild_replays_the_ledger_to_the_same_database(make_ws: WorkspaceFactory,
                                                        write_file: FileWriter) -> None:
    ws = make_ws()
    ws.import_file("contacts", write_file(CONTACTS_HEADER + "".join(CONTACT_ROWS)))
    ws.import_file("contacts", write_file(CONTACTS_HEADER + CONTACT_ROWS[0].replace(
        "p0@", "changed@")))
    ws.import_file("ad_performance", DATA / "google_ads_campaign_report.csv", mapping=mapping(
        rename={"Day": "date", "Campaign": "campaign_id", "Impr.": "impressions",
                "Cost": "spend"}, constants={"platform": "google_ads"}),
        timezone="Europe/Berlin")
    ws.import_file("accounts", write_file("account_id\n\"broken\n"))  # rejected: not replayed
    before = _snapshot(ws)
    entries = ledger(ws)
    ws.close()
    results = services.rebuild(ws.path)
    assert [r.status for r in results] == ["imported", "imported", "imported"]
    with Workspace.open(ws.path) as rebuilt:
        assert _snapshot(rebuilt) == before
        assert [r[1:] for r in ledger(rebuilt)] == [e[1:] for e in entries if e[2] != "rejected"]
