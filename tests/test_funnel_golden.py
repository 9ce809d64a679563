"""Golden tests of the funnel metrics (metrics.md §1) on tiny hand-counted datasets.

Every expected number is derived by hand from the spec (metrics.md "Rules for all metrics" and
§1, data-contract.md "Derived semantics every metric relies on"); the derivation is in each
test's docstring. The main dataset, BASE, is this (UTC workspace, times are UTC):

    contact  created      account channel         stage entries (first, actual)
    c1       01-05 10:00  a1      webinar         L 01-05 10:00, M 01-10 10:00, S 01-20 10:00,
                                                  O 02-05 10:00, C 03-10 10:00
    c2       01-12 09:00  a1      paid_search     L 01-12 09:00, M 01-15 09:00  (motion stored:
                                                  outbound)
    c3       01-20 00:00  a2      webinar         L 01-20, S 02-01              (no MQL entry)
    c4       01-25 00:00  -       paid_search     (no stage at all)
    c5       02-03 08:00  a3      paid_search     L 02-03 08:00, M 02-10 08:00
    c6       02-14 12:00  a2      organic_search  L 02-14 12:00, M 02-20 12:00, S 03-01 12:00,
                                                  O 03-15 12:00          (contact region APAC)
    c7       02-20 00:00  a3      paid_search     C 04-01 only
    c8       03-05 00:00  -       webinar         L 03-05 00:00, M 03-06 12:00

    account  segment     region  industry  icp_tier  opportunities
    a1       Enterprise  NA      Software  A         o1 won new_business, channel paid_social
    a2       SMB         EMEA    Retail    B         o2 won expansion, channel event
    a3       SMB         NA      Software  A         o3 lost new_business, channel partner

Reached sets, cumulative rule (a later stage implies the earlier ones; inferred date = earliest
first entry of a later stage):
    lead  c1 c2 c3 c5 c6 c7(inferred 04-01) c8
    mql   c1 c2 c3(inferred 02-01) c5 c6 c7(inferred 04-01) c8
    sql   c1 c3 c6 c7(inferred 04-01)
    opp   c1 c6 c7(inferred 04-01)
    cust  c1 c7
Strict rule (every stage from the first up to k entered): lead c1 c2 c3 c5 c6 c8; mql c1 c2 c5
c6 c8; sql c1 c6; opp c1 c6; cust c1.
Cohorts (created month): Jan {c1 c2 c3 c4}, Feb {c5 c6 c7}, Mar {c8}.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from conftest import FileWriter, WorkspaceFactory
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult
from funnelboard.workspace import Workspace

D = dt.date
AS_OF = "2025-06-30"
JAN, FEB, MAR, APR = D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1), D(2025, 4, 1)
STAGES = ("lead", "mql", "sql", "opportunity", "customer")

BASE_CONTACTS = """\
contact_id,created_at,account_id,channel,motion,region,lead_at,mql_at,sql_at,opportunity_at,customer_at
c1,2025-01-05T10:00:00Z,a1,webinar,,,2025-01-05T10:00:00Z,2025-01-10T10:00:00Z,2025-01-20T10:00:00Z,2025-02-05T10:00:00Z,2025-03-10T10:00:00Z
c2,2025-01-12T09:00:00Z,a1,paid_search,outbound,,2025-01-12T09:00:00Z,2025-01-15T09:00:00Z,,,
c3,2025-01-20T00:00:00Z,a2,webinar,,,2025-01-20T00:00:00Z,,2025-02-01T00:00:00Z,,
c4,2025-01-25T00:00:00Z,,paid_search,,,,,,,
c5,2025-02-03T08:00:00Z,a3,paid_search,,,2025-02-03T08:00:00Z,2025-02-10T08:00:00Z,,,
c6,2025-02-14T12:00:00Z,a2,organic_search,,APAC,2025-02-14T12:00:00Z,2025-02-20T12:00:00Z,2025-03-01T12:00:00Z,2025-03-15T12:00:00Z,
c7,2025-02-20T00:00:00Z,a3,paid_search,,,,,,,2025-04-01T00:00:00Z
c8,2025-03-05T00:00:00Z,,webinar,,,2025-03-05T00:00:00Z,2025-03-06T12:00:00Z,,,
"""
BASE_ACCOUNTS = """\
account_id,name,segment,region,industry,icp_tier,is_target_account
a1,Acme,Enterprise,NA,Software,A,true
a2,Beta,SMB,EMEA,Retail,B,false
a3,Gamma,SMB,NA,Software,A,true
"""
BASE_OPPORTUNITIES = """\
opportunity_id,created_at,amount,account_id,is_closed,is_won,close_date,type,channel
o1,2025-02-05T10:00:00Z,1000,a1,true,true,2025-03-10,new_business,paid_social
o2,2025-03-15T12:00:00Z,500,a2,true,true,2025-04-10,expansion,event
o3,2025-03-01T00:00:00Z,800,a3,true,false,2025-03-20,new_business,partner
"""


# -- helpers ----------------------------------------------------------------------------------

def load(ws: Workspace, write_file: FileWriter, **tables: str) -> Workspace:
    """Import CSV texts into their tables (accounts, contacts, stage_events, opportunities in
    that order); every row must be accepted."""
    for table in ("accounts", "contacts", "stage_events", "opportunities"):
        if table in tables:
            result = ws.import_file(table, write_file(tables[table], name=f"{table}.csv"))
            assert result.ok and result.rows_quarantined == 0, (
                table, result.message, [(i.code, i.message) for i in result.issues])
    return ws


@pytest.fixture
def base(ws: Workspace, write_file: FileWriter) -> Workspace:
    """The BASE dataset of the module docstring."""
    return load(ws, write_file, accounts=BASE_ACCOUNTS, contacts=BASE_CONTACTS,
                opportunities=BASE_OPPORTUNITIES)


def contacts_csv(*rows: str, extra: str = "") -> str:
    """A contacts file: ``contact_id,created_at[,extra columns]`` then the rows given."""
    header = "contact_id,created_at" + (f",{extra}" if extra else "")
    return "\n".join([header, *rows]) + "\n"


def values(res: MetricResult) -> list[tuple[Any, ...]]:
    """``(period, value)`` per row, in row order."""
    return [(r["period"], r["value"]) for r in res.rows]


def ratios(res: MetricResult) -> list[tuple[Any, ...]]:
    """``(period, numerator, denominator, value)`` per row, in row order."""
    return [(r["period"], r["numerator"], r["denominator"], r["value"]) for r in res.rows]


def by_dim(res: MetricResult, *dims: str) -> dict[tuple[Any, ...], Any]:
    """``{(period, *dim values): value}`` of the rows with a count other than 0.

    "One row per period × combination present" may also be read as every combination present
    in the result, in every period, so a combination absent from a period is allowed to come
    back as a 0 row; those rows are left out here (and must be 0)."""
    return {(r["period"], *(r[d] for d in dims)): r["value"] for r in present(res)}


def present(res: MetricResult) -> list[dict[str, Any]]:
    """The rows of a count breakdown, without the 0 rows of combinations absent from a period."""
    assert all(r["value"] is not None for r in res.rows), res.rows
    return [r for r in res.rows if r["value"] != 0]


def row(res: MetricResult, period: dt.date, **dims: Any) -> dict[str, Any]:
    """The one row of ``period`` with the given dimension values."""
    found = [r for r in res.rows if r["period"] == period
             and all(r.get(k) == v for k, v in dims.items())]
    assert len(found) == 1, (period, dims, res.rows)
    return found[0]


# -- counts -----------------------------------------------------------------------------------

def test_contacts_created_is_a_plain_count_per_creation_month(base: Workspace) -> None:
    """Cohorts: Jan {c1 c2 c3 c4} = 4 (c4 has no stage and still counts), Feb {c5 c6 c7} = 3,
    Mar {c8} = 1. Counts: numerator/denominator None, n = value; whole months, none clipped
    by as_of 2025-06-30, so partial is False; no range → only Jan..Mar (periods with data)."""
    res = base.metric("contacts_created", as_of=AS_OF)
    assert [(r["period"], r["period_end"], r["value"], r["numerator"], r["denominator"],
             r["n"], r["partial"]) for r in res.rows] == [
        (JAN, D(2025, 1, 31), 4, None, None, 4, False),
        (FEB, D(2025, 2, 28), 3, None, None, 3, False),
        (MAR, D(2025, 3, 31), 1, None, None, 1, False)]
    assert all(type(r["value"]) is int for r in res.rows)


@pytest.mark.parametrize(("key", "expected"), [
    ("leads", [3, 3, 1]),
    ("mqls", [3, 3, 1]),
    ("sqls", [2, 2, 0]),
    ("opportunities", [1, 2, 0]),
    ("customers", [1, 1, 0]),
])
def test_stage_counts_cohort_basis_cumulative_rule(base: Workspace, key: str,
                                                   expected: list[int]) -> None:
    """Cumulative rule, cohort basis (defaults), as_of 2025-06-30:
    leads: Jan c1 c2 c3 = 3 (c4 no stage); Feb c5 c6 c7 (c7 inferred from customer) = 3; Mar c8.
    mqls: Jan c1 c2 c3 (c3 inferred from its SQL) = 3; Feb c5 c6 c7 = 3; Mar c8 = 1.
    sqls: Jan c1 c3 = 2; Feb c6 c7 = 2; Mar 0.  opportunities: Jan c1; Feb c6 c7; Mar 0.
    customers: Jan c1 (03-10); Feb c7 (04-01); Mar 0. n equals the count."""
    res = base.metric(key, as_of=AS_OF)
    assert values(res) == list(zip([JAN, FEB, MAR], expected, strict=True))
    assert [r["n"] for r in res.rows] == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("leads", [3, 2, 1]),
    ("mqls", [2, 2, 1]),
    ("sqls", [1, 1, 0]),
    ("opportunities", [1, 1, 0]),
    ("customers", [1, 0, 0]),
])
def test_stage_counts_cohort_basis_strict_rule(base: Workspace, key: str,
                                               expected: list[int]) -> None:
    """Strict: counted at k only with an entry in every stage up to k.
    leads: Jan c1 c2 c3; Feb c5 c6 (c7 never entered lead); Mar c8.
    mqls: Jan c1 c2 (c3 has no MQL entry); Feb c5 c6; Mar c8.
    sqls: Jan c1 (c3 lacks MQL); Feb c6; Mar 0.  opportunities: Jan c1; Feb c6.
    customers: Jan c1; Feb 0 (c7 entered only customer)."""
    res = base.metric(key, as_of=AS_OF, rule="strict")
    assert values(res) == list(zip([JAN, FEB, MAR], expected, strict=True))


@pytest.mark.parametrize(("key", "expected"), [
    ("leads", [3, 2, 1, 1]),
    ("mqls", [2, 3, 1, 1]),
    ("sqls", [1, 1, 1, 1]),
    ("opportunities", [0, 1, 1, 1]),
    ("customers", [0, 0, 1, 1]),
])
def test_stage_counts_period_basis_cumulative_use_reached_dates(base: Workspace, key: str,
                                                                expected: list[int]) -> None:
    """Period basis: each contact once, in the month of its reached date (inferred included).
    leads: c1 c2 c3 Jan, c5 c6 Feb, c8 Mar, c7 Apr (inferred from customer 04-01) → 3,2,1,1.
    mqls: c1 c2 Jan; c3 (inferred from SQL 02-01) c5 c6 Feb; c8 Mar; c7 Apr → 2,3,1,1.
    sqls: c1 Jan (01-20), c3 Feb (02-01), c6 Mar (03-01), c7 Apr → 1,1,1,1.
    opportunities: c1 Feb (02-05), c6 Mar (03-15), c7 Apr → 0,1,1,1. customers: c1 Mar, c7 Apr.
    Range Jan..Apr given, so every month is returned (0 where nobody reached)."""
    res = base.metric(key, as_of=AS_OF, basis="period", start="2025-01-01", end="2025-04-30")
    assert values(res) == list(zip([JAN, FEB, MAR, APR], expected, strict=True))


@pytest.mark.parametrize(("key", "expected"), [
    ("mqls", [2, 2, 1, 0]),
    ("sqls", [1, 0, 1, 0]),
])
def test_stage_counts_period_basis_strict(base: Workspace, key: str,
                                          expected: list[int]) -> None:
    """Period basis + strict: only contacts passing the strict rule, dated by k's own first entry.
    mqls: c1 (01-10) c2 (01-15) Jan; c5 c6 Feb; c8 Mar; c3 and c7 fail → 2,2,1,0.
    sqls: c1 Jan; c6 Mar (03-01); c3 (no MQL) and c7 fail → 1,0,1,0."""
    res = base.metric(key, as_of=AS_OF, basis="period", rule="strict",
                      start="2025-01-01", end="2025-04-30")
    assert values(res) == list(zip([JAN, FEB, MAR, APR], expected, strict=True))


# -- rates --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "expected"), [
    ("lead_to_mql_rate", [(3, 3), (3, 3), (1, 1)]),
    ("mql_to_sql_rate", [(2, 3), (2, 3), (0, 1)]),
    ("lead_to_customer_rate", [(1, 3), (1, 3), (0, 1)]),
    ("mql_to_opportunity_rate", [(1, 3), (2, 3), (0, 1)]),
    ("opportunity_to_customer_rate", [(1, 1), (1, 2), (0, 0)]),
])
def test_rates_cohort_cumulative(base: Workspace, key: str,
                                 expected: list[tuple[int, int]]) -> None:
    """Rate = reached b ÷ reached a, same cohort, cumulative (counts from the stage table above):
    lead→mql Jan 3/3, Feb 3/3, Mar 1/1; mql→sql 2/3, 2/3, 0/1; lead→customer 1/3, 1/3, 0/1;
    mql→opportunity Jan c1 of c1 c2 c3, Feb c6 c7 of c5 c6 c7, Mar 0/1;
    opportunity→customer Jan 1/1, Feb c7 of c6 c7 = 1/2, Mar 0/0 → None. n = denominator."""
    res = base.metric(key, as_of=AS_OF)
    want = [(p, num, den, (num / den if den else None))
            for p, (num, den) in zip([JAN, FEB, MAR], expected, strict=True)]
    assert ratios(res) == [(p, n, d, pytest.approx(v) if v is not None else None)
                           for p, n, d, v in want]
    assert [r["n"] for r in res.rows] == [den for _, den in expected]


def test_rate_with_empty_denominator_is_none_and_zero_numerator_is_zero(base: Workspace) -> None:
    """Mar cohort = {c8}: sqls 0 → sql_to_opportunity_rate = 0/0 → value None (never 0);
    mql_to_sql_rate = 0/1 → value 0.0 (a real zero, not None)."""
    empty = row(base.metric("sql_to_opportunity_rate", as_of=AS_OF), MAR)
    assert empty["value"] is None
    assert (empty["numerator"], empty["denominator"], empty["n"]) == (0, 0, 0)
    zero = row(base.metric("mql_to_sql_rate", as_of=AS_OF), MAR)
    assert zero["value"] == 0 and zero["value"] is not None
    assert (zero["numerator"], zero["denominator"]) == (0, 1)


def test_rate_strict_rule(base: Workspace) -> None:
    """Strict mql→sql: Jan sql {c1} ÷ mql {c1 c2} = 1/2; Feb {c6} ÷ {c5 c6} = 1/2;
    Mar 0 ÷ {c8} = 0/1. (Cumulative gives 2/3, 2/3, 0/1.)"""
    res = base.metric("mql_to_sql_rate", as_of=AS_OF, rule="strict")
    assert ratios(res) == [(JAN, 1, 2, 0.5), (FEB, 1, 2, 0.5), (MAR, 0, 1, 0.0)]


# -- times between stages ----------------------------------------------------------------------

def test_days_median_of_an_even_count_is_the_mean_of_the_middle_two(base: Workspace) -> None:
    """lead_to_mql_days, actual entries only: Jan c1 5.0 (01-05 10:00 → 01-10 10:00),
    c2 3.0; c3's MQL is inferred → left out → median (3+5)/2 = 4.0, n 2. Feb c5 7.0, c6 6.0
    (c7 inferred, out) → 6.5, n 2. Mar c8 03-05 00:00 → 03-06 12:00 = 1.5, n 1."""
    res = base.metric("lead_to_mql_days", as_of=AS_OF)
    assert [(r["period"], r["value"], r["n"]) for r in res.rows] == [
        (JAN, pytest.approx(4.0), 2), (FEB, pytest.approx(6.5), 2), (MAR, pytest.approx(1.5), 1)]
    assert all(isinstance(r["value"], float) for r in res.rows)


def test_days_use_contacts_with_actual_entries_in_both_stages(base: Workspace) -> None:
    """lead_to_sql_days: c3 has actual lead (01-20) and SQL (02-01) entries although it skipped
    MQL → measured 12.0; c1 01-05 10:00 → 01-20 10:00 = 15.0 → Jan median 13.5, n 2.
    Feb: c6 02-14 12:00 → 03-01 12:00 = 15.0; c7 only has inferred dates → Feb 15.0, n 1.
    mql_to_customer_days Jan: c1 01-10 10:00 → 03-10 10:00 = 59.0, n 1."""
    res = base.metric("lead_to_sql_days", as_of=AS_OF)
    assert (row(res, JAN)["value"], row(res, JAN)["n"]) == (pytest.approx(13.5), 2)
    assert (row(res, FEB)["value"], row(res, FEB)["n"]) == (pytest.approx(15.0), 1)
    res = base.metric("mql_to_customer_days", as_of=AS_OF)
    assert (row(res, JAN)["value"], row(res, JAN)["n"]) == (pytest.approx(59.0), 1)


def test_days_p75_in_extra(ws: Workspace, write_file: FileWriter) -> None:
    """Five January contacts with lead→mql of 1, 2, 3, 8, 8 days: median 3.0, n 5; p75: the
    0.75 quantile of [1, 2, 3, 8, 8] is 8 (linear interpolation at position 3 → 8)."""
    lags = [1, 2, 3, 8, 8]
    rows = [f"p{i},2025-01-0{i + 1}T00:00:00Z,webinar,2025-01-0{i + 1}T00:00:00Z,"
            f"{(dt.datetime(2025, 1, i + 1) + dt.timedelta(days=lag)).isoformat()}Z"
            for i, lag in enumerate(lags)]
    load(ws, write_file, contacts=contacts_csv(*rows, extra="channel,lead_at,mql_at"))
    res = ws.metric("lead_to_mql_days", as_of=AS_OF)
    assert len(res.rows) == 1
    jan = row(res, JAN)
    assert (jan["value"], jan["n"]) == (pytest.approx(3.0), 5)
    assert jan["extra"]["p75"] == pytest.approx(8.0)


# -- conversion within N days ------------------------------------------------------------------

WITHIN = contacts_csv(
    "w1,2025-01-02T00:00:00Z,2025-01-02T00:00:00Z,2025-01-20T00:00:00Z,",
    "w2,2025-01-10T00:00:00Z,2025-01-10T00:00:00Z,2025-02-15T00:00:00Z,",
    "w3,2025-01-15T00:00:00Z,2025-01-15T00:00:00Z,2025-02-14T00:00:00Z,",
    "w4,2025-01-20T00:00:00Z,2025-01-20T00:00:00Z,,",
    "w6,2025-01-25T00:00:00Z,2025-01-25T00:00:00Z,,2025-02-05T00:00:00Z",
    "w5,2025-03-02T00:00:00Z,2025-03-02T00:00:00Z,2025-03-04T00:00:00Z,",
    extra="lead_at,mql_at,sql_at")


def test_within_n_days_counts_only_conversions_inside_the_window(ws: Workspace,
                                                                 write_file: FileWriter) -> None:
    """lead_to_mql_rate_30d, as_of 2025-03-15. Jan cohort leads w1 w2 w3 w4 w6 = 5.
    MQL within 30 days of creation: w1 18 d yes; w2 36 d no; w3 exactly 30 d yes (≤ N);
    w4 none; w6 inferred MQL (its SQL 02-05) 11 d yes → 3/5 = 0.6. Jan is old enough:
    01-31 + 30 d = 03-02 ≤ as_of (and 73 days old at as_of). The plain rate is 4/5 = 0.8.
    Mar cohort (w5): 03-31 + 30 d > as_of (13 days old) → young: value None, extra young True.
    Feb has no contacts."""
    load(ws, write_file, contacts=WITHIN)
    res = ws.metric("lead_to_mql_rate_30d", as_of="2025-03-15")
    jan = row(res, JAN)
    assert (jan["numerator"], jan["denominator"], jan["value"]) == (3, 5, pytest.approx(0.6))
    assert not jan["extra"].get("young")
    mar = row(res, MAR)
    assert mar["value"] is None
    assert mar["extra"]["young"] is True
    plain = row(ws.metric("lead_to_mql_rate", as_of="2025-03-15"), JAN)
    assert (plain["numerator"], plain["denominator"]) == (4, 5)


# -- cohort maturity ---------------------------------------------------------------------------

MATURITY = contacts_csv(
    "m1,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,2025-01-11T00:00:00Z",
    "m2,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,2025-02-20T00:00:00Z",
    "m3,2025-02-01T00:00:00Z,2025-02-01T00:00:00Z,2025-03-03T00:00:00Z",
    "m4,2025-02-01T00:00:00Z,2025-02-01T00:00:00Z,2025-04-12T00:00:00Z",
    "m5,2025-03-01T00:00:00Z,2025-03-01T00:00:00Z,2025-06-09T00:00:00Z",
    "m8,2025-04-10T00:00:00Z,2025-04-10T00:00:00Z,2025-04-25T00:00:00Z",
    "m6,2025-05-01T00:00:00Z,2025-05-01T00:00:00Z,2025-05-06T00:00:00Z",
    "m9,2025-06-10T00:00:00Z,2025-06-10T00:00:00Z,",
    "m7,2025-07-01T00:00:00Z,2025-07-01T00:00:00Z,",
    extra="lead_at,customer_at")
MATURITY_EXPECTED = [(JAN, 1.0), (FEB, 1.0), (MAR, 1.0), (APR, 5 / 6), (D(2025, 5, 1), 4 / 6),
                     (D(2025, 6, 1), 0.5), (D(2025, 7, 1), 0.0)]


def test_cohort_maturity(ws: Workspace, write_file: FileWriter) -> None:
    """Default transition lead→customer (first→last stage), as_of 2025-07-05.
    Lags (actual lead → actual customer): m1 10, m2 50 (Jan); m3 30, m4 70 (Feb); m5 100 (Mar);
    m8 15 (Apr); m6 5 (May); m9, m7 none. Sorted [5 10 15 30 50 70 100]: L95 at position
    0.95 × 6 = 5.7 → 70 + 0.7 × 30 = 91. Cohort ages at 07-05: Jan 185, Feb 154, Mar 126,
    Apr 95, May 65, Jun 34, Jul 4. Reference = lags of cohorts older than 91 days (Jan..Apr):
    [10 50 30 70 100 15]. Value = share of those ≤ the cohort's age:
    Jan/Feb/Mar 6/6 = 1; Apr (95) 5/6; May (65) 4/6; Jun (34) 3/6 = 0.5; Jul (4) 0/6 = 0.
    (A nearest-rank L95 of 100 would leave Apr out of the reference and give Apr 4/5.)"""
    load(ws, write_file, contacts=MATURITY)
    res = ws.metric("cohort_maturity", as_of="2025-07-05")
    assert [(p, pytest.approx(v)) for p, v in MATURITY_EXPECTED] == values(res)


def test_cohort_maturity_explicit_transition_matches_the_default(ws: Workspace,
                                                                 write_file: FileWriter) -> None:
    """transition="lead_to_customer" is the default (first → last stage): same values as
    test_cohort_maturity."""
    load(ws, write_file, contacts=MATURITY)
    res = ws.metric("cohort_maturity", as_of="2025-07-05", transition="lead_to_customer")
    assert [(p, pytest.approx(v)) for p, v in MATURITY_EXPECTED] == values(res)


def test_cohort_maturity_without_reference_lags_is_none(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    """transition lead_to_mql on MATURITY: nobody has an MQL entry → no lag at all → no
    reference lag → every cohort's value is None."""
    load(ws, write_file, contacts=MATURITY)
    res = ws.metric("cohort_maturity", as_of="2025-07-05", transition="lead_to_mql")
    assert res.rows
    assert [r["value"] for r in res.rows] == [None] * len(res.rows)


