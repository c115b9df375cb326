"""``plaudit events import``: a JSON Lines file of events, through the server API's own ingest;
``plaudit events reverse``: take back what one event earned (a refund), as the reversal route.

Every line is checked against the API's schema before anything is stored, so a bad line stops
the import with its number and nothing of the file stored. Events are then stored in batches,
one transaction each, as the API stores one batch call: all of a batch or none of it. Ids make
a re-run safe: an event whose id is stored already is counted as a duplicate and earns nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import DataError

from plaudit.errors import InvalidInput, invalid_input
from plaudit.events.schemas import MAX_BATCH, ServerEventIn
from plaudit.loyalty.schemas import ReversalIn
from plaudit.pipeline import reversals
from plaudit.pipeline.ingest import ingest_batch
from plaudit.products.service import get_product
from plaudit.store.base import utcnow

from .runtime import JsonOpt, ProductArg, console, emit, given, option_hint, services, validated

app = typer.Typer(
    help="Events: import a file of them into a product, or reverse what one earned (a refund).",
    no_args_is_help=True,
)

LINE_HINT = (
    'Each line is one JSON object: {"user_id": ..., "type": ..., "properties"?: {...}, '
    '"id"?: ...}; fix the line and run the same command again.'
)
UNSTORABLE = "a value cannot be stored (a NUL character, or a number out of range)"


@dataclass
class Tally:
    """What an import did, for its summary."""

    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    points_earned: int = 0
    badges_awarded: int = 0
    batches: int = 0
    without_id: int = 0


def parse_line(number: int, raw: bytes) -> ServerEventIn | None:
    """One line as the server API's event, None for a blank line; a bad line raises
    InvalidInput naming its number and the API's validation message."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"Line {number}: not UTF-8 text (byte {exc.start + 1}).", hint=LINE_HINT
        ) from None
    try:
        event = ServerEventIn.model_validate_json(text)
    except ValidationError as exc:
        error = invalid_input(exc.errors())
        raise InvalidInput(
            f"Line {number}: {error.message}", field=error.field, hint=LINE_HINT
        ) from None
    for field, value in (("user_id", event.user_id), ("id", event.id or "")):
        if "\x00" in value:  # PostgreSQL cannot store it; refused here rather than mid-import
            raise InvalidInput(
                f"Line {number}: {field}: {UNSTORABLE}.", field=field, hint=LINE_HINT
            )
    return event


