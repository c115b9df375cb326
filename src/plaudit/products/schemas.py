"""The shapes of the product API: one validation for the HTTP API, the CLI and the console."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from plaudit.auth import public_key_from_pem
from plaudit.auth.algorithms import ALGORITHMS
from plaudit.auth.profiles import PROFILES
from plaudit.shapes import Identifier, Strict, valid_zone
from plaudit.store.base import utcnow

from .models import JwksSource, ProductSecret, PublicKeyRecord

PRODUCT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}")
ProfileName = Literal["standard", "reditus", "xtremepush", "saasquatch"]
HmacAlgorithm = Literal["HS256", "HS384", "HS512"]
if set(ProfileName.__args__) != set(PROFILES):  # type: ignore[attr-defined]
    raise RuntimeError("ProfileName must list every token profile")


#: The shapes the validators below enforce, also written into the OpenAPI document.
ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"
URL_PATTERN = r"^https?://[!-~]+$"


class ProductCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(
        default=None,
        description="Your own id for the product (3-64 letters, digits, - and _).",
        json_schema_extra={"pattern": "^" + PRODUCT_ID.pattern + "$"},
    )
    profile: ProfileName = "standard"

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not PRODUCT_ID.fullmatch(value):
            raise ValueError(
                "must be 3 to 64 letters, digits, '-' or '_', starting with a letter or digit"
            )
        return value


DEFAULT_THEME = {"primary": "#4f46e5", "background": "#ffffff", "text": "#111827"}


class Theme(Strict):
    """The widget's colours, as #rrggbb."""

    primary: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    background: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    text: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")


