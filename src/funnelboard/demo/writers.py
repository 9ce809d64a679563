"""Streaming CSV output in canonical format, and vectorised column builders.

Columns are built as Arrow arrays from numpy arrays (never one Python object per row) and
written in batches with ``pyarrow.csv.CSVWriter``. Format: a plain header of canonical names,
timestamps ``YYYY-MM-DDTHH:MM:SSZ``, dates ``YYYY-MM-DD``, booleans ``true``/``false``, numbers
with a ``.`` decimal and no thousands separator, empty cells for missing values, no quoting
(values never contain a comma, a quote or a line break; Arrow refuses to write one if they do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from funnelboard.schema import TABLES, ColumnType

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MONEY = pa.decimal128(18, 2)
STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
DAY = 86_400


def table_columns(table: str) -> list[tuple[str, ColumnType]]:
    """Canonical (name, type) pairs of ``table``; contacts get the default stage columns."""
    cols: list[tuple[str, ColumnType]] = [(c.name, c.type) for c in TABLES[table].columns]
    if table == "contacts":
        cols += [(f"{s}_at", "ts") for s in STAGES]
    return cols


class CsvOut:
    """One canonical CSV file written batch by batch (header: the canonical column names)."""

    def __init__(self, path: Path, table: str) -> None:
        self.path = path
        self.table = table
        self.names = [n for n, _ in table_columns(table)]
        self.rows = 0
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._file.write((",".join(self.names) + "\n").encode())
        self._options = pcsv.WriteOptions(include_header=False, quoting_style="none",
                                          batch_size=65_536)

    def write(self, columns: Mapping[str, pa.Array], n: int | None = None) -> None:
        """Write one batch; canonical columns not given are empty cells."""
        unknown = set(columns) - set(self.names)
        if unknown:
            raise KeyError(f"{self.table} has no column(s) {sorted(unknown)}")
        if n is None:
            n = len(next(iter(columns.values())))
        if n == 0:
            return
        arrays = []
        for name in self.names:
            arr = columns.get(name)
            if arr is None:
                arr = pa.nulls(n, pa.string())
            elif len(arr) != n:
                raise ValueError(f"{self.table}.{name}: {len(arr)} values, expected {n}")
            arrays.append(arr)
        pcsv.write_csv(pa.Table.from_arrays(arrays, names=self.names), self._file,
                       self._options)
        self.rows += n

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvOut:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _mask(valid: BoolArray | None) -> BoolArray | None:
    return None if valid is None else ~np.asarray(valid, dtype=bool)


def _fixed(mat: npt.NDArray[np.uint8], valid: BoolArray | None) -> pa.Array:
    """Rows of a uint8 matrix as a string array (every value the same width)."""
    n, width = mat.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    bitmap = None
    nulls = 0
    if valid is not None:
        ok = np.asarray(valid, dtype=bool)
        nulls = int(n - ok.sum())
        bitmap = pa.py_buffer(np.packbits(ok, bitorder="little")) if nulls else None
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat)), bitmap,
        nulls if bitmap is not None else 0)


def _digits(mat: npt.NDArray[np.uint8], col: int, values: IntArray, width: int) -> None:
    v = values.copy()
    for j in range(col + width - 1, col - 1, -1):
        mat[:, j] = 48 + v % 10
        v //= 10


def ts(secs: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    """Epoch seconds -> ``2024-03-05T14:22:10Z`` strings (empty where not ``valid``)."""
    s = np.asarray(secs, dtype=np.int64)
    if valid is not None:
        s = np.where(valid, s, 0)
    days = (s // DAY).astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    mat = np.empty((len(s), 20), dtype=np.uint8)
    _digits(mat, 0, year, 4)
    _digits(mat, 5, month.astype(np.int64) % 12 + 1, 2)
    _digits(mat, 8, (days - month).astype(np.int64) + 1, 2)
    sod = s % DAY
    _digits(mat, 11, sod // 3600, 2)
    _digits(mat, 14, sod // 60 % 60, 2)
    _digits(mat, 17, sod % 60, 2)
    mat[:, 4] = mat[:, 7] = ord("-")
    mat[:, 10] = ord("T")
    mat[:, 13] = mat[:, 16] = ord(":")
    mat[:, 19] = ord("Z")
    return _fixed(mat, valid)


def dates(days: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    """Epoch days -> dates."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32(), mask=_mask(valid))


def ids(prefix: str, nums: npt.ArrayLike, width: int,
        valid: BoolArray | None = None) -> pa.Array:
    """``prefix`` + zero-padded number, e.g. ``C00000042`` (numbers must fit ``width``)."""
    v = np.asarray(nums, dtype=np.int64)
    if valid is not None:
        v = np.where(valid, v, 0)
    head = prefix.encode()
    mat = np.empty((len(v), len(head) + width), dtype=np.uint8)
    mat[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    _digits(mat, len(head), v, width)
    return _fixed(mat, valid)


def _vocab(vocab: Sequence[str] | pa.Array) -> pa.Array:
    if isinstance(vocab, pa.Array):
        return vocab
    return pa.array([w if w != "" else None for w in vocab], type=pa.string())


def pick(vocab: Sequence[str] | pa.Array, idx: npt.ArrayLike,
         valid: BoolArray | None = None) -> pa.Array:
    """``vocab[idx]`` as a dictionary array; an empty vocabulary entry is an empty cell."""
    index = np.asarray(idx, dtype=np.int32)
    if valid is not None:
        index = np.where(valid, index, 0)
    return pa.DictionaryArray.from_arrays(pa.array(index, mask=_mask(valid)), _vocab(vocab))


def text(vocab: Sequence[str] | pa.Array, idx: npt.ArrayLike,
         valid: BoolArray | None = None) -> pa.Array:
    """Like :func:`pick`, decoded to a plain string array (for joins)."""
    index = np.asarray(idx, dtype=np.int64)
    if valid is not None:
        index = np.where(valid, index, 0)
    return pc.take(_vocab(vocab), pa.array(index, mask=_mask(valid)))


def const(value: str, n: int, valid: BoolArray | None = None) -> pa.Array:
    return pick((value,), np.zeros(n, dtype=np.int64), valid)


def number_text(values: IntArray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def ints(values: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), mask=_mask(valid))


def nums(values: npt.ArrayLike, places: int = 2, valid: BoolArray | None = None) -> pa.Array:
    return pa.array(np.round(np.asarray(values, dtype=np.float64), places), mask=_mask(valid))


def money(values: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    arr = pa.array(np.round(np.asarray(values, dtype=np.float64), 2), mask=_mask(valid))
    return pc.cast(arr, MONEY, safe=False)


def bools(values: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), mask=_mask(valid))


def strings(values: Sequence[str | None]) -> pa.Array:
    """Small Python lists only (campaigns, events, annotations...)."""
    return pa.array([v if v else None for v in values], type=pa.string())
