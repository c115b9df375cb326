"""Per-transaction memory of a product's program settings (rules, tiers, badges, webhook
endpoints): a batch of 1,000 events reads each once, not once per event. Whatever changes one
of them in the same session calls ``forget``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "plaudit.memo"


def remembered(session: Session, key: tuple[Any, ...], load: Callable[[], T]) -> T:
    memo: dict[tuple[Any, ...], Any] = session.info.setdefault(_KEY, {})
    if key not in memo:
        memo[key] = load()
    value: T = memo[key]
    return value


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)


def remember(session: Session, key: tuple[Any, ...], value: Any) -> None:
    """Give the transaction's memory a value read elsewhere (a process's copy of programs)."""
    session.info.setdefault(_KEY, {})[key] = value
