"""The service under test, on SQLite and on PostgreSQL: every test here runs on both stores.

The schema is made once per store by the real Alembic migrations; each test then starts from
empty tables. Time is a pinned clock that tests move by hand.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from plaudit.app import create_app
from plaudit.cli import app as cli_app
from plaudit.cli.runtime import console as cli_console
from plaudit.settings import Settings
from plaudit.store.base import Base
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade
from tests.conftest import missing_backend

from .local_http import LocalServer

ADMIN_TOKEN = "adm_test_" + "x" * 32
NOW = 1_764_000_000.0


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _reset_schema(db: Database) -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Everything, including tables another branch's run left behind in this database.
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(db.engine)


def worker_database(url: str) -> str:
    """The database this test process may empty: PLAUDIT_TEST_POSTGRES_URL's own, or under
    pytest-xdist one per worker beside it (``<name>_gw0``, ...), created on first use, so that
    `pytest -n 2` never has two workers dropping each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    given = make_url(url)
    own = given.set(database=f"{given.database}_{worker}")
    admin = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(str(own.database))
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "postgres":
        url = os.environ.get("PLAUDIT_TEST_POSTGRES_URL")
        if not url:
            missing_backend("postgres", "set PLAUDIT_TEST_POSTGRES_URL (.ci/run does)")
        try:
            db = Database(worker_database(url))
            with db.engine.connect():
                pass
        except Exception as exc:  # any connection failure means "not here"
            missing_backend("postgres", f"cannot connect: {type(exc).__name__}")
    else:
        db = Database(f"sqlite:///{tmp_path_factory.mktemp('store') / 'plaudit.db'}")
    _reset_schema(db)
    yield db
    db.dispose()


class RolledBack(Database):
    """The store seen through one connection whose transaction ends rolled back: every session
    opened on it, the app's included, is a SAVEPOINT inside that transaction (SQLAlchemy's
    "joining a Session into an external transaction" recipe, as pypi/warehouse's tests use).
    A session's commit releases its savepoint, its rollback rolls back to it; nothing reaches
    the store, so the next test starts from empty tables without a DELETE."""

    def __init__(self, store: Database, connection: Connection) -> None:
        # Not Database.__init__: sessions and connections are the test's one connection's.
        self.url = store.url
        self.engine = cast(Engine, _OneConnection(store.engine, connection))
        self.sessions = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    def dispose(self) -> None:
        """The store outlives the test: its engine is not this test's to close."""


class _OneConnection:
    """The store's engine, except that a connection asked of it is the test's own, inside a
    SAVEPOINT: on SQLite a second connection would wait for the write lock the test holds."""

    def __init__(self, engine: Engine, connection: Connection) -> None:
        self._engine = engine
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._connection.begin_nested():
            yield self._connection

    begin = connect


def _empty(store: Database) -> None:
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


#: PLAUDIT_TEST_ISOLATION=delete commits every test and empties the tables with DELETE: to
#: tell a product bug from an artefact of the rolled-back transaction, and to time the two.
ALWAYS_DELETE = os.environ.get("PLAUDIT_TEST_ISOLATION", "rollback") == "delete"


def commits(request: pytest.FixtureRequest) -> bool:
    """Whether a test needs real commits: another connection or process reads what it wrote
    (the `plaudit` command, a served process, racing threads, the app's background loops)."""
    return (
        ALWAYS_DELETE
        or request.node.get_closest_marker("committed") is not None
        or "cli" in request.fixturenames
    )


