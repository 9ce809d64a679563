"""Shared fixtures for the import tests: fresh workspaces, files written byte for byte, and the
few queries every import test asks (quarantine rows, ledger rows, a table's content)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from funnelboard.ingest.mapping import Mapping, load_mapping, mapping_from_document
from funnelboard.workspace import Workspace

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
SAMPLES = DATA / "samples"
MAPPINGS = TESTS.parent / "mappings"

WorkspaceFactory = Callable[..., Workspace]
FileWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def _template_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace made once by ``Workspace.init``; tests get copies (init costs ~0.2 s)."""
    folder = tmp_path_factory.mktemp("template") / "ws"
    Workspace.init(folder).close()
    return folder


@pytest.fixture
def make_ws(tmp_path: Path, _template_ws: Path) -> Iterator[WorkspaceFactory]:
    """``make_ws()`` gives a new, empty workspace with the default settings (a copy of one
    made by ``Workspace.init``) under tmp_path; all are closed at teardown."""
    opened: list[Workspace] = []
    counter = itertools.count(1)

    def make(name: str | None = None) -> Workspace:
        folder = tmp_path / (name or f"ws{next(counter)}")
        shutil.copytree(_template_ws, folder)
        ws = Workspace.open(folder)
        ws.connection()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def ws(make_ws: WorkspaceFactory) -> Workspace:
    """One fresh workspace (time zone UTC, default settings)."""
    return make_ws()


@pytest.fixture
def write_file(tmp_path: Path) -> FileWriter:
    """``write_file(content, name="f.csv", encoding="utf-8")`` writes the exact bytes given.

    ``content`` is text (encoded with ``encoding``, line endings kept as written) or bytes.
    Each call writes into its own folder, so the same name can be used twice.
    """
    counter = itertools.count(1)

    def write(content: str | bytes, name: str = "f.csv", encoding: str = "utf-8") -> Path:
        folder = tmp_path / f"in{next(counter)}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write


def quarantine(ws: Workspace, import_id: int | None = None) -> list[tuple[Any, ...]]:
    """``(source_row, column_name, raw_value, rule)`` of quarantined rows, in file order."""
    where = "" if import_id is None else f"WHERE import_id = {int(import_id)}"
    return ws.query("SELECT source_row, column_name, raw_value, rule FROM _quarantine "
                    f"{where} ORDER BY source_row, column_name NULLS FIRST, rule")


def ledger(ws: Workspace) -> list[tuple[Any, ...]]:
    """``(import_id, table_name, status, raw_file)`` of every ledger row."""
    return ws.query("SELECT import_id, table_name, status, raw_file FROM _imports "
                    "ORDER BY import_id")


def rows(ws: Workspace, table: str, columns: str, order: str = "ALL") -> list[tuple[Any, ...]]:
    """Selected columns of a canonical table (names are trusted test input)."""
    return ws.query(f'SELECT {columns} FROM "{table}" ORDER BY {order}')


def raw_files(ws: Workspace) -> list[Path]:
    return sorted(p for p in (ws.path / "raw").rglob("*") if p.is_file())


def mapping(**sections: Any) -> Mapping:
    """A mapping from TOML-like sections: ``mapping(rename={"Record ID": "contact_id"})``."""
    return mapping_from_document(sections, source="test")


def mapping_file(name: str) -> Mapping:
    """One of the mapping files kept in the repository's mappings/ folder."""
    return load_mapping(MAPPINGS / name)


def codes(result: Any, level: str | None = None) -> set[str]:
    return {i.code for i in result.issues if level is None or i.level == level}


def issue(result: Any, code: str) -> Any:
    """The one issue with ``code`` (fails when there is none or several)."""
    found = [i for i in result.issues if i.code == code]
    assert len(found) == 1, (code, [(i.code, i.message) for i in result.issues])
    return found[0]


# -- metric tests: workspaces with edited settings ----------------------------------------------

@pytest.fixture
def make_ws_with(tmp_path: Path, _template_ws: Path) -> Iterator[WorkspaceFactory]:
    """``make_ws_with(timezone="America/New_York", fiscal_year_start_month=4)`` gives a new
    workspace (a copy of the template) whose top-level ``funnelboard.toml`` settings are set to
    the values given before it is opened; all are closed at teardown."""
    import re

    opened: list[Workspace] = []
    counter = itertools.count(1)

    def make(**settings: Any) -> Workspace:
        folder = tmp_path / f"wsset{next(counter)}"
        shutil.copytree(_template_ws, folder)
        toml = folder / "funnelboard.toml"
        text = toml.read_text(encoding="utf-8")
        for key, value in settings.items():
            literal = f'"{value}"' if isinstance(value, str) else str(value)
            text, count = re.subn(rf"^{re.escape(key)} = .*$", f"{key} = {literal}", text,
                                  count=1, flags=re.M)
            assert count == 1, f"no top-level setting {key!r} in funnelboard.toml"
        toml.write_text(text, encoding="utf-8")
        ws = Workspace.open(folder)
        ws.connection()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


DEMO_AS_OF = "2026-06-30"


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo company (1,500 contacts, seed 7, data to 30 June 2026), built once per test
    process; open it read-only or copy it before writing."""
    import datetime as dt

    from funnelboard.services import build_demo

    folder = tmp_path_factory.mktemp("demo") / "acme"
    build_demo(folder, contacts=1500, seed=7, end=dt.date.fromisoformat(DEMO_AS_OF))
    return folder


@pytest.fixture(scope="session")
def demo_ws(demo_path: Path) -> Iterator[Workspace]:
    """The demo workspace opened read-only (shared by the tests of one process)."""
    ws = Workspace.open(demo_path, read_only=True)
    yield ws
    ws.close()


@pytest.fixture
def web(demo_path: Path, tmp_path: Path) -> Iterator[object]:
    """A dashboard over a copy of the demo, with users viewer@, analyst@ and admin@example.com
    (see tests/web_support.py)."""
    from web_support import start_web

    yield from start_web(demo_path, tmp_path / "served")


@pytest.fixture(scope="module")
def web_module(demo_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Like ``web``, shared by the tests of one module (for read-only tests)."""
    from web_support import start_web

    yield from start_web(demo_path, tmp_path_factory.mktemp("served") / "ws")
