"""T30: kill -9 during import, and the single-writer lock message.

A child process opens a workspace and imports three files in a row (contacts A, contacts B with
a few bad rows, stage events C), then closes it (DuckDB checkpoints). The test times one
uninterrupted run, then SIGKILLs fresh copies of the child at seeded random moments spread
uniformly over the three imports and the close (the timeline is re-learnt from every run, so a
busy machine does not bunch the kills at one end), and checks after each kill:

* the database opens;
* each file's rows (contacts, the stage entries owned by those contacts, stage events, the
  quarantined rows) are wholly present or wholly absent, and a ledger row exists iff they are;
* a file the child reported as imported is present (no lost committed import), and the files
  commit in order;
* re-running the import that was in flight (the first one the child did not report as finished,
  whether or not it committed) gives exactly the file's rows: no duplicates, one ``imported``
  ledger row.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

import funnelboard
from funnelboard.errors import WorkspaceError
from funnelboard.workspace import Workspace

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

SRC = str(Path(funnelboard.__file__).resolve().parents[1])
SEED = 30
KILLS = 24
CONTACT_ROWS = 20_000  # ~0.5-1 s per import here; 24 kills must fit in ~1 min
EVENT_ROWS = 30_000
BAD_ROWS = 7  # rows of file B with an unreadable created_at: they go to quarantine
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

CHILD = """
import sys
from funnelboard.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.connection().execute("SET enable_progress_bar = false")
print("ready", flush=True)
args = sys.argv[2:]
for table, path in zip(args[::2], args[1::2], strict=True):
    result = ws.import_file(table, path)
    print("done", path, result.status, flush=True)
ws.close()
print("closed", flush=True)
"""

HOLDER = """
import sys
from funnelboard.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.connection()
print("ready", flush=True)
sys.stdin.read()
ws.close()
"""


@dataclass(frozen=True)
class File:
    table: str
    path: Path
    prefix: str  # every id of the file starts with it, and no other file's does
    rows: int  # rows that pass validation
    owned_stages: int  # contacts: stage entries written from the <stage>_at columns
    quarantined: int


def _iso(seconds: int) -> str:
    return (BASE + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_contacts(path: Path, prefix: str, n: int, bad: int) -> File:
    owned = 0
    bad_at = set(range(n // (bad + 1), n, n // (bad + 1))) if bad else set()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "created_at", "account_id", "email", "source", "lead_score",
                    "lead_at", "mql_at", "sql_at"])
        for i in range(n):
            t = i * 97
            created = "not a date" if i in bad_at else _iso(t)
            mql = _iso(t + 86_400) if i % 3 == 0 else ""
            sql = _iso(t + 3 * 86_400) if i % 10 == 0 else ""
            w.writerow([f"{prefix}{i}", created, f"acct{i % 5000}", f"u{i}@{prefix}.example",
                        "PAID_SEARCH" if i % 2 else "ORGANIC_SEARCH", i % 100,
                        _iso(t + 60), mql, sql])
            if i not in bad_at:
                owned += 1 + (mql != "") + (sql != "")
    return File("contacts", path, prefix, n - len(bad_at), owned, len(bad_at))


def write_stage_events(path: Path, prefix: str, n: int) -> File:
    stages = ("lead", "mql", "sql", "opportunity")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "stage", "entered_at"])
        for i in range(n):
            w.writerow([f"{prefix}{i // 4}", stages[i % 4], _iso(i * 53)])
    return File("stage_events", path, prefix, n, 0, 0)


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[File]]:
    base = tmp_path_factory.mktemp("crash")
    files = [
        write_contacts(base / "contacts_a.csv", "kA-", CONTACT_ROWS, 0),
        write_contacts(base / "contacts_b.csv", "kB-", CONTACT_ROWS, BAD_ROWS),
        write_stage_events(base / "events_c.csv", "kC-", EVENT_ROWS),
    ]
    template = base / "template"
    Workspace.init(template).close()
    return template, files


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start(script: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=child_env(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child did not start: {line!r} {err}")
    return proc


def import_args(ws: Path, files: list[File]) -> list[str]:
    args = [str(ws)]
    for f in files:
        args += [f.table, str(f.path)]
    return args


def present(ws: Workspace, f: File) -> dict[str, int]:
    """Counts of everything one file's import writes."""
    like = f.prefix + "%"
    (ledger,) = ws.query("SELECT count(*) FROM _imports WHERE file_name = ? AND "
                         "status = 'imported'", [f.path.name])[0]
    (quarantined,) = ws.query(
        "SELECT count(*) FROM _quarantine q JOIN _imports i USING (import_id) "
        "WHERE i.file_name = ? AND i.status = 'imported'", [f.path.name])[0]
    if f.table == "contacts":
        (rows,) = ws.query("SELECT count(*) FROM contacts WHERE contact_id LIKE ?", [like])[0]
        (distinct,) = ws.query("SELECT count(DISTINCT contact_id) FROM contacts "
                               "WHERE contact_id LIKE ?", [like])[0]
        (stages,) = ws.query("SELECT count(*) FROM stage_events WHERE _from_contact AND "
                             "contact_id LIKE ?", [like])[0]
    else:
        (rows,) = ws.query("SELECT count(*) FROM stage_events WHERE NOT _from_contact AND "
                           "contact_id LIKE ?", [like])[0]
        (distinct,) = ws.query("SELECT count(*) FROM (SELECT DISTINCT contact_id, stage, "
                               "entered_at FROM stage_events WHERE NOT _from_contact AND "
                               "contact_id LIKE ?)", [like])[0]
        stages = 0
    return {"rows": rows, "distinct": distinct, "owned_stages": stages, "ledger": ledger,
            "quarantined": quarantined}


