"""One factory for the commands every configurable item of the programs has (earning rules,
rewards, badges): ``list``, ``add``, ``update`` and ``remove``, on the same service functions
as the management API.

What differs between items is data (their noun, columns, service functions, how a table shows
a row) and their options: ``add`` and ``update`` take a function whose parameters are the
item's options and which returns what to do in the transaction; the factory adds the product
argument, ``--json``, the transaction and the output around it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import typer
from sqlalchemy.orm import Session

from plaudit.products.models import Product
from plaudit.products.service import get_product

from .runtime import JsonOpt, ProductArg, console, emit, services

Item = TypeVar("Item")
#: What an ``add`` or ``update`` does once the options are checked: the item it made or changed.
Change = Callable[[Session, Product], Item]


def _same(row: dict[str, Any]) -> dict[str, Any]:
    return row


@dataclass(frozen=True)
class ItemCommands(Generic[Item]):
    app: typer.Typer
    #: "earning rule": in confirmations and messages.
    noun: str
    #: The titles of a listing, an added item and a changed one.
    titles: tuple[str, str, str]
    #: The id argument's name ("rule_id") and help.
    id_name: str
    id_help: str
    columns: list[str]
    listing: Callable[[Session, Product], Sequence[Item]]
    find: Callable[[Session, Product, str], Item]
    delete: Callable[[Session, Product, str], None]
    #: The item as the API answers it.
    show: Callable[[Item], dict[str, Any]]
    #: What removing it means for the data that refers to it.
    consequence: str
    #: A row as a table shows it (JSON keeps the API's shape).
    table: Callable[[dict[str, Any]], dict[str, Any]] = _same

    def _emit(self, rows: list[dict[str, Any]] | dict[str, Any], *, title: str, json: bool) -> None:
        if json:
            emit(rows, as_json=True)
        elif isinstance(rows, dict):
            emit(self.table(rows), as_json=False, title=title, columns=self.columns)
        else:
            emit([self.table(r) for r in rows], as_json=False, title=title, columns=self.columns)

    def register(
        self,
        *,
        list_help: str,
        add: Callable[..., Change[Item]],
        update: Callable[..., Change[Item]],
        remove_help: str,
    ) -> None:
        """``list``, ``add``, ``update`` and ``remove``, in the order ``--help`` lists them.

        ``add``'s parameters are the command's options (its docstring its help) and it returns
        the change to make; ``update`` takes the item's id argument first."""

        def list_items(product_id: ProductArg, as_json: JsonOpt = False) -> None:
            with services() as s, s.session() as session:
                product = get_product(session, product_id)
                rows = [self.show(item) for item in self.listing(session, product)]
            self._emit(rows, title=self.titles[0], json=as_json)

        def remove(
            product_id: ProductArg,
            item_id: str = typer.Argument(..., metavar=self.id_name, help=self.id_help),
            yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
            as_json: JsonOpt = False,
        ) -> None:
            # Never with a transaction open while asking.
            if not yes:
                with services() as s, s.session() as session:
                    found: Any = self.find(session, get_product(session, product_id), item_id)
                typer.confirm(
                    f"Remove the {self.noun} {found.name!r} ({item_id})? {self.consequence}",
                    abort=True,
                )
            with services() as s, s.session() as session:
                self.delete(session, get_product(session, product_id), item_id)
            if as_json:
                emit({"removed": item_id}, as_json=True)
                return
            console.print(f"[bold]Removed the {self.noun} {item_id}.[/] {self.consequence}")

        self.app.command("list", help=list_help)(list_items)
        self._command("add", add, title=self.titles[1])
        self._command("update", update, title=self.titles[2])
        self.app.command("remove", help=remove_help)(remove)

    def _command(self, name: str, build: Callable[..., Change[Item]], *, title: str) -> None:
        options = inspect.signature(build, eval_str=True).parameters.values()

        @functools.wraps(build)
        def command(product_id: str, as_json: bool = False, **values: Any) -> None:
            change = build(**values)
            with services() as s, s.session() as session:
                result = self.show(change(session, get_product(session, product_id)))
            self._emit(result, title=title, json=as_json)

        keyword = inspect.Parameter.KEYWORD_ONLY
        command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("product_id", keyword, annotation=ProductArg),
                *(p.replace(kind=keyword) for p in options),
                inspect.Parameter("as_json", keyword, annotation=JsonOpt, default=False),
            ]
        )
        command.__annotations__ = {}
        self.app.command(name)(command)
