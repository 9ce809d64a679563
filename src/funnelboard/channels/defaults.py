"""The default ``[channels]`` section written into every new workspace's ``funnelboard.toml``.

It is GA4's default channel group for manually tagged traffic (conventions §3.2, in Google's
order) preceded by the B2B offline channels that GA4 has no notion of (webinars, trade shows,
outbound sequences, partners...), plus a table of raw CRM "original source" values (HubSpot's
source enum and labels, Salesforce's ``LeadSource`` picklist). It is plain data so users read
and edit it in the settings file; :func:`parse_channel_settings` turns it into rules.

GA4 rules that say "A or B" are written as two consecutive rules with the same channel and
name, because every condition inside one rule must hold.
"""

from __future__ import annotations

from typing import Any

#: GA4's "PAID" medium pattern (conventions §3.2).
PAID_REGEX = "^(.*cp.*|ppc|retargeting|paid.*)$"
#: GA4's shopping-campaign pattern (conventions §3.2).
SHOP_REGEX = "^(.*(([^a-df-z]|^)shop|shopping).*)$"
#: Names used for well-known patterns when a rule is described to a user.
KNOWN_PATTERNS: dict[str, str] = {PAID_REGEX: "PAID", SHOP_REGEX: "SHOP"}

#: Version of the default ruleset; bump when the defaults change meaning.
DEFAULT_VERSION = 1

_EMAIL = ["email", "e-mail", "e_mail", "e mail"]
_SOCIAL_MEDIUMS = [
    "social",
    "social-network",
    "social-media",
    "sm",
    "social network",
    "social media",
]

_B2B_RULES: list[dict[str, Any]] = [
    {"name": "Webinar", "channel": "webinar", "medium": ["webinar", "webinars"]},
    {
        "name": "Trade show",
        "channel": "trade_show",
        "medium": ["trade_show", "tradeshow", "trade-show", "trade show", "booth"],
    },
    {"name": "Event", "channel": "event", "medium": ["event", "events", "conference", "meetup"]},
    {
        "name": "Outbound email",
        "channel": "outbound_email",
        "medium": ["outbound", "cold_email", "cold-email", "sequence"],
    },
    {
        "name": "Outbound email",
        "channel": "outbound_email",
        "source": ["outreach", "salesloft", "apollo"],
    },
    {"name": "Outbound SDR", "channel": "outbound_sdr", "medium": ["sdr"]},
    {
        "name": "Outbound SDR",
        "channel": "outbound_sdr",
        "source": ["linkedin_sales_navigator", "sales_navigator"],
    },
    {"name": "Partner", "channel": "partner", "medium": ["partner", "partners"]},
    {
        "name": "Customer referral",
        "channel": "customer_referral",
        "source_or_medium": ["customer_referral", "customer-referral"],
    },
]

_GA4_RULES: list[dict[str, Any]] = [
    {
        "name": "Direct",
        "channel": "direct",
        "source": ["(direct)"],
        "medium": ["(not set)", "(none)", ""],
    },
    {"name": "Cross-network", "channel": "cross_network", "campaign_regex": "cross-network"},
    {
        "name": "Paid Shopping",
        "channel": "paid_shopping",
        "source_category": "shopping",
        "medium_regex": PAID_REGEX,
    },
    {
        "name": "Paid Shopping",
        "channel": "paid_shopping",
        "campaign_regex": SHOP_REGEX,
        "medium_regex": PAID_REGEX,
    },
    {
        "name": "Paid Search",
        "channel": "paid_search",
        "source_category": "search",
        "medium_regex": PAID_REGEX,
    },
    {
        "name": "Paid Social",
        "channel": "paid_social",
        "source_category": "social",
        "medium_regex": PAID_REGEX,
    },
    {
        "name": "Paid Video",
        "channel": "paid_video",
        "source_category": "video",
        "medium_regex": PAID_REGEX,
    },
    {
        "name": "Display",
        "channel": "display",
        "medium": ["display", "banner", "expandable", "interstitial", "cpm"],
    },
    {"name": "Paid Other", "channel": "other_paid", "medium_regex": PAID_REGEX},
    {"name": "Organic Shopping", "channel": "organic_shopping", "source_category": "shopping"},
    {"name": "Organic Shopping", "channel": "organic_shopping", "campaign_regex": SHOP_REGEX},
    {"name": "Organic Social", "channel": "organic_social", "source_category": "social"},
    {"name": "Organic Social", "channel": "organic_social", "medium": _SOCIAL_MEDIUMS},
    {"name": "Organic Video", "channel": "organic_video", "source_category": "video"},
    {"name": "Organic Video", "channel": "organic_video", "medium_regex": "^(.*video.*)$"},
    {"name": "Organic Search", "channel": "organic_search", "source_category": "search"},
    {"name": "Organic Search", "channel": "organic_search", "medium": ["organic"]},
    {"name": "Referral", "channel": "referral", "medium": ["referral", "app", "link"]},
    {"name": "Email", "channel": "email", "source_or_medium": _EMAIL},
    {"name": "Affiliates", "channel": "affiliates", "medium": ["affiliate"]},
    {"name": "Audio", "channel": "audio", "medium": ["audio"]},
    {"name": "SMS", "channel": "sms", "source_or_medium": ["sms"]},
    {
        "name": "Mobile Push Notifications",
        "channel": "mobile_push_notifications",
        "medium_regex": "(push$|mobile|notification)",
    },
    {
        "name": "Mobile Push Notifications",
        "channel": "mobile_push_notifications",
        "source": ["firebase"],
    },
    {"name": "AI Assistant", "channel": "ai_assistant", "medium": ["ai-assistant"]},
]

