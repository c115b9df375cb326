"""The Authentication tab: HMAC secrets, public keys (the loyalty guide's "Add Key"), and the
"test a token" box. Every action calls what the management API's routes call."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState, get_state
from plaudit.auth.algorithms import ALGORITHMS
from plaudit.auth.errors import AuthError
from plaudit.errors import NotFound, ServiceError
from plaudit.products import hmac_secrets, public_keys, service, token_check
from plaudit.products.schemas import KeyCreate, KeyUpdate, SecretCreate
from plaudit.products.verification import get_verification

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    checked,
    optional,
    product_of,
    redirect,
    render,
    service_form_errors,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
BASE = PREFIX + "/products/{product_id}/authentication"

NOTICES = {
    "key_added": "Key added.",
    "key_added_disabled": "Key added, disabled: it verifies no token until you enable it.",
    "key_changed": "Key changed.",
    "key_deleted": "Key deleted.",
    "secret_disabled": "Secret disabled: tokens signed with it are refused from now on.",
}
ASYMMETRIC_ALGORITHMS = sorted(a for a, spec in ALGORITHMS.items() if spec.kty != "oct")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        return {
            "product": service.product_settings(product),
            "secrets": [
                hmac_secrets.secret_info(x, state.now())
                for x in hmac_secrets.list_secrets(session, product)
            ],
            "keys": [public_keys.key_info(k) for k in public_keys.list_keys(session, product)],
        }

    data = await in_session(request, work)
    context: dict[str, Any] = {
        "tab": "authentication",
        "key_form": {"enabled": True},  # as the API: a key is enabled unless told otherwise
        "key_errors": {},
        "secret_form": {"grace_seconds": "3600"},
        "secret_errors": {},
        "token": "",
        "explanation": None,
        "test_error": None,
        "created_secret": None,
        "asymmetric_algorithms": ASYMMETRIC_ALGORITHMS,
        "hmac_algorithms": HMAC_ALGORITHMS,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **data,
        **extra,
    }
    return render(request, "authentication.html", status=status, **context)


@router.get(BASE, include_in_schema=False)
async def authentication(request: Request, product_id: str, console: Console) -> Response:
    return await _page(request, console, product_id)


# --- secrets ------------------------------------------------------------------------------


@router.post(BASE + "/secrets", include_in_schema=False)
async def create_secret(request: Request, product_id: str, console: Console) -> Response:
    """Generate, import or rotate: one call, as POST .../secrets. Older secrets keep verifying
    for the grace period."""
    form = await request.form()
    values = {
        "value": optional(form, "value"),
        "algorithm": optional(form, "algorithm"),
        "kid": optional(form, "kid"),
        "grace_seconds": text(form, "grace_seconds").strip() or "3600",
    }
    try:
        body: SecretCreate = validate(SecretCreate, values)

        def work(session: Session, state: AppState) -> dict[str, Any]:
            return hmac_secrets.create_from(
                session,
                product_of(session, console, product_id),
                body,
                box=state.box,
                now=state.now(),
                max_keys=state.settings.max_keys_per_product,
            ).model_dump()

        created = await in_session(request, work, changes=product_id)
    except FormErrors as exc:
        return await _refused_secret(request, console, product_id, values, exc.errors)
    except (ServiceError, AuthError) as exc:
        if exc.status not in (409, 422):
            raise  # not the form's fault (not found, forbidden): the error page says so
        return await _refused_secret(
            request, console, product_id, values, service_form_errors(exc, "value").errors
        )
    # The value is in this answer only; the page never shows it again.
    return await _page(request, console, product_id, status=201, created_secret=created)


async def _refused_secret(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    # An imported value is not sent back into the page: it is a secret.
    form = {**values, "value": ""}
    return await _page(
        request,
        console,
        product_id,
        status=422,
        secret_form={k: v or "" for k, v in form.items()},
        secret_errors=errors,
    )


@router.post(BASE + "/secrets/disable", include_in_schema=False)
async def disable_secret(request: Request, product_id: str, console: Console) -> Response:
    kid = text(await request.form(), "kid")
    await in_session(
        request,
        lambda s, _: hmac_secrets.disable_secret(s, product_of(s, console, product_id), kid),
        changes=product_id,
    )
    return redirect(BASE.format(product_id=product_id), notice="secret_disabled")


# --- public keys --------------------------------------------------------------------------


#: PEM private keys of any kind, and the JWK members that only a private or secret key has.
PRIVATE_PEM = re.compile(r"PRIVATE\s+KEY", re.IGNORECASE)
PRIVATE_JWK = re.compile(r'"(?:d|p|q|dp|dq|qi|oth|k)"\s*:')
PRIVATE_NOT_ECHOED = " The box was emptied: a private key is never shown back."


def holds_private_material(pasted: str) -> bool:
    """Whether the pasted text holds (or may hold) a private or secret key."""
    return bool(PRIVATE_PEM.search(pasted) or PRIVATE_JWK.search(pasted))


def _key_material(pasted: str) -> dict[str, Any]:
    """A pasted key as KeyCreate takes it: a JWK when it is a JSON object, else PEM text."""
    stripped = pasted.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            raise FormErrors(
                {"public_key": f"This looks like a JWK but is not valid JSON ({exc})."}
            ) from None
        return {"jwk": document}
    return {"public_key": stripped or None}


@router.post(BASE + "/keys", include_in_schema=False)
async def add_key(request: Request, product_id: str, console: Console) -> Response:
    """Add Key: a description, the pasted public key (PEM or JWK), the enabled toggle, a kid."""
    form = await request.form()
    values = {
        "description": text(form, "description").strip(),
        "kid": optional(form, "kid"),
        "enabled": checked(form, "enabled"),
        "algorithm": optional(form, "algorithm"),
    }
    try:
        body: KeyCreate = validate(KeyCreate, {**values, **_key_material(text(form, "public_key"))})

        def work(session: Session, state: AppState) -> None:
            product = product_of(session, console, product_id)
            public_keys.add_from(
                session, product, body, max_keys=state.settings.max_keys_per_product
            )

        await in_session(request, work, changes=product_id)
    except (FormErrors, ServiceError, AuthError) as exc:
        if isinstance(exc, ServiceError) and exc.status not in (409, 422):
            raise
        errors = (
            exc.errors
            if isinstance(exc, FormErrors)
            else service_form_errors(exc, "public_key").errors
        )
        # "give exactly one of 'public_key' (PEM) and 'jwk'": the form has one box for both.
        if "_form" in errors and "public_key" not in errors:
            errors["public_key"] = "Paste a public key: PEM (-----BEGIN PUBLIC KEY-----) or a JWK."
            errors.pop("_form")
        if "jwk" in errors:
            errors["public_key"] = errors.pop("jwk")
        pasted = text(form, "public_key")
        if holds_private_material(pasted):
            # Never sent back to the browser: the page is not a place a private key should be.
            pasted = ""
            errors["public_key"] = (errors.get("public_key", "") + PRIVATE_NOT_ECHOED).strip()
        return await _page(
            request,
            console,
            product_id,
            status=422 if not isinstance(exc, ServiceError) or exc.status == 422 else exc.status,
            key_form={**values, "public_key": pasted},
            key_errors=errors,
        )
    notice = "key_added" if values["enabled"] else "key_added_disabled"
    return redirect(BASE.format(product_id=product_id), notice=notice)


@router.post(BASE + "/keys/update", include_in_schema=False)
async def update_key(request: Request, product_id: str, console: Console) -> Response:
    """The enabled toggle (and the description) of one key, as PATCH .../keys/{kid}."""
    form = await request.form()
    kid = text(form, "kid")
    changes: dict[str, Any] = {}
    if "enabled" in form:
        changes["enabled"] = text(form, "enabled") == "true"
    if "description" in form:
        changes["description"] = text(form, "description").strip()
    body: KeyUpdate = validate(KeyUpdate, changes)
    await in_session(
        request,
        lambda s, _: public_keys.update_key(
            s,
            product_of(s, console, product_id),
            kid,
            enabled=body.enabled,
            description=body.description,
        ),
        changes=product_id,
    )
    return redirect(BASE.format(product_id=product_id), notice="key_changed")


@router.post(BASE + "/keys/delete", include_in_schema=False)
async def delete_key(request: Request, product_id: str, console: Console) -> Response:
    kid = text(await request.form(), "kid")
    await in_session(
        request,
        lambda s, _: public_keys.delete_key(s, product_of(s, console, product_id), kid),
        changes=product_id,
    )
    return redirect(BASE.format(product_id=product_id), notice="key_deleted")


# --- test a token -------------------------------------------------------------------------


@router.post(BASE + "/test", include_in_schema=False)
async def test_token(request: Request, product_id: str, console: Console) -> Response:
    """The pasted token through this product's real rules (POST .../token-explanations)."""
    token = text(await request.form(), "token").strip()
    await in_session(request, lambda s, _: product_of(s, console, product_id))
    state = get_state(request)
    runtime = await run_in_threadpool(get_verification(request).keystore.load, product_id)
    if runtime is None:
        raise NotFound(f"No product has the id {product_id!r}.")
    explanation = (
        token_check.explain_token(
            runtime, token, now=state.clock(), public_url=state.settings.resolved_public_url
        )
        if token
        else None
    )
    return await _page(
        request,
        console,
        product_id,
        token=token,
        explanation=explanation.to_dict() if explanation else None,
        test_error=None if token else "Paste a token to test.",
    )