# -- sales cycle -------------------------------------------------------------------------------

def test_sales_cycle_days_over_won_deals_by_close_month(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    """Won deals of every type, days = close_date − created_at's local date:
    o1 01-10 → 02-09 = 30 (new_business), o2 01-20 → 02-28 = 39 (expansion),
    o6 01-05 → 02-20 = 46 (new_business), o4 02-10 → 03-12 = 30 (renewal),
    o7 03-01 → 03-21 = 20. Lost o3 and open o5 are left out.
    Feb closes [30 39 46] → median 39, n 3; Mar [30 20] → mean of two = 25.0, n 2.
    (Created at 15:00 UTC: a timestamp difference would give 29.375 for o1, not 30.)"""
    load(ws, write_file, opportunities=(
        "opportunity_id,created_at,amount,is_closed,is_won,close_date,type\n"
        "o1,2025-01-10T15:00:00Z,100,true,true,2025-02-09,new_business\n"
        "o2,2025-01-20T15:00:00Z,100,true,true,2025-02-28,expansion\n"
        "o3,2025-02-01T15:00:00Z,100,true,false,2025-02-15,new_business\n"
        "o4,2025-02-10T15:00:00Z,100,true,true,2025-03-12,renewal\n"
        "o5,2025-01-15T15:00:00Z,100,false,false,2025-02-20,new_business\n"
        "o6,2025-01-05T15:00:00Z,100,true,true,2025-02-20,new_business\n"
        "o7,2025-03-01T15:00:00Z,100,true,true,2025-03-21,new_business\n"))
    res = ws.metric("sales_cycle_days", as_of=AS_OF)
    assert [(r["period"], r["value"], r["n"]) for r in res.rows] == [
        (FEB, pytest.approx(39.0), 3), (MAR, pytest.approx(25.0), 2)]


# -- account level -----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "expected"), [
    ("leads", [2, 1]),
    ("sqls", [2, 1]),
    ("opportunities", [2, 1]),
    ("customers", [1, 1]),
])
def test_account_level_cohort_counts(base: Workspace, key: str, expected: list[int]) -> None:
    """Accounts: a1 {c1 c2} cohort Jan (c1 01-05), a2 {c3 c6} cohort Jan (c3 01-20),
    a3 {c5 c7} cohort Feb (c5 02-03). An account reaches a stage with its first contact:
    leads a1 a2 | a3; sqls a1 (c1), a2 (c3) | a3 (c7 inferred); opportunities a1 (c1),
    a2 (c6, although c6 is a Feb contact the account's cohort is Jan) | a3 (c7 inferred);
    customers a1 (c1) | a3 (c7). c4 and c8 have no account: left out (no Mar row), and a note
    says 2 contacts."""
    res = base.metric(key, as_of=AS_OF, level="account")
    assert values(res) == list(zip([JAN, FEB], expected, strict=True))
    assert any(re.search(r"\b2\b", note) and "account" in note.lower() for note in res.notes), \
        res.notes


