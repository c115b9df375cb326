"""A pasted token run through one product's real rules and explained line by line.

What the console's "test a token" box and ``POST /v1/products/{id}/token-explanations`` show.
The core's ``explain`` judges the token with the product's own verifier (its keys, claim policy
and profile); this adds the product's rules past the core that ``ProductRuntime.check``
applies on every real call (the product the token names, revocations), so that the box says
exactly what a real call would answer. Nothing is recorded: no user is mapped, no failure logged.
"""

from __future__ import annotations

import dataclasses

from plaudit.auth.errors import AuthError
from plaudit.auth.explain import Explanation, Finding, explain

from .keystore import ProductRuntime


def explain_token(runtime: ProductRuntime, token: str, *, now: float) -> Explanation:
    explanation = explain(token, now=now, verifier=runtime.verifier)
    if not explanation.valid:
        return explanation
    # The core said valid, so this verification succeeds too; only the product's rules remain.
    verified = runtime.verifier.verify(token, now=now)
    *before, result = explanation.findings
    try:
        runtime.check(verified)
    except AuthError as exc:
        refused = (
            Finding(
                "error",
                "verification",
                "product",
                exc.message,
                code=exc.code,
                hint=exc.hint or None,
            ),
            Finding(
                "error",
                "verification",
                "result",
                f"Refused: {exc.message}",
                code=exc.code,
                hint=exc.hint or None,
            ),
        )
        return dataclasses.replace(
            explanation,
            findings=(*before, *refused),
            verification={"valid": False, **exc.as_dict()},
        )
    allowed = Finding(
        "ok",
        "verification",
        "product",
        "The product's own rules allow it: it names no other product and is not revoked.",
    )
    return dataclasses.replace(explanation, findings=(*before, allowed, result))