#: Raw CRM values (matched whole, case-insensitively, when no medium is given).
_SOURCE_VALUES: dict[str, str] = {
    # HubSpot original / latest source: internal values (API, warehouse syncs) ...
    "ORGANIC_SEARCH": "organic_search",
    "PAID_SEARCH": "paid_search",
    "EMAIL_MARKETING": "email",
    "SOCIAL_MEDIA": "organic_social",
    "PAID_SOCIAL": "paid_social",
    "REFERRALS": "referral",
    "OTHER_CAMPAIGNS": "other_campaigns",
    "DIRECT_TRAFFIC": "direct",
    "OFFLINE": "offline",
    "AI_REFERRALS": "ai_assistant",
    # ... and labels (CSV exports); "Referrals" is covered by REFERRALS.
    "Organic search": "organic_search",
    "Paid search": "paid_search",
    "Email marketing": "email",
    "Organic social": "organic_social",
    "Social media": "organic_social",
    "Paid social": "paid_social",
    "Other campaigns": "other_campaigns",
    "Direct traffic": "direct",
    "Offline sources": "offline",
    "AI referrals": "ai_assistant",
    # Salesforce LeadSource: stock values, older stock values and common additions.
    "Web": "website",
    "Phone Inquiry": "phone_inquiry",
    "Partner Referral": "partner",
    "Purchased List": "purchased_list",
    "Other": "other",
    "Advertisement": "other_paid",
    "Employee Referral": "referral",
    "External Referral": "referral",
    "Partner": "partner",
    "Public Relations": "public_relations",
    "Seminar - Internal": "event",
    "Seminar - Partner": "partner",
    "Trade Show": "trade_show",
    "Webinar": "webinar",
    "Word of mouth": "referral",
    "Customer Referral": "customer_referral",
    "Cold Call": "outbound_sdr",
}

#: Channels started by the seller rather than the buyer. Everything else is inbound.
_OUTBOUND = ("outbound_email", "outbound_sdr", "purchased_list")

#: Sources named in conventions §3.2 that the shipped GA4 category list lacks.
_EXTRA_SOURCES: dict[str, list[str]] = {
    "search": ["ecosia"],
    "social": ["x.com"],
    "video": [],
    "shopping": ["shopping.google"],
}


def _all_channels() -> list[str]:
    """Every channel the defaults can produce, in first-appearance order."""
    seen: dict[str, None] = {}
    for rule in _B2B_RULES + _GA4_RULES:
        seen.setdefault(rule["channel"], None)
    for channel in _SOURCE_VALUES.values():
        seen.setdefault(channel, None)
    return list(seen)


def default_channel_settings() -> dict[str, Any]:
    """The default ``[channels]`` section as a fresh, TOML-serialisable dict.

    Returns a new dict on every call, so callers may edit it freely.

    Examples
    --------
    >>> settings = default_channel_settings()
    >>> settings["rules"][0]["channel"], settings["motion"]["outbound_sdr"]
    ('webinar', 'outbound')
    """
    rules = [
        {key: list(value) if isinstance(value, list) else value for key, value in rule.items()}
        for rule in _B2B_RULES + _GA4_RULES
    ]
    motion = {
        channel: "outbound" if channel in _OUTBOUND else "inbound" for channel in _all_channels()
    }
    return {
        "version": DEFAULT_VERSION,
        "rules": rules,
        "source_values": dict(_SOURCE_VALUES),
        "motion": motion,
        "extra_sources": {key: list(value) for key, value in _EXTRA_SOURCES.items()},
    }
