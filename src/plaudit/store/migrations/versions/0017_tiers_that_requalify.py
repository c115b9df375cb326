"""tiers that requalify: how a product's tiers are held, standings and the window's place

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-06 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plaudit.store.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column(
                "tier_held_by", sa.String(length=16), nullable=False, server_default="lifetime"
            )
        )
        batch.add_column(sa.Column("tier_window_days", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("tier_grace_days", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "tier_standings",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("qualifying", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_seen", sa.BigInteger(), nullable=False),
        sa.Column("review_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("downgrade_to", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_tier_standings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.id"],
            name=op.f("fk_tier_standings_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", name=op.f("pk_tier_standings")),
    )
    op.create_index(
        "ix_tier_standings_product_review", "tier_standings", ["product_id", "review_at"]
    )
    op.create_table(
        "tier_windows",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("aged_upto", UTCDateTime(timezone=True), nullable=True),
        sa.Column("aged_id", sa.BigInteger(), nullable=False),
        sa.Column("earned_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reversed_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reversed_id", sa.BigInteger(), nullable=False),
        sa.Column("sweep_after", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_tier_windows_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_tier_windows")),
    )


def downgrade() -> None:
    op.drop_table("tier_windows")
    op.drop_index("ix_tier_standings_product_review", table_name="tier_standings")
    op.drop_table("tier_standings")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("tier_grace_days")
        batch.drop_column("tier_window_days")
        batch.drop_column("tier_held_by")
