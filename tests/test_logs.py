"""Logs never carry a secret, even when a log call names one by mistake."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from plaudit import logs
from plaudit.settings import Settings


def test_fields_named_like_secrets_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """A token, secret or API key passed to a log call is printed as [redacted]."""
    logs.configure(Settings(log_json=True, log_level="info"))
    structlog.get_logger("test").info(
        "signed_in", token="eyJ.secret.sig", api_key="pk_1", user="u1"
    )
    err = capsys.readouterr().err
    assert "eyJ.secret.sig" not in err
    assert "pk_1" not in err
    assert '"token": "[redacted]"' in err
    assert '"user": "u1"' in err
    structlog.reset_defaults()


def test_values_shaped_like_credentials_are_cut_out_of_any_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A JWT, an API key, a webhook secret or a bearer credential inside an innocent-looking
    field (a message, a URL) is replaced by [redacted]; the rest of the text stays."""
    logs.configure(Settings(log_json=True, log_level="info"))
    structlog.get_logger("test").warning(
        "refused",
        url="https://x.test/cb?t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln",
        detail="key pk_live_0123456789abcdef and whsec_MDEyMzQ1Njc4OWFiY2RlZg==",
        header="Authorization: Bearer opaque-token-value",
    )
    err = capsys.readouterr().err
    for secret in ("eyJhbGci", "pk_live_0123", "whsec_MDEy", "opaque-token-value"):
        assert secret not in err
    assert "https://x.test/cb?t=[redacted]" in err
    structlog.reset_defaults()


def test_standard_library_lines_are_json_and_scrubbed_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn's own lines (through the standard library) come out as the same JSON."""
    logs.configure(Settings(log_json=True, log_level="info"))
    try:
        logging.getLogger("uvicorn.error").warning("bad header %s", "Bearer opaque-1234567")
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    line = json.loads(err.strip().splitlines()[-1])
    assert line["logger"] == "uvicorn.error"
    assert line["event"] == "bad header [redacted]"
