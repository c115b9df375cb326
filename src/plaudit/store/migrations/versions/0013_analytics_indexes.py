"""analytics indexes: each product's rows by time, for the dashboard's period reads

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-06 06:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None

#: name -> (table, columns): plaudit/analytics/indexes.py declares the same.
INDEXES = {
    "ix_referral_clicks_product_time": ("referral_clicks", ["product_id", "created_at"]),
    "ix_referrals_product_signed_up": ("referrals", ["product_id", "signed_up_at"]),
    "ix_referrals_product_converted": ("referrals", ["product_id", "converted_at"]),
    "ix_referral_rewards_product_time": ("referral_rewards", ["product_id", "created_at"]),
    "ix_ledger_entries_product_time": (
        "ledger_entries",
        ["product_id", "created_at", "kind", "rule_id", "delta"],
    ),
    "ix_events_product_time": ("events", ["product_id", "created_at", "user_pk"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