def full(f: File) -> dict[str, int]:
    return {"rows": f.rows, "distinct": f.rows, "owned_stages": f.owned_stages, "ledger": 1,
            "quarantined": f.quarantined}


EMPTY = {"rows": 0, "distinct": 0, "owned_stages": 0, "ledger": 0, "quarantined": 0}


def check_consistent(ws: Workspace, files: list[File], reported: set[str]) -> list[bool]:
    """Each file all there or not at all; returns which files are there."""
    there = []
    for f in files:
        counts = present(ws, f)
        assert counts in (full(f), EMPTY), f"{f.path.name} is partly imported: {counts}"
        there.append(counts == full(f))
        if f.path.name in reported:
            assert there[-1], f"{f.path.name} was reported imported but is missing"
    assert there == sorted(there, reverse=True), f"imports committed out of order: {there}"
    orphans = ws.query("SELECT count(*) FROM _quarantine WHERE import_id NOT IN "
                       "(SELECT import_id FROM _imports)")[0][0]
    assert orphans == 0
    for (raw,) in ws.query("SELECT raw_file FROM _imports WHERE raw_file IS NOT NULL"):
        assert (ws.path / "raw" / raw).is_file(), f"ledger names a missing raw file {raw}"
    return there


def run_child(ws: Path, files: list[File], kill_at: tuple[int, float] | None
              ) -> tuple[int, set[str], list[float]]:
    """Run the imports in a child.

    ``kill_at = (k, seconds)``: SIGKILL the child ``seconds`` after its k-th report (k = 0: after
    "ready"), so kill moments follow the child's progress rather than its start-up time.
    Returns the exit status, the files it reported as imported, and the moments (seconds after
    "ready") of the reports it made ("done" per file, then "closed") before the kill.
    """
    proc = start(CHILD, *import_args(ws, files))
    assert proc.stdout is not None
    ready = time.monotonic()
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read(stream: IO[str]) -> None:
        for line in stream:
            lines.put((time.monotonic() - ready, line))
        lines.put((time.monotonic() - ready, ""))

    reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
    reader.start()
    marks, text = [0.0], []
    want = len(files) + 1 if kill_at is None else kill_at[0]
    while len(marks) <= want:
        at, line = lines.get(timeout=120)
        if not line:
            break
        text.append(line)
        if "done " in line or "closed" in line:
            marks.append(at)
    if kill_at is not None:
        time.sleep(kill_at[1])
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    reader.join(timeout=30)
    while not lines.empty():
        at, line = lines.get()
        text.append(line)
        if "done " in line or "closed" in line:
            marks.append(at)
    if kill_at is None:
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    # (DuckDB may draw a progress bar on the same stream, so search rather than split lines)
    reported = {Path(p).name for p in re.findall(r"done (\S+) ", "".join(text))}
    return proc.returncode, reported, marks


