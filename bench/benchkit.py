"""What the benchmarks share: a uvicorn server in a process of its own, a PostgreSQL database
the benchmark may empty, a line about the machine.

The scripts of this folder take the folder off the front of ``sys.path`` (``bench/http.py``
would shadow the standard library's ``http``) and append it at the end, after the standard
library, to import this module.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

import plaudit.models  # noqa: F401  # every table, so that reset() drops them all
from plaudit.products.models import Product
from plaudit.store.base import Base
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
#: The ids of the products benchmarks make start with this.
PREFIX = "bench-"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``uvicorn APP`` on 127.0.0.1, one worker, in a process of its own."""

    def __init__(self, name: str, app: str, env: dict[str, str], cwd: Path) -> None:
        factory = app.startswith("plaudit.")
        self.name, self.port = name, free_port()
        # A file, not a pipe: nobody reads a pipe during the run, and a server that logs enough
        # to fill one would block on its next write and look hung.
        self.log = cwd / f"{name}.stderr"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                *(["--factory"] if factory else []),
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, headers: dict[str, str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                if httpx.get(self.base + path, headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer 200 on {path} within {timeout}s")

    def log_tail(self, size: int = 3000) -> str:
        return self.log.read_bytes()[-size:].decode(errors="replace")

    def cpu_seconds(self) -> float:
        """User plus system CPU the server process has used (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


def postgres_database(url: str, *, prefix: str = PREFIX) -> Database | str:
    """An empty, freshly migrated database at ``url``, or why not.

    Every Plaudit table is dropped, so it refuses a database holding products whose ids do not
    start with ``prefix`` (the benchmarks' own): a benchmark needs a database of its own.
    """
    shown = make_url(url).render_as_string(hide_password=True)
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            if inspect(connection).has_table("products"):
                foreign = connection.scalar(
                    select(func.count())
                    .select_from(Product)
                    .where(Product.id.not_like(f"{prefix}%"))
                )
                if foreign:
                    db.dispose()
                    return (
                        f"{shown} holds {foreign} product(s) the benchmark did not make; it "
                        "drops every Plaudit table, so give it a database of its own"
                    )
    except Exception as exc:  # any connection failure means "not here"
        db.dispose()
        return f"cannot connect to {shown}: {type(exc).__name__}: {str(exc).strip()[:200]}"
    reset(db)
    return db


def reset(db: Database) -> None:
    """Drop every Plaudit table and migrate again: an empty store at the current schema."""
    with db.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(db.engine)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


#: Debian's wrk: a load generator in C that a Python server cannot outrun (an asyncio client
#: tops out near what one Plaudit worker serves, so it would measure itself).
WRK = shutil.which("wrk")
#: What a wrk script's ``done`` prints: requests and errors (connect, read, write, non-2xx/3xx,
#: timeouts), for ``wrk`` to read.
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk(
    url: str, script: Path, arguments: list[str], seconds: float, connections: int
) -> tuple[int, int]:
    """wrk on one thread for ``seconds`` (whole seconds, at least 1), ``script`` (which ends
    with ``WRK_DONE``) given ``arguments``: (answered without error, errors)."""
    run = subprocess.run(  # noqa: S603  # wrk from the system, our own arguments
        [
            WRK or "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            url,
            "--",
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    found = re.search(r"^BENCH (\d+) (\d+)$", run.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk said: {run.stdout} {run.stderr}")
    total, errors = int(found.group(1)), int(found.group(2))
    return total - errors, errors
