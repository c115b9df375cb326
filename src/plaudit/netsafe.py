"""Kept for the modules that check a URL at registration: the policy lives in
``plaudit.outbound.policy`` (every special-purpose range, IPv4 and IPv6)."""

from plaudit.outbound.policy import check_url

__all__ = ["check_url"]
