"""Single-flight with rest and backoff: concurrent misses share one piece of work; a key rests
after it (negative caching, doubling after each failure); time is a pinned clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from plaudit.outbound import Flights


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sixty_concurrent_misses_share_one_piece_of_work() -> None:
    """60 callers starting the same key while its work runs all get its one future."""
    release = threading.Event()
    runs: list[int] = []

    def work() -> bool:
        runs.append(1)
        release.wait(10)
        return True

    with ThreadPoolExecutor(max_workers=4) as executor:
        flights: Flights[str] = Flights(executor, min_interval=0)
        futures = [flights.start("acme", work) for _ in range(60)]
        release.set()
        assert all(f is futures[0] for f in futures)
        assert futures[0] is not None
        assert futures[0].result(10) is True
    assert len(runs) == 1
    assert flights.started == 1


def test_a_key_rests_after_success_and_backs_off_after_failures() -> None:
    """After a success the key rests min_interval; after failures 5 s, 10 s, 20 s ... at most
    max_backoff; a success resets the backoff."""
    clock = Clock()
    outcomes = iter([False, False, False, True])
    with ThreadPoolExecutor(max_workers=1) as executor:
        flights: Flights[str] = Flights(
            executor, min_interval=1, failure_floor=5, max_backoff=15, clock=clock
        )

        def run() -> bool:
            future = flights.start("k", lambda: next(outcomes))
            assert future is not None
            return future.result(5)

        assert run() is False
        for rest in (5, 10, 15):  # the third is capped at max_backoff
            clock.now += rest - 0.1
            assert flights.start("k", lambda: True) is None
            assert flights.resting("k")
            clock.now += 0.1
            if rest < 15:
                assert run() is False
        assert run() is True
        clock.now += 0.5
        assert flights.start("k", lambda: True) is None  # min_interval after a success
        clock.now += 0.5
        assert not flights.resting("k")


def test_work_that_raises_counts_as_a_failure() -> None:
    """An exception is the future's, and the key backs off as after any failure."""
    clock = Clock()

    def broken() -> bool:
        raise RuntimeError("database hiccup")

    with ThreadPoolExecutor(max_workers=1) as executor:
        flights: Flights[int] = Flights(executor, min_interval=0, clock=clock)
        future = flights.start(7, broken)
        assert future is not None
        assert isinstance(future.exception(5), RuntimeError)
        assert flights.resting(7)
