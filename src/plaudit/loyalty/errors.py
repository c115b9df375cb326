"""What the loyalty program refuses, each with its stable code."""

from __future__ import annotations

from plaudit.errors import Conflict


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    description = "The user's balance is lower than the points this needs."
    hint = "Earn more points first; GET /v1/me shows the balance."


class RewardOutOfStock(Conflict):
    code = "reward_out_of_stock"
    description = "The reward has no stock left."
    hint = "Choose another reward, or ask the tenant to restock it."


class RewardUnavailable(Conflict):
    code = "reward_unavailable"
    description = "The reward is switched off in the catalog."
    hint = "Choose a reward that GET /v1/rewards lists."


class RewardOutOfCodes(Conflict):
    code = "reward_out_of_codes"
    description = "The reward hands out codes and its pool has none left."
    hint = "Choose another reward, or ask the tenant to upload more codes."


class RedemptionSettled(Conflict):
    code = "redemption_settled"
    description = "The redemption is not waiting for fulfilment: it was settled otherwise."
    hint = "GET the pending fulfilments; a settled redemption keeps its first outcome."
