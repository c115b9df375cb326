"""The loyalty program's API shapes: one validation for the HTTP API, the CLI and the console."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator

from plaudit.responses import IsoTime, Row
from plaudit.shapes import EVENT_TYPE, Identifier, Strict

PROPERTY = r"^[A-Za-z0-9_.-]+$"


class RuleCreate(Strict):
    """An event type earns ``points``, or ``property`` x ``rate`` (rounded down)."""

    name: str = Field(min_length=1, max_length=200)
    event_type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE)
    points: int | None = Field(default=None, ge=1, le=1_000_000)
    property: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=PROPERTY,
        description="A numeric property of the event, e.g. 'amount'.",
    )
    rate: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Points per unit of the property."
    )
    limit_per_day: int | None = Field(
        default=None, ge=1, le=10_000, description="At most this many earns per user per day."
    )
    once: bool = Field(default=False, description="Earn once per user, ever.")
    server_only: bool = Field(
        default=False,
        description="Only events your servers send (API key) earn by this rule, not events "
        "from a user's browser: set it for purchases and anything else a user must not claim. "
        "A property rule is server-only unless it is client_safe.",
    )
    client_safe: bool = Field(
        default=False,
        description="A property rule earns from a user's browser too (its token's events), "
        "which chooses the property's value: needs max_points_per_event.",
    )
    max_points_per_event: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000_000,
        description="The most one event earns under a property rule (required with client_safe).",
    )
    enabled: bool = True
    lot_expiry_days: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Points this rule earns expire this many days after they were earned; "
        "0: never. null: the product's points_lot_expiry_days.",
    )
    hold_days: int | None = Field(
        default=None,
        ge=0,
        le=365,
        description="Points this rule earns are pending this many days; 0: available at once. "
        "null: the product's points_hold_days.",
    )

    @model_validator(mode="after")
    def _one_amount(self) -> RuleCreate:
        if self.points is None and (self.property is None or self.rate is None):
            raise ValueError("give 'points', or 'property' with 'rate'")
        if self.points is not None and (self.property is not None or self.rate is not None):
            raise ValueError("give 'points', or 'property' with 'rate', not both")
        check_client_safety(
            property_rule=self.points is None,
            client_safe=self.client_safe,
            server_only=self.server_only,
            max_points_per_event=self.max_points_per_event,
        )
        return self


def check_client_safety(
    *, property_rule: bool, client_safe: bool, server_only: bool, max_points_per_event: int | None
) -> None:
    """The rules for client_safe and max_points_per_event, on create and on change alike."""
    if not property_rule and (client_safe or max_points_per_event is not None):
        raise ValueError(
            "'client_safe' and 'max_points_per_event' go with a property rule; a fixed-amount "
            "rule earns from browsers unless it is server_only"
        )
    if client_safe and server_only:
        raise ValueError("a rule is either 'client_safe' or 'server_only', not both")
    if client_safe and max_points_per_event is None:
        raise ValueError(
            "a client_safe rule needs 'max_points_per_event': a browser chooses the property's "
            "value"
        )


class RuleUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    points: int | None = Field(default=None, ge=1, le=1_000_000)
    rate: float | None = Field(default=None, gt=0, le=1_000_000)
    limit_per_day: int | None = Field(default=None, ge=1, le=10_000)
    once: bool | None = None
    server_only: bool | None = None
    client_safe: bool | None = None
    max_points_per_event: int | None = Field(default=None, ge=1, le=1_000_000_000)
    enabled: bool | None = None
    lot_expiry_days: int | None = Field(default=None, ge=0, le=3650)
    hold_days: int | None = Field(default=None, ge=0, le=365)


class RuleOut(Row):
    id: str
    name: str
    event_type: str
    points: int | None
    property: str | None
    rate: float | None
    limit_per_day: int | None
    once: bool
    server_only: bool = Field(
        # From a row, its effective value (servers_only), not the column a tenant set.
        validation_alias=AliasChoices("servers_only", "server_only"),
        description="Only events from your servers earn: set, or a property rule that is not "
        "client_safe.",
    )
    client_safe: bool
    max_points_per_event: int | None
    enabled: bool
    description: str = Field(description="What the rule gives, in words for the widget.")
    lot_expiry_days: int | None = Field(
        default=None, description="Its own lot expiry in days (0: never); null: the product's."
    )
    hold_days: int | None = Field(
        default=None, description="Its own hold in days (0: none); null: the product's."
    )


class TierIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    threshold: int = Field(
        ge=0,
        le=1_000_000_000,
        description="Qualifying points to reach it: lifetime points, or the rolling window's.",
    )


class TiersIn(Strict):
    tiers: list[TierIn] = Field(max_length=50)
    held_by: Literal["lifetime", "rolling"] | None = Field(
        default=None,
        description="How every tier is held: by lifetime points (never lost), or by the points "
        "of a rolling window with a grace period before a downgrade. Omitted: as before, "
        "together with window_days and grace_days.",
    )
    window_days: int | None = Field(
        default=None, ge=1, le=3650, description="The rolling window, in days (rolling only)."
    )
    grace_days: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Days below a tier's threshold before moving down (rolling only; 0: at once).",
    )


class TierOut(Row):
    name: str
    threshold: int


class TiersOut(BaseModel):
    tiers: list[TierOut]
    held_by: Literal["lifetime", "rolling"] = "lifetime"
    window_days: int | None = None
    grace_days: int = 0


class TierStatus(BaseModel):
    """Where the user stands with their tier."""

    qualifying_points: int = Field(
        description="The points tiers count: lifetime points, or those of the rolling window "
        "(net of reversals) as of the last evaluation plus what was earned since."
    )
    window_days: int | None = Field(description="The rolling window; null: lifetime points.")
    review_at: IsoTime | None = Field(
        description="When the user moves down unless they requalify first; null: no downgrade "
        "pending."
    )
    downgrade_to: str | None = Field(
        description="The tier they would move to then (null: none), while review_at is set."
    )


Fulfilment = Literal["instant", "code", "tenant"]
FULFILMENT = (
    "instant: nothing to hand over; code: each redemption takes a unique code from the pool "
    "you upload; tenant: your server fulfils it, then marks it fulfilled or failed."
)
LOW_CODES = "reward_codes.low is sent once when the pool's remaining codes fall to this."
RedemptionStatus = Literal["delivered", "pending_fulfilment", "fulfilled", "failed"]


class RewardCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    cost: int = Field(ge=1, le=1_000_000_000, description="Points it takes.")
    stock: int | None = Field(default=None, ge=0, le=1_000_000_000, description="null: no limit.")
    enabled: bool = True
    fulfilment: Fulfilment = Field(default="instant", description=FULFILMENT)
    low_codes_at: int | None = Field(default=None, ge=0, le=1_000_000_000, description=LOW_CODES)


class RewardUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    cost: int | None = Field(default=None, ge=1, le=1_000_000_000)
    stock: int | None = Field(default=None, ge=0, le=1_000_000_000)
    enabled: bool | None = None
    fulfilment: Fulfilment | None = Field(default=None, description=FULFILMENT)
    low_codes_at: int | None = Field(default=None, ge=0, le=1_000_000_000, description=LOW_CODES)


class RewardOut(Row):
    id: str
    name: str
    description: str
    cost: int
    stock: int | None
    enabled: bool
    fulfilment: Fulfilment = Field(description=FULFILMENT)
    low_codes_at: int | None = Field(description=LOW_CODES)
    codes_remaining: int | None = Field(
        default=None, description="Codes left in the pool (a reward with fulfilment 'code')."
    )


class AdjustmentIn(Strict):
    amount: int = Field(
        ge=-1_000_000_000,
        le=1_000_000_000,
        description="Points to add (positive) or take away (negative); never below zero.",
    )
    reason: str = Field(min_length=1, max_length=500, description="Shown in the user's history.")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount == 0:
            raise ValueError("an adjustment of 0 points changes nothing")
        return self


class EntryOut(Row):
    id: int
    delta: int
    kind: str = Field(
        description="earn, redeem, adjust, expire, referral, reverse (a refund taken back), "
        "refund (a failed redemption's points given back) or carry (the balance from before "
        "points lots)."
    )
    reason: str
    created_at: IsoTime
    balance_after: int = Field(description="The available balance after it (pending excluded).")
    available_at: IsoTime | None = Field(
        default=None,
        description="Of earned points: when they can be spent; null: at once. Until then "
        "they are pending.",
    )
    expires_at: IsoTime | None = Field(
        default=None,
        description="Of earned points: when what is left of them expires; null: never.",
    )
    reward_code: str | None = Field(
        default=None, description="The code a redemption handed out (redeem entries only)."
    )
    redemption_status: RedemptionStatus | None = Field(
        default=None, description="Where a redemption stands (redeem entries only)."
    )
    remaining: int | None = Field(
        default=None,
        description="Of earned points: how many of them are left (not yet spent, reversed or "
        "expired); null on other entries.",
    )


class HistoryOut(BaseModel):
    entries: list[EntryOut]
    next_before: int | None = Field(description="Pass as ?before= for the next (older) page.")


class RedeemIn(Strict):
    id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for this redemption: sent again, it answers the first one.",
    )


class RedemptionOut(Row):
    id: str
    reward_id: str
    reward_name: str
    cost: int
    created_at: IsoTime
    status: RedemptionStatus = Field(
        description="delivered, or pending_fulfilment until the tenant marks it fulfilled or "
        "failed (points refunded)."
    )
    code: str | None = Field(description="The reward's code for this user, if it has one.")


class Redeemed(BaseModel):
    redemption: RedemptionOut
    balance: int


class CatalogItem(BaseModel):
    id: str
    name: str
    description: str
    cost: int
    stock: int | None
    fulfilment: Fulfilment = Field(description=FULFILMENT)
    available: bool = Field(description="In stock (for a code reward: a code left).")
    affordable: bool = Field(description="The user's balance covers the cost.")


class Catalog(BaseModel):
    balance: int
    rewards: list[CatalogItem]


class AdjustmentOut(BaseModel):
    entry: EntryOut
    balance: int


class ReversalIn(Strict):
    reason: str = Field(
        default="Reversed", min_length=1, max_length=500, description="Shown in the user's history."
    )
    points: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000_000,
        description="A partial reversal: how many of the event's points stand reversed after "
        "this call, in total (a second partial refund sends the new total). Sent again, it "
        "takes nothing more. null: all of them.",
    )
    user_id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The event's user: needed only when the event is named by your own id and "
        "several users have an event with that id.",
    )


class ReversalOut(BaseModel):
    event_id: str = Field(description="Plaudit's id of the reversed event.")
    user_id: str
    reversed: int = Field(description="Points taken back by this call (pending or available).")
    unrecovered: int = Field(
        description="Points this call should have taken back but the balance did not cover."
    )
    balance: int
    pending: int
    lifetime: int
    entries: list[EntryOut] = Field(
        description="The reverse entries written now, one per lot; none when everything was "
        "reversed already."
    )


class RefusedLine(BaseModel):
    line: int
    error: str


class CodesUploaded(BaseModel):
    added: int = Field(description="Codes added to the pool.")
    duplicates: int = Field(description="Codes skipped: in the pool already, or twice in the file.")
    refused: list[RefusedLine] = Field(description="The first 100 lines refused, by number.")
    refused_count: int = Field(description="Every line refused.")
    remaining: int = Field(description="Codes left in the pool after the upload.")


class CodePool(BaseModel):
    reward_id: str
    remaining: int
    handed_out: int
    low_codes_at: int | None


class CodesDiscarded(BaseModel):
    discarded: int = Field(description="Unused codes removed; handed-out codes stay.")


class FulfilmentIn(Strict):
    outcome: Literal["fulfilled", "failed"]
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="Why it failed (failed only)."
    )
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A code for the user to see, e.g. a gift card number (fulfilled only).",
    )

    @field_validator("code")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # As an uploaded pool code (codes.py): one clean line in the widget and the history.
        if value is not None and not value.isprintable():
            raise ValueError("a code may not hold a control character or a line break")
        return value

    @model_validator(mode="after")
    def _fits_outcome(self) -> FulfilmentIn:
        if self.outcome == "fulfilled" and self.reason is not None:
            raise ValueError("'reason' goes with outcome 'failed'")
        if self.outcome == "failed" and self.code is not None:
            raise ValueError("'code' goes with outcome 'fulfilled'")
        return self


# A redemption as the tenant sees it: whose, and how it was settled.
class RedemptionRecord(RedemptionOut):
    user_id: str
    settled_at: IsoTime | None
    failure_reason: str | None
