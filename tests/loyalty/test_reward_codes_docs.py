"""docs/loyalty.md's "Reward codes" requests, run as written: each `curl` of the section goes to
the service in order, and the answers the section prints are the ones it gets."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import Clock
from tests.support.tenant import Tenant

DOC = Path(__file__).resolve().parents[2] / "docs" / "loyalty.md"
REWARD, REDEEMED, PENDING = "rwd_5b0c1d2e3f405162", "red_0a1b2c3d4e5f6071", "red_9f8e7d6c5b4a3928"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Reward codes") : text.index("## Badges")]


def _curls(section: str) -> list[list[str]]:
    """Every curl command of the section's sh blocks, continuation lines joined, as argv."""
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    joined = [re.sub(r"\\\n\s*", " ", block) for block in blocks]
    return [
        shlex.split(line)
        for block in joined
        for line in block.splitlines()
        if line.startswith("curl")
    ]


def _json_blocks(section: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


def _codes_csv() -> bytes:
    """A file that answers as the section shows: 4,998 codes, one twice, line 17 empty."""
    codes = ["GIFT-7Q2K-91XZ"] + [f"GIFT-{n:06d}" for n in range(4997)]
    lines = ["code", *codes[:15], ",gift", *codes[15:], codes[3]]
    return ("\n".join(lines) + "\n").encode()


def test_the_reward_codes_requests_answer_as_documented(
    client: TestClient, clock: Clock, db: Database, settings: Settings
) -> None:
    """Create the code reward, upload, redeem, list pending, fulfil, then fail (refused)."""
    acme = Tenant(client, factories.product(db, settings, id="acme"), clock)
    acme.send("user_123", "hello")
    acme.admin("POST", "/users/user_123/points", 201, json={"amount": 1250, "reason": "Start"})
    variables = {
        "$PLAUDIT": "",
        "$APIKEY": acme.product["api_key"],
        "$USER_TOKEN": acme.token("user_123", scope="read write"),
    }
    ids: dict[str, str] = {}
    section = _section()
    documented = _json_blocks(section)
    answers: list[tuple[int, Any]] = []
    for argv in _curls(section):
        if any("/redemptions" in arg for arg in argv) and PENDING not in ids:
            hoodie = acme.admin(
                "POST",
                "/rewards",
                201,
                json={"name": "Hoodie", "cost": 300, "fulfilment": "tenant"},
            )
            acme.admin("POST", "/users/user_123/points", 201, json={"amount": 300, "reason": "x"})
            redeemed = acme.user_call("POST", f"/v1/rewards/{hoodie['id']}/redeem", "user_123")
            ids[PENDING] = redeemed.json()["redemption"]["id"]
        args = [_substitute(arg, variables, ids) for arg in argv[1:]]
        method, url, headers, body = _request(args)
        response = client.request(method, url, headers=headers, content=body)
        answers.append((response.status_code, response.json()))
        if url == "/v1/products/acme/rewards" and method == "POST":
            ids[REWARD] = response.json()["id"]
    statuses = [status for status, _ in answers]
    assert statuses == [201, 200, 201, 200, 200, 409], answers
    created, uploaded, redeemed_answer, pending, fulfilled, refused = (a for _, a in answers)
    assert (created["fulfilment"], created["low_codes_at"], created["codes_remaining"]) == (
        "code",
        20,
        0,
    )
    assert uploaded == documented[0]
    shown = documented[1]
    assert redeemed_answer["balance"] == shown["balance"]
    assert redeemed_answer["redemption"].keys() == shown["redemption"].keys()
    assert {
        k: v for k, v in redeemed_answer["redemption"].items() if k not in ("id", "created_at")
    } == {
        k: v
        for k, v in shown["redemption"].items()
        if k not in ("id", "created_at") and k != "reward_id"
    } | {"reward_id": ids[REWARD]}
    assert [(p["user_id"], p["reward_name"], p["cost"], p["status"]) for p in pending] == [
        ("user_123", "Hoodie", 300, "pending_fulfilment")
    ]
    assert (fulfilled["status"], fulfilled["code"]) == ("fulfilled", "TRACK-123")
    assert refused["error"] == "redemption_settled"


def _substitute(arg: str, variables: dict[str, str], ids: dict[str, str]) -> str:
    for name, value in {**variables, **ids}.items():
        arg = arg.replace(name, value)
    return arg


def _request(args: list[str]) -> tuple[str, str, dict[str, str], bytes | None]:
    method, url, headers, body = "", "", {}, None
    words = iter(args)
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            headers[name] = value
        elif word == "-d":
            body = next(words).encode()
        elif word == "--data-binary":
            assert next(words) == "@codes.csv"
            body = _codes_csv()
        else:
            url = word
    return method or ("POST" if body is not None else "GET"), url, headers, body
