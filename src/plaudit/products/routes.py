"""The management API for products and their credentials (operator token or the product's key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from plaudit.errors import NotFound
from plaudit.web.management import Manager, Principal
from plaudit.web.state import AppState, get_state, in_session

from . import (
    api_keys,
    failures,
    hmac_secrets,
    jwks,
    public_keys,
    revocations,
    service,
    token_check,
)
from .models import Product
from .schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    FailureReport,
    JwksSourceCreate,
    JwksSourceOut,
    KeyCreate,
    KeyOut,
    KeyUpdate,
    ProductCreate,
    ProductCreated,
    ProductOut,
    ProductSettings,
    RevocationCreate,
    RevocationOut,
    SecretCreate,
    SecretCreated,
    SecretOut,
    TokenExplanation,
    TokenExplanationIn,
)

router = APIRouter(prefix="/v1/products", tags=["products"])


def _product(session: Session, principal: Principal, product_id: str) -> Product:
    principal.check_product(product_id)
    return service.get_product(session, product_id)


@router.post(
    "", status_code=201, response_model=ProductCreated, summary="Create a product (operator only)"
)
async def create_product(request: Request, body: ProductCreate, principal: Manager) -> Any:
    principal.require_operator()

    def work(session: Session, state: AppState) -> dict[str, Any]:
        created = service.create_product(
            session, box=state.box, name=body.name, product_id=body.id, profile=body.profile
        )
        return created.as_dict()

    return await in_session(request, work)


@router.get("", response_model=list[ProductOut], summary="List products")
async def list_products(request: Request, principal: Manager) -> Any:
    def work(session: Session, _state: AppState) -> list[dict[str, Any]]:
        return [
            service.product_settings(p)
            for p in service.list_products(session)
            if principal.is_operator or p.id == principal.product_id
        ]

    return await in_session(request, work)


@router.get("/{product_id}", response_model=ProductOut, summary="Read a product's settings")
async def get_product(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request, lambda s, _: service.product_settings(_product(s, principal, product_id))
    )


@router.patch("/{product_id}", response_model=ProductOut, summary="Change a product's settings")
async def update_product(
    request: Request, product_id: str, body: ProductSettings, principal: Manager
) -> Any:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = service.update_product(session, _product(session, principal, product_id), body)
        session.flush()
        return service.product_settings(product)

    return await in_session(request, work, changes=product_id)


@router.delete("/{product_id}", status_code=204, summary="Delete a product and all its data")
async def delete_product(request: Request, product_id: str, principal: Manager) -> Response:
    principal.require_operator()
    await in_session(
        request,
        lambda s, _: service.delete_product(s, _product(s, principal, product_id)),
        changes=product_id,
    )
    return Response(status_code=204)


# --- secrets ------------------------------------------------------------------------------


@router.post(
    "/{product_id}/secrets",
    status_code=201,
    response_model=SecretCreated,
    summary="Generate or import an HMAC secret; older ones retire after a grace period",
)
async def create_secret(
    request: Request, product_id: str, body: SecretCreate, principal: Manager
) -> Any:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        return hmac_secrets.create_from(
            session, _product(session, principal, product_id), body, box=state.box, now=state.now()
        )

    return await in_session(request, work, changes=product_id)


@router.get(
    "/{product_id}/secrets",
    response_model=list[SecretOut],
    summary="List secrets (never their values)",
)
async def list_secrets(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, state: [
            hmac_secrets.secret_info(x, state.now())
            for x in hmac_secrets.list_secrets(s, _product(s, principal, product_id))
        ],
    )


@router.post(
    "/{product_id}/secrets/{kid}/disable",
    response_model=SecretOut,
    summary="Disable a secret at once",
)
async def disable_secret(request: Request, product_id: str, kid: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, state: hmac_secrets.secret_info(
            hmac_secrets.disable_secret(s, _product(s, principal, product_id), kid), state.now()
        ),
        changes=product_id,
    )


# --- public keys --------------------------------------------------------------------------


@router.post(
    "/{product_id}/keys",
    status_code=201,
    response_model=KeyOut,
    summary="Add a public key (PEM or JWK)",
)
async def add_key(request: Request, product_id: str, body: KeyCreate, principal: Manager) -> Any:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        record = public_keys.add_from(session, _product(session, principal, product_id), body)
        return public_keys.key_info(record)

    return await in_session(request, work, changes=product_id)


@router.get("/{product_id}/keys", response_model=list[KeyOut], summary="List public keys")
async def list_keys(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: [
            public_keys.key_info(k)
            for k in public_keys.list_keys(s, _product(s, principal, product_id))
        ],
    )


@router.get("/{product_id}/keys/{kid}", response_model=KeyOut, summary="Read a public key")
async def get_key(request: Request, product_id: str, kid: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: public_keys.key_info(
            public_keys.get_key(s, _product(s, principal, product_id), kid)
        ),
    )


@router.patch(
    "/{product_id}/keys/{kid}",
    response_model=KeyOut,
    summary="Enable or disable a public key, or change its description",
)
async def update_key(
    request: Request, product_id: str, kid: str, body: KeyUpdate, principal: Manager
) -> Any:
    return await in_session(
        request,
        lambda s, _: public_keys.key_info(
            public_keys.update_key(
                s,
                _product(s, principal, product_id),
                kid,
                enabled=body.enabled,
                description=body.description,
            )
        ),
        changes=product_id,
    )


@router.delete("/{product_id}/keys/{kid}", status_code=204, summary="Delete a public key")
async def delete_key(request: Request, product_id: str, kid: str, principal: Manager) -> Response:
    await in_session(
        request,
        lambda s, _: public_keys.delete_key(s, _product(s, principal, product_id), kid),
        changes=product_id,
    )
    return Response(status_code=204)


# --- JWKS sources -------------------------------------------------------------------------


@router.post(
    "/{product_id}/jwks-sources",
    status_code=201,
    response_model=JwksSourceOut,
    summary="Register a JWKS URL that Plaudit fetches and refreshes itself",
)
async def add_jwks_source(
    request: Request, product_id: str, body: JwksSourceCreate, principal: Manager
) -> Any:
    def work(session: Session, state: AppState) -> dict[str, object]:
        source = jwks.add_source(
            session,
            _product(session, principal, product_id),
            url=body.url,
            refresh_seconds=body.refresh_seconds,
            allow_private=state.settings.allow_private_urls,
            client=state.http,
        )
        return jwks.source_info(source)

    return await in_session(request, work, changes=product_id)


@router.get(
    "/{product_id}/jwks-sources",
    response_model=list[JwksSourceOut],
    summary="List JWKS sources and their last fetch",
)
async def list_jwks_sources(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: [
            jwks.source_info(x) for x in jwks.list_sources(s, _product(s, principal, product_id))
        ],
    )


@router.delete(
    "/{product_id}/jwks-sources/{source_id}", status_code=204, summary="Remove a JWKS source"
)
async def delete_jwks_source(
    request: Request,
    product_id: str,
    principal: Manager,
    source_id: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    await in_session(
        request,
        lambda s, _: jwks.delete_source(s, _product(s, principal, product_id), source_id),
        changes=product_id,
    )
    return Response(status_code=204)


# --- API keys -----------------------------------------------------------------------------


@router.post(
    "/{product_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create another API key for the product's servers",
)
async def create_api_key(
    request: Request, product_id: str, body: ApiKeyCreate, principal: Manager
) -> Any:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = _product(session, principal, product_id)
        value = api_keys.create_api_key(session, product, name=body.name)
        record = api_keys.list_api_keys(session, product)[-1]
        return {**_api_key_info(record), "api_key": value}

    return await in_session(request, work)


@router.get("/{product_id}/api-keys", response_model=list[ApiKeyOut], summary="List API keys")
async def list_api_keys(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: [
            _api_key_info(k) for k in api_keys.list_api_keys(s, _product(s, principal, product_id))
        ],
    )


@router.delete(
    "/{product_id}/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key"
)
async def revoke_api_key(request: Request, product_id: str, key_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: _api_key_info(
            api_keys.revoke_api_key(s, _product(s, principal, product_id), key_id)
        ),
    )


def _api_key_info(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


# --- revocations and failures -------------------------------------------------------------


@router.post(
    "/{product_id}/revocations",
    status_code=201,
    response_model=RevocationOut,
    summary="Revoke a token by jti, or a user's tokens issued before a moment",
)
async def add_revocation(
    request: Request, product_id: str, body: RevocationCreate, principal: Manager
) -> Any:
    issued_before = body.issued_before
    if issued_before is not None and issued_before.tzinfo is None:
        issued_before = issued_before.replace(tzinfo=dt.UTC)
    return await in_session(
        request,
        lambda s, state: revocations.revocation_info(
            revocations.add_revocation(
                s,
                _product(s, principal, product_id),
                jti=body.jti,
                user_id=body.user_id,
                issued_before=issued_before,
                reason=body.reason,
                now=state.now(),
            )
        ),
        changes=product_id,
    )


@router.get(
    "/{product_id}/revocations", response_model=list[RevocationOut], summary="List revocations"
)
async def list_revocations(request: Request, product_id: str, principal: Manager) -> Any:
    return await in_session(
        request,
        lambda s, _: [
            revocations.revocation_info(r)
            for r in revocations.list_revocations(s, _product(s, principal, product_id))
        ],
    )


@router.delete(
    "/{product_id}/revocations/{revocation_id}",
    status_code=204,
    summary="Delete a revocation: the tokens it refused verify again",
)
async def delete_revocation(
    request: Request,
    product_id: str,
    principal: Manager,
    revocation_id: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    await in_session(
        request,
        lambda s, _: revocations.delete_revocation(
            s, _product(s, principal, product_id), revocation_id
        ),
        changes=product_id,
    )
    return Response(status_code=204)


@router.get(
    "/{product_id}/auth-failures",
    response_model=FailureReport,
    summary="Refused tokens by error code, and the recent ones (header and claims only)",
)
async def auth_failures(
    request: Request, product_id: str, principal: Manager, limit: int = Query(50, ge=1, le=500)
) -> Any:
    state = get_state(request)
    await run_in_threadpool(state.failures.flush, state.db)
    return await in_session(
        request,
        lambda s, state: failures.failure_report(
            s, _product(s, principal, product_id), limit=limit, now=state.now()
        ),
    )


@router.post(
    "/{product_id}/token-explanations",
    response_model=TokenExplanation,
    summary="Explain a token against this product's real rules, line by line (nothing recorded)",
)
async def explain_token(
    request: Request, product_id: str, body: TokenExplanationIn, principal: Manager
) -> Any:
    principal.check_product(product_id)
    state = get_state(request)
    runtime = await run_in_threadpool(state.keystore.load, product_id)
    if runtime is None:
        raise NotFound(f"No product has the id {product_id!r}.")
    return token_check.explain_token(runtime, body.token, now=state.clock()).to_dict()
