"""Referral screening: named rules a tenant switches and tunes per product, and what fired.

Each rule looks at what the tenant's SERVER said about a signup (the referred user's email,
client address and device), at what Plaudit saw itself (the referrer's signed claims, clicks on
the share link, the referrer's earlier referrals), never at anything a browser claims. A rule
that fires adds a reason in plain words; a referral with a reason is flagged for review and its
reward is held (referrals/review.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from disposable_email_domains import blocklist
from sqlalchemy import func
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.errors import InvalidInput, NotFound
from plaudit.products.models import Product
from plaudit.users.models import User

from .fingerprint import email_domain, normalise_email
from .models import FraudRule, Referral, ReferralClick

SELF_REFERRAL = "self_referral"
DISPOSABLE_EMAIL = "disposable_email"
VELOCITY = "velocity"
FAST_CONVERSION = "fast_conversion"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enabled: bool
    #: The rule's settings and their defaults; a tenant may change only these.
    defaults: dict[str, Any] = field(default_factory=dict)


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            SELF_REFERRAL,
            "The referred user is the referrer: the same email (normalised), the same account, "
            "or the same client address or device as the referrer or the referrer's other "
            "referred signups.",
            enabled=True,
            defaults={"match_address": True, "match_device": True},
        ),
        Rule(
            DISPOSABLE_EMAIL,
            "The referred user's email is at a disposable (throwaway) domain.",
            enabled=True,
        ),
        Rule(
            VELOCITY,
            "The referrer's link brought more signups in an hour or a day than a person does.",
            enabled=True,
            defaults={"per_hour": 10, "per_day": 50},
        ),
        Rule(
            FAST_CONVERSION,
            "The referred user converted implausibly soon after signing up.",
            enabled=False,
            defaults={"min_seconds": 300},
        ),
    )
}
#: Bounds of each setting: a tenant's value outside them is refused.
BOUNDS: dict[str, tuple[int, int]] = {
    "per_hour": (1, 100_000),
    "per_day": (1, 1_000_000),
    "min_seconds": (1, 30 * 86_400),
}


def reason(rule: str, check: str, message: str) -> dict[str, str]:
    return {"rule": rule, "check": check, "message": message}


# --- the product's settings ---------------------------------------------------------------


def rule_settings(session: Session, product: Product) -> dict[str, dict[str, Any]]:
    """Every rule as it runs for ``product``: {name: {"enabled", "settings"}}."""
    stored = {row.rule: row for row in session.scalars(scoped(FraudRule, product.id)).all()}
    result: dict[str, dict[str, Any]] = {}
    for name, rule in RULES.items():
        row = stored.get(name)
        settings = {**rule.defaults, **(row.settings if row is not None else {})}
        result[name] = {
            "enabled": row.enabled if row is not None else rule.enabled,
            "settings": {k: settings[k] for k in rule.defaults},
        }
    return result


def rules_out(session: Session, product: Product) -> list[dict[str, Any]]:
    """The rules as the API, the CLI and the console list them."""
    current = rule_settings(session, product)
    return [
        {"rule": name, "description": rule.description, **current[name]}
        for name, rule in RULES.items()
    ]


def set_rule(
    session: Session,
    product: Product,
    name: str,
    *,
    enabled: bool | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Switch a rule and change its settings; what is not given stays."""
    rule = RULES.get(name)
    if rule is None:
        raise NotFound(
            f"There is no screening rule {name!r}.",
            hint=f"The rules are: {', '.join(RULES)}.",
            field="rule",
        )
    for key, value in (settings or {}).items():
        if key not in rule.defaults:
            allowed = ", ".join(rule.defaults) or "none"
            raise InvalidInput(
                f"The rule {name!r} has no setting {key!r} (its settings: {allowed}).", field=key
            )
        if isinstance(rule.defaults[key], bool):
            if not isinstance(value, bool):
                raise InvalidInput(f"{key} must be true or false.", field=key)
        else:
            low, high = BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{key} must be a whole number from {low} to {high}.", field=key)
    row = session.get(FraudRule, (product.id, name))
    if row is None:
        row = FraudRule(product_id=product.id, rule=name, enabled=rule.enabled, settings={})
        session.add(row)
    if enabled is not None:
        row.enabled = enabled
    if settings:
        row.settings = {**(row.settings or {}), **settings}
    session.flush()
    return next(r for r in rules_out(session, product) if r["rule"] == name)


# --- screening ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signup:
    """What the tenant's server said about a referred signup (digests, never raw values)."""

    referred_user_id: str
    email: str | None = None
    address_hash: str | None = None
    device_hash: str | None = None
    #: The device cookie of the click that led here (``click_device``), Plaudit's own sighting.
    click_device_hash: str | None = None


