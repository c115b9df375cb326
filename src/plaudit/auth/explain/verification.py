"""The real verification: the product's keys, the signature, and the verifier's verdict."""

from __future__ import annotations

from typing import Any

from .. import algorithms as algs
from ..compact import ParsedToken
from ..encoding import quote
from ..errors import AuthError, InvalidSignature, MalformedToken
from ..verifier import Verifier
from .findings import Findings, time_out_of_range


def explain_verification(
    verifier: Verifier,
    parsed: ParsedToken | None,
    parse_error: AuthError | None,
    out: Findings,
    *,
    now: float,
) -> dict[str, Any]:
    """Which keys may verify, whether the signature holds, and the verifier's own answer.

    The claims were judged in their section with this verifier's policy; the answer here is the
    verifier's (a fresh one, so that a tenant's test token never warms the product's cache).
    """
    if parsed is None:
        parse_error = parse_error or MalformedToken()
        out.add(
            "error",
            "verification",
            "result",
            "Not verified: the token is refused before any key is tried.",
            error=parse_error,
        )
        return {"valid": False, **parse_error.as_dict()}
    header = parsed.header
    try:
        candidates = verifier.keys.candidates(header.alg, header.kid, now)
    except AuthError as exc:
        out.add_error("verification", "key", exc, header.kid)
    else:
        names = ", ".join(quote(k.kid) for k in candidates)
        out.add(
            "ok",
            "verification",
            "key",
            f"{len(candidates)} key{'s' if len(candidates) != 1 else ''} of the product may "
            f"verify {header.alg}: {names}.",
        )
        check = algs.ALGORITHMS[header.alg].verify
        good = next(
            (k for k in candidates if check(k.material, parsed.signing_input, parsed.signature)),
            None,
        )
        if good is None:
            out.add_error("verification", "signature", InvalidSignature())
        else:
            out.add(
                "ok",
                "verification",
                "signature",
                f"The signature holds: made with the key {quote(good.kid)}.",
            )
    fresh = Verifier(verifier.keys, policy=verifier.policy, profile=verifier.profile)
    try:
        try:
            verified = fresh.verify_parsed(parsed, now=now)
        except ArithmeticError:
            raise time_out_of_range() from None
    except AuthError as exc:
        out.add("error", "verification", "result", f"Refused: {exc.message}", error=exc)
        return {"valid": False, **exc.as_dict()}
    out.add(
        "ok",
        "verification",
        "result",
        f"Valid: the token identifies the user {quote(verified.user_id, 80)}.",
        verified.user_id,
    )
    return {"valid": True}
