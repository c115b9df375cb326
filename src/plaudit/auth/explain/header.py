"""The header, field by field: the algorithm, the type, the key id, and what Plaudit ignores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import algorithms as algs
from ..claims import ClaimPolicy
from ..encoding import quote
from .findings import Findings, Status

#: Header parameters that name or carry a key. A verifier that honoured them would let the token
#: choose its own key; Plaudit ignores them and uses the product's registered keys.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
THUMBPRINT_HEADERS = ("x5t", "x5t#S256")
_JWE_ALGORITHMS = ("PBES2", "RSA-OAEP", "RSA1_5", "ECDH", "A128", "A192", "A256", "dir")
_HASH = {"256": "SHA-256", "384": "SHA-384", "512": "SHA-512"}
#: What each other header parameter means to Plaudit: (status, sentence).
_OTHERS: dict[str, tuple[Status, str]] = {
    "crit": (
        "error",
        "Lists critical extensions; Plaudit understands none and refuses the token.",
    ),
    "enc": (
        "error",
        "Marks an encrypted token (JWE); Plaudit accepts signed tokens (JWS) only.",
    ),
    "zip": (
        "error",
        "Asks for a compressed payload; signed JWTs are never compressed and Plaudit refuses them.",
    ),
    "cty": ("info", "A content type: ignored (nested tokens are not supported)."),
}


def explain_header(header: Mapping[str, Any], out: Findings, policy: ClaimPolicy) -> None:
    _alg(header, out)
    _typ(header, out, policy)
    _kid(header, out)
    for name, value in header.items():
        if name in ("alg", "typ", "kid"):
            continue
        if name in KEY_HEADERS:
            out.add(
                "warning",
                "header",
                name,
                f"Ignored: Plaudit never takes a key from the token itself ({name!r}); it "
                "verifies with the keys registered for the product.",
                value,
            )
        elif name in THUMBPRINT_HEADERS:
            out.add(
                "info",
                "header",
                name,
                "Ignored: a certificate thumbprint; Plaudit picks the key by 'kid' only.",
                value,
            )
        elif name == "b64":
            if value is True:
                out.add("info", "header", name, "The default (a base64url payload).", value)
            else:
                out.add(
                    "error",
                    "header",
                    name,
                    "Asks for an unencoded payload (RFC 7797); Plaudit refuses it.",
                    value,
                )
        elif name in _OTHERS:
            status, message = _OTHERS[name]
            out.add(status, "header", name, message, value)
        else:
            out.add("info", "header", name, "Not used by Plaudit.", value)


def describe_alg(alg: str) -> str:
    bits = alg[2:]
    if alg.startswith("HS"):
        return f"{alg}: HMAC with {_HASH[bits]}, signed and verified with a shared secret"
    if alg.startswith("RS"):
        return f"{alg}: RSA (PKCS #1 v1.5) with {_HASH[bits]}, verified with an RSA public key"
    if alg.startswith("PS"):
        return f"{alg}: RSA-PSS with {_HASH[bits]}, verified with an RSA public key"
    if alg.startswith("ES"):
        curve = algs.ALGORITHMS[alg].curve
        return f"{alg}: ECDSA on {curve} with {_HASH[bits]}, verified with an EC public key"
    return f"{alg}: Ed25519 signatures, verified with an Ed25519 public key"


def _alg(header: Mapping[str, Any], out: Findings) -> None:
    if "alg" not in header:
        out.add("error", "header", "alg", "Missing: every signed JWT names its algorithm.")
        return
    alg = header["alg"]
    if not isinstance(alg, str):
        out.add("error", "header", "alg", "Not a string.", alg)
        return
    if alg.lower() == "none":
        out.add(
            "error",
            "header",
            "alg",
            "The token is unsigned ('none'); unsigned tokens never verify.",
            alg,
        )
        return
    if algs.get(alg) is None:
        message = f"{quote(alg)} is not an algorithm Plaudit verifies."
        close = [name for name in algs.ALGORITHMS if name.lower() == alg.lower()]
        if close:
            message += f" Algorithm names are case-sensitive: did you mean {close[0]!r}?"
        elif alg.startswith(_JWE_ALGORITHMS):
            message += " It is a JWE key-management algorithm: Plaudit accepts signed JWTs only."
        out.add("error", "header", "alg", message, alg)
        return
    out.add("ok", "header", "alg", describe_alg(alg) + ".", alg)


def _typ(header: Mapping[str, Any], out: Findings, policy: ClaimPolicy) -> None:
    typ = header.get("typ")
    if "typ" in header and not isinstance(typ, str):
        out.add("error", "header", "typ", "Not a string.", typ)
        return
    if policy.token_type is not None:
        if out.judge("header", "typ", lambda: policy.validate_typ(typ), typ):
            out.add(
                "ok", "header", "typ", f"The type {quote(str(typ))}, as the product requires.", typ
            )
        return
    if typ is None:
        out.add(
            "info",
            "header",
            "typ",
            "Absent: accepted unless the product requires a token type (the guides set 'JWT').",
        )
    elif typ.lower() in ("jwt", "application/jwt"):
        out.add("ok", "header", "typ", "A JWT.", typ)
    else:
        out.add(
            "info",
            "header",
            "typ",
            f"The type {quote(typ)}: accepted unless the product requires another.",
            typ,
        )


def _kid(header: Mapping[str, Any], out: Findings) -> None:
    if "kid" not in header:
        out.add(
            "info",
            "header",
            "kid",
            "Absent: every enabled key of the product for this algorithm is tried.",
        )
        return
    kid = header["kid"]
    if not isinstance(kid, str) or not kid or len(kid) > 256 or not kid.isprintable():
        out.add(
            "error",
            "header",
            "kid",
            "A key id must be a string of 1 to 256 printable characters.",
            kid,
        )
        return
    out.add(
        "info",
        "header",
        "kid",
        f"Names the key {quote(kid)}: only that key of the product is tried.",
        kid,
    )