class Timeline:
    """How long each part of the child's run takes (import 1, 2, 3, then close(), where DuckDB
    checkpoints), updated from every run, so that kill moments follow the machine's speed."""

    def __init__(self, marks: list[float]) -> None:
        self.parts = [b - a for a, b in itertools.pairwise(marks)]

    def learn(self, marks: list[float]) -> None:
        for i, (a, b) in enumerate(itertools.pairwise(marks)):
            self.parts[i] = (self.parts[i] + (b - a)) / 2

    def pick(self, rng: random.Random) -> tuple[int, float]:
        """A moment spread uniformly over the run, as (part, seconds into it)."""
        moment = rng.uniform(0.0, sum(self.parts))
        for k, part in enumerate(self.parts):
            if moment < part:
                return k, moment
            moment -= part
        return len(self.parts) - 1, self.parts[-1]


def test_kill_during_import_leaves_each_file_whole_or_absent(
        crash_setup: tuple[Path, list[File]], tmp_path: Path) -> None:
    template, files = crash_setup

    # One uninterrupted run: the result to expect, and how long the imports take.
    ws_path = tmp_path / "baseline"
    shutil.copytree(template, ws_path)
    _, _, marks = run_child(ws_path, files, None)
    assert len(marks) == len(files) + 2, marks  # ready, one report per file, closed
    with Workspace.open(ws_path) as ws:
        assert check_consistent(ws, files, set()) == [True, True, True]

    rng = random.Random(SEED)
    timeline = Timeline(marks)
    kills = 0
    seen: dict[str, int] = {"none": 0, "A": 0, "A+B": 0, "all": 0}
    for i in range(KILLS + 8):  # a child that finished before its kill moment gets redrawn
        if kills == KILLS:
            break
        ws_path = tmp_path / f"ws{i}"
        shutil.copytree(template, ws_path)
        k, offset = timeline.pick(rng)
        t0 = time.monotonic()
        code, reported, observed = run_child(ws_path, files, (k, offset))
        timeline.learn(observed)
        t1 = time.monotonic()
        kills += code == -signal.SIGKILL
        with Workspace.open(ws_path) as ws:
            there = check_consistent(ws, files, reported)
            seen[["none", "A", "A+B", "all"][sum(there)]] += 1
            # Re-run the import that was in flight (the first one the child did not report;
            # it may have committed) to completion: no duplicates, exactly the file's rows.
            pending = [f for f in files if f.path.name not in reported]
            if pending:
                assert ws.import_file(pending[0].table, pending[0].path).ok
                done = len(files) - len(pending) + 1
                assert check_consistent(ws, files, set()) == (
                    [True] * done + [False] * (len(files) - done))
        shutil.rmtree(ws_path)
        if os.environ.get("CRASH_DEBUG"):
            print(f"kill {i}: part {k} +{offset:.2f} s, exit {code}, committed {there}, "
                  f"child {t1 - t0:.2f} s, check+rerun {time.monotonic() - t1:.2f} s")
    assert kills == KILLS, f"only {kills} children were killed before they finished"
    # The kill moments spread over the whole run, so every file is caught in flight sometimes.
    assert seen["none"] and seen["A"] and seen["A+B"], seen


def test_second_writer_gets_a_clear_message_naming_the_holder(tmp_path: Path) -> None:
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    holder = start(HOLDER, str(ws_path))
    try:
        with pytest.raises(WorkspaceError) as info:
            Workspace.open(ws_path).connection()
        message = info.value.message
        assert f"process {holder.pid}" in message
        assert str(ws_path) in message
        assert "one process" in message and "try again" in message
        assert "Traceback" not in message and "IO Error" not in message
        assert info.value.__cause__ is None and info.value.__suppress_context__
        with pytest.raises(WorkspaceError, match=f"process {holder.pid}"):
            Workspace.open(ws_path, read_only=True).connection()
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
    with Workspace.open(ws_path) as ws:  # free again once the holder has closed it
        assert ws.query("SELECT count(*) FROM _imports") == [(0,)]
