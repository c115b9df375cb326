"""create_app(settings): the one place that wires the store, the services and the routers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterator, Callable

import httpx
import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from plaudit import __version__, logs
from plaudit.access.state import AppState
from plaudit.analytics.routes import router as analytics_router
from plaudit.audit import recorder as audit_recorder
from plaudit.audit.routes import router as audit_router
from plaudit.console.routes import router as console_router
from plaudit.exports.routes import router as exports_router
from plaudit.gamification import leaderboards
from plaudit.gamification.routes import router as gamification_router
from plaudit.limits.body import BodyLimits
from plaudit.limits.limiter import Limiter
from plaudit.loyalty import requalify, settling
from plaudit.loyalty.routes import client_router as loyalty_client_router
from plaudit.loyalty.routes import router as loyalty_router
from plaudit.me.routes import router as me_router
from plaudit.operations import collector, health, scrape, store_gauges
from plaudit.operations.requests import RequestObserver
from plaudit.outbound import pinned_client
from plaudit.pipeline import client_events
from plaudit.pipeline.routes import points_router, send_event_fast
from plaudit.pipeline.routes import router as events_router
from plaudit.privacy.routes import router as privacy_router
from plaudit.products import limited
from plaudit.products.failure_log import FailureLog
from plaudit.products.jwks_refresh import JwksFetcher
from plaudit.products.keystore import Keystore
from plaudit.products.routes import router as products_router
from plaudit.products.verification import Verification
from plaudit.referrals.rewards import release_due as release_rewards
from plaudit.referrals.routes import router as referrals_router
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.users.memory import UserMemory
from plaudit.users.routes import router as users_router
from plaudit.web import api_docs, errors, openapi
from plaudit.web.cors import OriginRegistry, origin_of
from plaudit.web.hotpath import PlauditApp
from plaudit.web.identifiers import ControlCharacterGuard
from plaudit.web.verify_route import router as verify_router
from plaudit.web.verify_route import verify as verify_endpoint
from plaudit.webhooks import worker as webhooks_worker
from plaudit.webhooks.routes import router as webhooks_router
from plaudit.widget.routes import router as widget_router

log = structlog.get_logger("plaudit")

JWKS_CHECK_SECONDS = 30.0
#: Expiry is by whole days of inactivity: looking every few minutes is plenty.
EXPIRY_CHECK_SECONDS = 300.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle takes ~25 ms, each client anew."""
    return httpx.create_ssl_context()


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], float] = time.time,
    background: bool = True,
) -> FastAPI:
    settings = settings.resolve_development_secrets()
    db = db or Database(
        settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    box = SecretBox(settings.master_key or "")
    keystore = Keystore(db, box=box, settings=settings)
    # Every call to a tenant's host: addresses pinned and checked, one deadline per fetch.
    http = pinned_client(allow_private=settings.allow_private_urls, ssl_context=tls_context())
    state = AppState(
        settings=settings,
        db=db,
        box=box,
        http=http,
        clock=clock,
        own_origin=origin_of(settings.resolved_public_url),
    )
    verification = Verification(
        keystore=keystore,
        failures=FailureLog(clock),
        jwks=JwksFetcher(
            db,
            http,
            keystore,
            allow_private=settings.allow_private_urls,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
        ),
    )
    origins = OriginRegistry(
        db, own_origin=state.own_origin, refresh_seconds=settings.keystore_refresh_seconds
    )
    limiter = Limiter(settings, clock=clock)
    users = UserMemory()  # known users, and their last_seen_at until the next flush

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(_maintain(state, verification, origins, limiter, users))
            if background
            else None
        )
        # JWKS refresh: a loop of its own, so that a slow tenant host never delays the
        # propagation of keys, secrets and revocations that _maintain does every few seconds.
        refresh = asyncio.create_task(_refresh_jwks(state, verification)) if background else None
        # Webhooks: their own delivery loop, so a slow receiver never holds up maintenance.
        deliveries = asyncio.create_task(webhooks_worker.run(state)) if background else None
        # Programs: ranking a million-user board takes tens of seconds; it must not hold up the
        # keystore refresh that spreads key changes within seconds.
        programs = asyncio.create_task(_programs(state)) if background else None
        try:
            yield
        finally:
            await webhooks_worker.stop(deliveries)
            for loop in (task, refresh, programs):
                if loop is not None:
                    loop.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await loop
            await run_in_threadpool(verification.failures.flush, db)
            try:
                await run_in_threadpool(users.flush, db)
            except Exception as exc:  # logged: shutting down goes on
                log.warning("last_seen_flush_failed", error_type=type(exc).__name__)
            verification.jwks.close()
            await run_in_threadpool(limited.flush, limiter.counts, db)
            state.http.close()
            app.state.readiness.close()
            app.state.store_gauges.close()

    app = PlauditApp(
        title="Plaudit",
        version=__version__,
        summary="Referrals, loyalty and gamification behind tokens your backend signs.",
        description="Management calls take the operator's admin token or a product API key "
        "(`Authorization: Bearer`). Client calls take the user token your backend signed "
        "(`Authorization: Bearer`, `X-Plaudit-User-Token` or `X-SaaSquatch-User-Token`). "
        'Every error is `{"error", "message", "hint"}` with a stable `error` code.',
        lifespan=lifespan,
        docs_url=None,  # served from the package by web/api_docs.py, not from a CDN
        redoc_url=None,
    )
    app.state.plaudit = state
    app.state.verification = verification
    app.state.limiter = limiter  # rate limits: see limits/web.py
    app.state.users = users  # see users/memory.py
    app.state.event_groups = client_events.groups(state)  # see pipeline/group_commit.py
    app.body_limits = BodyLimits(settings)  # served ahead of everything: see web/hotpath.py
    errors.install(app)
    openapi.install(app)
    audit_recorder.install()
    api_docs.install(app)
    app.add_middleware(ControlCharacterGuard)

    # Operations: /healthz, /readyz, /metrics, and every request's id and count, outermost.
    app.state.readiness = health.readiness(state)
    app.state.store_gauges = store_gauges.store_gauges(db, state.now)
    app.observer = RequestObserver(hot_routes=app.hot_routes, access_log=settings.access_log)
    app.include_router(health.router)
    app.include_router(scrape.router)
    app.include_router(verify_router)
    # Served ahead of the framework: see web/hotpath.py.
    app.hot_routes["GET", "/v1/auth/verify"] = verify_endpoint
    app.hot_routes["POST", "/v1/events"] = send_event_fast
    app.include_router(events_router)
    app.include_router(me_router)
    app.include_router(loyalty_router)
    app.include_router(points_router)
    app.include_router(loyalty_client_router)
    app.include_router(gamification_router)
    app.include_router(products_router)
    app.include_router(users_router)
    app.include_router(referrals_router)
    app.include_router(widget_router)
    app.include_router(webhooks_router)
    app.include_router(audit_router)
    app.include_router(privacy_router)
    app.include_router(analytics_router)
    app.include_router(exports_router)
    app.include_router(console_router)
    app.origins = origins
    # After a change this process committed: reload that product's verification now (others
    # notice its version within seconds), and re-read the allowed origins.
    state.on_change.append(verification.keystore.reload)
    state.on_change.append(lambda _product_id: origins.invalidate())
    return app


