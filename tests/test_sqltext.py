"""SQL literals: quotes doubled, only plain values accepted, the same value read back."""

from __future__ import annotations

import duckdb
import pytest

from funnelboard.ingest.sqltext import value


@pytest.mark.parametrize("v", [None, True, False, 0, -12, 10**15, "", "o'neil",
                               "'; DROP TABLE t; --", "é ✓ \\n", '{"a": "b\'c"}'])
def test_values_read_back_unchanged(v: object) -> None:
    got = duckdb.connect().execute(f"SELECT {value(v)}").fetchone()  # type: ignore[arg-type]
    assert got is not None and got[0] == v


def test_other_values_are_refused() -> None:
    with pytest.raises(TypeError):
        value(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        value("a\x00b")
