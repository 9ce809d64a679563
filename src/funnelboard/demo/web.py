"""Website traffic per day x source/medium/campaign x landing page x visitor type, plus
reverse-IP rows for target accounts.

Sessions follow the expected volume of each web channel divided by its visit-to-lead rate, so
the two move together until the new site launches at the start of the last two complete
quarters: from then on sessions rise while leads do not. ``conversions`` are the form fills
that created this day's contacts of the channel. Scroll counts shrink with depth and never
exceed sessions.
The row count is bounded by days x sources x pages x 2, whatever the number of contacts.
"""

from __future__ import annotations

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import CampaignPlan
from funnelboard.demo.company import Accounts
from funnelboard.demo.timeline import Timeline
from funnelboard.demo.volume import Volume
from funnelboard.demo.writers import FloatArray, IntArray

#: channel: ((source, medium, campaign, channel column filled, weight), ...); campaign "*"
#: = one row per ad campaign of the channel running that day.
SOURCES: dict[str, tuple[tuple[str, str, str, bool, float], ...]] = {
    "organic_search": (("google", "organic", "(organic)", True, .85),
                       ("bing", "organic", "(organic)", False, .15)),
    "paid_search": (("google", "cpc", "*", True, 1.0),),
    "paid_social": (("linkedin", "paid_social", "*", True, 1.0),
                    ("facebook", "paid_social", "*", True, 1.0)),
    "organic_social": (("linkedin.com", "social", "(referral)", True, .7),
                       ("t.co", "social", "(referral)", False, .3)),
    "direct": (("(direct)", "(none)", "(direct)", True, 1.0),),
    "referral": (("g2.com", "referral", "(referral)", True, .5),
                 ("capterra.com", "referral", "(referral)", False, .2),
                 ("techpartnerhub.io", "referral", "(referral)", True, .3)),
    "email": (("newsletter", "email", "newsletter", True, .6),
              ("hubspot", "email", "nurture_evaluation_track", True, .4)),
}
PAGE_MIX: dict[str, tuple[float, ...]] = {
    "organic_search": (.15, .05, .03, .60, .12, .05), "paid_search": (.20, .15, .35, 0, .30, 0),
    "paid_social": (.05, .05, .10, .10, .60, .10), "organic_social": (.20, .05, .05, .50, .10, .10),
    "direct": (.55, .20, .10, .10, .03, .02), "referral": (.40, .25, .15, .15, .05, 0),
    "email": (.10, .05, .10, .40, .15, .20),
}
RETURNING = {"organic_search": .25, "paid_search": .2, "paid_social": .15, "organic_social": .3,
             "direct": .55, "referral": .3, "email": .6}
ENGAGED = {"organic_search": .62, "paid_search": .55, "paid_social": .42, "organic_social": .5,
           "direct": .68, "referral": .64, "email": .6}
PAGE_ENGAGE = np.array([1.0, 1.05, 1.1, 1.0, .9, .95])
PAGE_CONVERT = np.array([1.0, 1.5, 4.0, .6, 2.5, 2.0])
SCROLL_25 = np.array([.55, .7, .6, .8, .65, .6])


#: channel index, source, medium, campaign, channel column filled
SourceRow = tuple[int, str, str, str, bool]


def _rows(plan: CampaignPlan, vol: Volume) -> tuple[list[SourceRow], FloatArray]:
    """Source rows and their expected sessions per day (days x rows)."""
    rows: list[SourceRow] = []
    cols: list[FloatArray] = []
    for key, sources in SOURCES.items():
        k = cat.K[key]
        total = vol.sessions[:, k]
        if sources[0][2] != "*":
            wsum = sum(s[4] for s in sources)
            for src, med, camp, filled, weight in sources:
                rows.append((k, src, med, camp, filled))
                cols.append(total * weight / wsum)
            continue
        cand, weights = plan.choices[k]
        share = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        platform = {"google": "google_ads", "linkedin": "linkedin", "facebook": "meta"}
        for src, med, _, filled, _ in sources:
            for j, ci in enumerate(cand):
                c = plan.campaigns[int(ci)]
                if c.platform == platform[src]:
                    rows.append((k, src, med, c.utm, filled))
                    cols.append(total * share[:, j])
    return rows, np.column_stack(cols)