@pytest.mark.parametrize(("key", "expected"), [
    ("sqls", [1, 1, 0, 1]),
    ("opportunities", [0, 1, 1, 1]),
])
def test_account_level_period_basis_uses_the_first_contacts_date(base: Workspace, key: str,
                                                                 expected: list[int]) -> None:
    """Period basis at account level, date = min over the account's contacts:
    sqls: a1 c1 01-20 (Jan); a2 min(c3 02-01, c6 03-01) = Feb; a3 c7 inferred 04-01 (Apr).
    opportunities: a1 c1 02-05 (Feb); a2 c6 03-15 (Mar); a3 c7 inferred 04-01 (Apr)."""
    res = base.metric(key, as_of=AS_OF, level="account", basis="period",
                      start="2025-01-01", end="2025-04-30")
    assert values(res) == list(zip([JAN, FEB, MAR, APR], expected, strict=True))


def test_account_level_rate(base: Workspace) -> None:
    """lead_to_customer_rate at account level: Jan customers {a1} ÷ leads {a1 a2} = 1/2;
    Feb {a3} ÷ {a3} = 1/1."""
    res = base.metric("lead_to_customer_rate", as_of=AS_OF, level="account")
    assert ratios(res) == [(JAN, 1, 2, 0.5), (FEB, 1, 1, 1.0)]


