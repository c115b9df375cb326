"""One outbound request, bounded: a total deadline, a size cap while streaming, no redirects.

JWKS downloads and webhook deliveries both come through ``fetch``. It never raises for what a
remote party does: a refused URL is ``UnsafeUrl`` (the tenant's input), everything else the
host can cause (slowness, a huge or garbled answer, a refused connection) is ``FetchFailed``
with a message fit to show the tenant. Redirects are never followed: the caller sees the 3xx.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Literal

import httpx

from .policy import check_url
from .transport import deadline


class FetchFailed(Exception):
    """The remote host gave nothing usable; ``message`` says why, in the tenant's terms."""

    def __init__(self, message: str, *, kind: str = "network") -> None:
        super().__init__(message)
        self.message = message
        #: "timeout", "too_large", "encoding" or "network".
        self.kind = kind


@dataclass(frozen=True)
class Fetched:
    status_code: int
    headers: httpx.Headers
    #: At most the cap; with ``over_cap="truncate"`` possibly cut short of the whole answer.
    body: bytes
    seconds: float


def fetch(
    client: httpx.Client,
    url: str,
    *,
    allow_private: bool,
    seconds: float,
    max_bytes: int,
    method: Literal["GET", "POST"] = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    over_cap: Literal["fail", "truncate"] = "fail",
) -> Fetched:
    """Send one request and read its answer, all within ``seconds`` and ``max_bytes``.

    The URL's form is checked here; its addresses are checked by the pinned transport of
    ``client`` when it connects (``transport.pinned_client``). Past ``max_bytes`` the read stops
    at once: ``over_cap="fail"`` raises, ``"truncate"`` keeps what fits (a webhook receiver's
    answer is only excerpted).
    """
    check_url(url, allow_private=allow_private, resolve_host=False)
    started = time.monotonic()
    request_headers = {"accept-encoding": "identity", **(headers or {})}
    try:
        with (
            deadline(seconds) as end,
            client.stream(
                method,
                url,
                content=content,
                headers=request_headers,
                # Per operation, for clients without a pinned transport; the deadline above
                # is what bounds the whole on a pinned one.
                timeout=httpx.Timeout(seconds),
                follow_redirects=False,
            ) as response,
        ):
            body = _read_capped(response, max_bytes=max_bytes, over_cap=over_cap, end=end)
    except httpx.TimeoutException:
        raise FetchFailed(
            f"No complete answer within {seconds:g} seconds.", kind="timeout"
        ) from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}"[:500]) from None
    return Fetched(
        status_code=response.status_code,
        headers=response.headers,
        body=body,
        seconds=time.monotonic() - started,
    )


def _read_capped(response: httpx.Response, *, max_bytes: int, over_cap: str, end: float) -> bytes:
    """The body, read chunk by chunk and never held past ``max_bytes`` (decoded, if the host
    compressed it although asked not to: a small gzip bomb stays small)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    decoder: zlib._Decompress | None
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(47)  # 47: zlib or gzip header, detected
    else:
        raise FetchFailed(
            f"The answer is encoded as {encoding!r}; Plaudit asked for none.", kind="encoding"
        )
    declared = response.headers.get("content-length", "")
    if over_cap == "fail" and declared.isdigit() and int(declared) > max_bytes and decoder is None:
        raise FetchFailed(f"The answer is larger than {max_bytes} bytes.", kind="too_large")
    body = bytearray()
    for raw in response.iter_raw():
        if time.monotonic() > end:  # a client without a pinned transport: checked per chunk
            raise FetchFailed("No complete answer in time.", kind="timeout")
        room = max_bytes - len(body)
        if decoder is None:
            chunk = raw[: room + 1]
        else:
            try:
                chunk = decoder.decompress(decoder.unconsumed_tail + raw, room + 1)
            except zlib.error:
                raise FetchFailed("The compressed answer is corrupt.", kind="encoding") from None
        body += chunk[:room]
        if len(chunk) > room:
            if over_cap == "truncate":
                break
            raise FetchFailed(f"The answer is larger than {max_bytes} bytes.", kind="too_large")
    return bytes(body)
