"""Customers after the sale: MRR month by month, renewals, expansions, contractions, churn and
win-backs; then product usage, NPS and the onboarding survey that follow from it.

One account is always made to churn at its first renewal and come back three months later, so
every demo data set shows a reactivation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo.company import Accounts
from funnelboard.demo.contacts import OppSeeds
from funnelboard.demo.deals import Deals, amounts
from funnelboard.demo.timeline import Timeline, add_months, epoch_day
from funnelboard.demo.writers import DAY, BoolArray, FloatArray, IntArray

NO = -1


@dataclass
class Revenue:
    customers: IntArray  # account index per customer row
    mrr: FloatArray  # customers x months
    contact: IntArray  # primary contact per customer (global number)
    health: FloatArray  # product adoption 0-1 per customer
    deals: Deals  # every opportunity (contact-sourced first, then renewals and expansions)
    n_contact_deals: int
    initial: BoolArray  # already a customer on the first day

    def churn_soon(self, within: int = 3) -> FloatArray:
        """1 where an active customer's MRR drops to 0 within ``within`` months."""
        on = self.mrr > 0
        soon = np.zeros_like(self.mrr)
        for lag in range(1, within + 1):
            soon[:, :-lag] = np.maximum(soon[:, :-lag], on[:, :-lag] & ~on[:, lag:])
        return soon


def contact_deals(seeds: OppSeeds, n_accounts: int, initial: IntArray, d0: int, end_ts: int,
                  seed: int) -> Deals:
    """Deals of contacts; a deal on an account that already pays is an expansion."""
    rng = np.random.default_rng([seed, 310])
    n = len(seeds.contact)
    won = seeds.won & (seeds.close <= end_ts)
    first_win = np.full(n_accounts, np.iinfo(np.int64).max, dtype=np.int64)
    first_win[initial] = d0 * DAY
    np.minimum.at(first_win, seeds.account[won], seeds.close[won])
    expansion = seeds.created > first_win[seeds.account]
    amount, term = amounts(rng, seeds.segment)
    amount = np.where(expansion, np.round(amount * .35 / 10) * 10, amount)
    motion = np.array([c.motion for c in cat.CHANNELS])[seeds.k]
    src = np.where(motion == "outbound", 1, np.where(seeds.k == cat.K["partner"], 2, 0))
    src = np.where(rng.random(n) < .15, NO, src)
    reach = rng.choice(4, n, p=[.3, .3, .25, .15])
    return Deals(seeds.account, seeds.contact, seeds.created, seeds.close, seeds.won, reach,
                 amount, term, expansion.astype(np.int64), src, seeds.k, seeds.campaign)


