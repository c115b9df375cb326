"""Earning rules: which events earn how many points, within which limits."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.products.models import Product
from plaudit.store.memo import forget, remembered
from plaudit.store.upsert import dialect_of
from plaudit.users.models import User

from . import ledger
from .items import all_of, one_of
from .models import EarningRule, LedgerEntry, LoyaltyAccount
from .periods import day_start, local_day
from .schemas import RuleCreate, RuleUpdate, check_client_safety


def list_rules(
    session: Session, product: Product, *, enabled_only: bool = False
) -> list[EarningRule]:
    return all_of(session, EarningRule, product, enabled_only=enabled_only)


def get_rule(session: Session, product: Product, rule_id: str) -> EarningRule:
    return one_of(session, EarningRule, product, rule_id, "earning rule")


def create_rule(session: Session, product: Product, body: RuleCreate) -> EarningRule:
    rule = EarningRule(
        id="rule_" + secrets.token_hex(8),
        product_id=product.id,
        **body.model_dump(),
    )
    session.add(rule)
    session.flush()
    forget(session)
    return rule


def update_rule(session: Session, product: Product, rule_id: str, body: RuleUpdate) -> EarningRule:
    rule = get_rule(session, product, rule_id)
    changes = body.model_dump(exclude_unset=True)
    if "points" in changes and rule.points is None and changes["points"] is not None:
        raise InvalidInput("This rule earns by a property's value; set 'rate'.", field="points")
    if "rate" in changes and rule.rate is None and changes["rate"] is not None:
        raise InvalidInput("This rule earns a fixed amount; set 'points'.", field="rate")
    for name, value in changes.items():
        if value is None and name in (
            "name",
            "once",
            "server_only",
            "client_safe",
            "enabled",
            "points",
            "rate",
        ):
            raise InvalidInput(f"'{name}' cannot be null.", field=name)
    merged = {
        name: changes.get(name, getattr(rule, name))
        for name in ("client_safe", "server_only", "max_points_per_event")
    }
    try:
        check_client_safety(property_rule=rule.points is None, **merged)
    except ValueError as exc:
        field = next((n for n in ("client_safe", "max_points_per_event") if n in changes), None)
        raise InvalidInput(str(exc), field=field or "server_only") from None
    for name, value in changes.items():
        setattr(rule, name, value)
    session.flush()
    forget(session)
    return rule


def delete_rule(session: Session, product: Product, rule_id: str) -> None:
    session.delete(get_rule(session, product, rule_id))
    forget(session)


def points_for(rule: EarningRule, properties: dict[str, Any]) -> int:
    """What one event earns under this rule: 0 when a property rule's value is missing,
    not a number, or rounds down to nothing."""
    if rule.points is not None:
        return rule.points
    value = properties.get(rule.property or "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    earned = (Decimal(str(value)) * Decimal(repr(rule.rate))).to_integral_value(ROUND_FLOOR)
    cap = min(rule.max_points_per_event or ledger.MAX_POINTS, ledger.MAX_POINTS)
    return int(min(max(earned, Decimal(0)), Decimal(cap)))


def servers_only(rule: EarningRule) -> bool:
    """Whether only the tenant's servers earn by the rule: set so, or a property rule (whose
    value a browser would choose) not marked client_safe."""
    return rule.server_only or (rule.points is None and not rule.client_safe)


def describe(rule: EarningRule) -> str:
    if rule.points is not None:
        what = f"{rule.points} point{'s' if rule.points != 1 else ''}"
    else:
        rate = f"{rule.rate:g}"
        what = f"{rate} point{'s' if rate != '1' else ''} per {rule.property}"
    if rule.points is None and rule.max_points_per_event:
        what += f", at most {rule.max_points_per_event} per event"
    if rule.once:
        what += ", once"
    elif rule.limit_per_day:
        times = "once" if rule.limit_per_day == 1 else f"up to {rule.limit_per_day} times"
        what += f", {times} a day"
    return what


def rule_dict(rule: EarningRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "event_type": rule.event_type,
        "points": rule.points,
        "property": rule.property,
        "rate": rule.rate,
        "limit_per_day": rule.limit_per_day,
        "once": rule.once,
        "server_only": servers_only(rule),
        "client_safe": rule.client_safe,
        "max_points_per_event": rule.max_points_per_event,
        "enabled": rule.enabled,
        "description": describe(rule),
    }


def rules_for(session: Session, product: Product, event_type: str) -> list[EarningRule]:
    """The product's enabled rules for an event type, read once per transaction."""
    by_type = remembered(session, ("rules", product.id), lambda: _by_type(session, product))
    return by_type.get(event_type, [])


def _by_type(session: Session, product: Product) -> dict[str, list[EarningRule]]:
    grouped: dict[str, list[EarningRule]] = {}
    for rule in list_rules(session, product, enabled_only=True):
        grouped.setdefault(rule.event_type, []).append(rule)
    return grouped


def apply_rules(
    session: Session,
    product: Product,
    user: User,
    *,
    event_type: str,
    properties: dict[str, Any],
    event_id: str,
    source: str,
    now: dt.datetime,
) -> list[ledger.Entry]:
    """Credit what an event earns under each of the product's enabled rules for its type
    (a browser's event, ``source`` "client", only under rules not kept for servers)."""
    rules = [
        rule
        for rule in rules_for(session, product, event_type)
        if not (source == "client" and servers_only(rule))
    ]
    if not rules:
        return []
    if any(rule.once or rule.limit_per_day for rule in rules):
        # Serialise one user's limited earns: counting and crediting must be one step. (SQLite
        # runs one writer at a time already.)
        ledger.ensure_account(session, user)
        if dialect_of(session) == "postgresql":
            session.execute(
                select(LoyaltyAccount.user_pk)
                .where(LoyaltyAccount.user_pk == user.id)
                .with_for_update()
            )
    entries = []
    for rule in rules:
        points = points_for(rule, properties)
        if points <= 0 or _limit_reached(session, product, user, rule, now):
            continue
        entries.append(
            ledger.credit(
                session,
                product,
                user,
                points=points,
                kind="earn",
                reason=rule.name,
                now=now,
                rule_id=rule.id,
                event_id=event_id,
            )
        )
    return entries


def _limit_reached(
    session: Session, product: Product, user: User, rule: EarningRule, now: dt.datetime
) -> bool:
    if not rule.once and not rule.limit_per_day:
        return False
    query = (
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.user_pk == user.id, LedgerEntry.rule_id == rule.id)
    )
    if rule.once:
        return bool(session.scalar(query))
    since = day_start(local_day(now, product.time_zone), product.time_zone)
    earned_today = session.scalar(query.where(LedgerEntry.created_at >= since)) or 0
    return earned_today >= (rule.limit_per_day or 0)
