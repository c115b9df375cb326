"""Routing no tenant can steer: the values a token's claims route by belong to one product.

A token that names no product in its path or header is routed by its own claims (``ProductId``,
``aud``; see ``keystore.route``): the claim value is matched against every product's id and
audience, and a value two products answer to routes nowhere. So a product's audience and
issuer may not name another product (its id), nor repeat a value another product routes by
(its audience); nor may a new product take an id another product already uses that way.
Without this, one tenant's API key could set its audience to another product's id and turn
every claim-routed token of that product into ``unknown_product``.

Only values that change are checked, so a conflict stored before this rule existed (listed by
``plaudit products check-routing``) never stops a tenant from saving its other settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plaudit.errors import Conflict

from .models import Product

#: The settings a token's claims are compared with, and whose values must not name another
#: product. The audience is a routing value; the issuer is held to the same rule because the
#: gamification guide signs the tenant's own id into ``iss``.
ROUTING_SETTINGS = ("audience", "issuer")


class RoutingConflict(Conflict):
    code = "routing_conflict"
    description = "The value names another product, or another product routes tokens by it."
    hint = (
        "Use a value of your own (your product's id, or a URL you control) for 'audience' and "
        "'issuer'; an operator lists stored conflicts with 'plaudit products check-routing'."
    )


def refuse_steering(session: Session, product_id: str, *, values: dict[str, str | None]) -> None:
    """Refuse a setting (``audience``/``issuer``) whose new value belongs to another product.

    ``values`` maps the setting's name to its new value; None (cleared) is always allowed.
    """
    for name, value in values.items():
        if value is None or value == product_id:
            continue
        owner = _other_owner(session, product_id, name, value)
        if owner is not None:
            raise RoutingConflict(
                f"'{name}' cannot be {value!r}: another product {owner}.",
                field=name,
            )


def refuse_taken_id(session: Session, product_id: str) -> None:
    """Refuse a new product id that another product already routes by (its audience) or signs
    as its issuer: claim-routed tokens of that product would stop routing."""
    other = session.scalar(
        select(Product.id)
        .where(or_(Product.audience == product_id, Product.issuer == product_id))
        .order_by(Product.id)
        .limit(1)
    )
    if other is not None:
        raise RoutingConflict(
            f"The id {product_id!r} is the audience or issuer of another product.",
            hint="Choose another id; the other product's tokens are routed by this value.",
            field="id",
        )


def _other_owner(session: Session, product_id: str, setting: str, value: str) -> str | None:
    """How another product uses ``value``, or None when it may be shared (two issuers). Never
    names that product: a tenant learns that the value is taken, not whose it is."""
    if "\x00" in value:
        return None  # no product has one, and PostgreSQL refuses to compare text holding one
    if session.get(Product, value) is not None:
        return "has this id"
    others = select(Product.id).where(Product.id != product_id).limit(1)
    if session.scalar(others.where(Product.audience == value)) is not None:
        return "routes tokens by this audience"
    if setting == "audience" and session.scalar(others.where(Product.issuer == value)):
        return "signs its tokens with this issuer"
    return None


@dataclass(frozen=True)
class StoredConflict:
    """A routing value more than one product answers to, as stored."""

    value: str
    products: tuple[str, ...]
    #: How each product uses the value ("id", "audience", "issuer"), in the order of products.
    uses: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "products": list(self.products),
            "uses": list(self.uses),
        }


def stored_conflicts(session: Session) -> list[StoredConflict]:
    """Every value that two products answer to: an id that is another's audience or issuer,
    or one audience shared by two products (a token naming only that audience routes nowhere).
    Listed in a stable order: by value, then the id's owner first, then audience, then issuer."""
    rows = list(
        session.execute(select(Product.id, Product.audience, Product.issuer).order_by(Product.id))
    )
    users: dict[str, list[tuple[str, str]]] = {}
    for product_id, audience, issuer in rows:
        users.setdefault(product_id, []).append((product_id, "id"))
        if audience is not None and audience != product_id:
            users.setdefault(audience, []).append((product_id, "audience"))
        if issuer is not None and issuer != product_id:
            users.setdefault(issuer, []).append((product_id, "issuer"))
    conflicts = []
    for value, uses in sorted(users.items()):
        if _conflicting(uses):
            ordered = sorted(uses, key=lambda use: (_KIND_ORDER[use[1]], use[0]))
            conflicts.append(
                StoredConflict(
                    value=value,
                    products=tuple(p for p, _ in ordered),
                    uses=tuple(u for _, u in ordered),
                )
            )
    return conflicts


_KIND_ORDER = {"id": 0, "audience": 1, "issuer": 2}


def _conflicting(uses: Iterable[tuple[str, str]]) -> bool:
    kinds = [kind for _, kind in uses]
    products = {product for product, _ in uses}
    if len(products) < 2:
        return False
    # Issuers alone may be shared (two products of one identity provider); an id or an
    # audience that another product also uses is a conflict.
    return any(kind != "issuer" for kind in kinds)
