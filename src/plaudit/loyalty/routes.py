"""The loyalty program's API: rules, tiers and the catalog for the tenant (management
credentials); the catalog and redemption for the token's user.

Handlers are plain functions (FastAPI runs them in its threadpool) on the managed product and
the request's session; they serialise inside, and the session commits before the response.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.audit.recorder import record
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import ReadingUser, WritingUser
from plaudit.users.service import get_user

from . import catalog, ledger, rules, tiers
from .schemas import (
    Catalog,
    EntryOut,
    Redeemed,
    RedeemIn,
    RedemptionOut,
    ReversalIn,
    ReversalOut,
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
#: The token's user's routes, listed after the tenant's (and the pipeline's adjustment route).
client_router = APIRouter(tags=["loyalty"])
RULES = "/v1/products/{product_id}/loyalty/rules"
TIERS = "/v1/products/{product_id}/loyalty/tiers"
REWARDS = "/v1/products/{product_id}/rewards"


# --- earning rules ------------------------------------------------------------------------


@router.get(RULES, response_model=list[RuleOut], summary="The product's earning rules")
def list_rules(product_id: str, product: ManagedProduct, session: DbSession) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in rules.list_rules(session, product)]


@router.post(RULES, status_code=201, response_model=RuleOut, summary="Add an earning rule")
def create_rule(
    product_id: str, body: RuleCreate, product: ManagedProduct, session: DbSession
) -> RuleOut:
    return RuleOut.model_validate(rules.create_rule(session, product, body))


@router.patch(RULES + "/{rule_id}", response_model=RuleOut, summary="Change an earning rule")
def update_rule(
    product_id: str, rule_id: str, body: RuleUpdate, product: ManagedProduct, session: DbSession
) -> RuleOut:
    return RuleOut.model_validate(rules.update_rule(session, product, rule_id, body))


@router.delete(
    RULES + "/{rule_id}",
    status_code=204,
    summary="Remove an earning rule (points it gave stay in the ledger)",
)
def delete_rule(
    product_id: str, rule_id: str, product: ManagedProduct, session: DbSession
) -> Response:
    rules.delete_rule(session, product, rule_id)
    return Response(status_code=204)


# --- tiers --------------------------------------------------------------------------------


@router.get(TIERS, response_model=TiersOut, summary="The tiers and how they are held")
def get_tiers(product_id: str, product: ManagedProduct, session: DbSession) -> TiersOut:
    return tiers.described(product, tiers.list_tiers(session, product))


@router.put(
    TIERS,
    response_model=TiersOut,
    summary="Set the tiers (name and threshold each) and how they are held",
)
def put_tiers(
    product_id: str, body: TiersIn, product: ManagedProduct, session: DbSession
) -> TiersOut:
    wanted = [(t.name, t.threshold) for t in body.tiers]
    found = tiers.replace_tiers(
        session,
        product,
        wanted,
        policy=tiers.policy_in(body.held_by, body.window_days, body.grace_days),
    )
    return tiers.described(product, found)


# --- rewards catalog ----------------------------------------------------------------------


@router.get(REWARDS, response_model=list[RewardOut], summary="The rewards catalog")
def list_rewards(product_id: str, product: ManagedProduct, session: DbSession) -> list[RewardOut]:
    return [RewardOut.model_validate(r) for r in catalog.list_rewards(session, product)]


@router.post(REWARDS, status_code=201, response_model=RewardOut, summary="Add a reward")
def create_reward(
    product_id: str, body: RewardCreate, product: ManagedProduct, session: DbSession
) -> RewardOut:
    return RewardOut.model_validate(catalog.create_reward(session, product, body))


@router.patch(
    REWARDS + "/{reward_id}", response_model=RewardOut, summary="Change a reward (or restock it)"
)
def update_reward(
    product_id: str,
    reward_id: str,
    body: RewardUpdate,
    product: ManagedProduct,
    session: DbSession,
) -> RewardOut:
    return RewardOut.model_validate(catalog.update_reward(session, product, reward_id, body))


@router.delete(
    REWARDS + "/{reward_id}",
    status_code=204,
    summary="Remove a reward (past redemptions keep its name and cost)",
)
def delete_reward(
    product_id: str, reward_id: str, product: ManagedProduct, session: DbSession
) -> Response:
    catalog.delete_reward(session, product, reward_id)
    return Response(status_code=204)


# --- the token's user ---------------------------------------------------------------------


@client_router.get(
    "/v1/rewards",
    response_model=Catalog,
    summary="The rewards the token's user may redeem (scope 'read')",
    tags=["client"],
)
def my_catalog(user: ReadingUser, session: DbSession) -> Any:
    return catalog.catalog(session, *user.product_and_user(session))


@client_router.post(
    "/v1/rewards/{reward_id}/redeem",
    status_code=201,
    response_model=Redeemed,
    summary="Redeem a reward with the token's user's points (scope 'write')",
    tags=["client"],
)
def redeem(
    reward_id: str,
    user: WritingUser,
    session: DbSession,
    state: State,
    body: RedeemIn | None = None,
) -> Redeemed:
    product, member = user.product_and_user(session)
    redemption, balance = catalog.redeem(
        session,
        product,
        member,
        reward_id,
        now=state.now(),
        client_id=body.id if body is not None else None,
    )
    return Redeemed(redemption=RedemptionOut.model_validate(redemption), balance=balance)


# --- reversal -----------------------------------------------------------------------------


@router.post(
    "/v1/products/{product_id}/events/{event_id}/reversal",
    response_model=ReversalOut,
    summary="Take back what an event earned (a refund or chargeback)",
    description="Reverses the points the event earned, as `reverse` entries linked to the "
    "lots they take from: pending points are cancelled first, then available points; what "
    "the balance cannot cover is recorded as `unrecovered` and the balance stops at zero. "
    "Idempotent: what was reversed already is never taken again. `event_id` is Plaudit's "
    "event id (`evt_...`) or the id you gave the event. Sends `points.reversed`.",
)
def reverse_event(
    product_id: str,
    event_id: str,
    body: ReversalIn,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> Any:
    user = get_user(session, product.id, body.user_id) if body.user_id is not None else None
    done = ledger.reverse_event(
        session,
        product,
        event_id=event_id,
        reason=body.reason,
        points=body.points,
        user=user,
        now=state.now(),
    )
    if done.entries:  # the ledger is written by statement: the audit hook cannot see it
        record(
            session,
            product_id=product.id,
            action="reversal.create",
            target_type="user",
            target_id=done.user.external_id,
            changes={
                "event_id": {"after": done.event_id},
                "points": {"after": done.reversed + done.unrecovered},
                "reason": {"after": body.reason},
            },
            now=state.now(),
        )
    return {
        "event_id": done.event_id,
        "user_id": done.user.external_id,
        "reversed": done.reversed,
        "unrecovered": done.unrecovered,
        "balance": done.balance,
        "pending": done.pending,
        "lifetime": done.lifetime,
        "entries": [EntryOut.model_validate(entry).model_dump() for entry in done.entries],
    }
