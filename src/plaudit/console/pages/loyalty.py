"""The Programs tab's loyalty forms: earning rules, tiers, the rewards catalog and badges, and a
user's points adjustment. Each validates with the loyalty API's schema and calls its service."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.auth.errors import AuthError
from plaudit.errors import ServiceError
from plaudit.gamification import badges
from plaudit.gamification.schemas import BadgeCreate, BadgeUpdate
from plaudit.loyalty import catalog, codes, rules, tiers
from plaudit.loyalty.schemas import (
    AdjustmentIn,
    RewardCreate,
    RewardUpdate,
    RuleCreate,
    RuleUpdate,
    TiersIn,
)
from plaudit.pipeline import adjustments
from plaudit.products.models import Product
from plaudit.users import service as users

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    checked,
    optional,
    product_of,
    redirect,
    service_form_errors,
    text,
    validate,
)
from .programs import programs_page
from .users import user_page

router = APIRouter(route_class=ConsoleRoute)
BASE = PREFIX + "/products/{product_id}/programs"
TIER_LINE = re.compile(r"^\s*(?P<name>.+?)\s*[:=]\s*(?P<threshold>-?\d+)\s*$")


async def _act(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    form_name: str,
    sent: dict[str, Any],
    work: Callable[[Session, Product, AppState], object],
    *,
    notice: str,
) -> Response:
    """Run one loyalty change; a refusal re-renders the Programs tab with the form as sent and
    the API's message beside the field."""
    try:

        def run(session: Session, state: AppState) -> None:
            work(session, product_of(session, console, product_id), state)

        await in_session(request, run)
    except FormErrors as exc:
        errors = exc.errors
    except (ServiceError, AuthError) as exc:
        if exc.status not in (409, 422):
            raise
        errors = service_form_errors(exc).errors
    else:
        return redirect(f"{BASE.format(product_id=product_id)}", notice=notice)
    return await programs_page(
        request,
        product_id,
        console,
        status=422,
        loyalty_forms={form_name: sent},
        loyalty_errors={form_name: errors},
    )


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    return validate(model, data)


# --- earning rules ------------------------------------------------------------------------


def _rule_body(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name").strip(),
        "event_type": text(form, "event_type").strip(),
        "points": optional(form, "points"),
        "property": optional(form, "property"),
        "rate": optional(form, "rate"),
        "limit_per_day": optional(form, "limit_per_day"),
        "once": checked(form, "once"),
        "server_only": checked(form, "server_only"),
        "client_safe": checked(form, "client_safe"),
        "max_points_per_event": optional(form, "max_points_per_event"),
        "lot_expiry_days": optional(form, "lot_expiry_days"),
        "hold_days": optional(form, "hold_days"),
        "enabled": checked(form, "enabled"),
    }


@router.post(BASE + "/rules", include_in_schema=False)
async def create_rule(request: Request, product_id: str, console: Console) -> Response:
    sent = _rule_body(await request.form())

    def work(session: Session, product: Product, _state: AppState) -> object:
        return rules.create_rule(session, product, _validated(RuleCreate, sent))

    return await _act(request, console, product_id, "rule", sent, work, notice="rule_added")


# --- tiers --------------------------------------------------------------------------------


def parse_tiers(written: str) -> dict[str, Any]:
    """'Gold: 1000', one tier a line, as PUT .../loyalty/tiers takes them."""
    found = []
    for number, line in enumerate(written.splitlines(), 1):
        if not line.strip():
            continue
        match = TIER_LINE.match(line)
        if match is None:
            raise FormErrors({"tiers": f"Line {number} is not 'name: points' (e.g. 'Gold: 1000')."})
        found.append({"name": match["name"], "threshold": match["threshold"]})
    return {"tiers": found}


def _tier_policy(form: FormData) -> dict[str, Any]:
    """How the form says the tiers are held (a window and grace only count when rolling);
    nothing when the form does not say (the tiers stay held as before)."""
    held_by = optional(form, "held_by")
    if held_by is None:
        return {}
    if held_by != "rolling":
        return {"held_by": held_by}
    return {
        "held_by": held_by,
        "window_days": optional(form, "window_days"),
        "grace_days": optional(form, "grace_days") or 0,
    }


