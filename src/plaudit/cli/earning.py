"""``plaudit rules`` and ``plaudit tiers``: what earns points, and the tiers they reach.

The same service functions and pydantic schemas as the management API, on the database
PLAUDIT_DATABASE_URL names: what the API refuses is refused here with the API's message, as
one line with a hint that names the option to fix.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from plaudit.errors import InvalidInput
from plaudit.loyalty import rules, tiers
from plaudit.loyalty.models import EarningRule
from plaudit.loyalty.schemas import (
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TiersIn,
)
from plaudit.products.service import get_product

from .item_commands import Change, ItemCommands
from .runtime import (
    NOTHING_TO_CHANGE,
    EnableOpt,
    JsonOpt,
    ProductArg,
    YesOpt,
    console,
    emit,
    given,
    option_hint,
    services,
    validated,
)

rules_app = typer.Typer(
    help="Earning rules: which events earn how many points.", no_args_is_help=True
)
tiers_app = typer.Typer(help="Tiers, by lifetime points or a rolling window.", no_args_is_help=True)


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
