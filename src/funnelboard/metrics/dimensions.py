"""Breakdown dimensions of contacts and accounts, derived at query time.

A contact's channel is its stored channel, else the channel the workspace's rules derive from
its first-touch UTMs (when ``utm_source`` or ``utm_medium`` is set) or from its CRM ``source``
with ``source_detail`` as the campaign — the same inputs ``channels audit`` reports. The rules
run in Python on the few *distinct* input combinations and come back to the engine as a small
lookup table, so every backend gets the identical answer ``channels test`` gives (the table is
kept on the engine until the data changes: :func:`channel_lookup`). Motion is
the stored motion, else the channel's (outbound channels per the rules, others inbound).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.channels import UNASSIGNED, ChannelRules, parse_channel_settings
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery

#: Contact columns used as they are stored (empty text reads as no value).
STORED = {"source": "source", "source_detail": "source_detail",
          "latest_channel": "latest_channel", "latest_source": "latest_source",
          "campaign": "campaign_id", "persona": "persona", "owner": "owner"}
#: Dimensions that come from the contact's account.
FROM_ACCOUNT = ("segment", "industry", "icp_tier", "is_target_account")


def _text(col: ir.Value) -> ir.StringValue:
    """Text with surrounding spaces removed; empty reads as NULL."""
    value = col.cast("string").strip()
    return value.nullif("")


def channel_rules(engine: Engine) -> ChannelRules:
    raw = engine.settings.channels
    if not raw:
        from funnelboard.channels import default_channel_settings

        raw = default_channel_settings()
    return _cached_rules(engine, raw)


def _cached_rules(engine: Engine, raw: Any) -> ChannelRules:
    cache = engine.__dict__.setdefault("_channel_rules", {})
    if "rules" not in cache:
        cache["rules"] = parse_channel_settings(raw)
    rules: ChannelRules = cache["rules"]
    return rules


def needed(query: MetricQuery) -> set[str]:
    return set(query.by) | set(query.filter_map)


def contact_dimensions(engine: Engine, query: MetricQuery) -> ir.Table:
    """``contact_id, created, account_id`` and the dimensions the query needs, per contact.

    At account level the channel, motion and campaign are always computed (the roll-up may
    take them from the account's first won opportunity instead).
    """
    c = engine.table("contacts")
    want = needed(query)
    if query.level == "account":
        want |= {"channel", "motion", "campaign"}
    if want & {"channel", "motion"}:
        c = _with_channel(engine, c)
    from_account = want & {*FROM_ACCOUNT, "region"}
    if from_account:
        a = engine.table("accounts")
        a = a.select(a_id=_text(a.account_id), a_region=_text(a.region),
                     **{f"a_{d}": _text(a[d]) for d in FROM_ACCOUNT})
        c = c.mutate(fb_account=_text(c.account_id))
        c = c.left_join(a, c.fb_account == a.a_id)
    cols: dict[str, ir.Value] = {"contact_id": c.contact_id, "created": c.created_at,
                                 "account_id": _text(c.account_id)}
    if "channel" in want:
        cols["channel"] = c.fb_channel
    if "motion" in want:
        cols["motion"] = _text(c.motion).coalesce(motion_of(engine, c.fb_channel))
    for dim, column in STORED.items():
        if dim in want:
            cols[dim] = _text(c[column])
    if "region" in want:
        cols["region"] = _text(c.region).coalesce(c.a_region)
    for dim in FROM_ACCOUNT:
        if dim in want:
            cols[dim] = c[f"a_{dim}"]
    return c.select(**cols)


#: The contact columns a derived channel depends on: the first-touch UTMs, else the CRM
#: source with its detail (:func:`_rule_inputs`).
CHANNEL_INPUTS = ("utm_source", "utm_medium", "utm_campaign", "source", "source_detail")


def _rule_inputs(c: ir.Table) -> dict[str, ir.Value]:
    """The rules' ``source`` / ``medium`` / ``campaign`` of contacts: the first-touch UTMs
    when ``utm_source`` or ``utm_medium`` is set, else ``source`` and ``source_detail``."""
    utm = (_text(c.utm_source).notnull()) | (_text(c.utm_medium).notnull())
    return {"source": ibis.ifelse(utm, c.utm_source, c.source),
            "medium": ibis.ifelse(utm, c.utm_medium, ibis.null().cast("string")),
            "campaign": ibis.ifelse(utm, c.utm_campaign, c.source_detail)}


def _with_channel(engine: Engine, c: ir.Table) -> ir.Table:
    """Contacts with ``fb_channel``: the stored channel, else the one the rules derive.

    The lookup is keyed on the raw :data:`CHANNEL_INPUTS` (compared null-safely), so each
    contact costs one hash probe: the text tests that turn them into the rules' inputs run on
    the distinct combinations only, and only for contacts without a stored channel.
    """
    c = c.mutate(fb_stored=_text(c.channel))
    raw = c.filter(c.fb_stored.isnull()).select(*CHANNEL_INPUTS).distinct()
    lookup = channel_lookup(engine, raw.mutate(**_as_keys(**_rule_inputs(raw))),
                            CHANNEL_INPUTS)
    if lookup is None:
        return c.mutate(fb_channel=c.fb_stored)
    c = c.left_join(lookup, [c[n].identical_to(lookup[f"k_{n}"]) for n in CHANNEL_INPUTS])
    return c.mutate(fb_channel=c.fb_stored.coalesce(c.k_channel))


def _as_keys(*, source: ir.Value, medium: ir.Value, campaign: ir.Value) -> dict[str, ir.Value]:
    """The rules' inputs as ``fb_s``, ``fb_m``, ``fb_c``: text, empty when missing."""
    return {"fb_s": source.cast("string").coalesce(""),
            "fb_m": medium.cast("string").coalesce(""),
            "fb_c": campaign.cast("string").coalesce("")}


def with_channel(engine: Engine, t: ir.Table, *, source: ir.Value, medium: ir.Value,
                 campaign: ir.Value, stored: ir.Value | None) -> ir.Table:
    """``t`` with ``fb_channel``: ``stored`` when not empty, else the channel the rules give
    the raw ``source`` / ``medium`` / ``campaign`` (expressions over ``t``).

    The rules run in Python on the distinct input combinations only and join back as a small
    lookup table (every backend gets the answer ``channels test`` gives).
    """
    stored_text = _text(stored) if stored is not None else ibis.null().cast("string")
    t = t.mutate(fb_stored=stored_text,
                 **_as_keys(source=source, medium=medium, campaign=campaign))
    keys = ("fb_s", "fb_m", "fb_c")
    lookup = channel_lookup(engine, t.filter(t.fb_stored.isnull()).select(*keys).distinct(),
                            keys)
    if lookup is None:
        return t.mutate(fb_channel=t.fb_stored)
    t = t.left_join(lookup, [t[k] == lookup[f"k_{k}"] for k in keys])
    return t.mutate(fb_channel=t.fb_stored.coalesce(t.k_channel))


#: lookup tables kept per engine (each is a few hundred rows at most)
_KEPT_LOOKUPS = 32


def channel_lookup(engine: Engine, inputs: ir.Table,
                   keys: tuple[str, ...]) -> ir.Table | None:
    """``k_<key>`` for each of ``keys`` and ``k_channel``: the rules' channel of each row of
    ``inputs`` (distinct ``keys``, with the rules' inputs as ``fb_s``, ``fb_m``, ``fb_c``);
    ``None`` when ``inputs`` has no rows.

    The query of ``inputs`` reads every row of its table, so its answer is kept on the engine
    (which lives as long as its connection or read view) while :meth:`Engine.data_version`
    stays the same: repeated and related queries by channel share it. Where the engine cannot
    tell the data's version, the query runs every time.
    """
    version = engine.data_version()
    kept: dict[Any, ir.Table | None] = {}
    if version is not None:
        memo = engine.memo.get("channel_lookups")
        if memo is None or memo[0] != version:
            memo = engine.memo["channel_lookups"] = (version, {})
        kept = memo[1]
        if inputs.op() in kept:
            return kept[inputs.op()]
    rules = channel_rules(engine)
    rows = engine.execute(inputs)
    lookup = None
    if rows:
        schema = inputs.schema()
        data: dict[str, list[Any]] = {f"k_{k}": [r[k] for r in rows] for k in keys}
        data["k_channel"] = [rules.classify(r["fb_s"] or None, r["fb_m"] or None,
                                            r["fb_c"] or None).channel for r in rows]
        lookup = ibis.memtable(data, schema={**{f"k_{k}": schema[k] for k in keys},
                                             "k_channel": "string"})
    if version is not None:
        if len(kept) >= _KEPT_LOOKUPS:
            kept.pop(next(iter(kept)))
        kept[inputs.op()] = lookup
    return lookup


def motion_of(engine: Engine, channel: ir.StringValue) -> ir.StringValue:
    """The rules' motion of a channel: outbound channels per the settings, else inbound; no
    channel (or unassigned) gives no motion."""
    rules = channel_rules(engine)
    outbound = sorted(k for k, v in rules.motions.items() if v == "outbound")
    return ibis.cases(
        (channel.isnull() | (channel == UNASSIGNED), ibis.null().cast("string")),
        (channel.isin(outbound) if outbound else ibis.literal(False), "outbound"),
        else_="inbound")


def account_rollup(engine: Engine, t: ir.Table, query: MetricQuery) -> ir.Table:
    """Contacts (with ``e_<stage>`` columns) rolled up to one row per account.

    data-contract.md: an account reaches a stage when its first contact does (the minimum
    over its contacts); its cohort date is its earliest contact's ``created_at``; its channel
    and campaign are those of its first won new-business opportunity (by close date), else of
    its earliest contact (ties: lowest contact id). The other contact dimensions (source,
    persona, owner, …) come from the earliest contact; segment, industry, ICP tier and target
    flag from the account; region from the account, else the earliest contact.
    """
    stages = engine.settings.stages
    want = needed(query) | {"channel", "motion", "campaign"}
    per_contact = [d for d in sorted(want) if d not in FROM_ACCOUNT]
    rank_window = ibis.window(group_by=t.account_id, order_by=[t.created, t.contact_id])
    ranked = t.mutate(fb_rank=ibis.row_number().over(rank_window))
    first = ranked.filter(ranked.fb_rank == 0)
    first = first.select(f_account=first.account_id,
                         **{f"f_{d}": first[d] for d in per_contact})
    agg = t.group_by("account_id").aggregate(
        created=t.created.min(), **{f"e_{s}": t[f"e_{s}"].min() for s in stages})
    a = engine.table("accounts")
    a = a.select(a_id=_text(a.account_id), a_region=_text(a.region),
                 **{f"a_{d}": _text(a[d]) for d in FROM_ACCOUNT})
    o = engine.table("opportunities")
    o = o.filter(o.is_won, _text(o["type"]) == "new_business", o.close_date.notnull(),
                 o.close_date <= query.as_of, _text(o.account_id).notnull())
    o = o.mutate(o_account=_text(o.account_id))
    opp_window = ibis.window(group_by=o.o_account,
                             order_by=[o.close_date, o.created_at, o.opportunity_id])
    o = o.mutate(fb_rank=ibis.row_number().over(opp_window))
    o = o.filter(o.fb_rank == 0).select(
        "o_account", o_channel=_text(o.channel), o_campaign=_text(o.campaign_id))
    j = agg.left_join(first, agg.account_id == first.f_account)
    j = j.left_join(a, j.account_id == a.a_id)
    j = j.left_join(o, j.account_id == o.o_account)
    cols: dict[str, ir.Value] = {"account_id": j.account_id, "created": j.created,
                                 **{f"e_{s}": j[f"e_{s}"] for s in stages}}
    won = j.o_account.notnull()
    cols["channel"] = ibis.ifelse(won, j.o_channel.coalesce(j.f_channel), j.f_channel)
    cols["campaign"] = ibis.ifelse(won, j.o_campaign, j.f_campaign)
    cols["motion"] = ibis.ifelse(won & j.o_channel.notnull(), motion_of(engine, j.o_channel),
                                 j.f_motion)
    for d in per_contact:
        if d not in cols:
            cols[d] = j[f"f_{d}"]
    if "region" in want:
        cols["region"] = j.a_region.coalesce(j.f_region)
    for d in FROM_ACCOUNT:
        if d in want:
            cols[d] = j[f"a_{d}"]
    return j.select(**cols)
