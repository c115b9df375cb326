"""The event pipeline: a batch of events through every program, in the caller's transaction.

A batch is evaluated in memory and written set-wise, step by step, each step one or two
statements whatever the batch's size:

1. store the events (a retry, in this batch or an earlier one, stops here: it earns nothing);
2. decide what the new ones earn by the rules, within the rules' limits (``rules.earnings``);
3. credit it (``ledger.credit_many``): the accounts, the ledger entries, the leaderboard
   tallies, the tiers;
4. count the streaks (``streaks.record_many``);
5. award the badges (``badges.evaluate_many``);
6. queue the webhooks of all the steps, in the order one request per event would have
   (``enqueue_many``);
7. reverse what the events a refund names earned (``reversals``).

An acknowledged batch is durable with all its effects, or nothing of it is (the caller's
transaction). The product's programs (rules, badges, tiers, webhook endpoints) are read once per
process and change of them (``programs``), not per batch. A single event is a batch of one,
through the same code.

An event counts on the day it happened: its ``occurred_at`` (else now), within bounds
(``MAX_AHEAD``, ``MAX_AGE``) checked before anything is written: day limits, streaks and the
ledger's lots (``Credit.at``) use it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from plaudit import metrics
from plaudit.access.scope import scoped_in
from plaudit.errors import StoreContended
from plaudit.events import repository as event_store
from plaudit.events.errors import OccurredAtOutOfRange
from plaudit.events.repository import Member, NewEvent
from plaudit.events.schemas import MAX_AHEAD, EventIn, ServerEventIn
from plaudit.gamification import badges, streaks
from plaudit.loyalty import ledger, rules
from plaudit.loyalty.models import EarningRule
from plaudit.periods import local_day
from plaudit.products.models import Product
from plaudit.users.models import User
from plaudit.users.service import create_many
from plaudit.webhooks.service import Notice, enqueue_many

from . import programs as kept
from .reversals import Reversal
from .reversals import apply as reverse


@dataclass
class Outcome:
    """What one event did (the API's ``EventAccepted``): stored, or found as a retry of a
    stored one (``duplicate``, which earns nothing); points earned, badges awarded."""

    id: str
    duplicate: bool
    points_earned: int = 0
    badges_awarded: list[str] = field(default_factory=list)


#: The rules of an event type no rule earns by.
NO_RULES: list[EarningRule] = []
#: How long ago an event may say it happened, by where it comes from. A user's token vouches
#: only for who sends it, not when something happened: from a browser, occurred_at may only
#: absorb clock skew (as far back as ahead), or the browser could claim past days' daily
#: allowances and build streaks at will. The tenant's servers and imports may send a year of
#: history (the round-4 hostile review; docs/security.md).
MAX_AGE = {"client": MAX_AHEAD}
MAX_AGE_SERVER = dt.timedelta(days=365)


def moments(events: Sequence[EventIn], *, source: str, now: dt.datetime) -> list[dt.datetime]:
    """When each event happened (UTC): its ``occurred_at``, else now. Refuses the whole batch
    (OccurredAtOutOfRange), before anything is written, if one lies outside the bounds."""
    oldest = now - MAX_AGE.get(source, MAX_AGE_SERVER)
    latest = now + MAX_AHEAD
    out = []
    for position, event in enumerate(events):
        sent = event.occurred_at
        if sent is None:
            out.append(now)
            continue
        try:
            at = sent.astimezone(dt.UTC)
        except OverflowError:  # a moment at the calendar's edge whose UTC is off it
            at = dt.datetime.min.replace(tzinfo=dt.UTC) if sent.year == 1 else latest + MAX_AHEAD
        if not oldest <= at <= latest:
            which = f" (event {position + 1} of the batch)" if len(events) > 1 else ""
            raise OccurredAtOutOfRange(
                f"occurred_at {sent.isoformat()}{which} is "
                + (
                    f"more than {int(MAX_AHEAD.total_seconds() // 60)} minutes ahead of now"
                    if at > latest
                    else f"older than {_span(now - oldest)}"
                )
                + f" ({now.isoformat()}).",
                field="occurred_at",
            )
        out.append(at)
    return out


def _span(age: dt.timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 24 * 60 else f"{age.days} days"


class KnownUser(NamedTuple):
    """The columns of a stored user the pipeline needs, read without loading the row."""

    id: int
    product_id: str
    external_id: str


def run(
    session: Session,
    product: Product,
    events: Sequence[tuple[Member, EventIn]],
    *,
    source: str,
    now: dt.datetime,
    happened: Sequence[dt.datetime] | None = None,
) -> list[Outcome]:
    """Apply each (user, event) once, in order: a retry with a stored id earns nothing again.
    ``happened``: each event's moment, as ``moments`` found it when its request arrived (a
    single event that waited for its group is judged by its own request's clock)."""
    if not events:
        return []
    started = time.perf_counter()
    if happened is None:
        happened = moments([event for _, event in events], source=source, now=now)
    programs = kept.of(session, product)
    stored = event_store.record_events(
        session,
        product.id,
        [
            NewEvent(user, e.type, e.properties, e.id, at)
            for (user, e), at in zip(events, happened, strict=True)
        ],
        source=source,
        now=now,
    )
    fresh = [i for i, (_, new) in enumerate(stored) if new]
    zone = product.time_zone
    day_of = {i: local_day(happened[i], zone) for i in fresh}
    earned = rules.earnings(
        session,
        product,
        [
            (
                events[i][0],
                programs.rules_by_type.get(events[i][1].type, NO_RULES),
                events[i][1].properties,
            )
            for i in fresh
        ],
        source=source,
        now=now,
        days=[day_of[i] for i in fresh],
    )
    credits: list[ledger.Credit] = []
    owners: list[int] = []  # the position in ``fresh`` of each credit's event
    named: dict[int, tuple[str, str]] = {}  # each rule's id and name, read off its row once
    for position, (i, found) in enumerate(zip(fresh, earned, strict=True)):
        for rule, points in found:
            rule_id, rule_name = named.get(id(rule)) or named.setdefault(
                id(rule), (rule.id, rule.name)
            )
            credits.append(
                ledger.Credit(
                    user=events[i][0],
                    points=points,
                    kind="earn",
                    reason=rule_name,
                    rule_id=rule_id,
                    event_id=stored[i][0],
                    # A token's occurred_at moves its day, never its lot: a browser dating an
                    # event back must not shorten a hold (nor the lot's expiry).
                    at=now if source == "client" else happened[i],
                    rule=rule,
                )
            )
            owners.append(position)
    credited: list[list[ledger.Credited]] = [[] for _ in fresh]
    for position, done in zip(
        owners, ledger.credit_many(session, product, credits, now=now), strict=True
    ):
        credited[position].append(done)
    streak_of = streaks.record_many(
        session, product, [(events[i][0].id, events[i][1].type, day_of[i]) for i in fresh]
    )
    steps = [
        badges.Step(
            user=events[i][0],
            event_type=events[i][1].type,
            lifetime=credited[position][-1].entry.lifetime if credited[position] else None,
            streak=streak_of[(events[i][0].id, events[i][1].type, day_of[i])],
        )
        for position, i in enumerate(fresh)
    ]
    awards = badges.evaluate_many(
        session,
        product,
        steps,
        enabled=programs.badges,
        events_of_types=lambda pairs: event_store.counts_of_types(session, product.id, pairs),
        now=now,
    )
    notices: list[Notice] = []
    for position in range(len(fresh)):
        for done in credited[position]:
            notices.extend(done.notices)
        notices.extend(awards[position][1])
    enqueue_many(session, product_id=product.id, notices=notices, now=now)
    reversals = [
        Reversal(events[i][0], stored[i][0], reference, events[i][1].type)
        for i in fresh
        if (reference := getattr(events[i][1], "reverses", None)) is not None
    ]
    if reversals:
        reverse(session, product, reversals, now=now)
    outcomes = [Outcome(event_id, duplicate=True) for event_id, _ in stored]
    for position, i in enumerate(fresh):
        outcome = outcomes[i]
        outcome.duplicate = False
        outcome.points_earned = sum(done.entry.delta for done in credited[position])
        outcome.badges_awarded = [badge.name for badge in awards[position][0]]
    # Every event of every route and of `plaudit events import` passes this line.
    metrics.record_events(len(outcomes), time.perf_counter() - started, source=source)
    return outcomes


def ingest(
    session: Session,
    product: Product,
    user: User,
    *,
    type: str,
    properties: dict[str, Any] | None = None,
    client_event_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    source: str = "client",
    now: dt.datetime,
) -> Outcome:
    """One event of a known user: a batch of one."""
    event = EventIn.model_construct(
        type=type, properties=properties or {}, id=client_event_id, occurred_at=occurred_at
    )
    return run(session, product, [(user, event)], source=source, now=now)[0]


def ingest_batch(
    session: Session,
    product: Product,
    events: Sequence[ServerEventIn],
    *,
    source: str,
    now: dt.datetime,
) -> list[Outcome]:
    """Ingest events for named users, in order, in the caller's transaction: all or none.
    A user not seen before is created (listed if the product is published)."""
    users = members(session, product, list(dict.fromkeys(e.user_id for e in events)), now=now)
    return run(session, product, [(users[e.user_id], e) for e in events], source=source, now=now)


def members(
    session: Session, product: Product, external_ids: list[str], *, now: dt.datetime
) -> dict[str, Member]:
    """The batch's users by their ids in the tenant's system, seen now: the known ones read
    in one statement, the new ones created in one more, each announced (``user.created``),
    and the known ones marked seen in one more (two when the product is published and some
    are not listed yet). A new one another transaction created meanwhile is read then, and
    seen as a known one."""
    found = _known(session, product, external_ids)
    # Made before any row is marked seen (locked), in one order whatever the batch's (ids
    # sorted): a batch waits for another's new rows only while it holds no row lock, so
    # batches racing to make, and to see, the same users wait instead of deadlocking
    # (PostgreSQL; found by the review: B locked "t" to see it, then waited for A's "s",
    # while A's INSERT of "s", "t" waited for B's lock on "t").
    new = sorted(external_id for external_id in external_ids if external_id not in found)
    made = create_many(
        session, product_id=product.id, external_ids=new, listed=product.published, now=now
    )
    found |= _known(
        session, product, [external_id for external_id in new if external_id not in made]
    )
    if any(external_id not in made and external_id not in found for external_id in new):
        # Made by another transaction, then deleted (erased) before this one could read it:
        # rare, and the batch, sent again, makes it afresh.
        raise StoreContended(
            "A user this batch names was made and deleted by other requests while it ran; "
            "nothing of the batch was stored."
        )
    _seen(session, product, list(found.values()), now=now)
    for external_id, pk in made.items():
        found[external_id] = KnownUser(id=pk, product_id=product.id, external_id=external_id)
    return found


def _known(session: Session, product: Product, external_ids: list[str]) -> dict[str, Member]:
    """The users of ``external_ids`` the store holds, read in one statement."""
    if not external_ids:
        return {}
    return {
        external_id: KnownUser(id=user_pk, product_id=product.id, external_id=external_id)
        for user_pk, external_id in scoped_in(
            session, User, product.id, "external_id", external_ids, columns=("id", "external_id")
        )
    }


def _seen(session: Session, product: Product, users: list[Member], *, now: dt.datetime) -> None:
    """Known users seen now, in one statement (two when the product is published and some are
    not listed yet)."""
    if not users:
        return
    known = sorted(member.id for member in users)  # one lock order (PostgreSQL)
    scoped_in(session, User, product.id, "id", known, assign={"last_seen_at": now})
    if product.published:
        scoped_in(
            session,
            User,
            product.id,
            "id",
            known,
            assign={"listed_at": now},
            only="listed_at IS NULL",
        )
