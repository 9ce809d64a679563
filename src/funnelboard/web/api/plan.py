"""``/api/v1/plan``: the reverse-funnel plan for query-parameter inputs (``funnelboard plan``),
saving it as targets, and the year-to-date report card (``funnelboard plan report``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from funnelboard import services
from funnelboard.metrics.query import today_in
from funnelboard.plan.inputs import PlanRequest
from funnelboard.web.access import allow, identify
from funnelboard.web.api.imports import BAD_BODY, client_ip, me, server, write_now
from funnelboard.web.api.metrics import ERRORS, ErrorOut
from funnelboard.web.api.targets import reads

router = APIRouter(tags=["plan"])
Amount = Annotated[str | None, Query(max_length=40)]


class PlanRowOut(BaseModel):
    """One period of the plan: exact (fractional) volumes per stage and the revenue."""

    period: str
    period_end: str
    label: str
    visits: float | None = None
    leads: float | None = None
    referral_leads: float | None = None
    mqls: float | None = None
    sqls: float | None = None
    opportunities: float | None = None
    customers: float | None = None
    revenue: float | None = None


class GapOut(BaseModel):
    """How far the plan in whole deals lands from the goal, in words and as an amount."""

    model_config = ConfigDict(extra="allow")
    revenue: float | None = None
    status: str
    text: str


class SavedTargetsOut(BaseModel):
    rows: int
    import_id: int | None
    status: str
    inserted: int
    updated: int
    unchanged: int


class PlanOut(BaseModel):
    """The plan as ``funnelboard plan --format json`` prints it (docs/planning.md)."""

    mode: str
    inputs: dict[str, Any]
    annual: PlanRowOut
    quarterly: list[PlanRowOut]
    monthly: list[PlanRowOut]
    lead_time: list[dict[str, Any]]
    whole_deals: dict[str, Any]
    gap: GapOut
    segments: list[dict[str, Any]] | None = None
    notes: list[str]
    saved_targets: SavedTargetsOut | None = None


class PlanIn(BaseModel):
    """The planner's inputs, as the options of ``funnelboard plan``."""

    revenue: str | None = Field(default=None, max_length=40,
                                description="The revenue goal for the year: 10000000, 10M.")
    deal_size: str | None = Field(default=None, max_length=40)
    deal_size_from_history: bool = False
    rate: list[Annotated[str, Field(max_length=60)]] = Field(
        default_factory=list, max_length=10,
        description="TRANSITION=R, e.g. lead_to_mql=0.3 or mql_to_sql=40%.")
    rates_from_history: bool = False
    months: int = Field(default=12, ge=1, le=120)
    visits: str | None = Field(default=None, max_length=40)
    leads: str | None = Field(default=None, max_length=40)
    by: str | None = Field(default=None, max_length=20, description="channel or motion")
    period: str | None = Field(default=None, max_length=20,
                               description="The fiscal year, e.g. 2026 or FY2026.")
    seasonal: bool = False
    referral_rate: str | None = Field(default=None, max_length=40)
    customer_base: str | None = Field(default=None, max_length=40)
    as_of: dt.date | None = None

    def request(self) -> PlanRequest:
        return PlanRequest(
            revenue=self.revenue or None, deal_size=self.deal_size or None,
            deal_size_from_history=self.deal_size_from_history,
            rates=tuple(r for r in self.rate if r.strip()),
            rates_from_history=self.rates_from_history, months=self.months,
            visits=self.visits or None, leads=self.leads or None, by=self.by or None,
            period=self.period or None, seasonal=self.seasonal,
            referral_rate=self.referral_rate or None,
            customer_base=self.customer_base or None, as_of=self.as_of)


class PeriodOut(BaseModel):
    year: int
    label: str
    start: str
    end: str


class YtdOut(BaseModel):
    start: str
    end: str
    elapsed_share: float


class CardLineOut(BaseModel):
    """A funnel stage: plan to date, actual, gap and status."""

    metric: str
    label: str
    unit: str
    plan_ytd: float | None
    actual_ytd: float | None
    gap: float | None
    attainment: float | None
    status: str | None
    plan_year: float | None
    grain: str | None


class ChannelLineOut(CardLineOut):
    """A stage of one channel (or motion) value."""

    dimension: str
    value: str


class CardRateOut(BaseModel):
    transition: str
    metric: str
    plan: float | None
    actual: float | None
    numerator: float | None
    denominator: float | None


class RoiOut(BaseModel):
    value: float | None
    numerator: float | None
    denominator: float | None
    definition: str
    notes: list[str]


