"""Tenant scoping: every statement of a product's rows starts here.

``scoped(Model, product_id)`` is the one place the tenant filter is written (as polar's
``get_readable_statement(auth_subject)``): a feature's repository builds on the statement it
returns (``.where``, ``.order_by``, ``.with_only_columns`` for counts) and never writes
``Model.product_id == ...`` itself, so forgetting the filter is impossible by construction.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Delete, Select, delete, select


class TenantRow(Protocol):
    """A mapped class whose rows belong to one product."""

    product_id: str


M = TypeVar("M", bound=TenantRow)


def tenant_filter(model: type[TenantRow], product_id: str) -> ColumnElement[bool]:
    column: Any = model.product_id  # the mapped column: the class attribute, not a row's value
    condition: ColumnElement[bool] = column == product_id
    return condition


def scoped(model: type[M], product_id: str) -> Select[M]:
    """A select of one product's rows of ``model``: tenant data is only ever read from here."""
    return select(model).where(tenant_filter(model, product_id))


def scoped_delete(model: type[TenantRow], product_id: str) -> Delete:
    """A delete of one product's rows of ``model``, narrowed further by the caller."""
    return delete(model).where(tenant_filter(model, product_id))
