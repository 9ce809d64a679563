"""The Plan page: the reverse-funnel planner (a GET form, so a plan is a bookmarkable URL and
writes nothing), "Save as targets" (a POST queued on the writer), and the year-to-date report
card of plan vs actual."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from funnelboard import services
from funnelboard.auth import role_allows
from funnelboard.errors import FunnelboardError
from funnelboard.metrics.query import today_in
from funnelboard.plan.model import TRANSITIONS, count, money
from funnelboard.web import render
from funnelboard.web.access import allow
from funnelboard.web.api.imports import client_ip, me, server
from funnelboard.web.api.plan import PlanIn, plan_for, report_for

router = APIRouter(include_in_schema=False)

TEXT_FIELDS = ("revenue", "deal_size", "visits", "leads", "by", "period", "referral_rate",
               "customer_base", "as_of", "months")
CHECK_FIELDS = ("deal_size_from_history", "rates_from_history", "seasonal")
#: the plan's columns, as the CLI prints them
PLAN_COLUMNS = (("visits", "Visits"), ("leads", "Leads"), ("referral_leads", "of which referral"),
                ("mqls", "MQLs"), ("sqls", "SQLs"), ("opportunities", "Opportunities"),
                ("customers", "Customers"), ("revenue", "Revenue"))
DEFAULT_FORM: dict[str, Any] = {"deal_size_from_history": True, "rates_from_history": True,
                                "months": "12"}


def rate_field(transition: str) -> str:
    return f"rate_{transition}"


def read_form(params: Mapping[str, Any]) -> dict[str, Any]:
    """The planner's fields as typed (text cut to 60 characters); the defaults when the form
    was never submitted."""
    if "plan" not in params:
        return dict(DEFAULT_FORM)
    form: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *(rate_field(t) for t in TRANSITIONS)):
        value = params.get(name)
        form[name] = value.strip()[:60] if isinstance(value, str) else ""
    for name in CHECK_FIELDS:
        form[name] = params.get(name) in ("on", "true", "1")
    return form


def read_as_of(text: str | None) -> dt.date | None:
    """The as-of date of the plan and the report card (None: today)."""
    if not text or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:20])
    except ValueError:
        raise FunnelboardError(f"The as-of date '{text.strip()[:20]}' is not a date; write it "
                               "as YYYY-MM-DD.") from None


def plan_inputs(form: dict[str, Any]) -> PlanIn | None:
    """The plan request of a submitted form (None: no goal or volume given yet); a field that
    cannot be read is a :class:`FunnelboardError` in words."""
    if not any(form.get(k) for k in ("revenue", "visits", "leads")):
        return None
    months_text = form.get("months") or "12"
    if not months_text.isdigit() or not 1 <= int(months_text) <= 120:
        raise FunnelboardError("Months of history must be a whole number from 1 to 120.")
    as_of = read_as_of(form.get("as_of"))
    rates = [f"{t}={form[rate_field(t)]}" for t in TRANSITIONS if form.get(rate_field(t))]
    try:
        return PlanIn(revenue=form.get("revenue"), deal_size=form.get("deal_size"),
                      deal_size_from_history=bool(form.get("deal_size_from_history")),
                      rate=rates, rates_from_history=bool(form.get("rates_from_history")),
                      months=int(months_text), visits=form.get("visits"),
                      leads=form.get("leads"), by=form.get("by"), period=form.get("period"),
                      seasonal=bool(form.get("seasonal")),
                      referral_rate=form.get("referral_rate"),
                      customer_base=form.get("customer_base"), as_of=as_of)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ()))
        raise FunnelboardError(f"The field {where or 'of the form'} is not valid: "
                               f"{exc.errors()[0].get('msg', 'invalid value')}.") from None


def api_params(inputs: PlanIn) -> list[tuple[str, str]]:
    """The same plan as ``GET /api/v1/plan`` query parameters (for the JSON link)."""
    out: list[tuple[str, str]] = []
    for key, value in inputs.model_dump(exclude_defaults=True).items():
        for item in value if isinstance(value, list) else [value]:
            out.append((key, "true" if item is True else str(item)))
    return out


def plan_columns(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """Referral leads only with a flywheel, visits only when they are planned."""
    annual = plan["annual"]
    return [(k, name) for k, name in PLAN_COLUMNS
            if not (k == "referral_leads" and not annual.get(k))
            and not (k == "visits" and annual.get(k) is None)]


@router.get("/plan", dependencies=[allow("viewer")])
def plan_page(request: Request) -> Response:
    params = request.query_params
    form = read_form(params)
    error = plan = inputs = None
    try:
        inputs = plan_inputs(form)
        if inputs is not None:
            plan = plan_for(request, inputs)
    except FunnelboardError as exc:
        error = exc.message
    state = server(request)
    day = today_in(state.settings.timezone)
    report_year = (params.get("report_year") or "").strip()[:10] or None
    report = report_error = None
    try:
        report = report_for(request, report_year, read_as_of(params.get("as_of")))
    except FunnelboardError as exc:
        report_error = exc.message
    hidden = [(k, v) for k, v in params.multi_items() if k != "report_year"]
    inputs_ref = None
    if plan:
        inputs_ref = plan["inputs"].get("revenue") or plan["annual"].get("revenue")
    return render.page(
        request, "plan.html", status_code=422 if error else 200, form=form, error=error,
        plan=plan, columns=plan_columns(plan) if plan else [],
        api_params=api_params(inputs) if inputs else [], transitions=TRANSITIONS,
        rate_field=rate_field, report=report, report_error=report_error,
        report_year=report_year or "", hidden=hidden, today=day, count=count,
        money=lambda v: money(v, state.settings.reporting_currency, inputs_ref),
        card_money=lambda v: money(v, state.settings.reporting_currency, None),
        can_save=role_allows(me(request).role, "analyst"),
        currency=state.settings.reporting_currency)


@router.post("/plan/targets", dependencies=[allow("analyst")])
async def save_as_targets(request: Request) -> Response:
    """Queue the plan of the submitted inputs to be saved as targets, then show the job."""
    state = server(request)
    form = read_form(await request.form())
    try:
        inputs = plan_inputs(form)
    except FunnelboardError as exc:
        raise HTTPException(422, exc.message) from None
    if inputs is None:
        raise HTTPException(422, "Give a revenue goal, or monthly visits or leads, before "
                                 "saving the plan as targets.")
    plan_request = inputs.request()

    def work() -> dict[str, Any]:
        return services.plan_on(state.workspace, plan_request, save_as_targets=True)

    identity = me(request)
    job = state.jobs.submit("plan", "save the plan as targets", work, owner=identity.user_id)
    state.auth.audit(identity.email, "plan_save", object=inputs.period or "current year",
                     ip=client_ip(request), detail=f"job {job.id}")
    return RedirectResponse(f"/data/jobs/{job.id}", status_code=303)
