"""The referral program's rules, on the store: codes, clicks, signups, conversions, rewards."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.errors import Conflict, InvalidInput, NotFound
from plaudit.gamification import badges
from plaudit.loyalty import ledger
from plaudit.products.models import Product
from plaudit.products.schemas import DEFAULT_THEME
from plaudit.store.base import utcnow
from plaudit.users import repository as users
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import repository
from .models import Referral, ReferralClick, ReferralCode, ReferralReward

# Crockford's base32 without the letters people misread (I, L, O, U): codes get read aloud.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SHAPE = re.compile(r"[A-Z0-9_-]{3,32}")
GENERATED_LENGTH = 8


class SelfReferral(InvalidInput):
    code = "self_referral"
    description = "A user cannot refer themselves."
    hint = "The referred user must be someone other than the code's owner."


class AlreadyReferred(Conflict):
    code = "already_referred"
    description = "This user was referred already; a user is referred once."
    hint = "Record a conversion for the existing referral instead."


class UnknownReferralCode(NotFound):
    code = "unknown_referral_code"
    description = "No user of this product has that referral code."
    hint = "Pass the code exactly as the share link shows it, to the product it belongs to."


def normalise_code(code: str) -> str:
    return code.strip().upper()


def code_for(session: Session, user: User) -> ReferralCode:
    """The user's code: the tenant's own (the token's referralCode) if free, else generated."""
    existing = session.scalar(select(ReferralCode).where(ReferralCode.user_pk == user.id))
    if existing is not None:
        return existing
    wanted = normalise_code(user.referral_code) if user.referral_code else None
    candidates = [wanted] if wanted and CODE_SHAPE.fullmatch(wanted) else []
    candidates += [
        "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH)) for _ in range(5)
    ]
    for candidate in candidates:
        try:
            with session.begin_nested():
                record = ReferralCode(code=candidate, product_id=user.product_id, user_pk=user.id)
                session.add(record)
            return record
        except IntegrityError:
            # Taken (by another user, or this one in a racing request): try the next.
            existing = session.scalar(select(ReferralCode).where(ReferralCode.user_pk == user.id))
            if existing is not None:
                return existing
    raise Conflict("Could not allocate a referral code; try again.")


def share_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/r/{code}"


def landing_url(product: Product | None, code: str | None, fallback: str) -> str:
    """Where a share link lands: the product's landing URL with ``ref=CODE`` added."""
    base = product.referral_landing_url if product is not None else None
    if not base:
        return fallback
    if code is None:
        return base
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"]
    query.append(("ref", code))
    return urlunsplit(parts._replace(query=urlencode(query)))


def record_click(session: Session, code: str) -> tuple[Product | None, str | None]:
    """Count a click on a share link; returns the product and the code, or (None, None)."""
    normal = normalise_code(code)
    if not CODE_SHAPE.fullmatch(normal):
        return None, None
    record = session.get(ReferralCode, normal)
    if record is None:
        return None, None
    session.add(ReferralClick(product_id=record.product_id, referrer_pk=record.user_pk))
    return session.get(Product, record.product_id), record.code


def _referrer(
    session: Session, product: Product, *, code: str | None, referrer_user_id: str | None
) -> User:
    if code is not None:
        record = session.get(ReferralCode, normalise_code(code))
        if record is None or record.product_id != product.id:
            raise UnknownReferralCode(
                f"No user of product {product.id!r} has the code {code!r}.", field="code"
            )
        user = session.get(User, record.user_pk)
    else:
        user = (
            users.find_user(session, product.id, referrer_user_id)
            if referrer_user_id is not None
            else None
        )
        if user is None:
            raise NotFound(
                f"Product {product.id!r} has no user {referrer_user_id!r}.",
                field="referrer_user_id",
            )
    if user is None:  # a code's user is deleted with it (ON DELETE CASCADE): only a race
        raise UnknownReferralCode(f"No user of product {product.id!r} has the code {code!r}.")
    return user


def record_signup(
    session: Session,
    product: Product,
    *,
    referred_user_id: str,
    code: str | None = None,
    referrer_user_id: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Referral, ReferralReward | None]:
    if (code is None) == (referrer_user_id is None):
        raise InvalidInput("Give either 'code' or 'referrer_user_id'.", field="code")
    referrer = _referrer(session, product, code=code, referrer_user_id=referrer_user_id)
    if referrer.external_id == referred_user_id:
        raise SelfReferral(
            f"User {referred_user_id!r} cannot refer themselves.", field="referred_user_id"
        )
    existing = repository.referral_of(session, product.id, referred_user_id)
    if existing is not None:
        raise AlreadyReferred(
            f"User {referred_user_id!r} was referred already.", field="referred_user_id"
        )
    referral = Referral(
        product_id=product.id,
        referrer_pk=referrer.id,
        referred_external_id=referred_user_id,
        signed_up_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(referral)
    except IntegrityError:
        raise AlreadyReferred(
            f"User {referred_user_id!r} was referred already.", field="referred_user_id"
        ) from None
    reward = (
        _grant(session, product, referral, now=now)
        if product.referral_reward_on == "signup"
        else None
    )
    return referral, reward


def record_conversion(
    session: Session,
    product: Product,
    *,
    referred_user_id: str,
    now: dt.datetime | None = None,
) -> tuple[Referral, ReferralReward | None]:
    referral = repository.referral_of(session, product.id, referred_user_id)
    if referral is None:
        raise NotFound(
            f"User {referred_user_id!r} of product {product.id!r} was not referred.",
            hint="Record the referred signup first (POST .../referrals).",
        )
    if referral.converted_at is None:
        referral.converted_at = now or utcnow()
        _notify(session, referral, "referral.converted", now=referral.converted_at)
    reward = (
        _grant(session, product, referral, now=now)
        if product.referral_reward_on == "conversion"
        else _existing_reward(session, referral)
    )
    return referral, reward


def _existing_reward(session: Session, referral: Referral) -> ReferralReward | None:
    return repository.reward_of(session, referral)


def _grant(
    session: Session, product: Product, referral: Referral, *, now: dt.datetime | None
) -> ReferralReward | None:
    """The referrer's reward for this referral, granted once however often this is called."""
    existing = _existing_reward(session, referral)
    if existing is not None or product.referral_reward_amount <= 0:
        return existing
    reward = ReferralReward(
        product_id=product.id,
        user_pk=referral.referrer_pk,
        referral_id=referral.id,
        kind=product.referral_reward_kind,
        amount=product.referral_reward_amount,
    )
    try:
        with session.begin_nested():
            session.add(reward)
    except IntegrityError:  # a racing call granted it first
        return _existing_reward(session, referral)
    _notify(session, referral, "reward.granted", reward=reward)
    if reward.kind.strip().lower() == "points":
        # A reward in points lands in the loyalty ledger, where it can be spent.
        referrer = session.get(User, referral.referrer_pk)
        if referrer is not None:
            at = now or utcnow()
            ledger.credit(
                session,
                product,
                referrer,
                points=reward.amount,
                kind="referral",
                reason=f"Referred {referral.referred_external_id}",
                now=at,
            )
            badges.evaluate(
                session,
                product,
                referrer,
                now=at,
                lifetime=ledger.account(session, referrer).lifetime,
            )
    return reward


def _notify(
    session: Session,
    referral: Referral,
    event_type: str,
    *,
    reward: ReferralReward | None = None,
    now: dt.datetime | None = None,
) -> None:
    """A webhook in this transaction, about the referrer: their conversions and rewards reach
    an endpoint in order."""
    info = referral_info(referral, session.get(User, referral.referrer_pk), reward)
    data: dict[str, Any] = {"referral": info}
    if reward is not None:
        data["reward"] = {"id": reward.id, "kind": reward.kind, "amount": reward.amount}
    enqueue(
        session,
        product_id=referral.product_id,
        event_type=event_type,
        data=data,
        user_id=info["referrer_user_id"],
        now=now,
    )


def summary(session: Session, product: Product, user: User, *, public_url: str) -> dict[str, Any]:
    """What the widget shows a user: their link, their stats, their rewards."""
    code = code_for(session, user)
    rewards = list(
        session.execute(
            select(ReferralReward, Referral.referred_external_id)
            .join(Referral, Referral.id == ReferralReward.referral_id)
            .where(ReferralReward.user_pk == user.id)
            .order_by(ReferralReward.created_at.desc())
            .limit(100)
        )
    )
    totals: dict[str, int] = defaultdict(int)
    for reward, _ in rewards:
        totals[reward.kind] += reward.amount
    link = share_link(public_url, code.code)
    return {
        "product": {"id": product.id, "name": product.name, "theme": theme_of(product)},
        "user": {"id": user.external_id, "first_name": user.first_name},
        "code": code.code,
        "link": link,
        "stats": stats(session, user),
        "rewards": [
            {
                "kind": r.kind,
                "amount": r.amount,
                "created_at": r.created_at.isoformat(),
                "referred_user_id": referred,
            }
            for r, referred in rewards
        ],
        "reward_totals": dict(totals),
        "reward": {
            "kind": product.referral_reward_kind,
            "amount": product.referral_reward_amount,
            "on": product.referral_reward_on,
        },
        "share": {
            "subject": f"Join me on {product.name}",
            "text": f"I use {product.name} and think you'd like it. Sign up with my link: {link}",
        },
    }


def stats(session: Session, user: User) -> dict[str, int]:
    """How often the user's link was followed, and the signups and conversions it brought."""
    clicks = session.scalar(
        select(func.count()).select_from(ReferralClick).where(ReferralClick.referrer_pk == user.id)
    )
    signups, conversions = session.execute(
        select(func.count(), func.count(Referral.converted_at)).where(
            Referral.referrer_pk == user.id
        )
    ).one()
    return {"clicks": clicks or 0, "signups": signups, "conversions": conversions}


def theme_of(product: Product) -> dict[str, str]:
    return {**DEFAULT_THEME, **(product.theme or {})}


def referral_info(
    referral: Referral, referrer: User | None, reward: ReferralReward | None
) -> dict[str, Any]:
    return {
        "id": referral.id,
        "referrer_user_id": referrer.external_id if referrer else None,
        "referred_user_id": referral.referred_external_id,
        "signed_up_at": referral.signed_up_at.isoformat(),
        "converted_at": referral.converted_at.isoformat() if referral.converted_at else None,
        "reward": {"kind": reward.kind, "amount": reward.amount} if reward else None,
    }


def list_referrals(
    session: Session,
    product: Product,
    *,
    limit: int = 50,
    offset: int = 0,
    user_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The product's referrals, newest first; with ``user_id``, those that user made or came by."""
    query = repository.referrals_query(product.id, user_id=user_id)
    page, total = repository.page_of_referrals(session, query, limit=limit, offset=offset)
    rows = [
        referral_info(
            referral, _referrer_of(session, referral), _existing_reward(session, referral)
        )
        for referral in page
    ]
    return rows, total


def referral_answer(
    session: Session, referral: Referral, reward: ReferralReward | None
) -> dict[str, Any]:
    """A referral as the server API answers it, once written."""
    session.flush()
    return referral_info(referral, _referrer_of(session, referral), reward)


def _referrer_of(session: Session, referral: Referral) -> User | None:
    return users.user_by_pk(session, referral.product_id, referral.referrer_pk)
