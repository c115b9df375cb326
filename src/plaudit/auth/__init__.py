"""The token core: strict JWT verification with keys, claim policies and token profiles.

Framework-free by rule: this package imports nothing from the rest of Plaudit and no web or
database library (``tests/auth/test_boundaries.py`` holds it to that).
"""

from .cache import VerifiedTokenCache
from .claims import ClaimPolicy
from .compact import DEFAULT_MAX_TOKEN_BYTES, Header, ParsedToken, TokenParser, parse_unverified
from .errors import AuthError, KeyError_, TokenError, all_error_types
from .keys import (
    KeySet,
    VerificationKey,
    hmac_key,
    jwk_thumbprint,
    key_from_jwk,
    keys_from_jwks,
    public_key_from_pem,
)
from .profiles import PROFILES, TokenProfile, get_profile, guess_profile
from .signing import SigningKey, generate_private_key, generate_secret, private_pem, sign
from .verifier import VerifiedToken, Verifier, verify

__all__ = [
    "DEFAULT_MAX_TOKEN_BYTES",
    "PROFILES",
    "AuthError",
    "ClaimPolicy",
    "Header",
    "KeyError_",
    "KeySet",
    "ParsedToken",
    "SigningKey",
    "TokenError",
    "TokenParser",
    "TokenProfile",
    "VerificationKey",
    "VerifiedToken",
    "VerifiedTokenCache",
    "Verifier",
    "all_error_types",
    "generate_private_key",
    "generate_secret",
    "get_profile",
    "guess_profile",
    "hmac_key",
    "jwk_thumbprint",
    "key_from_jwk",
    "keys_from_jwks",
    "parse_unverified",
    "private_pem",
    "public_key_from_pem",
    "sign",
    "verify",
]
