"""One ``funnelboard metrics show`` example per listed metric, for the metric reference.

:data:`EXAMPLES` maps every key :func:`funnelboard.metrics.registry.all_metrics` lists (with the
default settings) to the options of a short, meaningful ``funnelboard metrics show KEY …`` call
on the demo company. :mod:`funnelboard.cli.reference` runs each one through the CLI as of
:data:`AS_OF` and writes the command and its output into ``docs/metrics.md``; a test fails when a
listed metric has no example or an example names an option or dimension the metric rejects.

Every example fixes its range with ``--start``/``--end`` inside the demo's last year (the demo
ends on :data:`AS_OF`), so its output is a few periods and is the same on every run.
"""

from __future__ import annotations

#: The as-of date of every example; the reference builds the demo with this end date.
AS_OF = "2025-06-30"

#: The demo's last four quarters and last two quarters (both end on the as-of date).
_YEAR = "--start 2024-07-01 --end 2025-06-30"
_HALF = "--start 2025-01-01 --end 2025-06-30"
#: The fiscal years the demo covers (it starts three years before the as-of date).
_YEARS = "--grain year --start 2023-01-01 --end 2025-06-30"

EXAMPLES: dict[str, str] = {
    # -- funnel --------------------------------------------------------------------------------
    "contacts_created": f"--grain quarter {_YEAR}",
    "leads": f"--grain quarter --by motion {_YEAR}",
    "mqls": f"--grain quarter --compare yoy {_YEAR}",
    "sqls": f"--grain quarter --basis period {_YEAR}",
    "opportunities": f"--grain quarter --by segment {_HALF}",
    "customers": f"--grain quarter --level account --basis period {_YEAR}",
    "lead_to_mql_rate": f"--grain quarter --by motion {_YEAR}",
    "lead_to_sql_rate": f"--grain quarter --compare yoy {_YEAR}",
    "lead_to_opportunity_rate": f"--grain quarter --by segment {_HALF}",
    "lead_to_customer_rate": _YEARS,
    "mql_to_sql_rate": f"--grain quarter --rule strict {_YEAR}",
    "mql_to_opportunity_rate": f"--grain quarter --by region {_HALF}",
    "mql_to_customer_rate": _YEARS,
    "sql_to_opportunity_rate": f"--grain quarter --basis period {_YEAR}",
    "sql_to_customer_rate": f"{_YEARS} --by segment",
    "opportunity_to_customer_rate": f"{_YEARS} --by motion",
    "lead_to_mql_days": f"--grain quarter {_YEAR}",
    "lead_to_sql_days": f"--grain quarter --by motion {_HALF}",
    "lead_to_opportunity_days": f"--grain quarter --basis period {_YEAR}",
    "lead_to_customer_days": _YEARS,
    "mql_to_sql_days": f"--grain quarter {_YEAR}",
    "mql_to_opportunity_days": f"--grain quarter --by segment {_HALF}",
    "mql_to_customer_days": _YEARS,
    "sql_to_opportunity_days": f"--grain quarter --basis period {_YEAR}",
    "sql_to_customer_days": _YEARS,
    "opportunity_to_customer_days": f"{_YEARS} --basis period",
    "sales_cycle_days": f"--grain quarter {_YEAR}",
    "cohort_maturity": f"--grain quarter --transition lead_to_customer {_YEAR}",
    # -- leads ---------------------------------------------------------------------------------
    "lead_score_avg": f"--grain quarter --by motion {_HALF}",
    "high_score_share": f"--grain quarter {_YEAR}",
    "self_reported_source_mix": "--grain quarter --by self_reported_source "
                                "--start 2025-04-01 --end 2025-06-30",
    # -- web -----------------------------------------------------------------------------------
    "sessions": f"--grain quarter --compare yoy {_YEAR}",
    "pageviews": f"--grain quarter {_YEAR}",
    "users": f"--grain quarter --by visitor_type {_HALF}",
    "engaged_sessions": f"--grain quarter {_YEAR}",
    "web_conversions": f"--grain quarter --compare yoy {_YEAR}",
    "returning_share": f"--grain quarter {_YEAR}",
    "engagement_rate": f"--grain quarter --by visitor_type {_HALF}",
    "bounce_rate": f"--grain quarter {_YEAR}",
    "avg_session_duration": f"--grain quarter {_YEAR}",
    "pages_per_session": f"--grain quarter {_YEAR}",
    "scroll_rate_25": "--grain quarter --by landing_page --start 2025-04-01 --end 2025-06-30",
    "scroll_rate_50": f"--grain quarter {_YEAR}",
    "scroll_rate_75": f"--grain quarter {_YEAR}",
    "scroll_rate_100": "--grain quarter --by landing_page --start 2025-04-01 --end 2025-06-30",
    "web_conversion_rate": f"--grain quarter --compare yoy {_YEAR}",
    "organic_share": f"--grain quarter {_YEAR}",
    "visit_to_lead_rate": f"--grain quarter {_YEAR}",
    "landing_page_sessions": "--grain quarter --by landing_page "
                             "--start 2025-04-01 --end 2025-06-30",
    # -- ads -----------------------------------------------------------------------------------
    "impressions": f"--grain quarter --by platform {_HALF}",
    "clicks": f"--grain quarter --by platform {_HALF}",
    "ad_engagements": f"--grain quarter --by platform {_HALF}",
    "ad_conversions": f"--grain quarter --by platform {_HALF}",
    "ad_spend": f"--grain quarter --by channel {_YEAR}",
    "ctr": f"--grain quarter --by platform {_HALF}",
    "cpc": f"--grain quarter --by platform {_HALF}",
    "cpm": f"--grain quarter --by platform {_HALF}",
    # -- email ---------------------------------------------------------------------------------
    "emails_sent": f"--grain quarter --by audience {_HALF}",
    "delivered_rate": f"--grain quarter {_YEAR}",
    "email_bounce_rate": f"--grain quarter {_YEAR}",
    "open_rate": "--grain quarter --by program --start 2025-04-01 --end 2025-06-30",
    "click_rate": "--grain quarter --by program --start 2025-04-01 --end 2025-06-30",
    "unsubscribe_rate": f"--grain quarter --by audience {_HALF}",
    "spam_rate": f"--grain quarter {_YEAR}",
    "click_to_open_rate": f"--grain quarter {_YEAR}",
    # -- engagement ----------------------------------------------------------------------------
    "event_registrants": f"--grain quarter --by kind {_HALF}",
    "event_attendees": f"--grain quarter --by kind {_HALF}",
    "attendance_rate": f"--grain quarter {_YEAR}",
    "social_audience": f"--grain quarter --by platform {_HALF}",
    "social_engagements": f"--grain quarter --by platform {_HALF}",
    "social_engagement_rate": f"--grain quarter --by platform {_HALF}",
    "press_mentions": f"--grain quarter {_YEAR}",
    "survey_score_avg": f"{_YEARS} --by question --filter 'survey=Onboarding survey'",
    "survey_responses": f"--grain quarter --by survey {_HALF}",
    # -- community -----------------------------------------------------------------------------
    "community_members": f"--grain quarter --compare yoy {_YEAR}",
    "community_active_members": f"--grain quarter --by platform {_HALF}",
    "community_posts": f"--grain quarter --compare yoy {_YEAR}",
    "answered_rate": f"--grain quarter --by platform {_HALF}",
    "time_to_first_answer": f"--grain quarter --by platform {_HALF}",
    # -- meetings ------------------------------------------------------------------------------
    "meetings_booked": f"--grain quarter --by kind {_HALF}",
    "demos_booked": f"--grain quarter {_YEAR}",
    "meetings_held": f"--grain quarter {_YEAR}",
    "no_show_rate": f"--grain quarter --by kind {_HALF}",
    "demo_to_opportunity_rate": f"--grain quarter {_YEAR}",
    "mql_follow_up_hours": f"--grain quarter {_YEAR}",
    "sla_met_rate": f"--grain quarter --by motion {_HALF}",
    # -- abm -----------------------------------------------------------------------------------
    "engaged_accounts": f"--grain quarter --by segment {_HALF}",
    "target_account_reach": f"--grain quarter {_YEAR}",
    "target_account_engagement": f"--grain quarter --by segment {_HALF}",
    "icp_share_leads": f"--grain quarter {_YEAR}",
    "icp_share_mqls": f"--grain quarter {_YEAR}",
    "icp_share_sqls": f"--grain quarter --by motion {_HALF}",
    "icp_share_opportunities": _YEARS,
    "icp_share_customers": _YEARS,
    # -- cost ----------------------------------------------------------------------------------
    "cost_per_lead": f"--grain quarter --basis period {_YEAR}",
    "cost_per_mql": "--grain quarter --basis period --by channel --start 2025-04-01 "
                    "--end 2025-06-30",
    "cost_per_sql": f"--grain quarter --basis cohort {_YEAR}",
    "cost_per_opportunity": f"--grain quarter --basis period {_YEAR}",
    "cost_per_customer": f"{_YEARS} --basis period",
    # -- pipeline ------------------------------------------------------------------------------
    "opportunities_created": f"--grain quarter --by type {_HALF}",
    "pipeline_created": f"--grain quarter --by source_type {_HALF}",
    "marketing_sourced_opportunities": f"--grain quarter {_YEAR}",
    "marketing_sourced_pipeline": f"--grain quarter --compare yoy {_YEAR}",
    "marketing_pipeline_share": f"--grain quarter {_YEAR}",
    "open_pipeline": f"--grain quarter --by stage {_HALF}",
    "weighted_pipeline": f"--grain quarter {_YEAR}",
    "pipeline_coverage": "--grain quarter --start 2025-04-01 --end 2025-09-30",
    "opportunity_stage_days": f"--grain year --by stage {_HALF}",
    "opportunity_stage_conversion": "--grain year --by stage --start 2024-01-01 --end 2024-12-31",
    # -- revenue -------------------------------------------------------------------------------
    "bookings_target_attainment": f"--grain quarter {_YEAR}",
    "bookings": f"--grain quarter --by type {_HALF}",
    "won_revenue": f"--grain quarter {_YEAR}",
    "marketing_sourced_revenue": f"--grain quarter {_YEAR}",
    "win_rate": f"--grain quarter --by segment {_HALF}",
    "win_rate_amount": f"--grain quarter {_YEAR}",
    "cohort_win_rate": f"--grain quarter {_YEAR}",
    "loss_reasons": "--grain year --by loss_reason --start 2025-01-01 --end 2025-06-30",
    "avg_deal_size": f"--grain quarter --by segment {_HALF}",
    "acv": f"--grain quarter {_YEAR}",
    "demo_to_close_days": _YEARS,
    "sales_velocity": f"--grain quarter {_YEAR}",
    # -- customers -----------------------------------------------------------------------------
    "mrr": f"--grain quarter {_YEAR}",
    "arr": f"--grain quarter --by segment {_HALF}",
    "new_mrr": f"--grain quarter {_YEAR}",
    "expansion_mrr": f"--grain quarter {_YEAR}",
    "contraction_mrr": f"--grain quarter {_YEAR}",
    "churned_mrr": f"--grain quarter {_YEAR}",
    "reactivation_mrr": f"--grain quarter {_YEAR}",
    "paying_customers": f"--grain quarter --compare yoy {_YEAR}",
    "new_logos": f"--grain quarter --by segment {_HALF}",
    "logo_churn_rate": f"--grain quarter {_YEAR}",
    "gross_mrr_churn_rate": f"--grain quarter {_YEAR}",
    "nrr": f"--grain quarter {_YEAR}",
    "grr": f"--grain quarter {_YEAR}",
    "churn_by_source": f"{_YEARS} --by motion",
    "arpa": f"--grain quarter --by segment {_HALF}",
    "nps": "--grain year --by segment --start 2024-01-01 --end 2025-06-30",
    "product_active_users": f"--grain quarter {_YEAR}",
    "usage_per_seat": f"--grain quarter --by segment {_HALF}",
    "product_key_events": f"--grain quarter {_YEAR}",
    # -- unit economics ------------------------------------------------------------------------
    "ltv": f"--grain quarter --by segment {_HALF}",
    "cac": f"--grain quarter {_YEAR}",
    "paid_cac": "--grain year --by channel --start 2025-01-01 --end 2025-06-30",
    "ltv_to_cac": f"--grain quarter {_YEAR}",
    "cac_payback_months": f"--grain quarter {_YEAR}",
    "marketing_roi": f"--grain quarter {_YEAR}",
    "pipeline_to_spend": f"--grain quarter {_YEAR}",
    "campaign_roi": "--grain year --start 2024-01-01 --end 2025-06-30",
    "profit": f"--grain quarter {_YEAR}",
}

#: Examples of keys the funnel grammar accepts but ``metrics list`` does not list one by one
#: (``<a>_to_<b>_rate_<N>d``); the reference shows them in the funnel section.
GRAMMAR_EXAMPLES: dict[str, str] = {
    "lead_to_customer_rate_180d": f"--grain quarter {_YEAR}",
}
