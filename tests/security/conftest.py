"""The security suite's world: the API tests' two tenants (tests/api/conftest.py), rebuilt once
for this package, plus helpers to make apps with chosen limits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from growthops.app import create_app
from growthops.core.db import Database
from tests.api.conftest import World
from tests.api.conftest import world as _world  # noqa: F401 (the fixture, package-scoped here)

world = _world


def app_client(db: Database, **settings: Any) -> TestClient:
    """A TestClient on a new app (fresh rate-limit counters) with ``settings`` overridden."""
    conf = db.settings.model_copy(update=settings)
    return TestClient(create_app(conf, db=db))


@pytest.fixture()
def anon(world: World) -> TestClient:
    return world.client()
