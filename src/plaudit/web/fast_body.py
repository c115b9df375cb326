"""A request's JSON body for a route served ahead of FastAPI (``web/hotpath.py``), taken only
when FastAPI would have taken it too, unchanged.

FastAPI reads a JSON body in steps, and each step has an error of its own: a content type that
is not JSON is left as bytes (422 ``model_attributes_type``), a body that is not JSON is 422
``json_invalid`` before any dependency runs, a body that is not UTF-8 is 400, and a body that
parses but does not fit the model is 422 only after the dependencies (the token: 401, a rate:
429). Rather than copy each rule and its message, a hot route takes the plain case alone: a
``Content-Length`` body, sent as ``application/json``, that parses as a JSON object and fits
the model, which is where FastAPI would call the route with that model. Anything else is
``None``: the route declines the request and FastAPI serves it whole, body replayed, so that
its answer is FastAPI's own (tested side by side in tests/events/test_hot_events.py).
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

Model = TypeVar("Model", bound=BaseModel)
#: More brackets than this (so possibly nested this deep) and the body is FastAPI's to parse:
#: how deep ``json.loads`` follows depends on how deep the stack already is where it runs, and
#: the hot path's is shallower than FastAPI's, so a body nested near the limit parsed here and
#: was refused there (a 202 for FastAPI's 400). Any encoding writes each bracket as its byte.
MAX_BRACKETS = 256


async def json_model(request: Request, model: type[Model]) -> Model | None:
    """The body as ``model``, validated as FastAPI validates it (the parsed JSON, in Python
    mode), or ``None`` when FastAPI should serve the request instead."""
    if request.scope["query_string"]:  # its control-character guard is FastAPI's (identifiers)
        return None
    content_type = request.headers.get("content-type")
    # What FastAPI's content-type parsing (email.message's) would find, for the one type taken.
    if content_type is None or content_type.split(";", 1)[0].strip().lower() != (
        "application/json"
    ):
        return None
    if "content-length" not in request.headers or "transfer-encoding" in request.headers:
        return None  # a streamed body is counted by the body limits as it comes: FastAPI's
    try:
        body = await request.body()
    except Exception as error:  # as FastAPI answers a body it cannot read
        raise HTTPException(400, "There was an error parsing the body") from error
    if not body or body.count(b"[") + body.count(b"{") > MAX_BRACKETS:
        return None
    try:
        parsed = json.loads(body)  # what Starlette's Request.json() does
    except (ValueError, RecursionError):  # not JSON, not UTF-8, (never here) nested too deep:
        return None  # FastAPI's 422 or 400
    if not isinstance(parsed, dict):
        return None
    try:
        return model.model_validate(parsed)
    except ValidationError:
        return None
