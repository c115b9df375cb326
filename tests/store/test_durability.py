"""SQLite syncs every commit by default, so an acknowledged write survives power loss; an
operator may choose NORMAL knowingly. PostgreSQL is left to its own settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from plaudit.settings import Settings
from plaudit.store.db import Database

#: PRAGMA synchronous answers a number: 1 NORMAL, 2 FULL, 3 EXTRA.
LEVELS = {"NORMAL": 1, "FULL": 2, "EXTRA": 3}


def _level(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_sqlite_syncs_every_commit_by_default(tmp_path: Path) -> None:
    """A store opened with no setting runs synchronous=FULL, as the docs promise."""
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        assert _level(db) == LEVELS["FULL"]
        assert Settings(data_dir=tmp_path).sqlite_synchronous == "FULL"
    finally:
        db.dispose()


@pytest.mark.parametrize("level", ["NORMAL", "EXTRA"])
def test_the_setting_chooses_another_level(tmp_path: Path, level: str) -> None:
    """PLAUDIT_SQLITE_SYNCHRONOUS reaches the pragma of every connection."""
    settings = Settings(data_dir=tmp_path, sqlite_synchronous=level)  # type: ignore[arg-type]
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        assert _level(db) == LEVELS[level]
        with db.session() as session:  # a second connection of the pool gets it too
            assert session.execute(text("PRAGMA synchronous")).scalar_one() == LEVELS[level]
    finally:
        db.dispose()


def test_an_unknown_level_is_refused_before_it_reaches_a_pragma(tmp_path: Path) -> None:
    """The level is written into a PRAGMA: only the known words are accepted."""
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{tmp_path / 'p.db'}", sqlite_synchronous="OFF; DROP")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="FULL"):
        Settings(data_dir=tmp_path, sqlite_synchronous="OFF")  # type: ignore[arg-type]
