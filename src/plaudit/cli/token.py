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
from rich.text import Text

from plaudit.auth import (
    PROFILES,
    ClaimPolicy,
    ParsedToken,
    TokenError,
    TokenParser,
    TokenProfile,
    VerificationKey,
    VerifiedToken,
    Verifier,
    guess_profile,
    sign,
)
from plaudit.auth.errors import MissingRequiredClaim
from plaudit.auth.explain import (
    describe_delta,
    explain,
    time_out_of_range,
    utc_date,
)
from plaudit.auth.refusal import HEADER, Checked, check_product_claim, checked_refusal, claim_route
from plaudit.products.refusals import test_box_url
from plaudit.settings import Settings

from .key_files import load_key_file, load_signing_key
from .token_output import dump_json, render_explanation, safe_text

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
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            metavar="ID",
            help="Judge as this product would and refuse as its API does (what it checked, "
            "the route, the key, the fix); implies the guessed profile unless --profile.",
        ),
    ] = None,
    kid: Annotated[
        str | None,
        typer.Option(
            "--kid", metavar="KID", help="The key id of the one key in --key (a secret has none)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a token's signature and claims. Exit 0 if valid, 1 if not.

    Without --profile the token is judged as any JWT (signature, times, --issuer, --audience,
    --max-age), and whether a product of its guessed profile would accept it is said apart;
    --profile makes that profile's required claims and user id part of the verdict. With
    --product the refusal is the one the product's API answers: the command each 401's hint
    gives is this one.
    """
    chosen = profile_named(profile) if profile is not None else None
    key_file = load_key_file(key, alg=alg, kid=kid)
    text = read_token(token)
    moment = now_or_clock(now)
    parser = TokenParser()
    console = Console(highlight=False, soft_wrap=True)
    policy = ClaimPolicy(leeway=leeway, max_age=max_age, issuer=issuer, audience=audience)
    parsed: ParsedToken | None = None
    product_profile = chosen or PROFILES["standard"]
    try:
        parsed = parser.parse(text)
        keys = key_file.key_set(parsed.header.kid)
        product_profile = chosen or guess_profile(parsed.claims) or PROFILES["standard"]
        if product is not None:
            chosen = product_profile
        verifier = Verifier(keys, policy=policy, profile=product_profile, parser=parser)
        if chosen is not None:
            verified = _verified(verifier, parsed, moment)
            if product is not None:
                check_product_claim(product_profile, parsed.claims, product, verified.key_id)
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
                answer = _verified(verifier, parsed, moment)
            except TokenError as exc:
                answer = exc
    except TokenError as exc:
        if product is not None:
            exc = _as_product(exc, product, product_profile, policy, parsed, kid=kid, alg=alg)
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
    if product is not None:
        subject = f"the product {safe_text(repr(product))} ({product_profile.name} profile)"
    if isinstance(answer, TokenError):
        console.print(Text(f"✗ Plaudit would refuse it for {subject}", style="yellow"))
        _print_refusal(console, Text(""), answer)
        return
    console.print(Text(f"✓ Plaudit would accept it for {subject}", style="green"))
    console.print(Text(f"  user id  {safe_text(answer.user_id)}"))
    console.print(Text(f"  scopes   {', '.join(sorted(answer.scopes)) or '(none)'}"))


def _as_product(
    error: TokenError,
    product: str,
    profile: TokenProfile,
    policy: ClaimPolicy,
    parsed: ParsedToken | None,
    *,
    kid: str | None,
    alg: str | None,
) -> TokenError:
    """The refusal as the product's API words it, for the route its claims would take."""
    claims = parsed.claims if parsed is not None else None
    policy = dataclasses.replace(
        policy, required_claims=tuple(dict.fromkeys(profile.required_claims))
    )
    checked = Checked(
        product_id=product,
        route=claim_route(claims, product, policy.audience) or HEADER,
        profile=profile,
        policy=policy,
        test_box=_test_box(product),
        only_kid=kid,
        only_alg=alg,
    )
    refined = checked_refusal(error, checked, claims)
    return refined if isinstance(refined, TokenError) else error


def _test_box(product: str) -> str | None:
    """The product's console test box on the server PLAUDIT_PUBLIC_URL (or the defaults) names."""
    try:
        public_url = Settings().resolved_public_url
    except ValueError:  # settings that do not load leave the link out, not the verdict
        return None
    return test_box_url(public_url, product)


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
