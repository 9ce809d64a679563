"""The canonical tables, declared once.

This declaration drives validation, import templates, the generated docs page
(``docs/data-contract.md``), exports and the demo generator. Nothing else in the code base
spells out a canonical column list. The wording follows the shared data contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from funnelboard.errors import UnknownNameError

ColumnType = Literal["id", "text", "ts", "date", "int", "num", "money", "bool", "ratio", "slug"]
TableKind = Literal["entity", "additive"]

#: What each column type accepts, used in docs and error messages.
TYPE_HELP: dict[str, str] = {
    "id": "identifier: text, trimmed, case kept",
    "text": "free text",
    "ts": "timestamp: ISO 8601 with or without time or offset (or the mapping's format); "
    "a value without an offset is local time in the file's zone; stored as UTC",
    "date": "calendar date (YYYY-MM-DD, or the mapping's format)",
    "int": "whole number (thousands separators allowed)",
    "num": "decimal number",
    "money": "decimal amount in the row's currency",
    "bool": "true/false, yes/no, 1/0 (empty = unknown)",
    "ratio": "fraction 0-1; a value above 1 and at most 100 is read as a percentage",
    "slug": "vocabulary value, stored as lower snake case (Organic Search -> organic_search)",
}

#: DuckDB storage type for each column type.
STORAGE_TYPE: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "slug": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "date": "DATE",
    "int": "BIGINT",
    "num": "DOUBLE",
    "money": "DECIMAL(20,4)",
    "bool": "BOOLEAN",
    "ratio": "DOUBLE",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its type, whether it is required, and what it means."""

    name: str
    type: ColumnType
    description: str
    required: bool = False
    #: Allowed values (after slug normalisation); anything else sends the row to quarantine.
    choices: tuple[str, ...] = ()
    #: Smallest allowed value for numbers (e.g. 0 for amounts and counts).
    min: float | None = None
    #: Largest allowed value for numbers (e.g. 10 for an NPS score).
    max: float | None = None


@dataclass(frozen=True)
class Table:
    """One canonical table and how imports write into it."""

    name: str
    kind: TableKind
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    group: str
    #: Additive tables: the date column whose first-last range an import replaces.
    date_column: str | None = None
    #: Additive tables: columns whose values in the file bound the replacement.
    scope: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise UnknownNameError(f"column of {self.name}", name, self.column_names)

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def measures(self) -> list[str]:
        """Additive tables: the summed columns (numbers that are not part of the key)."""
        return [
            c.name
            for c in self.columns
            if c.type in ("int", "num", "money") and c.name not in self.key
        ]


def C(
    name: str,
    type_: ColumnType,
    description: str,
    *,
    required: bool = False,
    choices: tuple[str, ...] = (),
    min: float | None = None,
    max: float | None = None,
) -> Column:
    return Column(name, type_, description, required, choices, min, max)


NONNEG = 0.0

ACCOUNTS = Table(
    "accounts", "entity", ("account_id",), group="CRM",
    description="Companies: the unit of ABM, segments and revenue.",
    columns=(
        C("account_id", "id", "account identifier", required=True),
        C("name", "text", "company name"),
        C("domain", "text", "web domain, used to match reverse-IP and ad engagement"),
        C("industry", "text", "industry"),
        C("employee_count", "int", "number of employees", min=NONNEG),
        C("segment", "text", "segment, e.g. SMB / Mid-Market / Enterprise"),
        C("region", "text", "sales region"),
        C("country", "text", "country"),
        C("icp_tier", "text", "ideal-customer-profile tier, e.g. A / B / C, or fit / no-fit"),
        C("is_target_account", "bool", "on the ABM target list"),
        C("created_at", "ts", "when the account was created"),
        C("owner", "text", "account owner"),
    ),
)

