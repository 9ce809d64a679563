"""docs/metrics.md, the metric reference, is generated from the registry and the demo company.

Regenerating it builds the demo and runs ~150 examples (about a minute), too slow for the test
suite, so these tests check what makes a stale page: every listed metric needs a definition and
an example whose options a query accepts, every metric and example command must be on the
committed page, and the page's text around the example outputs must be what the registry and
the examples give today (:func:`~funnelboard.cli.reference.rerender` reuses the committed
outputs). The generator itself is checked on a seven-contact workspace.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import WorkspaceFactory
from funnelboard.cli import reference
from funnelboard.metrics.examples import AS_OF, EXAMPLES, GRAMMAR_EXAMPLES
from funnelboard.metrics.query import make_query
from funnelboard.metrics.registry import MetricDef, all_metrics, resolve
from funnelboard.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
STALE = "docs/metrics.md is out of date: run 'make docs' (python -m funnelboard.cli.reference)"
METRICS = all_metrics(Settings())
#: ``funnelboard metrics show`` options an example may use -> make_query keyword
OPTIONS = {"--start": "start", "--end": "end", "--grain": "grain", "--by": "by",
           "--filter": "filters", "--basis": "basis", "--rule": "rule", "--level": "level",
           "--compare": "compare", "--transition": "transition", "--as-of": "as_of"}
REPEATABLE = {"by", "filters"}


def query_options(options: str) -> dict[str, Any]:
    """The make_query keywords of an example's option string (every option takes a value)."""
    words = shlex.split(options)
    assert len(words) % 2 == 0, f"an option without a value in {options!r}"
    out: dict[str, Any] = {}
    for flag, value in zip(words[::2], words[1::2], strict=True):
        assert flag in OPTIONS, f"{flag} is not a 'metrics show' query option ({options!r})"
        name = OPTIONS[flag]
        if name in REPEATABLE:
            out.setdefault(name, []).append(value)
        else:
            assert name not in out, f"{flag} given twice in {options!r}"
            out[name] = value
    return out


def check_example(metric: MetricDef, options: str) -> None:
    query = make_query(metric.key, **{"as_of": AS_OF, **query_options(options)})
    assert query.start and query.end, f"{metric.key}: fix the range with --start and --end"
    used = set(query.by) | {dim for dim, _ in query.filters}
    not_allowed = sorted(used - set(metric.dimensions))
    assert not not_allowed, (f"{metric.key}: {not_allowed} not among its dimensions "
                             f"{metric.dimensions}")


# -- the registry and the examples ---------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_has_a_definition_and_a_valid_example(metric: MetricDef) -> None:
    definition = metric.definition.strip()
    assert metric.label.strip(), f"{metric.key} has no label"
    # at least one full sentence: ten words or more, ending with a full stop
    assert len(definition.split()) >= 10 and re.search(r"\w.*[.]$", definition), (
        f"{metric.key} needs a definition of at least one full sentence, not {definition!r}")
    assert metric.key in EXAMPLES, (
        f"{metric.key} has no example: add one to src/funnelboard/metrics/examples.py "
        "and run 'make docs'")
    check_example(metric, EXAMPLES[metric.key])


def test_examples_name_only_listed_metrics() -> None:
    listed = {m.key for m in METRICS}
    assert sorted(set(EXAMPLES) - listed) == []
    # the grammar examples are keys the registry resolves but does not list one by one
    assert not set(GRAMMAR_EXAMPLES) & listed
    for key, options in GRAMMAR_EXAMPLES.items():
        check_example(resolve(key, Settings()), options)


def test_option_parser_rejects_what_the_cli_would_not_take() -> None:
    assert query_options("--by a --by b --filter 'x=y z'") == {"by": ["a", "b"],
                                                               "filters": ["x=y z"]}
    for bad in ("--format json", "--grain", "--grain month --grain year"):
        with pytest.raises(AssertionError):
            query_options(bad)
    with pytest.raises(AssertionError, match="not among its dimensions"):
        check_example(resolve("sessions", Settings()),
                      "--by segment --start 2025-01-01 --end 2025-03-31")


# -- the committed page --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_metric_is_on_the_page_with_its_example(page: str) -> None:
    commands = reference.examples_on_page(page)
    for metric in METRICS:
        assert f"### `{metric.key}` — " in page, f"{metric.key} is missing. {STALE}"
        command = reference.command_line(metric.key, EXAMPLES.get(metric.key, ""))
        assert command in commands, f"{metric.key}: no block for '{command}'. {STALE}"
        assert commands[command].strip(), f"{metric.key}: the example printed nothing"
    for key, options in GRAMMAR_EXAMPLES.items():
        assert reference.command_line(key, options) in commands, STALE


