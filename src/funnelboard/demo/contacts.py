"""New contacts and their way down the funnel, one chunk of days at a time (vectorised).

Each contact gets a channel, an account, a persona and first-touch attribution, then walks
lead -> MQL -> SQL -> opportunity -> customer with channel-, persona-, ICP- and
target-account-dependent conversion rates and realistic lags (a ~6-month sales cycle).
Anything that would happen after the end date has not happened yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo.campaigns import CampaignPlan
from funnelboard.demo.company import COUNTRY_OFFSET, Accounts
from funnelboard.demo.timeline import Timeline
from funnelboard.demo.volume import Volume
from funnelboard.demo.writers import DAY, BoolArray, FloatArray, IntArray

NONE = -1
_CH = cat.CHANNELS
_KEYS = [c.key for c in _CH]


def _arr(attr: str) -> FloatArray:
    return np.array([getattr(c, attr) for c in _CH], dtype=np.float64)


P_LEAD, P_MQL, P_SQL, P_OPP, P_WIN = (_arr(a) for a in
                                      ("p_lead", "p_mql", "p_sql", "p_opp", "p_win"))
OUTBOUND = np.array([c.motion == "outbound" for c in _CH])
#: Median days from opportunity creation to close, by segment (SMB, Mid-Market, Enterprise).
CYCLE_DAYS = np.array([140.0, 195.0, 255.0])
CYCLE_SIGMA = .38
ICP_LIFT = np.array([1.2, 1.0, .75])
WIN_ICP = np.array([1.15, 1.0, .75])
WIN_SEGMENT = np.array([1.1, 1.0, .85])
TARGET_WIN = 1.9


def _flat(groups: list[tuple[str, ...]]) -> tuple[list[str], IntArray, IntArray]:
    words = [x for g in groups for x in g]
    count = np.array([len(g) for g in groups], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return words, offset, count


DETAILS, DET_OFF, DET_CNT = _flat([cat.SOURCE_DETAIL.get(k, ()) for k in _KEYS])
TITLES, TITLE_OFF, TITLE_CNT = _flat(list(cat.TITLES))
_PAIRS = [cat.UTM_PAIRS.get(k, ()) for k in _KEYS]
UTM_SRC, UTM_OFF, UTM_CNT = _flat([tuple(p[0] for p in ps) for ps in _PAIRS])
UTM_MED = [p[1] for ps in _PAIRS for p in ps]
_WIDTH = max(len(ps) for ps in _PAIRS)
UTM_CUM = np.ones((len(_KEYS), _WIDTH))
for _i, _ps in enumerate(_PAIRS):
    if _ps:
        _wts = np.array([p[2] for p in _ps])
        UTM_CUM[_i, : len(_ps)] = np.cumsum(_wts / _wts.sum())
UTM_FILL = np.array([cat.UTM_FILL.get(k, 0.0) for k in _KEYS])


@dataclass
class World:
    """Everything the contact simulation reads."""

    tl: Timeline
    volume: Volume
    accounts: Accounts
    plan: CampaignPlan
    seed: int


@dataclass
class Chunk:
    """One chunk of contacts (sorted by creation time) and their funnel history.

    Stage times are epoch seconds, -1 where the stage was not (yet) entered.
    """

    no: int
    gidx: IntArray  # global contact number (0-based)
    day: IntArray  # position in the timeline
    k: IntArray  # channel
    created: IntArray
    acc: IntArray  # account index or -1
    segment: IntArray
    target: BoolArray
    icp: IntArray
    region: IntArray
    country: IntArray
    persona: IntArray
    campaign: IntArray
    lead: IntArray
    mql: IntArray
    sql: IntArray
    demo: IntArray  # the demo / discovery call after SQL (scheduled time)
    opp: IntArray
    close: IntArray  # planned close time of the opportunity (may lie after the end)
    won: BoolArray  # the opportunity is won once it closes
    customer: IntArray
    opp_no: IntArray  # opportunity number (0-based) or -1
    heard: IntArray  # self-reported source (index into catalog.HEARD) or -1
    utm: IntArray  # first-touch utm pair (index into UTM_SRC / UTM_MED) or -1

    @property
    def n(self) -> int:
        return len(self.gidx)


def _gamma_secs(rng: np.random.Generator, shape: float, mean_days: float,
                n: int) -> IntArray:
    return (rng.gamma(shape, mean_days / shape, n) * DAY).astype(np.int64)


def _time_of_day(rng: np.random.Generator, n: int) -> IntArray:
    busy = rng.normal(15.0 * 3600, 3.3 * 3600, n) % DAY
    any_time = rng.uniform(0, DAY - 1, n)
    return np.where(rng.random(n) < .85, busy, any_time).astype(np.int64)


def simulate(world: World, lo: int, hi: int, first: int, no: int, first_opp: int) -> Chunk:
    """Contacts created on timeline days [lo, hi), numbered from ``first``."""
    tl, acc_tab = world.tl, world.accounts
    rng = np.random.default_rng([world.seed, 100, no])
    cells = world.volume.counts[lo:hi]
    n_k = cells.shape[1]
    day = np.repeat(np.repeat(np.arange(lo, hi), n_k), cells.ravel())
    k = np.repeat(np.tile(np.arange(n_k), hi - lo), cells.ravel())
    n = len(day)
    created = tl.day[day] * DAY + _time_of_day(rng, n)
    order = np.argsort(created, kind="stable")
    day, k, created = day[order], k[order], created[order]
    outbound = OUTBOUND[k]

    # account and firmographics
    no_acc_p = np.where(outbound | (k == cat.K["partner"]) | (k == cat.K["customer_referral"]),
                        0.0, .07)
    acc = np.where(rng.random(n) < no_acc_p, NONE, acc_tab.sample(rng, outbound))
    has = acc >= 0
    a = np.where(has, acc, 0)
    segment = np.where(has, acc_tab.segment[a], 0)
    target = has & acc_tab.target[a]
    icp = np.where(has, acc_tab.icp[a], 2)
    own_region = rng.choice(3, size=n, p=cat.REGION_SHARE)
    region = np.where(has, acc_tab.region[a], own_region)
    sizes = np.array([len(g) for g in cat.COUNTRIES])
    own_country = COUNTRY_OFFSET[region] + (rng.random(n) * sizes[region]).astype(np.int64)
    country = np.where(has, acc_tab.country[a], own_country)
    persona = rng.choice(len(cat.PERSONAS), size=n, p=cat.PERSONA_SHARE)

    campaign = np.full(n, NONE, dtype=np.int64)
    for kk in range(n_k):
        sel = np.flatnonzero(k == kk)
        if len(sel):
            campaign[sel] = world.plan.pick(rng, kk, day[sel])

    # the funnel
    lift = np.asarray(cat.PERSONA_LIFT)[persona] * ICP_LIFT[icp] * np.where(target, 1.25, 1.0)
    lift = lift * np.where(has, 1.0, .5)
    u = rng.random((6, n))
    is_lead = u[0] < P_LEAD[k]
    is_mql = is_lead & (u[1] < np.clip(P_MQL[k] * lift, 0, .95))
    is_sql = is_mql & (u[2] < np.clip(.8 * P_SQL[k] * lift * np.where(target, 1.1, 1.0), 0,
                                          .95))
    is_opp = is_sql & has & (u[3] < np.clip(.85 * P_OPP[k] * np.where(target, 1.15, 1.0), 0,
                                            .95))
    p_win = P_WIN[k] * np.where(target, TARGET_WIN, 1.0) * WIN_ICP[icp] * WIN_SEGMENT[segment]
    won = u[4] < np.clip(p_win, 0, .8)

    lead_t = created + np.where(outbound, _gamma_secs(rng, 1.5, 6.0, n), 0)
    mql_t = lead_t + _gamma_secs(rng, 1.2, 8.0, n)
    sql_t = mql_t + _gamma_secs(rng, 1.5, 5.0, n)
    demo_t = sql_t + rng.integers(1, 9, n) * DAY
    demo_t = (demo_t // 3600) * 3600  # meetings start on the hour
    opp_t = demo_t + 3600 + _gamma_secs(rng, 1.0, 3.0, n)
    cycle = CYCLE_DAYS[segment] * np.exp(rng.normal(0, CYCLE_SIGMA, n))
    cycle = cycle * np.where(won, 1.0, .8) * np.where(target, 1.05, 1.0)
    close_t = ((opp_t + (cycle * DAY).astype(np.int64)) // DAY) * DAY + 17 * 3600

    end = tl.end_ts
    lead = np.where(is_lead & (lead_t <= end), lead_t, NONE)
    mql = np.where(is_mql & (lead >= 0) & (mql_t <= end), mql_t, NONE)
    sql = np.where(is_sql & (mql >= 0) & (sql_t <= end), sql_t, NONE)
    demo = np.where(sql >= 0, demo_t, NONE)
    opp = np.where(is_opp & (sql >= 0) & (opp_t <= end), opp_t, NONE)
    close = np.where(opp >= 0, close_t, NONE)
    customer = np.where((opp >= 0) & won & (close_t <= end), close_t, NONE)
    # some contacts skip a stage: demo requests straight to SQL, sales-created opportunities
    skip_mql = (sql >= 0) & (u[5] < np.where(outbound, .35, .08))
    mql = np.where(skip_mql, NONE, mql)
    skip_sql = (opp >= 0) & ~skip_mql & (u[5] > .96)
    sql = np.where(skip_sql, NONE, sql)

    is_o = opp >= 0
    opp_no = np.where(is_o, first_opp + np.cumsum(is_o) - 1, NONE)
    answered = (lead >= 0) & (rng.random(n) < np.where(outbound, .04, .14))
    likely = np.array([cat.HEARD_BY_CHANNEL[c.key] for c in _CH])[k]
    heard = np.where(rng.random(n) < .6, likely, rng.integers(0, len(cat.HEARD), n))
    heard = np.where(answered, heard, NONE)
    pair = UTM_OFF[k] + (rng.random(n)[:, None] >= UTM_CUM[k]).sum(axis=1)
    utm = np.where(rng.random(n) < UTM_FILL[k], np.minimum(pair, len(UTM_MED) - 1), NONE)
    np.minimum.at(acc_tab.first_contact, acc[has], created[has])
    return Chunk(no, first + np.arange(n, dtype=np.int64), day, k, created, acc, segment,
                 target, icp, region, country, persona, campaign, lead, mql, sql, demo, opp,
                 close, won & is_o, customer, opp_no, heard, utm)


@dataclass
class OppSeeds:
    """The contact-sourced opportunities of all chunks (small: a few % of contacts)."""

    contact: IntArray
    account: IntArray
    k: IntArray
    campaign: IntArray
    segment: IntArray
    target: BoolArray
    icp: IntArray
    created: IntArray
    close: IntArray
    won: BoolArray

    @staticmethod
    def collect(chunks: list[OppSeeds]) -> OppSeeds:
        names = OppSeeds.__dataclass_fields__
        return OppSeeds(**{f: np.concatenate([getattr(c, f) for c in chunks])
                           for f in names})

    @staticmethod
    def of(ch: Chunk) -> OppSeeds:
        sel = np.flatnonzero(ch.opp >= 0)
        return OppSeeds(ch.gidx[sel], ch.acc[sel], ch.k[sel], ch.campaign[sel],
                        ch.segment[sel], ch.target[sel], ch.icp[sel], ch.opp[sel],
                        ch.close[sel], ch.won[sel])
