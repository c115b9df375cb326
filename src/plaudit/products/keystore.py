"""The keystore the token core reads: each product's verifier, built from the store, in memory.

A repeated token is answered from memory (the verifier's cache) without touching the database.
Each process polls the products' ``version`` column every ``keystore_refresh_seconds`` and
rebuilds a product whose keys, secrets, settings or revocations changed anywhere, so that
several processes on one PostgreSQL database behave as one within seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plaudit.access.cache import BoundedCache
from plaudit.access.scope import scoped
from plaudit.auth import (
    ClaimPolicy,
    KeySet,
    ParsedToken,
    TokenParser,
    VerifiedToken,
    VerifiedTokenCache,
    Verifier,
    get_profile,
    hmac_key,
    keys_from_jwks,
    public_key_from_pem,
)
from plaudit.auth.errors import TokenRevoked
from plaudit.auth.keys import VerificationKey
from plaudit.auth.profiles import TokenProfile
from plaudit.auth.refusal import ROUTING_CLAIMS, check_product_claim
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database

from .models import Product, Revocation

_ROUTE_CACHE_SIZE = 10_000
#: Each runtime built in this process gets the next number: a memo stamped with it holds for
#: that build only, whatever changed (a version, a reload, a product deleted and made again).
_BUILDS = itertools.count(1)


@dataclass(frozen=True)
class ProductRuntime:
    """What verifying one product's tokens needs, immutable; a change builds a new one."""

    product_id: str
    version: int
    verifier: Verifier
    published: bool
    allowed_origins: frozenset[str]
    revoked_jtis: frozenset[str] = frozenset()
    #: user id -> Unix time: that user's tokens issued before it are revoked.
    revoked_users: Mapping[str, float] = field(default_factory=dict)
    has_jwks: bool = False
    #: When the product was made: a product deleted and made again under the same id starts
    #: its versions again, so the poll compares both (a new one is another product).
    created_at: dt.datetime | None = None
    build: int = field(default_factory=_BUILDS.__next__)

    @property
    def profile(self) -> TokenProfile:
        return self.verifier.profile

    def cached(self, token: str, now: float) -> VerifiedToken | None:
        cache = self.verifier.cache
        return cache.get(token, now) if cache is not None else None

    def verify(self, token: str, now: float, *, parsed: ParsedToken | None = None) -> VerifiedToken:
        """Verify and apply the product's own rules; a token parsed already is not parsed again."""
        verified = (
            self.verifier.verify(token, now=now)
            if parsed is None
            else self.verifier.verify_parsed(parsed, now=now)
        )
        self.check(verified)
        return verified

    def check(self, verified: VerifiedToken) -> None:
        """The product's own rules past the core: the token's product claim, revocations."""
        check_product_claim(self.profile, verified.claims, self.product_id, verified.key_id)
        if self.revoked_jtis and verified.token_id in self.revoked_jtis:
            raise TokenRevoked(f"The token id {verified.token_id!r} has been revoked.")
        if self.revoked_users:
            cutoff = self.revoked_users.get(verified.user_id)
            if cutoff is not None and (verified.issued_at is None or verified.issued_at < cutoff):
                raise TokenRevoked("This user's tokens issued before their revocation are refused.")


def build_runtime(
    session: Session, product: Product, *, box: SecretBox, settings: Settings
) -> ProductRuntime:
    keys: list[VerificationKey] = []
    for secret in product.secrets:
        keys.append(
            hmac_key(
                box.open(secret.ciphertext),
                kid=secret.kid,
                algorithm=secret.algorithm,
                enabled=secret.enabled,
                not_after=secret.not_after.timestamp() if secret.not_after else None,
            )
        )
    for record in product.keys:
        keys.append(
            public_key_from_pem(
                record.public_pem,
                kid=record.kid,
                algorithm=record.algorithm,
                enabled=record.enabled,
                description=record.description,
            )
        )
    taken = {k.kid for k in keys}
    for source in product.jwks_sources:
        if source.jwks:
            for key in keys_from_jwks(source.jwks, skip_unusable=True):
                if key.kid not in taken:  # a registered key wins over a published one
                    keys.append(key)
                    taken.add(key.kid)
    profile = get_profile(product.profile)
    if product.user_id_claim:
        profile = profile.with_overrides(user_id=product.user_id_claim)
    policy = ClaimPolicy(
        leeway=float(product.leeway_seconds),
        max_age=product.max_token_age_seconds,
        max_lifetime=product.max_lifetime_seconds,
        require_expiry=product.require_expiry,
        issuer=product.issuer,
        audience=product.audience,
        required_claims=tuple(product.required_claims),
        token_type=product.token_type,
    )
    verifier = Verifier(
        KeySet(keys, max_kidless=settings.max_keys_tried_without_kid),
        policy=policy,
        profile=profile,
        parser=TokenParser(max_bytes=settings.max_token_bytes),
        cache=VerifiedTokenCache(
            max_entries=settings.verified_cache_size, ttl=settings.verified_cache_ttl_seconds
        ),
    )
    jtis: set[str] = set()
    users: dict[str, float] = {}
    for revocation in session.scalars(scoped(Revocation, product.id)):
        if revocation.jti:
            jtis.add(revocation.jti)
        if revocation.user_id and revocation.issued_before:
            ts = revocation.issued_before.timestamp()
            users[revocation.user_id] = max(ts, users.get(revocation.user_id, ts))
    return ProductRuntime(
        product_id=product.id,
        version=product.version,
        verifier=verifier,
        published=product.published,
        allowed_origins=frozenset(product.allowed_origins),
        revoked_jtis=frozenset(jtis),
        revoked_users=users,
        has_jwks=bool(product.jwks_sources),
        created_at=product.created_at,
    )


