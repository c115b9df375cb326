"""reward codes and tenant fulfilment

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06 09:00:00.000000

A reward is fulfilled ``instant`` (as before), from a pool of unique ``code``s the tenant
uploads, or by the ``tenant``'s server; a redemption gains its ``status`` (existing ones were
``delivered``) and the ``code`` it handed out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import plaudit.store.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rewards") as batch:
        batch.add_column(
            sa.Column("fulfilment", sa.String(length=16), nullable=False, server_default="instant")
        )
        batch.add_column(sa.Column("low_codes_at", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("low_codes_alerted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("redemptions") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=24), nullable=False, server_default="delivered")
        )
        batch.add_column(sa.Column("code", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("settled_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("failure_reason", sa.String(length=500), nullable=True))
        batch.create_index(
            "ix_redemptions_product_status", ["product_id", "status", "created_at"], unique=False
        )
    op.create_table(
        "reward_codes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("reward_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("redemption_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_reward_codes_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["rewards.id"],
            name=op.f("fk_reward_codes_reward_id_rewards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_codes")),
        sa.UniqueConstraint("reward_id", "code", name=op.f("uq_reward_codes_reward_id_code")),
    )
    op.create_index(
        "ix_reward_codes_free",
        "reward_codes",
        ["reward_id", "id"],
        unique=False,
        postgresql_where=sa.text("redemption_id IS NULL"),
        sqlite_where=sa.text("redemption_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reward_codes_free", table_name="reward_codes")
    op.drop_table("reward_codes")
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_index("ix_redemptions_product_status")
        batch.drop_column("failure_reason")
        batch.drop_column("settled_at")
        batch.drop_column("code")
        batch.drop_column("status")
    with op.batch_alter_table("rewards") as batch:
        batch.drop_column("low_codes_alerted")
        batch.drop_column("low_codes_at")
        batch.drop_column("fulfilment")
