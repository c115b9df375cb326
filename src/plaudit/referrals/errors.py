"""What the referral program refuses, each with its stable code (docs/errors.md)."""

from __future__ import annotations

from plaudit.errors import Conflict, InvalidInput, NotFound


class SelfReferral(InvalidInput):
    code = "self_referral"
    description = "A user cannot refer themselves."
    hint = "The referred user must be someone other than the code's owner."


class AlreadyReferred(Conflict):
    code = "already_referred"
    description = "This user was referred already; a user is referred once."
    hint = "Record a conversion for the existing referral instead."


class UnknownReferralCode(NotFound):
    code = "unknown_referral_code"
    description = "No user of this product has that referral code."
    hint = "Pass the code exactly as the share link shows it, to the product it belongs to."


class NotInReview(Conflict):
    code = "referral_not_in_review"
    description = "This referral is not waiting for review: nothing flagged it, or it was decided."
    hint = (
        "List the queue with GET /v1/products/{id}/referral-reviews?status=flagged; a decision "
        "is made once."
    )


class RewardSettled(Conflict):
    code = "referral_reward_settled"
    description = "The referral's reward was granted, rejected or cancelled already."
    hint = (
        "Only a held or pending reward can be cancelled; a granted one is reversed in the ledger."
    )
