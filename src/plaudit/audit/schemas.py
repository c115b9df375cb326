"""The audit log as the API answers it."""

from __future__ import annotations

from typing import Any

from plaudit.responses import IsoTime, Row


# Comments, not docstrings, on response models (a docstring becomes the schema's description).
class AuditActor(Row):
    # operator | api_key | cli
    kind: str
    # api | console | cli
    via: str
    api_key_id: str | None = None
    console_session: str | None = None
    # What the actor filter takes: operator, cli, api_key:<id>.
    label: str


class AuditEntryOut(Row):
    id: str
    at: IsoTime
    product_id: str | None
    actor: AuditActor
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any]


class AuditPage(Row):
    entries: list[AuditEntryOut]
    # Pass as `cursor` for the next (older) page; null on the last page.
    next_cursor: str | None


def entry_out(entry: Any) -> AuditEntryOut:
    key = entry.actor_key_id
    return AuditEntryOut(
        id=str(entry.id),
        at=entry.at,
        product_id=entry.origin_product_id,
        actor=AuditActor(
            kind=entry.actor_kind,
            via=entry.via,
            api_key_id=key,
            console_session=entry.session_ref,
            label=f"api_key:{key}" if key else entry.actor_kind,
        ),
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        changes=entry.changes or {},
    )
