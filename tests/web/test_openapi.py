"""The OpenAPI document is true: generated requests get only documented answers.

Schemathesis generates requests from /openapi.json for every operation and checks each answer
against the document: a documented status code, the declared content type, a body matching its
schema, and never a server error. Management calls carry the admin token and client calls a
valid user token, so the generated data reaches the handlers instead of stopping at the door.

One check is left out: that every schema-valid body is accepted. A key must also be a real key,
a referral code a real code; rules a JSON schema cannot say are answered 422 with `field`.
"""

from __future__ import annotations

from typing import Any

import jwt
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.service import ADMIN_TOKEN, NOW, create_product


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _exercise(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    # derandomize: the same examples every run, so CI never fails on a case it never saw
    # before; widen max_examples locally to explore.
    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    run()


def test_every_operation_answers_as_documented(client: TestClient) -> None:
    """Every operation, fed schema-conforming requests, answers as /openapi.json says."""
    product = create_product(client, id="acme")
    user_token = jwt.encode(
        {"sub": "u1", "iss": "t", "aud": "acme", "iat": int(NOW), "exp": int(NOW) + 3600},
        product["secret"]["value"],
        algorithm="HS256",
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    for operation in _operations(schema):
        security = operation.definition.raw.get("security") or []
        names = {name for requirement in security for name in requirement}
        token = user_token if names == {"userToken"} else ADMIN_TOKEN
        try:
            _exercise(operation, {"Authorization": f"Bearer {token}", "X-Plaudit-Product": "acme"})
        except Exception as exc:  # collected, so one run reports them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
