"""The demo company's calendar: three years of days, seasonality, growth and the event plan.

Seasonality: July-August and December dip, September peaks. Growth ~35 % a year. In the last
two complete quarters before the end date (and in the unfinished quarter after them, if the end
date is not a quarter's last day) the new website brings more sessions while the share of
visits that convert falls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from funnelboard.demo.writers import DAY, FloatArray, IntArray

EPOCH = dt.date(1970, 1, 1)
#: Month-of-year multipliers (index 1..12).
SEASON = np.array([0, 1.0, 1.02, 1.08, 1.0, 1.0, .95, .72, .70, 1.28, 1.12, 1.0, .64])
WEEKDAY = np.array([1.05, 1.1, 1.08, 1.04, .92, .32, .28])  # Monday first
GROWTH_PER_YEAR = 1.35
#: Multipliers in the last two complete quarters and the unfinished quarter after them.
SESSION_STEP = (1.25, 1.60, 1.90)
WEB_LEAD_STEP = (.92, .85, .80)

WEBINAR_TOPICS: tuple[str, ...] = (
    "Pipeline math for 2x growth", "Cohort funnels explained", "ABM metrics that matter",
    "From MQL to revenue", "Forecasting pipeline", "CAC payback in practice",
    "Attribution without the hype", "Building the board deck", "Lead scoring that works",
    "Reverse-funnel planning", "Web analytics for B2B", "Churn and expansion")
TRADE_SHOWS: tuple[tuple[str, int, int], ...] = (
    # name, month, nth Tuesday of that month; shows run Tuesday to Thursday
    ("B2B Growth Summit", 5, 2), ("SaaS Revenue Expo", 10, 3))


def epoch_day(d: dt.date) -> int:
    return d.toordinal() - EPOCH.toordinal()


def from_epoch(day: int) -> dt.date:
    return dt.date.fromordinal(EPOCH.toordinal() + int(day))


def first_of_quarter(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@dataclass(frozen=True)
class Event:
    kind: str  # webinar | trade_show
    key: str  # e.g. 2024-03
    name: str
    day: int  # epoch day of the first day
    last_day: int


@dataclass
class Timeline:
    """Every day of the demo period with the calendar attributes the generators need."""

    end: dt.date
    start: dt.date = field(init=False)
    day: IntArray = field(init=False)  # epoch days
    month: IntArray = field(init=False)  # index into months per day
    months: list[dt.date] = field(init=False)
    quarters: list[dt.date] = field(init=False)
    quarter: IntArray = field(init=False)  # index into quarters per day
    moy: IntArray = field(init=False)
    weekday: IntArray = field(init=False)
    events: list[Event] = field(init=False)

    def __post_init__(self) -> None:
        try:
            back = self.end.replace(year=self.end.year - 3)
        except ValueError:  # 29 February
            back = self.end.replace(year=self.end.year - 3, day=28)
        self.start = back + dt.timedelta(days=1)
        d0, d1 = epoch_day(self.start), epoch_day(self.end)
        self.day = np.arange(d0, d1 + 1, dtype=np.int64)
        dt64 = self.day.astype("datetime64[D]")
        month_num = dt64.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        self.moy = month_num % 12 + 1
        self.month = month_num - month_num[0]
        self.months = [add_months(self.start.replace(day=1), i)
                       for i in range(int(self.month[-1]) + 1)]
        q_num = month_num // 3
        self.quarter = q_num - q_num[0]
        self.quarters = [add_months(first_of_quarter(self.start), 3 * i)
                         for i in range(int(self.quarter[-1]) + 1)]
        self.weekday = (self.day + 3) % 7  # 1970-01-01 was a Thursday
        self.events = self._plan_events()

    @property
    def n(self) -> int:
        return len(self.day)

    @property
    def d0(self) -> int:
        return int(self.day[0])

    @property
    def end_ts(self) -> int:
        """The last second of the end date."""
        return (int(self.day[-1]) + 1) * DAY - 1

    def month_start_days(self) -> IntArray:
        return np.array([epoch_day(m) for m in self.months], dtype=np.int64)

    def growth(self) -> FloatArray:
        return np.asarray(GROWTH_PER_YEAR ** ((self.day - self.d0) / 365.25), dtype=np.float64)

    def season(self, damping: float = 1.0) -> FloatArray:
        return np.asarray(1 + damping * (SEASON[self.moy] - 1), dtype=np.float64)

    def weekday_factor(self) -> FloatArray:
        return np.asarray(WEEKDAY[self.weekday], dtype=np.float64)

    def last_quarters(self) -> tuple[dt.date, dt.date, dt.date]:
        """First days of the last two complete quarters (Q-1, Q) and of the quarter after Q
        (the unfinished one, or the day after the end when the end closes a quarter)."""
        after = first_of_quarter(self.end + dt.timedelta(days=1))
        last = add_months(after, -3)
        return add_months(last, -3), last, after

    def late_steps(self, steps: tuple[float, float, float]) -> FloatArray:
        """1 before the last two complete quarters, then one step value per quarter."""
        out = np.ones(self.n)
        for first, value in zip(self.last_quarters(), steps, strict=True):
            out[self.day >= epoch_day(first)] = value
        return out

    def site_launch(self) -> dt.date:
        """The day the new website went live (the start of the last-but-one complete
        quarter)."""
        return self.last_quarters()[0]

    def outage_day(self) -> int:
        return self.d0 + int(self.n * 0.61)

    def _plan_events(self) -> list[Event]:
        events: list[Event] = []
        d0, d1 = self.d0, int(self.day[-1])
        for m in self.months:
            day = epoch_day(nth_weekday(m.year, m.month, 3, 3))
            if d0 <= day <= d1:
                topic = WEBINAR_TOPICS[(m.year * 12 + m.month) % len(WEBINAR_TOPICS)]
                events.append(Event("webinar", f"{m:%Y-%m}", f"Webinar: {topic}", day, day))
        for year in range(self.start.year, self.end.year + 1):
            for name, month, nth in TRADE_SHOWS:
                first = epoch_day(nth_weekday(year, month, 1, nth))
                if d0 <= first and first + 2 <= d1:
                    events.append(Event("trade_show", f"{year}-{month:02d}",
                                        f"{name} {year}", first, first + 2))
        events.sort(key=lambda e: (e.day, e.kind))
        return events

    def event_window(self, kind: str, offsets: tuple[float, ...],
                     after_last: int = 1) -> tuple[FloatArray, IntArray]:
        """Per day: the weight of ``kind`` events' lead window and which event it belongs to.

        The window starts ``after_last`` days after the event's last day (0 = the day itself)
        and spreads over ``len(offsets)`` days with the given weights.
        """
        weight = np.zeros(self.n)
        owner = np.full(self.n, -1, dtype=np.int64)
        for i, ev in enumerate(self.events):
            if ev.kind != kind:
                continue
            for j, w in enumerate(offsets):
                pos = ev.last_day + after_last + j - self.d0
                if 0 <= pos < self.n and owner[pos] == -1:
                    weight[pos] += w
                    owner[pos] = i
        return weight, owner