class ProductSettings(Strict):
    """Every setting a tenant may change. Unknown fields are refused by name."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    profile: ProfileName | None = None
    issuer: Identifier | None = Field(default=None, max_length=255)
    audience: Identifier | None = Field(default=None, max_length=255)
    required_claims: list[str] | None = Field(
        default=None,
        max_length=32,
        json_schema_extra={"items": {"type": "string", "minLength": 1, "maxLength": 255}},
    )
    leeway_seconds: int | None = Field(default=None, ge=0, le=600)
    max_token_age_seconds: int | None = Field(default=None, ge=1, le=31_536_000)
    max_lifetime_seconds: int | None = Field(default=None, ge=1, le=31_536_000)
    require_expiry: bool | None = None
    token_type: Identifier | None = Field(default=None, max_length=64)
    user_id_claim: Identifier | None = Field(default=None, min_length=1, max_length=255)
    published: bool | None = None
    allowed_origins: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Origins whose pages may call the client API (scheme, host, optional port).",
        json_schema_extra={"items": {"type": "string", "pattern": ORIGIN_PATTERN}},
    )
    referral_landing_url: str | None = Field(
        default=None, max_length=2048, json_schema_extra={"pattern": URL_PATTERN}
    )
    referral_reward_kind: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_ -]+$",
        description="What a referrer earns, e.g. 'credit', 'points', 'months free'.",
    )
    referral_reward_amount: int | None = Field(default=None, ge=0, le=1_000_000_000)
    referral_reward_on: Literal["signup", "conversion"] | None = None
    theme: Theme | None = None
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone (e.g. Europe/Berlin) in which streak days, weekly and "
        "monthly leaderboards are counted.",
    )
    points_expire_after_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="A balance with no earn for this many days expires; null: never.",
    )
    # --- points lots and holds (ledger) ---
    points_lot_expiry_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Each earned lot of points expires this many days after it was earned "
        "(an earning rule may say otherwise); null: lots never expire.",
    )
    points_hold_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="Points earned by rules are pending (not spendable) for this many days "
        "(an earning rule may say otherwise); null: available at once.",
    )
    points_expiring_notice_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="Send points.expiring this many days before a lot expires; null: never.",
    )
    # --- referral reward holds (issue 14, referrals/) ---
    referral_reward_hold_days: int | None = Field(
        default=None,
        ge=0,
        le=365,
        description="A referral reward stays pending this many days before it is granted "
        "(a refund in that time cancels it); 0: granted at once.",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not valid_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Europe/Berlin', 'UTC')")
        return value

    @field_validator("required_claims")
    @classmethod
    def _claim_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not c or len(c) > 255 for c in value):
            raise ValueError("claim names are 1 to 255 characters")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = []
        for given in value:
            origin = given.rstrip("/")
            if not re.fullmatch(ORIGIN_PATTERN, given):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme, host and optional port, no path "
                    "(e.g. https://app.example.com)"
                )
            cleaned.append(origin.lower())
        return cleaned

    @field_validator("referral_landing_url")
    @classmethod
    def _landing(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(URL_PATTERN, value):
            raise ValueError("must be an http(s) URL")
        return value


NULLABLE_SETTINGS = frozenset(
    {
        "issuer",
        "audience",
        "max_token_age_seconds",
        "max_lifetime_seconds",
        "token_type",
        "user_id_claim",
        "referral_landing_url",
        "theme",
        "points_expire_after_days",
        # points lots and holds (ledger)
        "points_lot_expiry_days",
        "points_hold_days",
        "points_expiring_notice_days",
    }
)


class SecretCreate(Strict):
    value: str | None = Field(
        default=None,
        description="Import the secret your backend already signs with; leave out to generate one.",
        max_length=4096,
    )
    algorithm: HmacAlgorithm | None = None
    kid: Identifier | None = Field(default=None, max_length=256)
    grace_seconds: int = Field(
        default=3600,
        ge=0,
        le=30 * 86_400,
        description="How long the previous secrets keep verifying.",
    )


class KeyCreate(Strict):
    public_key: str | None = Field(default=None, description="A PEM public key.", max_length=16_384)
    jwk: dict[str, Any] | None = None
    kid: Identifier | None = Field(default=None, max_length=256)
    description: str = Field(default="", max_length=500)
    enabled: bool = True
    algorithm: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> KeyCreate:
        if (self.public_key is None) == (self.jwk is None):
            raise ValueError("give exactly one of 'public_key' (PEM) and 'jwk'")
        if self.algorithm is not None and self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}")
        return self


class KeyUpdate(Strict):
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class JwksSourceCreate(Strict):
    url: str = Field(max_length=2048)
    refresh_seconds: int = Field(default=3600, ge=60, le=7 * 86_400)

    @field_validator("url")
    @classmethod
    def _parsable(cls, value: str) -> str:
        try:
            urlsplit(value).port  # noqa: B018  # raises on a bad IPv6 host or port
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        return value


class RevocationCreate(Strict):
    jti: Identifier | None = Field(default=None, min_length=1, max_length=255)
    user_id: Identifier | None = Field(default=None, min_length=1, max_length=255)
    issued_before: dt.datetime | None = None
    reason: str = Field(default="", max_length=500)

    @field_validator("issued_before")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # a moment without a zone is UTC
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("is out of range") from None

    @model_validator(mode="after")
    def _one_target(self) -> RevocationCreate:
        if (self.jti is None) == (self.user_id is None):
            raise ValueError("give either 'jti', or 'user_id' (with an optional 'issued_before')")
        if self.jti is not None and self.issued_before is not None:
            raise ValueError("'issued_before' goes with 'user_id', not with 'jti'")
        return self


class ApiKeyCreate(Strict):
    name: str = Field(default="default", min_length=1, max_length=200)


# --- responses ----------------------------------------------------------------------------


# A response read from a row's attributes (``Model.model_validate(row)``). Comments, not
# docstrings, on response models: a docstring would become the OpenAPI schema's description.
class Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _attributes(row: object, model: type[BaseModel]) -> dict[str, Any]:
    """The row's attributes that ``model`` has fields for: what a computed field is added to."""
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


class ProductOut(Row):
    id: str
    name: str
    profile: str
    issuer: str | None
    audience: str | None
    required_claims: list[str]
    leeway_seconds: int
    max_token_age_seconds: int | None
    max_lifetime_seconds: int | None
    require_expiry: bool
    token_type: str | None
    user_id_claim: str | None
    published: bool
    allowed_origins: list[str]
    referral_landing_url: str | None
    referral_reward_kind: str
    referral_reward_amount: int
    referral_reward_on: Literal["signup", "conversion"]
    theme: dict[str, str]
    time_zone: str
    points_expire_after_days: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # points lots and holds (ledger)
    points_lot_expiry_days: int | None
    points_hold_days: int | None
    points_expiring_notice_days: int | None
    # --- referral reward holds (issue 14, referrals/) ---
    referral_reward_hold_days: int

    @field_validator("theme", mode="before")
    @classmethod
    def _with_defaults(cls, theme: dict[str, str] | None) -> dict[str, str]:
        return {**DEFAULT_THEME, **(theme or {})}


SecretState = Literal["active", "retiring", "expired", "disabled"]


def secret_state(secret: ProductSecret, now: dt.datetime) -> SecretState:
    if not secret.enabled:
        return "disabled"
    if secret.not_after is None:
        return "active"
    return "retiring" if secret.not_after > now else "expired"


