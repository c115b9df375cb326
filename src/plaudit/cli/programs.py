"""``plaudit rules|tiers|rewards|badges|points|leaderboard``: the loyalty and gamification
programs from a terminal.

The same service functions and pydantic schemas as the management API, on the database
PLAUDIT_DATABASE_URL names: what the API refuses is refused here with the API's message, as
one line with a hint that names the option to fix.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.gamification import badges, leaderboards
from plaudit.gamification.models import Badge
from plaudit.gamification.schemas import BadgeCreate, BadgeOut, BadgeUpdate
from plaudit.loyalty import catalog, ledger, rules, tiers
from plaudit.loyalty.errors import InsufficientPoints
from plaudit.loyalty.models import EarningRule, Reward
from plaudit.loyalty.schemas import (
    AdjustmentIn,
    EntryOut,
    RewardCreate,
    RewardOut,
    RewardUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TiersIn,
)
from plaudit.periods import BOARDS
from plaudit.pipeline.adjustments import adjust_points
from plaudit.products.models import Product
from plaudit.products.service import get_product
from plaudit.store.base import utcnow
from plaudit.users.service import get_user

from . import redemptions, reward_codes
from .item_commands import Change, ItemCommands
from .runtime import JsonOpt, ProductArg, console, emit, given, option_hint, services, validated

rules_app = typer.Typer(
    help="Earning rules: which events earn how many points.", no_args_is_help=True
)
tiers_app = typer.Typer(help="Tiers, by lifetime points or a rolling window.", no_args_is_help=True)
rewards_app = typer.Typer(
    help="The rewards catalog (what points buy, its cost and stock), and the redemptions you fulfil.",
    no_args_is_help=True,
)
badges_app = typer.Typer(
    help="Badges: for an event N times, a lifetime points total, or an N-day streak.",
    no_args_is_help=True,
)
points_app = typer.Typer(
    help="A user's points: adjust them by hand, read the history.", no_args_is_help=True
)

NOTHING_TO_CHANGE = "Nothing to change: give at least one option (see --help)."
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
EnableOpt = Annotated[
    bool | None, typer.Option("--enable/--disable", help="Switch it on or off.", show_default=False)
]


# --- earning rules ------------------------------------------------------------------------

RULE_COLUMNS = [
    "id",
    "name",
    "event_type",
    "description",
    "lot_expiry",
    "hold",
    "server_only",
    "enabled",
]
LotExpiryOpt = Annotated[
    int | None,
    typer.Option(
        help="Points it earns expire this many days after they were earned; 0: never. "
        "Not given: the product's points_lot_expiry_days.",
        show_default=False,
    ),
]
HoldOpt = Annotated[
    int | None,
    typer.Option(
        help="Points it earns are pending this many days; 0: available at once. "
        "Not given: the product's points_hold_days.",
        show_default=False,
    ),
]


def _rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule's own lot expiry and hold in words: the product's, never/none, or N days."""

    def days(value: int | None, zero: str) -> str:
        return "product's" if value is None else zero if value == 0 else f"{value} days"

    return {
        **rule,
        "lot_expiry": days(rule["lot_expiry_days"], "never"),
        "hold": days(rule["hold_days"], "none"),
    }


ClientSafeOpt = Annotated[
    bool,
    typer.Option(
        "--client-safe",
        help="A property rule: a user's browser earns by it too (needs --max-points-per-event).",
    ),
]
MaxPerEventOpt = Annotated[
    int | None,
    typer.Option(
        help="The most one event earns under a property rule (required with --client-safe)."
    ),
]

rule_commands = ItemCommands[EarningRule](
    app=rules_app,
    noun="earning rule",
    titles=("Earning rules", "Earning rule added", "Earning rule"),
    id_name="rule_id",
    id_help="The rule id (rule_...).",
    columns=RULE_COLUMNS,
    listing=rules.list_rules,
    find=rules.get_rule,
    delete=rules.delete_rule,
    show=lambda rule: RuleOut.model_validate(rule).model_dump(),
    consequence="Points it gave stay in the ledger.",
    table=_rule_row,
)


