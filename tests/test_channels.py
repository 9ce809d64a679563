"""Channel rules: GA4 default channel group, B2B channels, raw CRM values, SQL agreement, audit.

Expected channels are worked out by hand from the GA4 table in conventions.md §3.2 (first match
wins, top to bottom) with the B2B rules in front of it, and from the HubSpot (§1.4) and
Salesforce (§2.1) value tables.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelboard.channels import (
    ChannelRules,
    audit_unassigned,
    default_channel_settings,
    parse_channel_settings,
)
from funnelboard.channels.categories import shipped_categories
from funnelboard.errors import ConfigError

RULES = parse_channel_settings(default_channel_settings())
Row = tuple[str | None, str | None, str | None]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def rule_name(
    rules: ChannelRules, source: str | None, medium: str | None = None, campaign: str | None = None
) -> str | None:
    match = rules.classify(source, medium, campaign)
    return None if match.rule_index is None else rules.rules[match.rule_index].name


# ---------------------------------------------------------------------------------------------
# GA4 default channel group, one or more examples per row of the table (conventions §3.2)

GA4_EXAMPLES = [
    # (source, medium, campaign, channel, GA4 row name)
    ("(direct)", "(none)", None, "direct", "Direct"),
    ("(direct)", "(not set)", None, "direct", "Direct"),
    ("google", "cpc", "brand_cross-network_pmax", "cross_network", "Cross-network"),
    ("amazon", "cpc", None, "paid_shopping", "Paid Shopping"),
    ("bing", "cpc", "q3-shop-launch", "paid_shopping", "Paid Shopping"),  # before Paid Search
    ("google", "cpc", None, "paid_search", "Paid Search"),
    ("bing", "ppc", None, "paid_search", "Paid Search"),
    ("google", "cpm", None, "paid_search", "Paid Search"),  # cpm matches PAID; row 4 < row 7
    ("facebook", "cpc", None, "paid_social", "Paid Social"),
    ("linkedin", "paid_social", None, "paid_social", "Paid Social"),
    ("youtube", "cpv", None, "paid_video", "Paid Video"),
    ("x", "display", None, "display", "Display"),
    ("newsletter", "cpm", None, "display", "Display"),  # cpm is PAID, but Display comes first
    ("partnerstack", "ppc", None, "other_paid", "Paid Other"),
    ("newsletter", "retargeting", None, "other_paid", "Paid Other"),
    ("amazon", "referral", None, "organic_shopping", "Organic Shopping"),
    ("blog", "link", "black-friday-shop", "organic_shopping", "Organic Shopping"),
    ("facebook", "referral", None, "organic_social", "Organic Social"),
    ("mastodon.example", "social media", None, "organic_social", "Organic Social"),
    ("youtube", "referral", None, "organic_video", "Organic Video"),
    ("blog", "video-embed", None, "organic_video", "Organic Video"),
    ("google", "organic", None, "organic_search", "Organic Search"),
    ("google", "referral", None, "organic_search", "Organic Search"),  # search list first
    ("kagi", "organic", None, "organic_search", "Organic Search"),
    ("blog.example.com", "referral", None, "referral", "Referral"),
    ("x", "app", None, "referral", "Referral"),
    ("newsletter", "email", None, "email", "Email"),
    ("e-mail", "blast", None, "email", "Email"),
    ("x", "e mail", None, "email", "Email"),
    ("something", "affiliate", None, "affiliates", "Affiliates"),
    ("podcastnet", "audio", None, "audio", "Audio"),
    ("sms", "blast", None, "sms", "SMS"),
    ("x", "sms", None, "sms", "SMS"),
    ("x", "web-push", None, "mobile_push_notifications", "Mobile Push Notifications"),
    ("x", "mobile", None, "mobile_push_notifications", "Mobile Push Notifications"),
    ("x", "in-app-notification", None, "mobile_push_notifications", "Mobile Push Notifications"),
    ("firebase", "blast", None, "mobile_push_notifications", "Mobile Push Notifications"),
    ("chatgpt.com", "ai-assistant", "(ai-assistant)", "ai_assistant", "AI Assistant"),
]


@pytest.mark.parametrize(("source", "medium", "campaign", "channel", "name"), GA4_EXAMPLES)
def test_ga4_rows(source: str, medium: str, campaign: str | None, channel: str, name: str) -> None:
    assert RULES.classify(source, medium, campaign).channel == channel
    assert rule_name(RULES, source, medium, campaign) == name


def test_every_ga4_row_has_an_example() -> None:
    ga4_names = {rule.name for rule in RULES.rules[9:]}
    assert ga4_names == {example[4] for example in GA4_EXAMPLES}


def test_ga4_rules_follow_google_order_after_the_b2b_rules() -> None:
    names = [rule.name for rule in RULES.rules]
    ga4 = list(dict.fromkeys(names[9:]))
    assert ga4 == [
        "Direct",
        "Cross-network",
        "Paid Shopping",
        "Paid Search",
        "Paid Social",
        "Paid Video",
        "Display",
        "Paid Other",
        "Organic Shopping",
        "Organic Social",
        "Organic Video",
        "Organic Search",
        "Referral",
        "Email",
        "Affiliates",
        "Audio",
        "SMS",
        "Mobile Push Notifications",
        "AI Assistant",
    ]
    assert set(names[:9]) == {
        "Webinar",
        "Trade show",
        "Event",
        "Outbound email",
        "Outbound SDR",
        "Partner",
        "Customer referral",
    }


@pytest.mark.parametrize(
    ("source", "medium"),
    [
        ("unknown", "unknown"),
        (None, None),
        ("", ""),
        ("  ", None),
        ("(not set)", "(not set)"),
        ("", "(none)"),  # empty source is not (direct)
    ],
)
def test_unassigned(source: str | None, medium: str | None) -> None:
    match = RULES.classify(source, medium)
    assert (match.channel, match.motion, match.rule, match.rule_index) == (
        "unassigned",
        None,
        "no rule matched",
        None,
    )


def test_direct_needs_the_literal_direct_source_and_accepts_a_missing_medium() -> None:
    assert RULES.classify("(direct)").channel == "direct"
    assert RULES.classify("(direct)", "zzz").channel == "unassigned"
    assert RULES.classify("(direct)", "referral").channel == "referral"


def test_rule_descriptions() -> None:
    match = RULES.classify("google", "cpc")
    assert match.rule == "rule 14 (Paid Search): source in search list and medium matches PAID"
    assert match.rule_index == 13
    assert RULES.classify("x", "affiliate").rule == "rule 29 (Affiliates): medium is 'affiliate'"
    assert RULES.classify("ORGANIC_SEARCH").rule == "source value 'ORGANIC_SEARCH'"


# ---------------------------------------------------------------------------------------------
# B2B rules, which must win over GA4 where both could match


@pytest.mark.parametrize(
    ("source", "medium", "channel", "motion"),
    [
        ("zoom", "webinar", "webinar", "inbound"),
        ("linkedin", "webinar", "webinar", "inbound"),  # not organic_social
        ("saastr", "trade_show", "trade_show", "inbound"),
        ("saastr", "TradeShow", "trade_show", "inbound"),
        ("saastr", "booth", "trade_show", "inbound"),
        ("meetup.com", "event", "event", "inbound"),
        ("outreach", "email", "outbound_email", "outbound"),  # not email
        ("apollo", None, "outbound_email", "outbound"),
        ("salesloft", "cadence", "outbound_email", "outbound"),
        ("list", "cold_email", "outbound_email", "outbound"),
        ("hubspot", "sequence", "outbound_email", "outbound"),
        ("x", "outbound", "outbound_email", "outbound"),
        ("linkedin", "sdr", "outbound_sdr", "outbound"),  # not organic_social
        ("linkedin_sales_navigator", "social", "outbound_sdr", "outbound"),
        ("reseller.example", "partner", "partner", "inbound"),
        ("customer_referral", "email", "customer_referral", "inbound"),  # not email
        ("acme", "customer_referral", "customer_referral", "inbound"),
    ],
)
def test_b2b_rules(source: str, medium: str | None, channel: str, motion: str) -> None:
    match = RULES.classify(source, medium)
    assert (match.channel, match.motion) == (channel, motion)


# ---------------------------------------------------------------------------------------------
# Raw CRM values


@pytest.mark.parametrize(
    ("value", "channel"),
    [
        ("ORGANIC_SEARCH", "organic_search"),
        ("PAID_SEARCH", "paid_search"),
        ("EMAIL_MARKETING", "email"),
        ("SOCIAL_MEDIA", "organic_social"),
        ("REFERRALS", "referral"),
        ("OTHER_CAMPAIGNS", "other_campaigns"),
        ("DIRECT_TRAFFIC", "direct"),
        ("OFFLINE", "offline"),
        ("PAID_SOCIAL", "paid_social"),
        ("AI_REFERRALS", "ai_assistant"),
        ("Organic search", "organic_search"),
        ("Referrals", "referral"),
        ("Offline sources", "offline"),
        ("Direct traffic", "direct"),
    ],
)
def test_hubspot_source_values(value: str, channel: str) -> None:
    assert RULES.classify(value).channel == channel
    # the drill-down arrives as the campaign and does not change the mapping
    assert RULES.classify(value, None, "IMPORT").channel == channel


@pytest.mark.parametrize(
    ("value", "channel", "motion"),
    [
        ("Web", "website", "inbound"),
        ("Phone Inquiry", "phone_inquiry", "inbound"),
        ("Partner Referral", "partner", "inbound"),
        ("Purchased List", "purchased_list", "outbound"),
        ("Other", "other", "inbound"),
        ("Trade Show", "trade_show", "inbound"),
        ("Webinar", "webinar", "inbound"),
        ("Employee Referral", "referral", "inbound"),
        ("External Referral", "referral", "inbound"),
        ("Advertisement", "other_paid", "inbound"),
        ("Seminar - Partner", "partner", "inbound"),
        ("Seminar - Internal", "event", "inbound"),
        ("Cold Call", "outbound_sdr", "outbound"),
        ("trade show", "trade_show", "inbound"),
        (" PARTNER REFERRAL\t", "partner", "inbound"),
    ],
)
def test_salesforce_lead_source_values(value: str, channel: str, motion: str) -> None:
    match = RULES.classify(value)
    assert (match.channel, match.motion, match.rule_index) == (channel, motion, None)
    assert match.rule.startswith("source value ")


def test_source_values_only_apply_without_a_medium() -> None:
    # with a medium the value is a UTM source and goes through the rules
    assert RULES.classify("ORGANIC_SEARCH", "cpc").channel == "other_paid"
    assert RULES.classify("Web", "referral").channel == "referral"


@pytest.mark.parametrize(
    ("source", "medium", "channel"),
    [
        ("  GOOGLE\t", "CPC\u00a0", "paid_search"),
        ("\u3000Google\u3000", "Organic", "organic_search"),
        ("FaceBook", "Paid_Social", "paid_social"),
        ("(DIRECT)", " (None) ", "direct"),
        ("\ufeffNewsletter", "E-Mail\n", "email"),
        ("organic_search", None, "organic_search"),
    ],
)
def test_case_and_whitespace_are_ignored(source: str, medium: str | None, channel: str) -> None:
    assert RULES.classify(source, medium).channel == channel


def test_extra_sources_extend_the_category_lists() -> None:
    assert RULES.classify("kagi.com", "cpc").channel == "other_paid"
    raw = default_channel_settings()
    raw["extra_sources"]["search"].append("Kagi.com")
    assert parse_channel_settings(raw).classify("kagi.com", "cpc").channel == "paid_search"
    # defaults already add sources conventions §3.2 names that the shipped list lacks
    assert RULES.classify("x.com", "cpc").channel == "paid_social"
    assert RULES.classify("ecosia", "organic").channel == "organic_search"


def test_unknown_channels_default_to_inbound_and_unassigned_has_no_motion() -> None:
    rules = parse_channel_settings({"rules": [{"channel": "podcast", "medium": "podcast"}]})
    assert rules.classify("x", "podcast").motion == "inbound"
    assert rules.motion_for("unassigned") is None
    assert rules.motion_for("") is None
    assert rules.motion_for(None) is None
    assert RULES.motion_for("purchased_list") == "outbound"


# ---------------------------------------------------------------------------------------------
# Python and DuckDB agree

ADVERSARIAL = [
    "google",
    "GOOGLE",
    "cpc",
    "(direct)",
    "(none)",
    "(not set)",
    "organic",
    "email",
    "e mail",
    "facebook",
    "amazon",
    "youtube",
    "display",
    "cpm",
    "paid",
    "referral",
    "shop",
    "-shop",
    "shopping",
    "cross-network",
    "push",
    "mobile",
    "firebase",
    "webinar",
    "Trade Show",
    "ORGANIC_SEARCH",
    "Web",
    "sms",
    "ai-assistant",
    "outreach",
    "customer_referral",
    "",
    " ",
    "\t\n",
    "\u3000",
    "\ufeff",
    "\u00a0cpc\u00a0",
    "cpc\n",
    "\ncpc",
    "x\ncpc",
    "o'brien",
    "''",
    "'; DROP TABLE t; --",
    "\\",
    "\\'",
    "a\\nb",
    ".*",
    "^$",
    "[a-z]+",
    "(?i)",
    "%",
    "_",
    "İ",
    "paİd",
    "Σ",
    "ΣΑΣ",
    "ß",
    "Ǆ",
    "\u212a",
    "K",
    "ﬀ",
    "日本語",
    "😀",
    "\x00",
]

text_values = st.one_of(
    st.none(),
    st.sampled_from(ADVERSARIAL),
    st.text(max_size=12),
    st.builds(
        lambda a, b, c: a + b + c,
        st.sampled_from(["", " ", "\t", "\u3000", "İ", "'"]),
        st.sampled_from(ADVERSARIAL),
        st.sampled_from(["", " ", "\n", "Σ", "\\"]),
    ),
)
triples = st.lists(st.tuples(text_values, text_values, text_values), min_size=1, max_size=40)

CUSTOM = parse_channel_settings(
    {
        "rules": [
            {"channel": "quoted", "source": ["o'brien", "back\\slash", "'; drop table t; --"]},
            {"channel": "regexy", "medium_regex": "it's|\\\\|\\.\\*|[(]x[)]|^ä+$|\\d{2,}"},
            {"channel": "unicode", "campaign": ["日本語", "σας"], "source_regex": "^.?$"},
            *default_channel_settings()["rules"],
        ],
        "source_values": {"O'Reilly": "referral", "Back\\Slash": "partner"},
    }
)


def sql_channels(
    con: duckdb.DuckDBPyConnection,
    rules: ChannelRules,
    rows: list[Row],
) -> list[str]:
    batch = pa.table(
        {
            "i": list(range(len(rows))),
            "s": [r[0] for r in rows],
            "m": [r[1] for r in rows],
            "c": [r[2] for r in rows],
        },
        schema=pa.schema(
            [("i", pa.int64()), ("s", pa.string()), ("m", pa.string()), ("c", pa.string())]
        ),
    )
    con.register("batch", batch)
    try:
        sql = rules.sql_case("s", "m", "c")
        return [row[0] for row in con.execute(f"SELECT {sql} FROM batch ORDER BY i").fetchall()]
    finally:
        con.unregister("batch")


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=triples)
def test_python_and_duckdb_agree(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> None:
    for rules in (RULES, CUSTOM):
        expected = [rules.classify(*row).channel for row in rows]
        assert sql_channels(con, rules, rows) == expected


def test_agreement_on_every_adversarial_value(con: duckdb.DuckDBPyConnection) -> None:
    rows: list[Row] = [(v, w, v) for v in ADVERSARIAL for w in ("", "cpc", None, v)]
    rows += [(e[0], e[1], e[2]) for e in GA4_EXAMPLES]
    for rules in (RULES, CUSTOM):
        assert sql_channels(con, rules, rows) == [rules.classify(*r).channel for r in rows]


def test_custom_rules_with_quotes_and_backslashes(con: duckdb.DuckDBPyConnection) -> None:
    assert CUSTOM.classify("O'Brien", "x").channel == "quoted"
    assert CUSTOM.classify("back\\slash", "x").channel == "quoted"
    assert CUSTOM.classify("x", "it's").channel == "regexy"
    assert CUSTOM.classify("x", "a\\b").channel == "regexy"
    assert CUSTOM.classify("o'reilly").channel == "referral"
    assert CUSTOM.classify("BACK\\SLASH").channel == "partner"
    con.execute("CREATE TABLE keep_me AS SELECT 1 AS x")
    sql_channels(con, CUSTOM, [("'; DROP TABLE keep_me; --", "x", None)])
    assert con.execute("SELECT x FROM keep_me").fetchall() == [(1,)]


def test_sql_case_works_on_parameters_and_nulls(con: duckdb.DuckDBPyConnection) -> None:
    sql = RULES.sql_case("$1", "$2", "$3")
    assert con.execute(f"SELECT {sql}", ["Google", "CPC", None]).fetchone() == ("paid_search",)
    assert con.execute(f"SELECT {sql}", [None, None, None]).fetchone() == ("unassigned",)


def test_motion_sql_agrees_with_motion_for(con: duckdb.DuckDBPyConnection) -> None:
    channels = [
        None,
        "",
        " ",
        "unassigned",
        "outbound_email",
        "outbound_sdr",
        "purchased_list",
        "paid_search",
        "made_up",
        "o'brien",
    ]
    sql = RULES.motion_sql("$1")
    for channel in channels:
        row = con.execute(f"SELECT {sql}", [channel]).fetchone()
        assert row is not None
        assert row[0] == RULES.motion_for(channel), channel


def test_empty_ruleset_is_all_unassigned(con: duckdb.DuckDBPyConnection) -> None:
    rules = parse_channel_settings({"rules": [], "source_values": {}})
    assert rules.classify("google", "cpc").channel == "unassigned"
    assert sql_channels(con, rules, [("google", "cpc", None)]) == ["unassigned"]


# ---------------------------------------------------------------------------------------------
# Settings: defaults, round trip, validation


def _no_none(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_no_none(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_none(v) for v in value)
    return isinstance(value, str | int | float | bool)


def test_defaults_survive_a_toml_round_trip() -> None:
    raw = default_channel_settings()
    assert _no_none(raw)
    text = tomli_w.dumps({"channels": raw})
    assert "[[channels.rules]]" in text
    back = tomllib.loads(text)["channels"]
    assert back == raw
    rules = parse_channel_settings(back)
    assert rules.fingerprint == RULES.fingerprint
    assert rules.version == 1


def test_defaults_are_a_fresh_copy_and_parse_does_not_modify_input() -> None:
    raw = default_channel_settings()
    raw["rules"][0]["medium"].append("zzz")
    assert "zzz" not in default_channel_settings()["rules"][0]["medium"]
    snapshot = default_channel_settings()
    parse_channel_settings(snapshot)
    assert snapshot == default_channel_settings()


def test_fingerprint_is_short_stable_and_tracks_rules() -> None:
    assert len(RULES.fingerprint) == 12
    assert RULES.fingerprint == parse_channel_settings(default_channel_settings()).fingerprint
    raw = default_channel_settings()
    raw["rules"][0], raw["rules"][1] = raw["rules"][1], raw["rules"][0]
    assert parse_channel_settings(raw).fingerprint != RULES.fingerprint
    raw = default_channel_settings()
    raw["motion"]["webinar"] = "outbound"
    assert parse_channel_settings(raw).fingerprint != RULES.fingerprint
    raw = default_channel_settings()
    raw["version"] = 7
    assert parse_channel_settings(raw).version == 7


def _with_rule(**rule: Any) -> dict[str, Any]:
    return {"rules": [rule]}


BAD_SETTINGS = [
    (_with_rule(channel="x", medium_regex="("), "channels.rules[0].medium_regex"),
    (_with_rule(channel="x", medium_regex="(?=a)"), "channels.rules[0].medium_regex"),
    (_with_rule(channel="x", source_regex="a\\z"), "channels.rules[0].source_regex"),
    (_with_rule(channel="x", medium_regex="[[:alpha:]]"), "channels.rules[0].medium_regex"),
    (_with_rule(channel="x", medium_regex="a{,3}"), "channels.rules[0].medium_regex"),
    (_with_rule(channel="x", medium_regex="CPC"), "channels.rules[0].medium_regex"),
    (_with_rule(channel="x", campaign_regex=""), "channels.rules[0].campaign_regex"),
    (_with_rule(channel="x", sourse=["a"]), "channels.rules[0].sourse"),
    (_with_rule(channel="Paid Search", medium="cpc"), "channels.rules[0].channel"),
    (_with_rule(medium="cpc"), "channels.rules[0].channel"),
    (_with_rule(channel="x"), "channels.rules[0]"),
    (_with_rule(channel="x", medium=[]), "channels.rules[0].medium"),
    (_with_rule(channel="x", medium=["ok", 3]), "channels.rules[0].medium[1]"),
    (_with_rule(channel="x", source=["a\x00b"]), "channels.rules[0].source[0]"),
    (_with_rule(channel="x", source_category="news"), "channels.rules[0].source_category"),
    (_with_rule(channel="x", medium="a", name=""), "channels.rules[0].name"),
    ({"rules": ["medium = cpc"]}, "channels.rules[0]"),
    ({"rules": {"channel": "x"}}, "channels.rules"),
    ({"motion": {"webinar": "sideways"}}, "channels.motion.webinar"),
    ({"motion": {"unassigned": "inbound"}}, "channels.motion.unassigned"),
    ({"source_values": {"Trade Show": "Trade Show"}}, 'channels.source_values."Trade Show"'),
    ({"source_values": {"Web": "website", "web ": "referral"}}, 'channels.source_values."web "'),
    ({"extra_sources": {"serach": ["kagi"]}}, "channels.extra_sources.serach"),
    ({"extra_sources": {"search": 3}}, "channels.extra_sources.search"),
    ({"extra_sources": {"search": ["ok", ""]}}, "channels.extra_sources.search[1]"),
    ({"version": 0}, "channels.version"),
    ({"version": True}, "channels.version"),
    ({"rulez": []}, "channels.rulez"),
]


@pytest.mark.parametrize(("raw", "key"), BAD_SETTINGS)
def test_invalid_settings_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_channel_settings(raw, source="ws/funnelboard.toml")
    assert info.value.key == key
    assert "ws/funnelboard.toml" in info.value.message


def test_a_later_bad_rule_is_named_by_its_position() -> None:
    raw = default_channel_settings()
    raw["rules"][3]["medium_regex"] = "(unclosed"
    with pytest.raises(ConfigError) as info:
        parse_channel_settings(raw)
    assert info.value.key == "channels.rules[3].medium_regex"


def test_config_errors_suggest_close_names() -> None:
    with pytest.raises(ConfigError) as info:
        parse_channel_settings(_with_rule(channel="x", sourse=["a"]))
    assert "did you mean 'source'" in info.value.message
    with pytest.raises(ConfigError) as info:
        parse_channel_settings(_with_rule(channel="x", medium_regex="CPC"))
    assert "lower-case" in info.value.message


def test_a_missing_section_key_takes_its_default() -> None:
    rules = parse_channel_settings({"motion": {"partner": "outbound"}})
    assert rules.classify("google", "cpc").channel == "paid_search"
    assert rules.classify("x", "partner").motion == "outbound"
    assert rules.classify("x", "sdr").motion == "inbound"  # motion replaced, not merged


# ---------------------------------------------------------------------------------------------
# Package data


def test_source_categories_ship_with_their_licence() -> None:
    folder = resources.files("funnelboard").joinpath("data", "channels")
    rows = list(
        csv.DictReader(
            folder.joinpath("ga4_source_categories.csv").read_text(encoding="utf-8").splitlines()
        )
    )
    assert len(rows) == 819
    licence = folder.joinpath("LICENSE-ga4-source-categories.txt").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Adam Ribaudo" in licence
    sizes = {name: len(values) for name, values in shipped_categories().items()}
    assert sizes == {"social": 592, "search": 129, "shopping": 52, "video": 46}
    assert "google shopping" in shipped_categories()["shopping"]  # lower-cased on load


# ---------------------------------------------------------------------------------------------
# Audit of unassigned raw values


def _audit_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE contacts (contact_id VARCHAR, source VARCHAR, source_detail VARCHAR,
            utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR, channel VARCHAR);
        INSERT INTO contacts VALUES
            ('c1', 'ORGANIC_SEARCH', 'google', NULL, NULL, NULL, NULL),   -- organic_search
            ('c2', 'Mystery Source', 'abc', NULL, NULL, NULL, NULL),      -- unassigned
            ('c3', 'Mystery Source', 'abc', NULL, NULL, NULL, NULL),      -- unassigned
            ('c4', 'Mystery Source', 'abc', NULL, NULL, NULL, 'partner'), -- stored channel
            ('c5', 'Web', NULL, 'weird', 'thing', 'q1', NULL),            -- UTMs: unassigned
            ('c6', 'Mystery', NULL, 'google', 'cpc', NULL, NULL),         -- UTMs: paid_search
            ('c7', 'Mystery Source', 'abc', NULL, NULL, NULL, ''),        -- empty = no channel
            ('c8', 'Mystery Source', 'abc', '  ', NULL, NULL, ' ');       -- blank UTMs unused
        CREATE TABLE web_traffic (date DATE, source VARCHAR, medium VARCHAR, campaign VARCHAR,
            channel VARCHAR, sessions BIGINT);
        INSERT INTO web_traffic VALUES
            ('2026-01-01', 'foo', 'bar', 'c', NULL, 10),
            ('2026-01-02', 'foo', 'bar', 'c', NULL, 20),
            ('2026-01-03', 'foo', 'bar', 'c', 'display', 5),
            ('2026-01-01', 'google', 'organic', '', NULL, 100),
            ('2026-01-01', NULL, NULL, NULL, NULL, 7);
        CREATE TABLE touchpoints (touchpoint_id VARCHAR, source VARCHAR, medium VARCHAR,
            campaign VARCHAR, channel VARCHAR);
        INSERT INTO touchpoints VALUES
            ('t1', 'zzz', 'yyy', NULL, NULL),
            ('t2', 'linkedin', 'paid_social', NULL, NULL);
    """)
    return con


