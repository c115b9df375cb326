"""``plaudit serve``, ``plaudit migrate`` and ``plaudit demo`` (what ``make run`` calls)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.orm import Session

from plaudit import logs
from plaudit.auth import SigningKey, sign
from plaudit.gamification import badges, leaderboards
from plaudit.gamification.schemas import BadgeCreate
from plaudit.loyalty import catalog, ledger, rules, tiers
from plaudit.loyalty.schemas import RewardCreate, RuleCreate
from plaudit.periods import BOARDS
from plaudit.pipeline.ingest import ingest
from plaudit.products import hmac_secrets, service
from plaudit.products.models import Product
from plaudit.products.schemas import ProductSettings
from plaudit.store.base import utcnow
from plaudit.store.migrate import current_revision
from plaudit.users.service import upsert_user

from .runtime import console, load_settings, services

DEMO_PRODUCT = "demo"
DEMO_USER = "demo-user"

HostOpt = Annotated[str | None, typer.Option(help="Address to listen on (PLAUDIT_HOST).")]
PortOpt = Annotated[int | None, typer.Option(help="Port (PLAUDIT_PORT).")]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("migrate")(migrate)
    app.command("demo")(demo)


def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the API. SQLite is migrated first; PostgreSQL needs `plaudit migrate`."""
    settings = load_settings()
    with services():
        pass  # migrates SQLite, refuses a stale PostgreSQL schema: before any worker starts
    _run(host or settings.host, port or settings.port, workers)


def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    with services(migrate=True) as s:
        console.print(f"Database at revision {current_revision(s.db.engine)}.")


def demo(host: HostOpt = None, port: PortOpt = None) -> None:
    """Seed a demo product and user, print a working token, and serve (`make run`).

    The demo product follows the referral widget guide (the `reditus` profile: HS512 tokens with
    ProductId, UserId and iat), and /demo is a sample host app that embeds the widget.
    """
    settings = load_settings()
    host, port = host or settings.host, port or settings.port
    url = settings.public_url or f"http://{host}:{port}"
    with services(migrate=True) as s, s.session() as session:
        product = session.get(Product, DEMO_PRODUCT)
        if product is None:
            product = service.create_product(
                session, box=s.box, name="Acme Notes", product_id=DEMO_PRODUCT, profile="reditus"
            ).product
        service.update_product(
            session,
            product,
            ProductSettings(
                profile="reditus",
                published=True,
                allowed_origins=[url],
                referral_landing_url=f"{url}/demo",
            ),
        )
        secret = next(
            (
                x
                for x in hmac_secrets.list_secrets(session, product)
                if x.enabled and x.not_after is None and x.algorithm in (None, "HS512")
            ),
            None,
        )
        if secret is None:  # a store seeded by an older demo: give it an HS512 secret
            secret, _ = hmac_secrets.create_secret(
                session, product, box=s.box, algorithm="HS512", grace_seconds=0
            )
        key = SigningKey.from_secret(s.box.open(secret.ciphertext), "HS512")
        _seed_loyalty(session, product)
    # The token the referral widget guide's backend code signs: ProductId, UserId, iat.
    token = sign({"ProductId": DEMO_PRODUCT, "UserId": DEMO_USER, "iat": int(time.time())}, key)
    os.environ["PLAUDIT_DEMO"] = "true"  # the served app (built from the environment) shows /demo
    os.environ.setdefault("PLAUDIT_PUBLIC_URL", url)
    console.print(f"\n[bold green]Plaudit is serving at {url}[/]\n")
    console.print(f"  demo app       {url}/demo")
    console.print(f"  API reference  {url}/docs")
    console.print(f"  admin console  {url}/console  (sign in with the admin token)")
    console.print(f"  admin token    {settings.admin_token}")
    console.print(f"  demo product   {DEMO_PRODUCT}")
    console.print(f"  demo token     {token}\n")
    console.print("Try it:")
    console.print(
        f"  curl -s {url}/v1/auth/verify -H 'Authorization: Bearer {token}'\n", soft_wrap=True
    )
    _run(host, port, 1)