@pytest.fixture
def db(store: Database, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The store for one test, which starts from empty tables and leaves them empty: rolled
    back at its end, or (a test marked ``committed``) emptied with DELETE before and after."""
    if commits(request):
        _empty(store)
        try:
            yield store
        finally:
            _empty(store)
        return
    with store.engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield RolledBack(store, connection)
        finally:
            transaction.rollback()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=db.url,
        admin_token=ADMIN_TOKEN,
        master_key=Fernet.generate_key().decode(),
        allow_private_urls=True,
        public_url="http://plaudit.test",
        jwks_min_refetch_seconds=0,
    )


@pytest.fixture
def client(settings: Settings, db: Database, clock: Clock) -> Iterator[TestClient]:
    app = create_app(settings, db=db, clock=clock, background=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def create_product(client: TestClient, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme")
    response = client.post("/v1/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- helpers shared by the service tests --------------------------------------------------


def verify(client: TestClient, token: str, **headers: str) -> Any:
    """GET /v1/auth/verify with ``token`` as a Bearer credential and any extra headers."""
    return client.get("/v1/auth/verify", headers={**bearer(token), **headers})


def product_header(product_id: str) -> dict[str, str]:
    return {"X-Plaudit-Product": product_id}


def standard_claims(
    product_id: str, *, sub: str = "user_123", iat: float = NOW, **extra: Any
) -> dict[str, Any]:
    """The gamification guide's payload, with the product as its audience."""
    return {
        "sub": sub,
        "iss": "tenant-1",
        "aud": product_id,
        "iat": int(iat),
        "exp": int(iat) + 3600,
        "scope": ["read", "write"],
        **extra,
    }


@dataclass(frozen=True)
class RsaPair:
    private_pem: str
    public_pem: str


def _rsa_pair(bits: int = 2048) -> RsaPair:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return RsaPair(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        public_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


@pytest.fixture(scope="session")
def rsa_pair() -> RsaPair:
    """An RSA 2048 key pair, as the loyalty guide's openssl commands make one."""
    return _rsa_pair()


@pytest.fixture(scope="session")
def rsa_pair_2() -> RsaPair:
    """A second RSA key pair, for rotation."""
    return _rsa_pair()


class JwksServer(LocalServer):
    """Serves what a test sets, and counts what it is asked."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        super().__init__()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        self.hits[path] = self.hits.get(path, 0) + 1
        return self.routes.get(path, (404, b"not found"))

    def serve(self, path: str, document: Any, status: int = 200) -> str:
        import json

        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, body)
        return self.base + path


@pytest.fixture(scope="session")
def _jwks_httpd() -> Iterator[JwksServer]:
    server = JwksServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def jwks_server(_jwks_httpd: JwksServer) -> JwksServer:
    """The local JWKS server, serving nothing and having been asked nothing yet."""
    _jwks_httpd.routes.clear()
    _jwks_httpd.hits.clear()
    return _jwks_httpd


# --- the `plaudit` command on the test store ----------------------------------------------

Run = Callable[..., Any]


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run `plaudit ...` against the test store, asserting it never prints a traceback."""
    # Tables 200 wide even where the console was made (at import) under a narrower COLUMNS,
    # as in an xdist worker; restored exactly (None: follow COLUMNS) for the tests after.
    monkeypatch.setattr(cli_console, "_width", 200)
    runner = CliRunner()
    env = {
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": settings.admin_token or "",
        "PLAUDIT_PUBLIC_URL": settings.resolved_public_url,
        "COLUMNS": "200",
    }

    def run(*args: str, exit_code: int = 0, input: str | None = None, **extra_env: str) -> Any:
        result = runner.invoke(cli_app, list(args), input=input, env={**env, **extra_env})
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert result.exit_code == exit_code, result.output
        return result

    return run


def cli_json(result: Any) -> Any:
    """A command's --json output."""
    return json.loads(result.stdout)


def cli_error_line(result: Any, code: str) -> str:
    """The one line a refused command prints on stderr: `error: ... (code)  hint: ...`."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert f"({code})" in lines[0]
    return lines[0]


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, db: Database, clock: Clock) -> Iterator[MakeClient]:
    """A TestClient on an app with these settings changed; ``address`` is the client's IP."""
    with ExitStack() as stack:

        def make(address: str = "203.0.113.7", **changes: Any) -> TestClient:
            app = create_app(
                settings.model_copy(update=changes), db=db, clock=clock, background=False
            )
            return stack.enter_context(
                TestClient(app, raise_server_exceptions=False, client=(address, 50000))
            )

        yield make
