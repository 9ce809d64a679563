"""Channel rules: raw source / medium / campaign (or a raw CRM source value) → channel → motion.

Every tool names traffic and lead sources its own way (GA4 source/medium, HubSpot
``ORGANIC_SEARCH``, Salesforce ``Trade Show``). funnelboard keeps the raw values and derives one
canonical channel slug from them with ordered, user-editable rules stored in
``funnelboard.toml`` under ``[channels]``; the channel's motion (inbound / outbound) comes from a
per-channel map. Channels are derived at query time (:meth:`ChannelRules.sql_case`), so a rule
change applies to all history. See ``docs/channels.md``.

Examples
--------
>>> rules = parse_channel_settings(default_channel_settings())
>>> match = rules.classify("facebook", "cpc")
>>> match.channel, match.motion
('paid_social', 'inbound')
"""

from __future__ import annotations

from funnelboard.channels.audit import audit_unassigned
from funnelboard.channels.defaults import default_channel_settings
from funnelboard.channels.model import UNASSIGNED, ChannelMatch, ChannelRules, Rule
from funnelboard.channels.parse import parse_channel_settings

__all__ = [
    "UNASSIGNED",
    "ChannelMatch",
    "ChannelRules",
    "Rule",
    "audit_unassigned",
    "default_channel_settings",
    "parse_channel_settings",
]
