"""Streaming CSV output in canonical format, and vectorised column builders.

Columns are built as Arrow arrays from numpy arrays (never one Python object per row) and
written in batches with ``pyarrow.csv.CSVWriter``. Format: a plain header of canonical names,
timestamps ``YYYY-MM-DDTHH:MM:SSZ``, dates ``YYYY-MM-DD``, booleans ``true``/``false``, numbers
with a ``.`` decimal and no thousands separator, empty cells for missing values, no quoting
(values never contain a comma, a quote or a line break; Arrow refuses to write one if they do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

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
    """One canonical CSV file written batch by batch (header: the canonical column names).

    Batches are formatted and written by one background thread (Arrow releases the GIL), so
    the next batch can be built meanwhile; at most one batch waits. Order is preserved.
    """

    def __init__(self, path: Path, table: str) -> None:
        self.path = path
        self.table = table
        self.names = [n for n, _ in table_columns(table)]
        self.rows = 0
        self._sink = pa.OSFile(str(path), "wb")
        self._sink.write((",".join(self.names) + "\n").encode())
        self._options = pcsv.WriteOptions(include_header=False, quoting_style="none",
                                          batch_size=65_536)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None

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
        batch = pa.Table.from_arrays(arrays, names=self.names)
        self._wait()
        self._pending = self._pool.submit(pcsv.write_csv, batch, self._sink, self._options)
        self.rows += n

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown()
            self._sink.close()

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
    if (n + 1) * width >= 2**31:
        raise ValueError("write fixed-width strings in smaller batches")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = None
    nulls = 0
    if valid is not None:
        ok = np.asarray(valid, dtype=bool)
        nulls = int(n - ok.sum())
        bitmap = pa.py_buffer(np.packbits(ok, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat)), bitmap,
        nulls if bitmap is not None else 0)


_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
_CLOCK: list[npt.NDArray[np.uint8]] = []


def _digits(mat: npt.NDArray[np.uint8], col: int, values: IntArray, width: int) -> None:
    """Write ``values`` zero-padded into ``mat[:, col:col + width]`` (4 digits per lookup)."""
    v = np.asarray(values, dtype=np.int64)
    end = col + width
    while end > col:
        take = min(4, end - col)
        mat[:, end - take: end] = _DIGITS4[v % 10_000][:, 4 - take:]
        v = v // 10_000
        end -= take


def _clock() -> npt.NDArray[np.uint8]:
    """``HH:MM:SS`` for every second of a day (built once)."""
    if not _CLOCK:
        sod = np.arange(DAY)
        tab = np.empty((DAY, 8), dtype=np.uint8)
        _digits(tab, 0, sod // 3600, 2)
        _digits(tab, 3, sod // 60 % 60, 2)
        _digits(tab, 6, sod % 60, 2)
        tab[:, 2] = tab[:, 5] = ord(":")
        _CLOCK.append(tab)
    return _CLOCK[0]


def _calendar(lo: int, hi: int) -> npt.NDArray[np.uint8]:
    """``YYYY-MM-DD`` for epoch days lo..hi."""
    text = np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]"), unit="D")
    return np.frombuffer(text.astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10)


def ts(secs: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    """Epoch seconds -> ``2024-03-05T14:22:10Z`` strings (empty where not ``valid``)."""
    s = np.asarray(secs, dtype=np.int64)
    if valid is not None:
        s = np.where(valid, s, s[valid].min() if np.any(valid) else 0)
    mat = np.empty((len(s), 20), dtype=np.uint8)
    if len(s):
        days = s // DAY
        lo = int(days.min())
        mat[:, :10] = _calendar(lo, int(days.max()))[days - lo]
        mat[:, 11:19] = _clock()[s - days * DAY]
    mat[:, 10] = ord("T")
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
    """``vocab[idx]`` as a string array; an empty vocabulary entry is an empty cell.

    (Plain strings: Arrow's CSV writer is slower on dictionary arrays than ``take`` is.)
    """
    index = np.asarray(idx, dtype=np.int64)
    if valid is not None:
        index = np.where(valid, index, 0)
    return pc.take(_vocab(vocab), pa.array(index, mask=_mask(valid)))


text = pick


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
