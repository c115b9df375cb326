"""`plaudit rules|tiers|rewards|badges|points|leaderboard|events import` and `users show`: the
loyalty and gamification programs from a terminal, on the same store and through the same
schemas as the management API; every refusal one clean line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.loyalty.models import LedgerEntry
from plaudit.store.db import Database
from tests.support.service import ADMIN, Run, cli_error_line, cli_json
from tests.support.tenant import NOTHING_HELD


@pytest.fixture
def sh(cli: Run) -> Run:
    """`cli` with the command line as one string, as it is typed in a shell."""

    def run(line: str, **kwargs: Any) -> Any:
        return cli(*shlex.split(line), **kwargs)

    return run


@pytest.fixture
def acme(sh: Run) -> str:
    sh("products create Acme --id acme")
    return "acme"


def _write_jsonl(path: Path, events: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events),
        encoding="utf-8",
    )
    return path


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _balance(cli: Run, user_id: str) -> int:
    return int(cli_json(cli("users", "show", "acme", user_id, "--json"))["points"]["balance"])


def _purchases(count: int, *, user: str = "u-1", amount: int = 40) -> list[dict[str, Any]]:
    return [
        {"user_id": user, "type": "purchase", "properties": {"amount": amount}, "id": f"o-{i}"}
        for i in range(count)
    ]


# --- earning rules ------------------------------------------------------------------------


def test_rules_add_list_update_remove(cli: Run, sh: Run, client: TestClient, acme: str) -> None:
    """Rules made by the CLI are the API's rules; update changes only what it is given."""
    fixed = cli_json(
        sh("rules add acme --name Login --event-type login --points 5 --limit-per-day 1 --json")
    )
    assert fixed["points"] == 5
    assert fixed["description"] == "5 points, once a day"
    by_amount = cli_json(
        sh(
            "rules add acme --name Purchase --event-type purchase "
            "--property amount --rate 0.5 --once --disabled --json"
        )
    )
    assert (by_amount["rate"], by_amount["once"], by_amount["enabled"]) == (0.5, True, False)
    api = client.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert [r["id"] for r in api] == [fixed["id"], by_amount["id"]]
    table = sh("rules list acme").stdout
    assert fixed["id"] in table
    assert "0.5 points per amount, once" in table

    updated = cli_json(
        cli(
            "rules",
            "update",
            acme,
            fixed["id"],
            "--points",
            "7",
            "--no-limit-per-day",
            "--disable",
            "--json",
        )
    )
    assert (updated["points"], updated["limit_per_day"], updated["enabled"]) == (7, None, False)
    assert updated["name"] == "Login"
    assert "Earning rule" in cli("rules", "update", acme, by_amount["id"], "--enable").stdout

    removed = cli_json(cli("rules", "remove", acme, fixed["id"], "--yes", "--json"))
    assert removed == {"removed": fixed["id"]}
    assert [r["id"] for r in cli_json(sh("rules list acme --json"))] == [by_amount["id"]]


def test_rules_remove_asks_first(cli: Run, sh: Run, acme: str) -> None:
    """Without --yes, remove names the rule and asks; answering no keeps it."""
    rule = cli_json(sh("rules add acme --name Login --event-type login --points 5 --json"))
    declined = cli("rules", "remove", acme, rule["id"], input="n\n", exit_code=1)
    assert "'Login'" in declined.stdout
    assert len(cli_json(sh("rules list acme --json"))) == 1
    cli("rules", "remove", acme, rule["id"], input="y\n")
    assert cli_json(sh("rules list acme --json")) == []


