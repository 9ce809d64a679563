"""Fast writers of large canonical files for the import benchmarks (1M-10M rows).

``write_contacts_csv`` runs the same vectorised contact simulation as the demo company (with
its accounts kept in memory only) and writes exactly ``n`` rows; ``write_stage_events_csv``
writes exactly ``n`` stage entries of contacts ``C00000001`` onwards, so both files fit
together. The end date is fixed, so the files depend only on ``n`` and ``seed``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import build_plan
from funnelboard.demo.company import make_accounts
from funnelboard.demo.contact_rows import contact_columns
from funnelboard.demo.contacts import World, simulate
from funnelboard.demo.timeline import Timeline, epoch_day
from funnelboard.demo.volume import build_volume
from funnelboard.demo.writers import DAY

BENCH_END = dt.date(2025, 12, 31)
CHUNK = 250_000
#: Share of contacts whose history stops after 1..5 stages.
DEPTH = (.55, .2, .12, .08, .05)


def write_contacts_csv(path: Path, n: int, *, seed: int = 1) -> None:
    """Write ``n`` canonical contact rows (with the stage columns) to ``path``."""
    tl = Timeline(BENCH_END)
    world = World(tl, build_volume(tl, n, seed), make_accounts(max(n // 8, 12), seed),
                  build_plan(tl), seed)
    first = 0
    with w.CsvOut(path, "contacts") as out:
        for no, (lo, hi) in enumerate(world.volume.chunks(CHUNK)):
            ch = simulate(world, lo, hi, first, no, 0)
            out.write(contact_columns(world, ch), ch.n)
            first += ch.n


def write_stage_events_csv(path: Path, n: int, *, seed: int = 1) -> None:
    """Write ``n`` stage_events rows (some contacts re-enter MQL) to ``path``."""
    rng = np.random.default_rng([seed, 900])
    start = epoch_day(BENCH_END.replace(year=BENCH_END.year - 3)) * DAY
    span = 3 * 365 * DAY
    done = contact = 0
    with w.CsvOut(path, "stage_events") as out:
        while done < n:
            want = min(500_000, n - done)
            depth = rng.choice(5, want, p=DEPTH) + 1
            extra = (depth >= 2) & (depth < 5) & (rng.random(want) < .1)
            per = depth + extra
            m = int(np.searchsorted(np.cumsum(per), want)) + 1  # contacts needed
            depth, extra, per = depth[:m], extra[:m], per[:m]
            created = start + (rng.random(m) * span).astype(np.int64)
            gaps = (rng.gamma(1.3, 9.0, (m, 5)) * DAY).astype(np.int64)
            gaps[:, 0] = 0
            times = created[:, None] + np.cumsum(gaps, axis=1)
            who = np.repeat(np.arange(m), per)
            offset = np.arange(len(who)) - np.repeat(np.cumsum(per) - per, per)
            is_extra = offset >= depth[who]
            stage = np.where(is_extra, 1, offset)
            when = np.where(is_extra, times[who, 1] + 90 * DAY, times[who, np.minimum(offset, 4)])
            who, stage, when = who[:want], stage[:want], when[:want]
            out.write({"contact_id": w.ids("C", contact + who + 1, 8),
                       "stage": w.pick(w.STAGES, stage), "entered_at": w.ts(when)})
            done += want
            contact += m
