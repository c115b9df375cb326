"""console sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import plaudit.store.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("operator_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_console_sessions_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_console_sessions_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_console_sessions_expires", ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_console_sessions_api_key_id"), ["api_key_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_console_sessions_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_product_id"))
        batch_op.drop_index(batch_op.f("ix_console_sessions_api_key_id"))
        batch_op.drop_index("ix_console_sessions_expires")
    op.drop_table("console_sessions")