@pytest.mark.parametrize(
    ("options", "body"),
    [
        (["--property", "amount", "--rate", "-1"], {"property": "amount", "rate": -1}),
        (["--points", "0"], {"points": 0}),
        ([], {}),
        (
            ["--points", "5", "--property", "amount", "--rate", "1"],
            {"points": 5, "property": "amount", "rate": 1},
        ),
        (["--points", "5", "--limit-per-day", "0"], {"points": 5, "limit_per_day": 0}),
    ],
)
def test_rules_add_refuses_what_the_api_refuses_with_its_message(
    cli: Run, sh: Run, client: TestClient, acme: str, options: list[str], body: dict[str, Any]
) -> None:
    """A bad rule is refused with the API's own message, exit 1, and nothing is stored."""
    result = cli(
        "rules", "add", acme, "--name", "R", "--event-type", "purchase", *options, exit_code=1
    )
    line = cli_error_line(result, "invalid_request")
    api = client.post(
        "/v1/products/acme/loyalty/rules",
        headers=ADMIN,
        json={"name": "R", "event_type": "purchase", **body},
    )
    assert api.status_code == 422
    assert f"error: {api.json()['message']} (invalid_request)" in line
    assert "hint: " in line
    assert cli_json(sh("rules list acme --json")) == []


def test_a_bad_rate_names_its_option(sh: Run, acme: str) -> None:
    """The hint of a refused value names the option that set it."""
    line = cli_error_line(
        sh("rules add acme --name R --event-type purchase --property amount --rate 0", exit_code=1),
        "invalid_request",
    )
    assert "rate: Input should be greater than 0" in line
    assert "Check --rate" in line


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["rules", "list", "ghost"], "not_found"),
        (
            ["rules", "add", "ghost", "--name", "R", "--event-type", "e", "--points", "1"],
            "not_found",
        ),
        (["rules", "update", "acme", "rule_nope", "--points", "3"], "not_found"),
        (["rules", "update", "acme", "rule_nope"], "invalid_request"),
        (["rules", "remove", "acme", "rule_nope", "--yes"], "not_found"),
        (["tiers", "list", "ghost"], "not_found"),
        (["tiers", "set", "ghost", "Gold=5"], "not_found"),
        (["rewards", "list", "ghost"], "not_found"),
        (["rewards", "update", "acme", "rwd_nope", "--cost", "5"], "not_found"),
        (["rewards", "remove", "acme", "rwd_nope", "--yes"], "not_found"),
        (["badges", "list", "ghost"], "not_found"),
        (["badges", "update", "acme", "bdg_nope", "--name", "X"], "not_found"),
        (["badges", "remove", "acme", "bdg_nope", "--yes"], "not_found"),
        (["points", "adjust", "ghost", "u-1", "5", "--reason", "x"], "not_found"),
        (["points", "adjust", "acme", "nobody", "5", "--reason", "x"], "not_found"),
        (["points", "history", "acme", "nobody"], "not_found"),
        (["users", "show", "acme", "nobody"], "not_found"),
        (["leaderboard", "ghost"], "not_found"),
        (["leaderboard", "acme", "year"], "not_found"),
        (["events", "import", "ghost", "events.jsonl"], "not_found"),
        (["events", "import", "acme", "missing.jsonl"], "os_error"),
    ],
)
def test_unknown_things_are_one_clean_line(
    cli: Run, acme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: str
) -> None:
    """An unknown product, rule, reward, badge, user, board or file: one line, exit 1."""
    monkeypatch.chdir(tmp_path)
    _write_jsonl(tmp_path / "events.jsonl", _purchases(1))
    cli_error_line(cli(*args, exit_code=1), code)


# --- tiers --------------------------------------------------------------------------------


def test_tiers_set_list_clear(sh: Run, client: TestClient, acme: str) -> None:
    """`tiers set` replaces every tier (sorted by points); `tiers clear` removes them."""
    table = sh("tiers set acme Gold=2000 Silver=500 Bronze=0").stdout
    assert table.index("Bronze") < table.index("Silver") < table.index("Gold")
    expected = [
        {"name": "Bronze", "threshold": 0},
        {"name": "Silver", "threshold": 500},
        {"name": "Gold", "threshold": 2000},
    ]
    lifetime = {"held_by": "lifetime", "window_days": None, "grace_days": 0}
    assert cli_json(sh("tiers list acme --json")) == {"tiers": expected, **lifetime}
    assert client.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()["tiers"] == expected
    assert cli_json(sh("tiers set acme Member=0 --json")) == {
        "tiers": [{"name": "Member", "threshold": 0}],
        **lifetime,
    }
    sh("tiers clear acme --yes")
    assert cli_json(sh("tiers list acme --json")) == {"tiers": [], **lifetime}
    assert "No tiers" in sh("tiers list acme").stdout


