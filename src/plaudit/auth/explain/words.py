"""Times and durations in words, as a person would say them."""

from __future__ import annotations


def describe_duration(seconds: float) -> str:
    """A duration in words: "45 seconds", "1 minute", "2 hours", "3 days", "12 years"."""
    s = abs(seconds)
    if s < 120:
        n, unit = round(s), "second"
    elif s < 7200:
        n, unit = round(s / 60), "minute"
    elif s < 172_800:
        n, unit = round(s / 3600), "hour"
    elif s < 730 * 86_400:
        n, unit = round(s / 86_400), "day"
    else:
        n, unit = round(s / 31_557_600), "year"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def describe_delta(delta: float) -> str:
    """``delta`` seconds from now in words: "in 2 hours", "3 days ago", "just now"."""
    if abs(delta) < 1:
        return "just now"
    return f"in {describe_duration(delta)}" if delta > 0 else f"{describe_duration(delta)} ago"
