"""Customers and revenue: the accounts behind MRR cells, the NPS responses, the product usage
readings and the last readings a stock sums.

**MRR.** Every MRR metric reads the account × month grid of
:func:`~funnelboard.metrics.revenue.mrr_grid`, and so does its drill-down: the grid of the
cell, cut by the same grid columns the metric sums. A stock (MRR, ARR, paying customers,
ARPA, NRR, GRR) lists one row per account at the period's last month; a movement or a monthly
rate (new, expansion, contraction, churned and reactivation MRR, new logos, churn, logo and
gross MRR churn rates) lists one row per account and month, since a quarter sums its months
and an account can move in more than one of them. LTV is a formula of other metrics (ARPA,
gross margin, trailing logo churn) and lists nothing of its own: drill into those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from funnelboard.metrics import revenue
from funnelboard.metrics.drill.registry import COUNTED, lists
from funnelboard.metrics.drill.tables import source_columns
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef
from funnelboard.metrics.tables import Source, stock_rows, text

Expr = Callable[[ir.Table], ir.Value]
Keep = Callable[[ir.Table], ir.BooleanValue]


# -- MRR ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One side of an MRR drill-down: what it lists (``label``), which grid rows (``keep``),
    and, for a summed number, each row's part of it (``counted``, None for a count)."""

    label: str
    keep: Keep
    counted: Expr | None = None


def _is(column: str) -> Keep:
    """Rows where the grid's 0/1 column ``column`` is 1."""
    return lambda t: t[column] == 1


def _moved(column: str) -> Keep:
    """Rows with a movement in ``column``: above 0, or unknown (an amount without an exchange
    rate, which the metric leaves out of its sum)."""
    return lambda t: t[column].isnull() | (t[column] > 0)


def _amount(column: str, scale: int = 1) -> Expr:
    return lambda t: t[column] * scale if scale != 1 else t[column]


def _paying_at_end(t: ir.Table) -> ir.BooleanValue:
    """Accounts a period-end MRR sum adds up: paying, or with any amount that is not 0."""
    return (t.pos == 1) | (t.mrr.fill_null(0.0) != 0)


def _stock(label: str, scale: int) -> dict[str, Side]:
    return {"numerator": Side(label, _paying_at_end, _amount("mrr", scale))}


def _retention(gross: bool) -> dict[str, Side]:
    kept = "MRR kept (at most the MRR a year earlier)" if gross else "MRR now"
    return {"numerator": Side(f"accounts paying a year earlier: {kept}",
                              revenue.retention_cohort,
                              lambda t: revenue.retained_mrr(t, gross)),
            "denominator": Side("accounts paying a year earlier: their MRR then",
                                revenue.retention_cohort, _amount("mrr_12"))}


def _arpa() -> dict[str, Side]:
    paying = revenue.paying_with_known_mrr
    return {"numerator": Side("paying accounts: their MRR", paying, _amount("mrr")),
            "denominator": Side("paying accounts", paying)}


_CHURNED = Side("accounts that stopped paying, by month", _is("churned_logo"))
#: per MRR measure (``revenue.MEASURES``), its sides; ``ltv`` has none (see the docstring)
MRR_SIDES: dict[str, dict[str, Side]] = {
    "mrr": _stock("accounts at the period end: their MRR", 1),
    "arr": _stock("accounts at the period end: 12 × their MRR", 12),
    "paying_customers": {"numerator": Side("accounts paying at the period end", _is("pos"))},
    "arpa": _arpa(),
    "nrr": _retention(False),
    "grr": _retention(True),
    "new_mrr": {"numerator": Side("accounts paying for the first time, by month",
                                  _is("new_logo"), _amount("new_mrr"))},
    "reactivation_mrr": {"numerator": Side("accounts paying again after a gap, by month",
                                           _is("reactivated_logo"),
                                           _amount("reactivation_mrr"))},
    "churned_mrr": {"numerator": Side(_CHURNED.label, _CHURNED.keep, _amount("churned_mrr"))},
    "expansion_mrr": {"numerator": Side("accounts whose MRR grew, by month",
                                        _moved("expansion_mrr"), _amount("expansion_mrr"))},
    "contraction_mrr": {"numerator": Side("accounts whose MRR fell, by month",
                                          _moved("contraction_mrr"),
                                          _amount("contraction_mrr"))},
    "new_logos": {"numerator": Side("accounts paying for the first time",
                                    _is("new_logo"))},
    "churn_by_source": {"numerator": _CHURNED},
    "logo_churn_rate": {"numerator": _CHURNED,
                        "denominator": Side("accounts paying the month before, by month",
                                            _is("prev_pos"))},
    "gross_mrr_churn_rate": {
        "numerator": Side("accounts that stopped paying or paid less: MRR lost, by month",
                          lambda t: (t.churned_logo == 1) | _moved("contraction_mrr")(t),
                          lambda t: t.churned_mrr + t.contraction_mrr),
        "denominator": Side("accounts paying the month before: their MRR then, by month",
                            _is("prev_pos"), _amount("starting_mrr"))},
}
#: the grid's movement columns, each labelled for the ``movement`` column of a monthly list
_MOVEMENTS = (("new_logo", "new"), ("reactivated_logo", "reactivation"),
              ("churned_logo", "churned"), ("expansion_mrr", "expansion"),
              ("contraction_mrr", "contraction"))
