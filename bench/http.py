"""Requests per second and server CPU per request of ``GET /v1/auth/verify`` beside two
references, measured in one run.

    python bench/http.py [--seconds 3] [--rounds 3] [--connections 16] [--client wrk|asyncio]
                         [--src PATH] [--quick] [--json]

Each server runs as a separate uvicorn process on 127.0.0.1 (one worker each, same settings):

``bare``          a bare Starlette endpoint returning a small fixed JSON body: the ceiling
``pyjwt``         a bare Starlette endpoint that checks the token with ``jwt.decode`` (HS256,
                  with iss/aud/exp/iat/required claims) and returns its claims: one token again
``pyjwt-fresh``   the same endpoint with a new token per request
``plaudit``       Plaudit's full app, ``GET /v1/auth/verify`` with ``X-Plaudit-Product``: a
                  repeated token, answered from memory, as a widget's repeated calls are
``claims``        the same repeated token without the header: routed by its own ``aud`` claim,
                  as the seed guides send it
``fresh``         Plaudit with a new token per request for users it already knows (each user
                  was seen once before the timing starts): what a widget's page load costs

Fresh tokens are generated before the servers start, a set per round, each used once (the
table says if a round ran out and reused some). The load comes from wrk (Debian's
``/usr/bin/wrk``, one thread, ``--connections`` keep-alive connections; a Lua script cycles
through the round's file of tokens), or with ``--client asyncio`` (or no wrk) from an asyncio
client in this process that tops out near 25k req/s on a 2-CPU machine. Either way the client
shares the machine, so server CPU per request is the honest figure; req/s is shown beside it.
Rounds interleave the servers and the median round is reported. ``--src`` serves another
checkout's ``src`` (to measure a before and an after with one bench).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py (the issue asked for bench/http.py): run as a script, its folder
# comes first on sys.path and would shadow the standard library's http package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
sys.path.append(str(Path(__file__).resolve().parent))  # after the standard library: benchkit

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass

import jwt as pyjwt

from benchkit import ROOT, WRK, WRK_DONE, Server, wrk

SECRET = "bench-secret-" + "s" * 51  # 64 bytes: HS256..HS512
ISSUER, AUDIENCE = "bench-tenant", "bench"
#: Fresh tokens name this many users, each seen once before the timing starts.
KNOWN_USERS = 200
#: Fresh tokens per round; a round that needs more reuses some (and the table says so).
FRESH_PER_ROUND = 60_000

REFERENCE_APP = textwrap.dedent(
    f"""
    import jwt
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    SECRET = {SECRET!r}

    async def bare(request):
        return JSONResponse({{"product": "bench", "user": {{"id": "user_1"}}}})

    async def pyjwt_check(request):
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"], audience={AUDIENCE!r},
                                issuer={ISSUER!r},
                                options={{"require": ["sub", "iss", "aud", "iat", "exp"]}})
        except jwt.PyJWTError as exc:
            return JSONResponse({{"error": "invalid_token", "message": str(exc)}}, 401)
        return JSONResponse({{"product": "bench", "user": {{"id": claims["sub"]}},
                             "scopes": claims.get("scope", [])}})

    app = Starlette(routes=[Route("/bare", bare), Route("/pyjwt", pyjwt_check)])
    """
)

#: wrk's script: each request takes the next line of the token file (or the one fixed token).
WRK_SCRIPT = (
    textwrap.dedent(
        """
    local tokens, i = {}, 0
    init = function(args)
      for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
      wrk.headers["Authorization"] = nil
      if args[2] ~= "" then wrk.headers["X-Plaudit-Product"] = args[2] end
    end
    request = function()
      i = i + 1
      wrk.headers["Authorization"] = "Bearer " .. tokens[(i - 1) % #tokens + 1]
      return wrk.format("GET")
    end
    """
    )
    + WRK_DONE
)


@dataclass(frozen=True)
class Target:
    app: str
    path: str
    product_header: str | None
    #: "fixed": one token again and again; "fresh": the round's file of new tokens.
    tokens: str


TARGETS = {
    "bare": Target("reference_app:app", "/bare", None, "fixed"),
    "pyjwt": Target("reference_app:app", "/pyjwt", None, "fixed"),
    "pyjwt-fresh": Target("reference_app:app", "/pyjwt", None, "fresh"),
    "plaudit": Target("plaudit.app:app_from_environment", "/v1/auth/verify", "bench", "fixed"),
    "claims": Target("plaudit.app:app_from_environment", "/v1/auth/verify", None, "fixed"),
    "fresh": Target("plaudit.app:app_from_environment", "/v1/auth/verify", "bench", "fresh"),
}


def token(sub: str, now: int, jti: str | None = None) -> str:
    claims: dict[str, object] = {
        "sub": sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "scope": ["read", "write"],
    }
    if jti is not None:
        claims["jti"] = jti
    return pyjwt.encode(claims, SECRET, algorithm="HS256")


def _request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(
    port: int, requests: list[bytes], seconds: float, connections: int
) -> tuple[int, int]:
    """Keep-alive connections, one request in flight each, for ``seconds``: (ok, errors)."""
    deadline = time.perf_counter() + seconds
    counts = [0, 0]
    index = 0

    async def worker() -> None:
        nonlocal index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                writer.write(requests[index % len(requests)])
                index += 1
                status = await _read_response(reader)
                counts[0 if status == 200 else 1] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return counts[0], counts[1]


def _wrk(
    port: int, target: Target, tokens: Path, script: Path, seconds: float, connections: int
) -> tuple[int, int]:
    url = f"http://127.0.0.1:{port}{target.path}"
    return wrk(url, script, [str(tokens), target.product_header or ""], seconds, connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client", choices=["wrk", "asyncio"], default="wrk" if WRK else "asyncio")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src the servers run")
    parser.add_argument("--quick", action="store_true", help="one short round (smoke test)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.src / "plaudit" / "app.py").is_file():
        parser.error(f"--src {args.src} holds no plaudit package")
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    per_round = 6_000 if args.quick else FRESH_PER_ROUND

    now = int(time.time())
    work = Path(tempfile.mkdtemp(prefix="plaudit-bench-"))
    (work / "reference_app.py").write_text(REFERENCE_APP)
    script = work / "tokens.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": f"{work}:{args.src.resolve()}",
        "PLAUDIT_DATA_DIR": str(work / "data"),
        "PLAUDIT_ADMIN_TOKEN": "bench-admin-" + "a" * 24,
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    _seed(env)

    fixed = token("user_1", now)
    (work / "fixed.txt").write_text(fixed + "\n")
    # Each user once before timing (so fresh tokens are for known users), then new tokens.
    warm = [token(f"u{i}", now, jti=f"warm-{i}") for i in range(KNOWN_USERS)]
    (work / "warm.txt").write_text("\n".join(warm) + "\n")
    fresh_files = []
    for round_no in range(args.rounds):
        path = work / f"fresh-{round_no}.txt"
        path.write_text(
            "\n".join(
                token(f"u{i % KNOWN_USERS}", now, jti=f"r{round_no}-{i}") for i in range(per_round)
            )
            + "\n"
        )
        fresh_files.append(path)

    servers = {name: Server(name, t.app, env, work) for name, t in TARGETS.items()}
    results: dict[str, list[float]] = {name: [] for name in TARGETS}
    cpu: dict[str, list[float]] = {name: [] for name in TARGETS}
    errors: dict[str, int] = dict.fromkeys(TARGETS, 0)
    reused: dict[str, int] = dict.fromkeys(TARGETS, 0)
    try:
        for name, target in TARGETS.items():
            headers = {"Authorization": f"Bearer {fixed}"}
            if target.product_header:
                headers["X-Plaudit-Product"] = target.product_header
            servers[name].wait_ready(
                target.path, headers, timeout=90
            )  # a busy machine starts slowly
            if target.tokens == "fresh":  # every user seen once: the fresh tokens find them known
                _each_once(servers[name].port, target, warm)
        for round_no in range(args.rounds):
            shift = round_no % len(TARGETS)
            order = list(TARGETS)[shift:] + list(TARGETS)[:shift]
            for name in order:
                target = TARGETS[name]
                tokens = fresh_files[round_no] if target.tokens == "fresh" else work / "fixed.txt"
                port = servers[name].port
                if target.tokens == "fixed":  # warm: the repeated token is in memory
                    asyncio.run(_load(port, _requests(target, [fixed]), 0.2, 4))
                before = servers[name].cpu_seconds()
                if args.client == "wrk":
                    ok, bad = _wrk(port, target, tokens, script, args.seconds, args.connections)
                    seconds = float(max(1, round(args.seconds)))
                else:
                    requests = _requests(target, tokens.read_text().split())
                    ok, bad = asyncio.run(_load(port, requests, args.seconds, args.connections))
                    seconds = args.seconds
                results[name].append(ok / seconds)
                cpu[name].append((servers[name].cpu_seconds() - before) / max(ok, 1) * 1e6)
                errors[name] += bad
                if target.tokens == "fresh":
                    reused[name] += max(0, ok + bad - per_round)
    finally:
        for server in servers.values():
            server.stop()

    rps = {name: statistics.median(values) for name, values in results.items()}
    us = {name: statistics.median(values) for name, values in cpu.items()}
    # (label, numerator server, denominator server, goal): each by req/s and by CPU per request.
    ratios = [
        ("plaudit vs bare", "plaudit", "bare", 0.67),
        ("claims vs bare", "claims", "bare", 0.67),
        ("plaudit vs pyjwt", "plaudit", "pyjwt", 2.0),
        ("fresh vs pyjwt-fresh", "fresh", "pyjwt-fresh", 0.5),
    ]
    report: dict[str, object] = {
        "requests_per_second": rps,
        "server_cpu_us_per_request": us,
        "errors": errors,
        "fresh_tokens_reused": reused,
        "ratios": {
            label: {
                "by_requests_per_second": rps[a] / rps[b],
                "by_server_cpu": us[b] / us[a],
                "goal_at_least": goal,
            }
            for label, a, b, goal in ratios
        },
        "client": args.client,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if not any(errors.values()) else 1
    print(
        f"GET /v1/auth/verify on 127.0.0.1, one uvicorn worker each, load from {args.client} "
        f"({args.connections} keep-alive connections), median of {args.rounds} rounds of "
        f"{args.seconds:.0f}s\n"
    )
    print(f"{'server':12} {'req/s':>10} {'server CPU us/req':>18} {'errors':>8}")
    for name in TARGETS:
        print(f"{name:12} {rps[name]:10.0f} {us[name]:18.1f} {errors[name]:8d}")
    print("\n(a vs b: a's speed as a multiple of b's; above 1.00x a is faster)")
    print(f"{'':22} {'by req/s':>9} {'by CPU/req':>11}   goal")
    for label, a, b, goal in ratios:
        print(f"{label:22} {rps[a] / rps[b]:8.2f}x {us[b] / us[a]:10.2f}x   at least {goal:.2f}x")
    if any(reused.values()):
        print(f"\nfresh tokens reused (a round ran out of new ones): {reused}")
    print("\nServer CPU per request is the steadier figure: the load client shares the machine.")
    return 0 if not any(errors.values()) else 1


def _requests(target: Target, tokens: list[str]) -> list[bytes]:
    headers = {"X-Plaudit-Product": target.product_header} if target.product_header else {}
    return [_request(target.path, {**headers, "Authorization": f"Bearer {t}"}) for t in tokens]


def _each_once(port: int, target: Target, tokens: list[str]) -> None:
    """Send each token once (one connection, in order) and insist on 200s."""

    async def run() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in _requests(target, tokens):
                writer.write(request)
                if await _read_response(reader) != 200:
                    raise RuntimeError(f"{target.path} refused a warm-up token")
        finally:
            writer.close()

    asyncio.run(run())


def _seed(env: dict[str, str]) -> None:
    """A product whose secret is SECRET, the way a tenant imports the secret it signs with."""
    code = textwrap.dedent(
        f"""
        from plaudit.cli.runtime import services
        from plaudit.products import hmac_secrets, service
        from plaudit.products.schemas import ProductSettings
        with services(migrate=True) as s, s.session() as session:
            created = service.create_product(session, box=s.box, name="Bench", product_id="bench")
            hmac_secrets.create_secret(session, created.product, box=s.box, value={SECRET!r},
                                  kid="bench", grace_seconds=0)
            service.update_product(session, created.product, ProductSettings(
                issuer={ISSUER!r}, audience={AUDIENCE!r}, published=True))
        """
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
