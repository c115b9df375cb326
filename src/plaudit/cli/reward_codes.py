"""``plaudit rewards codes``: a reward's code pool from a terminal.

``upload`` reads a CSV of any size as it goes (never the whole file at once) and stores its
codes in chunks, one transaction each, with a progress bar on a terminal: a file interrupted
half way keeps the chunks stored, and running it again skips them as duplicates. Refused lines
are reported by number, never by content: codes are secrets of a sort.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from plaudit.loyalty import codes
from plaudit.products.service import get_product
from plaudit.store.base import utcnow

from .runtime import JsonOpt, ProductArg, console, emit, services

app = typer.Typer(
    help="A reward's code pool: upload codes, see how many are left, discard the unused.",
    no_args_is_help=True,
)
RewardArg = Annotated[str, typer.Argument(help="The reward id (rwd_...), fulfilment 'code'.")]
READ_BYTES = 64 * 1024


@dataclass
class Tally:
    added: int = 0
    duplicates: int = 0
    refused_count: int = 0
    chunks: int = 0
    remaining: int = 0


def _progress() -> Progress:
    errors = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,  # no bar in logs and pipes: the summary says it all
    )


@app.command("upload")
def upload(
    product_id: ProductArg,
    reward_id: RewardArg,
    path: Annotated[
        Path,
        typer.Argument(
            help="A CSV: one code per line, in the column headed 'code' (else the first).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    chunk_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Codes stored per transaction.")
    ] = 5000,
    as_json: JsonOpt = False,
) -> None:
    """Add a CSV's codes to the reward's pool; codes it holds already are skipped."""
    with services() as s:
        with s.session() as session:  # the reward is checked before the file is read
            codes.pool_reward(session, get_product(session, product_id), reward_id)
        reader = codes.CodeFile()
        tally = Tally()
        pending: list[str] = []

        def store(batch: list[str], *, last: bool) -> None:
            with s.session() as session:
                now = utcnow()
                reward = codes.pool_reward(session, get_product(session, product_id), reward_id)
                added = codes.add_codes(session, reward, batch, now=now)
                tally.added += added.added
                tally.duplicates += added.duplicates
                tally.chunks += 1
                if last:
                    total = codes.Added(added=tally.added, duplicates=tally.duplicates)
                    tally.remaining = codes.uploaded(session, reward, total, now=now)

        with _progress() as progress, path.open("rb") as file:
            task = progress.add_task(f"Uploading {path.name}", total=path.stat().st_size)
            while block := file.read(READ_BYTES):
                pending.extend(reader.feed(block))
                while len(pending) >= chunk_size:
                    store(pending[:chunk_size], last=False)
                    del pending[:chunk_size]
                progress.advance(task, len(block))
            pending.extend(reader.finish())
            store(pending, last=True)
    tally.refused_count = reader.refused_count
    if as_json:
        refused = [asdict(r) for r in reader.refused]
        emit({**asdict(tally), "refused": refused}, as_json=True)
        return
    console.print(
        f"[bold]{tally.added} codes added[/], {tally.duplicates} duplicates skipped, "
        f"{tally.refused_count} lines refused; {tally.remaining} codes left in the pool."
    )
    for refused_line in reader.refused:
        console.print(f"  [yellow]{refused_line.error}[/]")
    if reader.refused_count > len(reader.refused):
        console.print(f"  ... and {reader.refused_count - len(reader.refused)} more.")


@app.command("status")
def status(product_id: ProductArg, reward_id: RewardArg, as_json: JsonOpt = False) -> None:
    """How many codes the pool has left, has handed out, and its low mark."""
    with services() as s, s.session() as session:
        reward = codes.pool_reward(session, get_product(session, product_id), reward_id)
        row = {
            "reward_id": reward.id,
            "remaining": codes.remaining(session, reward),
            "handed_out": codes.handed_out(session, reward),
            "low_codes_at": reward.low_codes_at,
        }
    emit(row, as_json=as_json, title="Code pool")


@app.command("discard")
def discard(
    product_id: ProductArg,
    reward_id: RewardArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove the pool's unused codes; those handed out stay with their redemptions."""
    if not yes:
        typer.confirm(f"Remove every unused code of {reward_id}?", abort=True)
    with services() as s, s.session() as session:
        reward = codes.pool_reward(session, get_product(session, product_id), reward_id)
        discarded = codes.discard_unused(session, reward)
    if as_json:
        emit({"discarded": discarded}, as_json=True)
        return
    console.print(f"[bold]Discarded {discarded} unused codes.[/]")
