"""Python's garbage collector, tuned for a serving process once its app is built.

Every full collection walks every container object the process holds, and a built app holds
hundreds of thousands that live as long as it does (modules, SQLAlchemy's mappers, FastAPI's
routes and Pydantic's validators). A batch of 1,000 events allocates enough to set off a few
full collections a second, and walking that heap each time cost about a third of the server's
CPU per batched event (55 of 168 µs on SQLite, ``bench/events.py``'s batch of 1,000). Freezing
what exists once the app is built moves it out of the collector's sight for good, and a larger
young generation lets a request's short-lived objects die by reference count before a
collection looks at them: 2 µs a batched event after. Reference cycles made while serving are
still collected; only the frozen startup heap is never revisited, and it is never garbage.
"""

from __future__ import annotations

import gc

#: Allocations of container objects between two young collections (Python's default: 700).
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Collect what building the app left behind, then freeze the rest and widen the young
    generation. For a serving process only: frozen objects are never collected, so a process
    that builds many apps (the tests) must not call it."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
