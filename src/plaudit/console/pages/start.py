"""Getting started: the snippet that signs a valid token for this product, in four languages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.auth.profiles import get_profile
from plaudit.products import hmac_secrets, public_keys, service

from .. import snippets
from ..web import PREFIX, Console, ConsoleRoute, product_of, render

router = APIRouter(route_class=ConsoleRoute)


@router.get(PREFIX + "/products/{product_id}/start", include_in_schema=False)
async def getting_started(request: Request, product_id: str, console: Console) -> Response:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        settings = service.product_settings(product)
        secrets = [
            hmac_secrets.secret_info(x, state.now())
            for x in hmac_secrets.list_secrets(session, product)
        ]
        keys = [public_keys.key_info(k) for k in public_keys.list_keys(session, product)]
        made = snippets.recipe(
            settings, secrets=secrets, keys=keys, public_url=state.settings.resolved_public_url
        )
        return {
            "product": settings,
            "recipe": made,
            "snippets": snippets.snippets(made),
            "has_keys": bool(secrets) or bool(keys),
            "guide": get_profile(settings["profile"]),
        }

    return render(request, "start.html", tab="start", **(await in_session(request, work)))