def web_columns(tl: Timeline, plan: CampaignPlan, vol: Volume, acc: Accounts,
                seed: int) -> tuple[list[SourceRow], dict[str, IntArray]]:
    """The source rows and one array per output column (unsorted)."""
    rng = np.random.default_rng([seed, 400])
    rows, expected = _rows(plan, vol)
    n_pg = len(cat.LANDING_PAGES)
    keys = [cat.CHANNELS[r[0]].key for r in rows]
    pages = np.array([PAGE_MIX[k] for k in keys])  # src x page
    ret = np.array([RETURNING[k] for k in keys])
    vt = np.stack([1 - ret, ret], axis=1)  # src x 2
    lam = expected[:, :, None, None] * pages[None, :, :, None] * vt[None, :, None, :]
    sessions = rng.poisson(lam).astype(np.int64)  # day x src x page x visitor
    conv = np.zeros_like(sessions)
    src_k = np.array([r[0] for r in rows])
    weight = PAGE_CONVERT[None, :, None] * np.array([1.0, 1.3])[None, None, :]
    for k in cat.WEB_CHANNELS:
        members = np.flatnonzero(src_k == k)
        for day in np.flatnonzero(vol.counts[:, k]):
            p = (lam[day, members] * weight).ravel()
            if p.sum() <= 0:
                continue
            draw = rng.multinomial(vol.counts[day, k], p / p.sum())
            conv[day, members] = draw.reshape(len(members), n_pg, 2)
    sessions = np.maximum(sessions, conv)
    d, s, pg, v = np.nonzero(sessions)
    sess = sessions[d, s, pg, v]
    late = tl.late_steps((.95, .88, .85))[d]
    er = np.array([ENGAGED[k] for k in keys])[s] * PAGE_ENGAGE[pg] * np.where(v == 1, 1.1, 1.0)
    reverse = _reverse_ip(tl, acc, rng)
    cols = _measures(rng, sess, np.clip(er * late, .05, .95), pg, v)
    out: dict[str, IntArray] = {
        "day": np.concatenate([d, reverse["day"]]),
        "src": np.concatenate([s, reverse["src"]]),
        "page": np.concatenate([pg, reverse["page"]]),
        "visitor": np.concatenate([v, reverse["visitor"]]),
        "account": np.concatenate([np.full(len(d), -1), reverse["account"]]),
        "conversions": np.concatenate([conv[d, s, pg, v], np.zeros(len(reverse["day"]),
                                                                   dtype=np.int64)]),
    }
    rcols = _measures(rng, reverse["sessions"], np.full(len(reverse["day"]), .7),
                      reverse["page"], reverse["visitor"])
    for name, arr in cols.items():
        out[name] = np.concatenate([arr, rcols[name]])
    return rows, out


def sample_pairs(rng: np.random.Generator, rows: int, cols: int, p: float | FloatArray
                 ) -> tuple[IntArray, IntArray]:
    """Distinct (row, col) pairs, each present with probability ~``p`` (per row), sorted;
    memory grows with the hits, not with rows x cols."""
    k = rng.binomial(cols, np.broadcast_to(np.asarray(p, dtype=np.float64), (rows,)))
    row = np.repeat(np.arange(rows, dtype=np.int64), k)
    key = np.unique(row * cols + rng.integers(0, max(cols, 1), len(row)))
    return key // max(cols, 1), key % max(cols, 1)


