"""Rows that follow from the customer base: MRR, weekly product usage, NPS, onboarding survey."""

from __future__ import annotations

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.revenue import Revenue
from funnelboard.demo.timeline import Timeline, epoch_day, nth_weekday
from funnelboard.demo.writers import DAY, FloatArray, IntArray

BLOCKERS = ("Price", "Data migration effort", "Internal buy-in", "Security review", "Nothing")


def plan_and_seats(mrr: FloatArray) -> tuple[IntArray, IntArray]:
    plan = np.where(mrr < 1500, 0, np.where(mrr < 6000, 1, 2))
    seats = np.ceil(mrr / np.array(cat.SEAT_PRICE)[plan]).astype(np.int64)
    return plan.astype(np.int64), np.maximum(seats, 1)


def write_mrr(out: w.CsvOut, rev: Revenue, tl: Timeline) -> None:
    month_day = tl.month_start_days()
    m, r = np.nonzero(rev.mrr.T > 0)
    for lo in range(0, len(m), 500_000):
        mm, rr = m[lo: lo + 500_000], r[lo: lo + 500_000]
        value = rev.mrr[rr, mm]
        plan, seats = plan_and_seats(value)
        out.write({"month": w.dates(month_day[mm]),
                   "account_id": w.ids("A", rev.customers[rr] + 1, 7),
                   "mrr": w.money(value), "plan": w.pick(cat.PLANS, plan),
                   "seats": w.ints(seats)})


def write_usage(out: w.CsvOut, rev: Revenue, tl: Timeline, seed: int) -> None:
    """One row per customer and Monday (weekly samples keep the table small)."""
    rng = np.random.default_rng([seed, 330])
    soon = rev.churn_soon()
    mondays = np.flatnonzero(tl.weekday == 0)
    batch: list[tuple[IntArray, IntArray]] = []
    size = 0
    for i, pos in enumerate(mondays):
        m = int(tl.month[pos])
        rows = np.flatnonzero(rev.mrr[:, m] > 0)
        batch.append((np.full(len(rows), pos), rows))
        size += len(rows)
        if size >= 300_000 or i == len(mondays) - 1:
            pos_a = np.concatenate([b[0] for b in batch]).astype(np.int64)
            r = np.concatenate([b[1] for b in batch]).astype(np.int64)
            mm = tl.month[pos_a]
            _, seats = plan_and_seats(rev.mrr[r, mm])
            util = rev.health[r] * (1 - .45 * soon[r, mm]) * rng.uniform(.88, 1.12, len(r))
            active = rng.binomial(seats, np.clip(util, .03, 1.0))
            out.write({"date": w.dates(tl.day[pos_a]),
                       "account_id": w.ids("A", rev.customers[r] + 1, 7),
                       "active_users": w.ints(active), "seats": w.ints(seats),
                       "key_events": w.ints(rng.poisson(active * 24.0))})
            batch, size = [], 0


def write_nps(out: w.CsvOut, rev: Revenue, tl: Timeline, seed: int) -> None:
    """Relationship NPS every February and August."""
    rng = np.random.default_rng([seed, 340])
    soon = rev.churn_soon()
    first_id = 0
    for year in range(tl.start.year, tl.end.year + 1):
        for month, half in ((2, "H1"), (8, "H2")):
            day = epoch_day(nth_weekday(year, month, 1, 2))
            if not tl.d0 <= day <= tl.day[-1]:
                continue
            m = int(tl.month[day - tl.d0])
            act = np.flatnonzero(rev.mrr[:, m] > 0)
            r1 = act[rng.random(len(act)) < .5]
            r2 = r1[rng.random(len(r1)) < .3]
            r = np.concatenate([r1, r2])
            primary = np.arange(len(r)) < len(r1)
            when = (day + rng.integers(0, 11, len(r))) * DAY + rng.integers(
                8 * 3600, 20 * 3600, len(r))
            keep = when <= tl.end_ts
            r, primary, when = r[keep], primary[keep], when[keep]
            mean = 7.2 + 4 * (rev.health[r] - .72) - 3.5 * soon[r, m]
            score = np.clip(np.rint(rng.normal(mean, 1.7)), 0, 10).astype(np.int64)
            band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
            offs = np.cumsum([0] + [len(g) for g in cat.NPS_COMMENTS])[:-1]
            cnt = np.array([len(g) for g in cat.NPS_COMMENTS])
            comment = offs[band] + (rng.random(len(r)) * cnt[band]).astype(np.int64)
            flat = [c for g in cat.NPS_COMMENTS for c in g]
            order = np.argsort(when, kind="stable")
            r, when, score, comment = r[order], when[order], score[order], comment[order]
            primary = primary[order]
            n = len(r)
            out.write({
                "response_id": w.ids("N", first_id + 1 + np.arange(n), 7),
                "responded_at": w.ts(when),
                "score": w.ints(score),
                "account_id": w.ids("A", rev.customers[r] + 1, 7),
                "contact_id": w.ids("C", rev.contact[r] + 1, 8, primary & (rev.contact[r] >= 0)),
                "survey": w.const(f"Relationship NPS {year}-{half}", n),
                "comment": w.pick(flat, comment),
            }, n)
            first_id += n


def write_onboarding(out: w.CsvOut, rev: Revenue, tl: Timeline, seed: int) -> None:
    """Two answers per new customer, five weeks after the first MRR month."""
    rng = np.random.default_rng([seed, 350])
    active = rev.mrr > 0
    has = np.asarray(active.any(axis=1), dtype=bool)
    first = np.argmax(active, axis=1)
    when = tl.month_start_days()[first] * DAY + 35 * DAY + 15 * 3600
    r = np.flatnonzero(has & ~rev.initial & (when <= tl.end_ts) & (rng.random(len(has)) < .7))
    r = r[np.argsort(when[r], kind="stable")]
    ease = np.clip(np.rint(rng.normal(2 + 3 * rev.health[r], .7)), 1, 5).astype(np.int64)
    blocker = rng.integers(0, len(BLOCKERS), len(r))
    n = len(r)
    both = np.repeat(np.arange(n), 2)
    q = np.tile([0, 1], n)
    ease_txt = np.array(["1", "2", "3", "4", "5"])
    out.write({
        "response_id": w.ids("S", rev.customers[r][both] + 1, 7),
        "responded_at": w.ts(when[r][both]),
        "survey": w.const("Onboarding survey", 2 * n),
        "question": w.pick(("How easy was onboarding (1-5)?",
                            "What almost stopped you from buying?"), q),
        "answer": w.pick(list(ease_txt) + list(BLOCKERS),
                         np.where(q == 0, ease[both] - 1, 5 + blocker[both])),
        "score": w.nums(ease[both].astype(np.float64), 0, q == 0),
        "contact_id": w.ids("C", rev.contact[r][both] + 1, 8, rev.contact[r][both] >= 0),
        "account_id": w.ids("A", rev.customers[r][both] + 1, 7),
    }, 2 * n)
