"""A served run's log, at debug level, holds no credential it was handed: the admin token, an
API key, a product secret, user tokens (good and refused), a webhook secret, the metrics token,
a console session cookie. Every line is JSON (uvicorn's too), and the lines written while
serving a request carry its id."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from plaudit.settings import Settings
from tests.support.served import Server
from tests.support.service import ADMIN_TOKEN, NOW, standard_claims

METRICS_TOKEN = "metrics-" + "q" * 32
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = [pytest.mark.committed, pytest.mark.slow]


def _credentials_used(base: str) -> list[str]:
    """Drive the served app with every kind of credential; return each one it was handed."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    used = [ADMIN_TOKEN, METRICS_TOKEN]
    with httpx.Client(base_url=base, timeout=10) as http:
        product = http.post("/v1/products", json={"name": "Acme", "id": "acme"}, headers=admin)
        assert product.status_code == 201, product.text
        created = product.json()
        secret, api_key = created["secret"]["value"], created["api_key"]
        used += [secret, api_key]
        now = int(time.time())
        good = jwt.encode(
            standard_claims("acme", iat=now, email="ada@example.com"), secret, algorithm="HS256"
        )
        forged = jwt.encode(standard_claims("acme", iat=now), "not-the-secret" * 4, "HS256")
        expired = jwt.encode(
            standard_claims("acme", iat=NOW - 7200, exp=int(NOW) - 3600), secret, "HS256"
        )
        used += [good, forged, expired, good.split(".")[2]]
        for token in (good, forged, expired):
            http.get("/v1/auth/verify", headers={"Authorization": f"Bearer {token}"})
        http.get("/v1/auth/verify", headers={"X-Plaudit-User-Token": forged})
        http.get(f"/v1/auth/verify?token={forged}")
        http.post(
            "/v1/events",
            json={"type": "signed_up"},
            headers={"Authorization": f"Bearer {good}", "X-Plaudit-Product": "acme"},
        )
        http.get("/v1/products/acme", headers={"Authorization": f"Bearer {api_key}"})
        http.get("/v1/products/acme", headers={"Authorization": f"Bearer {api_key}x"})
        hook = http.post(
            "/v1/products/acme/webhooks",
            headers=admin,
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["points.earned"]},
        )
        assert hook.status_code == 201, hook.text
        used.append(hook.json()["secret"])
        assert http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).is_success
        http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}0"})
        page = http.get("/console/sign-in")
        signed_in = http.post(
            "/console/sign-in",
            data={
                "csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
                "credential": ADMIN_TOKEN,
                "next": "/console/products",
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        session = signed_in.cookies["plaudit_console"]
        used.append(session)
        for cookie in (session, "forged-cookie-value-1"):
            http.get("/console/products", headers={"Cookie": f"plaudit_console={cookie}"})
        used.append("forged-cookie-value-1")
    return used


def test_a_served_run_logs_no_credential(settings: Settings, tmp_path: Path) -> None:
    """Grep the log of a run that was handed every kind of credential: none is in it."""
    log = tmp_path / "serve.log"
    server = Server(
        {
            **os.environ,
            "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
            "PLAUDIT_MASTER_KEY": settings.master_key or "",
            "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
            "PLAUDIT_METRICS_TOKEN": METRICS_TOKEN,
            "PLAUDIT_DATA_DIR": str(tmp_path),
            "PLAUDIT_ALLOW_PRIVATE_URLS": "true",
            "PLAUDIT_LOG_JSON": "true",
            "PLAUDIT_LOG_LEVEL": "debug",
            "PLAUDIT_ACCESS_LOG": "true",
        },
        log,
    )
    try:
        server.wait_ready(time.monotonic() + 30)
        used = _credentials_used(server.base)
    finally:
        server.stop()
    text = log.read_text()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line]
    assert lines, "the run logged nothing: the test would prove nothing"
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) >= 15, "the access log is on: a line per request"
    assert len({line["request_id"] for line in requests}) == len(requests)
    assert any(
        line["route"] == "/v1/products/{product_id}" and line["status"] == 401 for line in requests
    )
    leaked = [credential[:12] + "..." for credential in used if credential in text]
    assert not leaked, f"credentials in the log: {leaked}"
