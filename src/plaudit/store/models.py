"""Every feature's models, imported in one place for Alembic and for creating a schema."""

from plaudit.console.models import ConsoleSession
from plaudit.events.models import Event
from plaudit.products.models import (
    ApiKey,
    AuthFailure,
    JwksSource,
    Product,
    ProductSecret,
    PublicKeyRecord,
    Revocation,
)
from plaudit.referrals.models import Referral, ReferralClick, ReferralCode, ReferralReward
from plaudit.store.base import Base
from plaudit.users.models import User
from plaudit.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

__all__ = [
    "ApiKey",
    "AuthFailure",
    "Base",
    "ConsoleSession",
    "Event",
    "JwksSource",
    "Product",
    "ProductSecret",
    "PublicKeyRecord",
    "Referral",
    "ReferralClick",
    "ReferralCode",
    "ReferralReward",
    "Revocation",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
]