def rules_add(
    name: Annotated[str, typer.Option(help="What the user sees, e.g. 'Purchase'.")],
    event_type: Annotated[str, typer.Option(help="The event type that earns, e.g. purchase.")],
    points: Annotated[int | None, typer.Option(help="A fixed number of points per event.")] = None,
    property_name: Annotated[
        str | None,
        typer.Option("--property", help="Or: earn by this numeric property (with --rate)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Points per unit of --property (rounded down).")
    ] = None,
    limit_per_day: Annotated[
        int | None, typer.Option(help="At most this many earns per user per day.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Earn once per user, ever.")] = False,
    server_only: Annotated[
        bool,
        typer.Option(
            "--server-only", help="Only events your servers send earn (not a user's browser)."
        ),
    ] = False,
    client_safe: ClientSafeOpt = False,
    max_points_per_event: MaxPerEventOpt = None,
    lot_expiry_days: LotExpiryOpt = None,
    hold_days: HoldOpt = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
) -> Change[EarningRule]:
    """Add an earning rule: --points N per event, or --property P --rate R."""
    body = validated(
        RuleCreate,
        given(
            name=name,
            event_type=event_type,
            points=points,
            property=property_name,
            rate=rate,
            limit_per_day=limit_per_day,
            once=once,
            server_only=server_only,
            client_safe=client_safe,
            max_points_per_event=max_points_per_event,
            lot_expiry_days=lot_expiry_days,
            hold_days=hold_days,
            enabled=not disabled,
        ),
        hint=lambda field: (
            option_hint(field) if field else "Give --points N, or --property P with --rate R."
        ),
    )
    return lambda session, product: rules.create_rule(session, product, body)