class Keystore:
    """Every product's runtime this process has needed, kept fresh by ``refresh()``."""

    def __init__(self, db: Database, *, box: SecretBox, settings: Settings) -> None:
        self._db = db
        self._box = box
        self._settings = settings
        self._runtimes: dict[str, ProductRuntime] = {}
        #: routing values -> (product id or None, monotonic expiry); misses expire fast so a
        #: product created by another process becomes reachable within seconds.
        self._routes: BoundedCache[tuple[str, ...], tuple[str | None, float]] = BoundedCache(
            _ROUTE_CACHE_SIZE
        )
        #: Moves whenever the routes are forgotten (a product changed here or anywhere): a route
        #: remembered under an older epoch is decided again.
        self.routing_epoch = 0
        self._lock = threading.Lock()

    def get(self, product_id: str) -> ProductRuntime | None:
        """The runtime in memory, or None: never touches the database."""
        return self._runtimes.get(product_id)

    def load(self, product_id: str) -> ProductRuntime | None:
        """The runtime, built from the database if this process has not built it yet."""
        runtime = self._runtimes.get(product_id)
        if runtime is not None:
            return runtime
        if "\x00" in product_id:  # no product has one, and PostgreSQL refuses to compare it
            return None
        with self._db.session() as session:
            product = session.get(Product, product_id)
            if product is None:
                return None
            runtime = build_runtime(session, product, box=self._box, settings=self._settings)
        with self._lock:
            current = self._runtimes.get(product_id)
            if current is None or current.version < runtime.version:
                self._runtimes[product_id] = runtime
            return self._runtimes[product_id]

    def reload(self, product_id: str) -> ProductRuntime | None:
        """Rebuild now, after a change this process made (others see it on their next poll)."""
        with self._lock:
            self._runtimes.pop(product_id, None)
            self._forget_routes()
        return self.load(product_id)

    def refresh(self) -> list[str]:
        """Rebuild every loaded product whose version moved; drop deleted ones."""
        loaded = {pid: (rt.version, rt.created_at) for pid, rt in self._runtimes.items()}
        if not loaded:
            return []
        with self._db.session() as session:
            rows = session.execute(
                select(Product.id, Product.version, Product.created_at).where(
                    Product.id.in_(loaded)
                )
            )
            current = {pid: (version, created) for pid, version, created in rows}
        changed = [pid for pid, version in loaded.items() if current.get(pid) != version]
        if changed:
            with self._lock:
                for pid in changed:
                    self._runtimes.pop(pid, None)
                self._forget_routes()
            for pid in changed:
                if pid in current:
                    self.load(pid)
        return changed

    def _forget_routes(self) -> None:
        """Under the lock: every routing decision is made again, from the store."""
        self._routes.clear()
        self.routing_epoch += 1

    def route(self, claims: Mapping[str, Any]) -> str | None:
        """The product a token's own claims name, for routing only (its keys then judge it)."""
        candidates = tuple(_routing_values(claims))
        if not candidates:
            return None
        cached = self._routes.get(candidates)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with self._db.session() as session:
            # A product's own id wins over any audience: ids are fixed and no product may take
            # another's id as its audience, so a value a tenant can set (its audience) never
            # makes another product's tokens ambiguous. Audiences route only tokens that name
            # no product by id.
            matches = list(
                dict.fromkeys(pid for pid in candidates if session.get(Product, pid) is not None)
            ) or list(
                session.scalars(
                    select(Product.id)
                    .where(or_(Product.audience.in_(candidates)))
                    .order_by(Product.id)
                )
            )
        found = matches[0] if len(matches) == 1 else None
        ttl = 3600.0 if found else self._settings.keystore_refresh_seconds
        self._routes.put(candidates, (found, time.monotonic() + ttl))
        return found


def _routing_values(claims: Mapping[str, Any]) -> list[str]:
    values: list[str] = []
    for name in ROUTING_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and 0 < len(value) <= 255:
            values.append(value)
        elif isinstance(value, list):
            values += [v for v in value[:10] if isinstance(v, str) and 0 < len(v) <= 255]
    # A NUL names no product, and PostgreSQL refuses to compare text holding one.
    return [v for v in values if "\x00" not in v]
