"""referrals: fraud screening rules, the review queue, reward holds and cancellation by order

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plaudit.store.base import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_fraud_rules",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_referral_fraud_rules_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "rule", name=op.f("pk_referral_fraud_rules")),
    )
    with op.batch_alter_table("referral_clicks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("device_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("device_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("click_device_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("review", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.String(length=500), nullable=True))
    with op.batch_alter_table("referral_rewards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="granted", nullable=False)
        )
        batch_op.add_column(sa.Column("order_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("available_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("granted_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_referral_rewards_order", ["product_id", "order_id"])
        batch_op.create_index("ix_referral_rewards_due", ["status", "available_at"])
    # Every reward made before holds existed was granted when it was made.
    op.execute("UPDATE referral_rewards SET granted_at = created_at")
    op.create_index(
        "ix_referral_rewards_product_granted", "referral_rewards", ["product_id", "granted_at"]
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("referral_reward_hold_days", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("referral_reward_hold_days")
    op.drop_index("ix_referral_rewards_product_granted", table_name="referral_rewards")
    with op.batch_alter_table("referral_rewards", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_rewards_due")
        batch_op.drop_index("ix_referral_rewards_order")
        for column in ("status_reason", "granted_at", "available_at", "order_id", "status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        for column in (
            "review_note",
            "reviewed_at",
            "reasons",
            "review",
            "click_device_hash",
            "device_hash",
            "address_hash",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("referral_clicks", schema=None) as batch_op:
        batch_op.drop_column("device_hash")
        batch_op.drop_column("address_hash")
    op.drop_table("referral_fraud_rules")
