"""A serving process tunes Python's garbage collector once its app is built: what it built is
frozen out of the collector's sight, and the young generation is widened (docs/operations.md)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from plaudit import app as app_module
from plaudit.operations import collector
from plaudit.settings import Settings


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settling_the_heap_freezes_what_exists_and_widens_the_young_generation() -> None:
    survivor = [object() for _ in range(100)]
    collector.settle_heap()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD
    assert gc.isenabled()  # cycles made while serving are still collected


@pytest.mark.usefixtures("restored_collector")
def test_cycles_made_after_the_freeze_are_still_collected_by_the_collector_itself() -> None:
    """Without any explicit ``gc.collect()``: the allocations of serving set collections off."""
    collector.settle_heap()

    class Node:
        other: object

    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.finalize(first, lambda: None)
    del first, second
    assert gone.alive  # a cycle: reference counts alone never free it
    churn = [[] for _ in range(3 * collector.YOUNG_THRESHOLD)]  # containers, kept alive
    del churn
    assert not gone.alive


def test_the_served_app_settles_the_heap_and_an_app_built_in_process_does_not(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """A process that builds many apps (the tests) would freeze each one's heap for good."""
    settled: list[bool] = []
    monkeypatch.setattr(collector, "settle_heap", lambda: settled.append(True))
    app_module.create_app(settings)
    assert settled == []
    monkeypatch.setattr(app_module, "create_app", lambda _settings: object())
    monkeypatch.setattr(app_module, "Settings", object)
    monkeypatch.setattr(app_module.logs, "configure", lambda _settings: None)
    app_module.app_from_environment()
    assert settled == [True]