def test_account_level_by_segment(base: Workspace) -> None:
    """Account leads by the account's segment: Jan a1 Enterprise 1, a2 SMB 1; Feb a3 SMB 1."""
    res = base.metric("leads", as_of=AS_OF, level="account", by=["segment"])
    assert by_dim(res, "segment") == {(JAN, "Enterprise"): 1, (JAN, "SMB"): 1, (FEB, "SMB"): 1}


def test_account_level_channel_comes_from_first_won_new_business_opportunity(
        base: Workspace) -> None:
    """a1: o1 won new_business channel paid_social → paid_social (its earliest contact c1 is
    webinar). a2: only a won *expansion* (o2, event) → earliest contact c3 → webinar.
    a3: o3 new_business but lost → earliest contact c5 → paid_search.
    Account leads: Jan paid_social 1, webinar 1; Feb paid_search 1."""
    res = base.metric("leads", as_of=AS_OF, level="account", by=["channel"])
    assert by_dim(res, "channel") == {
        (JAN, "paid_social"): 1, (JAN, "webinar"): 1, (FEB, "paid_search"): 1}


# -- breakdowns and filters --------------------------------------------------------------------

def test_breakdown_by_channel_rows_and_order(base: Workspace) -> None:
    """leads by channel: Jan paid_search c2 (c4 no lead) = 1, webinar c1 c3 = 2;
    Feb organic_search c6 = 1, paid_search c5 c7 = 2; Mar webinar c8 = 1.
    Sorted by period then channel; dims == ("channel",). (0 rows of absent combinations
    are ignored, see by_dim.)"""
    res = base.metric("leads", as_of=AS_OF, by=["channel"])
    assert res.dims == ("channel",)
    assert [(r["period"], r["channel"], r["value"]) for r in present(res)] == [
        (JAN, "paid_search", 1), (JAN, "webinar", 2),
        (FEB, "organic_search", 1), (FEB, "paid_search", 2), (MAR, "webinar", 1)]


