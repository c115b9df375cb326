"""client-safe property rules with a per-event maximum

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 03:30:00.000000

Existing property rules (``property`` x ``rate``) get ``client_safe = false``: from now on
they earn only from the tenant's servers, as a browser chooses the property's value. A tenant
that wants a browser to earn by one sets ``client_safe`` and ``max_points_per_event``. Fixed
amount rules are unchanged (``server_only`` still governs them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("earning_rules") as batch:
        batch.add_column(
            sa.Column("client_safe", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("max_points_per_event", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("earning_rules") as batch:
        batch.drop_column("max_points_per_event")
        batch.drop_column("client_safe")
