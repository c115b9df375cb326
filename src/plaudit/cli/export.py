"""``plaudit export users|ledger|referrals``: a product's rows as a CSV file, read through a
server-side cursor (constant memory at any size), with a progress bar on stderr."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from plaudit.exports.stream import csv_chunks
from plaudit.exports.tables import EXPORTS, count
from plaudit.exports.window import window
from plaudit.products.service import get_product

from .runtime import console, services


class Kind(enum.StrEnum):
    users = "users"
    ledger = "ledger"
    referrals = "referrals"


def export(
    kind: Annotated[Kind, typer.Argument(help="What to export: users, ledger or referrals.")],
    product_id: Annotated[str, typer.Option("--product", help="The product id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write.")],
    first: Annotated[
        dt.datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            help="First day (UTC), included: users by first seen, ledger entries by time, "
            "referrals by signup.",
        ),
    ] = None,
    last: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (UTC), included."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the file if it exists.")
    ] = False,
) -> None:
    """Write a product's users, ledger or referrals to a CSV file (columns: docs/analytics.md)."""
    chosen = EXPORTS[kind.value]
    span = window(first.date() if first else None, last.date() if last else None)
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        total = count(session, chosen, product.id, span)
        progress = Progress(
            TextColumn(f"{kind.value}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        with (
            output.open("w" if force else "x", encoding="utf-8", newline="") as file,
            progress,
        ):
            task = progress.add_task(kind.value, total=total)
            written = 0

            def advance(rows: int) -> None:
                nonlocal written
                written += rows
                progress.advance(task, rows)

            for chunk in csv_chunks(session, chosen, product.id, span, on_rows=advance):
                file.write(chunk)
    console.print(f"Wrote {written:,} {kind.value} rows to {output}.")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
