"""The loyalty program's API: rules, tiers, catalog and adjustments for the tenant (management
credentials); the catalog and redemption for the token's user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager, for_product
from plaudit.web.state import AppState, in_session

from . import catalog, rules, tiers
from .models import Tier
from .schemas import (
    Catalog,
    Redeemed,
    RedeemIn,
    RewardCreate,
    RewardOut,
    RewardUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TiersIn,
    TiersOut,
)

router = APIRouter(tags=["loyalty"])
RULES = "/v1/products/{product_id}/loyalty/rules"
TIERS = "/v1/products/{product_id}/loyalty/tiers"
REWARDS = "/v1/products/{product_id}/rewards"


# --- earning rules ------------------------------------------------------------------------


@router.get(RULES, response_model=list[RuleOut], summary="The product's earning rules")
async def list_rules(request: Request, product_id: str, principal: Manager) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: [
            rules.rule_dict(r) for r in rules.list_rules(session, product)
        ],
    )


@router.post(RULES, status_code=201, response_model=RuleOut, summary="Add an earning rule")
async def create_rule(
    request: Request, product_id: str, body: RuleCreate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: rules.rule_dict(rules.create_rule(session, product, body)),
    )


@router.patch(RULES + "/{rule_id}", response_model=RuleOut, summary="Change an earning rule")
async def update_rule(
    request: Request, product_id: str, rule_id: str, body: RuleUpdate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: rules.rule_dict(
            rules.update_rule(session, product, rule_id, body)
        ),
    )


@router.delete(
    RULES + "/{rule_id}",
    status_code=204,
    summary="Remove an earning rule (points it gave stay in the ledger)",
)
async def delete_rule(
    request: Request, product_id: str, rule_id: str, principal: Manager
) -> Response:
    await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: rules.delete_rule(session, product, rule_id),
    )
    return Response(status_code=204)


# --- tiers --------------------------------------------------------------------------------


def _tiers_out(found: list[Tier]) -> dict[str, Any]:
    return {"tiers": [tiers.tier_dict(t) for t in found]}


@router.get(TIERS, response_model=TiersOut, summary="The tiers")
async def get_tiers(request: Request, product_id: str, principal: Manager) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: _tiers_out(tiers.list_tiers(session, product)),
    )


@router.put(
    TIERS,
    response_model=TiersOut,
    summary="Set the tiers (name and lifetime points threshold each)",
)
async def put_tiers(request: Request, product_id: str, body: TiersIn, principal: Manager) -> Any:
    wanted = [(t.name, t.threshold) for t in body.tiers]
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: _tiers_out(tiers.replace_tiers(session, product, wanted)),
    )


# --- rewards catalog ----------------------------------------------------------------------


@router.get(REWARDS, response_model=list[RewardOut], summary="The rewards catalog")
async def list_rewards(request: Request, product_id: str, principal: Manager) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: [
            catalog.reward_dict(r) for r in catalog.list_rewards(session, product)
        ],
    )


@router.post(REWARDS, status_code=201, response_model=RewardOut, summary="Add a reward")
async def create_reward(
    request: Request, product_id: str, body: RewardCreate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: catalog.reward_dict(
            catalog.create_reward(session, product, body)
        ),
    )


@router.patch(
    REWARDS + "/{reward_id}", response_model=RewardOut, summary="Change a reward (or restock it)"
)
async def update_reward(
    request: Request, product_id: str, reward_id: str, body: RewardUpdate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: catalog.reward_dict(
            catalog.update_reward(session, product, reward_id, body)
        ),
    )


@router.delete(
    REWARDS + "/{reward_id}",
    status_code=204,
    summary="Remove a reward (past redemptions keep its name and cost)",
)
async def delete_reward(
    request: Request, product_id: str, reward_id: str, principal: Manager
) -> Response:
    await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: catalog.delete_reward(session, product, reward_id),
    )
    return Response(status_code=204)


# --- the token's user ---------------------------------------------------------------------


@router.get(
    "/v1/rewards",
    response_model=Catalog,
    summary="The rewards the token's user may redeem (scope 'read')",
    tags=["client"],
)
async def my_catalog(request: Request) -> Any:
    context = await authenticate_user(request, scopes=("read",))

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        return catalog.catalog(session, *context.product_and_user(session))

    return await in_session(request, work)


@router.post(
    "/v1/rewards/{reward_id}/redeem",
    status_code=201,
    response_model=Redeemed,
    summary="Redeem a reward with the token's user's points (scope 'write')",
    tags=["client"],
)
async def redeem(request: Request, reward_id: str, body: RedeemIn | None = None) -> Any:
    context = await authenticate_user(request, scopes=("write",))

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product, user = context.product_and_user(session)
        redemption, balance = catalog.redeem(
            session,
            product,
            user,
            reward_id,
            now=state.now(),
            client_id=body.id if body is not None else None,
        )
        return {"redemption": catalog.redemption_dict(redemption), "balance": balance}

    return await in_session(request, work)
