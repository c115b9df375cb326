"""A tenant's host on 127.0.0.1 that misbehaves on purpose: slow, dripping, huge, redirecting.

Each path is told what to do (``serve``, ``drip``, ``huge``, ``redirect``); the host counts
what it was asked, how many requests each path holds open at once, and how many bytes it got
out. Everything it does is bounded: a drip stops after ``seconds`` or when the host stops, a
huge answer stops at its size or when the reader goes away (it is generated, never held).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Behaviour:
    kind: str  # "json", "drip", "huge", "redirect"
    body: bytes = b""
    status: int = 200
    #: drip: seconds between bytes, and how long to go on at most.
    interval: float = 0.5
    seconds: float = 30.0
    #: huge: bytes to send.
    size: int = 0
    location: str = ""


@dataclass
class PathStats:
    hits: int = 0
    open: int = 0
    max_open: int = 0
    bytes_sent: int = 0
    arrivals: list[float] = field(default_factory=list)


class HostileHost:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.behaviours: dict[str, Behaviour] = {}
        self.stats: dict[str, PathStats] = {}
        self.stopping = threading.Event()
        #: Paths whose answers say Content-Encoding: gzip (their body is gzip already).
        self.gzip_paths: set[str] = set()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host._handle(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                host._handle(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- what a path does ---------------------------------------------------------------------

    def serve(self, path: str, document: Any, status: int = 200) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self._set(path, Behaviour("json", body=body, status=status))

    def drip(self, path: str, *, interval: float, seconds: float) -> str:
        """Answer 200 at once, then one byte every ``interval`` for ``seconds`` at most."""
        return self._set(path, Behaviour("drip", interval=interval, seconds=seconds))

    def huge(self, path: str, *, size: int) -> str:
        """Answer 200 with ``size`` bytes of a key set that never ends, no Content-Length."""
        return self._set(path, Behaviour("huge", size=size))

    def redirect(self, path: str, location: str) -> str:
        return self._set(path, Behaviour("redirect", status=302, location=location))

    def _set(self, path: str, behaviour: Behaviour) -> str:
        with self.lock:
            self.behaviours[path] = behaviour
        return self.base + path

    def stat(self, path: str) -> PathStats:
        with self.lock:
            return self.stats.setdefault(path, PathStats())

    def stop_dripping(self) -> None:
        """End every drip and huge answer in progress (before the server under test stops)."""
        self.stopping.set()

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- answering ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self.lock:
            behaviour = self.behaviours.get(path, Behaviour("json", b"not found", 404))
            stats = self.stats.setdefault(path, PathStats())
            stats.hits += 1
            stats.open += 1
            stats.max_open = max(stats.max_open, stats.open)
            stats.arrivals.append(time.monotonic())
        try:
            self._answer(handler, behaviour, stats)
        except OSError:
            pass  # the reader went away: what a capped or timed-out client does
        finally:
            with self.lock:
                stats.open -= 1

    def _answer(
        self, handler: BaseHTTPRequestHandler, behaviour: Behaviour, stats: PathStats
    ) -> None:
        out = handler.wfile
        if behaviour.kind in ("json", "redirect"):
            handler.send_response(behaviour.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(behaviour.body)))
            if behaviour.location:
                handler.send_header("Location", behaviour.location)
            if handler.path in self.gzip_paths:
                handler.send_header("Content-Encoding", "gzip")
            handler.end_headers()
            out.write(behaviour.body)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.close_connection = True
        handler.send_header("Connection", "close")  # the body ends when the host closes
        if behaviour.kind == "drip":
            handler.end_headers()
            out.flush()
            ends = time.monotonic() + behaviour.seconds
            while time.monotonic() < ends and not self.stopping.wait(behaviour.interval):
                out.write(b" ")
                out.flush()
                with self.lock:
                    stats.bytes_sent += 1
            return
        # huge: a key set that opens and never closes, generated chunk by chunk
        handler.end_headers()
        out.write(b'{"keys": [')
        sent = 0
        filler = b" " * CHUNK
        while sent < behaviour.size and not self.stopping.is_set():
            out.write(filler)
            sent += CHUNK
            with self.lock:
                stats.bytes_sent += CHUNK
