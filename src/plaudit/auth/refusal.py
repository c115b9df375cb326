"""What a refusal says: the product a token was checked against, how it got there, the key
tried, and the one most likely fix, with where to test the token.

The verifier's errors say what is wrong with a token; ``checked_refusal`` adds what it was
checked against. The client API, the console's test box and ``plaudit token verify --product``
all call it with the same ``Checked``, so one token gets one answer everywhere.

What it may say is bounded (docs/security.md, "What a refusal reveals"): the checked product's
own id, route, key ids, algorithms and claim rules, and what the token itself holds. It is
given nothing of any other product, so it can say nothing of one: a token naming another
product gets the same answer whether that product exists or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .claims import ClaimPolicy
from .encoding import quote
from .errors import (
    AlgorithmNotAllowed,
    AuthError,
    InvalidSignature,
    KeyDisabled,
    KidRequired,
    MissingToken,
    UnknownKey,
    WrongProduct,
)
from .profiles import PROFILES, TokenProfile

#: The header a request names its product with when neither its path nor the token's claims do.
PRODUCT_HEADER = "X-Plaudit-Product"
#: How a request reached a product besides a claim: the header, or the path.
HEADER = "header"
PATH = "path"
#: Claims that may name a product when no header or path does, in the order they are read: the
#: profiles' product claims (the referral widget guide's ProductId), then the gamification
#: guide's aud (the application id).
ROUTING_CLAIMS = tuple(
    dict.fromkeys([p.product_claim for p in PROFILES.values() if p.product_claim] + ["aud"])
)

#: Refusals made before any claim is trusted: the token's key is not one of this product's. A
#: token whose claims name another product is most likely that product's.
_KEY_REFUSALS = (AlgorithmNotAllowed, UnknownKey, KidRequired, KeyDisabled, InvalidSignature)


@dataclass(frozen=True, slots=True)
class Checked:
    """The product a token was judged by and how the request reached it."""

    product_id: str
    #: ``HEADER``, ``PATH``, or the name of the claim that routed the token (``aud``...).
    route: str
    profile: TokenProfile
    policy: ClaimPolicy
    #: The product's console test box, linked from every 401 (None: no link to give).
    test_box: str | None = None
    #: The id of the product's one key, and the one algorithm its keys verify, when there is
    #: one: the CLI then judges with the very key (``--kid``) and pin (``--alg``).
    only_kid: str | None = None
    only_alg: str | None = None

    @property
    def by_claim(self) -> bool:
        return self.route not in (HEADER, PATH)

    def route_phrase(self) -> str:
        if self.route == HEADER:
            return f"named by the {PRODUCT_HEADER} header"
        if self.route == PATH:
            return "named in the request's path"
        return f"routed by the token's {quote(self.route)} claim"

    def cli_command(self) -> str:
        """The ``plaudit token verify`` line that judges a token as this product does."""
        options = [f"--product {self.product_id}", f"--profile {self.profile.name}"]
        if self.only_kid is not None:
            options.append(f"--kid {_shell(self.only_kid)}")
        if self.only_alg is not None:
            options.append(f"--alg {self.only_alg}")
        policy = self.policy
        if policy.issuer is not None:
            options.append(f"--issuer {_shell(policy.issuer)}")
        if policy.audience is not None:
            options.append(f"--audience {_shell(policy.audience)}")
        if policy.max_age is not None:
            options.append(f"--max-age {_number(policy.max_age)}")
        if policy.leeway:
            options.append(f"--leeway {_number(policy.leeway)}")
        return f'plaudit token verify "$TOKEN" --key "$KEY_FILE" {" ".join(options)}'


def claim_route(
    claims: Mapping[str, Any] | None, product_id: str, audience: str | None
) -> str | None:
    """The routing claim whose value names this product (its id or audience), if one does: how
    a token sent without a header reaches it."""
    for name, value in _routing_values(claims):
        if value == product_id or (audience is not None and value == audience):
            return name
    return None


def other_product(
    claims: Mapping[str, Any] | None, product_id: str, audience: str | None
) -> tuple[str, str] | None:
    """(claim, value) when the token's routing claims name something and none of it is this
    product: the token says it is another's. Read from the token alone."""
    values = _routing_values(claims)
    if not values or claim_route(claims, product_id, audience) is not None:
        return None
    return values[0]