CONTACTS = Table(
    "contacts", "entity", ("contact_id",), group="CRM",
    description="People in the CRM; their creation date is the funnel cohort date.",
    notes=(
        "Wide `<stage>_at` columns (one per configured funnel stage, default `lead_at`, "
        "`mql_at`, `sql_at`, `opportunity_at`, `customer_at`) are accepted and stored as rows "
        "of `stage_events` owned by the contact row: re-importing the contact replaces them "
        "and an emptied cell removes its entry.",
    ),
    columns=(
        C("contact_id", "id", "contact identifier", required=True),
        C("created_at", "ts", "creation time: the cohort date", required=True),
        C("account_id", "id", "the contact's account"),
        C("email", "text", "email address"),
        C("source", "text", "raw original source as the tool wrote it (HubSpot ORGANIC_SEARCH, "
          "Salesforce Web)"),
        C("source_detail", "text", "drill-down: campaign name, referrer, keyword"),
        C("channel", "slug", "canonical original channel; derived from source/UTMs by the "
          "channel rules when empty"),
        C("motion", "slug", "inbound or outbound; derived from the channel when empty",
          choices=("inbound", "outbound")),
        C("latest_source", "text", "raw latest source"),
        C("latest_channel", "slug", "canonical latest channel"),
        C("campaign_id", "id", "first-touch campaign"),
        C("utm_source", "text", "first-touch utm_source"),
        C("utm_medium", "text", "first-touch utm_medium"),
        C("utm_campaign", "text", "first-touch utm_campaign"),
        C("utm_content", "text", "first-touch utm_content"),
        C("utm_term", "text", "first-touch utm_term"),
        C("lead_score", "num", "lead score"),
        C("fit_score", "num", "fit score"),
        C("job_title", "text", "job title"),
        C("persona", "text", "buyer persona"),
        C("country", "text", "country"),
        C("region", "text", "region"),
        C("self_reported_source", "text", "answer to 'how did you hear about us'"),
        C("owner", "text", "contact owner"),
    ),
)

STAGE_EVENTS = Table(
    "stage_events", "entity", ("contact_id", "stage", "entered_at"), group="CRM",
    description="Funnel stage entries; a contact may enter a stage more than once, funnels "
    "use the first entry.",
    columns=(
        C("contact_id", "id", "the contact", required=True),
        C("stage", "slug", "a configured funnel stage key (default lead, mql, sql, "
          "opportunity, customer)", required=True),
        C("entered_at", "ts", "when the contact entered the stage", required=True),
    ),
)

OPPORTUNITIES = Table(
    "opportunities", "entity", ("opportunity_id",), group="CRM",
    description="Deals: pipeline, bookings, win rates and sales cycle.",
    columns=(
        C("opportunity_id", "id", "opportunity identifier", required=True),
        C("created_at", "ts", "creation time", required=True),
        C("amount", "money", "deal amount", required=True, min=NONNEG),
        C("currency", "text", "ISO currency code (default: reporting currency)"),
        C("account_id", "id", "the account"),
        C("contact_id", "id", "primary contact"),
        C("name", "text", "deal name"),
        C("stage", "text", "current raw stage"),
        C("is_closed", "bool", "closed (won or lost)"),
        C("is_won", "bool", "won"),
        C("close_date", "date", "expected close date while open, actual once closed"),
        C("probability", "ratio", "win probability (default from the stage's configured "
          "probability)"),
        C("forecast_category", "text", "forecast category"),
        C("type", "slug", "new_business, expansion or renewal",
          choices=("new_business", "expansion", "renewal")),
        C("source_type", "slug", "who sourced it: marketing, sales, partner or other",
          choices=("marketing", "sales", "partner", "other")),
        C("channel", "slug", "sourcing channel; defaults to the primary contact's channel"),
        C("campaign_id", "id", "sourcing campaign"),
        C("owner", "text", "sales rep"),
        C("segment", "text", "segment (defaults to the account's)"),
        C("competitor", "text", "main competitor"),
        C("loss_reason", "text", "why it was lost"),
        C("term_months", "int", "contract length in months, for ACV", min=NONNEG),
    ),
)