class ReportCardOut(BaseModel):
    """The year-to-date report card (``funnelboard plan report --format json``)."""

    period: PeriodOut
    as_of: str
    ytd: YtdOut
    targets_kind: str | None
    stages: list[CardLineOut]
    channels: list[ChannelLineOut]
    rates: list[CardRateOut]
    marketing_roi: RoiOut | None
    thresholds: dict[str, float]
    notes: list[str]


def plan_for(request: Request, inputs: PlanIn) -> dict[str, Any]:
    """The plan from the read view, cached per user until the next write."""
    state = server(request)
    key = state.cache.key(identify(request), "plan", inputs.model_dump_json())

    def compute() -> dict[str, Any]:
        with state.reader.snapshot():
            return services.plan_on(reads(request), inputs.request())

    result: dict[str, Any] = state.cache.get_or_compute(key, compute)
    return result


def report_for(request: Request, year: str | None, as_of: dt.date | None) -> dict[str, Any]:
    state = server(request)
    day = as_of or today_in(state.settings.timezone)
    key = state.cache.key(identify(request), "plan-report", year, day)

    def compute() -> dict[str, Any]:
        with state.reader.snapshot():
            return services.plan_report(reads(request), year, day)

    result: dict[str, Any] = state.cache.get_or_compute(key, compute)
    return result


def save_plan(request: Request, inputs: PlanIn) -> dict[str, Any]:
    """Recompute the plan on the writer and save it as targets (kind plan); waits for it."""
    state = server(request)
    plan_request = inputs.request()
    plan_for(request, inputs)  # a plan that cannot be made is a 422 before anything is queued

    def work() -> dict[str, Any]:
        return services.plan_on(state.workspace, plan_request, save_as_targets=True)

    result: dict[str, Any] = write_now(request, "plan", "save the plan as targets", work)
    saved = result["saved_targets"]
    state.auth.audit(me(request).email, "plan_save", object=result["inputs"]["period"]["label"],
                     ip=client_ip(request), detail=f"{saved['rows']} targets, import "
                                                   f"{saved['import_id']}")
    return result


@router.get("/plan", dependencies=[allow("viewer")], response_model=PlanOut,
            responses=ERRORS)
def plan(request: Request, revenue: Amount = None, deal_size: Amount = None,
         deal_size_from_history: bool = False,
         rate: Annotated[list[str] | None, Query(max_length=10)] = None,
         rates_from_history: bool = False,
         months: Annotated[int, Query(ge=1, le=120)] = 12,
         visits: Amount = None, leads: Amount = None,
         by: Annotated[str | None, Query(max_length=20)] = None,
         period: Annotated[str | None, Query(max_length=20)] = None, seasonal: bool = False,
         referral_rate: Amount = None, customer_base: Amount = None,
         as_of: dt.date | None = None) -> PlanOut:
    """Work up the funnel from a revenue goal (or down from monthly ``visits`` or ``leads``):
    the options of ``funnelboard plan`` as query parameters; ``rate`` is TRANSITION=R and
    repeatable. Nothing is written."""
    inputs = PlanIn(revenue=revenue, deal_size=deal_size,
                    deal_size_from_history=deal_size_from_history,
                    rate=[r[:60] for r in rate or []], rates_from_history=rates_from_history,
                    months=months, visits=visits, leads=leads, by=by, period=period,
                    seasonal=seasonal, referral_rate=referral_rate, customer_base=customer_base,
                    as_of=as_of)
    return PlanOut.model_validate(plan_for(request, inputs))


@router.post("/plan/targets", dependencies=[allow("analyst")], response_model=PlanOut,
             responses={**ERRORS, **BAD_BODY, 503: {"model": ErrorOut, "description": "The "
                                                    "writer is busy; the change is queued."}})
def plan_targets(request: Request, body: PlanIn) -> PlanOut:
    """Make the plan and save it into ``targets`` (kind plan, monthly), as ``funnelboard plan
    ... --save-as-targets``; ``saved_targets`` says what was written."""
    return PlanOut.model_validate(save_plan(request, body))


@router.get("/plan/report", dependencies=[allow("viewer")], response_model=ReportCardOut,
            responses=ERRORS)
def plan_report(request: Request,
                year: Annotated[str | None, Query(
                    max_length=10, pattern=r"^\s*([Ff][Yy])?[0-9]{4}\s*$",
                    description="The fiscal year, 2026 or FY2026 (default: the one holding "
                                "as_of).")] = None,
                as_of: dt.date | None = None) -> ReportCardOut:
    """Actual vs plan for the fiscal year so far, per stage and channel, with the conversion
    rates and marketing ROI."""
    return ReportCardOut.model_validate(report_for(request, year, as_of))