def _month_of(tl: Timeline, secs: IntArray) -> IntArray:
    pos = np.clip(secs // DAY - tl.d0, 0, tl.n - 1)
    return np.asarray(np.where(secs // DAY > tl.day[-1], len(tl.months), tl.month[pos]),
                      dtype=np.int64)


def initial_customers(acc: Accounts, contacts: int, seed: int) -> IntArray:
    """Accounts that were already paying before the first day (the opening MRR)."""
    rng = np.random.default_rng([seed, 305])
    weight = np.where(acc.icp == 0, 3.0, np.where(acc.icp == 1, 1.5, .5))
    n = min(max(3, round(contacts * .004)), acc.n // 2)
    return np.sort(rng.choice(acc.n, size=n, replace=False, p=weight / weight.sum()))


def simulate_customers(tl: Timeline, deals: Deals, acc: Accounts, initial: IntArray,
                       seed: int) -> Revenue:
    rng = np.random.default_rng([seed, 320])
    end_ts, months = tl.end_ts, len(tl.months)
    mstart = tl.month_start_days() * DAY
    won = np.flatnonzero(deals.closed(end_ts) & deals.won)
    start = _month_of(tl, deals.close[won] + 14 * DAY)
    won, start = won[start < months], start[start < months]
    customers = np.union1d(deals.account[won], initial)
    row = np.searchsorted(customers, deals.account[won])
    c = len(customers)
    is_init = np.isin(customers, initial)
    adds = np.zeros((c, months))
    np.add.at(adds, (row, start), deals.amount[won] / deals.term[won])
    value, term_init = amounts(rng, acc.segment[customers])
    adds[is_init, 0] += value[is_init] / term_init[is_init]
    first = np.full(c, months, dtype=np.int64)
    np.minimum.at(first, row, start)
    first[is_init] = 0
    contact = np.full(c, NO, dtype=np.int64)
    term0 = np.full(c, 12, dtype=np.int64)
    if len(won):
        order = np.lexsort((deals.close[won], row))
        lead = order[np.r_[0, np.flatnonzero(np.diff(row[order])) + 1]]
        contact[row[lead]] = deals.contact[won[lead]]
        term0[row[lead]] = deals.term[won[lead]]
    renew_at = np.where(is_init, rng.integers(1, 13, c), NO)

    # one customer always churns at its first renewal and comes back three months later
    first_renewal = np.where(is_init, renew_at, first + term0)
    forced = np.full(c, NO, dtype=np.int64)
    ok = np.flatnonzero(first_renewal + 4 < months)
    if len(ok):
        j = ok[np.argmin(first_renewal[ok])]
        forced[j] = first_renewal[j]
    force_back = np.where(forced >= 0, forced + 3, NO)

    target = acc.target[customers]
    worked = acc.segment[customers] > 0
    p_loss = np.where(target, .05, .14)
    p_up = np.where(target, .8, .65)
    u = rng.random((6, c, months))
    mrr = np.zeros(c)
    last = np.zeros(c)
    churned_at = np.full(c, NO, dtype=np.int64)
    mat = np.zeros((c, months))
    synth: list[tuple[IntArray, IntArray, IntArray, FloatArray, int, bool | IntArray]] = []
    for m in range(months):
        active = mrr > 0
        due = active & (renew_at == m)
        # renewals (decided on the anniversary; the deal closes just before it). SMB plans
        # renew automatically, Mid-Market and Enterprise renewals are worked as deals
        lose = due & ((u[0, :, m] < p_loss) | (forced == m))
        idx = np.flatnonzero(due & worked)
        if len(idx):
            close = mstart[m] - rng.integers(0, 14, len(idx)) * DAY + 16 * 3600
            synth.append((idx, close, _cycle(rng, close, 175.0), mrr[idx] * 12, 2,
                          ~lose[idx]))
        last = np.where(lose, mrr, last)
        churned_at = np.where(lose, m, churned_at)
        mrr = np.where(lose, 0.0, mrr)
        keep = due & ~lose
        mrr = np.where(keep & (u[1, :, m] < .2), mrr * (.7 + .2 * u[2, :, m]), mrr)
        renew_at = np.where(keep, m + 12, renew_at)
        # expansions (a deal closed in the weeks before the month) and contractions
        try_up = active & ~due & (u[3, :, m] < .025) & (m - first >= 3)
        up = try_up & (u[4, :, m] < p_up)
        new = np.where(up, mrr * (1.15 + .3 * u[5, :, m]), mrr)
        idx = np.flatnonzero(try_up)
        if len(idx):
            close = mstart[m] - rng.integers(1, 20, len(idx)) * DAY + 15 * 3600
            value = np.maximum(new[idx] - mrr[idx], mrr[idx] * .2) * 12
            synth.append((idx, close, _cycle(rng, close, 130.0), value, 1, up[idx]))
        mrr = new
        down = active & ~due & ~up & (u[5, :, m] < .008)
        mrr = np.where(down, mrr * (.7 + .22 * u[2, :, m]), mrr)
        # new contracts (and expansion deals of contacts) start
        was_off = mrr <= 0
        mrr = mrr + adds[:, m]
        start_now = was_off & (mrr > 0)
        renew_at = np.where(start_now & (renew_at == NO), m + term0, renew_at)
        # win-backs
        back = (mrr <= 0) & (churned_at >= 0) & (m - churned_at >= 2) & (
            (u[0, :, m] > .955) | (force_back == m))
        mrr = np.where(back, last * (.7 + .3 * u[1, :, m]), mrr)
        renew_at = np.where(back, m + 12, renew_at)
        churned_at = np.where(back, NO, churned_at)
        mat[:, m] = np.round(mrr, 2)
    synth += _open_renewals(tl, np.where(worked, mrr, 0.0), renew_at, rng)
    deals_all = Deals.concat([deals, *(_as_deals(s, customers, contact, tl.d0 * DAY)
                                       for s in synth)])
    health = np.clip(rng.normal(.72, .15, c), .2, 1.0)
    return Revenue(customers, mat, contact, health, deals_all, deals.n, is_init)


def _cycle(rng: np.random.Generator, close: IntArray, median_days: float) -> IntArray:
    days = median_days * np.exp(rng.normal(0, .3, len(close)))
    return np.asarray(close - (days * DAY).astype(np.int64), dtype=np.int64)


def _open_renewals(tl: Timeline, mrr: FloatArray, renew_at: IntArray,
                   rng: np.random.Generator) -> list[tuple[IntArray, IntArray, IntArray,
                                                           FloatArray, int, bool | IntArray]]:
    """Renewals due in the next five months are open opportunities at the end date."""
    months = len(tl.months)
    idx = np.flatnonzero((mrr > 0) & (renew_at >= months) & (renew_at < months + 5))
    if not len(idx):
        return []
    due_day = np.array([epoch_day(add_months(tl.months[0], int(r))) for r in renew_at[idx]])
    close = due_day * DAY - 7 * DAY + 16 * 3600
    close = np.maximum(close, tl.end_ts + 3 * DAY)
    created = due_day * DAY - rng.integers(150, 200, len(idx)) * DAY + 10 * 3600
    keep = created <= tl.end_ts
    return [(idx[keep], close[keep], created[keep], mrr[idx[keep]] * 12, 2, True)]


def _as_deals(part: tuple[IntArray, IntArray, IntArray, FloatArray, int, bool | IntArray],
              customers: IntArray, contact: IntArray, start: int) -> Deals:
    """Renewal (kind 2) or expansion (kind 1) deals; those opened before the first day are
    left out (the renewal or expansion still happens)."""
    idx, close, created, value, kind, won = part
    keep = created >= start
    is_won = np.broadcast_to(np.asarray(won, dtype=bool), (len(idx),))[keep].copy()
    idx, close, created, value = idx[keep], close[keep], created[keep], value[keep]
    n = len(idx)
    return Deals(customers[idx], contact[idx], created, close, is_won,
                 np.full(n, 2), np.round(value / 10) * 10, np.full(n, 12),
                 np.full(n, kind), np.full(n, 1 if kind == 1 else 3), np.full(n, NO),
                 np.full(n, NO))
