"""The limiter: counts calls per class and key, and refuses those past their rate.

Per process by default; with ``PLAUDIT_REDIS_URL`` the counts live in Redis (through the
``limits`` library), so that every process of a deployment shares them, as Envoy's global rate
limit service does. If Redis cannot be reached the limiter counts in this process instead (and
says so in the log) until it can again: a rate limit never takes the service down with it.

Refused credentials are counted only when they happen, and an address or product past its rate
is remembered here as blocked until its window ends: checking a call against it is a lookup
in this process's memory, so a token answered from memory pays no round trip to Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import limits
import structlog
from limits.aio.storage import RedisStorage

from plaudit.errors import RateLimited

from .address import ClientAddress
from .counts import LimitedCounts
from .rates import LimitClass, LocalCounters, parse_rate

log = structlog.get_logger("plaudit.limits")

#: After Redis failed, count in this process for this long before trying it again.
SHARED_RETRY_SECONDS = 5.0
#: Redis answers on the local network in well under a millisecond; past this it is down.
SHARED_TIMEOUT_SECONDS = 0.5
MAX_BLOCKED = 100_000
_SEPARATOR = "\x1f"


class SharedCounters:
    """Fixed-window counts in Redis, through the ``limits`` library's storage: one count for
    every process. A window starts at its key's first count and ends when the key expires."""

    def __init__(self, url: str) -> None:
        self._storage = RedisStorage(
            url if url.startswith("async+") else "async+" + url,
            implementation="redispy",
            key_prefix="plaudit",
            socket_timeout=SHARED_TIMEOUT_SECONDS,
            socket_connect_timeout=SHARED_TIMEOUT_SECONDS,
        )

    async def hit(
        self, key: str, rate: limits.RateLimitItem, cost: int
    ) -> tuple[int, float | None]:
        """The window's count after adding ``cost`` (0: just look), and (only once the rate is
        reached, as it costs a round trip) the seconds until the window ends."""
        period = rate.get_expiry()
        name = f"{key}/{rate.amount}/{period}"
        if cost:
            count = await self._storage.incr(name, period, amount=cost)
        else:  # a look, counting nothing
            count = await self._storage.get(name)
        if count < rate.amount:
            return count, None
        return count, await self._storage.get_expiry(name) - time.time()


class LimitSettings(Protocol):
    """What the limiter reads of ``plaudit.settings.Settings`` (which imports this package to
    check the rates it is given), besides one rate setting per ``LimitClass``."""

    @property
    def trusted_proxies(self) -> list[str]: ...

    @property
    def redis_url(self) -> str | None: ...


class Limiter:
    def __init__(self, settings: LimitSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.rates = {c: parse_rate(getattr(settings, c.setting)) for c in LimitClass}
        self.address = ClientAddress(settings.trusted_proxies)
        self.counts = LimitedCounts()
        self._clock = clock
        self._local = LocalCounters()
        self._shared = SharedCounters(settings.redis_url) if settings.redis_url else None
        self._shared_down_until = 0.0
        self._blocked: dict[tuple[LimitClass, str], float] = {}

    @property
    def shared(self) -> bool:
        """Whether counts are shared between processes (a Redis is configured)."""
        return self._shared is not None

    async def hit(
        self, kind: LimitClass, *key: str, product_id: str | None = None, cost: int = 1
    ) -> None:
        """Count a call; raise ``kind``'s error (429, with Retry-After) past its rate."""
        rate = self.rates[kind]
        if rate is None:
            return
        count, retry_after = await self._count(kind, key, rate, cost)
        if count > rate.amount:
            raise self._refuse(kind, rate, retry_after, product_id)

    async def within(self, kind: LimitClass, *key: str) -> bool:
        """Count a call; whether it was within the rate. Never raises (for counting clicks)."""
        rate = self.rates[kind]
        if rate is None:
            return True
        count, _ = await self._count(kind, key, rate, 1)
        return count <= rate.amount

    async def failed(self, kind: LimitClass, *key: str) -> None:
        """Count a failure; once the rate is reached, ``check`` refuses the key until the
        window ends."""
        rate = self.rates[kind]
        if rate is None:
            return
        count, retry_after = await self._count(kind, key, rate, 1)
        if count >= rate.amount:
            self._block(kind, key, retry_after)

    def _block(self, kind: LimitClass, key: tuple[str, ...], retry_after: float) -> None:
        if len(self._blocked) >= MAX_BLOCKED:
            self._prune()
        self._blocked[(kind, _SEPARATOR.join(key))] = self._clock() + max(retry_after, 1.0)

    async def check_shared(
        self, kind: LimitClass, *key: str, product_id: str | None = None
    ) -> None:
        """``check``, and with Redis also the count other processes reached: before work worth
        a round trip (a token verified afresh), so that a shared limit holds exactly."""
        self.check(kind, *key, product_id=product_id)
        rate = self.rates[kind]
        if rate is None or self._shared is None:
            return
        count, retry_after = await self._count(kind, key, rate, 0)
        if count >= rate.amount:
            self._block(kind, key, retry_after)
            raise self._refuse(kind, rate, retry_after, product_id)

    @property
    def blocking(self) -> bool:
        """Whether any key is blocked: when none is (the usual case) checks cost nothing."""
        return bool(self._blocked)

    def check(self, kind: LimitClass, *key: str, product_id: str | None = None) -> None:
        """Raise ``kind``'s error if ``failed`` blocked this key and its window has not ended."""
        if not self._blocked:
            return
        until = self._blocked.get((kind, _SEPARATOR.join(key)))
        if until is None:
            return
        now = self._clock()
        if until <= now:
            self._blocked.pop((kind, _SEPARATOR.join(key)), None)
            return
        rate = self.rates[kind]
        assert rate is not None  # noqa: S101  # only a rated class blocks
        raise self._refuse(kind, rate, until - now, product_id)

    def _refuse(
        self,
        kind: LimitClass,
        rate: limits.RateLimitItem,
        retry_after: float,
        product_id: str | None,
    ) -> RateLimited:
        error = kind.refusal(rate, retry_after)
        if product_id is not None:
            self.counts.add(product_id, error.code, self._clock())
        return error

    async def _count(
        self, kind: LimitClass, key: tuple[str, ...], rate: limits.RateLimitItem, cost: int
    ) -> tuple[int, float]:
        """The window's count after this call, and the seconds until the window ends (exact
        once the rate is reached; a stand-in before, where nobody reads it)."""
        name = kind.name + _SEPARATOR + _SEPARATOR.join(key)
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                count, retry_after = await self._shared.hit(name, rate, cost)
                return count, rate.get_expiry() if retry_after is None else retry_after
            except Exception as exc:  # any failure of the store: count here meanwhile
                self._shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
                log.warning("rate_limit_store_unavailable", error_type=type(exc).__name__)
        return self._local.hit(name, rate, self._clock(), cost)

    def _prune(self) -> None:
        now = self._clock()
        for blocked, until in list(self._blocked.items()):
            if until <= now:
                del self._blocked[blocked]
        while len(self._blocked) >= MAX_BLOCKED:
            del self._blocked[next(iter(self._blocked))]
