"""``plaudit serve``, ``plaudit migrate`` and ``plaudit demo`` (what ``make run`` calls)."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
import uvicorn

from plaudit.auth import SigningKey, sign
from plaudit.products import hmac_secrets, service
from plaudit.products.models import Product
from plaudit.products.schemas import ProductSettings
from plaudit.store.migrate import current_revision

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
    # The token the referral widget guide's backend code signs: ProductId, UserId, iat.
    token = sign({"ProductId": DEMO_PRODUCT, "UserId": DEMO_USER, "iat": int(time.time())}, key)
    os.environ["PLAUDIT_DEMO"] = "true"  # the served app (built from the environment) shows /demo
    os.environ.setdefault("PLAUDIT_PUBLIC_URL", url)
    console.print(f"\n[bold green]Plaudit is serving at {url}[/]\n")
    console.print(f"  demo app       {url}/demo")
    console.print(f"  API reference  {url}/docs")
    console.print(f"  admin token    {settings.admin_token}")
    console.print(f"  demo product   {DEMO_PRODUCT}")
    console.print(f"  demo token     {token}\n")
    console.print("Try it:")
    console.print(
        f"  curl -s {url}/v1/auth/verify -H 'Authorization: Bearer {token}'\n", soft_wrap=True
    )
    _run(host, port, 1)


def _run(host: str, port: int, workers: int) -> None:
    # Each worker builds its app from the environment: hand it the address chosen here, so
    # that the links it gives out (PLAUDIT_PUBLIC_URL's default) name this host and port.
    os.environ["PLAUDIT_HOST"] = host
    os.environ["PLAUDIT_PORT"] = str(port)
    uvicorn.run(
        "plaudit.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=load_settings().log_level.lower(),
        # No access log: request lines are the operator's proxy's business, and Plaudit's own
        # log never carries a request's credentials.
        access_log=False,
    )
