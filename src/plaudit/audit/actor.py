"""Who a change is recorded as: the operator, an API key, or the CLI; through which door."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from plaudit.access.session import REQUEST, Acting

#: ``session.info`` key for an actor named outright (the CLI, a job), ahead of the request's.
ACTOR = "plaudit.audit_actor"


@dataclass(frozen=True)
class Actor:
    #: operator | api_key | cli
    kind: str
    via: str
    key_id: str | None = None
    session_ref: str | None = None

    @property
    def label(self) -> str:
        """How lists show and filter it: ``operator``, ``api_key:<id>``, ``cli``."""
        return f"api_key:{self.key_id}" if self.key_id else self.kind


CLI = Actor(kind="cli", via="cli")


def act_as(session: Session, actor: Actor) -> None:
    """Audit this session's management writes as ``actor`` (the CLI's own sessions)."""
    session.info[ACTOR] = actor


def actor_of(session: Session) -> Actor | None:
    """Who the session's writes are made by, or None: then they are no management change
    (a user's own token, the pipeline, the delivery loop, the JWKS refresh)."""
    named = session.info.get(ACTOR)
    if isinstance(named, Actor):
        return named
    request = session.info.get(REQUEST)
    found = getattr(request.state, "plaudit_acting", None) if request is not None else None
    if not isinstance(found, Acting):
        return None
    principal = found.principal
    return Actor(
        kind="operator" if principal.is_operator else "api_key",
        via=found.via,
        key_id=principal.api_key_id,
        session_ref=found.session_ref,
    )