@pytest.mark.parametrize("dim", ["channel", "motion", "segment", "region", "icp_tier"])
@pytest.mark.parametrize("key", ["contacts_created", "leads", "sqls"])
def test_breakdown_counts_sum_to_the_total(base: Workspace, key: str, dim: str) -> None:
    """For counts, the rows of one period summed over a dimension equal the total
    (every contact has exactly one value, None included)."""
    total = dict(values(base.metric(key, as_of=AS_OF)))
    split = base.metric(key, as_of=AS_OF, by=[dim])
    sums: dict[dt.date, int] = {}
    for r in split.rows:
        sums[r["period"]] = sums.get(r["period"], 0) + r["value"]
    assert {p: v for p, v in sums.items() if v} == {p: v for p, v in total.items() if v}


def test_breakdown_by_motion_is_stored_else_from_channel(base: Workspace) -> None:
    """motion: c2 stored 'outbound' (though paid_search is inbound); others derived from the
    channel (webinar, paid_search, organic_search are inbound). leads Jan: inbound c1 c3 = 2,
    outbound c2 = 1; Feb inbound c5 c6 c7 = 3; Mar inbound c8 = 1."""
    res = base.metric("leads", as_of=AS_OF, by=["motion"])
    assert by_dim(res, "motion") == {(JAN, "inbound"): 2, (JAN, "outbound"): 1,
                                     (FEB, "inbound"): 3, (MAR, "inbound"): 1}


def test_account_dimensions_at_contact_level(base: Workspace) -> None:
    """contacts_created by the contact's account's segment / icp_tier / industry (None without
    an account): Jan c1 c2 (a1 Enterprise/A/Software), c3 (a2 SMB/B/Retail), c4 (none);
    Feb c5 c7 (a3 SMB/A/Software), c6 (a2); Mar c8 (none)."""
    assert by_dim(base.metric("contacts_created", as_of=AS_OF, by=["segment"]), "segment") == {
        (JAN, "Enterprise"): 2, (JAN, "SMB"): 1, (JAN, None): 1, (FEB, "SMB"): 3, (MAR, None): 1}
    assert by_dim(base.metric("contacts_created", as_of=AS_OF, by=["icp_tier"]), "icp_tier") == {
        (JAN, "A"): 2, (JAN, "B"): 1, (JAN, None): 1, (FEB, "A"): 2, (FEB, "B"): 1,
        (MAR, None): 1}
    assert by_dim(base.metric("contacts_created", as_of=AS_OF, by=["industry"]),
                  "industry") == {
        (JAN, "Software"): 2, (JAN, "Retail"): 1, (JAN, None): 1, (FEB, "Software"): 2,
        (FEB, "Retail"): 1, (MAR, None): 1}


def test_region_is_the_contacts_else_its_accounts(base: Workspace) -> None:
    """region: c6 has its own region APAC (its account a2 says EMEA); others take the
    account's: c1 c2 NA (a1), c3 EMEA (a2), c5 c7 NA (a3); c4 c8 none.
    contacts_created: Jan NA 2, EMEA 1, None 1; Feb NA 2, APAC 1; Mar None 1."""
    res = base.metric("contacts_created", as_of=AS_OF, by=["region"])
    assert by_dim(res, "region") == {(JAN, "NA"): 2, (JAN, "EMEA"): 1, (JAN, None): 1,
                                     (FEB, "NA"): 2, (FEB, "APAC"): 1, (MAR, None): 1}


def test_two_dimensions_give_one_row_per_combination_present(base: Workspace) -> None:
    """leads by channel × segment, Feb: c5 (paid_search, SMB), c6 (organic_search, SMB),
    c7 (paid_search, SMB) → (organic_search, SMB) 1, (paid_search, SMB) 2."""
    res = base.metric("leads", as_of=AS_OF, by=["channel", "segment"])
    assert res.dims == ("channel", "segment")
    feb = {k: v for k, v in by_dim(res, "channel", "segment").items() if k[0] == FEB}
    assert feb == {(FEB, "organic_search", "SMB"): 1, (FEB, "paid_search", "SMB"): 2}


DIMS = contacts_csv(
    "x1,2025-01-03T00:00:00Z,Web,ebook-q1,Email,email,cmp1,Champion,alice,2025-01-03T00:00:00Z",
    "x2,2025-01-04T00:00:00Z,Web,ebook-q1,Web,organic_search,cmp2,Economic Buyer,bob,"
    "2025-01-04T00:00:00Z",
    "x3,2025-01-05T00:00:00Z,Trade Show,saastr,Email,email,cmp1,Champion,alice,"
    "2025-01-05T00:00:00Z",
    extra="source,source_detail,latest_source,latest_channel,campaign_id,persona,owner,lead_at")


@pytest.mark.parametrize(("dim", "expected"), [
    ("source", {"Web": 2, "Trade Show": 1}),
    ("source_detail", {"ebook-q1": 2, "saastr": 1}),
    ("latest_source", {"Email": 2, "Web": 1}),
    ("latest_channel", {"email": 2, "organic_search": 1}),
    ("campaign", {"cmp1": 2, "cmp2": 1}),
    ("persona", {"Champion": 2, "Economic Buyer": 1}),
    ("owner", {"alice": 2, "bob": 1}),
])
def test_contact_dimensions(ws: Workspace, write_file: FileWriter, dim: str,
                            expected: dict[str, int]) -> None:
    """Three January contacts x1 x2 x3 (all leads); the dimension is the stored contact field
    (campaign = campaign_id): x1 Web/ebook-q1/Email/email/cmp1/Champion/alice,
    x2 Web/ebook-q1/Web/organic_search/cmp2/Economic Buyer/bob,
    x3 Trade Show/saastr/Email/email/cmp1/Champion/alice."""
    load(ws, write_file, contacts=DIMS)
    res = ws.metric("leads", as_of=AS_OF, by=[dim])
    assert by_dim(res, dim) == {(JAN, k): v for k, v in expected.items()}


CHANNELS = contacts_csv(
    "h1,2025-01-02T00:00:00Z,,google,cpc,,2025-01-02T00:00:00Z",
    "h2,2025-01-03T00:00:00Z,,,,ORGANIC_SEARCH,2025-01-03T00:00:00Z",
    "h3,2025-01-04T00:00:00Z,,linkedin,sequence,ORGANIC_SEARCH,2025-01-04T00:00:00Z",
    "h4,2025-01-05T00:00:00Z,webinar,google,cpc,,2025-01-05T00:00:00Z",
    extra="channel,utm_source,utm_medium,source,lead_at")


def test_channel_is_stored_else_derived_from_utms_else_from_source(
        ws: Workspace, write_file: FileWriter) -> None:
    """Default channel rules: h1 utm google/cpc → paid_search; h2 source ORGANIC_SEARCH (no
    UTMs) → organic_search; h3 utm linkedin/sequence → outbound_email (UTMs win over its
    source); h4 stored webinar wins over its google/cpc UTMs. motion from the channel:
    outbound_email → outbound, the rest inbound. Filter channel=paid_search → h1 only."""
    load(ws, write_file, contacts=CHANNELS)
    res = ws.metric("leads", as_of=AS_OF, by=["channel"])
    assert by_dim(res, "channel") == {(JAN, "organic_search"): 1, (JAN, "outbound_email"): 1,
                                      (JAN, "paid_search"): 1, (JAN, "webinar"): 1}
    res = ws.metric("leads", as_of=AS_OF, by=["motion"])
    assert by_dim(res, "motion") == {(JAN, "inbound"): 3, (JAN, "outbound"): 1}
    res = ws.metric("leads", as_of=AS_OF, filters={"channel": ["paid_search"]})
    assert values(res) == [(JAN, 1)]


def test_filter_values_of_one_dimension_are_ored(base: Workspace) -> None:
    """channel ∈ {webinar, paid_search}: leads Jan c1 c2 c3 = 3; Feb c5 c7 = 2 (c6 is
    organic_search); Mar c8 = 1."""
    res = base.metric("leads", as_of=AS_OF, filters={"channel": ["webinar", "paid_search"]})
    assert values(res) == [(JAN, 3), (FEB, 2), (MAR, 1)]


