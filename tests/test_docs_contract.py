"""docs/data-contract.md is generated from the schema: the committed page must match it."""

from __future__ import annotations

import re
from pathlib import Path

from funnelboard.docs_gen import main, render_data_contract
from funnelboard.schema import TABLES, TYPE_HELP

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"


def test_committed_page_matches_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == render_data_contract(), (
        "docs/data-contract.md is out of date: run 'python -m funnelboard.docs_gen'")


def _section(text: str, table: str) -> str:
    match = re.search(rf"^### {table}\n(.*?)(?=^### |^## |\Z)", text, re.S | re.M)
    assert match, table
    return match.group(1)


def test_every_table_and_column_is_documented() -> None:
    text = render_data_contract()
    for name, table in TABLES.items():
        section = _section(text, name)
        assert table.description.replace("|", "\\|") in section
        for col in table.columns:
            row = re.search(rf"^\| `{col.name}` \| {col.type} \| (yes)? ?", section, re.M)
            assert row, (name, col.name)
            assert bool(row.group(1)) == col.required, (name, col.name)
    for help_text in TYPE_HELP.values():
        assert help_text in text


def test_groups_come_in_contract_order_and_say_it_is_generated() -> None:
    text = render_data_contract()
    assert "python -m funnelboard.docs_gen" in text and "edit" in text.split("\n")[1]
    heads = re.findall(r"^## (.+)$", text, re.M)
    groups = [h for h in heads if h in ("CRM", "Marketing activity", "Customers and money",
                                        "Plans and context")]
    assert groups == ["CRM", "Marketing activity", "Customers and money", "Plans and context"]
    costs = _section(text, "costs")
    assert "- **Date column:** `month`" in costs
    assert "- **Replacement scope:** per `team`, `category`" in costs
    assert "| `amount` | money | yes | amount |  |  |  |" in costs  # negative costs allowed
    nps = _section(text, "nps_responses")
    assert "| `score` | int | yes | score 0-10 |  | 0 | 10 |" in nps


def test_command_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "contract.md"
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_data_contract()
