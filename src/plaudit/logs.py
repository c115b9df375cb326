"""Logging: structlog over the standard library, JSON or console, with a request id, never a
secret.

Every line, Plaudit's and uvicorn's alike, goes through the same processors: the request id of
the request being served (``REQUEST_ID``, set by ``plaudit.operations.requests``), then two
guards. Nothing in Plaudit logs a token, a secret or a key; the guards are a second line of
defence should a future log call pass one by mistake: a field named like a credential is
printed as ``[redacted]``, and a value shaped like one (a JWT, an API key, a webhook secret, a
bearer credential) is cut out of any text, exception tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

from plaudit.settings import Settings

_SENSITIVE = (
    "token",
    "secret",
    "password",
    "authorization",
    "api_key",
    "apikey",
    "key",
    "cookie",
    "credential",
)
#: Values shaped like credentials: a compact JWS/JWT, Plaudit's API keys (pk_) and development
#: admin tokens (adm_), Standard Webhooks secrets (whsec_), and whatever follows "Bearer".
_CREDENTIAL = re.compile(
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"
    r"|\b(?:pk|adm)_[A-Za-z0-9_-]{8,}"
    r"|\bwhsec_[A-Za-z0-9+/=]{8,}"
    r"|(?i:bearer)\s+[^\s\"',;]+"
)
REDACTED = "[redacted]"

#: The id of the request being served, for every line logged while serving it.
REQUEST_ID: ContextVar[str | None] = ContextVar("plaudit_request_id", default=None)

#: Loggers that uvicorn gives handlers of its own: their lines join ours instead. Not
#: uvicorn.access: its lines carry raw paths and queries; PLAUDIT_ACCESS_LOG logs route
#: templates instead (plaudit.operations.requests).
_UVICORN = ("uvicorn", "uvicorn.error")


def _request_id(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _redact(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name in list(event):
        lowered = name.lower()
        if name != "event" and any(word in lowered for word in _SENSITIVE):
            event[name] = REDACTED
        elif isinstance(event[name], str):
            event[name] = scrub(event[name])
    return event


def scrub(text: str) -> str:
    """``text`` with anything shaped like a credential replaced by ``[redacted]``."""
    return _CREDENTIAL.sub(REDACTED, text)


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _request_id,
        _redact,
    ]


def configure(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # The standard library's lines (uvicorn's, a library's) are rendered by the same chain.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_processors()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _scrub_rendered_exception,
                renderer,
            ],
        )
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in _UVICORN:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    structlog.configure(
        processors=[
            *_processors(),
            structlog.processors.format_exc_info,
            _scrub_rendered_exception,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def _scrub_rendered_exception(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # A traceback quotes exception messages, and a message may quote what it refused.
    exception = event.get("exception")
    if isinstance(exception, str):
        event["exception"] = scrub(exception)
    return event