def _seed_loyalty(session: Session, product: Product) -> None:
    """A living loyalty program for /demo, once: rules, tiers, rewards, badges, and points for
    the demo user and three others, so the leaderboard has someone to beat."""
    if rules.list_rules(session, product):
        return  # seeded before, or the operator set up a program of their own
    now = utcnow()
    for rule in (
        RuleCreate(name="Write a note", event_type="note_created", points=10, limit_per_day=5),
        RuleCreate(name="Share a notebook", event_type="notebook_shared", points=50),
        RuleCreate(name="Upgrade to Pro", event_type="subscribed", property="amount", rate=2),
        RuleCreate(
            name="Complete your profile", event_type="profile_completed", points=25, once=True
        ),
    ):
        rules.create_rule(session, product, rule)
    tiers.replace_tiers(session, product, [("Bronze", 0), ("Silver", 250), ("Gold", 1000)])
    for reward in (
        RewardCreate(name="Dark theme pack", description="Six hand-tuned themes.", cost=100),
        RewardCreate(name="Extra 10 GB", description="More room for attachments.", cost=300),
        RewardCreate(name="Acme mug", description="Ceramic, 350 ml.", cost=800, stock=25),
        RewardCreate(name="A year of Pro", description="Every feature, twelve months.", cost=5000),
    ):
        catalog.create_reward(session, product, reward)
    for badge in (
        {
            "name": "First note",
            "icon": "📝",
            "description": "Wrote a first note.",
            "criteria": {"kind": "event_count", "event_type": "note_created", "count": 1},
        },
        {
            "name": "Sharer",
            "icon": "🤝",
            "description": "Shared three notebooks.",
            "criteria": {"kind": "event_count", "event_type": "notebook_shared", "count": 3},
        },
        {
            "name": "On a roll",
            "icon": "🔥",
            "description": "Wrote notes 7 days in a row.",
            "criteria": {"kind": "streak", "event_type": "note_created", "days": 7},
        },
        {
            "name": "Silver",
            "icon": "🥈",
            "description": "Reached 250 points.",
            "criteria": {"kind": "points_total", "points": 250},
        },
    ):
        badges.create_badge(session, product, BadgeCreate.model_validate(badge))
    people = {DEMO_USER: "Dana", "demo-sam": "Sam", "demo-lee": "Lee", "demo-ana": "Ana"}
    users = {
        external_id: upsert_user(
            session,
            product_id=product.id,
            external_id=external_id,
            profile={"first_name": first_name},
            listed=True,
            now=now,
        )
        for external_id, first_name in people.items()
    }
    for external_id, kind, properties in (
        (DEMO_USER, "profile_completed", {}),
        (DEMO_USER, "note_created", {}),
        (DEMO_USER, "note_created", {}),
        (DEMO_USER, "notebook_shared", {}),
        ("demo-sam", "subscribed", {"amount": 240}),
        ("demo-lee", "notebook_shared", {}),
        ("demo-ana", "note_created", {}),
    ):
        ingest(session, product, users[external_id], type=kind, properties=properties, now=now)
    ledger.adjust(session, product, users[DEMO_USER], points=150, reason="Welcome bonus", now=now)
    for board in BOARDS:
        leaderboards.refresh(session, product, board, now=now)


def _run(host: str, port: int, workers: int) -> None:
    # Each worker builds its app from the environment: hand it the address chosen here, so
    # that the links it gives out (PLAUDIT_PUBLIC_URL's default) name this host and port.
    os.environ["PLAUDIT_HOST"] = host
    os.environ["PLAUDIT_PORT"] = str(port)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share one port: /metrics sums their counters from files (multiprocess mode).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = files = tempfile.mkdtemp(prefix="plaudit-metrics-")
        atexit.register(shutil.rmtree, files, ignore_errors=True)
    settings = load_settings()
    # uvicorn's own logging config would give its parent process (the one that supervises the
    # workers) plain-text lines beside the workers' JSON: every process logs through ours.
    logs.configure(settings)
    uvicorn.run(
        "plaudit.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        log_level=settings.log_level.lower(),
        # No access log: request lines are the operator's proxy's business, and Plaudit's own
        # log never carries a request's credentials.
        access_log=False,
    )
