"""``plaudit badges`` and ``plaudit leaderboard``: what a user is awarded, and where they
rank, as the management API reads and sets them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from plaudit.errors import InvalidInput
from plaudit.gamification import badges, leaderboards
from plaudit.gamification.models import Badge
from plaudit.gamification.schemas import BadgeCreate, BadgeOut, BadgeUpdate
from plaudit.periods import BOARDS
from plaudit.products.service import get_product
from plaudit.store.base import utcnow

from .item_commands import Change, ItemCommands
from .runtime import (
    NOTHING_TO_CHANGE,
    EnableOpt,
    JsonOpt,
    ProductArg,
    console,
    emit,
    given,
    option_hint,
    services,
    validated,
)

badges_app = typer.Typer(
    help="Badges: for an event N times, a lifetime points total, or an N-day streak.",
    no_args_is_help=True,
)


# --- badges -------------------------------------------------------------------------------

BADGE_COLUMNS = ["id", "icon", "name", "awarded_for", "enabled", "description"]
BADGE_OPTIONS = {"count": "--count", "days": "--streak", "points": "--points"}


def awarded_for(criteria: dict[str, Any]) -> str:
    """A badge's rule in words: 'purchase 10 times', '1000 lifetime points', ..."""
    if criteria["kind"] == "event_count":
        count = criteria["count"]
        return f"{criteria['event_type']} {'once' if count == 1 else f'{count} times'}"
    if criteria["kind"] == "points_total":
        return f"{criteria['points']} lifetime points"
    return f"{criteria['event_type']} {criteria['days']} days in a row"


def _badge_row(badge: dict[str, Any]) -> dict[str, Any]:
    return {**badge, "awarded_for": awarded_for(badge["criteria"])}


badge_commands = ItemCommands[Badge](
    app=badges_app,
    noun="badge",
    titles=("Badges", "Badge added", "Badge"),
    id_name="badge_id",
    id_help="The badge id (bdg_...).",
    columns=BADGE_COLUMNS,
    listing=badges.list_badges,
    find=badges.get_badge,
    delete=badges.delete_badge,
    show=lambda badge: BadgeOut.model_validate(badge).model_dump(),
    consequence="Users who held it no longer do.",
    table=_badge_row,
)


def badges_add(
    name: Annotated[str, typer.Option(help="What the user sees, e.g. 'Regular'.")],
    event_type: Annotated[
        str | None, typer.Option(help="The event type --count or --streak counts.")
    ] = None,
    count: Annotated[
        int | None, typer.Option(help="Award at the Nth event of --event-type.")
    ] = None,
    points: Annotated[int | None, typer.Option(help="Award at this many lifetime points.")] = None,
    streak: Annotated[
        int | None,
        typer.Option(help="Award on the Nth day in a row with an --event-type event."),
    ] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    icon: Annotated[str, typer.Option(help="An emoji or a short text.")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
) -> Change[Badge]:
    """Add a badge: for --event-type T --count N, --points N, or --event-type T --streak DAYS.

    Its rule cannot change later: those who hold the badge keep it.
    """
    kinds = {"event_count": count, "points_total": points, "streak": streak}
    chosen = [kind for kind, value in kinds.items() if value is not None]
    if len(chosen) != 1:
        raise InvalidInput(
            "Give one rule: --count N (with --event-type), --points N, or --streak DAYS "
            "(with --event-type).",
            field="criteria",
        )
    kind = chosen[0]
    amount = {"event_count": "count", "points_total": "points", "streak": "days"}[kind]
    criteria = given(kind=kind, event_type=event_type, **{amount: kinds[kind]})
    body = validated(
        BadgeCreate,
        given(
            name=name, description=description, icon=icon, criteria=criteria, enabled=not disabled
        ),
        hint=lambda field: option_hint(field, BADGE_OPTIONS),
    )
    return lambda session, product: badges.create_badge(session, product, body)


def badges_update(
    badge_id: Annotated[str, typer.Argument(help="The badge id (bdg_...).")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    icon: Annotated[str | None, typer.Option(help="A new icon.")] = None,
    enabled: EnableOpt = None,
) -> Change[Badge]:
    """Rename a badge, change its description or icon, or switch it on or off."""
    changes = given(name=name, description=description, icon=icon, enabled=enabled)
    if not changes:
        raise InvalidInput(NOTHING_TO_CHANGE)
    body = validated(BadgeUpdate, changes)
    return lambda session, product: badges.update_badge(session, product, badge_id, body)


badge_commands.register(
    list_help="A product's badges, oldest first.",
    add=badges_add,
    update=badges_update,
    remove_help="Remove a badge, and take it from those who hold it (to keep it held, "
    "--disable it).",
)


# --- leaderboards -------------------------------------------------------------------------


def leaderboard(
    product_id: ProductArg,
    board: Annotated[
        str, typer.Argument(help=f"Which board: {', '.join(BOARDS)} (in the product's time zone).")
    ] = "all-time",
    limit: Annotated[
        int, typer.Option(min=1, max=leaderboards.MAX_TOP, help="How many places.")
    ] = 10,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Rank now instead of reading the last ranking.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A leaderboard's top places, with user ids.

    The server re-ranks every few seconds; --refresh ranks now (when no server runs, say).
    """
    leaderboards.check_board(board)
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        now = utcnow()
        if refresh:
            leaderboards.refresh(session, product, board, now=now, force=True)
        result = leaderboards.read(session, product, board, now=now, limit=limit, with_ids=True)
    if as_json:
        emit(result, as_json=True)
        return
    if result["as_of"] is None:
        console.print(
            f"[dim]The {board} board of {product_id} is not ranked yet: the server ranks "
            "every few seconds; --refresh ranks now.[/dim]"
        )
        return
    emit(
        result["entries"],
        as_json=False,
        title=f"Leaderboard {board} ({result['period']}), as of {result['as_of']}",
        columns=["rank", "user_id", "display_name", "points"],
    )
