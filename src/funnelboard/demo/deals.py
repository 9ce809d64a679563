"""Opportunities and their stage history, for contact-sourced and customer (renewal,
expansion) deals alike.

A deal is described by its creation and (planned) close time, whether it is won once it closes
and how far a lost deal got; the stage path discovery -> demo -> proposal -> negotiation ->
closed_won / closed_lost is spread over the cycle. Deals that would close after the end date
are open, in the stage they had reached by then.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.company import AE_LIST, COUNTRY_LIST, Accounts
from funnelboard.demo.writers import DAY, BoolArray, FloatArray, IntArray

OPEN_STAGES = ("discovery", "demo", "proposal", "negotiation")
ALL_STAGES = (*OPEN_STAGES, "closed_won", "closed_lost")
DEFAULT_P = np.array([.1, .2, .5, .8])
FRACTIONS = np.array([0.0, .12, .45, .75])
FORECAST = ("Pipeline", "Pipeline", "Best Case", "Commit", "Closed", "Omitted")
TYPES = ("new_business", "expansion", "renewal")
SOURCE_TYPES = ("marketing", "sales", "partner", "other")
CURRENCIES = ("USD", "EUR", "GBP")


@dataclass
class Deals:
    """Opportunities as parallel arrays (one entry per deal)."""

    account: IntArray
    contact: IntArray  # global contact number or -1
    created: IntArray  # epoch seconds
    close: IntArray  # epoch seconds of the (planned) close
    won: BoolArray  # won once closed
    reach: IntArray  # furthest open stage of a lost deal (won deals reach 3)
    amount: FloatArray  # USD, the whole contract
    term: IntArray  # months
    type: IntArray  # index into TYPES
    source_type: IntArray  # index into SOURCE_TYPES, -1 = empty (derived on import)
    k: IntArray  # channel or -1
    campaign: IntArray  # or -1

    @property
    def n(self) -> int:
        return len(self.account)

    @staticmethod
    def concat(parts: list[Deals]) -> Deals:
        return Deals(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                        for f in fields(Deals)})

    def closed(self, end_ts: int) -> BoolArray:
        return np.asarray(self.close <= end_ts)

    def stage_times(self, seed: int) -> IntArray:
        """Entry time of each open stage (deals x 4), -1 where the path never goes."""
        rng = np.random.default_rng([seed, 300])
        frac = FRACTIONS + np.concatenate([np.zeros((self.n, 1)),
                                           rng.uniform(-.04, .04, (self.n, 3))], axis=1)
        span = (self.close - self.created).astype(np.float64)
        t = self.created[:, None] + (frac * span[:, None]).astype(np.int64)
        reach = np.where(self.won, 3, self.reach)
        return np.where(np.arange(4)[None, :] <= reach[:, None], t, -1)


def amounts(rng: np.random.Generator, segment: IntArray) -> tuple[FloatArray, IntArray]:
    """Contract value (USD) and term in months by segment."""
    n = len(segment)
    acv = np.array([7_000.0, 22_000.0, 70_000.0])[segment] * np.exp(rng.normal(0, .45, n))
    u = rng.random(n)
    term = np.where(segment == 0, 12,
                    np.where(segment == 1, np.where(u < .8, 12, 24),
                             np.where(u < .5, 12, np.where(u < .8, 24, 36))))
    return np.round(acv * term / 12 / 10) * 10, term.astype(np.int64)


def write_deals(out: w.CsvOut, stages_out: w.CsvOut, deals: Deals, acc: Accounts,
                campaign_ids: list[str], fx: dict[str, FloatArray], d0: int, end_ts: int,
                seed: int) -> None:
    rng = np.random.default_rng([seed, 301])
    n = deals.n
    closed = deals.closed(end_ts)
    won = closed & deals.won
    times = deals.stage_times(seed)
    seen = (times >= 0) & (times <= end_ts)
    current = np.where(seen.any(axis=1), seen.sum(axis=1) - 1, 0)
    stage = np.where(won, 4, np.where(closed, 5, current))
    prob = DEFAULT_P[np.minimum(current, 3)]
    tweak = rng.random(n) < .25
    prob = np.where(tweak, np.clip(prob + rng.choice([-.1, .1], n), .05, .9), prob)
    prob = np.where(won, 1.0, np.where(closed, 0.0, prob))

    close_day = deals.close // DAY
    stale = ~closed & (rng.random(n) < .08)
    stale_day = np.maximum(end_ts // DAY - rng.integers(3, 45, n), deals.created // DAY + 1)
    close_day = np.where(stale, stale_day, close_day)

    a = deals.account
    region = acc.region[a]
    uk = acc.country[a] == COUNTRY_LIST.index("United Kingdom")
    foreign = (region == 1) & (rng.random(n) < .45)
    cur = np.where(foreign, np.where(uk, 2, 1), 0)
    pos = np.clip(deals.created // DAY - d0, 0, len(fx["EUR"]) - 1)
    rate = np.where(cur == 1, fx["EUR"][pos], np.where(cur == 2, fx["GBP"][pos], 1.0))
    amount = deals.amount / rate

    names = w.join(acc.names(a), w.text((" - New business", " - Expansion", " - Renewal"),
                                        deals.type))
    has_k = (deals.k >= 0) & (rng.random(n) < .7)
    has_camp = (deals.campaign >= 0) & (rng.random(n) < .85)
    competitor = rng.integers(0, len(cat.COMPETITORS), n)
    comp_ok = (deals.type == 0) & (rng.random(n) < .65)
    reason = rng.choice(len(cat.LOSS_REASONS), n, p=cat.LOSS_WEIGHTS)
    lost = closed & ~won
    order = np.argsort(deals.created, kind="stable")
    for lo in range(0, n, 200_000):
        i = order[lo: lo + 200_000]
        out.write({
            "opportunity_id": w.ids("O", i + 1, 7),
            "created_at": w.ts(deals.created[i]),
            "amount": w.money(amount[i]),
            "currency": w.pick(CURRENCIES, cur[i]),
            "account_id": w.ids("A", a[i] + 1, 7),
            "contact_id": w.ids("C", deals.contact[i] + 1, 8, deals.contact[i] >= 0),
            "name": names.take(i),
            "stage": w.pick(ALL_STAGES, stage[i]),
            "is_closed": w.bools(closed[i]),
            "is_won": w.bools(won[i]),
            "close_date": w.dates(close_day[i]),
            "probability": w.nums(prob[i], 2),
            "forecast_category": w.pick(FORECAST, stage[i]),
            "type": w.pick(TYPES, deals.type[i]),
            "source_type": w.pick(SOURCE_TYPES, deals.source_type[i],
                                  deals.source_type[i] >= 0),
            "channel": w.pick(cat.CHANNEL_KEYS, deals.k[i], has_k[i]),
            "campaign_id": w.pick(campaign_ids, deals.campaign[i], has_camp[i]),
            "owner": w.pick(AE_LIST, acc.owner[a[i]]),
            "segment": w.pick(cat.SEGMENTS, acc.segment[a[i]], rng.random(len(i)) < .6),
            "competitor": w.pick(cat.COMPETITORS, competitor[i], comp_ok[i]),
            "loss_reason": w.pick(cat.LOSS_REASONS, reason[i], lost[i]),
            "term_months": w.ints(deals.term[i]),
        })
    # stage history: every open stage entered by the end, then the closing stage
    row, col = np.nonzero(seen)
    close_rows = np.flatnonzero(closed)
    who = np.concatenate([row, close_rows])
    st = np.concatenate([col, np.where(won[close_rows], 4, 5)])
    when = np.concatenate([times[row, col], deals.close[close_rows]])
    srt = np.lexsort((when, who))
    who, st, when = who[srt], st[srt], when[srt]
    for lo in range(0, len(who), 500_000):
        sl = slice(lo, lo + 500_000)
        stages_out.write({"opportunity_id": w.ids("O", who[sl] + 1, 7),
                          "stage": w.pick(ALL_STAGES, st[sl]),
                          "entered_at": w.ts(when[sl])})
