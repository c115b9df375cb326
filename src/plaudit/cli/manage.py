"""``plaudit products|keys|secrets|users``: the management API's services, from a terminal.

The same service functions as the HTTP API, on the database PLAUDIT_DATABASE_URL names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from plaudit.auth.profiles import PROFILES
from plaudit.cli.keys import app as keys_app
from plaudit.errors import InvalidInput, invalid_input
from plaudit.me import service as standing
from plaudit.products import hmac_secrets, public_keys, routing, service
from plaudit.products.schemas import ProductCreate, ProductSettings
from plaudit.store.base import utcnow
from plaudit.users import service as users
from plaudit.users.schemas import UserOut

from .runtime import console, emit, services, validated

products_app = typer.Typer(help="Create, list, show and update products.", no_args_is_help=True)
secrets_app = typer.Typer(help="Rotate and list a product's HMAC secrets.", no_args_is_help=True)
users_app = typer.Typer(help="A product's users (the All Users list).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ProductArg = Annotated[str, typer.Argument(help="The product id.")]


@products_app.command("create")
def products_create(
    name: Annotated[str, typer.Argument(help="A name people recognise.")],
    product_id: Annotated[str | None, typer.Option("--id", help="Your own product id.")] = None,
    profile: Annotated[
        str, typer.Option(help=f"Token profile: {', '.join(PROFILES)}.")
    ] = "standard",
    published: Annotated[bool, typer.Option(help="List users in All Users at once.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a product; prints its API key and secret once."""
    if profile not in PROFILES:
        raise InvalidInput(
            f"Unknown profile {profile!r}; choose one of {', '.join(PROFILES)}.", field="profile"
        )
    try:  # the HTTP API's own validation: the same ids, names and profiles are accepted
        ProductCreate(name=name, id=product_id, profile=profile)
    except ValidationError as exc:
        raise invalid_input(exc.errors()) from None
    with services() as s, s.session() as session:
        created = service.create_product(
            session, box=s.box, name=name, product_id=product_id, profile=profile
        )
        if published:
            service.update_product(session, created.product, ProductSettings(published=True))
        session.flush()
        result = service.created_answer(created).model_dump(mode="json")
    if as_json:
        emit(result, as_json=True)
        return
    console.print(f"[bold green]Created product {result['id']}[/] ({profile} profile)")
    console.print(f"  API key : {created.api_key}")
    if created.secret is not None:
        console.print(f"  secret  : {created.secret_value}  (kid {created.secret.kid})")
        console.print(
            "[yellow]Both are shown once: store them in your backend's secret store now.[/yellow]"
        )
    else:
        console.print(
            "[yellow]The API key is shown once: store it now.[/yellow] This profile "
            f"verifies uploaded public keys: 'plaudit keys add {result['id']} public.key'."
        )


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path} is not UTF-8 text; expected {what}.",
            hint="Give the PEM (text) form of a key, or the secret as text.",
        ) from None


@products_app.command("list")
def products_list(as_json: JsonOpt = False) -> None:
    """Every product."""
    with services() as s, s.session() as session:
        rows = [service.product_settings(p) for p in service.list_products(session)]
    emit(
        rows,
        as_json=as_json,
        title="Products",
        columns=["id", "name", "profile", "published", "issuer", "audience", "created_at"],
    )


