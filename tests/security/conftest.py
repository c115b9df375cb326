"""The two tenants the hostile reviews set against each other: products made in the store,
with their secrets and API keys (a test file may make its own instead)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import Clock
from tests.support.tenant import Tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


@pytest.fixture
def rival(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="rival"), clock)
