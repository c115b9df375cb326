"""What an event can be refused for, beyond its shape: each a stable code (docs/errors.md)."""

from __future__ import annotations

from plaudit.errors import InvalidInput, RateLimited


class OccurredAtOutOfRange(InvalidInput):
    code = "occurred_at_out_of_range"
    description = "The event's occurred_at is further in the future or the past than allowed."
    hint = (
        "Send occurred_at as ISO 8601 with an offset, at most 5 minutes ahead of now and at "
        "most 365 days old from your servers (API key, imports); from a user's token at most "
        "5 minutes old, as a browser vouches for no other time: send older events from your "
        "server (docs/loyalty.md, Events). Omit it for an event that happens now."
    )


class UnknownOriginalEvent(InvalidInput):
    code = "unknown_original_event"
    description = "The event reverses an event this product has not stored for this user."
    hint = (
        "Name in 'reverses' the id you sent with the earlier event (or the id Plaudit "
        "answered for it), for the same user_id, and send the earlier event first."
    )


class EventsBacklogged(RateLimited):
    code = "events_backlogged"
    status = 503
    description = (
        "So many of this product's events are waiting to be stored that this one was not "
        "queued; nothing of it was stored."
    )
    hint = (
        "Retry after the Retry-After seconds. Events this many at once are better sent in "
        "batches from your servers (POST /v1/products/{id}/events, up to 1,000 a call)."
    )


class UserBusy(RateLimited):
    code = "user_busy"
    status = 503
    description = (
        "This user's points were held by another operation that did not finish in time (a "
        "redemption, a batch from your servers); the event was not stored."
    )
    hint = (
        "Retry after the Retry-After seconds. If it keeps happening, look for long "
        "transactions holding this user's account (docs/operations.md)."
    )
