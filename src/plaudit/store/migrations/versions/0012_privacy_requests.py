"""privacy requests: each export and erasure of a user, recorded

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import plaudit.store.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", plaudit.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_privacy_requests_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index("ix_privacy_requests_product", "privacy_requests", ["product_id", "created_at"])
    op.create_index(
        "ix_privacy_requests_subject", "privacy_requests", ["product_id", "subject_digest"]
    )


def downgrade() -> None:
    op.drop_index("ix_privacy_requests_subject", table_name="privacy_requests")
    op.drop_index("ix_privacy_requests_product", table_name="privacy_requests")
    op.drop_table("privacy_requests")
