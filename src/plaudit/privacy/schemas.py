"""Privacy requests as the API answers them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from plaudit.responses import IsoTime, Row


# Comments, not docstrings, on response models (a docstring becomes the schema's description).
class PrivacyRequestOut(Row):
    id: str
    # export | erase
    kind: str
    # For an erasure, the pseudonym the user's rows now carry: the original id is not kept.
    user_id: str
    requested_by: str
    created_at: IsoTime
    summary: dict[str, Any]


class ErasureOut(PrivacyRequestOut):
    already_erased: bool = Field(
        description="True when this user id was erased before: nothing more was done."
    )


class PrivacyRequestsPage(Row):
    requests: list[PrivacyRequestOut]
    total: int
    limit: int
    offset: int


class UserExport(Row):
    format: str = Field(description="`plaudit.user-export/1`.")
    request_id: str
    product_id: str
    user_id: str
    exported_at: str
    profile: dict[str, Any]
    points: dict[str, Any]
    ledger: list[dict[str, Any]]
    events: list[dict[str, Any]]
    redemptions: list[dict[str, Any]]
    badges: list[dict[str, Any]]
    streaks: list[dict[str, Any]]
    referrals: dict[str, Any]
    webhooks: list[dict[str, Any]]
    refused_tokens: list[dict[str, Any]]
