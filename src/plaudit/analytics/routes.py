"""The analytics API: a product's dashboard over a period, whole or one part at a time, for the
management credentials (the admin token, or the product's own API key)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.products.dependencies import ManagedProduct

from . import service
from .period import DEFAULT_DAYS, MAX_DAYS, Period, period
from .schemas import ActiveUsers, Dashboard, Funnel, Points, TopReward, TopRule

router = APIRouter(tags=["analytics"])
BASE = "/v1/products/{product_id}/analytics"


def requested_period(
    state: State,
    first: Annotated[
        dt.date | None,
        Query(
            alias="from",
            description=f"First day (YYYY-MM-DD, UTC), included. Default: {DEFAULT_DAYS} days "
            "ending with 'to'.",
        ),
    ] = None,
    last: Annotated[
        dt.date | None,
        Query(
            alias="to",
            description=f"Last day (YYYY-MM-DD, UTC), included. Default: today. At most "
            f"{MAX_DAYS} days from 'from'.",
        ),
    ] = None,
) -> Period:
    return period(first, last, now=state.now())


RequestedPeriod = Annotated[Period, Depends(requested_period)]
Top = Annotated[int, Query(ge=1, le=service.MAX_TOP, description="How many to list.")]


@router.get(BASE, response_model=Dashboard, summary="A product's dashboard over a period")
def dashboard(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
    top: Top = service.TOP,
) -> Dashboard:
    return service.dashboard(session, product, when, now=state.now(), top=top)


@router.get(
    BASE + "/funnel",
    response_model=Funnel,
    summary="Referral link clicks, signups, conversions and rewards by day",
)
def funnel(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
) -> Funnel:
    return service.funnel(session, product, when, now=state.now())


@router.get(
    BASE + "/points",
    response_model=Points,
    summary="Points earned, redeemed, expired and adjusted by day",
)
def points(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
) -> Points:
    return service.points(session, product, when, now=state.now())


@router.get(
    BASE + "/active-users",
    response_model=ActiveUsers,
    summary="Users with an event, by day and over the period",
)
def active_users(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
) -> ActiveUsers:
    return service.active_users(session, product, when, now=state.now())


@router.get(
    BASE + "/top-rewards",
    response_model=list[TopReward],
    summary="The rewards redeemed most in the period",
)
def top_rewards(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
    limit: Top = service.TOP,
) -> list[TopReward]:
    return service.top_rewards(session, product, when, now=state.now(), limit=limit)


@router.get(
    BASE + "/top-rules",
    response_model=list[TopRule],
    summary="The earning rules that credited most points in the period",
)
def top_rules(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    when: RequestedPeriod,
    state: State,
    limit: Top = service.TOP,
) -> list[TopRule]:
    return service.top_rules(session, product, when, now=state.now(), limit=limit)
