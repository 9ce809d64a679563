"""The background hash-and-copy of an imported file into raw/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from funnelboard.ingest.rawcopy import CHUNK, RawCopy


def _file(tmp_path: Path, size: int) -> tuple[Path, str]:
    data = bytes(range(256)) * (size // 256) + b"tail"
    path = tmp_path / "Contacts.CSV"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_hash_and_copy_by_content_address(tmp_path: Path) -> None:
    path, digest = _file(tmp_path, 3 * CHUNK)  # several chunks
    raw = tmp_path / "raw"
    copy = RawCopy(path, raw)
    assert copy.digest() == digest
    rel = copy.store(path.suffix)
    assert rel == f"{digest[:2]}/{digest}.csv"
    assert (raw / rel).read_bytes() == path.read_bytes()
    assert [p.name for p in raw.iterdir() if p.is_file()] == []  # no temporary left


def test_an_existing_raw_file_is_kept_and_the_copy_dropped(tmp_path: Path) -> None:
    path, _ = _file(tmp_path, 1000)
    raw = tmp_path / "raw"
    first = RawCopy(path, raw).store(".csv")
    (raw / first).write_bytes(b"kept")  # the stored file is never replaced
    assert RawCopy(path, raw).store(".csv") == first
    assert (raw / first).read_bytes() == b"kept"
    assert not list(raw.glob(".incoming-*"))


def test_discard_and_hash_only(tmp_path: Path) -> None:
    path, digest = _file(tmp_path, 1000)
    raw = tmp_path / "raw"
    copy = RawCopy(path, raw)
    copy.discard()
    assert not list(raw.glob(".incoming-*"))
    with pytest.raises(RuntimeError):
        copy.store(".csv")
    only = RawCopy(path, tmp_path / "nothing", copy=False)
    assert only.digest() == digest and not (tmp_path / "nothing").exists()


def test_copies_left_by_a_killed_import_are_swept(tmp_path: Path) -> None:
    path, _ = _file(tmp_path, 1000)
    raw = tmp_path / "raw"
    raw.mkdir()
    stale = raw / ".incoming-999999999-abc.tmp"
    stale.write_bytes(b"half a file")
    RawCopy(path, raw).store(".csv")
    assert not stale.exists()


def test_a_missing_file_raises_in_the_caller(tmp_path: Path) -> None:
    copy = RawCopy(tmp_path / "gone.csv", tmp_path / "raw")
    with pytest.raises(FileNotFoundError):
        copy.digest()
    copy.discard()
    assert not list((tmp_path / "raw").glob(".incoming-*"))
