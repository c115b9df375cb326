"""Erasing a user (the right to erasure): personal data removed, the id pseudonymised, what
the rest of the program is owed kept, the request recorded. docs/privacy.md says what goes and
what stays, and why."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, scoped_delete, tenant_filter
from plaudit.audit.actor import actor_of
from plaudit.audit.models import AuditEntry
from plaudit.audit.recorder import record
from plaudit.errors import NotFound
from plaudit.events.models import Event
from plaudit.gamification.models import LeaderboardRank, Streak, UserBadge
from plaudit.loyalty.models import LedgerEntry, PointsTally, Redemption
from plaudit.products.models import AuthFailure, Product
from plaudit.products.revocations import add_revocation
from plaudit.referrals.models import Referral, ReferralCode
from plaudit.users import repository as users
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage

from . import repository
from .models import PrivacyRequest
from .subject import pseudonym, subject_digest

ERASED_REASON = "(erased)"
REVOKED_REASON = "erased (privacy request)"


@dataclass(frozen=True)
class Erasure:
    request: PrivacyRequest
    #: True when the user was erased before: nothing more was done (idempotent).
    already: bool


def new_request_id() -> str:
    return "prq_" + secrets.token_hex(12)


def requester(session: Session) -> str:
    actor = actor_of(session)
    return actor.label if actor is not None else "system"


def file_request(
    session: Session,
    product_id: str,
    *,
    kind: str,
    user_id: str,
    digest: str,
    summary: dict[str, Any],
    now: dt.datetime,
) -> PrivacyRequest:
    """Record a privacy request of ``kind``, and say so in the audit log (``privacy.<kind>``)."""
    request = PrivacyRequest(
        id=new_request_id(),
        product_id=product_id,
        kind=kind,
        user_id=user_id,
        subject_digest=digest,
        requested_by=requester(session),
        summary=summary,
        created_at=now,
    )
    session.add(request)
    session.flush()
    record(
        session,
        product_id=product_id,
        action=f"privacy.{kind}",
        target_type="user",
        target_id=user_id,
        changes={"request": {"after": request.id}},
        now=now,
    )
    return request


def erase_user(
    session: Session, product: Product, user_id: str, *, digest_key: bytes, now: dt.datetime
) -> Erasure:
    """Erase ``user_id`` of ``product``; an erasure asked again answers the first one."""
    digest = subject_digest(digest_key, product.id, user_id)
    user = users.find_user(session, product.id, user_id)
    if user is None:
        previous = repository.erasure_of(session, product.id, digest)
        if previous is not None:
            return Erasure(previous, already=True)
        raise NotFound(f"Product {product.id!r} has no user {user_id!r}.")
    alias = pseudonym()
    summary = {
        "removed": _remove(session, product.id, user),
        "kept": _kept(session, product.id, user),
    }
    summary["rewritten"] = _rewrite_mentions(session, product.id, user_id, alias)
    _clear_profile(user, alias)
    # Tokens signed before now for this id are refused from now on (every process drops the
    # verified tokens it remembers: the product's version moves); a token the tenant signs
    # later starts a new profile, linked to nothing erased.
    # Token times are whole seconds: a token of the erasure's own second is refused too.
    cutoff = now.replace(microsecond=0) + dt.timedelta(seconds=1)
    revocation = add_revocation(
        session, product, user_id=user_id, issued_before=cutoff, reason=REVOKED_REASON, now=now
    )
    # The revocation keeps the id (it must, to refuse the old tokens); its audit entry need not.
    session.execute(
        update(AuditEntry)
        .where(
            tenant_filter(AuditEntry, product.id),  # type: ignore[arg-type]  # nullable product_id
            AuditEntry.target_type == "revocation",
            AuditEntry.target_id == str(revocation.id),
        )
        .values(changes={"reason": {"after": REVOKED_REASON}, "user_id": {"after": "[erased]"}})
        .execution_options(synchronize_session=False)
    )
    request = file_request(
        session,
        product.id,
        kind="erase",
        user_id=alias,
        digest=digest,
        summary=summary,
        now=now,
    )
    return Erasure(request, already=False)


def _clear_profile(user: User, alias: str) -> None:
    for name in User.PROFILE_FIELDS:
        setattr(user, name, None)
    user.extra = {}
    user.external_id = alias
    user.listed_at = None  # out of All Users: nothing in it is anyone's any more


def _remove(session: Session, pid: str, user: User) -> dict[str, int]:
    """The user's own rows that no one else is owed: deleted."""
    removed: dict[str, int] = {}
    for name, model in (
        ("events", Event),
        ("streaks", Streak),
        ("badges", UserBadge),
        ("points_tallies", PointsTally),
        ("leaderboard_ranks", LeaderboardRank),
        ("referral_code", ReferralCode),
    ):
        column: Any = model.user_pk
        result = session.execute(
            scoped_delete(model, pid)
            .where(column == user.id)
            .execution_options(synchronize_session=False)
        )
        removed[name] = int(getattr(result, "rowcount", 0) or 0)
    # Free text the tenant wrote about this user, and the ids their retries sent.
    adjusted = session.execute(
        update(LedgerEntry)
        .where(
            tenant_filter(LedgerEntry, pid),
            LedgerEntry.user_pk == user.id,
            LedgerEntry.kind == "adjust",
        )
        .values(reason=ERASED_REASON)
        .execution_options(synchronize_session=False)
    )
    removed["adjustment_reasons"] = int(getattr(adjusted, "rowcount", 0) or 0)
    session.execute(
        update(Redemption)
        .where(tenant_filter(Redemption, pid), Redemption.user_pk == user.id)
        .values(client_id=None)
        .execution_options(synchronize_session=False)
    )
    return removed