OPPORTUNITY_STAGES = Table(
    "opportunity_stages", "entity", ("opportunity_id", "stage", "entered_at"), group="CRM",
    description="Opportunity stage history, for deal velocity and past as-of states.",
    columns=(
        C("opportunity_id", "id", "the opportunity", required=True),
        C("stage", "text", "raw stage name", required=True),
        C("entered_at", "ts", "when the opportunity entered the stage", required=True),
    ),
)

MEETINGS = Table(
    "meetings", "entity", ("meeting_id",), group="CRM",
    description="Demos and meetings booked and held.",
    columns=(
        C("meeting_id", "id", "meeting identifier", required=True),
        C("booked_at", "ts", "when it was booked", required=True),
        C("kind", "slug", "demo, meeting or discovery", choices=("demo", "meeting", "discovery")),
        C("contact_id", "id", "the contact"),
        C("account_id", "id", "the account"),
        C("scheduled_for", "ts", "when it takes place"),
        C("status", "slug", "scheduled, held, no_show or canceled",
          choices=("scheduled", "held", "no_show", "canceled")),
        C("channel", "slug", "channel that produced it"),
        C("owner", "text", "owner"),
        C("opportunity_id", "id", "the opportunity it produced, if any"),
    ),
)

TOUCHPOINTS = Table(
    "touchpoints", "entity", ("touchpoint_id",), group="CRM",
    description="Marketing and sales touches, for attribution and account engagement.",
    notes=(
        "When `touchpoint_id` is absent or empty it is a hash of the whole row, so the same "
        "row imported twice is stored once.",
        "At least one of `contact_id` and `account_id` is required.",
    ),
    columns=(
        C("touchpoint_id", "id", "touchpoint identifier (a hash of the row when absent)"),
        C("occurred_at", "ts", "when it happened", required=True),
        C("contact_id", "id", "the contact"),
        C("account_id", "id", "the account"),
        C("kind", "slug", "ad_click, ad_impression, web_visit, form_submit, content_download, "
          "webinar_registered, webinar_attended, event_attended, email_click, meeting, chat, "
          "sales_touch, ..."),
        C("channel", "slug", "channel"),
        C("source", "text", "source"),
        C("medium", "text", "medium"),
        C("campaign", "text", "campaign name"),
        C("content", "text", "content"),
        C("campaign_id", "id", "campaign"),
    ),
)

CAMPAIGNS = Table(
    "campaigns", "entity", ("campaign_id",), group="CRM",
    description="Marketing campaigns.",
    columns=(
        C("campaign_id", "id", "campaign identifier", required=True),
        C("name", "text", "campaign name"),
        C("channel", "slug", "channel"),
        C("type", "slug", "webinar, trade_show, paid_search, paid_social, content, email, "
          "outbound, ..."),
        C("start_date", "date", "first day"),
        C("end_date", "date", "last day"),
        C("budget", "money", "budget", min=NONNEG),
        C("cost", "money", "actual cost, when not itemised in ad_performance or costs",
          min=NONNEG),
    ),
)

AD_PERFORMANCE = Table(
    "ad_performance", "additive", ("date", "platform", "campaign_id"), group="Marketing",
    date_column="date", scope=("platform",),
    description="Daily ad delivery and spend per platform and campaign. Ratios (CTR, CPC, "
    "CPM) are never imported; they are recomputed from sums.",
    columns=(
        C("date", "date", "day", required=True),
        C("platform", "slug", "google_ads, linkedin, meta, bing, ...", required=True),
        C("campaign_id", "id", "platform campaign id", required=True),
        C("campaign_name", "text", "campaign name"),
        C("impressions", "int", "impressions", min=NONNEG),
        C("clicks", "int", "clicks", min=NONNEG),
        C("spend", "money", "spend", min=NONNEG),
        C("currency", "text", "ISO currency code of spend"),
        C("engagements", "int", "engagements", min=NONNEG),
        C("conversions", "num", "platform-reported conversions (may be fractional)",
          min=NONNEG),
    ),
)