def app_from_environment() -> FastAPI:
    """The ASGI factory `plaudit serve` hands uvicorn: each worker builds its own app."""
    settings = Settings()
    logs.configure(settings)
    app = create_app(settings)
    collector.settle_heap()
    return app


async def _maintain(
    state: AppState,
    verification: Verification,
    origins: OriginRegistry,
    limiter: Limiter,
    users: UserMemory,
) -> None:
    """The background loop: pick up changes made by other processes, write the failure log
    and the users' last_seen_at. Each step is isolated: one failing never stops the others.
    Nothing here calls out."""
    while True:
        await asyncio.sleep(state.settings.keystore_refresh_seconds)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("keystore_refresh", verification.keystore.refresh),
            ("failure_flush", lambda: verification.failures.flush(state.db)),
            ("limited_flush", lambda: limited.flush(limiter.counts, state.db)),
            ("last_seen_flush", lambda: users.flush(state.db)),
        ]
        if origins.is_stale():
            steps.append(("origins_refresh", origins.refresh))
        await _run_steps(steps)


async def _refresh_jwks(state: AppState, verification: Verification) -> None:
    """The JWKS loop: fetch the sources that are due, on the JWKS threads (each fetch within
    its deadline, several at once); what changed reaches verification by the keystore's poll."""
    pause = state.settings.keystore_refresh_seconds  # the first look comes soon after start
    while True:
        await asyncio.sleep(pause)
        pause = JWKS_CHECK_SECONDS
        try:
            await verification.jwks.refresh_due()
        except Exception as exc:  # logged; the loop must survive
            log.warning("maintenance_failed", step="jwks_refresh", error_type=type(exc).__name__)


async def _programs(state: AppState) -> None:
    """The programs' background loop: re-rank the leaderboards that moved, expire balances."""
    boards = leaderboards.Refresher(state.db)
    last_expiry = 0.0
    while True:
        await asyncio.sleep(state.settings.leaderboard_refresh_seconds)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("leaderboards", lambda: boards(state.now()))
        ]
        steps.append(("referral_rewards", lambda: release_rewards(state.db, now=state.now())))
        if time.monotonic() - last_expiry >= EXPIRY_CHECK_SECONDS:
            last_expiry = time.monotonic()
            steps.append(("points_expiry", lambda: settling.expire_all(state.db, now=state.now())))
        steps.append(("points_lots", lambda: settling.settle_due(state.db, now=state.now())))
        steps.append(("tiers", lambda: requalify.requalify_all(state.db, now=state.now())))
        await _run_steps(steps)


async def _run_steps(steps: list[tuple[str, Callable[[], object]]]) -> None:
    """Each step off the event loop and isolated: one failing never stops the others."""
    for name, step in steps:
        try:
            await run_in_threadpool(step)
        except Exception as exc:  # logged; the loop must survive
            log.warning("maintenance_failed", step=name, error_type=type(exc).__name__)