def test_filters_on_different_dimensions_are_anded(base: Workspace) -> None:
    """channel ∈ {webinar, paid_search} AND segment = SMB: Jan c3 (webinar, a2 SMB) = 1
    (c1 c2 are Enterprise); Feb c5, c7 (paid_search, a3 SMB) = 2; Mar c8 has no account → 0.
    Range Jan..Mar given, so Mar is returned with 0."""
    res = base.metric("leads", as_of=AS_OF, start="2025-01-01", end="2025-03-31",
                      filters={"channel": ["webinar", "paid_search"], "segment": ["SMB"]})
    assert values(res) == [(JAN, 1), (FEB, 2), (MAR, 0)]


# -- comparisons -------------------------------------------------------------------------------

def test_compare_previous_for_counts(base: Workspace) -> None:
    """contacts_created Jan 4, Feb 3, Mar 1. Feb: previous 4, delta −1, delta_pct −0.25;
    Mar: previous 3, delta −2, delta_pct −2/3."""
    res = base.metric("contacts_created", as_of=AS_OF, compare="previous")
    feb, mar = row(res, FEB), row(res, MAR)
    assert (feb["previous_value"], feb["delta"], feb["delta_pct"]) == (4, -1, pytest.approx(-0.25))
    assert (mar["previous_value"], mar["delta"], mar["delta_pct"]) == (
        3, -2, pytest.approx(-2 / 3))


def test_compare_previous_for_rates(base: Workspace) -> None:
    """mql_to_sql_rate Jan 2/3, Feb 2/3, Mar 0/1. Feb: previous 2/3 (2 of 3), delta 0,
    delta_pct 0. Mar: value 0, previous 2/3, delta −2/3, delta_pct −1."""
    res = base.metric("mql_to_sql_rate", as_of=AS_OF, compare="previous")
    feb, mar = row(res, FEB), row(res, MAR)
    assert (feb["previous_value"], feb["delta"], feb["delta_pct"]) == (
        pytest.approx(2 / 3), pytest.approx(0.0), pytest.approx(0.0))
    assert (feb["previous_numerator"], feb["previous_denominator"]) == (2, 3)
    assert (mar["previous_value"], mar["delta"], mar["delta_pct"]) == (
        pytest.approx(2 / 3), pytest.approx(-2 / 3), pytest.approx(-1.0))
    assert (mar["previous_numerator"], mar["previous_denominator"]) == (2, 3)


def test_compare_previous_keeps_the_same_dimensions(base: Workspace) -> None:
    """leads by channel: Feb paid_search 2 vs Jan paid_search 1 → delta 1, delta_pct 1.0;
    Mar webinar 1 vs Feb webinar (no webinar contact in Feb → 0) → delta_pct None."""
    res = base.metric("leads", as_of=AS_OF, by=["channel"], compare="previous")
    feb = row(res, FEB, channel="paid_search")
    assert (feb["value"], feb["previous_value"], feb["delta"], feb["delta_pct"]) == (
        2, 1, 1, pytest.approx(1.0))
    mar = row(res, MAR, channel="webinar")
    assert mar["previous_value"] in (0, None)
    assert mar["delta_pct"] is None


def test_compare_previous_with_a_zero_previous_value(ws: Workspace,
                                                     write_file: FileWriter) -> None:
    """Contacts on 01-10 and 03-10 only: Jan 1, Feb 0 (gap), Mar 1. Mar: previous 0, delta 1,
    delta_pct None (previous is 0). Feb: previous 1, delta −1, delta_pct −1."""
    load(ws, write_file, contacts=contacts_csv("g1,2025-01-10T00:00:00Z",
                                               "g2,2025-03-10T00:00:00Z"))
    res = ws.metric("contacts_created", as_of=AS_OF, compare="previous")
    mar, feb = row(res, MAR), row(res, FEB)
    assert (mar["previous_value"], mar["delta"], mar["delta_pct"]) == (0, 1, None)
    assert (feb["previous_value"], feb["delta"], feb["delta_pct"]) == (1, -1, pytest.approx(-1))


def test_compare_yoy(ws: Workspace, write_file: FileWriter) -> None:
    """Created: 2024-01-10, 2024-01-20, 2024-02-05; 2025-01-15, -16, -17; 2025-02-10.
    Range Jan–Feb 2025: Jan 3 vs Jan 2024 2 → delta 1, delta_pct 0.5; Feb 1 vs 1 → 0, 0.0."""
    load(ws, write_file, contacts=contacts_csv(
        "y1,2024-01-10T00:00:00Z", "y2,2024-01-20T00:00:00Z", "y3,2024-02-05T00:00:00Z",
        "y4,2025-01-15T00:00:00Z", "y5,2025-01-16T00:00:00Z", "y6,2025-01-17T00:00:00Z",
        "y7,2025-02-10T00:00:00Z"))
    res = ws.metric("contacts_created", as_of=AS_OF, start="2025-01-01", end="2025-02-28",
                    compare="yoy")
    assert [(r["period"], r["value"], r["previous_value"], r["delta"], r["delta_pct"])
            for r in res.rows] == [(JAN, 3, 2, 1, pytest.approx(0.5)), (FEB, 1, 1, 0, 0.0)]


# -- grains, fiscal calendar, partial periods, time zone -----------------------------------------

FISCAL = contacts_csv("f1,2025-03-31T12:00:00Z", "f2,2025-04-01T00:00:00Z",
                      "f3,2025-06-30T12:00:00Z", "f4,2025-07-01T00:00:00Z")


def test_fiscal_quarters_with_an_april_year(make_ws_with: WorkspaceFactory,
                                            write_file: FileWriter) -> None:
    """fiscal_year_start_month 4: Q4 FY2025 = Jan–Mar 2025 (f1), Q1 FY2026 = Apr–Jun (f2, f3),
    Q2 = Jul–Sep (f4); as_of 2025-09-30 clips nothing."""
    ws = load(make_ws_with(fiscal_year_start_month=4), write_file, contacts=FISCAL)
    res = ws.metric("contacts_created", as_of="2025-09-30", grain="quarter")
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, D(2025, 3, 31), 1, False), (APR, D(2025, 6, 30), 2, False),
        (D(2025, 7, 1), D(2025, 9, 30), 1, False)]


def test_fiscal_years_start_in_april(make_ws_with: WorkspaceFactory,
                                     write_file: FileWriter) -> None:
    """FY2025 = 2024-04-01..2025-03-31 (f1); FY2026 = 2025-04-01..2026-03-31 (f2 f3 f4), period
    = its first day 2025-04-01 even though it is named 2026; it ends after as_of → partial."""
    ws = load(make_ws_with(fiscal_year_start_month=4), write_file, contacts=FISCAL)
    res = ws.metric("contacts_created", as_of="2025-09-30", grain="year")
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in res.rows] == [
        (D(2024, 4, 1), D(2025, 3, 31), 1, False), (APR, D(2026, 3, 31), 3, True)]


def test_fiscal_quarters_with_a_november_year(make_ws_with: WorkspaceFactory,
                                              write_file: FileWriter) -> None:
    """fiscal_year_start_month 11: quarters Nov–Jan, Feb–Apr, May–Jul, Aug–Oct. Contacts
    2025-01-31 → Nov 2024–Jan 2025; 02-01 and 04-30 → Feb–Apr; 05-01 → May–Jul (ends after
    as_of 2025-06-30 → partial)."""
    ws = load(make_ws_with(fiscal_year_start_month=11), write_file, contacts=contacts_csv(
        "q1,2025-01-31T12:00:00Z", "q2,2025-02-01T00:00:00Z", "q3,2025-04-30T12:00:00Z",
        "q4,2025-05-01T00:00:00Z"))
    res = ws.metric("contacts_created", as_of=AS_OF, grain="quarter")
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in res.rows] == [
        (D(2024, 11, 1), D(2025, 1, 31), 1, False), (FEB, D(2025, 4, 30), 2, False),
        (D(2025, 5, 1), D(2025, 7, 31), 1, True)]


