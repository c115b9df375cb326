"""A pasted token run through one product's real rules and explained line by line.

What the console's "test a token" box and ``POST /v1/products/{id}/token-explanations`` show.
The core's ``explain`` judges the token with the product's own verifier (its keys, claim policy
and profile), step by step; the verdict is the very refusal a real call would answer
(``ProductRuntime.verify`` then ``products.refusals``), for the token sent the way its claims
route it (else with the ``X-Plaudit-Product`` header). Nothing is recorded: no user is mapped,
no failure logged, no cache warmed.
"""

from __future__ import annotations

import dataclasses

from plaudit.auth import Verifier
from plaudit.auth.errors import AuthError
from plaudit.auth.explain import Explanation, Finding, explain, time_out_of_range

from .keystore import ProductRuntime
from .refusals import assumed_route, refused, unverified_claims


def explain_token(
    runtime: ProductRuntime, token: str, *, now: float, public_url: str | None = None
) -> Explanation:
    explanation = explain(token, now=now, verifier=runtime.verifier)
    error, by_product = _judgement(runtime, token, now)
    *before, _result = explanation.findings
    if error is None:
        allowed = Finding(
            "ok",
            "verification",
            "product",
            "The product's own rules allow it: it names no other product and is not revoked.",
        )
        return dataclasses.replace(explanation, findings=(*before, allowed, _result))
    claims = unverified_claims(token, runtime.verifier.parser)
    error = refused(
        error,
        runtime,
        route=assumed_route(runtime, claims),
        claims=claims,
        public_url=public_url,
    )
    hint = error.hint or None
    findings = [*before]
    if by_product:
        findings.append(
            Finding("error", "verification", "product", error.message, code=error.code, hint=hint)
        )
    findings.append(
        Finding(
            "error",
            "verification",
            "result",
            f"Refused: {error.message}",
            code=error.code,
            hint=hint,
        )
    )
    return dataclasses.replace(
        explanation,
        findings=tuple(findings),
        verification={"valid": False, **error.as_dict()},
    )


def _judgement(runtime: ProductRuntime, token: str, now: float) -> tuple[AuthError | None, bool]:
    """What a real call would raise (None: accepted), and whether the product's own rules past
    the core (the product claim, revocations) raised it. A fresh verifier: no cache warmed."""
    verifier = runtime.verifier
    fresh = Verifier(
        verifier.keys, policy=verifier.policy, profile=verifier.profile, parser=verifier.parser
    )
    try:
        try:
            verified = fresh.verify(token, now=now)
        except ArithmeticError:
            raise time_out_of_range() from None
    except AuthError as exc:
        return exc, False
    try:
        runtime.check(verified)
    except AuthError as exc:
        return exc, True
    return None, False