def test_tiers_set_holds_them_by_a_rolling_window(sh: Run, client: TestClient, acme: str) -> None:
    """`tiers set --held-by rolling --window-days N --grace-days G` sets how they are held, as
    the API reads it; a later `tiers set` without the options keeps it."""
    table = sh("tiers set acme Gold=2000 --held-by rolling --window-days 365 --grace-days 30")
    assert "last 365 days" in table.stdout
    rolling = {"held_by": "rolling", "window_days": 365, "grace_days": 30}
    got = client.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()
    assert {k: got[k] for k in rolling} == rolling
    assert cli_json(sh("tiers set acme Gold=3000 --json")) == {
        "tiers": [{"name": "Gold", "threshold": 3000}],
        **rolling,
    }


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (["Gold"], "'Gold' is not NAME=POINTS"),
        (["Gold=5", "--held-by", "rolling"], "Tiers held by a rolling window need its length."),
        (["Gold=5", "--held-by", "forever"], "held_by: Input should be 'lifetime' or 'rolling'"),
        (["=5"], "'=5' is not NAME=POINTS"),
        (["Gold=lots"], "tiers.0.threshold: Input should be a valid integer"),
        (["Gold=-1"], "tiers.0.threshold: Input should be greater than or equal to 0"),
        (["Gold=5", "gold=6"], "Two tiers have the same name."),
        (["Gold=5", "Silver=5"], "Two tiers start at the same number of points."),
    ],
)
def test_tiers_set_refuses_bad_tiers(
    cli: Run, sh: Run, acme: str, tiers: list[str], message: str
) -> None:
    """A malformed or conflicting tier: one line naming it, and the tiers stay as they were."""
    sh("tiers set acme Bronze=0")
    line = cli_error_line(cli("tiers", "set", acme, *tiers, exit_code=1), "invalid_request")
    assert message in line
    if "threshold" in message:
        assert f"Check the tier {tiers[0]!r}" in line
    assert cli_json(sh("tiers list acme --json"))["tiers"] == [{"name": "Bronze", "threshold": 0}]


# --- rewards ------------------------------------------------------------------------------


def test_rewards_add_list_update_restock_remove(
    cli: Run, sh: Run, client: TestClient, acme: str
) -> None:
    """The catalog from a terminal: cost, stock, description, on and off, restock, remove."""
    voucher = cli_json(
        sh("rewards add acme --name Voucher --cost 100 --stock 2 --description '5 off' --json")
    )
    assert (voucher["cost"], voucher["stock"], voucher["enabled"]) == (100, 2, True)
    mug = cli_json(sh("rewards add acme --name Mug --cost 50 --json"))
    assert mug["stock"] is None
    table = sh("rewards list acme").stdout
    assert "unlimited" in table
    assert table.index("Mug") < table.index("Voucher")  # cheapest first

    changed = cli_json(
        cli(
            "rewards",
            "update",
            acme,
            voucher["id"],
            "--cost",
            "120",
            "--description",
            "Ten off",
            "--restock",
            "3",
            "--disable",
            "--json",
        )
    )
    assert changed == {
        **voucher,
        "cost": 120,
        "description": "Ten off",
        "stock": 5,
        "enabled": False,
    }
    api = client.get("/v1/products/acme/rewards", headers=ADMIN).json()
    assert {r["id"]: r["stock"] for r in api} == {mug["id"]: None, voucher["id"]: 5}
    assert (
        cli_json(
            cli("rewards", "update", acme, voucher["id"], "--stock", "9", "--enable", "--json")
        )["stock"]
        == 9
    )
    assert (
        cli_json(cli("rewards", "update", acme, voucher["id"], "--unlimited", "--json"))["stock"]
        is None
    )
    assert "Removed the reward" in cli("rewards", "remove", acme, mug["id"], "-y").stdout
    assert [r["id"] for r in cli_json(sh("rewards list acme --json"))] == [voucher["id"]]