AD_ACCOUNT_ENGAGEMENT = Table(
    "ad_account_engagement", "additive", ("date", "platform", "account_id"), group="Marketing",
    date_column="date", scope=("platform",),
    description="Account-level ad reach (e.g. LinkedIn company engagement) for ABM.",
    notes=(
        "`account_id` may be empty when `company_domain` or `company_name` is given; the "
        "import matches them to accounts by domain, then by name.",
    ),
    columns=(
        C("date", "date", "day", required=True),
        C("platform", "slug", "platform", required=True),
        C("account_id", "id", "the account (or give company_domain / company_name)"),
        C("company_domain", "text", "company web domain, matched to accounts.domain"),
        C("company_name", "text", "company name, matched to accounts.name"),
        C("impressions", "int", "impressions", min=NONNEG),
        C("clicks", "int", "clicks", min=NONNEG),
        C("engagements", "int", "engagements", min=NONNEG),
    ),
)

WEB_TRAFFIC = Table(
    "web_traffic", "additive",
    ("date", "source", "medium", "campaign", "content", "term", "channel", "landing_page",
     "visitor_type", "account_id"),
    group="Marketing", date_column="date", scope=(),
    description="Website sessions, session-level or aggregated; every measure is additive.",
    notes=(
        "An import replaces the stored rows dated within the file's first-last date (one web "
        "property); `--append` adds without replacing.",
    ),
    columns=(
        C("date", "date", "day", required=True),
        C("sessions", "int", "sessions", required=True, min=NONNEG),
        C("source", "text", "session source"),
        C("medium", "text", "session medium"),
        C("campaign", "text", "session campaign"),
        C("content", "text", "utm_content"),
        C("term", "text", "utm_term"),
        C("channel", "slug", "GA4-style default channel group (derived by the rules when "
          "empty)"),
        C("landing_page", "text", "landing page path"),
        C("visitor_type", "slug", "new or returning", choices=("new", "returning")),
        C("account_id", "id", "company identified by reverse IP, when known"),
        C("users", "int", "users (not additive across rows)", min=NONNEG),
        C("engaged_sessions", "int", "engaged sessions", min=NONNEG),
        C("bounces", "int", "bounced sessions", min=NONNEG),
        C("duration_seconds", "num", "total session duration in seconds", min=NONNEG),
        C("pageviews", "int", "pageviews", min=NONNEG),
        C("conversions", "int", "lead form submits", min=NONNEG),
        C("scroll_25", "int", "sessions that scrolled 25%", min=NONNEG),
        C("scroll_50", "int", "sessions that scrolled 50%", min=NONNEG),
        C("scroll_75", "int", "sessions that scrolled 75%", min=NONNEG),
        C("scroll_100", "int", "sessions that scrolled 100%", min=NONNEG),
    ),
)

ENGAGEMENT = Table(
    "engagement", "additive", ("date", "platform", "kind"), group="Marketing",
    date_column="date", scope=("platform", "kind"),
    description="Social engagement, community size and activity, PR / earned media.",
    columns=(
        C("date", "date", "day", required=True),
        C("platform", "slug", "linkedin, x, youtube, forum, slack, press, g2, podcast, ...",
          required=True),
        C("kind", "slug", "social, community, press, review or podcast", required=True,
          choices=("social", "community", "press", "review", "podcast")),
        C("audience", "int", "followers / members at that date", min=NONNEG),
        C("active_members", "int", "active members", min=NONNEG),
        C("impressions", "int", "impressions", min=NONNEG),
        C("engagements", "int", "engagements", min=NONNEG),
        C("clicks", "int", "clicks", min=NONNEG),
        C("mentions", "int", "mentions", min=NONNEG),
        C("posts", "int", "posts", min=NONNEG),
    ),
)