def test_weeks_start_on_monday(ws: Workspace, write_file: FileWriter) -> None:
    """2025-01-05 is a Sunday (week of Mon 2024-12-30), 01-06 Monday and 01-12 Sunday share the
    week of 01-06, 01-13 is the next Monday. as_of 2025-01-31."""
    load(ws, write_file, contacts=contacts_csv(
        "k1,2025-01-05T12:00:00Z", "k2,2025-01-06T00:00:00Z", "k3,2025-01-12T23:00:00Z",
        "k4,2025-01-13T00:00:00Z"))
    res = ws.metric("contacts_created", as_of="2025-01-31", grain="week")
    assert [(r["period"], r["period_end"], r["value"]) for r in res.rows] == [
        (D(2024, 12, 30), D(2025, 1, 5), 1), (D(2025, 1, 6), D(2025, 1, 12), 2),
        (D(2025, 1, 13), D(2025, 1, 19), 1)]


PARTIAL = contacts_csv("p1,2025-01-10T00:00:00Z", "p2,2025-01-20T00:00:00Z",
                       "p3,2025-02-05T00:00:00Z", "p4,2025-02-20T00:00:00Z")


def test_as_of_in_mid_month_makes_the_last_period_partial(ws: Workspace,
                                                          write_file: FileWriter) -> None:
    """as_of 2025-02-15: Jan p1 p2 = 2, whole; Feb p3 only (p4 created 02-20 is after as_of),
    the whole month is returned (period_end 02-28) with partial True."""
    load(ws, write_file, contacts=PARTIAL)
    res = ws.metric("contacts_created", as_of="2025-02-15")
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, D(2025, 1, 31), 2, False), (FEB, D(2025, 2, 28), 1, True)]