def _kept(session: Session, pid: str, user: User) -> dict[str, int]:
    def count(model: Any, *where: Any) -> int:
        query = scoped(model, pid).where(*where)
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    return {
        "ledger_entries": count(LedgerEntry, LedgerEntry.user_pk == user.id),
        "redemptions": count(Redemption, Redemption.user_pk == user.id),
        "referrals_made": count(Referral, Referral.referrer_pk == user.id),
    }


def _rewrite_mentions(session: Session, pid: str, user_id: str, alias: str) -> dict[str, int]:
    """The id where other rows name it: the referral they came by (the referrer keeps it), the
    referrer's ledger line, the webhooks (about them: deleted; naming them: rewritten), the
    refused tokens that carried it, earlier privacy requests and audit entries about them."""
    counts: dict[str, int] = {}
    referred = session.execute(
        update(Referral)
        .where(tenant_filter(Referral, pid), Referral.referred_external_id == user_id)
        # The digests of where they signed up from (referral screening) go with their id.
        .values(
            referred_external_id=alias, address_hash=None, device_hash=None, click_device_hash=None
        )
        .execution_options(synchronize_session=False)
    )
    counts["referral_received"] = int(getattr(referred, "rowcount", 0) or 0)
    lines = session.execute(
        update(LedgerEntry)
        .where(
            tenant_filter(LedgerEntry, pid),
            LedgerEntry.kind == "referral",
            LedgerEntry.reason == f"Referred {user_id}",
        )
        .values(reason=f"Referred {alias}")
        .execution_options(synchronize_session=False)
    )
    counts["referrer_ledger_lines"] = int(getattr(lines, "rowcount", 0) or 0)
    about = session.execute(
        scoped_delete(WebhookMessage, pid)
        .where(WebhookMessage.ordering_key == user_id)
        .execution_options(synchronize_session=False)
    )
    counts["webhooks_deleted"] = int(getattr(about, "rowcount", 0) or 0)
    naming = 0
    for message in session.scalars(
        repository.mentioning(WebhookMessage, WebhookMessage.payload, pid, user_id)
    ):
        if repository.names(message.payload, user_id):
            message.payload = repository.replaced(message.payload, user_id, alias)
            naming += 1
    counts["webhooks_rewritten"] = naming
    failures = [
        f.id
        for f in session.scalars(
            repository.mentioning(AuthFailure, AuthFailure.claims, pid, user_id)
        )
        if repository.names(f.claims, user_id)
    ]
    if failures:
        session.execute(
            delete(AuthFailure)
            .where(tenant_filter(AuthFailure, pid), AuthFailure.id.in_(failures))
            .execution_options(synchronize_session=False)
        )
    counts["refused_tokens_deleted"] = len(failures)
    for earlier in session.scalars(
        scoped(PrivacyRequest, pid).where(PrivacyRequest.user_id == user_id)
    ):
        earlier.user_id = alias
    entries = session.execute(
        update(AuditEntry)
        .where(
            tenant_filter(AuditEntry, pid),  # type: ignore[arg-type]  # nullable product_id
            AuditEntry.target_type == "user",
            AuditEntry.target_id == user_id,
        )
        .values(target_id=alias, changes={})
        .execution_options(synchronize_session=False)
    )
    counts["audit_entries"] = int(getattr(entries, "rowcount", 0) or 0)
    return counts
