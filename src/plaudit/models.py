"""Every feature's models, imported in one place (above the features, so no feature package
imports it) for Alembic's env and for creating a schema."""

from plaudit.access.models import ApiKey
from plaudit.analytics import indexes as _analytics_indexes  # noqa: F401  # their indexes
from plaudit.analytics.models import AnalyticsDay
from plaudit.audit.models import AuditEntry
from plaudit.console.models import ConsoleSession
from plaudit.events.models import Event
from plaudit.gamification.models import (
    Badge,
    LeaderboardRank,
    LeaderboardSnapshot,
    Streak,
    UserBadge,
)
from plaudit.loyalty.models import (
    EarningRule,
    LedgerEntry,
    LoyaltyAccount,
    PointsTally,
    Redemption,
    Reward,
    RewardCode,
    Tier,
)
from plaudit.privacy.models import PrivacyRequest
from plaudit.products.limited import LimitedCount
from plaudit.products.models import (
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
    "AnalyticsDay",
    "ApiKey",
    "AuditEntry",
    "AuthFailure",
    "Badge",
    "Base",
    "ConsoleSession",
    "EarningRule",
    "Event",
    "JwksSource",
    "LeaderboardRank",
    "LeaderboardSnapshot",
    "LedgerEntry",
    "LimitedCount",
    "LoyaltyAccount",
    "PointsTally",
    "PrivacyRequest",
    "Product",
    "ProductSecret",
    "PublicKeyRecord",
    "Redemption",
    "Referral",
    "ReferralClick",
    "ReferralCode",
    "ReferralReward",
    "Revocation",
    "Reward",
    "RewardCode",
    "Streak",
    "Tier",
    "User",
    "UserBadge",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
]
