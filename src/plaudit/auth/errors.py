"""Every failure the token core can report, each with a stable code.

The tree, as a reader meets it::

    AuthError
    ├── TokenError                      a presented token was refused (HTTP 401 unless noted)
    │   ├── MissingToken                missing_token
    │   ├── TokenTooLarge               token_too_large
    │   ├── MalformedToken              invalid_token
    │   ├── UnsupportedAlgorithm        unsupported_algorithm
    │   ├── AlgorithmNotAllowed         algorithm_not_allowed
    │   ├── UnsupportedCriticalHeader   unsupported_critical_header
    │   ├── InvalidTokenType            invalid_token_type
    │   ├── UnknownKey                  unknown_key
    │   ├── KidRequired                 kid_required
    │   ├── KeyDisabled                 key_disabled
    │   ├── InvalidSignature            invalid_signature
    │   ├── TokenExpired                token_expired
    │   ├── TokenNotYetValid            token_not_yet_valid
    │   ├── TokenLifetimeTooLong        token_lifetime_too_long
    │   ├── InvalidClaim                invalid_claim
    │   ├── InvalidUserId               invalid_user_id
    │   ├── MissingRequiredClaim        missing_required_claim
    │   ├── InvalidIssuer               invalid_issuer
    │   ├── InvalidAudience             invalid_audience
    │   ├── WrongProduct                wrong_product
    │   ├── TokenRevoked                token_revoked
    │   └── InsufficientPermissions     insufficient_permissions (HTTP 403)
    └── KeyError_                       a key or secret was refused at registration (HTTP 422)
        ├── InvalidKey                  invalid_key
        ├── WeakKey                     weak_key
        ├── KeyTooLarge                 key_too_large
        ├── PrivateKeyNotAllowed        private_key_not_allowed
        └── UnsupportedKey              unsupported_key

The five codes of the gamification guide (``invalid_token``, ``token_expired``,
``invalid_signature``, ``missing_required_claim``, ``insufficient_permissions``) keep exactly
the meaning that guide gives them; every other failure has a code of its own so that a tenant
debugging an integration is told precisely what to change.
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """Root of every error the token core raises."""

    code: ClassVar[str] = "auth_error"
    description: ClassVar[str] = "The request could not be authenticated."
    hint: ClassVar[str] = ""
    status: ClassVar[int] = 401
    #: The RFC 6750 ``error`` value for the ``WWW-Authenticate`` header.
    rfc6750: ClassVar[str] = "invalid_token"

    #: The kids of the keys the verifier tried, when it got that far (what a refusal names).
    keys_tried: tuple[str, ...] = ()

    def __init__(
        self, message: str | None = None, *, hint: str | None = None, claim: str | None = None
    ) -> None:
        self.message = message or self.description
        self.claim = claim
        if hint is not None:
            self.hint = hint  # type: ignore[misc]  # an instance may sharpen the class hint
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        """The JSON error body: ``{"error", "message", "hint"}``."""
        return {"error": self.code, "message": self.message, "hint": self.hint}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class TokenError(AuthError):
    """A presented token was refused."""


class MissingToken(TokenError):
    code = "missing_token"
    description = "No user token was presented."
    hint = (
        "Send the token your backend signed in 'Authorization: Bearer <token>' or in "
        "'X-Plaudit-User-Token'."
    )
    rfc6750 = "invalid_request"


class TokenTooLarge(TokenError):
    code = "token_too_large"
    description = "The token is larger than this product accepts."
    hint = "Keep only the claims Plaudit needs; a user token is normally well under 1 KiB."
    rfc6750 = "invalid_request"


class MalformedToken(TokenError):
    code = "invalid_token"
    description = "The token is malformed or cannot be parsed."
    hint = (
        "Check the token format: three base64url parts (header.payload.signature) with "
        "JSON objects inside, as any JWT library produces."
    )


class UnsupportedAlgorithm(TokenError):
    code = "unsupported_algorithm"
    description = "The token's 'alg' is not an algorithm Plaudit verifies."
    hint = (
        "Sign with one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, "
        "ES256, ES384, ES512 or EdDSA. Unsigned tokens ('none') are never accepted."
    )


class AlgorithmNotAllowed(TokenError):
    code = "algorithm_not_allowed"
    description = "No key of this product may verify a token signed with this algorithm."
    hint = (
        "Sign with the algorithm of a key registered for this product (HMAC secrets verify "
        "HS*, RSA keys RS*/PS*, EC keys the ES* of their curve, Ed25519 keys EdDSA)."
    )


class UnsupportedCriticalHeader(TokenError):
    code = "unsupported_critical_header"
    description = (
        "The token marks header parameters as critical ('crit') that Plaudit does not understand."
    )
    hint = "Remove the 'crit' header parameter; Plaudit understands no JWS extensions."


class InvalidTokenType(TokenError):
    code = "invalid_token_type"
    description = "The token's 'typ' header is not the type this product requires."
    hint = "Set the header's 'typ' to the value configured for this product (usually 'JWT')."


class UnknownKey(TokenError):
    code = "unknown_key"
    description = "No key of this product matches the token."
    hint = (
        "Check that the token's 'kid' header names a key registered for this product, "
        "or leave 'kid' out to try the enabled keys of its algorithm (a few at most)."
    )


class KidRequired(TokenError):
    code = "kid_required"
    description = (
        "The token names no key ('kid') and its product has more keys for its algorithm than "
        "a token without one is tried against."
    )
    hint = (
        "Put the signing key's id in the token's header as 'kid' (every JWT library can), or "
        "disable the keys no longer used."
    )


class KeyDisabled(TokenError):
    code = "key_disabled"
    description = "The key named by the token's 'kid' is disabled or past its grace period."
    hint = (
        "Sign with a current key, or enable the key again in the product's Authentication settings."
    )


class InvalidSignature(TokenError):
    code = "invalid_signature"
    description = "The JWT signature verification failed."
    hint = "Ensure you're signing with the product's current secret or the private half of a registered key."


class TokenExpired(TokenError):
    code = "token_expired"
    description = "The JWT has expired."
    hint = "Generate a new token with a future expiration time (your backend signs a fresh one per session)."


class TokenNotYetValid(TokenError):
    code = "token_not_yet_valid"
    description = "The token is not valid yet."
    hint = "Check the signing server's clock: 'nbf' and 'iat' must not lie in the future."


class TokenLifetimeTooLong(TokenError):
    code = "token_lifetime_too_long"
    description = "The token's lifetime (exp - iat) is longer than this product allows."
    hint = "Issue shorter-lived tokens and refresh them; see the product's max_lifetime_seconds."


class InvalidClaim(TokenError):
    code = "invalid_claim"
    description = "A claim has the wrong type or value."
    hint = (
        "Times ('exp', 'nbf', 'iat') are numbers of seconds since the Unix epoch, not strings "
        "nor milliseconds; user ids are strings or integers."
    )


class InvalidUserId(TokenError):
    code = "invalid_user_id"
    description = "The token's user id holds a control character."
    hint = (
        "Sign user ids without control characters (U+0000-U+001F, U+007F-U+009F): they cannot "
        "be stored or compared alike on every store."
    )


class MissingRequiredClaim(TokenError):
    code = "missing_required_claim"
    description = "A required claim is missing from the JWT."
    hint = "Add the missing claim to your token generation logic."


class InvalidIssuer(TokenError):
    code = "invalid_issuer"
    description = "The token's 'iss' is not the issuer this product expects."
    hint = "Set 'iss' to the issuer configured for this product (your tenant id)."


class InvalidAudience(TokenError):
    code = "invalid_audience"
    description = "The token's 'aud' does not name this product's audience."
    hint = "Set 'aud' to the audience configured for this product (your application id)."


class WrongProduct(TokenError):
    code = "wrong_product"
    description = "The token's claims name another product than the one it was checked against."
    hint = (
        "Send the token to the product its claims name, or sign it for this product with this "
        "product's key and this product's id in its claims."
    )


class TokenRevoked(TokenError):
    code = "token_revoked"
    description = "The token has been revoked."
    hint = "Sign a new token for this user; tokens revoked by id or issued before a revocation stay refused."


class InsufficientPermissions(TokenError):
    code = "insufficient_permissions"
    description = "The token lacks necessary permissions."
    hint = "Update the 'scope' claim in your token to include the permission this call needs."
    status = 403
    rfc6750 = "insufficient_scope"


class KeyError_(AuthError):  # the trailing underscore keeps builtins.KeyError usable
    """A key or secret was refused when it was registered."""

    status = 422
    rfc6750 = "invalid_request"


class InvalidKey(KeyError_):
    code = "invalid_key"
    description = "The key could not be read."
    hint = "Paste a PEM public key ('-----BEGIN PUBLIC KEY-----') or a JWK object."


class WeakKey(KeyError_):
    code = "weak_key"
    description = "The key is too weak for the algorithm it is meant for."
    hint = "Use an HMAC secret at least as long as the hash (32/48/64 bytes) or an RSA key of 2048 bits or more."


class KeyTooLarge(KeyError_):
    code = "key_too_large"
    description = "The RSA key is larger than Plaudit verifies with."
    hint = "Use an RSA key of 2048 to 8192 bits (3072 is plenty), or an EC or Ed25519 key."


class PrivateKeyNotAllowed(KeyError_):
    code = "private_key_not_allowed"
    description = "A private key was given where only a public key belongs."
    hint = (
        "Never upload a private key. Extract the public half with "
        "'openssl pkey -in private.key -pubout -out public.key' and paste public.key instead."
    )


class UnsupportedKey(KeyError_):
    code = "unsupported_key"
    description = "This kind of key is not supported."
    hint = (
        "Use an RSA key (2048 bits or more), an EC key on P-256, P-384 or P-521, or an Ed25519 key."
    )


def all_error_types() -> list[type[AuthError]]:
    """Every concrete error, in the order of the tree above (the documented code table)."""
    found: list[type[AuthError]] = []

    def walk(cls: type[AuthError]) -> None:
        for sub in cls.__subclasses__():
            if sub.__subclasses__():
                walk(sub)
            else:
                found.append(sub)

    walk(AuthError)
    return found
