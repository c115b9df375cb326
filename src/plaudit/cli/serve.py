"""``plaudit serve``, ``plaudit migrate`` and ``plaudit demo`` (what ``make run`` calls)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
import uvicorn

from plaudit.auth import SigningKey, sign
from plaudit.products import service
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
    """Seed a demo product and user, print a working token, and serve (`make run`)."""
    settings = load_settings()
    host, port = host or settings.host, port or settings.port
    url = settings.public_url or f"http://{host}:{port}"
    with services(migrate=True) as s, s.session() as session:
        product = session.get(Product, DEMO_PRODUCT)
        if product is None:
            created = service.create_product(
                session, box=s.box, name="Demo product", product_id=DEMO_PRODUCT, profile="standard"
            )
            product = created.product
            service.update_product(
                session,
                product,
                ProductSettings(
                    published=True,
                    issuer="demo-tenant",
                    audience=DEMO_PRODUCT,
                    allowed_origins=[url],
                    referral_landing_url=f"{url}/demo",
                ),
            )
        secret = next(x for x in service.list_secrets(session, product) if x.enabled)
        key = SigningKey.from_secret(s.box.open(secret.ciphertext), secret.algorithm or "HS256")
    now = int(time.time())
    token = sign(
        {
            "sub": DEMO_USER,
            "iss": "demo-tenant",
            "aud": DEMO_PRODUCT,
            "iat": now,
            "exp": now + 86_400,
            "scope": ["read", "write"],
            "email": "demo@example.com",
            "given_name": "Dana",
            "family_name": "Demo",
        },
        key,
    )
    console.print(f"\n[bold green]Plaudit is serving at {url}[/]\n")
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
    uvicorn.run(
        "plaudit.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
