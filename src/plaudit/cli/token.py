"""``plaudit token``: inspect, verify and sign JWTs of every guide's shape, locally.

Nothing here talks to a server: ``inspect`` decodes without trusting, ``verify`` runs the same
``Verifier`` the server runs against a key file, and ``sign`` makes test tokens.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from plaudit.auth import (
    PROFILES,
    ClaimPolicy,
    KeyError_,
    KeySet,
    ParsedToken,
    SigningKey,
    TokenError,
    TokenParser,
    TokenProfile,
    VerificationKey,
    VerifiedToken,
    Verifier,
    guess_profile,
    hmac_key,
    key_from_jwk,
    public_key_from_pem,
    sign,
)
from plaudit.auth.errors import InvalidKey, MissingRequiredClaim, UnsupportedKey
from plaudit.auth.explain import (
    Explanation,
    Finding,
    describe_delta,
    explain,
    time_out_of_range,
    utc_date,
)

app = typer.Typer(
    help="Inspect, verify and sign JWTs locally (a JWT tool that knows Plaudit's rules).",
    no_args_is_help=True,
)

TokenArg = Annotated[
    str, typer.Argument(metavar="TOKEN|-", help="The token, or - to read it from stdin.")
]
NowOpt = Annotated[
    float | None,
    typer.Option("--now", metavar="UNIX_SECONDS", help="Judge times as of this instant."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AlgOpt = Annotated[
    str | None, typer.Option("--alg", metavar="ALG", help="Pin the key to this one algorithm.")
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help=f"The token profile: {', '.join(PROFILES)}."),
]

_STATUS_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red", "info": "cyan"}
_DEFAULT_LIFETIME = 3600


# --- inputs -----------------------------------------------------------------------------------


def read_token(value: str) -> str:
    """The token argument; ``-`` reads it from stdin, surrounding whitespace stripped."""
    if value != "-":
        return value
    return typer.get_binary_stream("stdin").read().decode("utf-8", "replace").strip()


def now_or_clock(now: float | None) -> float:
    return time.time() if now is None else now


def profile_named(name: str) -> TokenProfile:
    profile = PROFILES.get(name)
    if profile is None:
        raise typer.BadParameter(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}",
            param_hint="'--profile'",
        )
    return profile


def _strip_one_newline(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


@dataclasses.dataclass(frozen=True)
class KeyFile:
    """The verification keys a key file holds, and whether the token may name them."""

    kind: str  # "pem", "jwk", "jwks" or "secret"
    keys: tuple[VerificationKey, ...]
    #: A single key without a key id of its own takes the token's ``kid``, so that a token
    #: saying ``"kid": "primary"`` verifies against the one key it was given.
    adopts_kid: bool

    def key_set(self, token_kid: str | None) -> KeySet:
        keys = self.keys
        if self.adopts_kid and token_kid is not None:
            keys = (dataclasses.replace(keys[0], kid=token_kid),)
        return KeySet(keys)


def load_key_file(path: Path, *, alg: str | None = None) -> KeyFile:
    """Read a PEM public key, a JWK, a JWK Set or an HMAC secret, telling which by the content."""
    data = path.read_bytes()
    text = data.decode("utf-8", "replace")
    stripped = text.strip()
    if "-----BEGIN" in stripped:
        return KeyFile("pem", (public_key_from_pem(data, algorithm=alg),), adopts_kid=True)
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            raise InvalidKey(
                f"{path} starts like JSON but is not valid JSON ({exc}).",
                hint="A key file holds a PEM public key, a JWK, a JWK Set or an HMAC secret.",
            ) from None
        if isinstance(document, dict) and "keys" in document:
            return KeyFile("jwks", _jwks_keys(document, alg), adopts_kid=False)
        key = key_from_jwk(document, algorithm=alg)
        has_kid = isinstance(document, dict) and "kid" in document
        return KeyFile("jwk", (key,), adopts_kid=not has_kid)
    if not stripped:
        raise InvalidKey(f"{path} is empty.", hint="Put the product's HMAC secret in it.")
    return KeyFile("secret", (hmac_key(_strip_one_newline(data), algorithm=alg),), adopts_kid=True)


def _jwks_keys(document: Mapping[str, Any], alg: str | None) -> tuple[VerificationKey, ...]:
    members = document.get("keys")
    if not isinstance(members, list):
        raise InvalidKey("A JWK Set is a JSON object with a 'keys' array.")
    found: list[VerificationKey] = []
    first_error: KeyError_ | None = None
    for member in members:
        # A published set may hold encryption keys or other curves: skip what cannot verify.
        try:
            found.append(key_from_jwk(member))
        except KeyError_ as exc:
            first_error = first_error or exc
    if alg is not None:
        found = [
            dataclasses.replace(k, algorithms=frozenset({alg}))
            for k in found
            if alg in k.algorithms
        ]
        if not found:
            raise UnsupportedKey(f"No key of the JWK Set can verify {alg}.")
    if not found:
        if first_error is not None:
            raise first_error
        raise InvalidKey("The JWK Set holds no keys.")
    return tuple(found)


def load_signing_key(
    path: Path, *, alg: str | None, kid: str | None, profile: TokenProfile | None
) -> SigningKey:
    """Read an HMAC secret file or a private PEM key to sign with."""
    data = path.read_bytes()
    text = data.decode("utf-8", "replace").strip()
    if "-----BEGIN" in text:
        if "PRIVATE KEY" not in text:
            raise InvalidKey(
                f"{path} holds a public key; signing needs the private key.",
                hint="Sign with private.key; give public.key to 'plaudit token verify' and to "
                "Plaudit.",
            )
        return SigningKey.from_pem(data, alg, kid=kid)
    if text.startswith("{"):
        raise UnsupportedKey(
            "Signing takes an HMAC secret file or a private PEM key, not a JWK.",
            hint="Generate one with 'plaudit keys generate --type rsa --out signing'.",
        )
    if alg is None:
        preferred = profile.algorithms[0] if profile is not None else "HS256"
        alg = preferred if preferred.startswith("HS") else "HS256"
    return SigningKey.from_secret(_strip_one_newline(data), alg, kid=kid)


# --- inspect ----------------------------------------------------------------------------------


@app.command()
def inspect(token: TokenArg, now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Decode a token without trusting it and explain every field. Exit 1 if it is malformed."""
    explanation = explain(read_token(token), now=now_or_clock(now))
    if as_json:
        typer.echo(dump_json(explanation.to_dict()))
    else:
        render_explanation(explanation, Console(highlight=False))
    if not explanation.well_formed:
        raise typer.Exit(1)


