"""The campaign plan: always-on ads, monthly webinars, trade shows, email, content, outbound.

``CampaignPlan.choices`` says, per channel and day, which campaigns a new contact of that
channel can come from and with what weight (no campaign is allowed for some channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo.timeline import Timeline, add_months, epoch_day
from funnelboard.demo.writers import FloatArray, IntArray


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    channel: str
    type: str
    start: int  # epoch day
    end: int
    budget: float  # at the 50k-contact scale
    platform: str = ""
    weight: float = 1.0  # share among the channel's campaigns running the same day
    cpl: float = 0.0  # ad cost per CRM contact
    event: int = -1  # index into Timeline.events

    @property
    def utm(self) -> str:
        return self.name.lower().replace(" - ", "_").replace(" ", "_").replace(":", "")


def _ads(tl: Timeline) -> list[Campaign]:
    d0, d1 = tl.d0, int(tl.day[-1])
    rows = [
        ("GADS-1001", "Brand search", "paid_search", "google_ads", 0, d1, .30, 60.0),
        ("GADS-1002", "Non-brand - revenue analytics", "paid_search", "google_ads", 0, d1,
         .50, 190.0),
        ("GADS-1003", "Competitor terms", "paid_search", "google_ads", 270, d1, .20, 240.0),
        ("LI-2001", "ABM - target accounts", "paid_social", "linkedin", 0, d1, .15, 700.0),
        ("LI-2002", "Lead gen - benchmark report", "paid_social", "linkedin", 0, d1, .40,
         165.0),
        ("LI-2003", "Webinar promotion", "paid_social", "linkedin", 90, d1, .20, 120.0),
        ("META-3001", "Retargeting - site visitors", "paid_social", "meta", 0, d1, .15, 70.0),
        ("META-3002", "Lookalike - customers", "paid_social", "meta", 365, d0 + 730, .25,
         110.0),
    ]
    out = []
    for cid, name, channel, platform, lo, hi, weight, cpl in rows:
        start = d0 + lo
        end = min(hi, d1)
        out.append(Campaign(cid, name, channel, "paid_search" if channel == "paid_search"
                            else "paid_social", start, end, 0.0, platform, weight, cpl))
    return out


def build_campaigns(tl: Timeline) -> list[Campaign]:
    d0, d1 = tl.d0, int(tl.day[-1])
    out = _ads(tl)
    for i, ev in enumerate(tl.events):
        if ev.kind == "webinar":
            out.append(Campaign(f"WEB-{ev.key}", ev.name, "webinar", "webinar", ev.day - 21,
                                ev.day + 14, 4_000.0, event=i))
        else:
            out.append(Campaign(f"TS-{ev.key}", ev.name, "trade_show", "trade_show",
                                ev.day - 60, ev.last_day + 30, 65_000.0, event=i))
    out += [
        Campaign("EM-NEWSLETTER", "Newsletter", "email", "email", d0, d1, 12_000.0,
                 weight=.6),
        Campaign("EM-NURTURE", "Nurture - evaluation track", "email", "email", d0, d1,
                 8_000.0, weight=.4),
        Campaign("EM-ONBOARDING", "Customer onboarding", "email", "email", d0, d1, 3_000.0,
                 weight=0.0),
        Campaign("EM-PRODUCT", "Product updates", "email", "email", d0, d1, 3_000.0,
                 weight=0.0),
        Campaign("PARTNER", "Partner program", "partner", "partner", d0, d1, 40_000.0),
        Campaign("REFERRAL", "Customer referral program", "customer_referral", "referral", d0,
                 d1, 25_000.0),
    ]
    for year in range(tl.start.year, tl.end.year + 1):
        start = max(d0, epoch_day(tl.start.replace(year=year, month=1, day=15)))
        if start <= d1:
            out.append(Campaign(f"CONTENT-{year}", f"Ebook: B2B Funnel Benchmarks {year}",
                                "organic_search", "content", start, d1, 15_000.0))
    for q in tl.quarters:
        lo = max(d0, epoch_day(q))
        hi = min(d1, epoch_day(add_months(q, 3)) - 1)
        label = f"{q.year}-Q{(q.month - 1) // 3 + 1}"
        out.append(Campaign(f"OUT-{label}", f"Outbound ABM {label}", "outbound_sdr",
                            "outbound", lo, hi, 0.0))
        out.append(Campaign(f"SEQ-{label}", f"Outbound email sequence {label}",
                            "outbound_email", "outbound", lo, hi, 0.0))
    return out


@dataclass
class CampaignPlan:
    campaigns: list[Campaign]
    #: channel index -> (candidate campaign indices, per-day weights [days x candidates])
    choices: dict[int, tuple[IntArray, FloatArray]]
    #: channel index -> the one campaign per day (events: the event whose lead window it is)
    daily: dict[int, IntArray]

    def index(self, campaign_id: str) -> int:
        return next(i for i, c in enumerate(self.campaigns) if c.id == campaign_id)

    def pick(self, rng: np.random.Generator, k: int, day_pos: IntArray) -> IntArray:
        """A campaign index (or -1) per contact of channel ``k`` created on ``day_pos``."""
        n = len(day_pos)
        if k in self.daily:
            return self.daily[k][day_pos]
        if k not in self.choices or n == 0:
            return np.full(n, -1, dtype=np.int64)
        cand, weights = self.choices[k]
        cum = np.cumsum(weights[day_pos], axis=1)
        total = cum[:, -1]
        u = rng.random(n) * total
        j = (u[:, None] >= cum).sum(axis=1)
        j = np.minimum(j, len(cand) - 1)
        return np.where(total > 0, cand[j], -1).astype(np.int64)


def build_plan(tl: Timeline) -> CampaignPlan:
    campaigns = build_campaigns(tl)
    by_channel: dict[int, list[int]] = {}
    for i, c in enumerate(campaigns):
        by_channel.setdefault(cat.K[c.channel], []).append(i)
    choices: dict[int, tuple[IntArray, FloatArray]] = {}
    daily: dict[int, IntArray] = {}
    for k, members in by_channel.items():
        key = cat.CHANNELS[k].key
        if key in ("webinar", "trade_show"):
            _, owner = tl.event_window(key, (1.0,) * 6, after_last=0)
            ev_to_c = {campaigns[i].event: i for i in members}
            daily[k] = np.array([ev_to_c.get(int(o), -1) for o in owner], dtype=np.int64)
            continue
        cols = np.array(members, dtype=np.int64)
        wts = np.zeros((tl.n, len(members)))
        for j, i in enumerate(members):
            c = campaigns[i]
            on = (tl.day >= c.start) & (tl.day <= c.end)
            wts[on, j] = c.weight
        if key == "organic_search":  # one content campaign a year; most organic leads have none
            latest = np.zeros(tl.n, dtype=np.int64) - 1
            for j in range(len(members)):
                latest[wts[:, j] > 0] = j
            wts[:] = 0
            has = latest >= 0
            wts[has, latest[has]] = 1.0
            cols = np.append(cols, -1)
            wts = np.hstack([wts * .2, np.full((tl.n, 1), .8)])
        choices[k] = (cols, wts)
    return CampaignPlan(campaigns, choices, daily)
