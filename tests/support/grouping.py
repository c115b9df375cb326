"""What the tests of group commit share: waiting, from a test's thread, for what the app's
event loop does, and holding a product's groups to one lane."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from plaudit.pipeline import client_events

#: The longest any of these tests waits for one thing (never a timing assertion: a bound).
SECONDS = 10


def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, at most SECONDS."""
    deadline = time.monotonic() + SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def one_lane(client: TestClient) -> None:
    """The app's group commit with one lane: a group a test holds open holds the product's
    next events however long (with lanes, they would start another group after 0.1 s)."""
    app = client.app
    app.state.event_groups = client_events.groups(app.state.plaudit, lanes=1)  # type: ignore[attr-defined]
