"""The indexes the dashboard reads through, declared beside the queries that need them.

Each one starts with ``product_id`` then the row's time, so that a period of one product is one
range of the index; the columns after the time make the read index-only (the ledger's kind, rule
and delta; an event's user), which is what keeps a million-user product's dashboard under a
second (bench/analytics.py). They attach to the feature tables' metadata; migration 0013 makes
them (0015 the granted rewards' one).
"""

from __future__ import annotations

from sqlalchemy import Index

from plaudit.events.models import Event
from plaudit.loyalty.models import LedgerEntry
from plaudit.referrals.models import Referral, ReferralClick, ReferralReward

INDEXES = (
    Index("ix_referral_clicks_product_time", ReferralClick.product_id, ReferralClick.created_at),
    Index("ix_referrals_product_signed_up", Referral.product_id, Referral.signed_up_at),
    Index("ix_referrals_product_converted", Referral.product_id, Referral.converted_at),
    Index("ix_referral_rewards_product_time", ReferralReward.product_id, ReferralReward.created_at),
    # Rewards count on the day they are granted (migration 0015): held ones may wait for review.
    Index(
        "ix_referral_rewards_product_granted", ReferralReward.product_id, ReferralReward.granted_at
    ),
    Index(
        "ix_ledger_entries_product_time",
        LedgerEntry.product_id,
        LedgerEntry.created_at,
        LedgerEntry.kind,
        LedgerEntry.rule_id,
        LedgerEntry.delta,
    ),
    Index("ix_events_product_time", Event.product_id, Event.created_at, Event.user_pk),
)
