"""The Referral review tab: the queue of flagged referrals with the reasons that fired, approve
or reject each (a rejection with a reason), and the screening rules switched and tuned; through
the same services as GET .../referral-reviews, POST .../approval|rejection and PATCH
.../referral-rules/{rule}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.errors import InvalidInput
from plaudit.referrals import fraud, review
from plaudit.referrals.schemas import RejectionIn

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    optional,
    product_of,
    product_page,
    redirect,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/referrals"
FILTERS = (
    ("flagged", "Waiting"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("all", "All"),
)
NOTICES = {
    "approved": "Approved: the held reward is granted (or waits out the hold days).",
    "rejected": "Rejected: the held reward will not be granted.",
    "rule_saved": "Screening rule saved; it applies to the next signups and conversions.",
}


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
) -> Response:
    shown = request.query_params.get("status", "flagged")
    shown = shown if shown in {f for f, _ in FILTERS} else "flagged"

    def rows(session: Session, product: Any) -> dict[str, Any]:
        found, total = review.queue(
            session, product, status=None if shown == "all" else shown, limit=200
        )
        return {"referrals": found, "total": total, "rules": fraud.rules_out(session, product)}

    return await product_page(
        request,
        console,
        product_id,
        "referrals.html",
        rows,
        NOTICES,
        status=status,
        tab="referrals",
        shown=shown,
        filters=FILTERS,
        errors=errors or {},
        failed=failed,
    )


@router.get(PAGE, include_in_schema=False)
async def referrals_page(request: Request, product_id: str, console: Console) -> Response:
    return await _page(request, console, product_id)


@router.post(PAGE + "/decision", include_in_schema=False)
async def decide(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    user_id = text(form, "referred_user_id").strip()
    approve = text(form, "decision") == "approve"
    note = optional(form, "reason")
    if not approve:
        try:
            note = validate(RejectionIn, {"reason": note or ""}).reason
        except FormErrors as exc:
            return await _page(
                request,
                console,
                product_id,
                status=422,
                errors={"reason": exc.errors.get("reason", "Give a reason.")},
                failed=user_id,
            )

    def work(session: Session, state: AppState) -> None:
        review.decide(
            session,
            product_of(session, console, product_id),
            user_id,
            approve=approve,
            note=note,
            now=state.now(),
        )

    await in_session(request, work)
    return redirect(
        PAGE.format(product_id=product_id), notice="approved" if approve else "rejected"
    )


@router.post(PAGE + "/rules/{rule}", include_in_schema=False)
async def save_rule(request: Request, product_id: str, rule: str, console: Console) -> Response:
    form = await request.form()
    known = fraud.RULES.get(rule)
    settings: dict[str, int | bool] = {}
    for name, default in (known.defaults if known is not None else {}).items():
        if isinstance(default, bool):
            settings[name] = text(form, name) == "true"
            continue
        raw = text(form, name).strip()
        if not raw.isascii() or not raw.isdigit():
            return await _page(
                request,
                console,
                product_id,
                status=422,
                errors={f"{rule}-{name}": f"{name} must be a whole number."},
            )
        settings[name] = int(raw)

    def work(session: Session, _state: AppState) -> None:
        fraud.set_rule(
            session,
            product_of(session, console, product_id),
            rule,
            enabled=text(form, "enabled") == "true",
            settings=settings or None,
        )

    try:
        await in_session(request, work)
    except InvalidInput as exc:
        return await _page(
            request,
            console,
            product_id,
            status=422,
            errors={f"{rule}-{exc.field or 'enabled'}": exc.message},
        )
    return redirect(PAGE.format(product_id=product_id), notice="rule_saved")
