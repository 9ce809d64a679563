"""Campaigns, events, annotations and email sends (small tables, built from the plan)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from funnelboard.demo import catalog as cat
from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import CampaignPlan
from funnelboard.demo.revenue import Revenue
from funnelboard.demo.timeline import Timeline, epoch_day
from funnelboard.demo.volume import TRADE_SHOW_WINDOW, WEBINAR_WINDOW, Volume
from funnelboard.demo.writers import DAY, FloatArray

PROGRAM_RATES = {  # open rate, click rate (of delivered)
    "newsletter": (.24, .025), "nurture": (.30, .045), "onboarding": (.58, .14),
    "product": (.42, .06), "event": (.31, .07), "sales": (.36, .03),
}


@dataclass
class EventFacts:
    campaign: list[int]  # campaign index per timeline event
    new_contacts: list[int]
    registrants: list[int]
    attendees: list[int]
    cost: list[float]


def event_facts(tl: Timeline, plan: CampaignPlan, vol: Volume, scale: float,
                seed: int) -> EventFacts:
    rng = np.random.default_rng([seed, 600])
    by_event = {c.event: i for i, c in enumerate(plan.campaigns) if c.event >= 0}
    _, web_owner = tl.event_window("webinar", WEBINAR_WINDOW, after_last=0)
    _, show_owner = tl.event_window("trade_show", TRADE_SHOW_WINDOW, after_last=1)
    facts = EventFacts([], [], [], [], [])
    for i, ev in enumerate(tl.events):
        webinar = ev.kind == "webinar"
        owner = web_owner if webinar else show_owner
        k = cat.K[ev.kind]
        new = int(vol.counts[owner == i, k].sum())
        if webinar:
            reg = round(new / .6) + int(rng.integers(0, 5))
            att = round(reg * rng.uniform(.38, .52))
            cost = rng.uniform(2_500, 6_000) * max(scale, .2) ** .5
        else:
            att = round(new / .8) + int(rng.integers(5, 20))
            reg = round(att * rng.uniform(1.1, 1.3))
            cost = rng.uniform(45_000, 90_000) * max(scale, .2) ** .7
        facts.campaign.append(by_event[i])
        facts.new_contacts.append(new)
        facts.registrants.append(reg)
        facts.attendees.append(att)
        facts.cost.append(round(float(cost), 2))
    return facts


def write_campaigns(out: w.CsvOut, plan: CampaignPlan, spend: FloatArray, facts: EventFacts,
                    scale: float, seed: int) -> None:
    rng = np.random.default_rng([seed, 610])
    ev_cost = {c: facts.cost[i] for i, c in enumerate(facts.campaign)}
    budget, cost = [], []
    for i, c in enumerate(plan.campaigns):
        if c.platform:
            b: float | None = round(float(spend[i].sum()) * 1.05, -2)
            k: float | None = None
        elif i in ev_cost:
            b, k = round(ev_cost[i] * 1.1, -2), None
        elif c.budget:
            b = round(c.budget * scale, 2)
            k = round(b * rng.uniform(.85, 1.05), 2) if c.type in (
                "content", "partner", "referral") else None
        else:
            b = k = None
        budget.append(b)
        cost.append(k)
    n = len(plan.campaigns)
    out.write({
        "campaign_id": w.strings([c.id for c in plan.campaigns]),
        "name": w.strings([c.name for c in plan.campaigns]),
        "channel": w.strings([c.channel for c in plan.campaigns]),
        "type": w.strings([c.type for c in plan.campaigns]),
        "start_date": w.dates([c.start for c in plan.campaigns]),
        "end_date": w.dates([c.end for c in plan.campaigns]),
        "budget": w.money(np.array([b or 0 for b in budget]),
                          np.array([b is not None for b in budget])),
        "cost": w.money(np.array([x or 0 for x in cost]), np.array([x is not None for x in cost])),
    }, n)


def write_events(out: w.CsvOut, tl: Timeline, plan: CampaignPlan, facts: EventFacts) -> None:
    evs = tl.events
    start = [ev.day * DAY + (16 if ev.kind == "webinar" else 8) * 3600 for ev in evs]
    out.write({
        "event_id": w.strings([f"EV-{plan.campaigns[c].id}" for c in facts.campaign]),
        "name": w.strings([ev.name for ev in evs]),
        "starts_at": w.ts(np.array(start, dtype=np.int64)),
        "kind": w.strings([ev.kind for ev in evs]),
        "campaign_id": w.strings([plan.campaigns[c].id for c in facts.campaign]),
        "registrants": w.ints(facts.registrants),
        "attendees": w.ints(facts.attendees),
        "cost": w.money(facts.cost),
    }, len(evs))


def write_annotations(out: w.CsvOut, tl: Timeline, facts: EventFacts) -> None:
    rows: list[tuple[int, str, int | None, str, str, str]] = []
    for i, ev in enumerate(tl.events):
        if ev.kind == "webinar":
            rows.append((ev.day, ev.name, None, "webinar", "webinar",
                         f"Monthly webinar with {facts.registrants[i]} registrants"))
        else:
            rows.append((ev.day, ev.name, ev.last_day, "trade_show", "trade_show",
                         f"Booth with {facts.attendees[i]} badge scans"))
    d0 = tl.d0
    rows += [
        (d0 + 150, "Consent banner and GA4 tracking change", None, "tracking_change", "",
         "Analytics consent mode switched on"),
        (d0 + 300, "Product launch: cohort snapshots", None, "launch", "", "Launch campaign"),
        (d0 + 420, "New per-seat pricing", None, "pricing", "", "Starter plan price raised"),
        (tl.outage_day(), "Website outage", None, "outage", "",
         "Site down for most of the day"),
        (d0 + 660, "Product launch: pipeline forecasts", None, "launch", "", "Launch campaign"),
        (epoch_day(tl.site_launch()), "New website launched", None, "launch", "",
         "Redesign with a new blog and pricing page; traffic up but forms harder to find"),
        (d0 + 950, "Product launch: HubSpot sync", None, "launch", "", "Launch campaign"),
    ]
    rows = sorted({(r[0], r[1]): r for r in rows if d0 <= r[0] <= tl.day[-1]}.values())
    out.write({
        "date": w.dates([r[0] for r in rows]),
        "label": w.strings([r[1] for r in rows]),
        "end_date": w.dates([r[2] or 0 for r in rows], np.array([r[2] is not None
                                                                 for r in rows])),
        "kind": w.strings([r[3] for r in rows]),
        "channel": w.strings([r[4] for r in rows]),
        "description": w.strings([r[5] for r in rows]),
    }, len(rows))


def write_emails(out: w.CsvOut, tl: Timeline, plan: CampaignPlan, vol: Volume, rev: Revenue,
                 seed: int) -> None:
    rng = np.random.default_rng([seed, 620])
    leads_to_date = np.cumsum(vol.counts.sum(axis=1))
    outbound = vol.counts[:, [cat.K["outbound_email"], cat.K["outbound_sdr"]]].sum(axis=1)
    active = (rev.mrr > 0).sum(axis=0)
    first = np.argmax(rev.mrr > 0, axis=1)[(rev.mrr > 0).any(axis=1)]
    new_by_month = np.bincount(first, minlength=len(tl.months))
    rows: list[tuple[int, str, str, str, str, int]] = []  # day, name, campaign, program, aud
    pid = {c.id: c.id for c in plan.campaigns}
    month_day = tl.month_start_days()
    for pos in range(tl.n):
        wd, day = int(tl.weekday[pos]), int(tl.day[pos])
        m = int(tl.month[pos])
        recent = int(vol.counts[max(0, pos - 28): pos].sum())
        if wd == 1:
            rows.append((day, f"Newsletter {tl.start + dt.timedelta(days=pos):%Y-%m-%d}",
                         pid["EM-NEWSLETTER"], "newsletter", "prospects",
                         int(leads_to_date[pos] * .55)))
            q = plan.campaigns[plan.pick(rng, cat.K["outbound_email"], np.array([pos]))[0]]
            for step in (1, 2, 3):
                rows.append((day, f"Outbound sequence step {step}", q.id, "sales",
                             "prospects", int(outbound[max(0, pos - 7): pos].sum() * .9)))
        if wd == 2:
            for step in (1, 2, 3, 4):
                rows.append((day, f"Nurture {step}: evaluation track", pid["EM-NURTURE"],
                             "nurture", "prospects", int(recent * .85 ** step)))
        if wd == 0:
            for step in (1, 2, 3):
                rows.append((day, f"Onboarding {step}", pid["EM-ONBOARDING"], "onboarding",
                             "customers", int(new_by_month[m] * 3 * .25)))
        if day == month_day[m]:
            rows.append((day, f"Product update {tl.start + dt.timedelta(days=pos):%B %Y}",
                         pid["EM-PRODUCT"], "product", "customers", int(active[m] * 4)))
    for ev_i, ev in enumerate(tl.events):
        c = plan.campaigns[next(i for i, x in enumerate(plan.campaigns) if x.event == ev_i)]
        lead = (14, 3) if ev.kind == "webinar" else (21, 7)
        for label, before in zip(("Invite", "Reminder"), lead, strict=True):
            day = ev.day - before
            if tl.d0 <= day:
                rows.append((day, f"{label}: {ev.name}", c.id, "event", "prospects",
                             int(leads_to_date[day - tl.d0] * .45)))
    rows = [r for r in rows if r[5] > 0]
    rows.sort(key=lambda r: (r[0], r[3], r[1]))
    n = len(rows)
    prog = [r[3] for r in rows]
    sent = np.array([r[5] for r in rows])
    delivered = sent - rng.binomial(sent, rng.uniform(.01, .04, n))
    rate = np.array([PROGRAM_RATES[p] for p in prog])
    opens = rng.binomial(delivered, rate[:, 0] * rng.uniform(.85, 1.15, n))
    clicks = rng.binomial(opens, np.clip(rate[:, 1] / rate[:, 0] * rng.uniform(.8, 1.2, n), 0, 1))
    sent_at = np.array([r[0] for r in rows]) * DAY + 14 * 3600 + rng.integers(0, 1800, n)
    out.write({
        "email_id": w.ids("E", np.arange(1, n + 1), 6),
        "sent_at": w.ts(sent_at),
        "name": w.strings([r[1] for r in rows]),
        "campaign_id": w.strings([r[2] for r in rows]),
        "program": w.strings(prog),
        "audience": w.strings([r[4] for r in rows]),
        "sent": w.ints(sent), "delivered": w.ints(delivered),
        "unique_opens": w.ints(opens), "unique_clicks": w.ints(clicks),
        "unsubscribes": w.ints(rng.binomial(delivered, .003)),
        "bounces": w.ints(sent - delivered),
        "spam_reports": w.ints(rng.binomial(delivered, .0003)),
    }, n)
