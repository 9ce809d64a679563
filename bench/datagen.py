"""Fast, vectorised generators for large canonical CSVs (numpy + pyarrow.csv).

Used by ``bench_import.py`` when ``funnelboard.demo`` has no ``write_*_csv`` generator. Rows are
written in chunks of 500k, so 10M rows need a few hundred MB of memory at most.

Contacts: ``contact_id, created_at, account_id, email, source, channel, utm_source, utm_medium,
lead_score, lead_at, mql_at, sql_at, opportunity_at, customer_at`` (ISO timestamps with ``Z``;
later stages mostly empty). Stage events: ``contact_id, stage, entered_at`` with unique keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

CHUNK = 500_000
START = np.datetime64("2023-01-01T00:00:00", "s")
SPAN_S = 2 * 365 * 86_400  # created between 2023-01-01 and 2024-12-31
DAY = 86_400

SOURCES = np.array(["ORGANIC_SEARCH", "PAID_SEARCH", "PAID_SOCIAL", "EMAIL_MARKETING",
                    "DIRECT_TRAFFIC", "REFERRALS", "OFFLINE", "SOCIAL_MEDIA"])
CHANNELS = np.array(["organic_search", "paid_search", "paid_social", "email", "direct",
                     "referral", "events", "organic_social"])
UTM_SOURCES = np.array(["google", "google", "linkedin", "newsletter", "", "partner", "", ""])
UTM_MEDIUMS = np.array(["organic", "cpc", "paid_social", "email", "", "referral", "", ""])
STAGES = ("lead", "mql", "sql", "opportunity", "customer")
#: share of contacts that reach each stage (lead is everyone)
REACH = (1.0, 0.30, 0.10, 0.04, 0.01)


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _digits(out: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    for k in range(width - 1, -1, -1):
        out[:, col + k] = 48 + values % 10
        values = values // 10


def _iso(seconds: np.ndarray, reached: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` strings built byte by byte (much faster than strftime)."""
    ts = START + seconds.astype("timedelta64[s]")
    day = ts.astype("datetime64[D]")
    month = ts.astype("datetime64[M]")
    year = ts.astype("datetime64[Y]").astype(np.int64) + 1970
    sod = (ts - day).astype(np.int64)
    out = np.empty((len(ts), 20), dtype=np.uint8)
    out[:] = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)
    _digits(out, 0, year, 4)
    _digits(out, 5, month.astype(np.int64) % 12 + 1, 2)
    _digits(out, 8, (day - month).astype(np.int64) + 1, 2)
    _digits(out, 11, sod // 3600, 2)
    _digits(out, 14, sod // 60 % 60, 2)
    _digits(out, 17, sod % 60, 2)
    offsets = pa.py_buffer(np.arange(0, 20 * (len(ts) + 1), 20, dtype=np.int32))
    validity = None if reached is None else pa.py_buffer(np.packbits(reached,
                                                                     bitorder="little"))
    return pa.StringArray.from_buffers(len(ts), offsets, pa.py_buffer(out.tobytes()), validity)


def _pick(values: np.ndarray, idx: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)),
                                          pa.array(values)).cast(pa.string())


def _write(path: Path, n: int, seed: int, make: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    rng = np.random.default_rng(seed)
    writer = None
    try:
        for start in range(0, n, CHUNK):
            batch = make(rng, start, min(n, start + CHUNK))  # type: ignore[operator]
            if writer is None:
                writer = pacsv.CSVWriter(str(tmp), batch.schema,
                                         write_options=pacsv.WriteOptions(quoting_style="none"))
            writer.write_table(batch)
        if writer is None:  # n == 0: header only
            tmp.write_text("", encoding="utf-8")
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path


def _contacts(rng: np.random.Generator, lo: int, hi: int) -> pa.Table:
    m = hi - lo
    ids = np.arange(lo + 1, hi + 1)
    created = rng.integers(0, SPAN_S, m)
    src = rng.integers(0, len(SOURCES), m)
    cols: dict[str, pa.Array] = {
        "contact_id": _ids("c", ids),
        "created_at": _iso(created),
        "account_id": _ids("a", rng.integers(1, max(2, hi // 10), m)),
        "email": pc.binary_join_element_wise(_ids("user", ids), "@example.com", ""),
        "source": _pick(SOURCES, src),
        "channel": _pick(CHANNELS, src),
        "utm_source": _pick(UTM_SOURCES, src),
        "utm_medium": _pick(UTM_MEDIUMS, src),
        "lead_score": pa.array(rng.integers(0, 101, m)).cast(pa.string()),
    }
    at = created.copy()
    reached = np.ones(m, dtype=bool)
    prev = 1.0
    for stage, share in zip(STAGES, REACH, strict=True):
        reached &= rng.random(m) < share / prev
        prev = share
        at = at + rng.integers(0, 20 * DAY, m)
        cols[f"{stage}_at"] = _iso(at, reached)
    return pa.table(cols)


def _stage_events(rng: np.random.Generator, lo: int, hi: int) -> pa.Table:
    i = np.arange(lo, hi)
    contact = i // len(STAGES) + 1
    stage = i % len(STAGES)
    entered = (contact * 7919) % SPAN_S + stage * 10 * DAY + rng.integers(0, 9 * DAY, hi - lo)
    return pa.table({"contact_id": _ids("c", contact), "stage": _pick(np.array(STAGES), stage),
                     "entered_at": _iso(entered)})


def write_contacts_csv(path: str | Path, n: int, seed: int = 1) -> Path:
    """Write ``n`` canonical contact rows to ``path`` (contact ids c1..cN)."""
    return _write(Path(path), n, seed, _contacts)


def write_stage_events_csv(path: str | Path, n: int, seed: int = 1) -> Path:
    """Write ``n`` stage entries (five per contact, keys unique) to ``path``."""
    return _write(Path(path), n, seed, _stage_events)
