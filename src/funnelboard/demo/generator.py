"""``generate``: the whole demo company as one canonical CSV file per table.

Contacts are simulated in chunks of whole days (about ``CHUNK`` contacts each) and every table
that grows with them (contacts, stage events, touchpoints, meetings, survey answers) is written
chunk by chunk, so memory stays flat whatever the size. The rest is built from small
aggregates: the daily volume matrix, the contact-sourced opportunities (a few % of contacts),
the customer base and the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

from funnelboard.demo import activity, ads, community, customers, finance, marketing, web
from funnelboard.demo import writers as w
from funnelboard.demo.campaigns import build_plan
from funnelboard.demo.company import make_accounts, write_accounts
from funnelboard.demo.contact_rows import contact_columns
from funnelboard.demo.contacts import OppSeeds, World, simulate
from funnelboard.demo.deals import write_deals
from funnelboard.demo.revenue import (
    Revenue,
    contact_deals,
    initial_customers,
    simulate_customers,
)
from funnelboard.demo.timeline import Timeline
from funnelboard.demo.volume import build_volume
from funnelboard.errors import UsageError
from funnelboard.schema import TABLES

Progress = Callable[[str, int, int], None]
CHUNK = 200_000
MAX_CONTACTS = 50_000_000
IMPORT_ORDER: tuple[str, ...] = (
    "accounts", "campaigns", "fx_rates", "contacts", "stage_events", "opportunities",
    "opportunity_stages", "meetings", "touchpoints", "events", "email_sends", "ad_performance",
    "ad_account_engagement", "web_traffic", "engagement", "community_questions", "mrr",
    "product_usage", "nps_responses", "survey_responses", "costs", "targets", "annotations",
)


def import_order() -> list[str]:
    """Canonical tables in an order where referenced rows come first."""
    return list(IMPORT_ORDER)


def generate(out_dir: Path, *, contacts: int = 50_000, seed: int = 42,
             end: dt.date | None = None,
             progress: Progress | None = None) -> dict[str, Path]:
    """Write a 3-year synthetic B2B SaaS company into ``out_dir`` (one ``<table>.csv`` per
    canonical table) and return table -> path.

    ``end`` is the last day of data (default: today); the same seed and end date give
    byte-identical files. ``progress(label, done, total)`` is called as work finishes.
    """
    if not 100 <= contacts <= MAX_CONTACTS:
        raise UsageError(f"The demo needs between 100 and {MAX_CONTACTS:,} contacts, "
                         f"not {contacts:,}.")
    report: Progress = progress or (lambda label, done, total: None)
    end = end or dt.date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {t: out_dir / f"{t}.csv" for t in IMPORT_ORDER}
    tl = Timeline(end)
    scale = contacts / 50_000
    plan = build_plan(tl)
    vol = build_volume(tl, contacts, seed)
    accounts = make_accounts(max(contacts // 8, 12), seed)
    world = World(tl, vol, accounts, plan, seed)
    outs = {t: w.CsvOut(paths[t], t) for t in
            ("contacts", "stage_events", "touchpoints", "meetings", "survey_responses")}
    try:
        seeds, stats = _contacts(world, outs, report)
    finally:
        for t in ("contacts", "stage_events", "touchpoints", "meetings"):
            outs[t].close()
    survey = outs["survey_responses"]
    steps = ["opportunities", "customers", "web_traffic", "ads", "marketing", "engagement",
             "finance", "accounts"]

    def step(i: int) -> None:
        report(f"writing {steps[i]}", i, len(steps))

    try:
        step(0)
        fx = finance.fx_series(tl, seed)
        initial = initial_customers(accounts, contacts, seed)
        deals = contact_deals(seeds, accounts.n, initial, tl.d0, tl.end_ts, seed)
        rev = simulate_customers(tl, deals, accounts, initial, seed)
        with w.CsvOut(paths["opportunities"], "opportunities") as o, \
                w.CsvOut(paths["opportunity_stages"], "opportunity_stages") as s:
            write_deals(o, s, rev.deals, accounts, [c.id for c in plan.campaigns], fx, tl.d0,
                        tl.end_ts, seed)
        step(1)
        _customer_tables(paths, rev, tl, seed, survey)
    finally:
        survey.close()
    step(2)
    with w.CsvOut(paths["web_traffic"], "web_traffic") as o:
        web.write_web(o, tl, plan, vol, accounts, seed)
    step(3)
    with w.CsvOut(paths["ad_performance"], "ad_performance") as o:
        spend = ads.write_ads(o, tl, plan, vol, stats["paid"], seed)
    with w.CsvOut(paths["ad_account_engagement"], "ad_account_engagement") as o:
        ads.write_account_engagement(o, tl, plan, accounts, seed)
    step(4)
    facts = marketing.event_facts(tl, plan, vol, scale, seed)
    with w.CsvOut(paths["campaigns"], "campaigns") as o:
        marketing.write_campaigns(o, plan, spend, facts, scale, seed)
    with w.CsvOut(paths["events"], "events") as o:
        marketing.write_events(o, tl, plan, facts)
    with w.CsvOut(paths["annotations"], "annotations") as o:
        marketing.write_annotations(o, tl, facts)
    with w.CsvOut(paths["email_sends"], "email_sends") as o:
        marketing.write_emails(o, tl, plan, vol, rev, seed)
    step(5)
    with w.CsvOut(paths["engagement"], "engagement") as o:
        active = community.write_engagement(o, tl, scale, seed)
    with w.CsvOut(paths["community_questions"], "community_questions") as o:
        community.write_questions(o, tl, active, seed)
    step(6)
    with w.CsvOut(paths["fx_rates"], "fx_rates") as o:
        finance.write_fx(o, tl, fx)
    with w.CsvOut(paths["costs"], "costs") as o:
        finance.write_costs(o, tl, plan, spend, facts, rev, scale, seed)
    with w.CsvOut(paths["targets"], "targets") as o:
        finance.write_targets(o, tl, stats["stages"], stats["leads"], rev.deals, seed)
    step(7)
    with w.CsvOut(paths["accounts"], "accounts") as o:
        write_accounts(o, accounts, tl.d0, int(tl.day[-1]), seed)
    report("done", len(steps), len(steps))
    missing = set(TABLES) - set(paths)
    assert not missing, missing
    return {t: paths[t] for t in TABLES}


def _contacts(world: World, outs: dict[str, w.CsvOut],
              report: Progress) -> tuple[OppSeeds, dict[str, np.ndarray]]:
    tl, plan = world.tl, world.plan
    total = world.volume.total
    seeds: list[OppSeeds] = []
    stages = np.zeros((5, len(tl.quarters)), dtype=np.int64)
    leads = np.zeros((len(world.volume.counts[0]), len(tl.quarters)), dtype=np.int64)
    paid = np.zeros((tl.n, len(plan.campaigns)), dtype=np.int64)
    first = first_opp = first_tp = first_meeting = 0
    report("contacts", 0, total)
    for no, (lo, hi) in enumerate(world.volume.chunks(CHUNK)):
        ch = simulate(world, lo, hi, first, no, first_opp)
        outs["contacts"].write(contact_columns(world, ch))
        outs["stage_events"].write(activity.stage_reentries(world, ch))
        tp = activity.touchpoints(world, ch, first_tp)
        outs["touchpoints"].write(tp)
        mt = activity.meetings(world, ch, first_meeting)
        outs["meetings"].write(mt)
        outs["survey_responses"].write(activity.heard_answers(world, ch))
        seeds.append(OppSeeds.of(ch))
        stages += finance.stage_quarters(tl, [ch.lead, ch.mql, ch.sql, ch.opp, ch.customer])
        ok = ch.lead >= 0
        np.add.at(leads, (ch.k[ok], finance.quarter_of(tl, ch.lead[ok])), 1)
        has_c = ch.campaign >= 0
        np.add.at(paid, (ch.day[has_c], ch.campaign[has_c]), 1)
        first += ch.n
        first_opp += int((ch.opp >= 0).sum())
        first_tp += len(tp["touchpoint_id"])
        first_meeting += len(mt["meeting_id"])
        report("contacts", first, total)
    return OppSeeds.collect(seeds), {"stages": stages, "leads": leads, "paid": paid}


def _customer_tables(paths: dict[str, Path], rev: Revenue, tl: Timeline, seed: int,
                     survey: w.CsvOut) -> None:
    with w.CsvOut(paths["mrr"], "mrr") as o:
        customers.write_mrr(o, rev, tl)
    with w.CsvOut(paths["product_usage"], "product_usage") as o:
        customers.write_usage(o, rev, tl, seed)
    with w.CsvOut(paths["nps_responses"], "nps_responses") as o:
        customers.write_nps(o, rev, tl, seed)
    customers.write_onboarding(survey, rev, tl, seed)
