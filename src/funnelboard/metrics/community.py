"""Community and nurture metrics (metrics.md §6, S3-3): community size and activity from
``engagement`` (kind = community), time to first answer and answered rate from
``community_questions``, and email delivery and engagement rates from ``email_sends``.

Community size is a stock (the audience a platform reports at the period end, summed over
platforms); a quarter shows its last value, never a sum of months. Read it with
``compare="yoy"`` for the year-over-year direction S3-3 asks for (a forum shrinking year over
year is the red flag). Email rates are ratios of sums over the sends of the period, on the
sends that report both counts.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.engine import Engine, compiler
from funnelboard.metrics.funnel import days_between
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef, register
from funnelboard.metrics.tables import Expr, Source, column, prepared, text

# -- community size and activity (engagement, kind = community) ---------------------------------

def _community_rows(engine: Engine, t: ir.Table, query: MetricQuery,
                    notes: list[str]) -> ir.Table:
    return t.filter(text(t.kind).lower() == "community")


COMMUNITY = Source("engagement", "date", dims={"platform": column("platform")},
                   prepare=_community_rows)
COMMUNITY_GROUP = "community"

register(MetricDef(
    "community_members", "Community members", COMMUNITY_GROUP, "table_stock", "count", "up",
    "stock", True, "engagement date (value at the period end)",
    "Community size: per community platform (engagement rows of kind community), the audience "
    "(members) of its last row dated in the period, summed over platforms. A stock: a quarter "
    "shows the value at its end, never a sum of months; extra.measured_on is the latest date "
    "used. Compare year over year (--compare yoy) for the direction.",
    dimensions=("platform",),
    params={"source": COMMUNITY, "num": lambda t: t.audience,
            "key": lambda t: text(t.platform)}))
register(MetricDef(
    "community_active_members", "Active community members", COMMUNITY_GROUP, "table_stock",
    "count", "up", "stock", True, "engagement date (value at the period end)",
    "Active community members as each community platform reports them on its last row dated "
    "in the period (engagement.active_members is a per-date measure, the platform's own "
    "activity window), summed over platforms; like members, a quarter shows its end value, "
    "not a sum. Compare year over year (--compare yoy) for the direction.",
    dimensions=("platform",),
    params={"source": COMMUNITY, "num": lambda t: t.active_members,
            "key": lambda t: text(t.platform)}))
register(MetricDef(
    "community_posts", "Community posts", COMMUNITY_GROUP, "table_flow", "count", "up", "flow",
    True, "engagement date",
    "Posts in the community: the sum of engagement.posts over rows of kind community dated in "
    "the period. Compare year over year (--compare yoy) for the direction.",
    dimensions=("platform",),
    params={"source": COMMUNITY, "num": lambda t: t.posts}))


# -- questions --------------------------------------------------------------------------------

def _answered(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str]) -> ir.Table:
    """``fb_answered``: 1 when the first answer is dated on or before the as-of date."""
    first = t.first_answered_at
    ok = first.notnull() & (first.date() <= ibis.literal(query.as_of))
    return t.mutate(fb_answered=ok.cast("int64"))


QUESTIONS = Source("community_questions", "asked_at", timestamp=True,
                   dims={"platform": column("platform"),
                         "answered_by": column("answered_by")}, prepare=_answered)

register(MetricDef(
    "answered_rate", "Answered rate", COMMUNITY_GROUP, "table_ratio", "ratio", "up", "ratio",
    False, "community_questions asked_at",
    "Questions that got a first answer (on or before the as-of date) ÷ questions asked, by the "
    "period the question was asked in. Recent questions may still be waiting for an answer.",
    dimensions=("platform",),
    params={"source": QUESTIONS, "num": lambda t: t.fb_answered,
            "den": lambda t: t.asked_at.notnull().cast("int64")}))
register(MetricDef(
    "time_to_first_answer", "Time to first answer (hours)", COMMUNITY_GROUP, "answer_hours",
    "hours", "down", "ratio", False, "community_questions asked_at",
    "Median hours from a question being asked to its first answer, over the questions asked "
    "in the period that were answered on or before the as-of date (the median of an even count "
    "is the mean of the two middle values); p75 in extra. Unanswered questions are left out "
    "and counted in extra.unanswered; an answer dated before its question is a data error, "
    "left out and counted in extra.invalid.",
    dimensions=("platform", "answered_by"), params={"source": QUESTIONS}))


def answer_lags(engine: Engine, metric: MetricDef, query: MetricQuery,
                notes: list[str]) -> tuple[ir.Table, ir.DateValue]:
    """The questions asked in the window with the query's filters: ``fb_ok`` (answered by the
    as-of date), ``fb_hours`` (asked → first answer, null when not answered) and ``fb_valid``
    (answered, and not before it was asked: the questions the median is taken over); and the
    period expression."""
    t, period = prepared(engine, metric, query, notes)
    first = t.first_answered_at
    answered = t.fb_answered == 1
    hours = days_between(engine, first, t.asked_at) * 24
    t = t.mutate(fb_ok=answered, fb_hours=ibis.ifelse(answered, hours,
                                                       ibis.null().cast("float64")))
    return t.mutate(fb_valid=t.fb_ok & (t.fb_hours >= 0)), period


@compiler("answer_hours")
def answer_hours(engine: Engine, metric: MetricDef, query: MetricQuery,
                 notes: list[str]) -> list[dict[str, Any]]:
    """Median and p75 of answer lags in hours per asked-at period (in the engine)."""
    t, period = answer_lags(engine, metric, query, notes)
    valid = t.fb_valid
    agg = t.group_by(period=period, **{d: t[d] for d in query.by}).aggregate(
        value=t.fb_hours.quantile(0.5, where=valid), p75=t.fb_hours.quantile(0.75, where=valid),
        n=valid.cast("int64").sum(), asked=t.count(),
        unanswered=(~t.fb_ok).cast("int64").sum(),
        invalid=(t.fb_ok & (t.fb_hours < 0)).cast("int64").sum())
    rows = []
    invalid_total = 0
    for r in engine.execute(agg):
        invalid = int(r["invalid"] or 0)
        invalid_total += invalid
        rows.append({
            "period": r["period"], **{d: r[d] or None for d in query.by},
            "value": _float(r["value"]), "numerator": None, "denominator": None,
            "n": int(r["n"] or 0),
            "extra": {"p75": _float(r["p75"]), "asked": int(r["asked"]),
                      "unanswered": int(r["unanswered"] or 0), "invalid": invalid}})
    if invalid_total:
        notes.append(f"{invalid_total} question(s) have a first answer dated before the "
                     "question; they are left out of the median.")
    return rows


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- email (email_sends) ------------------------------------------------------------------------

EMAIL_GROUP = "email"
EMAIL_DIMENSIONS = ("program", "audience", "campaign")
EMAIL = Source("email_sends", "sent_at", timestamp=True,
               dims={"program": column("program"), "audience": column("audience"),
                     "campaign": column("campaign_id")})
EMAIL_BASIS = "email_sends sent_at"


def _paired(num: str, den: str) -> tuple[Expr, Expr]:
    """Σ num ÷ Σ den over the sends that report both counts."""
    def both(t: ir.Table) -> ir.BooleanValue:
        return t[num].notnull() & t[den].notnull()
    return (lambda t: ibis.ifelse(both(t), t[num], 0),
            lambda t: ibis.ifelse(both(t), t[den], 0))


register(MetricDef(
    "emails_sent", "Emails sent", EMAIL_GROUP, "table_flow", "count", "neutral", "flow", True,
    EMAIL_BASIS,
    "Emails sent: the sum of email_sends.sent over the sends dated (sent_at) in the period.",
    dimensions=EMAIL_DIMENSIONS, params={"source": EMAIL, "num": lambda t: t.sent}))

_EMAIL_RATES = (
    ("delivered_rate", "Delivered rate", "delivered", "sent", "up",
     "Delivered emails ÷ emails sent"),
    ("email_bounce_rate", "Email bounce rate", "bounces", "sent", "down",
     "Bounced emails ÷ emails sent"),
    ("open_rate", "Open rate", "unique_opens", "delivered", "up",
     "Unique opens ÷ delivered emails (delivered, not sent, is the default denominator; Apple "
     "Mail Privacy Protection inflates opens, so prefer clicks for engagement)"),
    ("click_rate", "Click rate", "unique_clicks", "delivered", "up",
     "Unique clicks ÷ delivered emails"),
    ("unsubscribe_rate", "Unsubscribe rate", "unsubscribes", "delivered", "down",
     "Unsubscribes (opt-outs) ÷ delivered emails"),
    ("spam_rate", "Spam complaint rate", "spam_reports", "delivered", "down",
     "Spam reports ÷ delivered emails"),
    ("click_to_open_rate", "Click-to-open rate", "unique_clicks", "unique_opens", "up",
     "Unique clicks ÷ unique opens"),
)
for _key, _label, _num, _den, _direction, _text in _EMAIL_RATES:
    _n, _d = _paired(_num, _den)
    register(MetricDef(
        _key, _label, EMAIL_GROUP, "table_ratio", "ratio", _direction, "ratio", True,
        EMAIL_BASIS,
        f"{_text}, summed over the sends dated (sent_at) in the period that report both "
        f"{_num} and {_den} (a ratio of sums, never an average of per-email rates); empty when "
        f"the {_den} sum is 0. By program, audience and campaign.",
        dimensions=EMAIL_DIMENSIONS, params={"source": EMAIL, "num": _n, "den": _d}))