_FLOW_READS = ("prev_mrr", "starting_mrr", "churned_mrr", "new_mrr", "reactivation_mrr",
               *(column for column, _ in _MOVEMENTS))


def _mrr_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                 end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The grid rows of the cell the metric sums or counts, by the metric's own measure
    (:data:`~funnelboard.metrics.revenue.MEASURES`): its last month for a stock, every month
    for a movement or a rate."""
    revenue._check_grain(metric, query)
    key = str(metric.params["measure"])
    measure = revenue.MEASURES[key]
    chosen = MRR_SIDES[key][side]
    notes: list[str] = []
    reads = ("mrr_12", "pos_12") if key in ("nrr", "grr") else ()
    grid = revenue.mrr_grid(engine, query.replace(start=start, end=end), notes,
                            reads if measure.at_end else _FLOW_READS)
    t = grid.table
    if measure.at_end:
        t = t.filter(t.at_end)
    t = t.filter(chosen.keep(t))
    t = _with_names(engine, t)
    cols: dict[str, ir.Value] = {"account_id": t.account_id, "name": t.name, "month": t.month}
    cols.update({d: t[d] for d in query.by if d in t.columns and d not in cols})
    counted = {} if chosen.counted is None else {COUNTED: chosen.counted(t)}
    if measure.at_end:
        if reads:
            cols["mrr_a_year_earlier"] = t.mrr_12
        notes.append("Accounts as of the period's last month (the range's last month when the "
                     "range ends inside the period).")
        return t.select(**cols, mrr=t.mrr, **counted), notes
    cols = {"account_month": t.account_id.concat(" ", t.month.strftime("%Y-%m")), **cols,
            "previous_mrr": t.prev_mrr, "mrr": t.mrr,
            "movement": ibis.cases(*[(_moved_in(t, column), label)
                                     for column, label in _MOVEMENTS], else_="no change")}
    if key == "churn_by_source":
        cols["churned_mrr"] = t.churned_mrr
    out = t.select(**cols, **counted)
    notes.append("One row per account and month: a quarter or a year adds up its months, and "
                 "an account can move in more than one of them.")
    return out, notes


def _moved_in(t: ir.Table, column: str) -> ir.BooleanValue:
    if column.endswith("_logo"):
        return t[column] == 1
    return t[column].notnull() & (t[column] > 0)


def _with_names(engine: Engine, t: ir.Table) -> ir.Table:
    """``t`` with the account's ``name`` from ``accounts`` (one per account id)."""
    a = engine.table("accounts")
    a = a.group_by(n_account=text(a.account_id)).aggregate(name=text(a.name).min())
    j = t.left_join(a, t.account_id == a.n_account)
    return j.select(*[j[c] for c in t.columns], name=j.name)


for _key, _sides in MRR_SIDES.items():
    lists("mrr", _key, sides={side: s.label for side, s in _sides.items()})(_mrr_records)


# -- NPS, product usage, stocks -------------------------------------------------------------------

@lists("nps", sides={"numerator": "promoters (+1) and detractors (−1)",
                     "denominator": "responses"})
def nps_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The scored responses of the cell; the numerator (promoters − detractors) lists the
    promoters at +1 and the detractors at −1, the denominator every response."""
    r = revenue.nps_responses(engine, query.replace(start=start, end=end))
    promoter, detractor = r.score >= revenue.PROMOTER_MIN, r.score <= revenue.DETRACTOR_MAX
    counted: dict[str, ir.Value] = {}
    if side == "numerator":
        r = r.filter(promoter | detractor)
        counted = {COUNTED: ibis.ifelse(promoter, 1, -1)}
    category = ibis.cases((promoter, "promoter"), (detractor, "detractor"), else_="passive")
    account = r.fb_account if "fb_account" in r.columns else text(r.account_id)
    cols: dict[str, ir.Value] = {
        "response_id": r.response_id, "responded_at": r.responded_at, "account_id": account,
        "contact_id": r.contact_id, "survey": r.survey}
    cols.update({d: r[d] for d in query.by if d in r.columns and d not in cols})
    return r.select(**cols, score=r.score, category=category, comment=r.comment,
                    **counted), []


@lists("usage_per_seat", sides={"numerator": "latest reading per account: active users",
                                "denominator": "latest reading per account: seats"})
def usage_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                  end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """Each account's latest reading of the cell that reports seats: its active users (the
    numerator's part) or its seats (the denominator's)."""
    notes: list[str] = []
    t = revenue.latest_usage(engine, metric, query.replace(start=start, end=end), notes)
    part = t.active_users if side == "numerator" else t.seats
    dims = {d: t[d] for d in query.by if d in t.columns}
    out = t.select(account_id=t.fb_account, date=t.fb_day, **dims,
                   active_users=t.active_users, seats=t.seats, **{COUNTED: part})
    return out, notes


@lists("table_stock",
       sides={"numerator": "last reading of each platform or account in the period"})
def stock_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                  end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The last reading of each series (platform or account) dated in the cell, the one the
    stock adds up, with its value in :data:`COUNTED`."""
    notes: list[str] = []
    t = stock_rows(engine, metric, query.replace(start=start, end=end), notes)
    src: Source = metric.params["source"]  # type: ignore[assignment]
    listed = source_columns(t, src.table, query, series=t.fb_key.cast("string"),
                            **{COUNTED: t.fb_value})
    return listed.select("series", *[c for c in listed.columns if c != "series"]), notes
