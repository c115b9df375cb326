"""The shapes of the referral program in the API: the widget's summary and the server API's."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from plaudit.shapes import Identifier


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


class RewardOut(BaseModel):
    # loyalty has a RewardOut too, so OpenAPI names this one by its module: the name it was
    # published under, when it lived in referrals/routes.py, stays (the document must not
    # change).
    __module__ = "plaudit.referrals.routes"

    kind: str
    amount: int


class ReferralOut(BaseModel):
    id: int
    referrer_user_id: str | None
    referred_user_id: str
    signed_up_at: str
    converted_at: str | None
    reward: RewardOut | None


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
