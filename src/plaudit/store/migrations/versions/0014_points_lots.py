"""points lots: every earn is a lot with its own expiry and hold; reversals link to the lot

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:15:00.000000

Each account's existing balance becomes one lot (a ledger entry of kind ``carry`` with no
change of its own, so the ledger's sum stays the balance): it never expires and is available.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from plaudit.store.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points_lot_expiry_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("points_hold_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("points_expiring_notice_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("earning_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_expiry_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hold_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_loyalty_accounts_pending_not_negative"), "pending >= 0"
        )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remaining", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("available_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("held", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("expiring_notified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("lot_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("unrecovered", sa.BigInteger(), nullable=True))
    lots = sa.text("remaining > 0")
    op.create_index(
        "ix_ledger_entries_lots",
        "ledger_entries",
        ["user_pk", "expires_at", "id"],
        postgresql_where=lots,
        sqlite_where=lots,
    )
    op.create_index(
        "ix_ledger_entries_expiring",
        "ledger_entries",
        ["expires_at"],
        postgresql_where=lots,
        sqlite_where=lots,
    )
    op.create_index(
        "ix_ledger_entries_held",
        "ledger_entries",
        ["available_at"],
        postgresql_where=sa.text("held"),
        sqlite_where=sa.text("held = 1"),
    )
    op.create_index("ix_ledger_entries_lot", "ledger_entries", ["lot_id"])
    # Each balance into one lot: one statement, whatever the number of accounts.
    now = dt.datetime.now(dt.UTC)
    accounts = sa.table(
        "loyalty_accounts",
        sa.column("user_pk", sa.Integer()),
        sa.column("product_id", sa.String()),
        sa.column("balance", sa.BigInteger()),
    )
    entries = sa.table(
        "ledger_entries",
        sa.column("product_id", sa.String()),
        sa.column("user_pk", sa.Integer()),
        sa.column("delta", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("reason", sa.String()),
        sa.column("balance_after", sa.BigInteger()),
        sa.column("created_at", UTCDateTime(timezone=True)),
        sa.column("remaining", sa.BigInteger()),
    )
    op.execute(
        entries.insert().from_select(
            [
                "product_id",
                "user_pk",
                "delta",
                "kind",
                "reason",
                "balance_after",
                "created_at",
                "remaining",
            ],
            sa.select(
                accounts.c.product_id,
                accounts.c.user_pk,
                sa.literal(0, sa.BigInteger()),
                sa.literal("carry"),
                sa.literal("Balance before points lots"),
                accounts.c.balance,
                sa.literal(now, UTCDateTime(timezone=True)),
                accounts.c.balance,
            )
            .where(accounts.c.balance > 0)
            .order_by(accounts.c.user_pk),
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM ledger_entries WHERE kind = 'carry'")
    op.drop_index("ix_ledger_entries_lot", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_held", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_expiring", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_lots", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_column("unrecovered")
        batch_op.drop_column("lot_id")
        batch_op.drop_column("expiring_notified")
        batch_op.drop_column("held")
        batch_op.drop_column("available_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("remaining")
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_loyalty_accounts_pending_not_negative"), type_="check")
        batch_op.drop_column("pending")
    with op.batch_alter_table("earning_rules", schema=None) as batch_op:
        batch_op.drop_column("hold_days")
        batch_op.drop_column("lot_expiry_days")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("points_expiring_notice_days")
        batch_op.drop_column("points_hold_days")
        batch_op.drop_column("points_lot_expiry_days")
