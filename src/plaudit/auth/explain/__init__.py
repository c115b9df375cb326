"""Explain a token in plain English, without trusting it: for ``plaudit token inspect`` and the
admin console's "test a token" box.

``explain(token, now=...)`` decodes with the strict parser; when that refuses the token, it still
shows what a lenient decoder can read and says precisely what is wrong. Every header field and
registered claim gets a finding (a status, the field it concerns and one sentence), then the
token profile it looks like and its user id, and, given a ``Verifier``, the outcome of the real
verification. The result is plain data with a ``to_dict()`` for JSON.

Nothing is judged here a second time: each claim's verdict is the claim policy's own validator
(``ClaimPolicy.validate_<claim>``), the user id's is the profile's, so an error finding carries
the very code, message and hint the verifier answers with. One module per section:

``token``         well formed or not, read leniently when not (``plaudit.auth.lenient``), the
                  signature's size
``header``        alg, typ, kid, and the parameters Plaudit ignores or refuses
``claims``        exp, iat, nbf, iss, aud, sub, jti, scope, custom claims
``profile``       the profile the token looks like, its user, product, scopes, required claims
``verification``  the product's keys, the signature, and the verifier's answer
"""

from __future__ import annotations

from ..claims import ClaimPolicy, utc_date
from ..compact import TokenParser
from ..profiles import TokenProfile, guess_profile
from ..verifier import Verifier
from .claims import REGISTERED_CLAIMS, explain_claims
from .findings import Explanation, Finding, Findings, Section, Status, time_out_of_range
from .header import explain_header
from .profile import explain_profile
from .token import read_token
from .verification import explain_verification
from .words import describe_delta, describe_duration


def explain(
    token: str, *, now: float, verifier: Verifier | None = None, scopes: tuple[str, ...] = ()
) -> Explanation:
    """Explain ``token`` as of ``now`` (Unix seconds); with ``verifier``, verify it too.

    ``scopes`` are those a call needs: whether the token grants them is judged as well. Never
    raises for any token text: every problem becomes a finding.
    """
    out = Findings()
    parser = verifier.parser if verifier is not None else TokenParser()
    parsed, parse_error, header, claims = read_token(
        token, parser, out, verifying=verifier is not None
    )
    profile: TokenProfile | None = None
    if verifier is not None:
        profile, policy = verifier.profile, verifier.policy
    else:
        profile = guess_profile(claims) if claims is not None else None
        policy = ClaimPolicy(required_claims=profile.required_claims if profile else ())
    if header is not None:
        explain_header(header, out, policy)
    user_id: str | None = None
    if claims is not None:
        explain_claims(claims, out, now=now, policy=policy, profile=profile)
        user_id = explain_profile(
            claims,
            header or {},
            out,
            profile=profile,
            forced=verifier is not None,
            policy=policy,
            scopes=scopes,
        )
    verification = (
        explain_verification(verifier, parsed, parse_error, out, now=now)
        if verifier is not None
        else None
    )
    return Explanation(
        well_formed=parsed is not None,
        header=header,
        claims=claims,
        findings=tuple(out.items),
        profile=profile.name if profile is not None and claims is not None else None,
        user_id=user_id,
        error=parse_error.as_dict() if parse_error is not None else None,
        verification=verification,
    )


__all__ = [
    "REGISTERED_CLAIMS",
    "Explanation",
    "Finding",
    "Section",
    "Status",
    "describe_delta",
    "describe_duration",
    "explain",
    "time_out_of_range",
    "utc_date",
]