@pytest.mark.parametrize(
    ("options", "message", "code"),
    [
        (["--restock", "1"], "has no stock limit", "invalid_request"),
        (["--restock", "0"], "Restock by one or more.", "invalid_request"),
        (
            ["--stock", "3", "--unlimited"],
            "Give one of --stock, --unlimited and --restock.",
            "invalid_request",
        ),
        (["--cost", "0"], "cost: Input should be greater than or equal to 1", "invalid_request"),
        (["--name", ""], "name: String should have at least 1 character", "invalid_request"),
        ([], "Nothing to change", "invalid_request"),
    ],
)
def test_rewards_update_refusals(
    cli: Run, sh: Run, acme: str, options: list[str], message: str, code: str
) -> None:
    """A restock of an unlimited reward, conflicting stock options, bad values: one line."""
    mug = cli_json(sh("rewards add acme --name Mug --cost 50 --json"))
    line = cli_error_line(cli("rewards", "update", acme, mug["id"], *options, exit_code=1), code)
    assert message in line
    assert cli_json(sh("rewards list acme --json")) == [mug]


def test_restock_beyond_the_limit_is_refused_with_the_schema_message(
    cli: Run, sh: Run, acme: str
) -> None:
    """Restocking goes through RewardUpdate: past 1,000,000,000 it is the API's message."""
    reward = cli_json(sh("rewards add acme --name Pin --cost 5 --stock 999999999 --json"))
    line = cli_error_line(
        cli("rewards", "update", acme, reward["id"], "--restock", "2", exit_code=1),
        "invalid_request",
    )
    assert "stock: Input should be less than or equal to 1000000000" in line


# --- badges -------------------------------------------------------------------------------


def test_badges_add_each_kind_list_update_remove(
    cli: Run, sh: Run, client: TestClient, acme: str
) -> None:
    """Each kind of rule from its flags; update renames and switches; remove takes it away."""
    shopper = cli_json(
        sh("badges add acme --name Shopper --event-type purchase --count 3 --icon S --json")
    )
    assert shopper["criteria"] == {"kind": "event_count", "event_type": "purchase", "count": 3}
    big = cli_json(sh("badges add acme --name Big --points 1000 --json"))
    assert big["criteria"] == {"kind": "points_total", "points": 1000}
    streak = cli_json(
        sh(
            "badges add acme --name Regular --event-type login --streak 7 "
            "--description 'A week' --disabled --json"
        )
    )
    assert streak["criteria"] == {"kind": "streak", "event_type": "login", "days": 7}
    assert streak["enabled"] is False
    table = sh("badges list acme").stdout
    for words in ("purchase 3 times", "1000 lifetime points", "login 7 days in a row"):
        assert words in table
    api = client.get("/v1/products/acme/badges", headers=ADMIN).json()
    assert [b["id"] for b in api] == [shopper["id"], big["id"], streak["id"]]

    renamed = cli_json(
        cli("badges", "update", acme, streak["id"], "--name", "Week streak", "--enable", "--json")
    )
    assert renamed == {**streak, "name": "Week streak", "enabled": True}
    cli("badges", "remove", acme, big["id"], "--yes")
    assert [b["id"] for b in cli_json(sh("badges list acme --json"))] == [
        shopper["id"],
        streak["id"],
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "Give one rule"),
        (["--points", "5", "--streak", "3", "--event-type", "login"], "Give one rule"),
        (["--count", "3"], "criteria.event_count.event_type: Field required"),
        (
            ["--event-type", "login", "--streak", "0"],
            "criteria.streak.days: Input should be greater than or equal to 1",
        ),
        (["--points", "5", "--event-type", "login"], "criteria.points_total.event_type: Unknown"),
    ],
)
def test_badges_add_refusals(
    cli: Run, sh: Run, acme: str, options: list[str], message: str
) -> None:
    """No rule, two rules, a missing event type, a bad number: one line, nothing stored."""
    line = cli_error_line(
        cli("badges", "add", acme, "--name", "B", *options, exit_code=1), "invalid_request"
    )
    assert message in line
    assert cli_json(sh("badges list acme --json")) == []


