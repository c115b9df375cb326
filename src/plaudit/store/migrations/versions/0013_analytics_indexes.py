"""analytics: daily rollups, and each product's rows by time for the days not rolled up

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plaudit.store.base import UTCDateTime

revision = "0013"
down_revision = "0012"
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
    op.create_table(
        "analytics_days",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("series", sa.String(length=200), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=True),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_analytics_days_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "day", "series", name=op.f("pk_analytics_days")),
    )
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_table("analytics_days")
