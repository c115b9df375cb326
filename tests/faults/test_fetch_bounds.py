"""One fetch, bounded, against hostile hosts in this process: a drip ends at the total deadline
however steadily it drips, a huge answer stops at the cap, a redirect is never followed."""

from __future__ import annotations

import gzip
import ssl
import time
from collections.abc import Iterator

import httpx
import pytest

from plaudit.outbound import FetchFailed, fetch, pinned_client
from plaudit.products import jwks

from .hosts import HostileHost

#: The drip below would take 100 s to send 200 bytes; the deadline is 1.5 s. Bound: 1.5 s + 2 s.
DEADLINE = 1.5
DEADLINE_SLACK = 2.0


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with pinned_client(allow_private=True, ssl_context=ssl.create_default_context()) as pinned:
        yield pinned


def test_a_drip_ends_at_the_total_deadline_not_per_read(
    client: httpx.Client, host: HostileHost
) -> None:
    """A host sending one byte every 0.2 s (each read well within any per-read timeout) is cut
    off at the fetch's total deadline, within 1.5 s + 2 s."""
    url = host.drip("/drip", interval=0.2, seconds=30)
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        fetch(client, url, allow_private=True, seconds=DEADLINE, max_bytes=1000)
    took = time.monotonic() - started
    assert failed.value.kind == "timeout"
    assert took < DEADLINE + DEADLINE_SLACK, took
    assert host.stat("/drip").bytes_sent >= 3, "the host was dripping, not silent"


def test_a_huge_answer_stops_at_the_cap_while_it_streams(
    client: httpx.Client, host: HostileHost
) -> None:
    """300 MB offered with no Content-Length: the read stops past 64 KB, the host gets out a
    few MB at most (socket buffers), and nothing more is read."""
    url = host.huge("/huge", size=300 * 1024 * 1024)
    with pytest.raises(FetchFailed) as failed:
        fetch(client, url, allow_private=True, seconds=10, max_bytes=64 * 1024)
    assert failed.value.kind == "too_large"
    time.sleep(0.2)  # let the host notice the closed connection
    assert host.stat("/huge").bytes_sent < 16 * 2**20


def test_a_compressed_answer_is_capped_by_what_it_expands_to(
    client: httpx.Client, host: HostileHost
) -> None:
    """A 10 KB gzip body that expands to 10 MB is refused at the cap, not expanded whole."""
    bomb = gzip.compress(b" " * 10 * 2**20)
    assert len(bomb) < 20_000
    url = host.serve("/bomb", bomb)
    host.gzip_paths.add("/bomb")
    with pytest.raises(FetchFailed) as failed:
        fetch(client, url, allow_private=True, seconds=10, max_bytes=256 * 1024)
    assert failed.value.kind == "too_large"


def test_a_redirect_is_not_followed(client: httpx.Client, host: HostileHost) -> None:
    """A JWKS URL answering 302 is an error naming the status; the target is never asked."""
    target = host.serve("/elsewhere", {"keys": []})
    url = host.redirect("/jwks", target)
    document, error = jwks.download(url, client=client, allow_private=True)
    assert document is None
    assert error == "the server answered HTTP 302"
    assert host.stat("/elsewhere").hits == 0
