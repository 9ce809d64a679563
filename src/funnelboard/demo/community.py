"""Social, community, press, reviews and podcast (``engagement``) and community questions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from funnelboard.demo import writers as w
from funnelboard.demo.timeline import Timeline
from funnelboard.demo.writers import DAY, BoolArray, FloatArray, IntArray

SLACK_LAUNCH = 240  # days after the start


def _audience(rng: np.random.Generator, start: float, daily_growth: FloatArray) -> IntArray:
    steps = rng.poisson(np.maximum(daily_growth, 0))
    return np.asarray(np.rint(start) + np.cumsum(steps), dtype=np.int64)


def write_engagement(out: w.CsvOut, tl: Timeline, scale: float, seed: int) -> FloatArray:
    """Write engagement; returns the daily active members of the forum and Slack (for the
    community questions)."""
    rng = np.random.default_rng([seed, 700])
    n = tl.n
    t = np.arange(n) / 365.25
    wd = tl.weekday_factor()
    weekday = tl.weekday < 5
    sc = max(scale, .05)
    blocks: list[dict[str, pa.Array]] = []
    keys: list[tuple[IntArray, str]] = []

    def add(platform: str, kind: str, rows: BoolArray, **cols: IntArray) -> None:
        idx = np.flatnonzero(rows)
        block = {"date": w.dates(tl.day[idx]), "platform": w.const(platform, len(idx)),
                 "kind": w.const(kind, len(idx))}
        for name, arr in cols.items():
            block[name] = w.ints(arr[idx])
        blocks.append(block)
        keys.append((tl.day[idx], platform))

    every = np.ones(n, dtype=bool)
    li = _audience(rng, 6000 * sc, 9 * sc * 1.35 ** t)
    li_imp = rng.poisson(li * .3 * wd * tl.season(.5))
    add("linkedin", "social", every, audience=li, impressions=li_imp,
        engagements=rng.binomial(li_imp, .03), clicks=rng.binomial(li_imp, .008),
        mentions=rng.poisson(li * .0004), posts=rng.poisson(np.where(weekday, .9, .05)))
    x = _audience(rng, 4200 * sc, 1.2 * sc - .6 * sc * t)
    x_imp = rng.poisson(x * .18 * wd)
    add("x", "social", every, audience=x, impressions=x_imp,
        engagements=rng.binomial(x_imp, .012), clicks=rng.binomial(x_imp, .004),
        mentions=rng.poisson(x * .0006), posts=rng.poisson(np.where(weekday, .7, .1)))
    yt = _audience(rng, 900 * sc, 1.5 * sc * 1.4 ** t)
    video_day = tl.weekday == 3
    yt_imp = rng.poisson(yt * .5 * np.where(video_day, 3.0, 1.0))
    add("youtube", "social", every, audience=yt, impressions=yt_imp,
        engagements=rng.binomial(yt_imp, .05), clicks=rng.binomial(yt_imp, .01),
        posts=video_day.astype(np.int64))
    # forum: still growing, but fewer members are active in the last year; Slack takes over
    forum = _audience(rng, 2500 * sc, 3 * sc * np.ones(n))
    fade = np.clip(1 - .35 * (t - 2) , .6, 1.0)
    forum_act = rng.binomial(forum, .06 * fade * wd / wd.mean())
    add("forum", "community", every, audience=forum, active_members=forum_act,
        posts=rng.poisson(forum_act * .15), engagements=rng.poisson(forum_act * .6))
    live = np.arange(n) >= SLACK_LAUNCH
    slack = _audience(rng, 0, np.where(live, 6 * sc * 1.3 ** t, 0))
    slack_act = rng.binomial(slack, .2 * wd / wd.mean())
    add("slack", "community", live, audience=slack, active_members=slack_act,
        posts=rng.poisson(slack_act * .25), engagements=rng.poisson(slack_act * 1.2))
    boost = np.zeros(n)
    for ev in tl.events:
        if ev.kind == "trade_show":
            boost[ev.day - tl.d0: ev.last_day - tl.d0 + 2] += .8
    mentions = rng.poisson(.07 + boost)
    add("press", "press", mentions > 0, mentions=mentions,
        impressions=(mentions * rng.lognormal(np.log(40_000 * sc ** .5), .8, n)).astype(
            np.int64))
    reviews = rng.poisson(.12 * sc ** .5 * 1.3 ** t)
    add("g2", "review", reviews > 0, mentions=reviews, audience=np.cumsum(reviews) + 20)
    episode = tl.weekday == 3
    subs = _audience(rng, 300 * sc, .8 * sc * 1.3 ** t)
    add("podcast", "podcast", episode, audience=subs,
        impressions=rng.poisson(subs * 1.6), posts=np.ones(n, dtype=np.int64))

    day = np.concatenate([k[0] for k in keys])
    order = np.argsort(day, kind="stable")
    table = pa.concat_tables([_table(out, b) for b in blocks]).take(order)
    out.write({name: table.column(name).combine_chunks() for name in table.column_names})
    return np.asarray(forum_act + slack_act * live, dtype=np.float64)


def _table(out: w.CsvOut, block: dict[str, pa.Array]) -> pa.Table:
    n = len(block["date"])
    cols = {name: block.get(name, pa.nulls(n, pa.int64() if name not in (
        "date", "platform", "kind") else pa.string())) for name in out.names}
    cols = {k: v.dictionary_decode() if isinstance(v, pa.DictionaryArray) else v
            for k, v in cols.items()}
    return pa.table(cols)


def write_questions(out: w.CsvOut, tl: Timeline, active: FloatArray, seed: int) -> None:
    """Questions asked in the forum and in Slack, answered by staff or the community."""
    rng = np.random.default_rng([seed, 710])
    lam = active * .03
    lam *= min(1.0, 30_000 / max(lam.sum(), 1.0))
    count = rng.poisson(lam)
    pos = np.repeat(np.arange(tl.n), count)
    n = len(pos)
    slack_share = np.where(pos >= SLACK_LAUNCH, .3 + .5 * pos / tl.n, 0)
    platform = (rng.random(n) < slack_share).astype(np.int64)
    asked = tl.day[pos] * DAY + rng.integers(6 * 3600, 22 * 3600, n)
    staff = rng.random(n) < .55
    wait = np.exp(rng.normal(np.log(np.where(staff, 3.5, 9.0)), .9)) * 3600
    answered = asked + wait.astype(np.int64)
    ok = (rng.random(n) > .06) & (answered <= tl.end_ts)
    resolved = answered + (np.exp(rng.normal(np.log(18.0), .8, n)) * 3600).astype(np.int64)
    res_ok = ok & (rng.random(n) < .75) & (resolved <= tl.end_ts)
    order = np.argsort(asked, kind="stable")
    asked, platform, answered, resolved = (asked[order], platform[order], answered[order],
                                           resolved[order])
    ok, staff, res_ok = ok[order], staff[order], res_ok[order]
    out.write({
        "question_id": w.ids("Q", np.arange(1, n + 1), 6),
        "asked_at": w.ts(asked),
        "platform": w.pick(("forum", "slack"), platform),
        "first_answered_at": w.ts(answered, ok),
        "answered_by": w.pick(("community", "staff"), staff.astype(np.int64), ok),
        "resolved_at": w.ts(resolved, res_ok),
    }, n)