COMMUNITY_QUESTIONS = Table(
    "community_questions", "entity", ("question_id",), group="Marketing",
    description="Questions asked in the community, for time to answer.",
    columns=(
        C("question_id", "id", "question identifier", required=True),
        C("asked_at", "ts", "when it was asked", required=True),
        C("platform", "slug", "platform"),
        C("first_answered_at", "ts", "first answer"),
        C("answered_by", "slug", "staff or community", choices=("staff", "community")),
        C("resolved_at", "ts", "when it was resolved"),
    ),
)

EMAIL_SENDS = Table(
    "email_sends", "entity", ("email_id",), group="Marketing",
    description="Email sends with delivery and engagement counts.",
    columns=(
        C("email_id", "id", "email identifier", required=True),
        C("sent_at", "ts", "when it was sent", required=True),
        C("name", "text", "email name"),
        C("campaign_id", "id", "campaign"),
        C("program", "slug", "nurture, newsletter, onboarding, product, event or sales",
          choices=("nurture", "newsletter", "onboarding", "product", "event", "sales")),
        C("audience", "slug", "prospects or customers", choices=("prospects", "customers")),
        C("sent", "int", "sent", min=NONNEG),
        C("delivered", "int", "delivered", min=NONNEG),
        C("unique_opens", "int", "unique opens", min=NONNEG),
        C("unique_clicks", "int", "unique clicks", min=NONNEG),
        C("unsubscribes", "int", "unsubscribes", min=NONNEG),
        C("bounces", "int", "bounces", min=NONNEG),
        C("spam_reports", "int", "spam reports", min=NONNEG),
    ),
)

EVENTS = Table(
    "events", "entity", ("event_id",), group="Marketing",
    description="Webinars, trade shows and other events; each is also an annotation on time "
    "charts.",
    columns=(
        C("event_id", "id", "event identifier", required=True),
        C("name", "text", "event name", required=True),
        C("starts_at", "ts", "start", required=True),
        C("kind", "slug", "webinar, trade_show, conference, meetup or roundtable",
          choices=("webinar", "trade_show", "conference", "meetup", "roundtable")),
        C("campaign_id", "id", "campaign"),
        C("registrants", "int", "registrants", min=NONNEG),
        C("attendees", "int", "attendees", min=NONNEG),
        C("cost", "money", "cost", min=NONNEG),
    ),
)

MRR = Table(
    "mrr", "entity", ("account_id", "month"), group="Customers and money",
    description="Monthly recurring revenue per customer account.",
    notes=("A `month` that is not the first of a month is moved to it, with a warning.",),
    columns=(
        C("month", "date", "first day of the month", required=True),
        C("account_id", "id", "customer account", required=True),
        C("mrr", "money", "monthly recurring revenue", required=True, min=NONNEG),
        C("plan", "text", "plan"),
        C("seats", "int", "seats", min=NONNEG),
    ),
)

COSTS = Table(
    "costs", "additive", ("month", "category", "team", "channel", "campaign_id"),
    group="Customers and money", date_column="month", scope=("team", "category"),
    description="Monthly costs by category and team: CAC, ROI, profit, cost per stage.",
    columns=(
        C("month", "date", "first day of the month", required=True),
        C("category", "slug", "ad_spend, programs, events, content, tools, agency, salaries, "
          "cogs or other", required=True,
          choices=("ad_spend", "programs", "events", "content", "tools", "agency", "salaries",
                   "cogs", "other")),
        C("amount", "money", "amount", required=True),
        C("team", "slug", "marketing, sales, customer_success, product or ga",
          choices=("marketing", "sales", "customer_success", "product", "ga")),
        C("channel", "slug", "channel"),
        C("campaign_id", "id", "campaign"),
    ),
)

NPS_RESPONSES = Table(
    "nps_responses", "entity", ("response_id",), group="Customers and money",
    description="Net Promoter Score answers.",
    columns=(
        C("response_id", "id", "response identifier", required=True),
        C("responded_at", "ts", "when it was answered", required=True),
        C("score", "int", "score 0-10", required=True, min=0, max=10),
        C("account_id", "id", "account"),
        C("contact_id", "id", "contact"),
        C("survey", "text", "survey name"),
        C("comment", "text", "free-text comment"),
    ),
)

