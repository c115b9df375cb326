"""The shapes of the referral program in the API: the widget's summary and the server API's."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plaudit.shapes import Identifier, Strict


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referred_user_id: Identifier = Field(
        min_length=1, max_length=255, description="The new user's id in your system."
    )
    code: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The referral code the new user arrived with.",
    )
    referrer_user_id: Identifier | None = Field(
        default=None, min_length=1, max_length=255, description="Or the referrer's user id."
    )
    # What screening reads (docs/referrals.md): from your server, never from the browser.
    referred_email: Identifier | None = Field(
        default=None,
        min_length=3,
        max_length=320,
        description="The new user's email: compared with the referrer's and checked against "
        "disposable domains; never stored.",
    )
    client_ip: str | None = Field(
        default=None,
        max_length=45,
        description="The address the new user signed up from, as your server saw it; kept "
        "only as a keyed digest.",
    )
    device_id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for the new user's device; kept only as a keyed digest.",
    )

    @field_validator("client_ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None


class ConversionIn(Strict):
    order_id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id of the order (event) that converted: a refund of it cancels the "
        "reward while it is held or pending.",
    )


class CancellationIn(Strict):
    reason: str = Field(
        default="Cancelled by the product.",
        min_length=1,
        max_length=500,
        description="Why, e.g. 'order refunded'; kept with the reward.",
    )


class ApprovalIn(Strict):
    note: str | None = Field(default=None, min_length=1, max_length=500)


class RejectionIn(Strict):
    reason: str = Field(
        min_length=1, max_length=500, description="Why, in words the referrer could be told."
    )


class RewardOut(BaseModel):
    # loyalty has a RewardOut too, so OpenAPI names this one by its module: the name it was
    # published under, when it lived in referrals/routes.py, stays (the document must not
    # change).
    __module__ = "plaudit.referrals.routes"

    kind: str
    amount: int


RewardStatus = Literal["held", "pending", "granted", "rejected", "cancelled"]


class ReferralRewardOut(RewardOut):
    status: RewardStatus = Field(
        description="held (in review), pending (hold days), granted, rejected or cancelled."
    )
    available_at: str | None = Field(description="When a pending reward is granted.")
    order_id: str | None


class ReasonOut(BaseModel):
    rule: str
    check: str
    message: str = Field(description="What fired, in plain words.")


class ReviewOut(BaseModel):
    status: Literal["flagged", "approved", "rejected"]
    reasons: list[ReasonOut]
    note: str | None = Field(description="The reviewer's reason or note.")
    reviewed_at: str | None


class ReferralOut(BaseModel):
    id: int
    referrer_user_id: str | None
    referred_user_id: str
    signed_up_at: str
    converted_at: str | None
    reward: ReferralRewardOut | None
    review: ReviewOut | None = Field(description="null: no screening rule fired.")


class FraudRuleOut(BaseModel):
    rule: str
    description: str
    enabled: bool
    settings: dict[str, int | bool]


class FraudRuleUpdate(Strict):
    enabled: bool | None = None
    settings: dict[str, int | bool] | None = Field(
        default=None,
        max_length=8,
        description="The rule's settings to change (GET lists each rule's settings).",
    )


class ProductBrief(BaseModel):
    id: str
    name: str
    theme: dict[str, str]


class UserBrief(BaseModel):
    id: str
    first_name: str | None


class Stats(BaseModel):
    clicks: int
    signups: int
    conversions: int


class EarnedReward(RewardOut):
    created_at: str
    referred_user_id: str
    status: Literal["pending", "granted"]
    available_at: str | None


class RewardRule(RewardOut):
    on: str = Field(description="'signup' or 'conversion'.")


class Share(BaseModel):
    subject: str
    text: str


class ReferralSummary(BaseModel):
    """What the widget shows the token's user."""

    product: ProductBrief
    user: UserBrief
    code: str
    link: str = Field(description="{PLAUDIT_PUBLIC_URL}/r/{code}")
    stats: Stats
    rewards: list[EarnedReward]
    reward_totals: dict[str, int]
    reward: RewardRule
    share: Share


class ReferralsPage(BaseModel):
    referrals: list[ReferralOut]
    total: int


class ReviewsPage(BaseModel):
    referrals: list[ReferralOut]
    total: int
