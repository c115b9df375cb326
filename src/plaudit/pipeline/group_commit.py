"""Group commit: the single events of one product that arrive together, stored together.

A single event request costs a whole transaction (its reads, its statements, its commit),
about 100 times what the same event costs in a batch. Here the requests that arrive while
their product's transaction runs wait for it to end, and the next transaction stores all of
them as one batch; each request is answered once the commit that stores it is done.

Nothing waits on purpose: an event that finds its product idle starts its transaction at
once, as it would alone. A group forms only of requests that would have queued for the
database anyway, so the busier a product, the larger its groups and the cheaper each event.

The bulkhead. Each group is one product's: one tenant's slow or failing events never hold
or fail another's. The waiting requests hold no thread (they wait on the event loop), and a
product runs one group at a time, of at most ``most`` events, so a burst of one tenant's
events takes one worker thread, never the pool the other tenants' requests need. Only a group
that runs longer than ``patience`` (a slow disk, a lock) lets the events behind it start
another group, up to ``lanes`` at once per product: a stalled product holds at most that many
threads. At most ``backlog`` events wait per product; beyond that a request is refused at once
(``refuse``) rather than queued without bound.

Framework-free: the work is any coroutine that answers each item of a group, in order, with
its result or the error its request must raise.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the item, beside K and R
R = TypeVar("R")


@dataclass(frozen=True)
class Later(Generic[R]):
    """An answer not ready with its group's (an event waiting for a row lock held elsewhere):
    what gives it. Its item waits for it; the key's next groups do not."""

    answer: Callable[[], Awaitable[R | BaseException]]


#: The work of a group: the key it is of, its items in arrival order; it answers each item,
#: in that order, with its result, the exception its request must raise, or ``Later``.
Work = Callable[[K, list[I]], Awaitable[list[R | BaseException | Later[R]]]]


class _Waiting(NamedTuple, Generic[I, R]):
    item: I
    future: asyncio.Future[R]
    #: Its request's context: a group's work runs in its first request's (its log lines).
    context: contextvars.Context