# --- events import ------------------------------------------------------------------------


def test_events_import_earns_and_summarises(
    cli: Run, sh: Run, acme: str, tmp_path: Path, db: Database
) -> None:
    """Events are ingested in batches as the API ingests them: points, badges, new users."""
    sh("rules add acme --name Purchase --event-type purchase --property amount --rate 0.5")
    sh("badges add acme --name Shopper --event-type purchase --count 3")
    events: list[dict[str, Any] | str] = [*_purchases(4), ""]  # a blank line is passed over
    events += [{"user_id": "u-2", "type": "purchase", "properties": {"amount": 10}, "id": "x"}]
    path = _write_jsonl(tmp_path / "events.jsonl", events)
    summary = cli_json(cli("events", "import", acme, str(path), "--batch-size", "2", "--json"))
    assert summary == {
        "file": str(path),
        "product": "acme",
        "stored": True,
        "events": 5,
        "accepted": 5,
        "duplicates": 0,
        "points_earned": 4 * 20 + 5,
        "badges_awarded": 1,
        "batches": 3,
        "without_id": 0,
    }
    assert _count(db, Event) == 5
    assert _balance(cli, "u-1") == 80
    assert _balance(cli, "u-2") == 5
    with db.session() as session:
        sources = set(session.scalars(select(Event.source)))
    assert sources == {"import"}


def test_a_second_import_counts_duplicates_and_earns_nothing_twice(
    cli: Run, sh: Run, acme: str, tmp_path: Path, db: Database
) -> None:
    """Re-running an import (after a crash, say) stores and earns nothing again."""
    sh("rules add acme --name Purchase --event-type purchase --points 10")
    path = _write_jsonl(tmp_path / "events.jsonl", _purchases(5))
    first = cli("events", "import", acme, str(path)).stdout
    assert "accepted" in first
    assert "50" in first
    entries = _count(db, LedgerEntry)
    again = cli_json(cli("events", "import", acme, str(path), "--json"))
    assert (again["accepted"], again["duplicates"], again["points_earned"]) == (0, 5, 0)
    assert _count(db, Event) == 5
    assert _count(db, LedgerEntry) == entries
    assert _balance(cli, "u-1") == 50
    # A file that stopped half-way the first time: only the rest is new.
    longer = _write_jsonl(tmp_path / "longer.jsonl", _purchases(8))
    rest = cli_json(cli("events", "import", acme, str(longer), "--json"))
    assert (rest["accepted"], rest["duplicates"], rest["points_earned"]) == (3, 5, 30)


def test_events_without_ids_are_counted_and_warned_about(
    cli: Run, acme: str, tmp_path: Path
) -> None:
    """An event with no id cannot be recognised on a re-run: the summary says so."""
    path = _write_jsonl(tmp_path / "events.jsonl", [{"user_id": "u-1", "type": "login"}])
    result = cli("events", "import", acme, str(path))
    assert "1 event has no id" in result.stdout
    assert cli_json(cli("events", "import", acme, str(path), "--json"))["without_id"] == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"user_id": "u-1", "type": "bad type"}, "Line 3: type: String should match pattern"),
        ({"user_id": "u-1"}, "Line 3: type: Field required"),
        ({"user_id": "", "type": "login"}, "Line 3: user_id: String should have at least 1"),
        ({"user_id": "u-1", "type": "login", "when": 5}, "Line 3: when: Unknown field."),
        (
            {"user_id": "u-1", "type": "login", "properties": [1]},
            "Line 3: properties: Input should be an object",
        ),
        (
            {"user_id": "u\x00", "type": "login"},
            "Line 3: user_id: must not hold control characters",
        ),
        ("not json", "Line 3: Invalid JSON"),
        ("[1, 2]", "Line 3: Input should be an object"),
    ],
)
def test_a_bad_line_stops_the_import_with_its_number_and_stores_nothing(
    cli: Run, acme: str, tmp_path: Path, db: Database, bad: dict[str, Any] | str, message: str
) -> None:
    """Every line is checked first: a bad one is one line naming it, and nothing is stored,
    not even the good lines before it."""
    path = _write_jsonl(tmp_path / "events.jsonl", [*_purchases(2), bad, *_purchases(1)])
    line = cli_error_line(
        cli("events", "import", acme, str(path), "--batch-size", "1", exit_code=1),
        "invalid_request",
    )
    assert message in line
    assert "hint: Each line is one JSON object" in line
    assert _count(db, Event) == 0