def _measures(rng: np.random.Generator, sess: IntArray, er: FloatArray, pg: IntArray,
              v: IntArray) -> dict[str, IntArray]:
    engaged = rng.binomial(sess, er)
    bounces = sess - engaged
    users = np.maximum(rng.binomial(sess, np.where(v == 1, .7, .93)), 1)
    duration = np.rint(engaged * 170 * rng.uniform(.8, 1.2, len(sess)) + bounces * 6)
    pageviews = sess + rng.poisson(engaged * 1.6)
    s25 = rng.binomial(sess, SCROLL_25[pg])
    s50 = rng.binomial(s25, .7)
    s75 = rng.binomial(s50, .6)
    s100 = rng.binomial(s75, .5)
    return {"sessions": sess, "users": users, "engaged_sessions": engaged, "bounces": bounces,
            "duration_seconds": duration.astype(np.int64), "pageviews": pageviews,
            "scroll_25": s25, "scroll_50": s50, "scroll_75": s75, "scroll_100": s100}


def _reverse_ip(tl: Timeline, acc: Accounts, rng: np.random.Generator) -> dict[str, IntArray]:
    """Target accounts recognised by reverse IP: a few sessions on some days."""
    targets = np.flatnonzero(acc.target)
    day, t = sample_pairs(rng, tl.n, len(targets), min(.06, 40_000 / max(len(targets) * tl.n, 1)))
    n = len(day)
    # sources: direct, google organic, linkedin ABM (row indices resolved at write time)
    return {"day": day, "src": -1 - rng.choice(3, n, p=[.45, .35, .20]),
            "page": rng.choice([0, 1, 3], n, p=[.4, .35, .25]),
            "visitor": (rng.random(n) < .7).astype(np.int64), "account": targets[t],
            "sessions": rng.integers(1, 4, n)}


REVERSE_SOURCES = (("(direct)", "(none)", "(direct)", "direct"),
                   ("google", "organic", "(organic)", "organic_search"),
                   ("linkedin", "paid_social", "abm_target_accounts", "paid_social"))


def write_web(out: w.CsvOut, tl: Timeline, plan: CampaignPlan, vol: Volume, acc: Accounts,
              seed: int) -> IntArray:
    """Write web_traffic; returns sessions per day."""
    rows, arr = web_columns(tl, plan, vol, acc, seed)
    order = np.lexsort((arr["account"], arr["visitor"], arr["page"], arr["src"], arr["day"]))
    arr = {k: v[order] for k, v in arr.items()}
    src = arr["src"]
    n_rows = len(rows)
    idx = np.where(src >= 0, src, n_rows - 1 - src)  # reverse sources after the normal ones
    s_src = [r[1] for r in rows] + [r[0] for r in REVERSE_SOURCES]
    s_med = [r[2] for r in rows] + [r[1] for r in REVERSE_SOURCES]
    s_camp = [r[3] for r in rows] + [r[2] for r in REVERSE_SOURCES]
    s_ch = [cat.CHANNELS[r[0]].key for r in rows] + [r[3] for r in REVERSE_SOURCES]
    filled = np.array([r[4] for r in rows] + [True] * len(REVERSE_SOURCES))
    has_acc = arr["account"] >= 0
    for lo in range(0, len(idx), 500_000):
        sl = slice(lo, lo + 500_000)
        cols = {"date": w.dates(tl.day[arr["day"][sl]]),
                "source": w.pick(s_src, idx[sl]), "medium": w.pick(s_med, idx[sl]),
                "campaign": w.pick(s_camp, idx[sl]),
                "channel": w.pick(s_ch, idx[sl], filled[idx[sl]]),
                "landing_page": w.pick(cat.LANDING_PAGES, arr["page"][sl]),
                "visitor_type": w.pick(("new", "returning"), arr["visitor"][sl]),
                "account_id": w.ids("A", arr["account"][sl] + 1, 7, has_acc[sl]),
                "conversions": w.ints(arr["conversions"][sl])}
        for name in ("sessions", "users", "engaged_sessions", "bounces", "duration_seconds",
                     "pageviews", "scroll_25", "scroll_50", "scroll_75", "scroll_100"):
            cols[name] = w.ints(arr[name][sl])
        out.write(cols)
    return np.bincount(arr["day"], weights=arr["sessions"], minlength=tl.n).astype(np.int64)
