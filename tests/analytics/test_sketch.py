"""Distinct active users over a period come from daily HyperLogLog sketches: exact for a
handful of users, within a few percent for more, and a merge of days counts a user once."""

from __future__ import annotations

import pytest

from plaudit.analytics import sketch


def test_a_few_users_are_counted_exactly_and_hundreds_closely() -> None:
    """A handful of users: the estimate is the count; 300: within 3%."""
    for n in (0, 1, 3, 20):
        assert sketch.estimate(sketch.from_users(range(1, n + 1))) == n
    assert abs(sketch.estimate(sketch.from_users(range(1, 301))) - 300) < 9


@pytest.mark.parametrize("first", [1, 5_000_000])
def test_many_users_are_estimated_within_three_percent(first: int) -> None:
    """100,000 users with consecutive row ids (what a busy day's new users look like): within
    3% (the standard error is 1.6%); the hash does not let consecutive ids cluster."""
    estimate = sketch.estimate(sketch.from_users(range(first, first + 100_000)))
    assert abs(estimate - 100_000) < 3_000, estimate


def test_merged_days_count_a_returning_user_once() -> None:
    """Three days of the same 1,000 users merge to about 1,000, not 3,000."""
    day = sketch.from_users(range(1, 1_001))
    merged = sketch.merge([day, day, sketch.from_users(range(500, 1_001))])
    assert abs(sketch.estimate(merged) - 1_000) < 30
    assert sketch.estimate(sketch.merge([])) == 0
