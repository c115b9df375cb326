"""Token profiles: where a token shape keeps the user, the product, the scopes and the profile.

Each integration guide a tenant may follow produces one shape of token. A profile describes that
shape declaratively, so that supporting a new one is a new table entry, not new code:

``standard``     the gamification API guide: ``sub``, ``iss``, ``aud``, ``iat``, ``exp``, ``scope``
``reditus``      the referral widget guide: ``ProductId``, ``UserId``, ``iat``, HS512, no ``exp``
``xtremepush``   the loyalty widget guide: ``sub`` and ``exp``, RS256 with uploaded keys and ``kid``
``saasquatch``   the referral platform guide: a ``user`` object (id, accountId, names, email,
                 locale, referralCode), HS256, ``exp`` optional
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .claims import is_missing, resolve
from .encoding import quote
from .errors import InvalidClaim, InvalidUserId, MissingRequiredClaim

MAX_USER_ID_LENGTH = 255
MAX_FIELD_LENGTH = 512
DEFAULT_SCOPES = frozenset({"read", "write"})
#: C0 and C1 control characters and DEL: never part of an identifier.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class TokenProfile:
    """A token shape.

    ``fields`` maps a profile field to the claim paths that may carry it, first match wins
    (the referral platform guide's examples spell the account id both ``accountId`` and
    ``account``). ``default_scopes`` are granted when the token carries no scope claim, as the
    tokens of three of the four guides do not.
    """

    name: str
    title: str
    user_id: str
    required_claims: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("HS256",)
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    product_claim: str | None = None
    scope_claims: tuple[str, ...] = ("scope", "scp")
    default_scopes: frozenset[str] = DEFAULT_SCOPES
    #: A new product's maximum token age (seconds since ``iat``), so that tokens without
    #: ``exp`` still age out; None where the guide's tokens may carry neither exp nor iat.
    default_max_age: int | None = 86_400
    guide: str = ""

    def user_id_of(self, claims: Mapping[str, Any]) -> str:
        value = claims.get(self.user_id)
        if (
            value.__class__ is str
            and 0 < len(value) <= MAX_USER_ID_LENGTH
            and value.isprintable()
            and value.strip()
        ):
            return value  # the common case: a plain string id
        value = resolve(claims, self.user_id)
        if is_missing(value) or value is None:
            raise MissingRequiredClaim(
                f"The token has no user id (the {quote(self.user_id)} claim of the "
                f"{self.name} profile).",
                claim=self.user_id,
            )
        if type(value) is int:
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_USER_ID_LENGTH:
            raise InvalidClaim(
                f"The user id {quote(self.user_id)} must be a non-empty string of at most "
                f"{MAX_USER_ID_LENGTH} characters, or an integer.",
                claim=self.user_id,
            )
        if CONTROL_CHARACTERS.search(value):
            raise InvalidUserId(
                f"The user id {quote(self.user_id)} holds a control character.",
                claim=self.user_id,
            )
        return value

    def product_of(self, claims: Mapping[str, Any]) -> str | None:
        """The product a token names, for routing only: it never grants anything by itself."""
        if self.product_claim is None:
            return None
        value = resolve(claims, self.product_claim)
        if is_missing(value):
            return None
        if not isinstance(value, str) or not value:
            raise InvalidClaim(
                f"The claim {quote(self.product_claim)} must be a string.",
                claim=self.product_claim,
            )
        return value

    def scopes_of(self, claims: Mapping[str, Any]) -> frozenset[str]:
        for name in self.scope_claims:
            value = claims.get(name)
            if value is None:
                continue
            if isinstance(value, str):
                return frozenset(value.split())
            if isinstance(value, list):
                try:
                    # str.join checks every item is a string in C, where all(isinstance(...))
                    # costs a Python call per item.
                    " ".join(value)
                except TypeError:
                    pass
                else:
                    return frozenset(value)
            raise InvalidClaim(
                f"The claim {quote(name)} must be an array of strings or a space-separated string.",
                claim=name,
            )
        return self.default_scopes

    def profile_of(self, claims: Mapping[str, Any]) -> dict[str, str]:
        """The user profile fields the token carries (strings only; others are left out)."""
        found: dict[str, str] = {}
        for name, paths in self.fields.items():
            for path in paths:
                value = claims.get(path)
                if value is None and "." in path:
                    value = resolve(claims, path)
                if isinstance(value, str) and value and len(value) <= MAX_FIELD_LENGTH:
                    found[name] = value
                    break
        return found

    def with_overrides(
        self,
        *,
        user_id: str | None = None,
        product_claim: str | None = None,
        fields: Mapping[str, tuple[str, ...]] | None = None,
        scope_claims: tuple[str, ...] | None = None,
    ) -> TokenProfile:
        """This profile with custom claim paths (a tenant whose tokens put things elsewhere)."""
        merged = dict(self.fields)
        if fields:
            merged.update(fields)
        return TokenProfile(
            name=self.name,
            title=self.title,
            user_id=user_id or self.user_id,
            required_claims=self.required_claims
            if user_id is None
            else (*(c for c in self.required_claims if c != self.user_id), user_id),
            algorithms=self.algorithms,
            fields=MappingProxyType(merged),
            product_claim=product_claim if product_claim is not None else self.product_claim,
            scope_claims=scope_claims if scope_claims is not None else self.scope_claims,
            default_scopes=self.default_scopes,
            default_max_age=self.default_max_age,
            guide=self.guide,
        )


_OIDC_FIELDS = {
    "email": ("email",),
    "first_name": ("given_name", "first_name", "firstName"),
    "last_name": ("family_name", "last_name", "lastName"),
    "name": ("name",),
    "locale": ("locale",),
}

STANDARD = TokenProfile(
    name="standard",
    title="Standard claims (sub, iss, aud, iat, exp, scope)",
    user_id="sub",
    required_claims=("sub", "iss", "aud", "iat", "exp"),
    algorithms=("HS256",),
    fields=MappingProxyType(_OIDC_FIELDS),
    guide="docs/integrations/standard.md",
)

REDITUS = TokenProfile(
    name="reditus",
    title="Referral widget (ProductId, UserId, iat; HS512)",
    user_id="UserId",
    required_claims=("ProductId", "UserId", "iat"),
    algorithms=("HS512",),
    product_claim="ProductId",
    guide="docs/integrations/reditus.md",
)

XTREMEPUSH = TokenProfile(
    name="xtremepush",
    title="Loyalty widget (sub, exp; RS256 with uploaded keys and kid)",
    user_id="sub",
    required_claims=("sub", "exp"),
    algorithms=("RS256",),
    fields=MappingProxyType(_OIDC_FIELDS),
    guide="docs/integrations/xtremepush.md",
)

SAASQUATCH = TokenProfile(
    name="saasquatch",
    title="Referral platform (a user object; HS256; exp optional)",
    user_id="user.id",
    required_claims=("user.id",),
    algorithms=("HS256",),
    fields=MappingProxyType(
        {
            "account_id": ("user.accountId", "user.account"),
            "first_name": ("user.firstName",),
            "last_name": ("user.lastName",),
            "email": ("user.email",),
            "locale": ("user.locale",),
            "referral_code": ("user.referralCode",),
        }
    ),
    # "Not having an expiry works" in that guide, and its tokens carry no iat: a max age could
    # only refuse them. A tenant bounds them by signing exp, or sets max_token_age_seconds.
    default_max_age=None,
    guide="docs/integrations/saasquatch.md",
)

PROFILES: Mapping[str, TokenProfile] = MappingProxyType(
    {p.name: p for p in (STANDARD, REDITUS, XTREMEPUSH, SAASQUATCH)}
)


def get_profile(name: str) -> TokenProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"Unknown token profile {quote(name)}; choose one of {', '.join(PROFILES)}."
        ) from None


def guess_profile(claims: Mapping[str, Any]) -> TokenProfile | None:
    """The profile a token's claims look like, for ``token inspect`` and the console's hints."""
    if "UserId" in claims and "ProductId" in claims:
        return REDITUS
    if isinstance(claims.get("user"), Mapping):
        return SAASQUATCH
    if "sub" in claims:
        if all(c in claims for c in ("iss", "aud", "iat")):
            return STANDARD
        return XTREMEPUSH
    return None