class GroupCommit(Generic[K, I, R]):
    """Runs ``work`` for each key's waiting items, in groups (see the module's docstring)."""

    def __init__(
        self,
        work: Work[K, I, R],
        *,
        most: int,
        lanes: int = 1,
        patience: float = 0.1,
        backlog: int | None = None,
        refuse: Callable[[], Exception] | None = None,
    ) -> None:
        if most < 1 or lanes < 1:
            raise ValueError("a group holds at least one item, and a key has at least one lane")
        self._work = work
        self._most = most
        self._lanes = lanes
        self._patience = patience
        self._backlog = backlog
        self._refuse = refuse or (lambda: RuntimeError("too many items wait"))
        self._waiting: dict[K, deque[_Waiting[I, R]]] = {}
        #: Each key's running groups and when each started (kept: the loop holds only a weak
        #: reference to a task). A key is here exactly while it has a group running.
        self._running: dict[K, dict[asyncio.Task[None], float]] = {}
        #: The tasks giving ``Later`` answers (kept, as above), and how many each key has:
        #: they count against its backlog as the waiting items do.
        self._later: set[asyncio.Task[None]] = set()
        self._later_of: dict[K, int] = {}

    async def submit(self, key: K, item: I) -> R:
        """Store ``item`` with the others waiting for ``key``: its result, once stored."""
        waiting = self._waiting.get(key)
        if (
            self._backlog is not None
            and len(waiting or ()) + self._later_of.get(key, 0) >= self._backlog
        ):
            raise self._refuse()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if waiting is None:
            waiting = self._waiting[key] = deque()
        waiting.append(_Waiting(item, future, contextvars.copy_context()))
        self._start(key)
        # A request cancelled while it waits leaves its item: if its group has not started,
        # the item is dropped (it was never acknowledged); if it has, it is stored anyway.
        return await future

    def waiting(self, key: K) -> int:
        """How many items wait for ``key``'s next group (its running groups not counted)."""
        return len(self._waiting.get(key, ()))

    def running(self, key: K) -> int:
        """How many groups of ``key`` run now."""
        return len(self._running.get(key, ()))

    def _start(self, key: K) -> None:
        """Start ``key``'s next group if one is due: none runs, or every running one has run
        past its patience and a lane is free. Never raises: a failure to start fails the
        waiting items, so that no key is left with items nobody will take."""
        try:
            self._start_due(key)
        except Exception as error:  # never expected; a key must not be left stuck
            for entry in self._waiting.pop(key, ()):
                if not entry.future.done():
                    _fail(entry.future, error)

    def _start_due(self, key: K) -> None:
        loop = asyncio.get_running_loop()
        running = self._running.get(key, {})
        now = loop.time()
        if running and (
            len(running) >= self._lanes
            # (a timer may fire a hair before its time: a millisecond's grace)
            or any(now - started < self._patience - 0.001 for started in running.values())
        ):
            return
        group: list[_Waiting[I, R]] = []
        waiting = self._waiting.get(key)
        while waiting and len(group) < self._most:
            entry = waiting.popleft()
            if not entry.future.done():  # its request was cancelled while it waited
                group.append(entry)
        if not waiting:
            self._waiting.pop(key, None)
        if not group:
            return
        store = self._store(key, group)
        try:
            task = asyncio.create_task(store, context=group[0].context)
        except Exception as error:
            store.close()
            for entry in group:
                _fail(entry.future, error)
            raise
        self._running.setdefault(key, {})[task] = now
        if self._lanes > 1:  # if it is still running by then, what waits may take a lane
            loop.call_later(self._patience, self._start, key)

    async def _store(self, key: K, group: list[_Waiting[I, R]]) -> None:
        cancelled = False
        try:
            try:
                answers = await self._work(key, [entry.item for entry in group])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the work itself broke: each item fails with it
                answers = [error, *(twin(error) for _ in group[1:])]
            if len(answers) != len(group):
                broken = RuntimeError(f"a group of {len(group)} got {len(answers)} answers")
                answers = [broken] * len(group)
            for entry, answer in zip(group, answers, strict=True):
                if entry.future.done():  # its request was cancelled meanwhile
                    continue
                if isinstance(answer, Later):
                    self._answer_later(key, entry, answer)
                elif isinstance(answer, BaseException):
                    _fail(entry.future, answer)
                else:
                    entry.future.set_result(answer)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            running = self._running.get(key, {})
            running.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            if not running:
                self._running.pop(key, None)
            if cancelled:
                # The loop is shutting down: this group's requests, and those waiting that no
                # other group will take, are cancelled with it, never left waiting.
                for entry in [*group, *(() if running else self._waiting.pop(key, ()))]:
                    entry.future.cancel()
            else:
                self._start(key)

    def _answer_later(self, key: K, entry: _Waiting[I, R], later: Later[R]) -> None:
        async def answer() -> None:
            try:
                try:
                    result = await later.answer()
                except Exception as error:
                    result = error
                if entry.future.done():
                    return
                if isinstance(result, BaseException):
                    _fail(entry.future, result)
                else:
                    entry.future.set_result(result)
            finally:
                left = self._later_of.pop(key, 1) - 1
                if left:
                    self._later_of[key] = left

        self._later_of[key] = self._later_of.get(key, 0) + 1
        task = asyncio.create_task(answer(), context=entry.context)
        self._later.add(task)
        task.add_done_callback(self._later.discard)


def _fail(future: asyncio.Future[R], error: BaseException) -> None:
    """Fail ``future`` with ``error``, or, for the one error no future can hold (StopIteration:
    a TypeError that ended the group's task before its other items were answered and before
    its key was freed, wedging the key for good), with a RuntimeError caused by it (found by
    the attack on this change)."""
    try:
        future.set_exception(error)
    except TypeError:
        broken = RuntimeError(f"the work answered {type(error).__name__}")
        broken.__cause__ = error
        future.set_exception(broken)


def twin(error: Exception) -> Exception:
    """A copy of ``error`` for another request, so that the requests that raise it at once do
    not write their tracebacks into one object; its cause kept for the logs."""
    twin = copy.copy(error)
    twin.__cause__ = error.__cause__
    return twin
