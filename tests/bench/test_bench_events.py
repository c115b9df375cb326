"""bench/events.py's requests: what each kind sends, checked without a server."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _events_module() -> ModuleType:
    sys.path.append(str(BENCH))  # its benchkit, as the script finds it
    try:
        spec = importlib.util.spec_from_file_location("bench_events", BENCH / "events.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_batch_new_names_users_never_named_before_in_every_round() -> None:
    """Each round's ``load`` indexes a connection's calls from 0 again: batch-new's second
    round still names only users no request named before, so that it measures first sights."""
    events = _events_module()
    calls = events.calls("batch-new", 0, "secret", "key", 0)
    named: list[str] = []
    for _round in range(2):
        for index in range(2):
            body = calls[index].body
            assert body is not None
            named += [event["user_id"] for event in json.loads(body)["events"]]
    assert len(named) == 4 * events.BATCH["batch-new"]
    assert len(set(named)) == len(named)
