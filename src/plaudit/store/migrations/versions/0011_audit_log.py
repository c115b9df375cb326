"""audit log: an entry per management change (who, what, when, the change)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-06 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import plaudit.store.base

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("origin_product_id", sa.String(length=64), nullable=True),
        sa.Column("at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_key_id", sa.String(length=32), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("session_ref", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_audit_entries_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_product", "audit_entries", ["product_id", "id"])
    op.create_index("ix_audit_entries_origin", "audit_entries", ["origin_product_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_origin", table_name="audit_entries")
    op.drop_index("ix_audit_entries_product", table_name="audit_entries")
    op.drop_table("audit_entries")
