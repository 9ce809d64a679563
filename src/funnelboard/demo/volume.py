"""How many contacts arrive each day through each channel, and the website sessions behind them.

The expected daily volume per channel combines growth, seasonality, weekdays, event lead
windows (webinars: the day itself and the days after; trade shows: badge scans imported in the
days after the show) and, in the last two quarters, a falling visit-to-lead conversion. The
realised counts are one multinomial draw of exactly ``contacts`` contacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo.timeline import SESSION_STEP, WEB_LEAD_STEP, Timeline
from funnelboard.demo.writers import FloatArray, IntArray

WEBINAR_WINDOW = (.45, .25, .15, .10, .05)
TRADE_SHOW_WINDOW = (.50, .25, .12, .08, .05)
#: Sessions that never produce a lead (customers logging in, job seekers...), as a multiple.
DIRECT_EXTRA = 1.6


@dataclass
class Volume:
    expected: FloatArray  # days x channels, expected new contacts
    counts: IntArray  # days x channels, realised new contacts
    sessions: FloatArray  # days x channels, expected sessions (web channels, else 0)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def chunks(self, size: int) -> list[tuple[int, int]]:
        """Day ranges [lo, hi) holding about ``size`` contacts each (whole days)."""
        per_day = self.counts.sum(axis=1)
        cum = np.cumsum(per_day)
        out: list[tuple[int, int]] = []
        lo = 0
        while lo < len(per_day):
            base = cum[lo - 1] if lo else 0
            hi = int(np.searchsorted(cum, base + size, side="right"))
            hi = max(hi, lo + 1)
            out.append((lo, min(hi, len(per_day))))
            lo = hi
        return out


def build_volume(tl: Timeline, contacts: int, seed: int) -> Volume:
    growth, wd = tl.growth(), tl.weekday_factor()
    lead_step = tl.late_steps(WEB_LEAD_STEP)
    cols = []
    outage = tl.outage_day() - tl.d0
    for ch in cat.CHANNELS:
        if ch.key == "webinar":
            win, _ = tl.event_window("webinar", WEBINAR_WINDOW, after_last=0)
            pattern = win * growth * tl.season(.7)
        elif ch.key == "trade_show":
            win, _ = tl.event_window("trade_show", TRADE_SHOW_WINDOW, after_last=1)
            pattern = win * growth
        elif ch.motion == "outbound":
            pattern = growth * tl.season(.5) * np.where(tl.weekday < 5, 1.0, .05)
        else:
            pattern = growth * tl.season() * wd
            if ch.web:
                pattern = pattern * lead_step
                pattern[outage] *= .4
            if ch.key == "direct":
                show, _ = tl.event_window("trade_show", TRADE_SHOW_WINDOW, after_last=1)
                pattern = pattern * (1 + 3.0 * show)
        total = pattern.sum()
        cols.append(pattern * (ch.share / total) if total > 0 else pattern)
    intensity = np.column_stack(cols)
    p = intensity / intensity.sum()
    rng = np.random.default_rng([seed, 1])
    counts = rng.multinomial(contacts, p.ravel()).reshape(p.shape).astype(np.int64)
    expected = p * contacts
    sessions = np.zeros_like(expected)
    step = tl.late_steps(SESSION_STEP)
    for k in cat.WEB_CHANNELS:
        ch = cat.CHANNELS[k]
        base = expected[:, k] / lead_step / ch.visit_to_lead
        if ch.key == "direct":
            base = base * DIRECT_EXTRA
        sessions[:, k] = base * step
    sessions[outage] *= .3
    return Volume(expected, counts, sessions)
