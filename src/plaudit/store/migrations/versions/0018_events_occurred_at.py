"""events: when each happened (occurred_at); products: the version of their programs

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-06 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from plaudit.store.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no backfill: older events count on the day they were stored (created_at),
    # which is when they happened; rewriting every stored event would lock the table.
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("programs_version", sa.String(32), nullable=False, server_default="0")
        )
    # A random version for every product, as new ones get: two databases, or two states of
    # one, never share a version, so a process's memory of programs is never taken for another.
    random = (
        "lower(hex(randomblob(8)))"
        if op.get_bind().dialect.name == "sqlite"
        else "substr(md5(random()::text), 1, 16)"
    )
    op.execute(f"UPDATE products SET programs_version = {random}")  # noqa: S608  # no input


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("programs_version")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("occurred_at")
