"""Who may call the management API: the operator (admin token) or a product's API key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session

from plaudit.errors import Forbidden, NotFound
from plaudit.settings import Settings

from .api_keys import API_KEY_PREFIX, authenticate_api_key


@dataclass(frozen=True)
class Principal:
    #: None for the operator, who may manage every product.
    product_id: str | None
    #: The API key this principal presented (None for the operator): revoking it ends the
    #: console sessions it opened.
    api_key_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.product_id is None

    def may_manage(self, product_id: str) -> bool:
        """Constant time: whether this principal may manage ``product_id``."""
        return self.product_id is None or hmac.compare_digest(
            self.product_id.encode(), product_id.encode()
        )

    def check_product(self, product_id: str) -> None:
        """A product's key sees its own product only; another product does not exist for it."""
        if not self.may_manage(product_id):
            raise NotFound(f"No product has the id {product_id!r}.")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("This call needs the operator's admin token, not a product API key.")


def operator(settings: Settings, presented: str) -> Principal | None:
    """The operator, if ``presented`` is the admin token (compared in constant time)."""
    admin = settings.admin_token or ""
    if admin and hmac.compare_digest(presented.encode(), admin.encode()):
        return Principal(product_id=None)
    return None


def authenticate(session: Session, settings: Settings, presented: str) -> Principal | None:
    """Who ``presented`` (an admin token or an API key) is, or None: the one check behind the
    management API and the console's sign-in. An API key is found by its hash."""
    if presented.startswith(API_KEY_PREFIX):
        record = authenticate_api_key(session, presented)
        if record is None:
            return None
        return Principal(product_id=record.product_id, api_key_id=record.id)
    return operator(settings, presented)
