"""The referral program's rules, on the store: codes, clicks, signups, conversions, rewards."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.errors import Conflict, InvalidInput, NotFound
from plaudit.products.models import Product
from plaudit.products.schemas import DEFAULT_THEME
from plaudit.store.base import utcnow
from plaudit.users import repository as users
from plaudit.users.models import User

from . import fraud, repository, review, rewards
from .errors import AlreadyReferred, NotInReview, RewardSettled, SelfReferral, UnknownReferralCode
from .fingerprint import address_digest, device_digest
from .models import Referral, ReferralClick, ReferralCode, ReferralReward
from .notices import notify, referral_info
from .rewards import cancel_for_order

__all__ = [
    "AlreadyReferred",
    "NotInReview",
    "RewardSettled",
    "SelfReferral",
    "UnknownReferralCode",
    # A refund of an order cancels the referral rewards it triggered that are not granted yet.
    "cancel_for_order",
    "referral_info",
]

# Crockford's base32 without the letters people misread (I, L, O, U): codes get read aloud.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SHAPE = re.compile(r"[A-Z0-9_-]{3,32}")
GENERATED_LENGTH = 8


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


@dataclass(frozen=True)
class Visitor:
    """Who followed a share link, as Plaudit saw them: the client address (through the trusted
    proxies), the device cookie, and the key their digests are made with."""

    address: str
    device: str
    key: bytes


def record_click(
    session: Session, code: str, *, count: bool = True, visitor: Visitor | None = None
) -> tuple[Product | None, str | None]:
    """Count a click on a share link (with ``count`` false, only look its code up); returns
    the product and the code, or (None, None). The visitor is kept as digests only."""
    normal = normalise_code(code)
    if not CODE_SHAPE.fullmatch(normal):
        return None, None
    record = session.get(ReferralCode, normal)
    if record is None:
        return None, None
    if count:
        click = ReferralClick(product_id=record.product_id, referrer_pk=record.user_pk)
        if visitor is not None:
            click.address_hash = address_digest(visitor.key, record.product_id, visitor.address)
            click.device_hash = device_digest(visitor.key, record.product_id, visitor.device)
        session.add(click)
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


@dataclass(frozen=True)
class SignupFacts:
    """What the tenant's server says of a referred signup, for screening; all optional."""

    email: str | None = None
    client_ip: str | None = None
    device_id: str | None = None
    key: bytes = b""


def record_signup(
    session: Session,
    product: Product,
    *,
    referred_user_id: str,
    code: str | None = None,
    referrer_user_id: str | None = None,
    facts: SignupFacts | None = None,
    now: dt.datetime | None = None,
) -> tuple[Referral, ReferralReward | None]:
    """A referred signup, screened: if a rule fires it is flagged and its reward held."""
    if (code is None) == (referrer_user_id is None):
        raise InvalidInput("Give either 'code' or 'referrer_user_id'.", field="code")
    at = now or utcnow()
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
    given = facts or SignupFacts()
    address = address_digest(given.key, product.id, given.client_ip) if given.client_ip else None
    signup = fraud.Signup(
        referred_user_id=referred_user_id,
        email=given.email,
        address_hash=address,
        device_hash=device_digest(given.key, product.id, given.device_id)
        if given.device_id
        else None,
        click_device_hash=fraud.click_device(session, product, referrer, address, now=at),
    )
    reasons = fraud.screen_signup(session, product, referrer, signup, now=at)
    referral = Referral(
        product_id=product.id,
        referrer_pk=referrer.id,
        referred_external_id=referred_user_id,
        signed_up_at=at,
        address_hash=signup.address_hash,
        device_hash=signup.device_hash,
        click_device_hash=signup.click_device_hash,
    )
    try:
        with session.begin_nested():
            session.add(referral)
    except IntegrityError:
        raise AlreadyReferred(
            f"User {referred_user_id!r} was referred already.", field="referred_user_id"
        ) from None
    review.flag(session, referral, reasons, now=at)
    reward = (
        rewards.reward_for(session, product, referral, now=at)
        if product.referral_reward_on == "signup"
        else None
    )
    return referral, reward


def record_conversion(
    session: Session,
    product: Product,
    *,
    referred_user_id: str,
    order_id: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Referral, ReferralReward | None]:
    """A referred user converted: screened (a conversion too soon after signup is flagged), then
    the referrer's reward, once, remembering the order that triggered it."""
    at = now or utcnow()
    referral = repository.referral_of(session, product.id, referred_user_id)
    if referral is None:
        raise NotFound(
            f"User {referred_user_id!r} of product {product.id!r} was not referred.",
            hint="Record the referred signup first (POST .../referrals).",
        )
    if referral.converted_at is None:
        referral.converted_at = at
        notify(session, referral, "referral.converted", now=at)
        review.flag(
            session, referral, fraud.screen_conversion(session, product, referral, now=at), now=at
        )
    reward = (
        rewards.reward_for(session, product, referral, now=at, order_id=order_id)
        if product.referral_reward_on == "conversion"
        else repository.reward_of(session, referral)
    )
    return referral, reward


def cancel_reward(
    session: Session,
    product: Product,
    *,
    referred_user_id: str,
    reason: str,
    now: dt.datetime | None = None,
) -> tuple[Referral, ReferralReward | None]:
    """Cancel the referral's reward before it is granted (the tenant refunded the order, say):
    ``referral_reward_settled`` if it was granted, rejected or cancelled already."""
    referral = repository.referral_of(session, product.id, referred_user_id)
    if referral is None:
        raise NotFound(
            f"User {referred_user_id!r} of product {product.id!r} was not referred.",
            field="referred_user_id",
        )
    reward = repository.reward_of(session, referral)
    if reward is None:
        raise NotFound(
            f"The referral of {referred_user_id!r} has no reward yet.",
            hint="A reward exists once the signup or conversion that grants it is recorded.",
        )
    if reward.status not in (rewards.HELD, rewards.PENDING):
        raise RewardSettled(f"The reward for {referred_user_id!r} is {reward.status} already.")
    rewards.cancel(session, product, referral, reason=reason, now=now or utcnow())
    if reward.status != rewards.CANCELLED:  # a racing grant or decision won
        raise RewardSettled(f"The reward for {referred_user_id!r} is {reward.status} already.")
    return referral, reward


def summary(session: Session, product: Product, user: User, *, public_url: str) -> dict[str, Any]:
    """What the widget shows a user: their link, their stats, their rewards."""
    code = code_for(session, user)
    earned = list(
        session.execute(
            select(ReferralReward, Referral.referred_external_id)
            .join(Referral, Referral.id == ReferralReward.referral_id)
            .where(
                ReferralReward.user_pk == user.id,
                ReferralReward.status.in_((rewards.HELD, rewards.PENDING, rewards.GRANTED)),
            )
            .order_by(ReferralReward.created_at.desc())
            .limit(100)
        )
    )
    totals: dict[str, int] = defaultdict(int)
    for reward, _ in earned:
        if reward.status == rewards.GRANTED:  # what is still held or pending is not theirs yet
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
                # A reward in review shows as pending: the referrer is not told it was flagged.
                "status": rewards.GRANTED if r.status == rewards.GRANTED else rewards.PENDING,
                "available_at": r.available_at.isoformat()
                if r.status == rewards.PENDING and r.available_at
                else None,
            }
            for r, referred in earned
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
            referral, _referrer_of(session, referral), repository.reward_of(session, referral)
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
