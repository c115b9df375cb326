"""`plaudit products update`, the rules' own lot expiry and hold, `plaudit events reverse` and
`plaudit rewards redemptions|fulfil`: issue 14's settings and actions from a terminal, through
the same schemas and services as the management API; every refusal one clean line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.audit.models import AuditEntry
from plaudit.store.db import Database
from tests.support.service import ADMIN, Clock, Run, cli_error_line, cli_json, create_product
from tests.support.tenant import Tenant


@pytest.fixture
def sh(cli: Run) -> Run:
    def run(line: str, **kwargs: Any) -> Any:
        return cli(*shlex.split(line), **kwargs)

    return run


@pytest.fixture
def acme(client: TestClient, clock: Clock) -> Tenant:
    return Tenant(client, create_product(client, id="acme"), clock)


def _actions(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        found = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        session.expunge_all()
        return list(found)


# --- product settings ---------------------------------------------------------------------


def test_products_update_sets_and_clears_the_points_settings_as_the_api_reads_them(
    sh: Run, client: TestClient, acme: Tenant, db: Database
) -> None:
    """Lot expiry, hold, expiring notice and a referral hold set from the terminal are the
    API's settings; a --no-... flag clears one to null; the change is audited as the CLI's."""
    table = sh(
        "products update acme --points-lot-expiry-days 365 --points-hold-days 14 "
        "--points-expiring-notice-days 7 --referral-reward-hold-days 30"
    ).stdout
    assert "points_hold_days" in table
    assert "14" in table
    api = client.get("/v1/products/acme", headers=ADMIN).json()
    wanted = ("points_lot_expiry_days", "points_hold_days", "points_expiring_notice_days")
    assert [api[k] for k in wanted] == [365, 14, 7]
    assert api["referral_reward_hold_days"] == 30
    cleared = cli_json(sh("products update acme --no-points-hold --no-points-lot-expiry --json"))
    assert [cleared[k] for k in wanted] == [None, None, 7]
    (entry, *_) = _actions(db, "product.update")
    assert entry.actor_kind == "cli"


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ("--points-hold-days 0", "--points-hold-days"),
        ("--points-lot-expiry-days 4000", "--points-lot-expiry-days"),
        ("--points-hold-days 3 --no-points-hold", "--no-points-hold"),
        ("", "--help"),
    ],
)
def test_products_update_refuses_what_the_api_refuses(
    sh: Run, client: TestClient, acme: Tenant, line: str, option: str
) -> None:
    """Out of range, both a value and its --no- flag, or nothing at all: one line naming the
    option, exit 1, nothing changed."""
    refused = sh(f"products update acme {line}", exit_code=1)
    assert option in cli_error_line(refused, "invalid_request")
    assert client.get("/v1/products/acme", headers=ADMIN).json()["points_hold_days"] is None


# --- earning rules' own lot expiry and hold ------------------------------------------------


def test_a_rule_has_its_own_lot_expiry_and_hold_and_can_go_back_to_the_products(
    sh: Run, client: TestClient, acme: Tenant
) -> None:
    """--lot-expiry-days 0 (never) and --hold-days 3 are stored as the API's; the table says
    them in words; --product-lot-expiry and --product-hold return them to null."""
    rule = cli_json(
        sh(
            "rules add acme --name Review --event-type review --points 20 "
            "--lot-expiry-days 0 --hold-days 3 --json"
        )
    )
    assert (rule["lot_expiry_days"], rule["hold_days"]) == (0, 3)
    table = sh("rules list acme").stdout
    assert "never" in table
    assert "3 days" in table
    (api,) = client.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert (api["lot_expiry_days"], api["hold_days"]) == (0, 3)
    changed = cli_json(sh(f"rules update acme {rule['id']} --lot-expiry-days 90 --json"))
    assert (changed["lot_expiry_days"], changed["hold_days"]) == (90, 3)
    back = cli_json(
        sh(f"rules update acme {rule['id']} --product-lot-expiry --product-hold --json")
    )
    assert (back["lot_expiry_days"], back["hold_days"]) == (None, None)
    assert "product's" in sh("rules list acme").stdout
    both = sh(f"rules update acme {rule['id']} --hold-days 2 --product-hold", exit_code=1)
    assert "--product-hold" in cli_error_line(both, "invalid_request")
    too_long = sh(f"rules update acme {rule['id']} --hold-days 400", exit_code=1)
    assert "--hold-days" in cli_error_line(too_long, "invalid_request")


# --- reversal -----------------------------------------------------------------------------


def _import(sh: Run, tmp_path: Path, events: list[dict[str, Any]]) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    sh(f"events import acme {path}")


def test_events_reverse_takes_back_an_orders_points_once_and_is_audited(
    sh: Run, acme: Tenant, tmp_path: Path, db: Database
) -> None:
    """A partial refund, then the rest, by the tenant's own event id: the balance follows,
    the same call again takes nothing, each reversal is one audit entry as the CLI."""
    sh("rules add acme --name Purchase --event-type purchase --points 100 --server-only")
    _import(
        sh,
        tmp_path,
        [{"user_id": "ann", "type": "purchase", "id": f"order-{n}"} for n in (1, 2)],
    )
    partial = cli_json(sh("events reverse acme order-1 --points 40 --reason Refund --json"))
    assert (partial["user_id"], partial["reversed"], partial["balance"]) == ("ann", 40, 160)
    assert [e["kind"] for e in partial["entries"]] == ["reverse"]
    assert partial["entries"][0]["reason"] == "Refund"
    table = sh("events reverse acme order-1").stdout
    assert "Reversal of order-1" in table
    assert "Entries written" in table
    again = sh("events reverse acme order-1").stdout
    assert "Nothing more to take back" in again
    assert cli_json(sh("users show acme ann --json"))["points"]["balance"] == 100
    assert len(_actions(db, "reversal.create")) == 2


def test_events_reverse_refusals_are_one_line(sh: Run, acme: Tenant) -> None:
    """An unknown event is not_found; a zero --points is the schema's refusal naming it."""
    cli_error_line(sh("events reverse acme order-9", exit_code=1), "not_found")
    zero = sh("events reverse acme order-9 --points 0", exit_code=1)
    assert "--points" in cli_error_line(zero, "invalid_request")


