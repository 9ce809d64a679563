"""Ad platforms: daily delivery and spend per campaign, and LinkedIn company engagement of
target accounts (ABM)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import CampaignPlan
from funnelboard.demo.company import Accounts
from funnelboard.demo.timeline import Timeline
from funnelboard.demo.volume import Volume
from funnelboard.demo.web import sample_pairs
from funnelboard.demo.writers import FloatArray, IntArray

CPM = {"google_ads": 48.0, "linkedin": 62.0, "meta": 11.0}
CTR = {"google_ads": .045, "linkedin": .0065, "meta": .011}
ENGAGE = {"google_ads": 0.0, "linkedin": .012, "meta": .02}


def ad_campaigns(plan: CampaignPlan) -> list[int]:
    return [i for i, c in enumerate(plan.campaigns) if c.platform]


def write_ads(out: w.CsvOut, tl: Timeline, plan: CampaignPlan, vol: Volume,
              paid_counts: IntArray, seed: int) -> FloatArray:
    """Write ad_performance; returns spend per ad campaign and day (campaigns x days).

    ``paid_counts`` (days x campaigns) holds the CRM contacts each campaign brought in; the
    platform's own (fractional, somewhat generous) conversion count is derived from it.
    """
    rng = np.random.default_rng([seed, 500])
    ads = ad_campaigns(plan)
    spend_all = np.zeros((len(plan.campaigns), tl.n))
    days: list[IntArray] = []
    cols: dict[str, list[IntArray | FloatArray]] = {
        k: [] for k in ("camp", "spend", "imp", "clicks", "eng", "conv")}
    for ci in ads:
        c = plan.campaigns[ci]
        k = next(k for k, (cand, _) in plan.choices.items() if ci in cand)
        cand, weights = plan.choices[k]
        j = int(np.flatnonzero(cand == ci)[0])
        share = weights[:, j] / np.maximum(weights.sum(axis=1), 1e-12)
        on = np.flatnonzero((tl.day >= c.start) & (tl.day <= c.end))
        expected = vol.expected[on, k] * share[on]
        spend = np.round(expected * c.cpl * np.exp(rng.normal(0, .15, len(on))) + 1.0, 2)
        imp = rng.poisson(spend / (CPM[c.platform] * rng.uniform(.85, 1.15, len(on))) * 1000)
        clicks = rng.binomial(imp, CTR[c.platform])
        eng = rng.binomial(imp, ENGAGE[c.platform])
        conv = np.round(paid_counts[on, ci] * rng.uniform(.75, 1.35, len(on))
                        + rng.poisson(.3, len(on)) * (clicks > 20), 2)
        spend_all[ci, on] = spend
        days.append(on)
        for name, arr in (("camp", np.full(len(on), ci)), ("spend", spend), ("imp", imp),
                          ("clicks", clicks), ("eng", eng), ("conv", conv)):
            cols[name].append(arr)
    day = np.concatenate(days)
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((flat["camp"], day))
    day = day[order]
    flat = {k: v[order] for k, v in flat.items()}
    camp = flat["camp"].astype(np.int64)
    platform = np.array([plan.campaigns[i].platform for i in range(len(plan.campaigns))])
    eng_ok = platform[camp] != "google_ads"
    out.write({
        "date": w.dates(tl.day[day]),
        "platform": w.pick(list(platform), camp),
        "campaign_id": w.pick([c.id for c in plan.campaigns], camp),
        "campaign_name": w.pick([c.name for c in plan.campaigns], camp),
        "impressions": w.ints(flat["imp"]),
        "clicks": w.ints(flat["clicks"]),
        "spend": w.money(flat["spend"]),
        "currency": w.const("USD", len(day)),
        "engagements": w.ints(flat["eng"], eng_ok),
        "conversions": w.nums(flat["conv"], 2),
    })
    return spend_all


def write_account_engagement(out: w.CsvOut, tl: Timeline, plan: CampaignPlan,
                             acc: Accounts, seed: int) -> None:
    """LinkedIn company engagement of target accounts while the ABM campaign runs."""
    rng = np.random.default_rng([seed, 510])
    abm = plan.campaigns[plan.index("LI-2001")]
    on = np.flatnonzero((tl.day >= abm.start) & (tl.day <= abm.end))
    targets = np.flatnonzero(acc.target)
    p = min(.35, 80_000 / max(len(targets) * len(on), 1))
    for lo in range(0, len(on), 120):
        days = on[lo: lo + 120]
        d, t = sample_pairs(rng, len(days), len(targets), p * tl.weekday_factor()[days])
        a = targets[t]
        seg = acc.segment[a]
        imp = rng.poisson(np.array([8.0, 18.0, 40.0])[seg]) + 1
        by_id = rng.random(len(d)) < .85
        out.write({
            "date": w.dates(tl.day[days[d]]),
            "platform": w.const("linkedin", len(d)),
            "account_id": w.ids("A", a + 1, 7, by_id),
            "company_domain": pc.if_else(pa.array(~by_id | (rng.random(len(d)) < .5)),
                                         acc.domains(a), pa.nulls(len(d), pa.string())),
            "company_name": acc.names(a),
            "impressions": w.ints(imp),
            "clicks": w.ints(rng.binomial(imp, .008)),
            "engagements": w.ints(rng.binomial(imp, .015)),
        }, len(d))