def render_explanation(explanation: Explanation, console: Console) -> None:
    console.print(_summary(explanation))
    for title, part in (("Header", explanation.header), ("Payload", explanation.claims)):
        if part is not None:
            console.print(Text(title, style="bold"))
            console.print(Text(safe_text(json.dumps(part, indent=2, ensure_ascii=False))))
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("status", no_wrap=True)
    table.add_column("field", no_wrap=True)
    table.add_column("value", max_width=32, overflow="fold")
    table.add_column("explanation", ratio=1)
    section = None
    for finding in explanation.findings:
        if section is not None and finding.section != section:
            table.add_section()
        section = finding.section
        table.add_row(*_row(finding))
    console.print(table)


def _summary(explanation: Explanation) -> Text:
    if not explanation.well_formed:
        error = explanation.error or {}
        return Text(
            f"Malformed token ({error.get('error')}): {error.get('message')}", style="bold red"
        )
    header = explanation.header or {}
    line = Text("Well-formed ", style="bold green")
    line.append(f"{safe_text(str(header.get('alg')))} token")
    if explanation.profile is not None:
        line.append(f", {explanation.profile} profile")
    if explanation.user_id is not None:
        line.append(f", user {safe_text(repr(explanation.user_id))}")
    errors = len(explanation.by_status("error"))
    warnings = len(explanation.by_status("warning"))
    line.append(f"; {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    if explanation.valid is None:
        line.append(" (signature not checked: use 'plaudit token verify --key FILE')", "dim")
    return line


def _row(finding: Finding) -> tuple[Text, Text, Text, Text]:
    name = finding.field if finding.section == "token" else f"{finding.section}.{finding.field}"
    value = "" if finding.value is None else short_json(finding.value, 64)
    message = finding.message
    if finding.code:
        message += f" [{finding.code}]"
    explanation = Text(safe_text(message))
    if finding.status == "error" and finding.hint:
        explanation.append(f"\nhint: {safe_text(finding.hint)}", style="dim")
    return (
        Text(finding.status, style=_STATUS_STYLE[finding.status]),
        Text(safe_text(name)),
        Text(value),
        explanation,
    )


# --- verify -----------------------------------------------------------------------------------


@app.command()
def verify(
    token: TokenArg,
    *,
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            metavar="FILE",
            help="A PEM public key, a JWK, a JWK Set, or a file holding an HMAC secret.",
        ),
    ],
    alg: AlgOpt = None,
    issuer: Annotated[str | None, typer.Option("--issuer", help="Require this 'iss'.")] = None,
    audience: Annotated[
        str | None, typer.Option("--audience", help="Require this among 'aud'.")
    ] = None,
    profile: ProfileOpt = None,
    now: NowOpt = None,
    leeway: Annotated[
        float, typer.Option("--leeway", metavar="S", help="Forgive this much clock skew.")
    ] = 0.0,
    max_age: Annotated[
        float | None,
        typer.Option("--max-age", metavar="S", help="Refuse tokens issued longer ago ('iat')."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a token's signature and claims. Exit 0 if valid, 1 if not.

    Without --profile the token is judged as any JWT (signature, times, --issuer, --audience,
    --max-age), and whether a product of its guessed profile would accept it is said apart;
    --profile makes that profile's required claims and user id part of the verdict.
    """
    chosen = profile_named(profile) if profile is not None else None
    key_file = load_key_file(key, alg=alg)
    text = read_token(token)
    moment = now_or_clock(now)
    parser = TokenParser()
    console = Console(highlight=False, soft_wrap=True)
    policy = ClaimPolicy(leeway=leeway, max_age=max_age, issuer=issuer, audience=audience)
    try:
        parsed = parser.parse(text)
        keys = key_file.key_set(parsed.header.kid)
        product_profile = chosen or guess_profile(parsed.claims) or PROFILES["standard"]
        product = Verifier(keys, policy=policy, profile=product_profile, parser=parser)
        if chosen is not None:
            verified = _verified(product, parsed, moment)
            answer: VerifiedToken | TokenError = verified
            kid, expires_at = verified.key_id, verified.expires_at
        else:
            # Any JWT: the guessed profile's required claims and user id are not the verdict,
            # only what a product of that profile would answer, said apart.
            bare = dataclasses.replace(product_profile, required_claims=())
            bare_verifier = Verifier(keys, policy=policy, profile=bare, parser=parser)
            signed_with, valid_until = _judged(bare_verifier, parsed, moment)
            exp = parsed.claims.get("exp")
            kid, expires_at = signed_with.kid, exp if exp is not None else valid_until
            try:
                answer = _verified(product, parsed, moment)
            except TokenError as exc:
                answer = exc
    except TokenError as exc:
        if as_json:
            typer.echo(dump_json({"valid": False, **exc.as_dict()}))
        else:
            _print_refusal(console, Text("✗ invalid", style="bold red"), exc)
        raise typer.Exit(1) from None
    verdict: dict[str, Any] = {
        "profile": product_profile.name,
        "profile_guessed": chosen is None,
        "accepted": isinstance(answer, VerifiedToken),
    }
    if isinstance(answer, VerifiedToken):
        verdict |= {"user_id": answer.user_id, "scopes": sorted(answer.scopes)}
    else:
        verdict |= answer.as_dict()
    if as_json:
        document = {
            "valid": True,
            "header": dict(parsed.header.fields),
            "claims": dict(parsed.claims),
            "product": verdict,
        }
        typer.echo(dump_json(document))
        return
    signer = (
        f"the key {safe_text(repr(kid))}"
        if key_file.kind == "jwks" or parsed.header.kid is not None
        else f"the key in {key}"
    )
    line = Text("✓ valid", style="bold green")
    line.append(f"  {parsed.header.alg} token, signed with {signer}")
    console.print(line)
    if expires_at is not None:
        delta = describe_delta(expires_at - moment)
        console.print(Text(f"  expires  {utc_date(expires_at)} ({delta})"))
    else:
        console.print(Text("  expires  never (no 'exp'; pass --max-age to bound its age)"))
    how = "guessed from its claims; --profile forces one" if chosen is None else "--profile"
    subject = f"a product of the {product_profile.name} profile ({how})"
    if isinstance(answer, TokenError):
        console.print(Text(f"✗ Plaudit would refuse it for {subject}", style="yellow"))
        _print_refusal(console, Text(""), answer)
        return
    console.print(Text(f"✓ Plaudit would accept it for {subject}", style="green"))
    console.print(Text(f"  user id  {safe_text(answer.user_id)}"))
    console.print(Text(f"  scopes   {', '.join(sorted(answer.scopes)) or '(none)'}"))


def _judged(
    verifier: Verifier, parsed: ParsedToken, now: float
) -> tuple[VerificationKey, float | None]:
    try:
        return verifier.check_parsed(parsed, now=now)
    except ArithmeticError:  # belt and braces: the core refuses times beyond 10**15 s first
        raise time_out_of_range() from None


def _verified(verifier: Verifier, parsed: ParsedToken, now: float) -> VerifiedToken:
    try:
        return verifier.verify_parsed(parsed, now=now)
    except ArithmeticError:
        raise time_out_of_range() from None


def _print_refusal(console: Console, line: Text, exc: TokenError) -> None:
    line.append(f"  {exc.code}: {safe_text(exc.message)}")
    console.print(line)
    if exc.hint:
        console.print(Text(f"  hint: {safe_text(exc.hint)}", style="dim"))


# --- sign -------------------------------------------------------------------------------------


@app.command("sign")
def sign_command(
    *,
    key: Annotated[
        Path,
        typer.Option("--key", metavar="FILE", help="An HMAC secret file or a private PEM key."),
    ],
    alg: Annotated[
        str | None,
        typer.Option("--alg", metavar="ALG", help="Sign with this algorithm (default: the key's)."),
    ] = None,
    kid: Annotated[str | None, typer.Option("--kid", help="Put this key id in the header.")] = None,
    claim: Annotated[
        list[str] | None,
        typer.Option(
            "--claim",
            metavar="NAME=VALUE",
            help='Set a claim; VALUE is read as JSON if it parses (42, true, ["a"]), else as text.',
        ),
    ] = None,
    claims_json: Annotated[
        str | None,
        typer.Option(
            "--claims-json", metavar="JSON|-", help="Claims as a JSON object, or - for stdin."
        ),
    ] = None,
    profile: ProfileOpt = None,
    user_id: Annotated[
        str | None, typer.Option("--user-id", help="The user id (with --profile).")
    ] = None,
    product_id: Annotated[
        str | None, typer.Option("--product-id", help="ProductId (reditus profile).")
    ] = None,
    account_id: Annotated[
        str | None,
        typer.Option("--account-id", help="user.accountId (saasquatch; default: the user id)."),
    ] = None,
    issuer: Annotated[str | None, typer.Option("--issuer", help="iss (standard profile).")] = None,
    audience: Annotated[
        str | None, typer.Option("--audience", help="aud (standard profile).")
    ] = None,
    expires_in: Annotated[
        int | None,
        typer.Option(
            "--expires-in",
            metavar="SECONDS",
            help="Set exp this long after now (default 3600 for profiles that carry exp).",
        ),
    ] = None,
    now: Annotated[
        float | None,
        typer.Option("--now", metavar="UNIX_SECONDS", help="Sign as of this instant (iat, exp)."),
    ] = None,
) -> None:
    """Sign a token and print it alone (so that it pipes)."""
    chosen = profile_named(profile) if profile is not None else None
    if chosen is None:
        for flag, value in (
            ("--user-id", user_id),
            ("--product-id", product_id),
            ("--account-id", account_id),
        ):
            if value is not None:
                raise typer.BadParameter("needs --profile", param_hint=f"'{flag}'")
    issued = int(now_or_clock(now))
    claims: dict[str, Any] = {}
    if chosen is not None:
        claims = profile_claims(
            chosen,
            user_id=user_id,
            product_id=product_id,
            account_id=account_id,
            issuer=issuer,
            audience=audience,
            now=issued,
            expires_in=expires_in,
        )
    else:
        if issuer is not None:
            claims["iss"] = issuer
        if audience is not None:
            claims["aud"] = audience
        if expires_in is not None:
            claims["exp"] = issued + expires_in
    if claims_json is not None:
        _merge(claims, _claims_object(claims_json))
    for item in claim or ():
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="'--claim'")
        claims[name] = _claim_value(raw)
    if chosen is not None:
        _require(chosen, claims)
    signing_key = load_signing_key(key, alg=alg, kid=kid, profile=chosen)
    typer.echo(sign(claims, signing_key))


def profile_claims(
    profile: TokenProfile,
    *,
    user_id: str | None,
    product_id: str | None = None,
    account_id: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    now: int,
    expires_in: int | None = None,
) -> dict[str, Any]:
    """The claims a profile's guide puts in a token (absent values left out)."""
    exp = now + (expires_in if expires_in is not None else _DEFAULT_LIFETIME)
    candidates: dict[str, Any]
    if profile.name == "reditus":
        candidates = {"ProductId": product_id, "UserId": user_id, "iat": now}
        if expires_in is not None:
            candidates["exp"] = exp
    elif profile.name == "saasquatch":
        user = {"id": user_id, "accountId": account_id or user_id}
        candidates = {"user": {k: v for k, v in user.items() if v is not None}, "exp": exp}
    elif profile.name == "xtremepush":
        candidates = {"sub": user_id, "exp": exp}
    else:
        candidates = {"sub": user_id, "iss": issuer, "aud": audience, "iat": now, "exp": exp}
    return {k: v for k, v in candidates.items() if v is not None}


_FLAG_FOR = {
    "sub": "--user-id",
    "UserId": "--user-id",
    "user.id": "--user-id",
    "ProductId": "--product-id",
    "iss": "--issuer",
    "aud": "--audience",
}


def _require(profile: TokenProfile, claims: Mapping[str, Any]) -> None:
    for path in profile.required_claims:
        node: Any = claims
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            flag = _FLAG_FOR.get(path)
            how = f"pass {flag}" if flag else f"pass --claim {path}=VALUE"
            raise MissingRequiredClaim(
                f"The {profile.name} profile requires {path!r}; {how}.",
                hint="Run 'plaudit token sign --help' for every option.",
            )


def _claims_object(value: str) -> dict[str, Any]:
    text = typer.get_binary_stream("stdin").read().decode("utf-8") if value == "-" else value
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON ({exc})", param_hint="'--claims-json'") from None
    if not isinstance(document, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="'--claims-json'")
    return document


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(name), dict):
            _merge(into[name], value)
        else:
            into[name] = value


def _claim_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# --- output -----------------------------------------------------------------------------------


def safe_text(text: str) -> str:
    """Text from a token made safe for a terminal: control, bidi and lone surrogate characters
    are shown escaped, and Rich markup never applies (callers wrap the result in ``Text``)."""
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if char.isprintable() or char == "\n":
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def short_json(value: Any, limit: int) -> str:
    text = safe_text(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dump_json(value: Any) -> str:
    """JSON for stdout: UTF-8 where it can be, escaped where a token held lone surrogates."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=True)
    return text
