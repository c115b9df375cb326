"""The shipped migrations build exactly the schema the models describe, on both stores: a
model changed without its migration fails here, not in a tenant's upgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plaudit.store.base import Base
from plaudit.store.db import Database
from plaudit.store.migrate import head_revision


def test_the_migrated_schema_matches_the_models(store: Database) -> None:
    """After `upgrade head`, autogenerate finds nothing left to migrate."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, Base.metadata) == []