def check_product_claim(
    profile: TokenProfile, claims: Mapping[str, Any], product_id: str, key_id: str
) -> None:
    """A verified token whose product claim (``ProductId``) names another product is refused
    (``key_id``: the key that verified it, named in the refusal)."""
    named = profile.product_of(claims)
    if named is not None and named != product_id:
        refused = WrongProduct(
            f"The token's {quote(profile.product_claim or '')} names the product {quote(named)}, "
            f"though this product's key signed it.",
            hint=f"Sign it with {quote(product_id)} in {quote(profile.product_claim or '')}, or "
            "send it to the product it names.",
            claim=profile.product_claim,
        )
        refused.keys_tried = (key_id,)
        raise refused


def checked_refusal(
    error: AuthError, checked: Checked, claims: Mapping[str, Any] | None
) -> AuthError:
    """``error`` as the caller should read it: what was checked, and the likeliest fix.

    ``claims`` are the token's, unverified (None when it could not be read): they are only
    quoted back. A 403 (a scope) and a missing token are returned as they are.
    """
    if error.status != 401 or isinstance(error, MissingToken):
        return error
    audience = checked.policy.audience
    named = other_product(claims, checked.product_id, audience)
    refined: AuthError
    if named is not None and not checked.by_claim and isinstance(error, _KEY_REFUSALS):
        claim, value = named
        refined = WrongProduct(
            f"The token's {quote(claim)} names {quote(value)}, not this product; "
            f"{_lower_first(error.message)}",
            hint=f"Send the token to the product it names ({PRODUCT_HEADER}: {_word(value)}, or no "
            f"header: its {quote(claim)} routes it), or sign it for {quote(checked.product_id)} "
            "with this product's key and id.",
            claim=claim,
        )
        refined.keys_tried = error.keys_tried
    else:
        refined = type(error)(error.message, hint=_fix(error, checked), claim=error.claim)
        refined.keys_tried = error.keys_tried
    refined.message = (
        f"{refined.message} Checked against product {quote(checked.product_id)} "
        f"({checked.route_phrase()}){_keys(refined)}."
    )
    refined.hint = f"{refined.hint} {_test_it(checked)}"  # type: ignore[misc]
    return refined


def _fix(error: AuthError, checked: Checked) -> str:
    """The one most likely fix, given how the token reached the product."""
    product = quote(checked.product_id)
    if checked.by_claim and isinstance(error, _KEY_REFUSALS):
        claim = quote(checked.route)
        if isinstance(error, InvalidSignature):
            return (
                f"Sign with the current secret or key of {product}, the product its {claim} "
                f"names; if the token was signed for another product, put that product's id "
                f"in {claim}."
            )
        return (
            f"If the token was signed for another product, its {claim} names the wrong one: "
            f"put that product's id there. Otherwise {_lower_first(error.hint)}"
        )
    if isinstance(error, InvalidSignature):
        return (
            f"Sign with the current secret of {product} (or the private half of one of its "
            "keys); a token signed for another product goes to that product."
        )
    return error.hint


def _keys(error: AuthError) -> str:
    tried = error.keys_tried
    if not tried:
        return ""
    if len(tried) == 1:
        return f", with the key {quote(tried[0])}"
    return ", with the keys " + ", ".join(quote(k) for k in tried)


def _test_it(checked: Checked) -> str:
    where = f"{checked.test_box} or " if checked.test_box else ""
    return f"Test the token: {where}`{checked.cli_command()}`."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _routing_values(claims: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not claims:
        return []
    found: list[tuple[str, str]] = []
    for name in ROUTING_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value:
            found.append((name, value))
        elif isinstance(value, list):
            found += [(name, v) for v in value[:10] if isinstance(v, str) and v]
    return found


def _word(value: str) -> str:
    """A value from the token, shown bare when it is a plain short word, else quoted."""
    if len(value) <= 64 and all(c.isalnum() or c in "-_.:/@" for c in value):
        return value
    return quote(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _shell(value: str) -> str:
    """A value as one shell word: single-quoted unless it is plainly safe."""
    if value and all(c.isalnum() or c in "-_.:/@" for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"
