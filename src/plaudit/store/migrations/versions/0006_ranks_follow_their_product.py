"""leaderboard ranks follow their product

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:30:00.000000

Deleting a product deleted its ranks by an explicit statement in the products package, the one
table that did not follow its product by ON DELETE CASCADE. The foreign key to the product
makes the database do it; ranks still carry no key to their user (see LeaderboardRank).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Ranks of a product deleted before this revision would refuse the key.
    op.execute(
        sa.text("DELETE FROM leaderboard_ranks WHERE product_id NOT IN (SELECT id FROM products)")
    )
    with op.batch_alter_table("leaderboard_ranks", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_leaderboard_ranks_product_id_products"),
            "products",
            ["product_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("leaderboard_ranks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_leaderboard_ranks_product_id_products"), type_="foreignkey"
        )
