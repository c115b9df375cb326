"""The gamification API's shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from plaudit.responses import Row
from plaudit.shapes import EVENT_TYPE, Strict


class EventCount(Strict):
    kind: Literal["event_count"]
    event_type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE)
    count: int = Field(ge=1, le=1_000_000, description="Awarded at the Nth event of the type.")


class PointsTotal(Strict):
    kind: Literal["points_total"]
    points: int = Field(ge=1, le=1_000_000_000, description="Awarded at this many lifetime points.")


class StreakLength(Strict):
    kind: Literal["streak"]
    event_type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE)
    days: int = Field(ge=1, le=3650, description="Awarded on the Nth consecutive day.")


Criteria = Annotated[EventCount | PointsTotal | StreakLength, Field(discriminator="kind")]


class BadgeCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    icon: str = Field(default="", max_length=16, description="An emoji or a short text.")
    criteria: Criteria
    enabled: bool = True


class BadgeUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    icon: str | None = Field(default=None, max_length=16)
    enabled: bool | None = None


class BadgeOut(Row):
    id: str
    name: str
    description: str
    icon: str
    criteria: dict[str, str | int]
    enabled: bool


class UserBadgeOut(BaseModel):
    id: str
    name: str
    description: str
    icon: str
    awarded_at: str | None = Field(description="null: not earned yet.")


class StreakOut(BaseModel):
    event_type: str
    current: int = Field(description="0 once a day was missed.")
    best: int
    last_day: str


class BoardEntry(BaseModel):
    rank: int
    display_name: str
    points: int
    me: bool


class MyRank(BaseModel):
    rank: int | None = Field(description="null: no points on this board yet.")
    points: int


class Leaderboard(BaseModel):
    name: Literal["all-time", "week", "month"]
    period: str
    as_of: str | None = Field(description="When the ranks were computed (they refresh often).")
    entries: list[BoardEntry]
    me: MyRank | None = None


class AdminBoardEntry(BoardEntry):
    user_id: str


class AdminLeaderboard(Leaderboard):
    entries: list[AdminBoardEntry]  # type: ignore[assignment]
