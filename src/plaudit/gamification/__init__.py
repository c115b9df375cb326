"""Gamification: badges awarded by rules, daily streaks and leaderboards."""