@router.post(BASE + "/tiers", include_in_schema=False)
async def put_tiers(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    written = text(form, "tiers")
    policy = _tier_policy(form)

    def work(session: Session, product: Product, _state: AppState) -> object:
        body: TiersIn = _validated(TiersIn, {**parse_tiers(written), **policy})
        wanted = [(t.name, t.threshold) for t in body.tiers]
        held = tiers.policy_in(body.held_by, body.window_days, body.grace_days)
        return tiers.replace_tiers(session, product, wanted, policy=held)

    sent = {"tiers": written, **policy}
    return await _act(request, console, product_id, "tiers", sent, work, notice="tiers_saved")


# --- rewards catalog ----------------------------------------------------------------------


@router.post(BASE + "/rewards", include_in_schema=False)
async def create_reward(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    sent = {
        "name": text(form, "name").strip(),
        "description": text(form, "description").strip(),
        "cost": text(form, "cost").strip(),
        "stock": optional(form, "stock"),
        "enabled": checked(form, "enabled"),
        "fulfilment": text(form, "fulfilment").strip() or "instant",
        "low_codes_at": optional(form, "low_codes_at"),
    }

    def work(session: Session, product: Product, _state: AppState) -> object:
        return catalog.create_reward(session, product, _validated(RewardCreate, sent))

    return await _act(request, console, product_id, "reward", sent, work, notice="reward_added")


@router.post(BASE + "/rewards/codes", include_in_schema=False)
async def upload_codes(request: Request, product_id: str, console: Console) -> Response:
    """A CSV from the reward's row: the browser's file arrives spooled to disk by the form
    parser (under PLAUDIT_BODY_LIMIT_CODES_BYTES), and is read in blocks off the event loop."""
    form = await request.form()
    reward_id, upload = text(form, "id"), form.get("codes")
    counts: dict[str, str] = {}

    def work(session: Session, product: Product, state: AppState) -> object:
        if not isinstance(upload, UploadFile):
            raise FormErrors({"_form": "Choose a CSV file of codes."})
        reward = codes.pool_reward(session, product, reward_id)
        reader = codes.CodeFile()
        blocks = iter(lambda: upload.file.read(64 * 1024), b"")
        added = codes.add_codes(session, reward, codes.read_chunks(blocks, reader), now=state.now())
        codes.uploaded(session, reward, added, now=state.now())
        counts.update(
            added=str(added.added),
            duplicates=str(added.duplicates),
            refused=str(reader.refused_count),
        )
        return None

    response = await _act(request, console, product_id, "reward", {}, work, notice="")
    if counts:
        return redirect(BASE.format(product_id=product_id), notice="codes_uploaded", **counts)
    return response


# --- badges -------------------------------------------------------------------------------


@router.post(BASE + "/badges", include_in_schema=False)
async def create_badge(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    kind = text(form, "kind")
    sent = {
        "name": text(form, "name").strip(),
        "description": text(form, "description").strip(),
        "icon": text(form, "icon").strip(),
        "kind": kind,
        "event_type": text(form, "event_type").strip(),
        "count": text(form, "count").strip(),
        "points": text(form, "points").strip(),
        "days": text(form, "days").strip(),
        "enabled": checked(form, "enabled"),
    }
    # The criteria fields of the kind chosen, as BadgeCreate's discriminated union takes them.
    criteria_fields = {
        "event_count": ("event_type", "count"),
        "points_total": ("points",),
        "streak": ("event_type", "days"),
    }.get(kind, ())
    body = {
        "name": sent["name"],
        "description": sent["description"],
        "icon": sent["icon"],
        "enabled": sent["enabled"],
        "criteria": {"kind": kind, **{f: sent[f] for f in criteria_fields}},
    }

    def work(session: Session, product: Product, _state: AppState) -> object:
        return badges.create_badge(session, product, _validated(BadgeCreate, body))

    return await _act(request, console, product_id, "badge", sent, work, notice="badge_added")


# --- the enabled toggle and delete, alike for rules, rewards and badges ---------------------


@dataclass(frozen=True)
class Listed:
    """One kind of loyalty row the Programs tab lists with a toggle and a Delete button."""

    path: str
    form: str
    update: Callable[[Session, Product, str, Any], object]
    delete: Callable[[Session, Product, str], None]
    changes: type[BaseModel]


LISTED = (
    Listed("rules", "rule", rules.update_rule, rules.delete_rule, RuleUpdate),
    Listed("rewards", "reward", catalog.update_reward, catalog.delete_reward, RewardUpdate),
    Listed("badges", "badge", badges.update_badge, badges.delete_badge, BadgeUpdate),
)


def _listed_routes(kind: Listed) -> None:
    async def toggle(request: Request, product_id: str, console: Console) -> Response:
        form = await request.form()
        row_id, enabled = text(form, "id"), text(form, "enabled") == "true"

        def work(session: Session, product: Product, _state: AppState) -> object:
            return kind.update(session, product, row_id, kind.changes(enabled=enabled))

        return await _act(request, console, product_id, kind.form, {}, work, notice="changed")

    async def delete(request: Request, product_id: str, console: Console) -> Response:
        row_id = text(await request.form(), "id")

        def work(session: Session, product: Product, _state: AppState) -> object:
            kind.delete(session, product, row_id)
            return None

        return await _act(request, console, product_id, kind.form, {}, work, notice="deleted")

    router.post(f"{BASE}/{kind.path}/update", include_in_schema=False)(toggle)
    router.post(f"{BASE}/{kind.path}/delete", include_in_schema=False)(delete)


for _kind in LISTED:
    _listed_routes(_kind)


# --- a user's points ----------------------------------------------------------------------


@router.post(PREFIX + "/products/{product_id}/user/points", include_in_schema=False)
async def adjust_points(request: Request, product_id: str, console: Console) -> Response:
    """Adjust a user's points by hand (POST .../users/{id}/points)."""
    form = await request.form()
    user_id = text(form, "user_id")
    sent = {"amount": text(form, "amount").strip(), "reason": text(form, "reason").strip()}
    try:
        body: AdjustmentIn = validate(AdjustmentIn, sent)

        def work(session: Session, state: AppState) -> None:
            product = product_of(session, console, product_id)
            user = users.get_user(session, product.id, user_id)
            adjustments.adjust_points(session, product, user, body, now=state.now())

        await in_session(request, work)
    except FormErrors as exc:
        errors = exc.errors
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        errors = service_form_errors(exc, "amount").errors
    else:
        return redirect(f"{PREFIX}/products/{product_id}/user", id=user_id, notice="adjusted")
    return await user_page(
        request, product_id, console, user_id, status=422, adjust_form=sent, adjust_errors=errors
    )
