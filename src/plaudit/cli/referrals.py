"""``plaudit referrals``: the referral screening rules and the review queue, from a terminal.

The same service functions and schemas as the management API, on the database
PLAUDIT_DATABASE_URL names: a decision made here is the one the API and the console show, and
sends the same ``referral.reviewed`` webhook.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from plaudit.errors import InvalidInput
from plaudit.products.service import get_product
from plaudit.referrals import fraud, review
from plaudit.referrals.schemas import RejectionIn
from plaudit.store.base import utcnow

from .runtime import JsonOpt, ProductArg, console, emit, services, validated

app = typer.Typer(
    help="Referral screening: the rules, and the queue of flagged referrals to review.",
    no_args_is_help=True,
)
UserArg = Annotated[str, typer.Argument(help="The referred user's id in your system.")]
RuleArg = Annotated[str, typer.Argument(help=f"The rule: {', '.join(fraud.RULES)}.")]
STATUSES = ("flagged", "approved", "rejected", "all")


@app.command("rules")
def rules_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """The screening rules as they run for the product: on or off, and their settings."""
    with services() as s, s.session() as session:
        rows = fraud.rules_out(session, get_product(session, product_id))
    if as_json:
        emit(rows, as_json=True)
        return
    emit(
        [
            {**r, "settings": ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "-"}
            for r in rows
        ],
        as_json=False,
        title="Referral screening rules",
        columns=["rule", "enabled", "settings", "description"],
    )


@app.command("rule")
def rule_set(
    product_id: ProductArg,
    rule: RuleArg,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Switch it on or off.", show_default=False),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE, e.g. per_hour=20 or match_address=false (repeat the option).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Switch a rule on or off, or change its settings ('rules' lists them)."""
    settings = dict(_setting(item) for item in setting or [])
    if enable is None and not settings:
        raise InvalidInput("Nothing to change: give --enable/--disable or --set NAME=VALUE.")
    with services() as s, s.session() as session:
        result = fraud.set_rule(
            session,
            get_product(session, product_id),
            rule,
            enabled=enable,
            settings=settings or None,
        )
    if as_json:
        emit(result, as_json=True)
        return
    state = "on" if result["enabled"] else "off"
    shown = ", ".join(f"{k}={v}" for k, v in result["settings"].items())
    console.print(f"[bold green]{rule}[/] is {state}{f' ({shown})' if shown else ''}.")


def _setting(item: str) -> tuple[str, int | bool]:
    name, equals, raw = item.partition("=")
    if not equals or not name.strip():
        raise InvalidInput(f"--set takes NAME=VALUE, not {item!r}.", field="set")
    value = raw.strip().lower()
    if value in ("true", "false"):
        return name.strip(), value == "true"
    try:
        return name.strip(), int(value)
    except ValueError:
        raise InvalidInput(
            f"--set {name.strip()}: {raw!r} is neither a whole number nor true/false.",
            field="set",
        ) from None


def _row(referral: dict[str, Any]) -> dict[str, Any]:
    reasons = (referral["review"] or {}).get("reasons") or []
    reward = referral["reward"] or {}
    return {
        "referred_user_id": referral["referred_user_id"],
        "referrer_user_id": referral["referrer_user_id"],
        "review": (referral["review"] or {}).get("status"),
        "reward": f"{reward['amount']} {reward['kind']} ({reward['status']})" if reward else None,
        "reasons": "; ".join(r["message"] for r in reasons),
        "note": (referral["review"] or {}).get("note"),
    }


@app.command("reviews")
def reviews_list(
    product_id: ProductArg,
    status: Annotated[
        str, typer.Option(help="flagged (waiting), approved, rejected or all.")
    ] = "flagged",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option(min=0, max=1_000_000_000)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """The review queue, oldest first, with the reasons each referral was flagged."""
    if status not in STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}; choose one of {', '.join(STATUSES)}.", field="status"
        )
    with services() as s, s.session() as session:
        rows, total = review.queue(
            session,
            get_product(session, product_id),
            status=None if status == "all" else status,
            limit=limit,
            offset=offset,
        )
    if as_json:
        emit({"referrals": rows, "total": total}, as_json=True)
        return
    emit(
        [_row(r) for r in rows],
        as_json=False,
        title=f"Referral reviews: {status} ({total})",
        columns=["referred_user_id", "referrer_user_id", "review", "reward", "reasons", "note"],
    )


@app.command("approve")
def approve(
    product_id: ProductArg,
    user_id: UserArg,
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a flagged referral: its held reward is granted (or waits out the hold days)."""
    _decide(product_id, user_id, approve=True, note=note, as_json=as_json)


@app.command("reject")
def reject(
    product_id: ProductArg,
    user_id: UserArg,
    reason: Annotated[str, typer.Option(help="Why, in words the referrer could be told.")],
    as_json: JsonOpt = False,
) -> None:
    """Reject a flagged referral with a reason: its held reward is never granted."""
    body = validated(RejectionIn, {"reason": reason})
    _decide(product_id, user_id, approve=False, note=body.reason, as_json=as_json)


def _decide(
    product_id: str, user_id: str, *, approve: bool, note: str | None, as_json: bool
) -> None:
    with services() as s, s.session() as session:
        result = review.decide(
            session,
            get_product(session, product_id),
            user_id,
            approve=approve,
            note=note,
            now=utcnow(),
        )
    if as_json:
        emit(result, as_json=True)
        return
    row = _row(result)
    console.print(
        f"[bold green]The referral of {user_id} is {row['review']}[/]; reward: "
        f"{row['reward'] or 'none yet'}."
    )