def read_events(path: Path) -> Iterator[tuple[int, int, ServerEventIn | None]]:
    """Each line's number, its size in bytes, and its event (None when blank)."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            yield number, len(raw), parse_line(number, raw)


def _progress() -> Progress:
    errors = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,  # no bar in logs and pipes: the summary says it all
    )


def _check(path: Path, progress: Progress) -> Tally:
    """Validate every line (nothing is stored); the events counted."""
    tally = Tally()
    task = progress.add_task("Checking", total=path.stat().st_size or 1, detail="")
    for _, size, event in read_events(path):
        if event is not None:
            tally.events += 1
            tally.without_id += event.id is None
        progress.update(task, advance=size, detail=f"{tally.events:,} events")
    return tally


def _store(
    product_id: str, batch: list[ServerEventIn], lines: tuple[int, int], tally: Tally
) -> None:
    """One batch, one transaction: all of it is stored, or (raising) none of it."""
    try:
        with services() as s, s.session() as session:
            product = get_product(session, product_id)
            outcomes = ingest_batch(session, product, batch, source="import", now=utcnow())
    except DataError:
        raise InvalidInput(
            f"Lines {lines[0]}-{lines[1]}: {UNSTORABLE}. Nothing of these lines was stored; "
            f"the {tally.events:,} events before them were.",
            hint="Fix the value and run the same command again: events with ids are not "
            "stored twice.",
        ) from None
    tally.events += len(outcomes)
    tally.batches += 1
    for outcome in outcomes:
        tally.accepted += not outcome.duplicate
        tally.duplicates += outcome.duplicate
        tally.points_earned += outcome.points_earned
        tally.badges_awarded += len(outcome.badges_awarded)


def _import(product_id: str, path: Path, total: int, batch_size: int, progress: Progress) -> Tally:
    tally = Tally()
    task = progress.add_task("Importing", total=total or 1, detail="")
    batch: list[ServerEventIn] = []
    lines = stored_through = 0  # the lines of the batch being read; the last line stored
    try:
        for number, _, event in read_events(path):
            if event is None:
                continue
            if not batch:
                lines = number
            batch.append(event)
            tally.without_id += event.id is None
            if len(batch) == batch_size:
                _store(product_id, batch, (lines, number), tally)
                batch, stored_through = [], number
                progress.update(
                    task, completed=tally.events, detail=f"{tally.points_earned:,} points"
                )
        if batch:
            _store(product_id, batch, (lines, number), tally)
    except (Exception, KeyboardInterrupt) as exc:
        if not isinstance(exc, InvalidInput):  # a crash or Ctrl-C: say what is stored
            progress.stop()
            Console(stderr=True).print(
                f"[yellow]Stopped: the {tally.events:,} events up to line {stored_through} are "
                "stored. Run the same command again to finish: events with ids are not stored "
                "twice.[/yellow]"
            )
        raise
    return tally


@app.command("import")
def events_import(
    product_id: ProductArg,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.jsonl",
            help='One event a line: {"user_id", "type", "properties"?, "id"?}.',
            show_default=False,
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Events per transaction.")
    ] = MAX_BATCH,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate the file; store nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a JSON Lines file of events, as the server API takes them.

    Points, streaks and badges follow; users not seen before are created. Every line is
    checked before anything is stored. Safe to run again: an event with an id is stored once.
    """
    with services() as s, s.session() as session:
        get_product(session, product_id)
    with _progress() as progress:
        checked = _check(path, progress)
        tally = (
            checked if check else _import(product_id, path, checked.events, batch_size, progress)
        )
    result = {"file": str(path), "product": product_id, "stored": not check, **asdict(tally)}
    if as_json:
        emit(result, as_json=True)
        return
    if check:
        console.print(f"[bold green]{path}: {tally.events:,} valid events.[/] Nothing was stored.")
    else:
        emit(
            [
                {"": label, "count": f"{getattr(tally, name):,}"}
                for name, label in (
                    ("events", "events read"),
                    ("accepted", "accepted"),
                    ("duplicates", "duplicates (stored before)"),
                    ("points_earned", "points earned"),
                    ("badges_awarded", "badges awarded"),
                    ("batches", "batches"),
                )
            ],
            as_json=False,
            title=f"Imported {path} into {product_id}",
        )
    if tally.without_id:
        some = "1 event has" if tally.without_id == 1 else f"{tally.without_id:,} events have"
        console.print(
            f"[yellow]{some} no id: importing the file again would store "
            f"{'it' if tally.without_id == 1 else 'them'} again.[/yellow]"
        )


@app.command("reverse")
def events_reverse(
    product_id: ProductArg,
    event_id: Annotated[
        str,
        typer.Argument(help="Plaudit's event id (evt_...), or the id you gave the event."),
    ],
    points: Annotated[
        int | None,
        typer.Option(
            help="A partial refund: how many of the event's points stand reversed after this, "
            "in total (a second partial refund gives the new total). Not given: all of them.",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[str, typer.Option(help="Shown in the user's history.")] = "Reversed",
    user_id: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="The event's user: needed only when your own event id is several users'.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take back what an event earned (a refund or chargeback), as
    POST /v1/products/{id}/events/{event_id}/reversal does.

    Pending points are cancelled first, then available ones; what the balance cannot cover
    is recorded as unrecovered and the balance stops at zero. Safe to run again: what was
    reversed already is never taken twice.
    """
    body = validated(
        ReversalIn,
        given(reason=reason, points=points, user_id=user_id),
        hint=lambda field: option_hint(field, {"user_id": "--user"}),
    )
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        result = reversals.requested(session, product, event_id, body, now=utcnow())
        entries = result["entries"]
    if as_json:
        emit(result, as_json=True)
        return
    summary = {k: v for k, v in result.items() if k != "entries"}
    emit(summary, as_json=False, title=f"Reversal of {event_id}")
    if not entries:
        console.print("[dim]Nothing more to take back: this much was reversed already.[/dim]")
        return
    emit(
        [{**e, "delta": f"{e['delta']:+d}"} for e in entries],
        as_json=False,
        title="Entries written",
        columns=["id", "created_at", "kind", "delta", "balance_after", "reason"],
    )
