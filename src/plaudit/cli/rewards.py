"""``plaudit rewards``: the catalog points buy, its code pools (``rewards codes``) and the
redemptions your server fulfils (``rewards redemptions|fulfil``), as the management API
manages them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.loyalty import catalog
from plaudit.loyalty.models import Reward
from plaudit.loyalty.schemas import (
    RewardCreate,
    RewardOut,
    RewardUpdate,
)
from plaudit.products.models import Product

from . import redemptions, reward_codes
from .item_commands import Change, ItemCommands
from .runtime import (
    NOTHING_TO_CHANGE,
    EnableOpt,
    given,
    validated,
)

rewards_app = typer.Typer(
    help="The rewards catalog (what points buy, its cost and stock), and the redemptions you fulfil.",
    no_args_is_help=True,
)


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
