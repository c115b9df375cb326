"""The Programs tab: the referral reward as a form over the product's settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from plaudit.products import service
from plaudit.web.state import in_session

from ..web import PREFIX, Console, ConsoleContext, ConsoleRoute, optional, product_of, render, text
from .products import NOTICES, refilled, save_settings

router = APIRouter(route_class=ConsoleRoute)
PAGE = "/programs"


async def programs_page(
    request: Request,
    product_id: str,
    console: ConsoleContext,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    product = await in_session(
        request, lambda s, _: service.product_settings(product_of(s, console, product_id))
    )
    return render(
        request,
        "programs.html",
        status=status,
        tab="programs",
        product=product,
        form=form or refilled(product, {}),
        errors=errors or {},
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get(PREFIX + "/products/{product_id}" + PAGE, include_in_schema=False)
async def programs(request: Request, product_id: str, console: Console) -> Response:
    return await programs_page(request, product_id, console)


@router.post(PREFIX + "/products/{product_id}/programs/referrals", include_in_schema=False)
async def referral_reward(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    body = {
        "referral_reward_kind": text(form, "referral_reward_kind").strip(),
        "referral_reward_amount": text(form, "referral_reward_amount").strip(),
        "referral_reward_on": text(form, "referral_reward_on"),
        "referral_landing_url": optional(form, "referral_landing_url"),
    }

    async def refill(sent: dict[str, Any], errors: dict[str, str]) -> Response:
        product = await in_session(
            request, lambda s, _: service.product_settings(product_of(s, console, product_id))
        )
        return await programs_page(
            request, product_id, console, form=refilled(product, sent), errors=errors, status=422
        )

    return await save_settings(request, console, product_id, body, page=PAGE, refill=refill)