@products_app.command("show")
def products_show(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """One product's settings, keys and secrets."""
    with services() as s, s.session() as session:
        product = service.get_product(session, product_id)
        settings = service.product_settings(product)
        secrets = [hmac_secrets.secret_info(x) for x in hmac_secrets.list_secrets(session, product)]
        keys = [public_keys.key_info(k) for k in public_keys.list_keys(session, product)]
    if as_json:
        emit({**settings, "secrets": secrets, "keys": keys}, as_json=True)
        return
    emit(
        [{"setting": k, "value": v} for k, v in settings.items()],
        as_json=False,
        title=f"Product {product_id}",
    )
    emit(
        secrets,
        as_json=False,
        title="Secrets",
        columns=["kid", "algorithm", "state", "not_after", "created_at"],
    )
    emit(
        keys,
        as_json=False,
        title="Public keys",
        columns=["kid", "description", "enabled", "algorithms", "created_at"],
    )


#: The programs' settings ``products update`` sets: each nullable one also has a ``--no-...``
#: flag that clears it (null: never, or none), as the API's ``null`` does.
CLEARED_BY = {
    "points_lot_expiry_days": "--no-points-lot-expiry",
    "points_hold_days": "--no-points-hold",
    "points_expiring_notice_days": "--no-points-expiring-notice",
    "points_expire_after_days": "--no-points-expire-after",
}


def _days(help_text: str) -> Any:
    return typer.Option(help=help_text, show_default=False)


@products_app.command("update")
def products_update(
    product_id: ProductArg,
    points_lot_expiry_days: Annotated[
        int | None,
        _days(
            "Each earned lot of points expires this many days after it was earned "
            "(a rule's own lot expiry wins)."
        ),
    ] = None,
    no_points_lot_expiry: Annotated[
        bool, typer.Option("--no-points-lot-expiry", help="Lots never expire.")
    ] = False,
    points_hold_days: Annotated[
        int | None,
        _days(
            "Points earned by rules are pending (not spendable) this many days "
            "(a rule's own hold wins)."
        ),
    ] = None,
    no_points_hold: Annotated[
        bool, typer.Option("--no-points-hold", help="Earned points are available at once.")
    ] = False,
    points_expiring_notice_days: Annotated[
        int | None, _days("Send points.expiring this many days before a lot expires.")
    ] = None,
    no_points_expiring_notice: Annotated[
        bool, typer.Option("--no-points-expiring-notice", help="Send no points.expiring.")
    ] = False,
    points_expire_after_days: Annotated[
        int | None, _days("A balance with no earn for this many days expires (inactivity).")
    ] = None,
    no_points_expire_after: Annotated[
        bool, typer.Option("--no-points-expire-after", help="No inactivity expiry.")
    ] = False,
    referral_reward_hold_days: Annotated[
        int | None,
        _days("A referral reward stays pending this many days (a refund cancels it); 0: none."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the points and referral programs' product settings; options not given stay.

    The same settings, checked the same way, as PATCH /v1/products/{id}.
    """
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("points_lot_expiry_days", points_lot_expiry_days),
            ("points_hold_days", points_hold_days),
            ("points_expiring_notice_days", points_expiring_notice_days),
            ("points_expire_after_days", points_expire_after_days),
            ("referral_reward_hold_days", referral_reward_hold_days),
        )
        if value is not None
    }
    cleared = (
        no_points_lot_expiry,
        no_points_hold,
        no_points_expiring_notice,
        no_points_expire_after,
    )
    for name, clear in zip(CLEARED_BY, cleared, strict=True):
        if not clear:
            continue
        if name in changes:
            raise InvalidInput(
                f"Give --{name.replace('_', '-')} or {CLEARED_BY[name]}, not both.", field=name
            )
        changes[name] = None
    if not changes:
        raise InvalidInput("Nothing to change: give at least one option (see --help).")
    body = validated(ProductSettings, changes)
    with services() as s, s.session() as session:
        product = service.update_product(session, service.get_product(session, product_id), body)
        session.flush()
        settings = service.product_settings(product)
    if as_json:
        emit(settings, as_json=True)
        return
    emit(
        [{"setting": name, "value": settings[name]} for name in changes],
        as_json=False,
        title=f"Product {product_id} updated",
    )


@products_app.command("check-routing")
def products_check_routing(as_json: JsonOpt = False) -> None:
    """Routing values two products answer to (an id that is another's audience or issuer, a
    shared audience): tokens routed by such a claim reach neither. Exits 1 if any."""
    with services() as s, s.session() as session:
        conflicts = routing.stored_conflicts(session)
    if as_json:
        emit([c.as_dict() for c in conflicts], as_json=True)
    elif not conflicts:
        console.print("[green]No routing conflicts: every id and audience names one product.[/]")
    else:
        rows = [
            {
                "value": c.value,
                "products": [f"{p} ({u})" for p, u in zip(c.products, c.uses, strict=True)],
            }
            for c in conflicts
        ]
        emit(rows, as_json=False, title="Routing conflicts", columns=["value", "products"])
        console.print(
            "[yellow]Change the audience or issuer of all but one product (plaudit products "
            "show ID; PATCH /v1/products/ID).[/yellow]"
        )
    if conflicts:
        raise typer.Exit(1)


@keys_app.command("add")
def keys_add(
    product_id: ProductArg,
    public_key: Annotated[
        Path, typer.Argument(help="A PEM public key or a JWK file.", exists=True, dir_okay=False)
    ],
    kid: Annotated[
        str | None, typer.Option(help="Key id (defaults to the RFC 7638 thumbprint).")
    ] = None,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "",
    algorithm: Annotated[str | None, typer.Option("--alg", help="Pin one algorithm.")] = None,
    disabled: Annotated[bool, typer.Option(help="Add it disabled.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a public key to a product (the loyalty guide's "Add Key")."""
    import json  # noqa: PLC0415

    text = _read_text(public_key, "a PEM public key or a JWK")
    jwk: dict[str, Any] | None = None
    pem: str | None = text
    if text.lstrip().startswith("{"):
        try:
            jwk, pem = json.loads(text), None
        except ValueError as exc:
            raise InvalidInput(
                f"{public_key} starts like a JWK but is not valid JSON ({exc}).", field="jwk"
            ) from None
    with services() as s, s.session() as session:
        product = service.get_product(session, product_id)
        record = public_keys.add_key(
            session,
            product,
            public_key=pem,
            jwk=jwk,
            kid=kid,
            description=description,
            enabled=not disabled,
            algorithm=algorithm,
            max_keys=s.settings.max_keys_per_product,
        )
        info = public_keys.key_info(record)
    info.pop("public_key")
    emit(info, as_json=as_json, title="Key added")


@keys_app.command("list")
def keys_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """A product's public keys."""
    with services() as s, s.session() as session:
        rows = [
            public_keys.key_info(k)
            for k in public_keys.list_keys(session, service.get_product(session, product_id))
        ]
    if not as_json:
        for row in rows:
            row.pop("public_key")
    emit(rows, as_json=as_json, title="Public keys")


@keys_app.command("disable")
def keys_disable(product_id: ProductArg, kid: str, as_json: JsonOpt = False) -> None:
    """Disable a public key: tokens it signed stop verifying within seconds, everywhere."""
    _set_key(product_id, kid, enabled=False, as_json=as_json)


@keys_app.command("enable")
def keys_enable(product_id: ProductArg, kid: str, as_json: JsonOpt = False) -> None:
    """Enable a public key again."""
    _set_key(product_id, kid, enabled=True, as_json=as_json)


def _set_key(product_id: str, kid: str, *, enabled: bool, as_json: bool) -> None:
    with services() as s, s.session() as session:
        record = public_keys.update_key(
            session, service.get_product(session, product_id), kid, enabled=enabled
        )
        info = public_keys.key_info(record)
    info.pop("public_key")
    emit(info, as_json=as_json, title="Key")


@secrets_app.command("rotate")
def secrets_rotate(
    product_id: ProductArg,
    grace_seconds: Annotated[
        int, typer.Option(help="How long the previous secrets keep verifying.")
    ] = 3600,
    algorithm: Annotated[
        str | None, typer.Option("--alg", help="Pin HS256, HS384 or HS512.")
    ] = None,
    value_file: Annotated[
        Path | None,
        typer.Option(
            "--import",
            help="Import this file's secret instead of generating one.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a new secret; the old ones keep verifying for the grace period."""
    value = _read_text(value_file, "a secret").removesuffix("\n") if value_file else None
    with services() as s, s.session() as session:
        secret, plain = hmac_secrets.create_secret(
            session,
            service.get_product(session, product_id),
            box=s.box,
            value=value,
            algorithm=algorithm,
            grace_seconds=grace_seconds,
            max_keys=s.settings.max_keys_per_product,
        )
        result = {"kid": secret.kid, "value": plain, "algorithm": secret.algorithm}
    if as_json:
        emit(result, as_json=True)
        return
    console.print(f"[bold green]New secret[/] kid {secret.kid}: {plain}")
    console.print(f"Previous secrets keep verifying for {grace_seconds} seconds.")


@secrets_app.command("reencrypt")
def secrets_reencrypt(as_json: JsonOpt = False) -> None:
    """Re-encrypt every stored secret with the newest master key (the first in the list).

    Run after adding a new key in front of PLAUDIT_MASTER_KEY; afterwards the old keys can be
    dropped from the list.
    """
    with services() as s, s.session() as session:
        count = hmac_secrets.reencrypt_secrets(session, box=s.box)
    if as_json:
        emit({"reencrypted": count}, as_json=True)
        return
    console.print(
        f"Re-encrypted {count} secrets with the newest master key; older keys in "
        "PLAUDIT_MASTER_KEY may now be removed."
    )


@secrets_app.command("list")
def secrets_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """A product's secrets and their state (never their values)."""
    with services() as s, s.session() as session:
        rows = [
            hmac_secrets.secret_info(x)
            for x in hmac_secrets.list_secrets(session, service.get_product(session, product_id))
        ]
    emit(rows, as_json=as_json, title="Secrets")


@users_app.command("list")
def users_list(
    product_id: ProductArg,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option(min=0, max=users.MAX_OFFSET)] = 0,
    include_unlisted: Annotated[
        bool, typer.Option(help="Also users seen before publishing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The All Users list, newest first."""
    with services() as s, s.session() as session:
        service.get_product(session, product_id)
        found, total = users.list_users(
            session,
            product_id,
            search=search,
            limit=limit,
            offset=offset,
            include_unlisted=include_unlisted,
        )
        rows = [UserOut.model_validate(u).model_dump(mode="json") for u in found]
    if as_json:
        emit({"users": rows, "total": total, "limit": limit, "offset": offset}, as_json=True)
        return
    emit(
        rows,
        as_json=False,
        title=f"Users ({total})",
        columns=["id", "email", "first_name", "last_name", "first_seen_at", "listed"],
    )


@users_app.command("show")
def users_show(
    product_id: ProductArg,
    user_id: Annotated[str, typer.Argument(help="The user's id in your system.")],
    as_json: JsonOpt = False,
) -> None:
    """One user: their profile, points, tier, badges, streaks and referrals.

    What their widget shows them (the API's GET /v1/products/{id}/users/{user}/loyalty).
    """
    with services() as s, s.session() as session:
        product = service.get_product(session, product_id)
        user = users.get_user(session, product.id, user_id)
        profile = UserOut.model_validate(user).model_dump(mode="json")
        summary = standing.summary(
            session, product, user, now=utcnow(), public_url=s.settings.resolved_public_url
        )
    wanted = ("points", "tier", "next_tier", "badges", "streaks", "referrals")
    result = {"user": profile, **{k: summary[k] for k in wanted}}
    if as_json:
        emit(result, as_json=True)
        return
    emit(
        [{"field": k, "value": v} for k, v in profile.items()],
        as_json=False,
        title=f"User {user_id}",
    )
    emit(_standing_rows(result), as_json=False, title="Programs")
    earned = [b for b in result["badges"] if b["awarded_at"] is not None]
    emit(
        earned,
        as_json=False,
        title=f"Badges ({len(earned)} of {len(result['badges'])})",
        columns=["icon", "name", "awarded_at"],
    )
    if result["streaks"]:
        emit(result["streaks"], as_json=False, title="Streaks")


def _standing_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    points, tier, upcoming = result["points"], result["tier"], result["next_tier"]
    referrals = result["referrals"]
    rows = [
        {"program": "points", "value": f"{points['balance']} ({points['lifetime']} lifetime)"},
        {"program": "tier", "value": tier["name"] if tier else "-"},
    ]
    if upcoming is not None:
        rows.append(
            {
                "program": "next tier",
                "value": f"{upcoming['name']} at {upcoming['threshold']}: "
                f"{upcoming['points_needed']} to go ({upcoming['progress']:.0%})",
            }
        )
    rows.append(
        {
            "program": "referrals",
            "value": f"code {referrals['code']}: {referrals['clicks']} clicks, "
            f"{referrals['signups']} signups, {referrals['conversions']} conversions",
        }
    )
    return rows