SURVEY_RESPONSES = Table(
    "survey_responses", "entity", ("response_id", "question"), group="Customers and money",
    description="Structured survey answers, including self-reported attribution.",
    columns=(
        C("response_id", "id", "response identifier", required=True),
        C("responded_at", "ts", "when it was answered", required=True),
        C("survey", "text", "survey name", required=True),
        C("question", "text", "question", required=True),
        C("answer", "text", "answer"),
        C("score", "num", "numeric score"),
        C("contact_id", "id", "contact"),
        C("account_id", "id", "account"),
    ),
)

PRODUCT_USAGE = Table(
    "product_usage", "entity", ("date", "account_id"), group="Customers and money",
    description="Daily product usage per account.",
    columns=(
        C("date", "date", "day", required=True),
        C("account_id", "id", "account", required=True),
        C("active_users", "int", "active users", min=NONNEG),
        C("seats", "int", "seats", min=NONNEG),
        C("key_events", "int", "key product events", min=NONNEG),
    ),
)

FX_RATES = Table(
    "fx_rates", "entity", ("date", "currency"), group="Customers and money",
    description="Exchange rates into the reporting currency.",
    columns=(
        C("date", "date", "day the rate applies from", required=True),
        C("currency", "text", "ISO currency code", required=True),
        C("rate_to_reporting", "num", "1 unit of currency = this many reporting-currency "
          "units", required=True, min=NONNEG),
    ),
)

TARGETS = Table(
    "targets", "entity", ("metric", "period_start", "grain", "dimension", "dimension_value"),
    group="Plans and context",
    description="Targets drawn on charts and used for pacing; the planner writes kind = plan.",
    notes=("`period_start` must begin a period of its grain (fiscal quarters and years).",),
    columns=(
        C("metric", "text", "a metric key from the catalogue", required=True),
        C("period_start", "date", "first day of the period", required=True),
        C("grain", "slug", "month, quarter or year", required=True,
          choices=("month", "quarter", "year")),
        C("target", "num", "target value", required=True),
        C("dimension", "text", "dimension, e.g. channel (empty = total)"),
        C("dimension_value", "text", "value of the dimension"),
        C("kind", "slug", "okr, quota or plan", choices=("okr", "quota", "plan")),
    ),
)

ANNOTATIONS = Table(
    "annotations", "entity", ("date", "label"), group="Plans and context",
    description="Context drawn on time charts: launches, events, tracking changes.",
    columns=(
        C("date", "date", "day", required=True),
        C("label", "text", "short label", required=True),
        C("end_date", "date", "last day, for a span"),
        C("kind", "slug", "webinar, trade_show, launch, pricing, tracking_change, outage or "
          "other",
          choices=("webinar", "trade_show", "launch", "pricing", "tracking_change", "outage",
                   "other")),
        C("channel", "slug", "channel"),
        C("description", "text", "description"),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        ACCOUNTS, CONTACTS, STAGE_EVENTS, OPPORTUNITIES, OPPORTUNITY_STAGES, MEETINGS,
        TOUCHPOINTS, CAMPAIGNS, AD_PERFORMANCE, AD_ACCOUNT_ENGAGEMENT, WEB_TRAFFIC, ENGAGEMENT,
        COMMUNITY_QUESTIONS, EMAIL_SENDS, EVENTS, MRR, COSTS, NPS_RESPONSES, SURVEY_RESPONSES,
        PRODUCT_USAGE, FX_RATES, TARGETS, ANNOTATIONS,
    )
}


def get_table(name: str) -> Table:
    """The canonical table called ``name``; an unknown name lists close matches."""
    try:
        return TABLES[name.strip().lower()]
    except KeyError:
        raise UnknownNameError("table", name, TABLES) from None
