"""The Programs tab: the referral reward and the points' lots and holds, as forms over the
product's settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.gamification import badges
from plaudit.gamification.schemas import BadgeOut
from plaudit.loyalty import catalog, rules, tiers
from plaudit.loyalty.schemas import RewardOut, RuleOut, TierOut
from plaudit.products import service
from plaudit.products.models import Product

from ..web import PREFIX, Console, ConsoleContext, ConsoleRoute, optional, product_of, render, text
from .products import NOTICES as SETTINGS_NOTICES
from .products import refilled, save_settings

router = APIRouter(route_class=ConsoleRoute)
PAGE = "/programs"
NOTICES = {
    **SETTINGS_NOTICES,
    "rule_added": "Earning rule added.",
    "reward_added": "Reward added to the catalog.",
    "badge_added": "Badge added.",
    "tiers_saved": "Tiers saved. Users move to their new tier with their next earn (lifetime "
    "points) or within minutes (a rolling window).",
    "changed": "Changed.",
    "deleted": "Deleted.",
}


def codes_notice(query: Mapping[str, str]) -> str | None:
    """An upload's counts, carried by the redirect after it (numbers only, never a code)."""
    counts = [query.get(name, "") for name in ("added", "duplicates", "refused")]
    if query.get("notice") != "codes_uploaded" or not all(c.isdigit() for c in counts):
        return None
    added, duplicates, refused = counts
    return (
        f"Codes uploaded: {added} added, {duplicates} duplicates skipped, {refused} lines "
        "refused (the API and 'plaudit rewards codes upload' list them by line)."
    )


def loyalty_data(session: Session, product: Product) -> dict[str, Any]:
    """What the Programs tab lists, as the loyalty API's GET routes answer it."""
    found = tiers.list_tiers(session, product)
    found_rewards = catalog.list_rewards(session, product)
    left = catalog.pools(session, product, found_rewards)
    return {
        "rules": [
            RuleOut.model_validate(r).model_dump() for r in rules.list_rules(session, product)
        ],
        "tiers": [TierOut.model_validate(t).model_dump() for t in found],
        "tiers_text": "\n".join(f"{t.name}: {t.threshold}" for t in found),
        "tiers_held": tiers.described(product, found).model_dump(exclude={"tiers"}),
        "rewards": [
            {**RewardOut.model_validate(r).model_dump(), "codes_remaining": left.get(r.id)}
            for r in found_rewards
        ],
        "badges": [
            BadgeOut.model_validate(b).model_dump() for b in badges.list_badges(session, product)
        ],
    }


async def programs_page(
    request: Request,
    product_id: str,
    console: ConsoleContext,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    loyalty_forms: dict[str, dict[str, Any]] | None = None,
    loyalty_errors: dict[str, dict[str, str]] | None = None,
    settings_form: str = "referral",
) -> Response:
    """The tab; ``form`` and ``errors`` are the product settings' form named by
    ``settings_form`` (``referral`` or ``points``), as sent and refused."""

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        found = product_of(session, console, product_id)
        return {"product": service.product_settings(found), **loyalty_data(session, found)}

    data = await in_session(request, work)
    product = data["product"]
    forms = {
        "rule": {"enabled": True},
        "reward": {"enabled": True},
        "badge": {"enabled": True, "kind": "event_count"},
        "tiers": {
            "tiers": data["tiers_text"],
            **{k: "" if v is None else v for k, v in data["tiers_held"].items()},
        },
    }
    forms.update(loyalty_forms or {})
    return render(
        request,
        "programs.html",
        status=status,
        tab="programs",
        product=product,
        form=form or refilled(product, {}),
        errors=errors or {},
        settings_form=settings_form,
        notice=NOTICES.get(request.query_params.get("notice", ""))
        or codes_notice(request.query_params),
        loyalty=data,
        forms=forms,
        form_errors={"rule": {}, "reward": {}, "badge": {}, "tiers": {}, **(loyalty_errors or {})},
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
    if "referral_reward_hold_days" in form:  # an empty field means no hold
        body["referral_reward_hold_days"] = text(form, "referral_reward_hold_days").strip() or "0"

    refill = _refill(request, console, product_id, "referral")
    return await save_settings(request, console, product_id, body, page=PAGE, refill=refill)


#: The points settings' fields: each empty means null (never expire, no hold, no notice).
POINTS_SETTINGS = (
    "points_lot_expiry_days",
    "points_hold_days",
    "points_expiring_notice_days",
    "points_expire_after_days",
)


@router.post(PREFIX + "/products/{product_id}/programs/points", include_in_schema=False)
async def points_settings(request: Request, product_id: str, console: Console) -> Response:
    """Lots' expiry, holds and the expiring notice (PATCH /v1/products/{id}'s fields)."""
    form = await request.form()
    body = {name: optional(form, name) for name in POINTS_SETTINGS}
    refill = _refill(request, console, product_id, "points")
    return await save_settings(request, console, product_id, body, page=PAGE, refill=refill)


def _refill(
    request: Request, console: ConsoleContext, product_id: str, settings_form: str
) -> Callable[[dict[str, Any], dict[str, str]], Awaitable[Response]]:
    async def refill(sent: dict[str, Any], errors: dict[str, str]) -> Response:
        product = await in_session(
            request, lambda s, _: service.product_settings(product_of(s, console, product_id))
        )
        return await programs_page(
            request,
            product_id,
            console,
            form=refilled(product, sent),
            errors=errors,
            status=422,
            settings_form=settings_form,
        )

    return refill
