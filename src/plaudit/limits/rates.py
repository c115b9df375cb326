"""Rate limits: the classes of calls they count, and fixed-window counters in this process.

A class names what is counted and under which key: refused credentials per client address and
per product, calls of the anonymous open endpoint per address, browser events per user,
management calls per API key, and referral-link clicks per visitor (a click past that rate is
not counted; the redirect still works). Each has a ``PLAUDIT_RATE_LIMIT_*`` setting such as
``100/minute`` (the notation of the ``limits`` library), or ``off``.

Counting is by fixed windows (like Envoy's global rate limit service): a window of the rate's
period starts at a multiple of it, and at most the rate's amount is allowed in it. Across a
window boundary a burst of twice the amount can pass; in exchange a count is one integer per
key, in memory or in Redis.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

import limits

from plaudit.errors import (
    RateLimited,
    TooManyEvents,
    TooManyFailedVerifications,
    TooManyManagementCalls,
    TooManyRequests,
)

#: Keys the per-process counters remember at most; the oldest windows are forgotten first.
MAX_LOCAL_KEYS = 100_000


def parse_rate(text: str) -> limits.RateLimitItem | None:
    """``"100/minute"`` as a rate, or None for ``off``. ValueError says what is accepted."""
    value = text.strip().lower()
    if value in ("off", "none", ""):
        return None
    try:
        rate = limits.parse(value)
    except ValueError:
        rate = None
    if rate is None or rate.amount < 1:
        raise ValueError(
            f"{text!r} is not a rate: write N/second, N/minute, N/hour or N/day "
            "(e.g. 100/minute), or off."
        )
    return rate


@dataclass(frozen=True)
class _Class:
    setting: str
    error: type[RateLimited]
    what: str


class LimitClass(enum.Enum):
    """What is counted, the setting that rates it, and the error a refusal is."""

    FAILED_VERIFICATIONS_PER_ADDRESS = _Class(
        "rate_limit_failed_verifications_per_address",
        TooManyFailedVerifications,
        "refused credentials from this address",
    )
    FAILED_VERIFICATIONS_PER_PRODUCT = _Class(
        "rate_limit_failed_verifications_per_product",
        TooManyFailedVerifications,
        "refused tokens for this product",
    )
    OPEN_ENDPOINT_PER_ADDRESS = _Class(
        "rate_limit_open_endpoint_per_address",
        TooManyRequests,
        "open-endpoint calls from this address",
    )
    CLIENT_EVENTS_PER_USER = _Class(
        "rate_limit_client_events_per_user", TooManyEvents, "browser events of this user"
    )
    MANAGEMENT_PER_API_KEY = _Class(
        "rate_limit_management_per_api_key",
        TooManyManagementCalls,
        "calls with this API key",
    )
    REFERRAL_CLICKS_PER_VISITOR = _Class(
        "rate_limit_referral_clicks_per_visitor",
        TooManyRequests,
        "counted clicks of this link from this visitor",
    )

    @property
    def setting(self) -> str:
        return self.value.setting

    @property
    def error(self) -> type[RateLimited]:
        return self.value.error

    @property
    def env(self) -> str:
        return "PLAUDIT_" + self.value.setting.upper()

    def refusal(self, rate: limits.RateLimitItem, retry_after: float) -> RateLimited:
        """The error for a call past ``rate``, saying which limit and when to come back."""
        seconds = max(1, int(retry_after + 0.999))
        return self.error(
            f"More than {rate.amount} {self.value.what} per {_period(rate)}; retry in {seconds} s.",
            retry_after=seconds,
        )


def _period(rate: limits.RateLimitItem) -> str:
    unit = rate.GRANULARITY.name
    return unit if rate.multiples == 1 else f"{rate.multiples} {unit}s"


class LocalCounters:
    """Fixed-window counts in this process's memory, thread-safe and bounded in size.

    A key whose window moves on is re-inserted, so the dictionary's order is the order in
    which windows began: when it is full, the oldest (most likely ended) windows go first.
    """

    def __init__(self, max_keys: int = MAX_LOCAL_KEYS) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def hit(
        self, key: str, rate: limits.RateLimitItem, now: float, cost: int = 1
    ) -> tuple[int, float]:
        """Count ``cost`` calls: the window's count now, and seconds until the window ends."""
        period = rate.get_expiry()
        window = int(now // period)
        with self._lock:
            found = self._counts.get(key)
            if found is not None and found[0] == window:
                count = found[1] + cost
                self._counts[key] = (window, count)
            else:
                count = cost
                self._counts.pop(key, None)
                self._counts[key] = (window, count)
                while len(self._counts) > self._max_keys:
                    del self._counts[next(iter(self._counts))]
        return count, (window + 1) * period - now

    def __len__(self) -> int:
        return len(self._counts)
