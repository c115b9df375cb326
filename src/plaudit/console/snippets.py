"""Getting started: code that signs a token this product accepts, per language, with its ids.

One description of the token (``TokenRecipe``: claims, algorithm, key, header) is built from the
product's real settings and keys, then written out in Node (jsonwebtoken), Python (PyJWT), Ruby
(ruby-jwt) and shell (``plaudit token sign``). The claims follow the product's token profile and
every setting that changes what verifies: issuer, audience, required claims, a custom user-id
claim, token type, maximum lifetime. A test runs the Python one and verifies its token.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from plaudit.auth.profiles import get_profile

USER_ID = "user_123"
LIFETIME = 3600
PLACEHOLDER = "REPLACE_ME"

#: Claim values that depend on the moment of signing, written per language.
NOW = "__now__"
EXPIRES = "__expires__"


@dataclass(frozen=True)
class TokenRecipe:
    product_id: str
    profile: str
    algorithm: str
    #: None: an HMAC secret (read from PLAUDIT_SECRET); else the kid of an uploaded public key
    #: whose private half signs (read from private.key).
    key_id: str | None
    uses_private_key: bool
    claims: dict[str, Any]
    lifetime: int
    token_type: str | None
    public_url: str

    @property
    def header(self) -> dict[str, str]:
        header: dict[str, str] = {}
        if self.key_id is not None:
            header["kid"] = self.key_id
        if self.token_type is not None:
            header["typ"] = self.token_type
        return header


def _set_path(claims: dict[str, Any], path: str, value: Any) -> None:
    node = claims
    *parents, last = path.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node.setdefault(last, value)


def _drop_path(claims: dict[str, Any], path: str) -> None:
    node: Any = claims
    *parents, last = path.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def recipe(
    product: dict[str, Any],
    *,
    secrets: list[dict[str, Any]],
    keys: list[dict[str, Any]],
    public_url: str,
) -> TokenRecipe:
    """What a token for ``product`` must be (settings as ``product_settings`` gives them, secrets
    as ``secret_info``, keys as ``key_info``)."""
    profile = get_profile(product["profile"])
    product_id = product["id"]
    claims: dict[str, Any]
    if profile.name == "reditus":
        claims = {"ProductId": product_id, "UserId": USER_ID, "iat": NOW}
    elif profile.name == "xtremepush":
        claims = {"sub": USER_ID, "exp": EXPIRES}
    elif profile.name == "saasquatch":
        claims = {
            "user": {
                "id": USER_ID,
                "accountId": "account_123",
                "email": "jane@example.com",
                "firstName": "Jane",
                "lastName": "Doe",
                "locale": "en_US",
                "referralCode": "JANEDOE",
            },
            "exp": EXPIRES,
        }
    else:
        claims = {
            "sub": USER_ID,
            "iss": product["issuer"] or "your-tenant-id",
            "aud": product["audience"] or product_id,
            "iat": NOW,
            "exp": EXPIRES,
            "scope": ["read", "write"],
        }
    custom_user = product["user_id_claim"]
    if custom_user and custom_user != profile.user_id:
        _drop_path(claims, profile.user_id)
        _set_path(claims, custom_user, USER_ID)
    if product["issuer"]:
        claims["iss"] = product["issuer"]
    if product["audience"]:
        claims["aud"] = product["audience"]
    if product["require_expiry"]:
        claims.setdefault("exp", EXPIRES)
    if product["max_lifetime_seconds"] and "exp" in claims:
        claims.setdefault("iat", NOW)
    for path in product["required_claims"]:
        _set_path(claims, path, {"iat": NOW, "exp": EXPIRES}.get(path, PLACEHOLDER))
    lifetime = min(LIFETIME, product["max_lifetime_seconds"] or LIFETIME)

    active = [s for s in secrets if s["state"] == "active"]
    enabled_keys = [k for k in keys if k["enabled"]]
    if profile.algorithms[0].startswith("HS") or (active and not enabled_keys):
        algorithm = (active[-1]["algorithm"] if active else None) or profile.algorithms[0]
        if not algorithm.startswith("HS"):
            algorithm = "HS256"
        key_id, private = None, False
    else:
        key = enabled_keys[0] if enabled_keys else None
        algorithms = key["algorithms"] if key else list(profile.algorithms)
        algorithm = next((a for a in profile.algorithms if a in algorithms), algorithms[0])
        key_id, private = (key["kid"] if key else "primary"), True
    return TokenRecipe(
        product_id=product_id,
        profile=profile.name,
        algorithm=algorithm,
        key_id=key_id,
        uses_private_key=private,
        claims=claims,
        lifetime=lifetime,
        token_type=product["token_type"],
        public_url=public_url,
    )


# --- writing it out -----------------------------------------------------------------------


def _literal(value: Any, *, now: str, expires: str, indent: str, ruby: bool = False) -> str:
    """``value`` as a literal of a JSON-like language, time markers as expressions."""
    if value == NOW:
        return now
    if value == EXPIRES:
        return expires
    if isinstance(value, dict):
        inner = indent + "  "
        items = [
            f"{inner}{_string(k, ruby)}{' =>' if ruby else ':'} "
            f"{_literal(v, now=now, expires=expires, indent=inner, ruby=ruby)},"
            for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        return (
            "["
            + ", ".join(
                _literal(v, now=now, expires=expires, indent=indent, ruby=ruby) for v in value
            )
            + "]"
        )
    return _string(value, ruby) if isinstance(value, str) else json.dumps(value)


def _string(value: str, ruby: bool = False) -> str:
    # A JSON string is a valid string literal in JavaScript, Python and Ruby; Ruby alone would
    # interpolate "#{...}" inside double quotes.
    text = json.dumps(value)
    return text.replace("#", "\\#") if ruby else text


def node(r: TokenRecipe) -> str:
    options = [f'algorithm: "{r.algorithm}"']
    if r.key_id is not None:
        options.append(f"keyid: {_string(r.key_id)}")
    if r.token_type is not None:
        options.append(f"header: {{ typ: {_string(r.token_type)} }}")
    key = (
        'const key = fs.readFileSync("private.key"); // your private key; Plaudit has the public half'
        if r.uses_private_key
        else "const key = process.env.PLAUDIT_SECRET; // the product secret, from your secret store"
    )
    claims = _literal(r.claims, now="now", expires=f"now + {r.lifetime}", indent="")
    return "\n".join(
        [
            *(['const fs = require("fs");'] if r.uses_private_key else []),
            'const jwt = require("jsonwebtoken");',
            "",
            key,
            "const now = Math.floor(Date.now() / 1000);",
            f"const token = jwt.sign({claims}, key, {{ {', '.join(options)} }});",
            "console.log(token);",
            "",
        ]
    )


def python(r: TokenRecipe) -> str:
    header = f", headers={json.dumps(r.header)}" if r.header else ""
    key = (
        'with open("private.key") as f:  # your private key; Plaudit has the public half\n'
        "    key = f.read()"
        if r.uses_private_key
        else 'key = os.environ["PLAUDIT_SECRET"]  # the product secret, from your secret store'
    )
    claims = _literal(r.claims, now="now", expires=f"now + {r.lifetime}", indent="")
    return "\n".join(
        [
            *([] if r.uses_private_key else ["import os"]),
            "import time",
            "",
            "import jwt  # PyJWT",
            "",
            key,
            "now = int(time.time())",
            f"token = jwt.encode({claims}, key, algorithm={json.dumps(r.algorithm)}{header})",
            "print(token)",
            "",
        ]
    )


def ruby(r: TokenRecipe) -> str:
    key = (
        'key = OpenSSL::PKey.read(File.read("private.key")) # your private key; Plaudit has the public half'
        if r.uses_private_key
        else 'key = ENV.fetch("PLAUDIT_SECRET") # the product secret, from your secret store'
    )
    header = ""
    if r.header:
        pairs = ", ".join(f"{k}: {_string(v, ruby=True)}" for k, v in r.header.items())
        header = f", {{ {pairs} }}"
    claims = _literal(r.claims, now="now", expires=f"now + {r.lifetime}", indent="", ruby=True)
    return "\n".join(
        [
            'require "jwt" # the ruby-jwt gem',
            *(['require "openssl"'] if r.uses_private_key else []),
            "",
            key,
            "now = Time.now.to_i",
            f'token = JWT.encode({claims}, key, "{r.algorithm}"{header})',
            "puts token",
            "",
        ]
    )


def shell(r: TokenRecipe) -> str:
    static = json.loads(json.dumps(r.claims))
    timed: list[str] = []
    for name, marker in (("iat", NOW), ("exp", EXPIRES)):
        if static.get(name) == marker:
            del static[name]
            timed.append(
                f"--claim {name}={'$NOW' if marker == NOW else f'$((NOW + {r.lifetime}))'}"
            )
    quoted = shlex.quote(json.dumps(static))
    key_line = (
        "# private.key: your private key (Plaudit has the public half)"
        if r.uses_private_key
        else "printf '%s' \"$PLAUDIT_SECRET\" > plaudit.secret  # the product secret"
    )
    options = [
        f"--key {'private.key' if r.uses_private_key else 'plaudit.secret'}",
        f"--alg {r.algorithm}",
        *([f"--kid {shlex.quote(r.key_id)}"] if r.key_id is not None else []),
        f"--claims-json {quoted}",
        *timed,
    ]
    verify = f'curl -s {r.public_url}/v1/auth/verify -H "X-Plaudit-Product: {r.product_id}" -H "Authorization: Bearer $TOKEN"'
    return "\n".join(
        [
            key_line,
            "NOW=$(date +%s)",
            "TOKEN=$(plaudit token sign " + " \\\n  ".join(options) + ")",
            "",
            "# Check it against this Plaudit:",
            verify,
            "",
        ]
    )


LANGUAGES = (
    ("node", "Node.js (jsonwebtoken)", node),
    ("python", "Python (PyJWT)", python),
    ("ruby", "Ruby (ruby-jwt)", ruby),
    ("shell", "Shell (plaudit token sign)", shell),
)


def snippets(r: TokenRecipe) -> list[dict[str, str]]:
    return [{"id": key, "title": title, "code": write(r)} for key, title, write in LANGUAGES]
