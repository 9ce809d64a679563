"""The strict UTF-8 scan skips decoding plain-ASCII chunks, but never across a character
split between two chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from funnelboard.ingest import encoding


@pytest.mark.parametrize(("data", "ok"), [
    (b"abc\xc3" + b"\xa9def\n", True),    # é split across chunks, then ASCII
    (b"abc\xc3" + b"defg\n", False),      # a partial character followed by an ASCII chunk
    (b"abcd" + b"ef\xff\n", False),       # an invalid byte after an ASCII chunk
    (b"abcd" + b"efgh" + b"\n", True),
])
def test_scan_with_small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                data: bytes, ok: bool) -> None:
    monkeypatch.setattr(encoding, "CHUNK", 4)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert encoding._scan(path, "utf-8", None)[0] is ok


def test_a_broken_byte_far_into_an_ascii_file_falls_back_to_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1_100_000 + b"3,caf\xe9\n")  # > 2 chunks
    info = encoding.detect(path)
    assert info.encoding == "cp1252" and info.newlines == 1_100_002
