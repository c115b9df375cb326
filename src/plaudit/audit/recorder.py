"""Recording management changes: a session hook for every flushed change, ``record`` for the
rest, both written on the session's own connection (the change and its entry commit together,
or neither does).

Why a hook and not a line in every route: a route that forgets to record is impossible when
nothing needs remembering. The hook sees inserts, updates and deletes of the tables in
``targets``, and the bulk deletes the ORM runs (a product's tiers replaced at once); a write
with no actor (a user's token, the pipeline, the delivery loop, the JWKS refresh) is no
management change and is not recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.state import InstanceState

from plaudit.access.session import REQUEST
from plaudit.access.state import get_state
from plaudit.store.base import utcnow

from .actor import Actor, actor_of
from .models import AuditEntry
from .targets import TARGETS, Target, plain, verb

_table: Any = AuditEntry.__table__


def install() -> None:
    """Listen to every ORM session (idempotent): the app and the CLI call it at start."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _bulk_delete)


def record(
    session: Session,
    *,
    product_id: str | None,
    action: str,
    target_type: str,
    target_id: str | None,
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """An entry for a change the hook cannot see the intent of, as the session's actor (or
    ``actor``). Returns whether one was written: without an actor there is no one to name."""
    actor = actor or actor_of(session)
    if actor is None:
        return False
    _write(
        session,
        [
            _row(
                actor,
                product_id=product_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                changes=plain(changes or {}),
                now=now or _now(session),
            )
        ],
    )
    return True


def _row(
    actor: Actor,
    *,
    product_id: str | None,
    action: str,
    target_type: str,
    target_id: str | None,
    changes: dict[str, Any],
    now: dt.datetime,
    product_gone: bool = False,
) -> dict[str, Any]:
    return {
        "product_id": None if product_gone else product_id,
        "origin_product_id": product_id,
        "at": now,
        "actor_kind": actor.kind,
        "actor_key_id": actor.key_id,
        "via": actor.via,
        "session_ref": actor.session_ref,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id)[:255],
        "changes": changes,
    }


def _now(session: Session) -> dt.datetime:
    """The app's clock for a request's session (tests pin it), else the wall clock."""
    request = session.info.get(REQUEST)
    return get_state(request).now() if request is not None else utcnow()


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(_table.insert(), rows)


# --- the hook ---------------------------------------------------------------------------------


def _target_of(obj: object) -> Target | None:
    return TARGETS.get(getattr(obj, "__tablename__", ""))


def _product_of(target: Target, values: dict[str, Any]) -> str | None:
    found = values.get("id" if target.type == "product" else "product_id")
    return None if found is None else str(found)


def _values(state: InstanceState[Any]) -> dict[str, Any]:
    """The loaded column values of a row (never loading more inside a flush)."""
    return {
        attr.key: state.dict[attr.key]
        for attr in state.mapper.column_attrs
        if attr.key in state.dict
    }


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    actor = actor_of(session)
    if actor is None:
        return
    now = _now(session)
    gone = {
        str(getattr(obj, "id", ""))
        for obj in session.deleted
        if getattr(obj, "__tablename__", "") == "products"
    }
    found: list[tuple[str, str, dict[str, Any]]] = []
    for verb_name, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            target = _target_of(obj)
            if target is None:
                continue
            state = inspect(obj)
            values = _values(state)
            product_id = _product_of(target, values)
            if target.type != "product" and product_id in gone:
                continue  # deleted with its product: the product's own entry says so
            changes = _changes(target, state, values, verb_name)
            if changes is None:
                continue
            action = verb(target, changes) if verb_name == "update" else verb_name
            found.append(
                (
                    f"{target.type}.{action}",
                    str(values.get(target.key, "")),
                    {"product_id": product_id, "target_type": target.type, "changes": changes},
                )
            )
    rows = [
        _row(
            actor,
            product_id=info["product_id"],
            action=action,
            target_type=info["target_type"],
            target_id=target_id,
            changes=info["changes"],
            now=now,
            product_gone=info["product_id"] in gone,
        )
        for action, target_id, info in sorted(found, key=lambda item: (item[0], item[1]))
    ]
    _write(session, rows)


def _changes(
    target: Target, state: InstanceState[Any], values: dict[str, Any], verb_name: str
) -> dict[str, dict[str, Any]] | None:
    """What changed, field by field; None when nothing a person changed did."""
    if verb_name == "create":
        return {
            name: {"after": target.shown(name, value)}
            for name, value in sorted(values.items())
            if name not in target.ignored and value is not None
        }
    if verb_name == "delete":
        return {
            name: {"before": target.shown(name, value)}
            for name, value in sorted(values.items())
            if name not in target.ignored and value is not None
        }
    changes: dict[str, dict[str, Any]] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in target.ignored:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        changes[attr.key] = {
            "before": target.shown(attr.key, before),
            "after": target.shown(attr.key, after),
        }
    return changes or None


def _bulk_delete(execute_state: ORMExecuteState) -> None:
    """A bulk ``DELETE`` of a management table: an entry per row it removes, read first."""
    if not execute_state.is_delete:
        return
    mapper = execute_state.bind_mapper
    table: Any = mapper.local_table if mapper is not None else None
    target = TARGETS.get(getattr(table, "name", ""))
    if target is None:
        return
    session = execute_state.session
    actor = actor_of(session)
    if actor is None:
        return
    statement: Any = execute_state.statement
    query = select(table)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    now = _now(session)
    rows = []
    for row in session.connection().execute(query).mappings():
        values = dict(row)
        rows.append(
            _row(
                actor,
                product_id=_product_of(target, values),
                action=f"{target.type}.delete",
                target_type=target.type,
                target_id=str(values.get(target.key, "")),
                changes={
                    name: {"before": target.shown(name, value)}
                    for name, value in sorted(values.items())
                    if name not in target.ignored and value is not None
                },
                now=now,
            )
        )
    _write(session, rows)