def screen_signup(
    session: Session,
    product: Product,
    referrer: User,
    signup: Signup,
    *,
    now: dt.datetime,
) -> list[dict[str, str]]:
    """The reasons a new referred signup is suspicious, in plain words; [] when none fired."""
    current = rule_settings(session, product)
    reasons: list[dict[str, str]] = []
    referred = session.scalar(
        scoped(User, product.id).where(User.external_id == signup.referred_user_id)
    )
    email = signup.email or (referred.email if referred is not None else None)
    if current[SELF_REFERRAL]["enabled"]:
        reasons += _self_referral(
            session, product, referrer, referred, signup, email, current[SELF_REFERRAL]["settings"]
        )
    if current[DISPOSABLE_EMAIL]["enabled"] and email:
        domain = email_domain(email)
        if domain in blocklist:
            reasons.append(
                reason(
                    DISPOSABLE_EMAIL,
                    "disposable_domain",
                    f"The referred user's email is at {domain}, a disposable email domain.",
                )
            )
    if current[VELOCITY]["enabled"]:
        reasons += _velocity(session, product, referrer, current[VELOCITY]["settings"], now=now)
    return reasons


def _self_referral(
    session: Session,
    product: Product,
    referrer: User,
    referred: User | None,
    signup: Signup,
    email: str | None,
    settings: dict[str, Any],
) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if email and referrer.email and normalise_email(email) == normalise_email(referrer.email):
        found.append(
            reason(
                SELF_REFERRAL,
                "same_email",
                "The referred user's email is the referrer's own (after normalising case, "
                "dots and +tags).",
            )
        )
    if referred is not None and referred.account_id and referred.account_id == referrer.account_id:
        found.append(
            reason(
                SELF_REFERRAL,
                "same_account",
                "The referred user is the referrer under another user id: their signed "
                "tokens name the same account.",
            )
        )
    checks = (
        ("address", Referral.address_hash, signup.address_hash, settings["match_address"]),
        ("device", Referral.device_hash, signup.device_hash, settings["match_device"]),
        (
            "click_device",
            Referral.click_device_hash,
            signup.click_device_hash,
            settings["match_device"],
        ),
    )
    for kind, column, value, wanted in checks:
        if not wanted or value is None:
            continue
        where = _seen_with_referrer(session, product, referrer, column, value)
        if where is None:
            continue
        what = {
            "address": "The signup's client address",
            "device": "The signup's device",
            "click_device": "The browser that clicked the share link before this signup",
        }[kind]
        check = "same_address" if kind == "address" else "same_device"
        found.append(reason(SELF_REFERRAL, check, f"{what} {where}."))
    return found


def _seen_with_referrer(
    session: Session, product: Product, referrer: User, column: Any, value: str
) -> str | None:
    """Where the referrer's own traces carry this digest, in words; None if nowhere."""
    own = session.scalar(
        scoped(Referral, product.id)
        .where(Referral.referred_external_id == referrer.external_id, column == value)
        .with_only_columns(func.count())
    )
    if own:
        return "is the referrer's own, from the referrer's signup"
    earlier = session.scalar(
        scoped(Referral, product.id)
        .where(Referral.referrer_pk == referrer.id, column == value)
        .with_only_columns(func.count())
    )
    if earlier:
        plural = "signup" if earlier == 1 else "signups"
        return f"is that of {earlier} other referred {plural} of the same referrer"
    return None


def click_device(
    session: Session,
    product: Product,
    referrer: User,
    address_hash: str | None,
    *,
    now: dt.datetime,
) -> str | None:
    """The device cookie of the latest click on the referrer's link from the signup's address in
    the last day: the browser that (most likely) followed the link to this signup."""
    if address_hash is None:
        return None
    return session.scalar(
        scoped(ReferralClick, product.id)
        .where(
            ReferralClick.referrer_pk == referrer.id,
            ReferralClick.address_hash == address_hash,
            ReferralClick.device_hash.is_not(None),
            ReferralClick.created_at > now - dt.timedelta(days=1),
        )
        .order_by(ReferralClick.id.desc())
        .limit(1)
        .with_only_columns(ReferralClick.device_hash)
    )


def _velocity(
    session: Session,
    product: Product,
    referrer: User,
    settings: dict[str, Any],
    *,
    now: dt.datetime,
) -> list[dict[str, str]]:
    """Counted with this signup: the limit is how many a referrer may bring, not one fewer."""
    found: list[dict[str, str]] = []
    for window, limit, words in (
        (dt.timedelta(hours=1), settings["per_hour"], "hour"),
        (dt.timedelta(days=1), settings["per_day"], "day"),
    ):
        count = 1 + (
            session.scalar(
                scoped(Referral, product.id)
                .where(
                    Referral.referrer_pk == referrer.id,
                    Referral.signed_up_at > now - window,
                )
                .with_only_columns(func.count())
            )
            or 0
        )
        if count > limit:
            found.append(
                reason(
                    VELOCITY,
                    f"per_{words}",
                    f"The referrer's link brought {count} signups in the last {words} "
                    f"(the product allows {limit}).",
                )
            )
    return found


def screen_conversion(
    session: Session, product: Product, referral: Referral, *, now: dt.datetime
) -> list[dict[str, str]]:
    """The reasons a conversion is suspicious; [] when none fired."""
    current = rule_settings(session, product)[FAST_CONVERSION]
    if not current["enabled"]:
        return []
    seconds = (now - referral.signed_up_at).total_seconds()
    least = current["settings"]["min_seconds"]
    if seconds >= least:
        return []
    return [
        reason(
            FAST_CONVERSION,
            "converted_too_fast",
            f"The referred user converted {max(0, int(seconds))} seconds after signing up "
            f"(the product expects at least {least}).",
        )
    ]
