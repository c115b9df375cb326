"""Requests per second of ``GET /v1/auth/verify`` beside two references, measured in one run.

    python bench/http.py [--seconds 3] [--rounds 3] [--connections 16] [--quick] [--json]

Three servers run as separate uvicorn processes on 127.0.0.1 (one worker each, same settings):

``bare``      a bare Starlette endpoint returning a small fixed JSON body: the ceiling
``pyjwt``     a bare Starlette endpoint that checks the same token with ``jwt.decode`` (HS256,
              with iss/aud/exp/iat/required claims) and returns its claims
``plaudit``   Plaudit's full app, ``GET /v1/auth/verify``: a repeated token, answered from the
              product's verified-token cache (no database), as a widget's repeated calls are
``plaudit-fresh``  the same endpoint with a new token per request (verification, routing and the
              user-mapping write to SQLite every time): what a first sight costs

The load comes from this process: an asyncio client holding ``--connections`` keep-alive
connections, each sending one request at a time. Rounds interleave the servers and the median
round is reported, with ratios against the references, because these machines are noisy. The
client shares the machine, so absolute numbers understate every server alike.
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

import jwt as pyjwt

from benchkit import ROOT, Server

SECRET = "bench-secret-" + "s" * 51  # 64 bytes: HS256..HS512
ISSUER, AUDIENCE = "bench-tenant", "bench"

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


def token(sub: str, now: int) -> str:
    return pyjwt.encode(
        {
            "sub": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "scope": ["read", "write"],
        },
        SECRET,
        algorithm="HS256",
    )


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="one short round (smoke test)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 0.5, 1

    now = int(time.time())
    work = Path(tempfile.mkdtemp(prefix="plaudit-bench-"))
    (work / "reference_app.py").write_text(REFERENCE_APP)
    env = {
        **os.environ,
        "PYTHONPATH": f"{work}:{ROOT / 'src'}",
        "PLAUDIT_DATA_DIR": str(work / "data"),
        "PLAUDIT_ADMIN_TOKEN": "bench-admin-" + "a" * 24,
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    _seed(env)

    fixed = token("user_1", now)
    fresh = [
        _request("/v1/auth/verify", {"Authorization": f"Bearer {token(f'u{i}', now)}"})
        for i in range(20_000)
    ]
    targets = {
        "bare": ("reference_app:app", "/bare", [_request("/bare", {})]),
        "pyjwt": (
            "reference_app:app",
            "/pyjwt",
            [_request("/pyjwt", {"Authorization": f"Bearer {fixed}"})],
        ),
        "plaudit": (
            "plaudit.app:app_from_environment",
            "/v1/auth/verify",
            [_request("/v1/auth/verify", {"Authorization": f"Bearer {fixed}"})],
        ),
        "plaudit-fresh": ("plaudit.app:app_from_environment", "/v1/auth/verify", fresh),
    }
    servers = {name: Server(name, app, env, work) for name, (app, _, _) in targets.items()}
    results: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    errors: dict[str, int] = dict.fromkeys(targets, 0)
    try:
        for name, (_, path, _) in targets.items():
            servers[name].wait_ready(path, {"Authorization": f"Bearer {fixed}"})
        for round_no in range(args.rounds):
            order = (
                list(targets)[round_no % len(targets) :] + list(targets)[: round_no % len(targets)]
            )
            for name in order:
                requests = targets[name][2]
                asyncio.run(_load(servers[name].port, requests[:200], 0.2, 4))  # warm
                before = servers[name].cpu_seconds()
                ok, bad = asyncio.run(
                    _load(servers[name].port, requests, args.seconds, args.connections)
                )
                results[name].append(ok / args.seconds)
                cpu[name].append((servers[name].cpu_seconds() - before) / max(ok, 1) * 1e6)
                errors[name] += bad
    finally:
        for server in servers.values():
            server.stop()

    rps = {name: statistics.median(values) for name, values in results.items()}
    us = {name: statistics.median(values) for name, values in cpu.items()}
    report = {
        "requests_per_second": rps,
        "server_cpu_us_per_request": us,
        "errors": errors,
        "plaudit_vs_pyjwt": rps["plaudit"] / rps["pyjwt"],
        "bare_vs_plaudit": rps["bare"] / rps["plaudit"],
        "cpu_pyjwt_vs_plaudit": us["pyjwt"] / us["plaudit"],
        "cpu_plaudit_vs_bare": us["plaudit"] / us["bare"],
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if not any(errors.values()) else 1
    print(
        f"GET /v1/auth/verify on 127.0.0.1, one uvicorn worker each, {args.connections} "
        f"keep-alive connections, median of {args.rounds} rounds of {args.seconds:.1f}s\n"
    )
    print(f"{'server':16} {'req/s':>10} {'server CPU us/req':>18} {'errors':>8}")
    for name in targets:
        print(f"{name:16} {rps[name]:10.0f} {us[name]:18.1f} {errors[name]:8d}")
    print("\n                           by req/s   by server CPU")
    print(
        f"plaudit vs pyjwt endpoint  {report['plaudit_vs_pyjwt']:7.2f}x  "
        f"{report['cpu_pyjwt_vs_plaudit']:12.2f}x   (goal: at least 2x)"
    )
    print(
        f"bare vs plaudit            {report['bare_vs_plaudit']:7.2f}x  "
        f"{report['cpu_plaudit_vs_bare']:12.2f}x   (goal: at most 1.5x)"
    )
    print("\nServer CPU per request is the steadier figure: the load client shares the machine.")
    return 0 if not any(errors.values()) else 1


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
