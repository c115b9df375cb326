"""The analytics answers. Daily figures are columns beside one list of days: ``series`` maps a
name to one number per day, so that a series added later (points pending, with the holds of
issue 14) is one more key, not a new shape."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class PeriodOut(BaseModel):
    #: ``from`` is a Python keyword: the field is ``first`` and answers as ``from``.
    first: dt.date = Field(serialization_alias="from", description="First day, included.")
    last: dt.date = Field(serialization_alias="to", description="Last day, included.")
    time_zone: str = Field("UTC", description="Days are UTC days.")


class Daily(BaseModel):
    """Figures per day: ``series[name][i]`` is that figure on ``days[i]``."""

    days: list[dt.date]
    series: dict[str, list[int]]
    totals: dict[str, int] = Field(description="Each series summed over the period.")


class Funnel(Daily):
    """Referral link clicks, signups through a link, conversions and referral rewards granted."""


class Points(Daily):
    """Points earned (earning rules and referral points), redeemed, expired and adjusted (the
    net of manual adjustments)."""


class ActiveUsers(BaseModel):
    """Users with at least one event: per day (exact), and distinct over the whole period
    (estimated from the days' HyperLogLog sketches: exact for a handful of users, standard
    error 1.6% at any size)."""

    days: list[dt.date]
    series: dict[str, list[int]]
    total: int = Field(
        description="Distinct users active in the period, estimated from daily sketches: "
        "exact for a handful of users, within a few percent (standard error 1.6%) at any size."
    )


class TopReward(BaseModel):
    reward_id: str
    name: str
    redemptions: int
    points: int = Field(description="Points spent on it in the period.")


class TopRule(BaseModel):
    rule_id: str
    #: None when the rule has been deleted since (its ledger entries stay).
    name: str | None
    event_type: str | None
    earns: int = Field(description="Ledger entries it credited in the period.")
    points: int


class Dashboard(BaseModel):
    product_id: str
    period: PeriodOut
    funnel: Funnel
    points: Points
    active_users: ActiveUsers
    top_rewards: list[TopReward]
    top_rules: list[TopRule]
