"""Products: the list, creating one (its API key and secret shown once), and its settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.auth.profiles import PROFILES
from plaudit.errors import ServiceError
from plaudit.products import service
from plaudit.products.schemas import ProductCreate, ProductSettings

from .. import flash
from ..web import (
    PREFIX,
    Console,
    ConsoleRoute,
    FormErrors,
    checked,
    lines,
    optional,
    product_of,
    redirect,
    render,
    service_form_errors,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
CREATED = "product_created"

NOTICES = {
    "saved": "Settings saved. Every Plaudit process applies them within seconds.",
}


@router.get(PREFIX + "/products", include_in_schema=False)
async def list_products(request: Request, console: Console) -> Response:
    if not console.is_operator:
        return redirect(f"{PREFIX}/products/{console.principal.product_id}")
    rows = await in_session(
        request, lambda s, _: [service.product_settings(p) for p in service.list_products(s)]
    )
    return render(request, "products.html", products=rows, profiles=PROFILES, form={}, errors={})


@router.post(PREFIX + "/products", include_in_schema=False)
async def create_product(request: Request, console: Console) -> Response:
    console.principal.require_operator()
    form = await request.form()
    values = {
        "name": text(form, "name").strip(),
        "id": optional(form, "id"),
        "profile": text(form, "profile"),
    }
    try:
        body: ProductCreate = validate(ProductCreate, values)

        def work(session: Session, state: AppState) -> dict[str, Any]:
            created = service.create_product(
                session, box=state.box, name=body.name, product_id=body.id, profile=body.profile
            )
            return service.created_answer(created).model_dump(mode="json")

        created = await in_session(request, work)
    except (FormErrors, ServiceError) as exc:
        errors = exc if isinstance(exc, FormErrors) else service_form_errors(exc, "id")
        rows = await in_session(
            request, lambda s, _: [service.product_settings(p) for p in service.list_products(s)]
        )
        return render(
            request,
            "products.html",
            status=422 if isinstance(exc, FormErrors) else exc.status,
            products=rows,
            profiles=PROFILES,
            form=values,
            errors=errors.errors,
        )
    # POST, redirect, GET: a reload shows the page again and creates nothing. The key and the
    # secret ride to that page once, sealed in a flash (see flash.py); Plaudit keeps only a hash
    # and a ciphertext of them.
    response = redirect(f"{PREFIX}/products/{created['id']}/created")
    flash.put(request, response, CREATED, {k: created[k] for k in ("id", "api_key", "secret")})
    return response


@router.get(PREFIX + "/products/{product_id}/created", include_in_schema=False)
async def created_page(request: Request, product_id: str, console: Console) -> Response:
    """The one-time display of a new product's API key and secret; afterwards, a page that
    says they were shown (and where to make another API key)."""
    product = await in_session(
        request, lambda s, _: service.product_settings(product_of(s, console, product_id))
    )
    created = flash.take(request, CREATED)
    if created is not None and created.get("id") != product_id:
        created = None
    response = render(request, "product_created.html", product=product, created=created)
    return flash.forget(request, response)


@router.get(PREFIX + "/products/{product_id}", include_in_schema=False)
async def settings_page(request: Request, product_id: str, console: Console) -> Response:
    product = await in_session(
        request, lambda s, _: service.product_settings(product_of(s, console, product_id))
    )
    return _settings(request, product, form=_form_of(product), errors={})


def _settings(
    request: Request,
    product: dict[str, Any],
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "settings.html",
        status=status,
        product=product,
        tab="settings",
        profiles=PROFILES,
        form=form,
        errors=errors,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


def _form_of(product: dict[str, Any]) -> dict[str, Any]:
    """The settings as the form shows them: lists one item a line, nulls empty."""
    form = {k: ("" if v is None else v) for k, v in product.items()}
    form["required_claims"] = "\n".join(product.get("required_claims") or [])
    form["allowed_origins"] = "\n".join(product.get("allowed_origins") or [])
    return form


#: The settings form's fields, read into what PATCH /v1/products/{id} takes.
def _settings_body(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name").strip(),
        "profile": text(form, "profile"),
        "issuer": optional(form, "issuer"),
        "audience": optional(form, "audience"),
        "required_claims": lines(form, "required_claims"),
        "leeway_seconds": text(form, "leeway_seconds").strip(),
        "max_token_age_seconds": optional(form, "max_token_age_seconds"),
        "max_lifetime_seconds": optional(form, "max_lifetime_seconds"),
        "require_expiry": checked(form, "require_expiry"),
        "token_type": optional(form, "token_type"),
        "user_id_claim": optional(form, "user_id_claim"),
        "allowed_origins": lines(form, "allowed_origins"),
        "referral_landing_url": optional(form, "referral_landing_url"),
        "published": checked(form, "published"),
    }


#: Re-renders a tab's form with what was sent and the errors beside its fields.
Refill = Callable[[dict[str, Any], dict[str, str]], Awaitable[Response]]


async def save_settings(
    request: Request,
    console: Console,
    product_id: str,
    body: dict[str, Any],
    *,
    page: str,
    refill: Refill,
) -> Response:
    """Validate with the API's schema (ProductSettings) and save with the API's service
    (update_product): the settings form and the Programs tab's referral form both come here."""
    try:
        changes: ProductSettings = validate(ProductSettings, body)

        def work(session: Session, _state: AppState) -> None:
            service.update_product(session, product_of(session, console, product_id), changes)

        await in_session(request, work, changes=product_id)
    except FormErrors as exc:
        return await refill(body, exc.errors)
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise  # not the form's fault (not found, forbidden): the error page says so
        return await refill(body, service_form_errors(exc).errors)
    return redirect(f"{PREFIX}/products/{product_id}{page}", notice="saved")


def refilled(product: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The form as sent, over the stored settings (for the fields this form does not have)."""
    return _form_of({**product, **body})


@router.post(PREFIX + "/products/{product_id}", include_in_schema=False)
async def update_settings(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()

    async def refill(body: dict[str, Any], errors: dict[str, str]) -> Response:
        product = await in_session(
            request, lambda s, _: service.product_settings(product_of(s, console, product_id))
        )
        return _settings(request, product, form=refilled(product, body), errors=errors, status=422)

    return await save_settings(
        request, console, product_id, _settings_body(form), page="", refill=refill
    )