def test_start_in_mid_month_makes_the_first_period_partial(ws: Workspace,
                                                           write_file: FileWriter) -> None:
    """start 2025-01-15 (inclusive local date): Jan holds p2 only (p1 on 01-10 is before the
    range) and is partial; Feb p3 p4 = 2, whole (end 02-28 is its last day)."""
    load(ws, write_file, contacts=PARTIAL)
    res = ws.metric("contacts_created", as_of=AS_OF, start="2025-01-15", end="2025-02-28")
    assert [(r["period"], r["period_end"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, D(2025, 1, 31), 1, True), (FEB, D(2025, 2, 28), 2, False)]


def test_end_in_mid_month_makes_the_last_period_partial(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    """end 2025-02-10: Jan p1 p2 = 2 whole; Feb holds p3 (02-05) only, partial."""
    load(ws, write_file, contacts=PARTIAL)
    res = ws.metric("contacts_created", as_of=AS_OF, start="2025-01-01", end="2025-02-10")
    assert [(r["period"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, 2, False), (FEB, 1, True)]


def test_a_range_returns_every_period_even_without_data(ws: Workspace,
                                                        write_file: FileWriter) -> None:
    """start 2024-12-01, end 2025-04-30: Dec 0, Jan 2, Feb 2, Mar 0, Apr 0 — every month."""
    load(ws, write_file, contacts=PARTIAL)
    res = ws.metric("contacts_created", as_of=AS_OF, start="2024-12-01", end="2025-04-30")
    assert values(res) == [(D(2024, 12, 1), 0), (JAN, 2), (FEB, 2), (MAR, 0), (APR, 0)]
    assert not any(r["partial"] for r in res.rows)


def test_gap_months_are_zero_for_counts_and_none_for_rates(ws: Workspace,
                                                           write_file: FileWriter) -> None:
    """g1 created 01-10 (lead and MQL), g2 created 03-10 (lead only); nobody in Feb. Without a
    range the rows run Jan..Mar with no gap: contacts_created 1, 0, 1; lead_to_mql_rate
    Jan 1/1, Feb None (0/0), Mar 0/1 = 0."""
    load(ws, write_file, contacts=contacts_csv(
        "g1,2025-01-10T00:00:00Z,2025-01-10T00:00:00Z,2025-01-12T00:00:00Z",
        "g2,2025-03-10T00:00:00Z,2025-03-10T00:00:00Z,", extra="lead_at,mql_at"))
    assert values(ws.metric("contacts_created", as_of=AS_OF)) == [(JAN, 1), (FEB, 0), (MAR, 1)]
    assert values(ws.metric("lead_to_mql_rate", as_of=AS_OF)) == [
        (JAN, 1.0), (FEB, None), (MAR, 0.0)]


NEW_YORK = contacts_csv(
    "n1,2025-02-01T02:30:00Z,2025-03-01T03:00:00Z",
    "n2,2025-02-01T05:30:00Z,2025-03-01T06:00:00Z",
    "n3,2025-01-31T23:30:00,",
    "n4,2025-02-01,",
    extra="lead_at")


def test_new_york_periods_are_local_months(make_ws_with: WorkspaceFactory,
                                           write_file: FileWriter) -> None:
    """Workspace zone America/New_York (UTC−5 in winter): n1 02-01 02:30Z = 01-31 21:30 local →
    Jan; n2 02-01 05:30Z = 00:30 local → Feb; n3 '2025-01-31T23:30:00' without offset is local
    → Jan; n4 date-only '2025-02-01' = local midnight → Feb. contacts_created Jan 2, Feb 2.
    Leads by entry date (period basis): n1 03-01 03:00Z = 02-28 22:00 local → Feb;
    n2 03-01 06:00Z = 01:00 local → Mar."""
    ws = load(make_ws_with(timezone="America/New_York"), write_file, contacts=NEW_YORK)
    assert values(ws.metric("contacts_created", as_of=AS_OF)) == [(JAN, 2), (FEB, 2)]
    res = ws.metric("leads", as_of=AS_OF, basis="period", start="2025-02-01", end="2025-03-31")
    assert values(res) == [(FEB, 1), (MAR, 1)]


def test_new_york_as_of_is_a_local_date(make_ws_with: WorkspaceFactory,
                                        write_file: FileWriter) -> None:
    """as_of 2025-01-31 in New York: n1 (01-31 21:30 local) and n3 are on or before it; n2 and
    n4 (Feb 1 local) are after it and ignored → only Jan, 2."""
    ws = load(make_ws_with(timezone="America/New_York"), write_file, contacts=NEW_YORK)
    assert values(ws.metric("contacts_created", as_of="2025-01-31")) == [(JAN, 2)]


# -- as-of, repeated entries ------------------------------------------------------------------

@pytest.mark.parametrize(("key", "expected"), [
    ("leads", [3, 2, 1]),
    ("mqls", [3, 2, 0]),
    ("sqls", [2, 1, 0]),
    ("opportunities", [1, 0, 0]),
    ("customers", [0, 0, 0]),
])
def test_as_of_ignores_later_stage_entries(base: Workspace, key: str,
                                           expected: list[int]) -> None:
    """as_of 2025-03-05 (entries on that date count): ignored are c1 customer 03-10, c6 opp
    03-15, c7 customer 04-01 (so c7 reached nothing), c8 MQL 03-06.
    leads Jan c1 c2 c3, Feb c5 c6, Mar c8 (03-05 00:00) → 3,2,1;
    mqls Jan c1 c2 c3 (inferred from SQL 02-01), Feb c5 c6, Mar 0 → 3,2,0;
    sqls Jan c1 c3, Feb c6 (03-01) → 2,1,0; opportunities Jan c1 (02-05) → 1,0,0; customers 0."""
    res = base.metric(key, as_of="2025-03-05")
    assert values(res) == list(zip([JAN, FEB, MAR], expected, strict=True))
    assert [r["partial"] for r in res.rows] == [False, False, True]


def test_as_of_ignores_contacts_created_later(base: Workspace) -> None:
    """as_of 2025-02-10: c6 (02-14), c7 (02-20), c8 (03-05) are not counted: Jan 4, Feb c5 = 1
    (partial); no Mar row since nothing up to as_of falls in March."""
    res = base.metric("contacts_created", as_of="2025-02-10")
    assert [(r["period"], r["value"], r["partial"]) for r in res.rows] == [
        (JAN, 4, False), (FEB, 1, True)]


REPEATS_CONTACTS = contacts_csv("r1,2025-01-05T00:00:00Z,2025-01-10T00:00:00Z",
                                "r2,2025-02-01T00:00:00Z,", extra="lead_at")
REPEATS_EVENTS = """\
contact_id,stage,entered_at
r1,lead,2025-01-05T00:00:00Z
r1,lead,2025-02-10T00:00:00Z
r1,mql,2025-03-01T00:00:00Z
r1,mql,2025-01-25T00:00:00Z
r2,mql,2025-02-03T00:00:00Z
r2,lead,2025-02-05T00:00:00Z
r2,mql,2025-02-20T00:00:00Z
"""


def test_only_the_first_entry_of_a_stage_counts(ws: Workspace, write_file: FileWriter) -> None:
    """r1's lead entries: 01-10 (contact row), 01-05 and 02-10 (stage_events) → first 01-05;
    its MQL entries 03-01 and 01-25 → first 01-25. r2: MQL 02-03 and 02-20, lead 02-05.
    Period basis (Jan..Mar): leads r1 Jan, r2 Feb → 1, 1, 0 (not 1, 2, 0);
    mqls r1 Jan (01-25), r2 Feb (02-03) → 1, 1, 0 (nothing in Mar).
    lead_to_mql_days Jan: r1 01-05 → 01-25 = 20.0, n 1. contacts_created Jan 1, Feb 1."""
    load(ws, write_file, contacts=REPEATS_CONTACTS, stage_events=REPEATS_EVENTS)
    period = {"basis": "period", "start": "2025-01-01", "end": "2025-03-31", "as_of": AS_OF}
    assert values(ws.metric("leads", **period)) == [(JAN, 1), (FEB, 1), (MAR, 0)]
    assert values(ws.metric("mqls", **period)) == [(JAN, 1), (FEB, 1), (MAR, 0)]
    days = row(ws.metric("lead_to_mql_days", as_of=AS_OF), JAN)
    assert (days["value"], days["n"]) == (pytest.approx(20.0), 1)
    assert values(ws.metric("contacts_created", as_of=AS_OF)) == [(JAN, 1), (FEB, 1)]


def test_strict_rule_accepts_stages_entered_in_any_order(ws: Workspace,
                                                         write_file: FileWriter) -> None:
    """r2 entered MQL (02-03) before lead (02-05): strict counts it at MQL (every stage up to
    MQL entered, in any order), dated by its MQL entry 02-03 → strict period mqls Feb 1;
    with r1 (Jan 01-25): 1, 1, 0."""
    load(ws, write_file, contacts=REPEATS_CONTACTS, stage_events=REPEATS_EVENTS)
    res = ws.metric("mqls", basis="period", rule="strict", start="2025-01-01",
                    end="2025-03-31", as_of=AS_OF)
    assert values(res) == [(JAN, 1), (FEB, 1), (MAR, 0)]


# -- errors ------------------------------------------------------------------------------------

def test_unknown_key_suggests_a_close_match(base: Workspace) -> None:
    with pytest.raises(UsageError, match="leads"):
        base.metric("leds", as_of=AS_OF)


def test_rate_of_an_unknown_stage_is_a_usage_error(base: Workspace) -> None:
    with pytest.raises(UsageError):
        base.metric("lead_to_demo_rate", as_of=AS_OF)


# -- funnel ------------------------------------------------------------------------------------

def test_funnel_cohort_cumulative(base: Workspace) -> None:
    """Per cohort, stage order lead..customer; value = numerator = reached; denominator =
    previous stage (lead: contacts_created); of_first = reached ÷ leads.
    Jan created 4: lead 3/4, mql 3/3, sql 2/3, opp 1/2, customer 1/1; of_first 1, 1, 2/3, 1/3,
    1/3. Feb created 3: 3/3, 3/3, 2/3, 2/2, 1/2; of_first 1, 1, 2/3, 2/3, 1/3.
    Mar created 1: 1/1, 1/1, 0/1, 0/0, 0/0; of_first 1, 1, 0, 0, 0."""
    res = base.funnel(as_of=AS_OF)
    assert "stage" in res.dims
    got = [(r["period"], r["stage"], r["value"], r["numerator"], r["denominator"])
           for r in res.rows]
    want = []
    for period, reached, created in [(JAN, [3, 3, 2, 1, 1], 4), (FEB, [3, 3, 2, 2, 1], 3),
                                     (MAR, [1, 1, 0, 0, 0], 1)]:
        dens = [created, *reached[:-1]]
        want += [(period, s, v, v, d) for s, v, d in zip(STAGES, reached, dens, strict=True)]
    assert got == want
    of_first = {(r["period"], r["stage"]): r["extra"]["of_first"] for r in res.rows}
    assert of_first[(JAN, "sql")] == pytest.approx(2 / 3)
    assert of_first[(JAN, "customer")] == pytest.approx(1 / 3)
    assert of_first[(FEB, "opportunity")] == pytest.approx(2 / 3)
    assert of_first[(FEB, "lead")] == pytest.approx(1.0)
    assert of_first[(MAR, "sql")] == pytest.approx(0.0)


def test_funnel_strict(base: Workspace) -> None:
    """Strict reached per cohort: Jan 3, 2, 1, 1, 1; Feb 2, 2, 1, 1, 0; Mar 1, 1, 0, 0, 0."""
    res = base.funnel(as_of=AS_OF, rule="strict")
    got = {(r["period"], r["stage"]): r["value"] for r in res.rows}
    want = {}
    for period, reached in [(JAN, [3, 2, 1, 1, 1]), (FEB, [2, 2, 1, 1, 0]),
                            (MAR, [1, 1, 0, 0, 0])]:
        want.update({(period, s): v for s, v in zip(STAGES, reached, strict=True)})
    assert got == want


def test_funnel_by_channel(base: Workspace) -> None:
    """Feb paid_search cohort {c5, c7}: lead 2 (c7 inferred), mql 2, sql 1 (c7), opp 1,
    customer 1; denominators: created 2, then 2, 2, 1, 1."""
    res = base.funnel(as_of=AS_OF, by=["channel"])
    feb = [(r["stage"], r["numerator"], r["denominator"]) for r in res.rows
           if r["period"] == FEB and r["channel"] == "paid_search"]
    assert feb == [("lead", 2, 2), ("mql", 2, 2), ("sql", 1, 2), ("opportunity", 1, 1),
                   ("customer", 1, 1)]


# -- result shape ------------------------------------------------------------------------------

def test_result_metadata_and_json(base: Workspace) -> None:
    """The result carries the key, a unit, the as_of in its query; to_dict is JSON-ready with
    ISO dates; to_pandas has one row per result row."""
    res = base.metric("lead_to_mql_rate", as_of=AS_OF, by=["channel"])
    assert res.metric == "lead_to_mql_rate"
    assert res.label and res.definition and res.unit
    data = json.loads(json.dumps(res.to_dict()))
    assert data["query"]["as_of"] == AS_OF
    assert data["rows"][0]["period"] == "2025-01-01"
    assert data["rows"][0]["period_end"] == "2025-01-31"
    assert res.rows and len(res.to_pandas()) == len(res.rows)
