"""Group commit, alone: what arrives while a key's group runs is the next group, each item is
answered with its own result or error, and one key never waits for another's."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from plaudit.pipeline.group_commit import GroupCommit, Later
from tests.support.loops import run_async

T = TypeVar("T")
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Recorder:
    """Work that records each group, and holds a key's groups while that key is held."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, list[str]]] = []
        self.contexts: list[str] = []
        self.held: dict[str, asyncio.Event] = {}
        self.started = asyncio.Event()

    def hold(self, key: str) -> asyncio.Event:
        self.held[key] = asyncio.Event()
        return self.held[key]

    async def __call__(self, key: str, items: list[str]) -> list[str | BaseException]:
        self.groups.append((key, list(items)))
        self.contexts.append(REQUEST_ID.get())
        self.started.set()
        if key in self.held:
            await self.held[key].wait()
        return [ValueError(item) if item.startswith("bad") else item.upper() for item in items]


async def first_running(groups: GroupCommit[str, str, str], work: Recorder) -> asyncio.Task[str]:
    """ "a" submitted to "p" alone, once its group runs (held while ``work`` holds "p")."""
    first = asyncio.create_task(groups.submit("p", "a"))
    await work.started.wait()
    return first


def run(test: Callable[[], Awaitable[T]]) -> T:
    return run_async(asyncio.wait_for(test(), timeout=10))