def test_a_line_that_is_not_utf8_is_refused_by_number(
    cli: Run, acme: str, tmp_path: Path, db: Database
) -> None:
    """Bytes that are not UTF-8 are a bad line like any other."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(json.dumps(_purchases(1)[0]).encode() + b"\n\xff\xfe\n")
    line = cli_error_line(cli("events", "import", acme, str(path), exit_code=1), "invalid_request")
    assert "Line 2: not UTF-8 text" in line
    assert _count(db, Event) == 0


def test_events_import_check_stores_nothing(
    cli: Run, acme: str, tmp_path: Path, db: Database
) -> None:
    """--check validates the whole file and stores nothing."""
    path = _write_jsonl(tmp_path / "events.jsonl", _purchases(3))
    assert "3 valid events" in cli("events", "import", acme, str(path), "--check").stdout
    assert (
        cli_json(cli("events", "import", acme, str(path), "--check", "--json"))["stored"] is False
    )
    assert _count(db, Event) == 0


# --- points, users show, leaderboards -----------------------------------------------------


def test_points_adjust_and_history(
    cli: Run, sh: Run, client: TestClient, acme: str, tmp_path: Path
) -> None:
    """Adjust adds or takes points with a reason (a negative amount as it is typed); the
    history shows every entry, newest first, page by page."""
    cli(
        "events",
        "import",
        acme,
        str(_write_jsonl(tmp_path / "e.jsonl", [{"user_id": "u-1", "type": "signup"}])),
    )
    added = cli_json(sh("points adjust acme u-1 100 --reason Welcome --json"))
    assert added["balance"] == 100
    assert (added["entry"]["kind"], added["entry"]["delta"]) == ("adjust", 100)
    text = sh("points adjust acme u-1 -30 --reason Refund").stdout
    assert "-30 points" in text
    assert "balance 70" in text
    sh("points adjust acme u-1 5 --reason Bonus")

    page = cli_json(sh("points history acme u-1 --limit 2 --json"))
    assert [e["delta"] for e in page["entries"]] == [5, -30]
    older = cli_json(
        cli("points", "history", acme, "u-1", "--before", str(page["next_before"]), "--json")
    )
    # The same entry, with what is left of its points now (30 were spent since).
    assert older == {"entries": [{**added["entry"], "remaining": 70}], "next_before": None}
    api = client.get("/v1/products/acme/users/u-1/history", headers=ADMIN).json()
    assert [e["id"] for e in api["entries"]] == [e["id"] for e in page["entries"]] + [
        added["entry"]["id"]
    ]
    table = sh("points history acme u-1 --limit 2").stdout
    assert "Refund" in table
    assert "+5" in table
    assert f"--before {page['next_before']}" in table


def test_taking_more_points_than_the_balance_is_insufficient_points(
    cli: Run, sh: Run, acme: str, tmp_path: Path
) -> None:
    """A negative adjustment beyond the balance is refused whole; a zero one is refused too."""
    cli(
        "events",
        "import",
        acme,
        str(_write_jsonl(tmp_path / "e.jsonl", [{"user_id": "u-1", "type": "signup"}])),
    )
    sh("points adjust acme u-1 40 --reason Welcome")
    line = cli_error_line(
        sh("points adjust acme u-1 -50 --reason Refund", exit_code=1),
        "insufficient_points",
    )
    assert "the balance is 40, 10 short" in line
    assert "plaudit users show acme u-1" in line
    assert _balance(cli, "u-1") == 40
    line = cli_error_line(sh("points adjust acme u-1 0 --reason x", exit_code=1), "invalid_request")
    assert "an adjustment of 0 points changes nothing" in line
    line = cli_error_line(
        sh("points adjust acme u-1 5 --reason ''", exit_code=1), "invalid_request"
    )
    assert "Check --reason" in line


def test_users_show_has_points_tier_and_badges(
    cli: Run, sh: Run, client: TestClient, acme: str, tmp_path: Path
) -> None:
    """`users show` is the user's profile plus their standing in every program."""
    sh("tiers set acme Silver=50 Gold=200")
    sh("rules add acme --name Purchase --event-type purchase --points 30")
    badge = cli_json(sh("badges add acme --name Shopper --event-type purchase --count 2 --json"))
    sh("badges add acme --name Big --points 1000")
    cli("events", "import", acme, str(_write_jsonl(tmp_path / "e.jsonl", _purchases(2))))
    shown = cli_json(sh("users show acme u-1 --json"))
    assert shown["user"]["id"] == "u-1"
    assert shown["points"] == {"balance": 60, "lifetime": 60, **NOTHING_HELD}
    assert shown["tier"] == {"name": "Silver", "threshold": 50}
    assert shown["next_tier"]["name"] == "Gold"
    assert shown["next_tier"]["points_needed"] == 140
    earned = {b["id"]: b["awarded_at"] for b in shown["badges"]}
    assert earned[badge["id"]] is not None
    assert list(earned.values()).count(None) == 1  # "Big" is not earned yet
    assert shown["streaks"][0]["event_type"] == "purchase"
    assert shown["referrals"]["link"].startswith("http://plaudit.test/r/")
    api = client.get("/v1/products/acme/users/u-1/loyalty", headers=ADMIN).json()
    assert (api["points"], api["tier"]) == (shown["points"], shown["tier"])
    table = sh("users show acme u-1").stdout
    for words in (
        "60 (60 lifetime)",
        "Silver",
        "Gold at 200: 140 to go (7%)",
        "Shopper",
        "Badges (1 of 2)",
    ):
        assert words in table


