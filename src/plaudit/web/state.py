"""Until events, loyalty, gamification and webhooks take their dependencies from
``plaudit.access`` (helper B's part of issue 11): the old names, from their new homes."""

from plaudit.access.session import in_session
from plaudit.access.state import AppState, get_state

__all__ = ["AppState", "get_state", "in_session"]
