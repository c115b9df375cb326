"""What each export holds: its documented columns and the one statement that reads them, in a
stable order (the rows' ids), from ``scope.scoped`` like every read of tenant data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy.orm import Session, aliased

from plaudit.access.scope import scoped
from plaudit.loyalty.models import LedgerEntry, LoyaltyAccount
from plaudit.referrals.models import Referral, ReferralCode, ReferralReward
from plaudit.users.models import User

#: A select of any columns.
Rows = Select[*tuple[Any, ...]]
#: [start, end) of an export's time column; None at either end: open there; None: every row.
Window = tuple[dt.datetime | None, dt.datetime | None] | None


def _narrow(statement: Rows, column: Any, window: Window) -> Rows:
    if window is None:
        return statement
    start, end = window
    if start is not None:
        statement = statement.where(column >= start)
    if end is not None:
        statement = statement.where(column < end)
    return statement


@dataclass(frozen=True)
class Export:
    name: str
    #: (column, what it holds): the CSV's header row, in order; docs/analytics.md lists them.
    columns: tuple[tuple[str, str], ...]
    #: The rows of a product, narrowed to [start, end) of the export's time column if given.
    statement: Callable[[str, Window], Rows]
    #: What the time window filters on, for the CLI's and the API's help.
    window_column: str

    @property
    def header(self) -> list[str]:
        return [name for name, _ in self.columns]


def _users(product_id: str, window: Window) -> Rows:
    statement: Rows = (
        scoped(User, product_id)
        .outerjoin(LoyaltyAccount, LoyaltyAccount.user_pk == User.id)
        .outerjoin(ReferralCode, ReferralCode.user_pk == User.id)
        .with_only_columns(
            User.external_id,
            User.email,
            User.first_name,
            User.last_name,
            User.name,
            User.locale,
            User.account_id,
            User.referral_code,
            ReferralCode.code,
            func.coalesce(LoyaltyAccount.balance, 0),
            func.coalesce(LoyaltyAccount.lifetime, 0),
            LoyaltyAccount.tier_name,
            User.first_seen_at,
            User.last_seen_at,
        )
        .order_by(User.id)
    )
    return _narrow(statement, User.first_seen_at, window)


def _ledger(product_id: str, window: Window) -> Rows:
    statement: Rows = (
        scoped(LedgerEntry, product_id)
        .join(User, User.id == LedgerEntry.user_pk)
        .with_only_columns(
            LedgerEntry.id,
            LedgerEntry.created_at,
            User.external_id,
            LedgerEntry.kind,
            LedgerEntry.delta,
            LedgerEntry.balance_after,
            LedgerEntry.reason,
            LedgerEntry.rule_id,
            LedgerEntry.event_id,
            LedgerEntry.redemption_id,
        )
        .order_by(LedgerEntry.id)
    )
    return _narrow(statement, LedgerEntry.created_at, window)


def _referrals(product_id: str, window: Window) -> Rows:
    referrer = aliased(User)
    statement: Rows = (
        scoped(Referral, product_id)
        .join(referrer, referrer.id == Referral.referrer_pk)
        .outerjoin(ReferralReward, ReferralReward.referral_id == Referral.id)
        .with_only_columns(
            Referral.id,
            referrer.external_id,
            Referral.referred_external_id,
            Referral.signed_up_at,
            Referral.converted_at,
            ReferralReward.kind,
            ReferralReward.amount,
            ReferralReward.status,
            ReferralReward.granted_at,
        )
        .order_by(Referral.id)
    )
    return _narrow(statement, Referral.signed_up_at, window)


EXPORTS: dict[str, Export] = {
    "users": Export(
        "users",
        (
            ("user_id", "The user's id in your system (the token's user id)."),
            ("email", "Email, from the user's tokens."),
            ("first_name", "First name, from the user's tokens."),
            ("last_name", "Last name, from the user's tokens."),
            ("name", "Display name, from the user's tokens."),
            ("locale", "Locale, from the user's tokens."),
            ("account_id", "Account id, from the user's tokens."),
            ("referral_code", "The referral code your tokens gave the user."),
            ("share_code", "The code of the user's share link, once one was made."),
            ("points_balance", "Points the user holds now."),
            ("points_lifetime", "Points the user ever earned (what tiers count)."),
            ("tier", "The user's tier, if any."),
            ("first_seen_at", "When Plaudit first saw the user (UTC, ISO 8601)."),
            ("last_seen_at", "When Plaudit last saw the user (UTC, ISO 8601)."),
        ),
        _users,
        "first_seen_at",
    ),
    "ledger": Export(
        "ledger",
        (
            ("entry_id", "The ledger entry's id: rows come in this order."),
            ("created_at", "When it was written (UTC, ISO 8601)."),
            ("user_id", "The user's id in your system."),
            ("kind", "earn, referral, redeem, adjust or expire."),
            ("delta", "Points added (positive) or taken (negative)."),
            ("balance_after", "The user's balance after this entry."),
            ("reason", "Why, in words."),
            ("rule_id", "The earning rule, for earn entries."),
            ("event_id", "The event that earned, for earn entries."),
            ("redemption_id", "The redemption, for redeem entries."),
        ),
        _ledger,
        "created_at",
    ),
    "referrals": Export(
        "referrals",
        (
            ("referral_id", "The referral's id: rows come in this order."),
            ("referrer_id", "The referrer's id in your system."),
            ("referred_id", "The referred user's id in your system."),
            ("signed_up_at", "When the referred user signed up (UTC, ISO 8601)."),
            ("converted_at", "When they converted, if they did."),
            ("reward_kind", "The referrer's reward for them, if one was made."),
            ("reward_amount", "How much (points, or the reward's amount)."),
            (
                "reward_status",
                "granted, or not yet or never: held (in review), pending (in its hold), "
                "rejected, cancelled (a refund).",
            ),
            ("rewarded_at", "When the reward was granted; empty until it is."),
        ),
        _referrals,
        "signed_up_at",
    ),
}


def count(session: Session, export: Export, product_id: str, window: Window) -> int:
    """How many rows the export will write (the CLI's progress bar)."""
    inner = export.statement(product_id, window).order_by(None).subquery()
    return int(session.scalar(func.count().select().select_from(inner)) or 0)
