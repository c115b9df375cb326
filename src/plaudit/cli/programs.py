"""``plaudit rules|tiers|rewards|badges|points|leaderboard``: the loyalty and gamification
programs from a terminal, one module per group (earning: rules and tiers; rewards; points;
gamification: badges and the leaderboard).
"""

from __future__ import annotations

import typer

from . import earning, gamification, points, rewards


def register(app: typer.Typer) -> None:
    """Add the programs' groups, and the leaderboard command, to the root app."""
    app.add_typer(earning.rules_app, name="rules")
    app.add_typer(earning.tiers_app, name="tiers")
    app.add_typer(rewards.rewards_app, name="rewards")
    app.add_typer(gamification.badges_app, name="badges")
    app.add_typer(points.points_app, name="points")
    app.command("leaderboard")(gamification.leaderboard)
