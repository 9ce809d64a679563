"""What a chunk of contacts leaves behind besides the contact rows (vectorised).

Touchpoints (first touch, form fills, later visits, clicks and sales touches), demo and
discovery meetings (some producing the opportunity), extra stage entries for recycled leads,
and "how did you hear about us" survey answers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.company import AE_LIST
from funnelboard.demo.contact_rows import OWNERS, sdr_of
from funnelboard.demo.contacts import UTM_MED, UTM_SRC, Chunk, World
from funnelboard.demo.writers import DAY, IntArray

_CH = cat.CHANNELS
_KEYS = [c.key for c in _CH]
#: Later touches: kind, channel, source, medium, weight.
LATER: tuple[tuple[str, str, str, str, float], ...] = (
    ("web_visit", "direct", "(direct)", "(none)", .25),
    ("web_visit", "organic_search", "google", "organic", .14),
    ("email_click", "email", "newsletter", "email", .20),
    ("content_download", "organic_search", "google", "organic", .08),
    ("webinar_attended", "webinar", "zoom", "webinar", .07),
    ("ad_click", "paid_social", "linkedin", "paid_social", .08),
    ("chat", "direct", "(direct)", "(none)", .05),
    ("sales_touch", "outbound_sdr", "", "", .13),
)
FORM_CHANNELS = np.array([c.web or c.key in ("partner", "customer_referral") for c in _CH])
#: Mean number of later touches by how far the contact got (none, lead, ..., customer).
LATER_MEAN = np.array([.3, .8, 2.0, 2.6, 3.4, 4.0, 4.0])


def _level(ch: Chunk) -> IntArray:
    return np.asarray((ch.lead >= 0).astype(np.int64) + (ch.mql >= 0) + (ch.sql >= 0)
                      + (ch.opp >= 0) * 2 + (ch.customer >= 0), dtype=np.int64)


def touchpoints(world: World, ch: Chunk, first_id: int) -> dict[str, pa.Array]:
    """All touchpoints of the chunk, ordered by time; ids continue from ``first_id``."""
    rng = np.random.default_rng([world.seed, 102, ch.no])
    n, end = ch.n, world.tl.end_ts
    campaigns = world.plan.campaigns
    # 1. first touch, just before the contact was created
    kinds = sorted({c.first_touch for c in _CH} | {x[0] for x in LATER} | {"form_submit"})
    kind_of = {k: i for i, k in enumerate(kinds)}
    first_kind = np.array([kind_of[c.first_touch] for c in _CH])[ch.k]
    t1 = np.maximum(ch.created - rng.integers(60, 1800, n), world.tl.d0 * DAY)
    srcs = UTM_SRC + [x[2] for x in LATER]
    meds = UTM_MED + [x[3] for x in LATER]
    # 2. the form fill that created an inbound lead
    form = FORM_CHANNELS[ch.k]
    # 3. later touches between creation and shortly after the last stage reached
    level = _level(ch)
    n_later = rng.poisson(LATER_MEAN[level])
    last = np.maximum.reduce([ch.created, ch.lead, ch.mql, ch.sql, ch.opp, ch.customer])
    horizon = np.minimum(last + 20 * DAY, end)
    owner = np.repeat(np.arange(n), n_later)
    span = np.maximum(horizon - ch.created, 1)[owner]
    t3 = ch.created[owner] + (rng.random(len(owner)) * span).astype(np.int64)
    weights = np.array([x[4] for x in LATER])
    which = rng.choice(len(LATER), size=len(owner), p=weights / weights.sum())

    who = np.concatenate([np.arange(n), np.flatnonzero(form), owner])
    when = np.concatenate([t1, ch.created[form], t3])
    kind = np.concatenate([first_kind, np.full(int(form.sum()), kind_of["form_submit"]),
                           np.array([kind_of[x[0]] for x in LATER])[which]])
    chan = np.concatenate([ch.k, ch.k[form],
                           np.array([cat.K[x[1]] for x in LATER])[which]])
    n_src = len(UTM_SRC)
    src = np.concatenate([ch.utm, ch.utm[form], n_src + which])
    first_camp = np.where(ch.campaign >= 0, ch.campaign, -1)
    later_camp = np.full(len(owner), -1, dtype=np.int64)
    email_c = [i for i, c in enumerate(campaigns) if c.id in ("EM-NEWSLETTER", "EM-NURTURE")]
    is_email = which == 2
    if email_c:
        later_camp[is_email] = np.array(email_c)[rng.integers(0, len(email_c),
                                                              int(is_email.sum()))]
    camp = np.concatenate([first_camp, first_camp[form], later_camp])
    order = np.argsort(when, kind="stable")
    who, when, kind, chan, src, camp = (x[order] for x in (who, when, kind, chan, src, camp))
    m = len(who)
    has_acc = ch.acc[who] >= 0
    content_ok = kind == kind_of["form_submit"]
    page = rng.integers(0, len(cat.LANDING_PAGES), m)
    return {
        "touchpoint_id": w.ids("T", first_id + 1 + np.arange(m), 10),
        "occurred_at": w.ts(when),
        "contact_id": w.ids("C", ch.gidx[who] + 1, 8),
        "account_id": w.ids("A", ch.acc[who] + 1, 7, has_acc),
        "kind": w.pick(kinds, kind),
        "channel": w.pick(_KEYS, chan),
        "source": w.pick(srcs, np.maximum(src, 0), src >= 0),
        "medium": w.pick(meds, np.maximum(src, 0), src >= 0),
        "campaign": w.pick([c.name for c in campaigns], camp, camp >= 0),
        "content": w.pick(cat.LANDING_PAGES, page, content_ok),
        "campaign_id": w.pick([c.id for c in campaigns], camp, camp >= 0),
    }


def meetings(world: World, ch: Chunk, first_id: int) -> dict[str, pa.Array]:
    """Demos (inbound) and discovery calls (outbound) booked at SQL, plus MQL bookings that
    did not happen and late-stage meetings of opportunities."""
    rng = np.random.default_rng([world.seed, 103, ch.no])
    end = world.tl.end_ts
    outbound = np.array([c.motion == "outbound" for c in _CH])[ch.k]
    n = ch.n
    # A: the demo that made the SQL (or the call before a sales-created opportunity)
    a = np.flatnonzero(ch.demo >= 0)
    booked_a = np.where(ch.sql[a] >= 0, ch.sql[a], ch.demo[a] - 2 * DAY)
    # B: MQLs who booked a demo and never showed up / canceled
    b = np.flatnonzero((ch.mql >= 0) & (ch.demo < 0) & (rng.random(n) < .08))
    booked_b = ch.mql[b] + rng.integers(3600, 3 * DAY, len(b))
    b, booked_b = b[booked_b <= end], booked_b[booked_b <= end]
    sched_b = (booked_b + rng.integers(2, 8, len(b)) * DAY) // 3600 * 3600
    # C: a negotiation meeting during the opportunity
    c = np.flatnonzero((ch.opp >= 0) & (rng.random(n) < .6))
    sched_c = (ch.opp[c] + ((ch.close[c] - ch.opp[c]) * .6).astype(np.int64)) // 3600 * 3600
    booked_c = sched_c - rng.integers(2, 10, len(c)) * DAY
    keep_c = booked_c <= end
    c, sched_c, booked_c = c[keep_c], sched_c[keep_c], booked_c[keep_c]

    who = np.concatenate([a, b, c])
    booked = np.concatenate([booked_a, booked_b, booked_c])
    sched = np.concatenate([ch.demo[a], sched_b, sched_c])
    statuses = ("scheduled", "held", "no_show", "canceled")
    st_a = np.where(ch.opp[a] >= 0, 1, rng.choice(3, len(a), p=[.70, .16, .14]) + 1)
    st_b = rng.choice([2, 3], len(b))
    st = np.concatenate([st_a, st_b, np.ones(len(c), dtype=np.int64)])
    st = np.where(sched > end, 0, st)
    kinds = ("demo", "discovery", "meeting")
    kind = np.concatenate([np.where(outbound[a], 1, 0), np.zeros(len(b), dtype=np.int64),
                           np.full(len(c), 2)])
    linked = np.concatenate([ch.opp[a] >= 0, np.zeros(len(b), dtype=bool),
                             np.ones(len(c), dtype=bool)]) & (st == 1)
    order = np.argsort(booked, kind="stable")
    who, booked, sched, st, kind, linked = (x[order] for x in
                                            (who, booked, sched, st, kind, linked))
    acc = ch.acc[who]
    ae = world.accounts.owner[np.maximum(acc, 0)]
    owner = np.where((kind == 2) | (acc >= 0) & ~outbound[who], ae,
                     len(AE_LIST) + sdr_of(ch.region[who], ch.gidx[who]))
    m = len(who)
    return {
        "meeting_id": w.ids("M", first_id + 1 + np.arange(m), 8),
        "booked_at": w.ts(booked),
        "kind": w.pick(kinds, kind),
        "contact_id": w.ids("C", ch.gidx[who] + 1, 8),
        "account_id": w.ids("A", acc + 1, 7, acc >= 0),
        "scheduled_for": w.ts(sched),
        "status": w.pick(statuses, st),
        "channel": w.pick(_KEYS, ch.k[who], rng.random(m) < .75),
        "owner": w.pick(OWNERS, owner),
        "opportunity_id": w.ids("O", ch.opp_no[who] + 1, 7, linked),
    }


def stage_reentries(world: World, ch: Chunk) -> dict[str, pa.Array]:
    """Second entries: recycled MQLs, re-engaged leads, lost deals back in nurture."""
    rng = np.random.default_rng([world.seed, 104, ch.no])
    end, n = world.tl.end_ts, ch.n
    recycled = (ch.mql >= 0) & (ch.sql < 0) & (rng.random(n) < .2)
    t_rec = ch.mql + rng.integers(60, 200, n) * DAY
    again = (ch.lead >= 0) & (ch.mql < 0) & (rng.random(n) < .04)
    t_again = ch.lead + rng.integers(30, 300, n) * DAY
    lost = (ch.opp >= 0) & ~ch.won & (ch.close <= end) & (rng.random(n) < .15)
    t_lost = ch.close + rng.integers(90, 180, n) * DAY + rng.integers(0, DAY, n)
    parts = [(recycled & (t_rec <= end), t_rec, 1), (again & (t_again <= end), t_again, 0),
             (lost & (t_lost <= end), t_lost, 1)]
    who = np.concatenate([np.flatnonzero(sel) for sel, _, _ in parts])
    when = np.concatenate([t[sel] for sel, t, _ in parts])
    stage = np.concatenate([np.full(int(sel.sum()), s) for sel, _, s in parts])
    order = np.lexsort((stage, when, who))
    who, when, stage = who[order], when[order], stage[order]
    return {"contact_id": w.ids("C", ch.gidx[who] + 1, 8),
            "stage": w.pick(w.STAGES, stage), "entered_at": w.ts(when)}


def heard_answers(world: World, ch: Chunk) -> dict[str, pa.Array]:
    """'How did you hear about us?' on the demo-request and content forms."""
    sel = np.flatnonzero(ch.heard >= 0)
    demo_form = ch.sql[sel] >= 0
    when = ch.lead[sel] + 30 + ch.gidx[sel] % 90
    return {
        "response_id": w.ids("F", ch.gidx[sel] + 1, 8),
        "responded_at": w.ts(when),
        "survey": w.pick(("Content download form", "Demo request form"),
                         demo_form.astype(np.int64)),
        "question": w.const("How did you hear about us?", len(sel)),
        "answer": w.pick(cat.HEARD, ch.heard[sel]),
        "contact_id": w.ids("C", ch.gidx[sel] + 1, 8),
        "account_id": w.ids("A", ch.acc[sel] + 1, 7, ch.acc[sel] >= 0),
    }
