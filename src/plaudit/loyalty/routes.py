"""The loyalty program's API: rules, tiers and the catalog for the tenant (management
credentials); the catalog and redemption for the token's user.

Handlers are plain functions (FastAPI runs them in its threadpool) on the managed product and
the request's session; they serialise inside, and the session commits before the response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from plaudit.access.management import ManagedProductId
from plaudit.access.session import DbSession, in_session
from plaudit.access.state import AppState, State, get_state
from plaudit.errors import BodyTooLarge
from plaudit.products.dependencies import ManagedProduct
from plaudit.products.models import Product
from plaudit.products.repository import get_product
from plaudit.users.client import ReadingUser, WritingUser
from plaudit.users.models import User

from . import catalog, codes, fulfilment, rules, tiers
from .models import Reward
from .schemas import (
    Catalog,
    CodePool,
    CodesDiscarded,
    CodesUploaded,
    FulfilmentIn,
    Redeemed,
    RedeemIn,
    RedemptionOut,
    RedemptionRecord,
    RedemptionStatus,
    RefusedLine,
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
REDEMPTIONS = "/v1/products/{product_id}/redemptions"


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


def _reward_out(session: Session, product: Product, reward: Reward) -> RewardOut:
    left = catalog.pools(session, product, [reward]).get(reward.id)
    return RewardOut.model_validate(reward).model_copy(update={"codes_remaining": left})


@router.get(REWARDS, response_model=list[RewardOut], summary="The rewards catalog")
def list_rewards(product_id: str, product: ManagedProduct, session: DbSession) -> list[RewardOut]:
    found = catalog.list_rewards(session, product)
    left = catalog.pools(session, product, found)
    return [
        RewardOut.model_validate(r).model_copy(update={"codes_remaining": left.get(r.id)})
        for r in found
    ]


@router.post(REWARDS, status_code=201, response_model=RewardOut, summary="Add a reward")
def create_reward(
    product_id: str, body: RewardCreate, product: ManagedProduct, session: DbSession
) -> RewardOut:
    return _reward_out(session, product, catalog.create_reward(session, product, body))


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
    return _reward_out(session, product, catalog.update_reward(session, product, reward_id, body))


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


# --- code pools -------------------------------------------------------------------------


@router.post(
    REWARDS + "/{reward_id}/codes",
    response_model=CodesUploaded,
    summary="Upload codes to a reward's pool: a CSV, one code per line (body text/csv)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def upload_codes(
    request: Request, product_id: str, reward_id: str, managed: ManagedProductId
) -> CodesUploaded:
    """The body is read as it streams in, up to PLAUDIT_BODY_LIMIT_CODES_BYTES (413 past it),
    and parsed line by line off the event loop; no transaction is open while it arrives."""

    def check(session: Session, _state: AppState) -> None:
        codes.pool_reward(session, get_product(session, managed), reward_id)

    await in_session(request, check)
    limit = get_state(request).settings.body_limit_codes_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(
                f"A codes upload takes at most {limit} bytes; send the file in parts.",
                hint="Split the CSV, or use 'plaudit rewards codes upload', which sends it in "
                "chunks.",
            )
        chunks.append(chunk)

    def store(session: Session, state: AppState) -> CodesUploaded:
        now = state.now()
        reward = codes.pool_reward(session, get_product(session, managed), reward_id)
        reader = codes.CodeFile()
        added = codes.add_codes(session, reward, codes.read_chunks(chunks, reader), now=now)
        return CodesUploaded(
            added=added.added,
            duplicates=added.duplicates,
            refused=[RefusedLine(line=r.line, error=r.error) for r in reader.refused],
            refused_count=reader.refused_count,
            remaining=codes.uploaded(session, reward, added, now=now),
        )

    return await in_session(request, store)


@router.get(
    REWARDS + "/{reward_id}/codes",
    response_model=CodePool,
    summary="How many codes a reward's pool has left and has handed out",
)
def code_pool(
    product_id: str, reward_id: str, product: ManagedProduct, session: DbSession
) -> CodePool:
    reward = codes.pool_reward(session, product, reward_id)
    return CodePool(
        reward_id=reward.id,
        remaining=codes.remaining(session, reward),
        handed_out=codes.handed_out(session, reward),
        low_codes_at=reward.low_codes_at,
    )


@router.delete(
    REWARDS + "/{reward_id}/codes",
    response_model=CodesDiscarded,
    summary="Remove a pool's unused codes (those handed out stay with their redemptions)",
)
def discard_codes(
    product_id: str, reward_id: str, product: ManagedProduct, session: DbSession
) -> CodesDiscarded:
    reward = codes.pool_reward(session, product, reward_id)
    return CodesDiscarded(discarded=codes.discard_unused(session, reward))


# --- redemptions the tenant fulfils -------------------------------------------------------


def _record(found: Any, user_id: str) -> RedemptionRecord:
    return RedemptionRecord.model_validate(
        {**RedemptionOut.model_validate(found).model_dump(), "user_id": user_id}
        | {"settled_at": found.settled_at, "failure_reason": found.failure_reason}
    )


@router.get(
    REDEMPTIONS,
    response_model=list[RedemptionRecord],
    summary="Redemptions in a status, oldest first: by default those waiting for fulfilment",
)
def list_redemptions(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    status: Annotated[RedemptionStatus, Query()] = "pending_fulfilment",
    limit: int = Query(100, ge=1, le=500),
) -> list[RedemptionRecord]:
    found = fulfilment.listing(session, product, status=status, limit=limit)
    return [_record(r, user_id) for r, user_id in found]


@router.post(
    REDEMPTIONS + "/{redemption_id}/fulfilment",
    response_model=RedemptionRecord,
    summary="Mark a pending redemption fulfilled or failed (failed refunds its points)",
)
def settle_redemption(
    product_id: str,
    redemption_id: str,
    body: FulfilmentIn,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> RedemptionRecord:
    found = fulfilment.settle(
        session,
        product,
        redemption_id,
        outcome=body.outcome,
        reason=body.reason,
        code=body.code,
        now=state.now(),
    )
    user = session.get(User, found.user_pk)
    return _record(found, user.external_id if user is not None else "")


# --- the token's user ---------------------------------------------------------------------


@client_router.get(
    "/v1/rewards",
    response_model=Catalog,
    summary="The rewards the token's user may redeem (scope 'read')",
    tags=["client"],
)
def my_catalog(user: ReadingUser, session: DbSession, state: State) -> Any:
    return catalog.catalog(session, *user.product_and_user(session), now=state.now())


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
