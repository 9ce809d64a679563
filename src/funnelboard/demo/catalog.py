"""Vocabularies and the channel model of the demo company (plain data, no logic).

Every value here is free of commas, quotes and line breaks, so the CSV writers never need to
quote a cell.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    """One acquisition channel: its share of new contacts and its funnel conversion rates."""

    key: str
    motion: str
    share: float  # share of new contacts (before seasonality and event spikes)
    web: bool  # produces website sessions
    visit_to_lead: float  # sessions -> leads (web channels only)
    p_lead: float  # contact -> lead (the rest stay subscribers / unanswered prospects)
    p_mql: float
    p_sql: float
    p_opp: float
    p_win: float
    source: str  # raw HubSpot-style original source
    explicit: float  # share of contacts whose `channel` cell is filled
    first_touch: str  # touchpoint kind of the first touch


CHANNELS: tuple[Channel, ...] = (
    Channel("organic_search", "inbound", .20, True, .012, .88, .22, .35, .50, .24,
            "ORGANIC_SEARCH", .35, "web_visit"),
    Channel("paid_search", "inbound", .13, True, .025, .92, .28, .33, .45, .21,
            "PAID_SEARCH", .40, "ad_click"),
    Channel("paid_social", "inbound", .10, True, .010, .90, .16, .28, .40, .17,
            "PAID_SOCIAL", .40, "ad_click"),
    Channel("organic_social", "inbound", .04, True, .008, .85, .15, .25, .40, .20,
            "SOCIAL_MEDIA", .30, "web_visit"),
    Channel("direct", "inbound", .10, True, .020, .90, .30, .40, .50, .27,
            "DIRECT_TRAFFIC", .30, "web_visit"),
    Channel("referral", "inbound", .05, True, .022, .92, .30, .40, .50, .28,
            "REFERRALS", .35, "web_visit"),
    Channel("email", "inbound", .06, True, .018, .80, .20, .30, .40, .22,
            "EMAIL_MARKETING", .35, "email_click"),
    Channel("webinar", "inbound", .07, False, 0.0, .95, .30, .25, .40, .22,
            "OFFLINE", .85, "webinar_registered"),
    Channel("trade_show", "inbound", .07, False, 0.0, .95, .22, .30, .45, .24,
            "OFFLINE", .85, "event_attended"),
    Channel("partner", "inbound", .03, False, 0.0, .95, .40, .45, .55, .33,
            "OFFLINE", .90, "form_submit"),
    Channel("outbound_email", "outbound", .09, False, 0.0, .30, .50, .45, .45, .20,
            "OFFLINE", .90, "sales_touch"),
    Channel("outbound_sdr", "outbound", .06, False, 0.0, .40, .55, .55, .50, .23,
            "OFFLINE", .90, "sales_touch"),
    Channel("customer_referral", "inbound", .02, False, 0.0, .97, .50, .55, .60, .42,
            "OFFLINE", .85, "form_submit"),
)
CHANNEL_KEYS: tuple[str, ...] = tuple(c.key for c in CHANNELS)
K = {c.key: i for i, c in enumerate(CHANNELS)}
WEB_CHANNELS: tuple[int, ...] = tuple(i for i, c in enumerate(CHANNELS) if c.web)

#: Drill-down values per channel (source_detail when no campaign name applies).
SOURCE_DETAIL: dict[str, tuple[str, ...]] = {
    "organic_search": ("revenue dashboard", "b2b funnel metrics", "marketing attribution",
                       "pipeline coverage", "ltv cac ratio", "google", "bing"),
    "organic_social": ("LinkedIn", "Twitter", "LinkedIn"),
    "direct": ("https://www.funnelboard-demo.com/", "https://www.funnelboard-demo.com/pricing",
               "https://www.funnelboard-demo.com/demo"),
    "referral": ("g2.com", "capterra.com", "techpartnerhub.io", "saasweekly.news"),
    "partner": ("Partner portal", "Partner referral form", "Reseller deal registration"),
    "outbound_email": ("INTEGRATION: Outreach sequence", "INTEGRATION: Apollo sequence"),
    "outbound_sdr": ("CRM_UI", "EXTENSION: LinkedIn Sales Navigator", "CRM_UI: cold call"),
    "customer_referral": ("Customer referral program", "IMPORT: referral list"),
}

#: (utm_source, utm_medium, weight) pairs per web channel (first touch).
UTM_PAIRS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "organic_search": (("google", "organic", .85), ("bing", "organic", .15)),
    "paid_search": (("google", "cpc", 1.0),),
    "paid_social": (("linkedin", "paid_social", .7), ("facebook", "paid_social", .3)),
    "organic_social": (("linkedin.com", "social", .7), ("t.co", "social", .3)),
    "direct": (("(direct)", "(none)", 1.0),),
    "referral": (("g2.com", "referral", .5), ("capterra.com", "referral", .2),
                 ("techpartnerhub.io", "referral", .3)),
    "email": (("newsletter", "email", .6), ("hubspot", "email", .4)),
}
#: Share of a channel's contacts that carry first-touch UTMs.
UTM_FILL: dict[str, float] = {
    "organic_search": .55, "paid_search": .95, "paid_social": .95, "organic_social": .6,
    "direct": .5, "referral": .6, "email": .9,
}
SEARCH_TERMS: tuple[str, ...] = (
    "marketing dashboard software", "b2b funnel analytics", "pipeline reporting tool",
    "marketing attribution b2b", "cac ltv calculator", "revenue analytics saas")
AD_CREATIVES: tuple[str, ...] = ("carousel_v2", "video_15s", "static_report", "doc_ad_ebook")

LATEST_SOURCES: tuple[tuple[str, str], ...] = (
    ("EMAIL_MARKETING", "email"), ("DIRECT_TRAFFIC", "direct"),
    ("ORGANIC_SEARCH", "organic_search"), ("PAID_SEARCH", "paid_search"),
    ("PAID_SOCIAL", "paid_social"), ("OFFLINE", "webinar"))

SEGMENTS: tuple[str, ...] = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARE: tuple[float, ...] = (.55, .30, .15)
SEGMENT_CONTACT_WEIGHT: tuple[float, ...] = (1.0, 1.5, 2.5)
EMPLOYEES: tuple[tuple[int, int], ...] = ((10, 200), (200, 2000), (2000, 40000))
ICP_TIERS: tuple[str, ...] = ("A", "B", "C")
REGIONS: tuple[str, ...] = ("North America", "EMEA", "APAC")
REGION_SHARE: tuple[float, ...] = (.55, .30, .15)
COUNTRIES: tuple[tuple[str, ...], ...] = (
    ("United States", "United States", "United States", "Canada"),
    ("United Kingdom", "Germany", "France", "Netherlands", "Sweden", "Ireland"),
    ("Australia", "Singapore", "Japan", "India"),
)
INDUSTRIES: tuple[str, ...] = (
    "Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education",
    "Media", "Professional Services", "Logistics", "Telecommunications")
NAME_HEADS: tuple[str, ...] = (
    "North", "Blue", "Bright", "Clear", "Silver", "Summit", "Iron", "Red", "Green", "Cedar",
    "Atlas", "Nova", "Orbit", "Pine", "Harbor", "Quantum", "Stone", "Swift", "Vertex", "Zen",
    "Apex", "Lumen", "Maple", "Polar", "River", "Solar", "Terra", "Urban", "Velvet", "Wild")
NAME_TAILS: tuple[str, ...] = (
    "wind", "field", "path", "point", "bridge", "stack", "forge", "wave", "gate", "line",
    "leaf", "peak", "works", "scale", "ridge", "loop", "mark", "shift", "core", "flow")
NAME_KINDS: tuple[str, ...] = (
    "Analytics", "Software", "Systems", "Labs", "Health", "Finance", "Logistics", "Retail",
    "Media", "Partners", "Group", "Technologies")
FREE_MAIL: tuple[str, ...] = ("gmail.com", "outlook.com", "yahoo.com")
FIRST_NAMES: tuple[str, ...] = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "david",
    "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas",
    "sarah", "charles", "karen", "daniel", "lisa", "matthew", "nancy", "anthony", "sandra",
    "mark", "ashley", "paul", "emily", "anna", "lukas", "sophie", "hiro", "yuki", "priya",
    "arjun", "chloe", "noah", "mia", "liam", "emma", "oliver", "ava", "lucas", "isla")
LAST_NAMES: tuple[str, ...] = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "wilson", "anderson", "taylor", "thomas", "moore", "jackson", "martin", "lee",
    "thompson", "white", "harris", "clark", "lewis", "walker", "young", "allen", "king",
    "wright", "scott", "green", "baker", "adams", "nelson", "mueller", "schmidt", "dubois",
    "tanaka", "sato", "patel", "sharma", "jansen", "nilsson", "obrien", "murphy", "chen")

PERSONAS: tuple[str, ...] = (
    "Marketing Leader", "Demand Generation", "Marketing Operations", "Revenue Operations",
    "Sales Leader", "Executive", "Analyst", "Other")
PERSONA_SHARE: tuple[float, ...] = (.14, .20, .14, .10, .10, .08, .12, .12)
PERSONA_LIFT: tuple[float, ...] = (1.25, 1.1, 1.15, 1.25, 1.0, 1.1, .8, .45)
TITLES: tuple[tuple[str, ...], ...] = (
    ("VP Marketing", "CMO", "Head of Marketing", "Director of Marketing"),
    ("Demand Generation Manager", "Growth Marketing Manager", "Digital Marketing Manager",
     "Performance Marketing Manager"),
    ("Marketing Operations Manager", "Marketing Automation Specialist",
     "Director of Marketing Operations"),
    ("Revenue Operations Manager", "Director of RevOps", "Sales Operations Analyst"),
    ("VP Sales", "Head of Sales", "Sales Director"),
    ("CEO", "Founder", "COO", "CFO"),
    ("Data Analyst", "Business Analyst", "Marketing Analyst"),
    ("Student", "Consultant", "Software Engineer", "Product Manager"),
)

#: Account executives per region (account and opportunity owners) and SDRs.
AES: tuple[tuple[str, ...], ...] = (
    ("Alex Morgan", "Jordan Lee", "Taylor Brooks", "Casey Nguyen"),
    ("Sophie Martin", "Lukas Weber", "Emma Clarke"),
    ("Kenji Sato", "Priya Nair"),
)
SDRS: tuple[tuple[str, ...], ...] = (
    ("Sam Rivera", "Riley Chen"), ("Morgan Patel", "Jamie Fischer"), ("Aiko Tanaka",))
COMPETITORS: tuple[str, ...] = (
    "PipeMetrics", "RevLens", "FunnelWise", "In-house spreadsheets", "BI team build")
LOSS_REASONS: tuple[str, ...] = (
    "Price", "Chose competitor", "No decision", "Missing feature", "Timing", "Lost budget")
LOSS_WEIGHTS: tuple[float, ...] = (.18, .24, .26, .12, .12, .08)

#: Answers to "How did you hear about us?", and the likely answer per channel.
HEARD: tuple[str, ...] = (
    "Google search", "LinkedIn", "Podcast", "Friend or colleague", "G2 or review site",
    "Event or webinar", "Online community", "ChatGPT or AI assistant", "Sales outreach", "Other")
HEARD_BY_CHANNEL: dict[str, int] = {
    "organic_search": 0, "paid_search": 0, "paid_social": 1, "organic_social": 1, "direct": 3,
    "referral": 4, "email": 9, "webinar": 5, "trade_show": 5, "partner": 3,
    "outbound_email": 8, "outbound_sdr": 8, "customer_referral": 3,
}

PLANS: tuple[str, ...] = ("Starter", "Growth", "Enterprise")
SEAT_PRICE: tuple[float, ...] = (45.0, 60.0, 85.0)
NPS_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("Too hard to set up", "Numbers did not match our CRM", "Support was slow", ""),
    ("Useful but the reports are slow", "Good enough for now", "Missing Salesforce fields",
     ""),
    ("Love the cohort view", "Our board deck comes straight from it", "Great support team",
     "Finally one number for pipeline", ""),
)
LANDING_PAGES: tuple[str, ...] = (
    "/", "/pricing", "/demo", "/blog/b2b-funnel-metrics", "/lp/benchmark-report",
    "/lp/webinar")