def test_leaderboard_ranks_with_refresh(cli: Run, sh: Run, acme: str, tmp_path: Path) -> None:
    """Without a server nothing is ranked yet; --refresh ranks now; user ids are shown."""
    sh("rules add acme --name Purchase --event-type purchase --property amount --rate 1")
    events = [
        *_purchases(1, user="u-1", amount=10),
        {"user_id": "u-2", "type": "purchase", "properties": {"amount": 30}, "id": "b"},
        {"user_id": "u-3", "type": "purchase", "properties": {"amount": 20}, "id": "c"},
    ]
    cli("events", "import", acme, str(_write_jsonl(tmp_path / "e.jsonl", events)))
    assert "not ranked yet" in cli("leaderboard", acme).stdout
    board = cli_json(sh("leaderboard acme --refresh --limit 2 --json"))
    assert board["name"] == "all-time"
    assert board["as_of"] is not None
    assert [(e["rank"], e["user_id"], e["points"]) for e in board["entries"]] == [
        (1, "u-2", 30),
        (2, "u-3", 20),
    ]
    week = sh("leaderboard acme week --refresh").stdout
    assert "Leaderboard week (week:" in week
    assert week.index("u-2") < week.index("u-3") < week.index("u-1")
    # Read without --refresh: the last ranking, all of it within --limit.
    again = cli_json(sh("leaderboard acme --json"))
    assert [e["user_id"] for e in again["entries"]] == ["u-2", "u-3", "u-1"]