def test_audit_lists_unassigned_raw_values_most_frequent_first() -> None:
    con = _audit_db()
    found = audit_unassigned(con, RULES)
    assert found == [
        {
            "table": "contacts",
            "source": "Mystery Source",
            "medium": None,
            "campaign": "abc",
            "inputs": "source, source_detail",
            "rows": 4,
            "sessions": None,
        },
        {
            "table": "web_traffic",
            "source": "foo",
            "medium": "bar",
            "campaign": "c",
            "inputs": "source, medium, campaign",
            "rows": 2,
            "sessions": 30,
        },
        {
            "table": "web_traffic",
            "source": None,
            "medium": None,
            "campaign": None,
            "inputs": "source, medium, campaign",
            "rows": 1,
            "sessions": 7,
        },
        {
            "table": "contacts",
            "source": "weird",
            "medium": "thing",
            "campaign": "q1",
            "inputs": "utm_source, utm_medium, utm_campaign",
            "rows": 1,
            "sessions": None,
        },
        {
            "table": "touchpoints",
            "source": "zzz",
            "medium": "yyy",
            "campaign": None,
            "inputs": "source, medium, campaign",
            "rows": 1,
            "sessions": None,
        },
    ]
    for row in found:
        assert RULES.classify(row["source"], row["medium"], row["campaign"]).channel == (
            "unassigned"
        )
    con.close()


def test_audit_follows_the_rules_it_is_given() -> None:
    con = _audit_db()
    raw = default_channel_settings()
    raw["source_values"]["Mystery Source"] = "partner"
    found = audit_unassigned(con, parse_channel_settings(raw))
    assert [(r["table"], r["source"]) for r in found] == [
        ("web_traffic", "foo"),
        ("web_traffic", None),
        ("contacts", "weird"),
        ("touchpoints", "zzz"),
    ]
    con.close()


def test_audit_skips_missing_and_empty_tables() -> None:
    con = duckdb.connect()
    assert audit_unassigned(con, RULES) == []
    con.execute(
        "CREATE TABLE web_traffic (source VARCHAR, medium VARCHAR, campaign VARCHAR, "
        "channel VARCHAR, sessions BIGINT)"
    )
    assert audit_unassigned(con, RULES) == []
    con.execute(
        "CREATE TABLE touchpoints (source VARCHAR, medium VARCHAR, campaign VARCHAR, "
        "channel VARCHAR)"
    )
    con.execute("INSERT INTO touchpoints VALUES ('zzz', 'yyy', NULL, NULL)")
    assert [r["table"] for r in audit_unassigned(con, RULES)] == ["touchpoints"]
    con.close()
