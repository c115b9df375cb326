"""One typed Settings object, read from PLAUDIT_* environment variables (and an optional .env).

It is built once, by the CLI or the test suite, and passed in: nothing else reads the
environment. The defaults run a local demo; ``PLAUDIT_ENVIRONMENT=production`` refuses them.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from plaudit.limits.rates import parse_rate


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAUDIT_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    #: SQLAlchemy URL; by default a SQLite file in the data dir.
    database_url: str | None = None
    #: SQLite's durability: FULL syncs every commit (an acknowledged event survives power
    #: loss); NORMAL is faster and may lose the last commits on power loss. PostgreSQL ignores it.
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: The base of the links Plaudit hands out (referral links); by default the served address.
    public_url: str | None = None
    #: The operator's bearer credential for the management API and console.
    admin_token: str | None = None
    #: Fernet key(s) that encrypt product secrets at rest; comma-separated, newest first.
    master_key: str | None = None
    #: How often each process looks for key, secret and setting changes made by others.
    keystore_refresh_seconds: float = Field(default=2.0, gt=0, le=60)
    #: How stale a leaderboard may get: ranks are recomputed in the background at most this
    #: often, and only for boards whose points changed, so that reading one is an index lookup.
    leaderboard_refresh_seconds: float = Field(default=10.0, gt=0, le=3600)
    verified_cache_ttl_seconds: float = Field(default=300.0, ge=0)
    verified_cache_size: int = Field(default=10_000, ge=0)
    max_token_bytes: int = Field(default=8192, ge=512, le=65536)
    #: Let JWKS sources (and webhooks) point at private or loopback addresses (tests, on-prem).
    allow_private_urls: bool = False
    jwks_min_refetch_seconds: float = Field(default=30.0, ge=0)
    #: Serve the demo host app at /demo (set by `plaudit demo`; never in production).
    demo: bool = False
    #: Where a share link with an unknown code lands; by default the public URL's root.
    default_landing_url: str | None = None
    log_level: str = "info"
    log_json: bool = False
    #: One log line per request (method, route template, status, duration, request id).
    access_log: bool = False
    #: The bearer token Prometheus sends to /metrics (docs/operations.md); unset, it is off.
    metrics_token: str | None = None

    # --- limits (docs/configuration.md, "Limits"): what an operator expects of Envoy or Kong ---
    #: Largest request body, in bytes, per route class; a larger one is a 413 before it is read.
    body_limit_client_bytes: int = Field(default=32 * 1024, ge=1024)
    body_limit_events_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    body_limit_keys_bytes: int = Field(default=64 * 1024, ge=1024)
    body_limit_console_bytes: int = Field(default=128 * 1024, ge=1024)
    body_limit_management_bytes: int = Field(default=256 * 1024, ge=1024)
    #: A reward's code pool upload (a CSV); the CLI sends larger files in parts.
    body_limit_codes_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: Rates as "N/second|minute|hour|day" (e.g. "100/minute"), or "off".
    rate_limit_failed_verifications_per_address: str = "100/minute"
    rate_limit_failed_verifications_per_product: str = "3000/minute"
    rate_limit_open_endpoint_per_address: str = "120/minute"
    rate_limit_client_events_per_user: str = "120/minute"
    rate_limit_management_per_api_key: str = "6000/minute"
    #: A referral link's click is counted this often per visitor (client address) at most;
    #: the redirect itself always works.
    rate_limit_referral_clicks_per_visitor: str = "1/day"
    #: A Redis shared by every process (redis://host:port/db): rate limits then count across
    #: processes. Unset, each process counts alone, as Envoy's local rate limit does.
    redis_url: str | None = None
    #: Proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For is believed;
    #: without one, the client address is the connection's peer.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Secrets and public keys one product may register (JWKS sources are capped apart).
    max_keys_per_product: int = Field(default=50, ge=1, le=10_000)
    #: A token without a kid is tried against at most this many keys; past it, it needs a kid.
    max_keys_tried_without_kid: int = Field(default=10, ge=1, le=1000)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator(
        "rate_limit_failed_verifications_per_address",
        "rate_limit_failed_verifications_per_product",
        "rate_limit_open_endpoint_per_address",
        "rate_limit_client_events_per_user",
        "rate_limit_management_per_api_key",
        "rate_limit_referral_clicks_per_visitor",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)  # raises ValueError naming the accepted forms
        return value.strip()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                ipaddress.ip_network(str(item), strict=False)  # ValueError names the bad one
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "redis+unix://")):
            raise ValueError("write redis://host:port/db (rediss:// for TLS)")
        if importlib.util.find_spec("redis") is None:
            raise ValueError("needs the Redis client: pip install 'plaudit[redis]'")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name, value in (
                    ("PLAUDIT_ADMIN_TOKEN", self.admin_token),
                    ("PLAUDIT_MASTER_KEY", self.master_key),
                    ("PLAUDIT_DATABASE_URL", self.database_url),
                )
                if not value
            ]
            if missing:
                raise SettingsError(
                    f"Production needs {', '.join(missing)}; the development defaults are "
                    "generated files that must not guard real data."
                )
            if self.demo:
                raise SettingsError("PLAUDIT_DEMO signs tokens for anyone: never in production.")
            if self.admin_token and len(self.admin_token) < 24:
                raise SettingsError("PLAUDIT_ADMIN_TOKEN must be at least 24 characters.")
            if self.metrics_token and len(self.metrics_token) < 24:
                raise SettingsError("PLAUDIT_METRICS_TOKEN must be at least 24 characters.")
            if self.metrics_token and self.metrics_token == self.admin_token:
                raise SettingsError(
                    "PLAUDIT_METRICS_TOKEN must differ from PLAUDIT_ADMIN_TOKEN: the scraper "
                    "would hold the power to manage every product."
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'plaudit.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def resolve_development_secrets(self) -> Settings:
        """Fill the admin token and master key from files in the data dir, creating them once.

        Only in development: production refuses to start without them (see the validator).
        """
        if self.environment == "production":
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        changes: dict[str, str] = {}
        if not self.admin_token:
            changes["admin_token"] = _read_or_create(
                self.data_dir / "admin.token", lambda: "adm_" + secrets.token_urlsafe(32)
            )
        if not self.master_key:
            from cryptography.fernet import Fernet  # noqa: PLC0415

            changes["master_key"] = _read_or_create(
                self.data_dir / "master.key", lambda: Fernet.generate_key().decode()
            )
        return self.model_copy(update=changes) if changes else self


def _read_or_create(path: Path, make: object) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()  # type: ignore[operator]
    path.touch(mode=0o600)
    path.write_text(str(value) + "\n")
    return str(value)
