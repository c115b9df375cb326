"""The Programs tab's rewards: a reward's fulfilment is chosen in its form, and a code reward's
row shows the codes left and takes a CSV upload, counted as the API counts it."""

from __future__ import annotations

from .conftest import ADMIN, ConsoleClient, create_product, text_of

BASE = "/console/products/acme/programs"


def test_a_code_reward_is_added_and_its_codes_uploaded_from_the_rewards_row(
    console: ConsoleClient,
) -> None:
    """Fulfilment 'code' with an alert mark; the upload's counts come back as a notice, never
    a code; the row then shows the codes left."""
    create_product(console.http, id="acme")
    form = {"name": "Gift card", "cost": "100", "fulfilment": "code", "low_codes_at": "5"}
    assert console.post(BASE + "/rewards", {**form, "enabled": "true"}).status_code == 303
    (reward,) = console.http.get("/v1/products/acme/rewards", headers=ADMIN).json()
    assert (reward["fulfilment"], reward["low_codes_at"], reward["codes_remaining"]) == (
        "code",
        5,
        0,
    )
    csv = b"code\nGIFT-1\nGIFT-2\nGIFT-1\n,\n\x01bad\n"
    answer = console.post(
        BASE + "/rewards/codes", {"id": reward["id"]}, files={"codes": ("c.csv", csv, "text/csv")}
    )
    assert answer.status_code == 303, answer.text
    page = console.get(answer.headers["location"])
    shown = text_of(page)
    assert "Codes uploaded: 2 added, 1 duplicates skipped, 1 lines refused" in shown
    assert "GIFT-1" not in page.text
    assert "2 left" in shown
    assert "(alert at 5)" in shown


def test_codes_for_a_reward_without_a_pool_are_refused_on_the_page(
    console: ConsoleClient,
) -> None:
    """An instant reward's upload re-renders the tab with the API's message; nothing stored."""
    create_product(console.http, id="acme")
    assert console.post(BASE + "/rewards", {"name": "Mug", "cost": "5"}).status_code == 303
    (reward,) = console.http.get("/v1/products/acme/rewards", headers=ADMIN).json()
    refused = console.post(
        BASE + "/rewards/codes",
        {"id": reward["id"]},
        files={"codes": ("c.csv", b"A\n", "text/csv")},
    )
    assert refused.status_code == 422
    assert "not from codes" in text_of(refused)
