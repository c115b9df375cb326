"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve): what probes ask.

``/healthz`` touches nothing: a liveness probe that failed when the database did would have
every process restarted for the database's trouble. ``/readyz`` checks what serving needs, on a
thread of its own within ``DEADLINE_SECONDS``: the store answers, its schema is not behind
the migrations this code ships, and the master key decrypts what the store holds (the newest
product secret and webhook secret; nothing to decrypt yet passes). It answers 503 naming what
failed, never how: no exception text, which might quote a URL or a secret.
"""

from __future__ import annotations

import functools
from typing import Literal

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.responses import JSONResponse

from plaudit import __version__
from plaudit.access.state import AppState
from plaudit.errors import ServiceError
from plaudit.products.models import ProductSecret
from plaudit.store.crypto import MasterKeyError
from plaudit.store.migrate import alembic_config
from plaudit.webhooks.models import WebhookEndpoint

from .deadline import SingleRead

DEADLINE_SECONDS = 3.0

router = APIRouter(tags=["operations"])

Check = Literal["ok", "failed", "not_checked"]


class Alive(BaseModel):
    status: Literal["ok"]
    version: str


class Checks(BaseModel):
    store: Check = Field(description="The store answered a query.")
    migrations: Check = Field(
        description="The store's schema is not behind this version's migrations."
    )
    master_key: Check = Field(description="PLAUDIT_MASTER_KEY decrypts the stored secrets.")


class Ready(BaseModel):
    status: Literal["ok"]
    version: str
    checks: Checks


class NotReady(ServiceError):
    code = "not_ready"
    status = 503
    description = "This process cannot serve yet: a readiness check failed (GET /readyz)."
    hint = "The body's `checks` names the check; its hint says what to fix."


class NotReadyBody(BaseModel):
    error: Literal["not_ready"]
    message: str
    hint: str
    checks: Checks


@router.get(
    "/healthz",
    response_model=Alive,
    summary="Liveness: the process answers (touches no store)",
)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: the store answers, its schema is current, the master key decrypts",
    responses={503: {"model": NotReadyBody, "description": "A check failed; `checks` names it."}},
)
async def readyz(request: Request) -> JSONResponse:
    checker: SingleRead[dict[str, Check]] = request.app.state.readiness
    checks = await checker() or NOT_ANSWERED  # past the deadline: the store did not answer
    failed = [name for name, result in checks.items() if result != "ok"]
    if not failed:
        return JSONResponse({"status": "ok", "version": __version__, "checks": checks})
    return JSONResponse(
        {
            "error": NotReady.code,
            "message": f"Not ready: {', '.join(failed)} failed or could not be checked.",
            "hint": _HINTS[failed[0]],
            "checks": checks,
        },
        status_code=NotReady.status,
        headers={"Cache-Control": "no-store"},
    )


_HINTS = {
    "store": "Check that the database at PLAUDIT_DATABASE_URL is up and reachable.",
    "migrations": "Run `plaudit migrate` with this version of Plaudit.",
    "master_key": "PLAUDIT_MASTER_KEY does not decrypt the stored secrets: list the key that "
    "encrypted them (comma-separated, after the new one).",
}


@functools.cache
def _known_behind() -> frozenset[str]:
    """The revisions this version ships short of its head: a store at one of them (or at none)
    lacks what the code needs. A revision it does not know is a newer release's: that store is
    ahead, which does not fail readiness, or a rolling upgrade that migrates first would take
    every old process out of rotation before a new one is up."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))  # read once per process
    head = script.get_current_head()
    return frozenset(r.revision for r in script.walk_revisions() if r.revision != head)


def _schema_ok(current: str | None) -> bool:
    return current is not None and current not in _known_behind()


def check(state: AppState) -> dict[str, Check]:
    """The three checks, in order; the one that raised failed, the ones after it are
    not_checked (a missing ``alembic_version`` table is a store never migrated)."""
    checks: dict[str, Check] = {
        "store": "not_checked",
        "migrations": "not_checked",
        "master_key": "not_checked",
    }
    db = state.db
    step = "store"
    try:
        with db.session() as session:
            connection = session.connection()
            if not db.is_sqlite:
                timeout = int(DEADLINE_SECONDS * 1000)
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout}")
            connection.exec_driver_sql("SELECT 1")
            checks["store"], step = "ok", "migrations"
            current = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            checks["migrations"] = "ok" if _schema_ok(current.scalar()) else "failed"
            step = "master_key"
            for column, created in (
                (ProductSecret.ciphertext, ProductSecret.created_at),
                (WebhookEndpoint.secret_ciphertext, WebhookEndpoint.created_at),
            ):
                newest = session.scalar(select(column).order_by(created.desc()).limit(1))
                if newest is not None:
                    state.box.open(newest)
            checks["master_key"] = "ok"
    except MasterKeyError:
        checks["master_key"] = "failed"
    except Exception:  # the step that raised is the one that failed
        checks[step] = "failed"
    return checks


def readiness(state: AppState) -> SingleRead[dict[str, Check]]:
    """What ``/readyz`` awaits: ``check`` on a thread of its own, within the deadline."""
    return SingleRead(lambda: check(state), seconds=DEADLINE_SECONDS, name="plaudit-readyz")


NOT_ANSWERED: dict[str, Check] = {
    "store": "failed",
    "migrations": "not_checked",
    "master_key": "not_checked",
}
