"""The rewards catalog and redemptions: stock and balance checked and taken in one transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.errors import Conflict, InvalidInput, NotFound, invalid_input
from plaudit.products.models import Product
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import codes, entries, ledger, repository, settling
from .errors import RewardOutOfCodes, RewardOutOfStock, RewardUnavailable
from .models import Redemption, Reward
from .schemas import RewardCreate, RewardUpdate


def list_rewards(session: Session, product: Product, *, enabled_only: bool = False) -> list[Reward]:
    return repository.rewards(session, product.id, enabled_only=enabled_only)


def get_reward(session: Session, product: Product, reward_id: str) -> Reward:
    return repository.reward(session, product.id, reward_id)


def create_reward(session: Session, product: Product, body: RewardCreate) -> Reward:
    reward = Reward(id="rwd_" + secrets.token_hex(8), product_id=product.id, **body.model_dump())
    session.add(reward)
    session.flush()
    return reward


def update_reward(session: Session, product: Product, reward_id: str, body: RewardUpdate) -> Reward:
    reward = get_reward(session, product, reward_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        # A null stock means "no limit"; a null low_codes_at, no alert.
        if value is None and name not in ("stock", "low_codes_at"):
            raise InvalidInput(f"'{name}' cannot be null.", field=name)
        setattr(reward, name, value)
    session.flush()
    return reward


def restock(session: Session, product: Product, reward_id: str, count: int) -> Reward:
    """Add ``count`` to a limited reward's stock. The row is locked first, so a redemption
    taking one meanwhile is neither lost nor counted twice."""
    if count < 1:
        raise InvalidInput("Restock by one or more.", field="stock")
    reward = repository.reward_for_update(session, product.id, reward_id)
    if reward is None:
        raise NotFound(f"Product {product.id!r} has no reward {reward_id!r}.")
    if reward.stock is None:
        raise InvalidInput(
            f"The reward {reward.name!r} has no stock limit; there is nothing to restock.",
            field="stock",
            hint="Set a stock limit instead.",
        )
    try:
        body = RewardUpdate(stock=reward.stock + count)
    except ValidationError as exc:
        raise invalid_input(exc.errors()) from None
    return update_reward(session, product, reward_id, body)


def delete_reward(session: Session, product: Product, reward_id: str) -> None:
    """Past redemptions keep the reward's name and cost; only the catalog item goes."""
    session.delete(get_reward(session, product, reward_id))


def pools(session: Session, product: Product, rewards: list[Reward]) -> dict[str, int]:
    """The codes left in the pool of each of the rewards that hands out codes (one count)."""
    if not any(r.fulfilment == "code" for r in rewards):
        return {}
    left = codes.remaining_by_reward(session, product.id)
    return {r.id: left.get(r.id, 0) for r in rewards if r.fulfilment == "code"}


def catalog(session: Session, product: Product, user: User, *, now: dt.datetime) -> dict[str, Any]:
    """What the user may redeem, and whether each is in stock (a code left in its pool) and
    within their balance: the balance a redemption would find now, with held points that have
    come due and expired lots counted as the background step will settle them. The pools'
    sizes are the tenant's business: only ``available``."""
    balance = settling.standing(session, user, now=now).balance
    rewards = list_rewards(session, product, enabled_only=True)
    left = pools(session, product, rewards)
    return {
        "balance": balance,
        "rewards": [
            {
                "id": r.id,
                "name": r.name,
                "description": r.description,
                "cost": r.cost,
                "stock": r.stock,
                "fulfilment": r.fulfilment,
                "available": (r.stock is None or r.stock > 0) and left.get(r.id, 1) > 0,
                "affordable": balance >= r.cost,
            }
            for r in rewards
        ],
    }


def redeem(
    session: Session,
    product: Product,
    user: User,
    reward_id: str,
    *,
    now: dt.datetime,
    client_id: str | None = None,
) -> tuple[Redemption, int]:
    """Take one of the reward's stock (or a code of its pool) and its cost from the user's
    balance, or none of them.

    Each is a conditional UPDATE in this transaction: if the debit fails, raising rolls the
    stock and the code back. Returns the redemption and the balance after it.
    """
    if client_id is not None:
        earlier = repository.redemption_by_client_id(session, user, client_id)
        if earlier is not None:
            return earlier, entries.account(session, user).balance
    reward = get_reward(session, product, reward_id)
    if not reward.enabled:
        raise RewardUnavailable(f"The reward {reward.name!r} is not offered at the moment.")
    redemption_id = "red_" + secrets.token_hex(8)
    code = None
    if reward.fulfilment == "code":
        code = codes.take(session, reward, redemption_id, now=now)
        if code is None:
            raise RewardOutOfCodes(f"The reward {reward.name!r} has no codes left.")
    if reward.stock is not None:
        if not repository.take_one(session, reward):
            raise RewardOutOfStock(f"The reward {reward.name!r} is out of stock.")
    redemption = Redemption(
        id=redemption_id,
        status="pending_fulfilment" if reward.fulfilment == "tenant" else "delivered",
        code=code,
        product_id=product.id,
        user_pk=user.id,
        reward_id=reward.id,
        reward_name=reward.name,
        cost=reward.cost,
        client_id=client_id,
        created_at=now,
    )
    entry = ledger.debit(
        session,
        user,
        points=reward.cost,
        kind="redeem",
        reason=f"Redeemed: {reward.name}",
        now=now,
        redemption_id=redemption.id,
    )
    try:
        with session.begin_nested():
            session.add(redemption)
    except IntegrityError:
        # The same client id raced in: the transaction is rolled back by the caller's raise.
        raise Conflict("A redemption with this id is in progress; send it again.") from None
    enqueue(
        session,
        product_id=product.id,
        event_type="points.redeemed",
        data={
            "points": reward.cost,
            "balance": entry.balance_after,
            "reward": {"id": reward.id, "name": reward.name},
            "redemption_id": redemption.id,
            "status": redemption.status,
            "entry_id": entry.id,
        },
        user_id=user.external_id,
        now=now,
    )
    return redemption, entry.balance_after