async def settle() -> None:
    """Let every ready task run (submissions reach the queue)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_item_is_stored_at_once_as_a_group_of_one() -> None:
    async def test() -> None:
        work = Recorder()
        groups = GroupCommit(work, most=10)
        assert await groups.submit("p", "a") == "A"
        assert work.groups == [("p", ["a"])]

    run(test)


def test_items_that_arrive_while_a_group_runs_are_the_next_group_in_order() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10)
        first = await first_running(groups, work)
        rest = [asyncio.create_task(groups.submit("p", item)) for item in ("b", "c", "d")]
        await settle()
        assert groups.waiting("p") == 3
        release.set()
        assert await first == "A"
        assert [await task for task in rest] == ["B", "C", "D"]
        assert work.groups == [("p", ["a"]), ("p", ["b", "c", "d"])]
        assert groups.waiting("p") == 0

    run(test)


def test_an_items_error_is_raised_to_its_own_submitter_only() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10)
        first = await first_running(groups, work)
        good = asyncio.create_task(groups.submit("p", "b"))
        bad = asyncio.create_task(groups.submit("p", "bad-one"))
        await settle()
        release.set()
        await first
        assert await good == "B"
        with pytest.raises(ValueError, match="bad-one"):
            await bad

    run(test)


def test_a_group_holds_at_most_its_limit() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=2)
        first = await first_running(groups, work)
        rest = [asyncio.create_task(groups.submit("p", item)) for item in "bcde"]
        await settle()
        release.set()
        await asyncio.gather(first, *rest)
        assert [items for _, items in work.groups] == [["a"], ["b", "c"], ["d", "e"]]

    run(test)


def test_one_keys_running_group_never_holds_another_key() -> None:
    async def test() -> None:
        work = Recorder()
        work.hold("slow")  # never released
        groups = GroupCommit(work, most=10)
        slow = asyncio.create_task(groups.submit("slow", "a"))
        await work.started.wait()
        assert await groups.submit("fast", "b") == "B"
        assert not slow.done()
        slow.cancel()

    run(test)


def test_work_that_breaks_fails_its_group_and_the_next_group_still_runs() -> None:
    async def test() -> None:
        calls = 0

        async def work(key: str, items: list[str]) -> list[str | BaseException]:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("the store is down")
            return [item.upper() for item in items]

        groups = GroupCommit(work, most=10)
        with pytest.raises(RuntimeError, match="the store is down"):
            await groups.submit("p", "a")
        assert await groups.submit("p", "b") == "B"

    run(test)


def test_work_that_answers_the_wrong_number_fails_each_item() -> None:
    async def test() -> None:
        async def work(key: str, items: list[str]) -> list[str | BaseException]:
            return []

        groups = GroupCommit(work, most=10)
        with pytest.raises(RuntimeError, match="a group of 1 got 0 answers"):
            await groups.submit("p", "a")

    run(test)


def test_a_request_cancelled_before_its_group_starts_is_left_out() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10)
        first = await first_running(groups, work)
        gone = asyncio.create_task(groups.submit("p", "b"))
        kept = asyncio.create_task(groups.submit("p", "c"))
        await settle()
        gone.cancel()
        await settle()
        release.set()
        await first
        assert await kept == "C"
        assert work.groups == [("p", ["a"]), ("p", ["c"])]

    run(test)


def test_a_group_whose_every_request_was_cancelled_leaves_the_key_idle() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=1)
        first = await first_running(groups, work)
        gone = [asyncio.create_task(groups.submit("p", item)) for item in "bc"]
        await settle()
        for task in gone:
            task.cancel()
        await settle()
        release.set()
        await first
        del work.held["p"]
        assert await groups.submit("p", "d") == "D"  # not stuck behind the cancelled ones
        assert [items for _, items in work.groups] == [["a"], ["d"]]

    run(test)


def test_each_group_runs_in_its_first_requests_context() -> None:
    """Its log lines carry the request that started it, not the one that started the key's
    first group long ago."""

    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10)

        async def request(request_id: str, item: str) -> str:
            REQUEST_ID.set(request_id)
            return await groups.submit("p", item)

        first = asyncio.create_task(request("req-1", "a"))
        await work.started.wait()
        rest = [asyncio.create_task(request(f"req-{n}", item)) for n, item in ((2, "b"), (3, "c"))]
        await settle()
        release.set()
        await asyncio.gather(first, *rest)
        assert work.contexts == ["req-1", "req-2"]

    run(test)


def test_a_cancelled_group_cancels_its_requests_and_those_behind_it() -> None:
    """The loop shutting down: nobody is left waiting for an answer that will not come."""

    async def test() -> None:
        work = Recorder()
        work.hold("p")
        groups = GroupCommit(work, most=10)
        first = await first_running(groups, work)
        behind = asyncio.create_task(groups.submit("p", "b"))
        await settle()
        for task in [task for tasks in groups._running.values() for task in tasks]:
            task.cancel()
        await settle()
        assert first.cancelled()
        assert behind.cancelled()
        assert groups.waiting("p") == 0
        assert not groups._running

    run(test)


def test_a_group_holds_at_least_one_item() -> None:
    async def work(key: str, items: list[str]) -> list[str | BaseException]:
        return list(items)

    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(work, most=0)
    with pytest.raises(ValueError, match="at least one lane"):
        GroupCommit(work, most=1, lanes=0)


def test_while_its_group_is_young_the_next_items_wait_for_it_whatever_the_lanes() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10, lanes=2, patience=3600)
        first = await first_running(groups, work)
        second = asyncio.create_task(groups.submit("p", "b"))
        await settle()
        assert groups.running("p") == 1
        assert groups.waiting("p") == 1
        release.set()
        assert [await first, await second] == ["A", "B"]
        assert [items for _, items in work.groups] == [["a"], ["b"]]

    run(test)


def test_a_group_past_its_patience_lets_those_behind_it_take_another_lane_up_to_the_lanes() -> None:
    """A row lock held elsewhere stalls one group, not its product's events: past the
    patience (here at once), what waits starts another group, up to the lanes."""

    async def test() -> None:
        work = Recorder()
        stuck = work.hold("p")  # every group of "p" waits here until released
        groups = GroupCommit(work, most=10, lanes=2, patience=0)
        first = await first_running(groups, work)
        second = asyncio.create_task(groups.submit("p", "b"))
        await settle()
        assert groups.running("p") == 2  # "b" took the second lane
        third = asyncio.create_task(groups.submit("p", "c"))
        await settle()
        assert groups.running("p") == 2  # no third lane: "c" waits
        assert groups.waiting("p") == 1
        stuck.set()
        assert [await first, await second, await third] == ["A", "B", "C"]
        assert [items for _, items in work.groups] == [["a"], ["b"], ["c"]]
        assert groups.running("p") == 0

    run(test)


def test_past_the_backlog_a_submission_is_refused_at_once_and_nothing_of_it_queued() -> None:
    async def test() -> None:
        work = Recorder()
        release = work.hold("p")
        groups = GroupCommit(work, most=10, backlog=2, refuse=lambda: LookupError("backlogged"))
        first = await first_running(groups, work)
        queued = [asyncio.create_task(groups.submit("p", item)) for item in "bc"]
        await settle()
        with pytest.raises(LookupError, match="backlogged"):
            await groups.submit("p", "d")
        assert await groups.submit("q", "e") == "E"  # another key's backlog is its own
        release.set()
        await asyncio.gather(first, *queued)
        assert [items for key, items in work.groups if key == "p"] == [["a"], ["b", "c"]]

    run(test)


def test_a_failure_to_start_a_group_fails_the_waiting_items_and_frees_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No key is left with items nobody will take."""

    async def test() -> None:
        work = Recorder()
        groups = GroupCommit(work, most=10)
        real = asyncio.create_task
        monkeypatch.setattr(
            asyncio, "create_task", lambda *a, **k: (_ for _ in ()).throw(MemoryError())
        )
        with pytest.raises(MemoryError):
            await groups.submit("p", "a")
        monkeypatch.setattr(asyncio, "create_task", real)
        assert groups.waiting("p") == 0
        assert await groups.submit("p", "b") == "B"

    run(test)


def test_an_item_answered_later_waits_for_its_answer_and_never_holds_the_next_group() -> None:
    """An event waiting for a row lock held elsewhere is answered when it has it; the key's
    next groups run meanwhile."""

    async def test() -> None:
        lock = asyncio.Event()

        async def once_locked() -> str | BaseException:
            await lock.wait()
            return "B, later"

        async def work(key: str, items: list[str]) -> list[str | BaseException | Later[str]]:
            return [Later(once_locked) if item == "b" else item.upper() for item in items]

        groups = GroupCommit(work, most=10)
        late = asyncio.create_task(groups.submit("p", "b"))
        assert await groups.submit("p", "c") == "C"  # the next group ran, b still waits
        assert not late.done()
        lock.set()
        assert await late == "B, later"

    run(test)
