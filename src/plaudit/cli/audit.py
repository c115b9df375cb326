"""``plaudit audit list``: the audit log from a terminal, as a table or JSON.

Read from the database PLAUDIT_DATABASE_URL names, with the operator's reach: every product,
or one with ``--product`` (a deleted product's entries included).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from plaudit.audit.repository import MAX_PAGE, Filters
from plaudit.audit.service import audit_page, in_utc

from .runtime import JsonOpt, console, emit, services

app = typer.Typer(help="Who changed what, and when: the audit log.", no_args_is_help=True)
COLUMNS = ["id", "at", "product_id", "actor", "via", "action", "target", "changed"]


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    actor = entry["actor"]
    return {
        "id": entry["id"],
        "at": entry["at"][:19].replace("T", " "),
        "product_id": entry["product_id"],
        "actor": actor["label"],
        "via": actor["via"]
        + (f" ({actor['console_session']})" if actor["console_session"] else ""),
        "action": entry["action"],
        "target": entry["target_id"],
        "changed": sorted(entry["changes"]),
    }


@app.command("list")
def audit_list(
    product: Annotated[str | None, typer.Option(help="One product's entries.")] = None,
    action: Annotated[
        str | None, typer.Option(help="An action (secret.create) or a target type (secret).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="operator, cli, api_key or api_key:<id>.")
    ] = None,
    target_type: Annotated[str | None, typer.Option(help="product, secret, key, user, ...")] = None,
    target_id: Annotated[str | None, typer.Option(help="The target's id.")] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(help="From this moment (UTC if no zone).")
    ] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="Before this moment.")] = None,
    limit: Annotated[int, typer.Option(help="Entries per page.", min=1, max=MAX_PAGE)] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="The next page: a cursor printed before.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The newest entries first; the cursor of the next page is printed below the table."""
    filters = in_utc(
        Filters(
            action=action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
            product_id=product,
        )
    )
    with services() as s, s.session() as session:
        page = audit_page(session, product_id=None, filters=filters, cursor=cursor, limit=limit)
    answer = page.model_dump(mode="json")
    if as_json:
        emit(answer, as_json=True)
        return
    emit([_row(e) for e in answer["entries"]], as_json=False, title="Audit log", columns=COLUMNS)
    if answer["next_cursor"]:
        console.print(f"[dim]More: --cursor {answer['next_cursor']}[/dim]")
