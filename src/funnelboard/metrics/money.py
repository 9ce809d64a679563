"""Amounts in the reporting currency (data-contract.md, "Money").

An amount is converted with the ``rate_to_reporting`` of the latest ``fx_rates`` row of its
currency dated on or before the amount's date (the close date for closed deals, the as-of date
for open ones, the row's date for spend, costs and MRR). An empty currency is the reporting
currency. A missing rate leaves the amount *without* a value — never an unconverted amount —
and the result's notes say how many amounts were left out.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.engine import Engine

#: Column added by :func:`in_reporting_currency`.
AMOUNT = "fb_amount"


def in_reporting_currency(engine: Engine, t: ir.Table, amount: str, currency: str | None,
                          day: ir.DateValue, notes: list[str], what: str) -> ir.Table:
    """``t`` with :data:`AMOUNT` = ``t[amount]`` in the reporting currency on ``day``.

    ``currency`` names ``t``'s currency column (``None``: the table has none, so every amount
    is in the reporting currency). The fx join only runs when some row is in another currency.
    """
    reporting = engine.settings.reporting_currency
    value = t[amount].cast("float64")
    if currency is None:
        return t.mutate(**{AMOUNT: value})
    code = t[currency].cast("string").strip().upper().nullif("")
    # computed once: the checks below and the caller's query then start from a plain table
    t = engine.materialize(t.mutate(fb_currency=code.coalesce(reporting), fb_day=day,
                                    fb_value=value))
    foreign = t.filter(t.fb_currency != reporting)
    if not engine.execute(foreign.aggregate(n=foreign.count()))[0]["n"]:
        return t.mutate(**{AMOUNT: t.fb_value})
    fx = engine.table("fx_rates")
    fx = fx.select(fx_currency=fx.currency.cast("string").strip().upper(), fx_day=fx.date,
                   fx_rate=fx.rate_to_reporting.cast("float64"))
    # an as-of join keeps every row (ASOF LEFT JOIN): a row without a rate gets NULL
    t = t.asof_join(fx, on=t.fb_day >= fx.fx_day, predicates=[t.fb_currency == fx.fx_currency])
    converted = ibis.ifelse(t.fb_currency == reporting, t.fb_value, t.fb_value * t.fx_rate)
    t = t.mutate(**{AMOUNT: converted})
    missing = t.filter(t[AMOUNT].isnull() & t.fb_value.notnull())
    n = engine.execute(missing.aggregate(n=missing.count()))[0]["n"]
    if n:
        notes.append(f"{n} {what} had no exchange rate to {reporting} on or before their date "
                     "and were left out; import fx_rates for their currencies.")
    return t