def test_no_example_on_the_page_failed(page: str) -> None:
    assert "*No example yet.*" not in page
    for command, output in reference.examples_on_page(page).items():
        assert not re.search(r"^(Error:|Traceback)", output, re.M), (command, output)


def test_committed_page_matches_the_registry_and_examples(page: str) -> None:
    assert reference.rerender(page) == page, STALE


def test_page_says_how_it_is_made(page: str) -> None:
    assert "Do not edit by hand" in page.split("\n", 3)[1]
    assert "`make docs`" in page and reference.demo_command() in page
    assert "[metrics-engine.md](metrics-engine.md)" in page
    heads = re.findall(r"^## (.+)$", page, re.M)
    groups = [reference.group_title(g) for g, _ in reference.ordered_groups(METRICS)]
    assert heads == ["How this page is made", "Index", *groups]


# -- the generator -------------------------------------------------------------------------------

CONTACTS = textwrap.dedent("""\
    contact_id,created_at,channel,lead_at,mql_at
    c1,2025-01-05,paid_search,2025-01-05,2025-01-10
    c2,2025-01-06,paid_search,2025-01-06,
    c3,2025-01-20,webinar,2025-01-21,2025-01-25
    c4,2025-02-02,webinar,2025-02-02,
    c5,2025-02-10,,,
    c6,2025-02-11,paid_search,2025-02-12,
    c7,2025-03-03,webinar,2025-03-03,2025-03-04
    """)


def test_run_example_prints_the_table_without_the_definition(
        make_ws: WorkspaceFactory, tmp_path: Path) -> None:
    """On seven contacts (by hand: January has 3 leads, 2 of them MQLs; February 2 leads, one
    reached no stage; March 1 lead, an MQL), the example shows the table and the CLI's notes,
    not the definition printed above it, and renders into a metric section."""
    ws = make_ws()
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    assert ws.import_file("contacts", path).status == "imported"
    ws.close()
    example = reference.run_example(
        ws.path, "lead_to_mql_rate",
        "--by channel --start 2025-01-01 --end 2025-03-31 --compare previous")
    assert example.exit_code == 0, example.output
    assert "same cohort (or period) and rule" in resolve("lead_to_mql_rate",
                                                        Settings()).definition
    assert "same cohort (or period) and rule" not in example.output
    rows = {tuple(cells[:3]) for line in example.output.splitlines()
            if len(cells := [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]) > 3}
    assert {("2025-01", "paid_search", "50.0%"), ("2025-01", "webinar", "100.0%"),
            ("2025-02", "paid_search", "0.0%"), ("2025-03", "webinar", "100.0%")} <= rows
    assert "\nnote: " in example.output  # the notes on standard error come last
    assert example.command == (
        "funnelboard -w demo metrics show lead_to_mql_rate --by channel --start 2025-01-01 "
        f"--end 2025-03-31 --compare previous --as-of {AS_OF}")
    page = reference.render_reference({"lead_to_mql_rate": example})
    assert f"$ {example.command}\n{example.output}\n```" in page
    assert reference.examples_on_page(page)[example.command] == example.output
    assert page.count("*No example yet.*") == len(METRICS) - 1


def test_run_example_keeps_the_error_of_a_failing_example(make_ws: WorkspaceFactory) -> None:
    ws = make_ws()
    ws.close()
    example = reference.run_example(ws.path, "sessions", "--by segment")
    assert example.exit_code != 0
    assert example.output.startswith("Error:") and "segment" in example.output


def test_helpers() -> None:
    definition = "One two three four five six. Seven eight."
    assert reference.drop_definition("One two three\nfour five six. Seven\neight.\ntable",
                                     definition) == "table"
    assert reference.drop_definition("Other text\ntable", definition) == "Other text\ntable"
    assert reference.clean_output("\n\x1b[1mbold\x1b[0m   \nx  \n\n") == "bold\nx"
    assert reference.command_line("nps", "--filter 'survey=A B'").startswith(
        "funnelboard -w demo metrics show nps --filter 'survey=A B' --as-of ")
    assert reference.command_line("x", "--as-of 2025-01-01").endswith("--as-of 2025-01-01")
    assert reference.group_title("new_group") == "New group"
