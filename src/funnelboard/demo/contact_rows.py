"""A chunk of simulated contacts as canonical ``contacts`` columns (Arrow, vectorised).

Attribution is written the way CRMs export it: the raw ``source`` always, first-touch UTMs with
consistent source/medium pairs for web channels, and the canonical ``channel`` / ``motion``
only for part of the rows (the channel rules derive the rest).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.company import AE_LIST, COUNTRY_LIST, SDR_COUNT, SDR_LIST, SDR_OFFSET
from funnelboard.demo.contacts import (
    DET_CNT,
    DET_OFF,
    DETAILS,
    TITLE_CNT,
    TITLE_OFF,
    TITLES,
    UTM_MED,
    UTM_SRC,
    Chunk,
    World,
)
from funnelboard.demo.writers import STAGES, IntArray

_CH = cat.CHANNELS
_KEYS = [c.key for c in _CH]


EXPLICIT = np.array([c.explicit for c in _CH])
OWNERS = list(AE_LIST) + list(SDR_LIST)
_SUFFIX = pa.array([""] + [str(i) for i in range(1, 999)])


def sdr_of(region: IntArray, salt: IntArray) -> IntArray:
    return np.asarray(SDR_OFFSET[region] + salt % SDR_COUNT[region], dtype=np.int64)


def contact_columns(world: World, ch: Chunk) -> dict[str, pa.Array]:
    rng = np.random.default_rng([world.seed, 101, ch.no])
    n = ch.n
    acc_tab, campaigns = world.accounts, world.plan.campaigns
    has = ch.acc >= 0
    a = np.where(has, ch.acc, 0)
    first = w.text(cat.FIRST_NAMES, rng.integers(0, len(cat.FIRST_NAMES), n))
    last = w.text(cat.LAST_NAMES, rng.integers(0, len(cat.LAST_NAMES), n))
    suffix = w.pick(_SUFFIX, np.where(has, 0, rng.integers(1, 999, n)))
    domain = pc.if_else(pa.array(has), acc_tab.domains(a),
                        w.pick(cat.FREE_MAIL, rng.integers(0, len(cat.FREE_MAIL), n)))
    email = w.join(first, ".", last, suffix, "@", domain)

    has_c = ch.campaign >= 0
    camp = np.where(has_c, ch.campaign, 0)
    camp_ids = pa.array([c.id for c in campaigns])
    camp_utm = pa.array([c.utm for c in campaigns])
    det = DET_OFF[ch.k] + (rng.random(n) * np.maximum(DET_CNT[ch.k], 1)).astype(np.int64)
    detail_ok = has_c | (DET_CNT[ch.k] > 0)
    detail = w.pick([c.name for c in campaigns] + DETAILS,
                    np.where(has_c, camp, len(campaigns) + det), detail_ok)

    explicit = rng.random(n) < EXPLICIT[ch.k]
    motion_ok = rng.random(n) < np.where(explicit, .7, .2)
    utm_ok, pair = ch.utm >= 0, np.maximum(ch.utm, 0)
    is_k = ch.k
    term_ok = utm_ok & (is_k == cat.K["paid_search"])
    content_ok = utm_ok & (is_k == cat.K["paid_social"])

    moved = (ch.lead >= 0) & (rng.random(n) < .35)
    latest = rng.integers(0, len(cat.LATEST_SOURCES), n)
    src_all = [c.source for c in _CH] + [s for s, _ in cat.LATEST_SOURCES]
    latest_src = np.where(moved, len(_CH) + latest, ch.k)
    key_all = _KEYS + [c for _, c in cat.LATEST_SOURCES]
    latest_ch_ok = np.where(moved, rng.random(n) < .6, explicit)

    stage_level = ((ch.lead >= 0).astype(np.int64) + (ch.mql >= 0) + (ch.sql >= 0)
                   + (ch.opp >= 0) * 2)
    score_mean = np.array([20.0, 35.0, 60.0, 70.0, 74.0, 78.0, 80.0])[stage_level]
    lead_score = np.clip(np.rint(rng.normal(score_mean, 12.0)), 0, 100)
    fit_lo = np.array([70.0, 40.0, 5.0])[ch.icp]
    fit_hi = np.array([100.0, 80.0, 50.0])[ch.icp]
    fit = np.where(has, rng.uniform(fit_lo, fit_hi), rng.uniform(0, 35, n))
    title = TITLE_OFF[ch.persona] + (rng.random(n) * TITLE_CNT[ch.persona]).astype(np.int64)

    outbound = np.array([c.motion == "outbound" for c in _CH])[ch.k]
    sales_owned = (ch.mql >= 0) | (ch.sql >= 0) | outbound
    owner = np.where(ch.opp >= 0, acc_tab.owner[a],
                     len(AE_LIST) + sdr_of(ch.region, ch.gidx))
    owner_ok = sales_owned | (ch.opp >= 0)

    cols: dict[str, pa.Array] = {
        "contact_id": w.ids("C", ch.gidx + 1, 8),
        "created_at": w.ts(ch.created),
        "account_id": w.ids("A", ch.acc + 1, 7, has),
        "email": email,
        "source": w.pick([c.source for c in _CH], ch.k),
        "source_detail": detail,
        "channel": w.pick(_KEYS, ch.k, explicit),
        "motion": w.pick([c.motion for c in _CH], ch.k, motion_ok),
        "latest_source": w.pick(src_all, latest_src),
        "latest_channel": w.pick(key_all, latest_src, latest_ch_ok),
        "campaign_id": w.pick(camp_ids, camp, has_c),
        "utm_source": w.pick(UTM_SRC, pair, utm_ok),
        "utm_medium": w.pick(UTM_MED, pair, utm_ok),
        "utm_campaign": w.pick(camp_utm, camp, utm_ok & has_c),
        "utm_content": w.pick(cat.AD_CREATIVES,
                              rng.integers(0, len(cat.AD_CREATIVES), n), content_ok),
        "utm_term": w.pick(cat.SEARCH_TERMS, rng.integers(0, len(cat.SEARCH_TERMS), n),
                           term_ok),
        "lead_score": w.ints(lead_score),
        "fit_score": w.ints(np.rint(fit)),
        "job_title": w.pick(TITLES, title),
        "persona": w.pick(cat.PERSONAS, ch.persona, rng.random(n) < .85),
        "country": w.pick(COUNTRY_LIST, ch.country),
        "region": w.pick(cat.REGIONS, ch.region),
        "self_reported_source": w.pick(cat.HEARD, ch.heard, ch.heard >= 0),
        "owner": w.pick(OWNERS, owner, owner_ok),
    }
    for stage, when in zip(STAGES, (ch.lead, ch.mql, ch.sql, ch.opp, ch.customer),
                           strict=True):
        cols[f"{stage}_at"] = w.ts(when, when >= 0)
    return cols
