"""Earning rules: which events earn how many points, within which limits."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.events.repository import Member
from plaudit.events.schemas import MAX_AHEAD
from plaudit.periods import day_start, local_day
from plaudit.products.models import Product
from plaudit.products.programs import programs_changed
from plaudit.store.upsert import dialect_of

from . import entries, repository
from .models import EarningRule
from .schemas import RuleCreate, RuleUpdate, check_client_safety


def list_rules(
    session: Session, product: Product, *, enabled_only: bool = False
) -> list[EarningRule]:
    return repository.rules(session, product.id, enabled_only=enabled_only)


def get_rule(session: Session, product: Product, rule_id: str) -> EarningRule:
    return repository.rule(session, product.id, rule_id)


def create_rule(session: Session, product: Product, body: RuleCreate) -> EarningRule:
    rule = EarningRule(
        id="rule_" + secrets.token_hex(8),
        product_id=product.id,
        **body.model_dump(),
    )
    session.add(rule)
    session.flush()
    programs_changed(session, product.id)
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
    programs_changed(session, product.id)
    return rule


def delete_rule(session: Session, product: Product, rule_id: str) -> None:
    session.delete(get_rule(session, product, rule_id))
    programs_changed(session, product.id)


class Terms(NamedTuple):
    """A rule as a batch applies it: its columns read once, its rate as a Decimal."""

    rule: EarningRule
    id: str
    name: str
    points: int | None
    property: str
    rate: Decimal
    cap: int
    once: bool
    limit_per_day: int | None
    servers_only: bool

    @classmethod
    def of(cls, rule: EarningRule) -> Terms:
        return cls(
            rule=rule,
            id=rule.id,
            name=rule.name,
            points=rule.points,
            property=rule.property or "",
            rate=Decimal(repr(rule.rate)) if rule.rate is not None else Decimal(0),
            cap=min(rule.max_points_per_event or entries.MAX_POINTS, entries.MAX_POINTS),
            once=rule.once,
            limit_per_day=rule.limit_per_day,
            servers_only=rule.servers_only,
        )


def _points(terms: Terms, properties: dict[str, Any]) -> int:
    if terms.points is not None:
        return terms.points
    value = properties.get(terms.property)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    earned = (Decimal(str(value)) * terms.rate).to_integral_value(ROUND_FLOOR)
    return int(min(max(earned, Decimal(0)), Decimal(terms.cap)))


def enabled_by_type(session: Session, product: Product) -> dict[str, list[EarningRule]]:
    """The product's enabled rules by event type: what a batch of events reads once."""
    grouped: dict[str, list[EarningRule]] = {}
    for rule in list_rules(session, product, enabled_only=True):
        grouped.setdefault(rule.event_type, []).append(rule)
    return grouped


def earnings(
    session: Session,
    product: Product,
    events: Sequence[tuple[Member, Sequence[EarningRule], dict[str, Any]]],
    *,
    source: str,
    now: dt.datetime,
    days: Sequence[dt.date] | None = None,
) -> list[list[tuple[EarningRule, int]]]:
    """What each event of a batch earns, in order: (rule, points) under each of its rules
    (the product's enabled rules for its type; a browser's event, ``source`` "client", only
    under rules not kept for servers), within the rules' limits. ``days``: the local day each
    event happened on (default: today for all), the day its ``limit_per_day`` counts on.

    Limits are counted once for the batch, then in memory event by event, so a limit reached
    in the middle of a batch stops the later events exactly where one request per event
    would. On PostgreSQL the users' account rows are locked first (in one order, so that two
    batches never wait on each other in a circle): counting and crediting are one step for a
    user whoever else is writing. (SQLite runs one writer at a time already.)"""
    read: dict[int, Terms] = {}
    kept: dict[int, list[Terms]] = {}  # by id() of the rule list: one per event type
    applicable: list[tuple[Member, list[Terms], dict[str, Any]]] = []
    for user, rules, properties in events:
        terms = kept.get(id(rules))
        if terms is None:
            terms = []
            for rule in rules:
                found = read.get(id(rule))
                if found is None:
                    found = read[id(rule)] = Terms.of(rule)
                if not (source == "client" and found.servers_only):
                    terms.append(found)
            kept[id(rules)] = terms
        applicable.append((user, terms, properties))
    today = local_day(now, product.time_zone)
    on = list(days) if days is not None else [today] * len(applicable)
    limited = {
        (user.id, t.id): t.rule
        for user, terms, _ in applicable
        for t in terms
        if t.once or t.limit_per_day
    }
    counts: dict[tuple[Any, ...], int] = {}
    if limited:
        counts = _earned_counts(session, product, limited, set(on))
    out: list[list[tuple[EarningRule, int]]] = []
    for (user, terms, properties), day in zip(applicable, on, strict=True):
        earned = []
        for t in terms:
            points = _points(t, properties)
            if points <= 0:
                continue
            if t.once or t.limit_per_day:
                key: tuple[Any, ...] = (user.id, t.id) if t.once else (user.id, t.id, day)
                if counts.get(key, 0) >= (1 if t.once else t.limit_per_day or 0):
                    continue
                counts[key] = counts.get(key, 0) + 1
            earned.append((t.rule, points))
        out.append(earned)
    return out


def _earned_counts(
    session: Session,
    product: Product,
    limited: dict[tuple[int, str], EarningRule],
    days: set[dt.date],
) -> dict[tuple[Any, ...], int]:
    """How often each (user, limited rule) earned: ever for a once rule, keyed (user, rule);
    for a daily one, on each of ``days`` by when its event happened, keyed (user, rule, day)."""
    users = sorted({user_pk for user_pk, _ in limited})
    entries.ensure_accounts(session, product.id, users)
    if dialect_of(session) == "postgresql":
        repository.lock_accounts(session, product.id, users)
    once = {rule.id for rule in limited.values() if rule.once}
    daily = {rule.id for rule in limited.values() if not rule.once}
    counts: dict[tuple[Any, ...], int] = dict(
        repository.earned_by_rules(session, product.id, users, once)
    )
    if daily:
        zone = product.time_zone
        for user_pk, rule_id, at in repository.earned_between(
            session,
            product.id,
            users,
            daily,
            start=day_start(min(days), zone),
            end=day_start(max(days) + dt.timedelta(days=1), zone),
            ahead=MAX_AHEAD,
        ):
            key = (user_pk, rule_id, local_day(at, zone))
            counts[key] = counts.get(key, 0) + 1
    return counts