def rules_update(
    rule_id: Annotated[str, typer.Argument(help="The rule id (rule_...).")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    points: Annotated[int | None, typer.Option(help="New points (a fixed-points rule).")] = None,
    rate: Annotated[float | None, typer.Option(help="New rate (a property rule).")] = None,
    limit_per_day: Annotated[int | None, typer.Option(help="A new daily limit.")] = None,
    no_limit: Annotated[
        bool, typer.Option("--no-limit-per-day", help="Remove the daily limit.")
    ] = False,
    once: Annotated[
        bool | None,
        typer.Option("--once/--not-once", help="Earn once per user, or again.", show_default=False),
    ] = None,
    client_safe: Annotated[
        bool | None,
        typer.Option(
            "--client-safe/--servers-only",
            help="A property rule: browsers earn too (needs a per-event maximum), or only servers.",
            show_default=False,
        ),
    ] = None,
    max_points_per_event: MaxPerEventOpt = None,
    lot_expiry_days: LotExpiryOpt = None,
    product_lot_expiry: Annotated[
        bool,
        typer.Option(
            "--product-lot-expiry", help="Its points expire as the product's setting says."
        ),
    ] = False,
    hold_days: HoldOpt = None,
    product_hold: Annotated[
        bool, typer.Option("--product-hold", help="Its points are held as the product says.")
    ] = False,
    enabled: EnableOpt = None,
) -> Change[EarningRule]:
    """Change an earning rule; options not given stay as they are.

    The event type and the property are the rule's identity: to change them, add a new rule
    and remove this one.
    """
    for given_value, flag, field in (
        (limit_per_day if no_limit else None, "--no-limit-per-day", "limit_per_day"),
        (
            lot_expiry_days if product_lot_expiry else None,
            "--product-lot-expiry",
            "lot_expiry_days",
        ),
        (hold_days if product_hold else None, "--product-hold", "hold_days"),
    ):
        if given_value is not None:
            option = "--" + field.replace("_", "-")
            raise InvalidInput(f"Give {option} or {flag}, not both.", field=field)
    changes = given(
        name=name,
        points=points,
        rate=rate,
        limit_per_day=limit_per_day,
        once=once,
        client_safe=client_safe,
        max_points_per_event=max_points_per_event,
        lot_expiry_days=lot_expiry_days,
        hold_days=hold_days,
    )
    if enabled is not None:
        changes["enabled"] = enabled
    if no_limit:
        changes["limit_per_day"] = None
    if product_lot_expiry:
        changes["lot_expiry_days"] = None
    if product_hold:
        changes["hold_days"] = None
    if not changes:
        raise InvalidInput(NOTHING_TO_CHANGE)
    body = validated(RuleUpdate, changes)
    return lambda session, product: rules.update_rule(session, product, rule_id, body)


rule_commands.register(
    list_help="A product's earning rules, oldest first.",
    add=rules_add,
    update=rules_update,
    remove_help="Remove an earning rule; the points it gave stay in the ledger.",
)


# --- tiers --------------------------------------------------------------------------------


def _emit_tiers(product: Any, found: list[Any], *, as_json: bool) -> None:
    out = tiers.described(product, found).model_dump()
    if as_json:
        emit(out, as_json=True)
        return
    emit(out["tiers"], as_json=False, title="Tiers", columns=["name", "threshold"])
    if out["held_by"] == "rolling":
        console.print(
            f"Held by the points of the last {out['window_days']} days, "
            f"with {out['grace_days']} days of grace before a downgrade."
        )


@tiers_app.command("list")
def tiers_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """A product's tiers, lowest first, and how they are held."""
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        _emit_tiers(product, tiers.list_tiers(session, product), as_json=as_json)


def _tier(argument: str) -> dict[str, str]:
    name, equals, threshold = argument.rpartition("=")
    if not equals or not name.strip() or not threshold.strip():
        raise InvalidInput(
            f"{argument!r} is not NAME=POINTS.",
            field="tiers",
            hint='Give each tier as its name and qualifying points, e.g. "Gold=2000".',
        )
    return {"name": name.strip(), "threshold": threshold.strip()}


@tiers_app.command("set")
def tiers_set(
    product_id: ProductArg,
    wanted: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME=POINTS...",
            help='Every tier, as its name and the qualifying points that reach it: "Gold=2000".',
            show_default=False,
        ),
    ],
    held_by: Annotated[
        str | None,
        typer.Option(
            "--held-by",
            metavar="lifetime|rolling",
            help="By lifetime points (never lost) or by the points of a rolling window. "
            "Omitted: as before.",
            show_default=False,
        ),
    ] = None,
    window_days: Annotated[
        int | None,
        typer.Option("--window-days", help="The rolling window, in days.", show_default=False),
    ] = None,
    grace_days: Annotated[
        int | None,
        typer.Option(
            "--grace-days",
            help="Days below a threshold before moving down (rolling).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the tiers with these, and say how they are held. Under lifetime points users
    move to their new tier with their next earn; under a rolling window, the background step
    re-evaluates every user."""
    parsed = [_tier(argument) for argument in wanted]

    def hint(field: str | None) -> str:
        parts = (field or "").split(".")
        if len(parts) > 1 and parts[1].isdigit():
            return f'Check the tier {wanted[int(parts[1])]!r}: NAME=POINTS, e.g. "Gold=2000".'
        return option_hint(field)

    given = {"held_by": held_by, "window_days": window_days, "grace_days": grace_days}
    body = validated(
        TiersIn,
        {"tiers": parsed, **{k: v for k, v in given.items() if v is not None}},
        hint=hint,
    )
    policy = tiers.policy_in(body.held_by, body.window_days, body.grace_days)
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        found = tiers.replace_tiers(
            session, product, [(t.name, t.threshold) for t in body.tiers], policy=policy
        )
        _emit_tiers(product, found, as_json=as_json)


@tiers_app.command("clear")
def tiers_clear(product_id: ProductArg, yes: YesOpt = False, as_json: JsonOpt = False) -> None:
    """Remove every tier; users leave their tier with their next earn, and keep their points."""
    if not yes:
        typer.confirm(f"Remove every tier of {product_id}?", abort=True)
    with services() as s, s.session() as session:
        tiers.replace_tiers(session, get_product(session, product_id), [])
    if as_json:
        emit({"tiers": []}, as_json=True)
        return
    console.print(f"[bold]Removed every tier of {product_id}.[/]")


# --- rewards catalog ----------------------------------------------------------------------

REWARD_COLUMNS = ["id", "name", "cost", "stock", "fulfilment", "enabled", "description"]
FulfilmentOpt = Annotated[
    str | None,
    typer.Option(
        help="instant, code (a unique code from the pool: 'plaudit rewards codes upload'), or "
        "tenant (your server marks it fulfilled or failed)."
    ),
]
LowCodesOpt = Annotated[
    int | None, typer.Option(help="Send reward_codes.low when the pool falls to this many.")
]


def _reward_row(row: dict[str, Any]) -> dict[str, Any]:
    """For a table, a stock of null reads as what it means."""
    return {**row, "stock": "unlimited" if row["stock"] is None else row["stock"]}


reward_commands = ItemCommands[Reward](
    app=rewards_app,
    noun="reward",
    titles=("Rewards", "Reward added", "Reward"),
    id_name="reward_id",
    id_help="The reward id (rwd_...).",
    columns=REWARD_COLUMNS,
    listing=catalog.list_rewards,
    find=catalog.get_reward,
    delete=catalog.delete_reward,
    show=lambda reward: RewardOut.model_validate(reward).model_dump(),
    consequence="Past redemptions keep its name and cost.",
    table=_reward_row,
)


def rewards_add(
    name: Annotated[str, typer.Option(help="What the user sees, e.g. '$5 voucher'.")],
    cost: Annotated[int, typer.Option(help="The points it takes.")],
    stock: Annotated[
        int | None, typer.Option(help="How many there are (default: no limit).")
    ] = None,
    description: Annotated[str, typer.Option(help="A line about it.")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    fulfilment: FulfilmentOpt = None,
    low_codes_at: LowCodesOpt = None,
) -> Change[Reward]:
    """Add a reward to the catalog."""
    body = validated(
        RewardCreate,
        given(
            name=name,
            cost=cost,
            stock=stock,
            description=description,
            enabled=not disabled,
            fulfilment=fulfilment,
            low_codes_at=low_codes_at,
        ),
    )
    return lambda session, product: catalog.create_reward(session, product, body)


def rewards_update(
    reward_id: Annotated[str, typer.Argument(help="The reward id (rwd_...).")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    cost: Annotated[int | None, typer.Option(help="A new cost in points.")] = None,
    stock: Annotated[int | None, typer.Option(help="Set the stock to this.")] = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="Remove the stock limit.")] = False,
    restock: Annotated[
        int | None, typer.Option(help="Add this many to the stock (safe while users redeem).")
    ] = None,
    enabled: EnableOpt = None,
    fulfilment: FulfilmentOpt = None,
    low_codes_at: LowCodesOpt = None,
) -> Change[Reward]:
    """Change a reward, switch it on or off, or restock it; options not given stay as they are."""
    if sum((stock is not None, unlimited, restock is not None)) > 1:
        raise InvalidInput("Give one of --stock, --unlimited and --restock.", field="stock")
    changes = given(
        name=name,
        description=description,
        cost=cost,
        stock=stock,
        fulfilment=fulfilment,
        low_codes_at=low_codes_at,
    )
    if enabled is not None:
        changes["enabled"] = enabled
    if unlimited:
        changes["stock"] = None
    if not changes and restock is None:
        raise InvalidInput(NOTHING_TO_CHANGE)
    body = validated(RewardUpdate, changes)

    def change(session: Session, product: Product) -> Reward:
        reward = catalog.update_reward(session, product, reward_id, body)
        if restock is not None:
            reward = catalog.restock(session, product, reward_id, restock)
        return reward

    return change


reward_commands.register(
    list_help="The catalog, cheapest first, switched-off rewards included.",
    add=rewards_add,
    update=rewards_update,
    remove_help="Remove a reward from the catalog; past redemptions keep its name and cost.",
)
rewards_app.add_typer(reward_codes.app, name="codes")
redemptions.register(rewards_app)


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


# --- points -------------------------------------------------------------------------------

UserArg = Annotated[str, typer.Argument(help="The user's id in your system.")]


@points_app.command(
    "adjust",
    # A negative AMOUNT ("-50") is an argument, not an unknown option.
    context_settings={"ignore_unknown_options": True},
)
def points_adjust(
    product_id: ProductArg,
    user_id: UserArg,
    amount: Annotated[
        int, typer.Argument(help="Points to add, or to take away when negative (-50).")
    ],
    reason: Annotated[str, typer.Option(help="Why; the user sees it in their history.")],
    as_json: JsonOpt = False,
) -> None:
    """Add or take away a user's points by hand, with a reason their history shows.

    A balance never goes below zero (insufficient_points). Added points count as earned:
    they raise the tier, award points badges and count on the leaderboards.
    """
    body = validated(
        AdjustmentIn,
        {"amount": amount, "reason": reason},
        hint=lambda field: option_hint(field, {"amount": "AMOUNT"}),
    )
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        user = get_user(session, product.id, user_id)
        try:
            result = adjust_points(session, product, user, body, now=utcnow())
        except InsufficientPoints as exc:
            raise InsufficientPoints(
                exc.message,
                hint=f"'plaudit users show {product_id} {user_id}' shows the balance; a "
                "balance never goes below zero.",
            ) from None
    if as_json:
        emit(result.model_dump(), as_json=True)
        return
    console.print(
        f"[bold green]{amount:+d} points[/] for {user_id} ({body.reason}); "
        f"balance {result.balance}."
    )


@points_app.command("history")
def points_history(
    product_id: ProductArg,
    user_id: UserArg,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Entries per page.")] = 20,
    before: Annotated[
        int | None,
        typer.Option(min=1, max=2**62, help="An entry id: only entries older than it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's points history, newest first, as their widget shows it."""
    with services() as s, s.session() as session:
        user = get_user(session, get_product(session, product_id).id, user_id)
        entries, next_before = ledger.history(session, user, limit=limit, before=before)
        rows = [EntryOut.model_validate(e).model_dump() for e in entries]
    if as_json:
        emit({"entries": rows, "next_before": next_before}, as_json=True)
        return
    emit(
        [{**r, "delta": f"{r['delta']:+d}"} for r in rows],
        as_json=False,
        title=f"Points history of {user_id}",
        columns=["id", "created_at", "kind", "delta", "balance_after", "reason"],
    )
    if next_before is not None:
        console.print(f"[dim]Older entries: --before {next_before}[/dim]")


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


def register(app: typer.Typer) -> None:
    """Add the programs' groups, and the leaderboard command, to the root app."""
    app.add_typer(rules_app, name="rules")
    app.add_typer(tiers_app, name="tiers")
    app.add_typer(rewards_app, name="rewards")
    app.add_typer(badges_app, name="badges")
    app.add_typer(points_app, name="points")
    app.command("leaderboard")(leaderboard)
