"""Until events, loyalty and gamification take ``plaudit.users.client``'s dependencies: the old
name, from its new home."""

from plaudit.users.client import authenticate_user

__all__ = ["authenticate_user"]
