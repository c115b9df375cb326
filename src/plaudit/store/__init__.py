"""The database: SQLAlchemy 2 models, sessions, and the Alembic migrations shipped in the package."""
