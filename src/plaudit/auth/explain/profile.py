"""The token profile: the shape the token looks like, and the user, product and scopes it names.

Each of these is judged by the profile itself (``TokenProfile.user_id_of``, ``product_of``,
``scopes_of``) and the required claims by ``require_claim``: the verifier's own rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import algorithms as algs
from ..claims import ClaimPolicy, require_claim, require_scopes
from ..encoding import quote
from ..errors import AuthError
from ..profiles import TokenProfile, guess_profile
from .claims import REGISTERED_CLAIMS
from .findings import Findings


def explain_profile(
    claims: Mapping[str, Any],
    header: Mapping[str, Any],
    out: Findings,
    *,
    profile: TokenProfile | None,
    forced: bool,
    policy: ClaimPolicy,
    scopes: tuple[str, ...] = (),
) -> str | None:
    """Findings about the profile ``profile`` (the verifier's when ``forced``); the user id."""
    guessed = guess_profile(claims)
    if guessed is None:
        out.add(
            "warning",
            "profile",
            "profile",
            "The token matches no guide's shape: it has no 'sub', no 'UserId' with "
            "'ProductId', and no 'user' object.",
        )
    else:
        out.add(
            "info",
            "profile",
            "profile",
            f"Looks like a token of the {guessed.name} profile: {guessed.title}.",
            guessed.name,
        )
    if profile is None:
        return None
    if forced and (guessed is None or guessed.name != profile.name):
        out.add(
            "warning",
            "profile",
            "profile",
            f"The product reads its tokens with the {profile.name} profile "
            f"({profile.title}); the user id is looked for in {quote(profile.user_id)}.",
            profile.name,
        )
    alg = header.get("alg")
    if isinstance(alg, str) and alg not in profile.algorithms and algs.get(alg) is not None:
        out.add(
            "info",
            "profile",
            "alg",
            f"The {profile.name} guide signs with {', '.join(profile.algorithms)}; this token "
            f"uses {alg}, which is fine if the product's key is for {alg}.",
            alg,
        )
    _required(claims, out, profile, policy)
    user_id: str | None = None
    try:
        user_id = profile.user_id_of(claims)
    except AuthError as exc:
        out.add_error("profile", "user_id", exc)
    else:
        out.add(
            "ok",
            "profile",
            "user_id",
            f"The user id is {quote(user_id, 80)} (from {quote(profile.user_id)}).",
            user_id,
        )
    try:
        product = profile.product_of(claims)
    except AuthError as exc:
        out.add_error("profile", "product", exc)
    else:
        if product is not None and profile.product_claim is not None:
            out.add(
                "info",
                "profile",
                "product",
                f"Names the product {quote(product, 80)} (from "
                f"{quote(profile.product_claim)}): it routes the token to that product's "
                "keys and grants nothing by itself.",
                product,
            )
    try:
        granted = profile.scopes_of(claims)
    except AuthError:
        pass  # reported with the claim
    else:
        out.add(
            "info",
            "profile",
            "scopes",
            "Scopes granted: " + (", ".join(sorted(granted)) if granted else "none") + ".",
            sorted(granted),
        )
        if scopes and out.judge("profile", "scopes", lambda: require_scopes(granted, scopes)):
            out.add(
                "ok",
                "profile",
                "scopes",
                f"Grants every scope the call needs ({', '.join(scopes)}).",
            )
    fields = profile.profile_of(claims)
    if fields:
        out.add(
            "info",
            "profile",
            "fields",
            "Profile fields: " + ", ".join(f"{k} {quote(v, 60)}" for k, v in fields.items()) + ".",
            fields,
        )
    return user_id


def _required(
    claims: Mapping[str, Any], out: Findings, profile: TokenProfile, policy: ClaimPolicy
) -> None:
    """The required claims the claims section does not report (registered ones, the user id)."""
    missing = False
    for path in policy.required_claims:
        reported = path in REGISTERED_CLAIMS or path == profile.user_id
        try:
            require_claim(claims, path)
        except AuthError as exc:
            missing = True
            if not reported:
                out.add_error("profile", "required", exc, path)
    if not missing and policy.required_claims:
        out.add(
            "ok",
            "profile",
            "required",
            f"Has every claim the {profile.name} profile requires "
            f"({', '.join(policy.required_claims)}).",
        )
