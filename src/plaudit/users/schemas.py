"""The shapes of users in the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plaudit.shapes import Identifier

from .models import User


# Read from a User row (comments, not docstrings: a docstring would become the schema's
# description). The API's id is the tenant's id, and "listed" is whether it joined the list.
class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="The user id your tokens carry.")
    email: str | None
    first_name: str | None
    last_name: str | None
    name: str | None
    locale: str | None
    account_id: str | None
    referral_code: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    listed: bool

    @model_validator(mode="before")
    @classmethod
    def _from_user(cls, data: Any) -> Any:
        if isinstance(data, User):
            fields = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
            return {**fields, "id": data.external_id, "listed": data.listed_at is not None}
        return data


class UsersPage(BaseModel):
    users: list[UserOut]
    total: int
    limit: int
    offset: int


class OpenUserUpsert(BaseModel):
    """The referral platform guide's open-endpoint body (its field names, as written there)."""

    model_config = ConfigDict(extra="ignore")

    id: Identifier | None = Field(default=None, max_length=255)
    accountId: Identifier | None = Field(default=None, max_length=512)  # the guide's names
    email: Identifier | None = Field(default=None, max_length=512)
    firstName: str | None = Field(default=None, max_length=512)
    lastName: str | None = Field(default=None, max_length=512)
    locale: Identifier | None = Field(default=None, max_length=64)
    referralCode: Identifier | None = Field(default=None, max_length=512)

    def profile(self) -> dict[str, str]:
        fields = {
            "account_id": self.accountId,
            "email": self.email,
            "first_name": self.firstName,
            "last_name": self.lastName,
            "locale": self.locale,
            "referral_code": self.referralCode,
        }
        return {k: v for k, v in fields.items() if v}
