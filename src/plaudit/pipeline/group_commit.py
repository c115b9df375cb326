"""Group commit: the single events of one product that arrive together, stored together.

A single event request costs a whole transaction (its reads, its statements, its commit),
about 100 times what the same event costs in a batch. Here the requests that arrive while
their product's transaction runs wait for it to end, and the next transaction stores all of
them as one batch; each request is answered once the commit that stores it is done.

Nothing waits on purpose: an event that finds its product idle starts its transaction at
once, as it would alone. A group forms only of requests that would have queued for the
database anyway, so the busier a product, the larger its groups and the cheaper each event.

The bulkhead: one transaction at a time per product, each of at most ``most`` events, and
the waiting requests hold no thread (they wait on the event loop), so a burst of one tenant's
events takes one worker thread, never the pool other tenants' requests need. Each group is
its own product's: one tenant's failing events never fail another's.

Framework-free: the work is any coroutine that answers each item of a group, in order, with
its result or the error its request must raise.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, NamedTuple, TypeVar

K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the item, beside K and R
R = TypeVar("R")

#: The work of a group: the key it is of, its items in arrival order; it answers each item,
#: in that order, with its result or the exception its request must raise.
Work = Callable[[K, list[I]], Awaitable[list[R | BaseException]]]


class _Waiting(NamedTuple, Generic[I, R]):
    item: I
    future: asyncio.Future[R]
    #: Its request's context: a group's work runs in its first request's (its log lines).
    context: contextvars.Context


class GroupCommit(Generic[K, I, R]):
    """Runs ``work`` for each key's waiting items, one group at a time per key."""

    def __init__(self, work: Work[K, I, R], *, most: int) -> None:
        if most < 1:
            raise ValueError("a group holds at least one item")
        self._work = work
        self._most = most
        self._waiting: dict[K, list[_Waiting[I, R]]] = {}
        #: The task storing each key's current group (kept: the loop holds only a weak
        #: reference to a task). A key is here exactly while it has a group running.
        self._running: dict[K, asyncio.Task[None]] = {}

    async def submit(self, key: K, item: I) -> R:
        """Store ``item`` with the others waiting for ``key``: its result, once stored."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(_Waiting(item, future, contextvars.copy_context()))
        if key not in self._running:
            self._next(key)
        # A request cancelled while it waits leaves its item: if its group has not started,
        # the item is dropped (it was never acknowledged); if it has, it is stored anyway.
        return await future

    def waiting(self, key: K) -> int:
        """How many items wait for ``key``'s next group (its running group not counted)."""
        return len(self._waiting.get(key, ()))

    def _next(self, key: K) -> None:
        """Start ``key``'s next group, if anything waits for it; else mark the key idle."""
        waiting = self._waiting.get(key, [])
        # A loop, not a recursion: thousands of requests cancelled behind a slow group (clients
        # gone) are many fronts of only cancelled ones, and a RecursionError here wedged the key.
        while waiting:
            group = [entry for entry in waiting[: self._most] if not entry.future.done()]
            del waiting[: self._most]
            if group:
                if not waiting:
                    self._waiting.pop(key, None)
                self._running[key] = asyncio.create_task(
                    self._store(key, group), context=group[0].context
                )
                return
        self._waiting.pop(key, None)
        self._running.pop(key, None)

    async def _store(self, key: K, group: list[_Waiting[I, R]]) -> None:
        try:
            try:
                answers = await self._work(key, [entry.item for entry in group])
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # the work itself broke: each item fails with it
                answers = [error] * len(group)
            if len(answers) != len(group):
                broken = RuntimeError(f"a group of {len(group)} got {len(answers)} answers")
                answers = [broken] * len(group)
            for entry, answer in zip(group, answers, strict=True):
                if entry.future.done():  # its request was cancelled meanwhile
                    continue
                if isinstance(answer, BaseException):
                    _fail(entry.future, answer)
                else:
                    entry.future.set_result(answer)
        except asyncio.CancelledError:
            # The loop is shutting down: this group's requests and those waiting behind it
            # are cancelled with it, never left waiting.
            for entry in [*group, *self._waiting.pop(key, [])]:
                entry.future.cancel()
            self._running.pop(key, None)
            raise
        self._next(key)


def _fail(future: asyncio.Future[R], error: BaseException) -> None:
    """Fail ``future`` with ``error``, or, for the one error no future can hold (StopIteration:
    a TypeError that ended the group's task before its other items were answered and before
    its key was freed, wedging the key for good), with a RuntimeError caused by it."""
    try:
        future.set_exception(error)
    except TypeError:
        broken = RuntimeError(f"the work answered {type(error).__name__}")
        broken.__cause__ = error
        future.set_exception(broken)
