"""Logs never carry a secret, even when a log call names one by mistake."""

from __future__ import annotations

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
