"""Tenant scoping: every statement of a product's rows starts here.

``scoped(Model, product_id)`` is the one place the tenant filter is written (as polar's
``get_readable_statement(auth_subject)``): a feature's repository builds on the statement it
returns (``.where``, ``.order_by``, ``.with_only_columns`` for counts) and never writes
``Model.product_id == ...`` itself, so forgetting the filter is impossible by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Delete, Select, Table, delete, select
from sqlalchemy.orm import Session

from plaudit.store.bulk import bound, where_in


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


def scoped_in(
    session: Session,
    model: type[TenantRow],
    product_id: str,
    key: str,
    values: Sequence[Any],
    *,
    columns: Sequence[str] = (),
    assign: Mapping[str, Any] | None = None,
    only: str = "",
) -> list[Any]:
    """One product's rows of ``model`` whose ``key`` column is one of ``values`` (a batch's
    thousand ids), read (their ``columns``) or updated (``assign``: column to value), with the
    tenant filter written here as ``scoped`` writes it. ``only``: a further condition, of the
    statement's own text (never a value). Through ``bulk.where_in``: the statement's text is
    made once per length, in as few statements as the store's limit on bound values allows; the
    rows a read returns, as the driver reads them."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    if not assign and not columns:
        raise ValueError("scoped_in reads some columns or assigns some")
    if "{" in only or "}" in only:
        raise ValueError(
            "scoped_in's further condition is the statement's own text, not a template"
        )
    fixed: list[Any] = []
    if assign:
        sets = []
        for column, value in assign.items():
            sets.append(f"{table.c[column].name} = {{{len(fixed)}}}")
            fixed.extend(bound(session, table, column, [value]))
        head = f"UPDATE {table.name} SET {', '.join(sets)}"  # noqa: S608  # see below
    else:
        names = ", ".join(table.c[name].name for name in columns)
        head = f"SELECT {names} FROM {table.name}"  # noqa: S608  # see below
    # Only identifiers of our own tables and placeholders: every value is bound.
    statement = (
        f"{head} WHERE {table.c.product_id.name} = {{{len(fixed)}}} "
        f"AND {table.c[key].name} IN ({{marks}})" + (f" AND ({only})" if only else "")
    )
    fixed.append(product_id)
    return where_in(session, statement, bound(session, table, key, values), fixed=fixed)
