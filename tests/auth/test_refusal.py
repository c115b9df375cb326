"""What a refusal says of what was checked: the product, the route, the key, the one fix."""

from __future__ import annotations

from typing import Any

import pytest

from plaudit.auth import PROFILES, AuthError, ClaimPolicy, KeySet, SigningKey, Verifier, sign
from plaudit.auth.errors import InsufficientPermissions, MissingToken, WrongProduct
from plaudit.auth.refusal import HEADER, PATH, Checked, checked_refusal, claim_route

NOW = 1_767_225_600
KEY = SigningKey.from_secret("s" * 64, "HS512", kid="sec_acme")
OTHER = SigningKey.from_secret("o" * 32, "HS256")


def _checked(route: str, **changes: Any) -> Checked:
    base: dict[str, Any] = {
        "product_id": "acme",
        "route": route,
        "profile": PROFILES["standard"],
        "policy": ClaimPolicy(max_age=86400, leeway=30),
        "test_box": "https://p.example/console/products/acme/authentication#test-heading",
    }
    return Checked(**{**base, **changes})


def _refused(token: str) -> AuthError:
    verifier = Verifier(KeySet([KEY.verification_key(kid="sec_acme")]))
    with pytest.raises(AuthError) as raised:
        verifier.verify(token, now=NOW)
    return raised.value


def _claims(aud: str, **extra: Any) -> dict[str, Any]:
    return {"sub": "u", "iss": "t", "aud": aud, "iat": NOW, "exp": NOW + 60, **extra}


def test_a_token_whose_claims_name_another_product_is_wrong_product_not_an_algorithm() -> None:
    """Sent with the header to acme, a token whose aud names bravo and whose key is not acme's
    is wrong_product: the fix is where it is sent, not the algorithm."""
    claims = _claims("bravo")
    error = checked_refusal(_refused(sign(claims, OTHER)), _checked(HEADER), claims)
    assert isinstance(error, WrongProduct)
    assert error.message.startswith("The token's 'aud' names 'bravo', not this product;")
    assert "Checked against product 'acme' (named by the X-Plaudit-Product header)" in (
        error.message
    )
    assert error.hint.startswith("Send the token to the product it names (X-Plaudit-Product: bravo")


def test_a_token_routed_by_its_claim_names_the_claim_and_blames_it_first() -> None:
    """Routed by its aud to acme and refused by acme's keys, the fix named first is the aud."""
    claims = _claims("acme")
    error = checked_refusal(_refused(sign(claims, OTHER)), _checked("aud"), claims)
    assert error.code == "algorithm_not_allowed"
    assert "Checked against product 'acme' (routed by the token's 'aud' claim)." in error.message
    assert error.hint.startswith("If the token was signed for another product, its 'aud' names")


def test_a_wrong_secret_names_the_product_and_the_keys_tried() -> None:
    """invalid_signature says which product's keys were tried, by kid."""
    claims = _claims("acme")
    wrong = SigningKey.from_secret("w" * 64, "HS512")
    token = sign(claims, wrong)
    error = checked_refusal(_refused(token), _checked(PATH), claims)
    assert error.code == "invalid_signature"
    assert error.message.endswith(
        "Checked against product 'acme' (named in the request's path), with the key 'sec_acme'."
    )
    assert error.hint.startswith("Sign with the current secret of 'acme'")


def test_every_401_hint_links_the_test_box_and_gives_the_cli_command() -> None:
    """The hint ends with where to test the token: the console box and the equivalent command."""
    claims = _claims("acme", exp=NOW - 10)
    error = checked_refusal(
        _refused(sign(claims, KEY)), _checked("aud", only_kid="sec_acme", only_alg="HS512"), claims
    )
    assert error.code == "token_expired"
    assert error.hint.endswith(
        "Test the token: https://p.example/console/products/acme/authentication#test-heading or "
        '`plaudit token verify "$TOKEN" --key "$KEY_FILE" --product acme --profile standard '
        "--kid sec_acme --alg HS512 --max-age 86400 --leeway 30`."
    )


def test_a_403_and_a_missing_token_are_left_as_they_are() -> None:
    """A scope is the call's to need, and a missing token was checked against nothing."""
    for error in (InsufficientPermissions(), MissingToken()):
        assert checked_refusal(error, _checked(HEADER), None) is error


def test_a_claim_route_is_the_claim_that_names_the_product() -> None:
    """By id or by its audience; a claim naming neither routes nothing."""
    assert claim_route({"aud": ["x", "acme"]}, "acme", None) == "aud"
    assert claim_route({"ProductId": "acme"}, "acme", None) == "ProductId"
    assert claim_route({"aud": "https://a.example"}, "acme", "https://a.example") == "aud"
    assert claim_route({"aud": "bravo"}, "acme", None) is None
    assert claim_route(None, "acme", None) is None
