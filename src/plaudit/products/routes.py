"""The management API for products and their credentials (operator token or the product's key).

Handlers are plain functions (FastAPI runs them in its threadpool) that receive the managed
product and the request's session as dependencies, and serialise inside: the session commits
when they return, before the response is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session
from starlette.requests import Request

from plaudit.access.management import ManagedProductId, Manager
from plaudit.access.session import DbSession, changed, in_session
from plaudit.access.state import AppState, State
from plaudit.errors import NotFound

from . import (
    api_keys,
    failures,
    hmac_secrets,
    jwks,
    limited,
    public_keys,
    repository,
    revocations,
    service,
    token_check,
)
from .dependencies import ManagedProduct
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
from .verification import VerificationState

router = APIRouter(prefix="/v1/products", tags=["products"])


@router.post(
    "", status_code=201, response_model=ProductCreated, summary="Create a product (operator only)"
)
def create_product(
    body: ProductCreate, principal: Manager, session: DbSession, state: State
) -> ProductCreated:
    principal.require_operator()
    created = service.create_product(
        session, box=state.box, name=body.name, product_id=body.id, profile=body.profile
    )
    return service.created_answer(created)


@router.get("", response_model=list[ProductOut], summary="List products")
def list_products(principal: Manager, session: DbSession) -> list[ProductOut]:
    return [
        ProductOut.model_validate(p)
        for p in repository.list_products(session)
        if principal.may_manage(p.id)
    ]


@router.get("/{product_id}", response_model=ProductOut, summary="Read a product's settings")
def get_product(product_id: str, product: ManagedProduct) -> ProductOut:
    return ProductOut.model_validate(product)


@router.patch("/{product_id}", response_model=ProductOut, summary="Change a product's settings")
def update_product(
    product_id: str, body: ProductSettings, product: ManagedProduct, session: DbSession
) -> ProductOut:
    service.update_product(session, product, body)
    session.flush()
    changed(session, product.id)
    return ProductOut.model_validate(product)


@router.delete("/{product_id}", status_code=204, summary="Delete a product and all its data")
def delete_product(product_id: str, principal: Manager, session: DbSession) -> Response:
    principal.require_operator()  # before the product: a product's key is refused, not told 404
    product = repository.get_product(session, product_id)
    service.delete_product(session, product)
    changed(session, product.id)
    return Response(status_code=204)


# --- secrets ------------------------------------------------------------------------------


@router.post(
    "/{product_id}/secrets",
    status_code=201,
    response_model=SecretCreated,
    summary="Generate or import an HMAC secret; older ones retire after a grace period",
)
def create_secret(
    product_id: str,
    body: SecretCreate,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> SecretCreated:
    created = hmac_secrets.create_from(
        session,
        product,
        body,
        box=state.box,
        now=state.now(),
        max_keys=state.settings.max_keys_per_product,
    )
    changed(session, product.id)
    return created


@router.get(
    "/{product_id}/secrets",
    response_model=list[SecretOut],
    summary="List secrets (never their values)",
)
def list_secrets(
    product_id: str, product: ManagedProduct, session: DbSession, state: State
) -> list[SecretOut]:
    now = state.now()
    return [
        SecretOut.model_validate(x, context={"now": now})
        for x in hmac_secrets.list_secrets(session, product)
    ]


@router.post(
    "/{product_id}/secrets/{kid}/disable",
    response_model=SecretOut,
    summary="Disable a secret at once",
)
def disable_secret(
    product_id: str, kid: str, product: ManagedProduct, session: DbSession, state: State
) -> SecretOut:
    secret = hmac_secrets.disable_secret(session, product, kid)
    changed(session, product.id)
    return SecretOut.model_validate(secret, context={"now": state.now()})


# --- public keys --------------------------------------------------------------------------


@router.post(
    "/{product_id}/keys",
    status_code=201,
    response_model=KeyOut,
    summary="Add a public key (PEM or JWK)",
)
def add_key(
    product_id: str, body: KeyCreate, product: ManagedProduct, session: DbSession, state: State
) -> KeyOut:
    record = public_keys.add_from(
        session, product, body, max_keys=state.settings.max_keys_per_product
    )
    changed(session, product.id)
    return KeyOut.model_validate(record)


@router.get("/{product_id}/keys", response_model=list[KeyOut], summary="List public keys")
def list_keys(product_id: str, product: ManagedProduct, session: DbSession) -> list[KeyOut]:
    return [KeyOut.model_validate(k) for k in public_keys.list_keys(session, product)]


@router.get("/{product_id}/keys/{kid}", response_model=KeyOut, summary="Read a public key")
def get_key(product_id: str, kid: str, product: ManagedProduct, session: DbSession) -> KeyOut:
    return KeyOut.model_validate(public_keys.get_key(session, product, kid))


@router.patch(
    "/{product_id}/keys/{kid}",
    response_model=KeyOut,
    summary="Enable or disable a public key, or change its description",
)
def update_key(
    product_id: str, kid: str, body: KeyUpdate, product: ManagedProduct, session: DbSession
) -> KeyOut:
    record = public_keys.update_key(
        session, product, kid, enabled=body.enabled, description=body.description
    )
    changed(session, product.id)
    return KeyOut.model_validate(record)


@router.delete("/{product_id}/keys/{kid}", status_code=204, summary="Delete a public key")
def delete_key(product_id: str, kid: str, product: ManagedProduct, session: DbSession) -> Response:
    public_keys.delete_key(session, product, kid)
    changed(session, product.id)
    return Response(status_code=204)


# --- JWKS sources -------------------------------------------------------------------------


@router.post(
    "/{product_id}/jwks-sources",
    status_code=201,
    response_model=JwksSourceOut,
    summary="Register a JWKS URL that Plaudit fetches and refreshes itself",
)
async def add_jwks_source(
    request: Request,
    product_id: str,
    body: JwksSourceCreate,
    managed: ManagedProductId,
    verification: VerificationState,
) -> JwksSourceOut:
    """Checked, fetched, stored: no transaction is open and no request thread is held while the
    tenant's host answers (the fetch runs on the JWKS registration threads, awaited here), so
    the handler is async and opens its two short sessions itself."""

    def check(session: Session, _state: AppState) -> None:
        jwks.check_new_source(session, repository.get_product(session, managed), body.url)

    await in_session(request, check)
    document = await verification.jwks.register(body.url)

    def store(session: Session, _state: AppState) -> JwksSourceOut:
        source = jwks.add_source(
            session,
            repository.get_product(session, managed),
            url=body.url,
            refresh_seconds=body.refresh_seconds,
            document=document,
        )
        return JwksSourceOut.model_validate(source)

    return await in_session(request, store, changes=managed)


@router.get(
    "/{product_id}/jwks-sources",
    response_model=list[JwksSourceOut],
    summary="List JWKS sources and their last fetch",
)
def list_jwks_sources(
    product_id: str, product: ManagedProduct, session: DbSession
) -> list[JwksSourceOut]:
    return [JwksSourceOut.model_validate(x) for x in jwks.list_sources(session, product)]


@router.delete(
    "/{product_id}/jwks-sources/{source_id}", status_code=204, summary="Remove a JWKS source"
)
def delete_jwks_source(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    source_id: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    jwks.delete_source(session, product, source_id)
    changed(session, product.id)
    return Response(status_code=204)


# --- API keys -----------------------------------------------------------------------------


@router.post(
    "/{product_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create another API key for the product's servers",
)
def create_api_key(
    product_id: str, body: ApiKeyCreate, product: ManagedProduct, session: DbSession
) -> ApiKeyCreated:
    value = api_keys.create_api_key(session, product, name=body.name)
    record = api_keys.list_api_keys(session, product)[-1]
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(record).model_dump(), "api_key": value}
    )


@router.get("/{product_id}/api-keys", response_model=list[ApiKeyOut], summary="List API keys")
def list_api_keys(product_id: str, product: ManagedProduct, session: DbSession) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in api_keys.list_api_keys(session, product)]


@router.delete(
    "/{product_id}/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key"
)
def revoke_api_key(
    product_id: str, key_id: str, product: ManagedProduct, session: DbSession
) -> ApiKeyOut:
    return ApiKeyOut.model_validate(api_keys.revoke_api_key(session, product, key_id))


# --- revocations and failures -------------------------------------------------------------


@router.post(
    "/{product_id}/revocations",
    status_code=201,
    response_model=RevocationOut,
    summary="Revoke a token by jti, or a user's tokens issued before a moment",
)
def add_revocation(
    product_id: str,
    body: RevocationCreate,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> RevocationOut:
    record = revocations.add_revocation(
        session,
        product,
        jti=body.jti,
        user_id=body.user_id,
        issued_before=body.issued_before,
        reason=body.reason,
        now=state.now(),
    )
    changed(session, product.id)
    return RevocationOut.model_validate(record)


@router.get(
    "/{product_id}/revocations", response_model=list[RevocationOut], summary="List revocations"
)
def list_revocations(
    product_id: str, product: ManagedProduct, session: DbSession
) -> list[RevocationOut]:
    return [RevocationOut.model_validate(r) for r in revocations.list_revocations(session, product)]


@router.delete(
    "/{product_id}/revocations/{revocation_id}",
    status_code=204,
    summary="Delete a revocation: the tokens it refused verify again",
)
def delete_revocation(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    revocation_id: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    revocations.delete_revocation(session, product, revocation_id)
    changed(session, product.id)
    return Response(status_code=204)


@router.get(
    "/{product_id}/auth-failures",
    response_model=FailureReport,
    summary="Refused tokens by error code, and the recent ones (header and claims only)",
)
def auth_failures(
    request: Request,
    product_id: str,
    managed: ManagedProductId,
    verification: VerificationState,
    session: DbSession,
    state: State,
    limit: int = Query(50, ge=1, le=500),
) -> FailureReport:
    # The refused tokens waiting in memory are written first, in their own transaction: this
    # request's session has not begun yet (on SQLite, a second writer would wait for it).
    verification.failures.flush(state.db)
    limited.flush_pending(request)
    product = repository.get_product(session, managed)
    report = failures.failure_report(session, product, limit=limit, now=state.now())
    report["limited"] = limited.limited_report(session, product.id, now=state.now())
    return FailureReport.model_validate(report)


@router.post(
    "/{product_id}/token-explanations",
    response_model=TokenExplanation,
    summary="Explain a token against this product's real rules, line by line (nothing recorded)",
)
def explain_token(
    product_id: str,
    body: TokenExplanationIn,
    managed: ManagedProductId,
    verification: VerificationState,
    state: State,
) -> TokenExplanation:
    runtime = verification.keystore.load(managed)
    if runtime is None:
        raise NotFound(f"No product has the id {managed!r}.")
    explanation = token_check.explain_token(
        runtime, body.token, now=state.clock(), public_url=state.settings.resolved_public_url
    )
    return TokenExplanation.model_validate(explanation.to_dict())
