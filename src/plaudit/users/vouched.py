"""What a user token may write through the open endpoint: only what its signed claims say.

The browser is untrusted: a user token vouches for its signed claims and nothing else. With a
user token, the referral platform guide's open endpoint may upsert the token's own user, in the
account the token names, with profile values the token itself carries; a body that says
anything else is refused (403 ``claims_mismatch``) rather than silently believed. The tenant's
servers, with the product's API key, may write any user, as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from plaudit.auth import VerifiedToken
from plaudit.errors import Forbidden

#: The open endpoint's body fields, as the guide spells them, by profile field.
GUIDE_NAMES = {
    "account_id": "accountId",
    "email": "email",
    "first_name": "firstName",
    "last_name": "lastName",
    "locale": "locale",
    "referral_code": "referralCode",
}


class ClaimsMismatch(Forbidden):
    code = "claims_mismatch"
    description = "With a user token, the body may only repeat what the token's signed claims say."
    hint = (
        "Sign the value into the token (the user object of the referral platform guide), or "
        "make this call from your server with the product's API key."
    )


def check_vouched(verified: VerifiedToken, *, account_id: str, body: Mapping[str, str]) -> None:
    """Refuse an account or a profile value the token does not carry exactly.

    ``body`` maps profile fields (``email``, ``referral_code``...) to the values sent.
    """
    vouched = verified.profile
    token_account = vouched.get("account_id")
    if token_account is None:
        raise ClaimsMismatch(
            "The token names no account, so a user token may write none.",
            hint="Sign the user's account into the token (user.accountId), or call from your "
            "server with the product's API key.",
            field="accountId",
        )
    if token_account != account_id:
        raise ClaimsMismatch("A user token may only write its own account.", field="accountId")
    for name, value in body.items():
        if name == "account_id":
            continue  # compared with the path above; the route refuses a body that differs
        signed = vouched.get(name)
        where = GUIDE_NAMES.get(name, name)
        if signed is None:
            raise ClaimsMismatch(
                f"The body sets '{where}', which the token does not carry.", field=where
            )
        if signed != value:
            raise ClaimsMismatch(
                f"The body's '{where}' differs from the token's signed value.", field=where
            )