# Validated from a ProductSecret with context={"now": ...}: its state is judged at that moment.
# (A comment, not a docstring: a docstring would become the schema's description.)
class SecretOut(Row):
    kid: str
    algorithm: str | None
    state: SecretState
    enabled: bool
    not_after: dt.datetime | None
    created_at: dt.datetime

    @model_validator(mode="before")
    @classmethod
    def _state(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, ProductSecret):
            now = (info.context or {}).get("now") or utcnow()
            return {**_attributes(data, cls), "state": secret_state(data, now)}
        return data


class SecretCreated(BaseModel):
    kid: str
    value: str = Field(description="Shown once: store it in your backend's secret store now.")
    algorithm: str | None


class ProductCreated(ProductOut):
    api_key: str = Field(description="Shown once; Plaudit keeps only a hash of it.")
    secret: SecretCreated | None = Field(
        description="A generated HMAC secret for the profile's algorithm, shown once; null for "
        "profiles that verify uploaded public keys (xtremepush)."
    )


class KeyOut(Row):
    kid: str
    description: str
    enabled: bool
    kty: str
    algorithms: list[str]
    public_key: str
    created_at: dt.datetime

    @model_validator(mode="before")
    @classmethod
    def _algorithms(cls, data: Any) -> Any:
        if isinstance(data, PublicKeyRecord):
            key = public_key_from_pem(data.public_pem, kid=data.kid, algorithm=data.algorithm)
            return {
                **_attributes(data, cls),
                "algorithms": sorted(key.algorithms),
                "public_key": data.public_pem,
            }
        return data


class JwksSourceOut(Row):
    id: int
    url: str
    refresh_seconds: int
    kids: list[str | None]
    fetched_at: dt.datetime | None
    last_error: str | None

    @model_validator(mode="before")
    @classmethod
    def _kids(cls, data: Any) -> Any:
        if isinstance(data, JwksSource):
            keys = (data.jwks or {}).get("keys", [])
            kids = [k.get("kid") for k in keys if isinstance(k, dict)]
            return {**_attributes(data, cls), "kids": kids}
        return data


class RevocationOut(Row):
    id: int
    jti: str | None
    user_id: str | None
    issued_before: dt.datetime | None
    reason: str
    created_at: dt.datetime


class ApiKeyOut(Row):
    id: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once; Plaudit keeps only a hash of it.")


class FailureOut(BaseModel):
    occurred_at: dt.datetime
    error: str
    message: str
    header: dict[str, Any] | None
    claims: dict[str, Any] | None


class FailureDay(BaseModel):
    day: dt.date = Field(description="A UTC day.")
    counts: dict[str, int] = Field(description="Refused tokens that day, by error code.")
    total: int


class LimitedReport(BaseModel):
    """Calls a rate limit refused (429), by code: counted, not kept one by one."""

    counts: dict[str, int] = Field(description="Refused calls of the last days, by error code.")
    total: int
    timeline: list[FailureDay] = Field(
        description="The last days (oldest first, today last), each with its counts by code."
    )


class FailureReport(BaseModel):
    counts: dict[str, int]
    total: int
    recent: list[FailureOut]
    timeline: list[FailureDay] = Field(
        description="The last days (oldest first, today last), each with its counts by code."
    )
    limited: LimitedReport = Field(
        description="Calls of this product a rate limit refused with 429 (docs/operations.md)."
    )


class TokenExplanationIn(Strict):
    token: str = Field(
        max_length=65_536, description="The token to explain, as your backend signed it."
    )


class FindingOut(BaseModel):
    status: Literal["ok", "warning", "error", "info"]
    section: Literal["token", "header", "claims", "profile", "verification"]
    field: str = Field(description="The header field or claim concerned, or a step.")
    message: str
    value: Any = Field(default=None, description="The decoded value concerned (untrusted).")
    code: str | None = Field(description="The error code this finding corresponds to.")
    hint: str | None


class TokenExplanation(BaseModel):
    well_formed: bool
    error: dict[str, str] | None = Field(description="Why the strict parser refused the token.")
    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    profile: str | None
    user_id: str | None
    verification: dict[str, Any] | None = Field(
        description='{"valid": true}, or {"valid": false, "error", "message", "hint"}.'
    )
    findings: list[FindingOut]


class ErrorOut(BaseModel):
    error: str = Field(description="A stable code; see docs/errors.md.")
    message: str
    hint: str
    field: str | None = None