# --- tenant fulfilment --------------------------------------------------------------------


def _pending(acme: Tenant, sub: str) -> dict[str, Any]:
    """A redemption of a reward the tenant fulfils, by ``sub`` with 1,000 points."""
    acme.send(sub, "hello")
    acme.admin("POST", f"/users/{sub}/points", 201, json={"amount": 1000, "reason": "Start"})
    reward = acme.admin(
        "POST", "/rewards", 201, json={"name": "Hoodie", "cost": 300, "fulfilment": "tenant"}
    )
    answer = acme.user_call("POST", f"/v1/rewards/{reward['id']}/redeem", sub)
    assert answer.status_code == 201, answer.text
    redemption: dict[str, Any] = answer.json()["redemption"]
    return redemption


def test_redemptions_are_listed_and_fulfilled_or_failed_once(
    sh: Run, acme: Tenant, db: Database
) -> None:
    """Listed while waiting; fulfilled with a code the user sees; a failed one refunds its
    points; the other outcome afterwards is redemption_settled; each settling is audited."""
    first, second = _pending(acme, "ann"), _pending(acme, "bob")
    listed = cli_json(sh("rewards redemptions acme --json"))
    assert sorted((r["id"], r["user_id"]) for r in listed) == sorted(
        [(first["id"], "ann"), (second["id"], "bob")]
    )  # both redeemed at the test clock's one moment: their order is by id
    assert first["id"] in sh("rewards redemptions acme").stdout
    done = cli_json(
        sh(f"rewards fulfil acme {first['id']} --outcome fulfilled --code GIFT-42 --json")
    )
    assert (done["status"], done["code"]) == ("fulfilled", "GIFT-42")
    assert acme.history("ann")["entries"][0]["reward_code"] == "GIFT-42"
    said = sh(f"rewards fulfil acme {second['id']} --outcome failed --reason 'Out of stock'")
    assert "300 points refunded to bob" in said.stdout
    assert acme.balance("bob") == 1000
    assert cli_json(sh("rewards redemptions acme --json")) == []
    failed = cli_json(sh("rewards redemptions acme --status failed --json"))
    assert [(r["id"], r["failure_reason"]) for r in failed] == [(second["id"], "Out of stock")]
    settled = sh(f"rewards fulfil acme {first['id']} --outcome failed", exit_code=1)
    cli_error_line(settled, "redemption_settled")
    entries = _actions(db, "redemption.settle")
    assert sorted(e.target_id for e in entries) == sorted([first["id"], second["id"]])


def test_fulfil_refusals_are_one_line(sh: Run, acme: Tenant) -> None:
    """An unknown outcome or status, a code on a failure, an unknown redemption."""
    redemption = _pending(acme, "ann")
    bad = sh(f"rewards fulfil acme {redemption['id']} --outcome lost", exit_code=1)
    assert "--outcome" in cli_error_line(bad, "invalid_request")
    mixed = sh(f"rewards fulfil acme {redemption['id']} --outcome failed --code X", exit_code=1)
    cli_error_line(mixed, "invalid_request")
    cli_error_line(sh("rewards fulfil acme red_nope --outcome failed", exit_code=1), "not_found")
    status = sh("rewards redemptions acme --status lost", exit_code=1)
    assert "--status" in cli_error_line(status, "invalid_request")
    assert cli_json(sh("rewards redemptions acme --json"))[0]["status"] == "pending_fulfilment"
