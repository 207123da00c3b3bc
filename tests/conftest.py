"""Test fixtures: one embedded PostgreSQL per session, a template database built from the
migrations once, and databases cloned from it."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from growthops.core import db as dbmod
from growthops.core.db import Database
from growthops.core.migrate import migrate
from growthops.core.tenants.models import Tenant, TenantIn
from growthops.core.tenants.service import create_tenant
from growthops.settings import Settings, get_settings

TEMPLATE = "growthops_template"
_counter = itertools.count()
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def _clone(admin_base: str, name: str) -> None:
    with psycopg.connect(admin_base, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )


@pytest.fixture(scope="session")
def pg_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data directory of the session's embedded server (or unused with DATABASE_URL)."""
    return tmp_path_factory.mktemp("growthops-data")


@pytest.fixture(scope="session")
def template_db(pg_data_dir: Path) -> Database:
    """The template database, migrated once per session."""
    settings = Settings(data_dir=pg_data_dir, database_name=TEMPLATE, embedded_cleanup="stop")
    tdb = Database(settings)
    migrate(tdb)
    tdb.close()
    return tdb


def _make_db(template_db: Database, name: str) -> Database:
    base = psycopg.conninfo.make_conninfo(template_db.admin_uri, dbname="postgres")
    _clone(base, name)
    settings = Settings(data_dir=template_db.settings.data_dir, database_name=name, embedded_cleanup="stop")
    return Database(settings)


@pytest.fixture(scope="session")
def db(template_db: Database) -> Iterator[Database]:
    """A database shared by the session; tests isolate themselves by creating their own tenants.

    It is also the process default (``get_db()``), so the CLI invoked in-process uses it.
    """
    d = _make_db(template_db, "growthops_test")
    os.environ["GROWTHOPS_DATA_DIR"] = str(d.settings.data_dir)
    os.environ["GROWTHOPS_DATABASE_NAME"] = d.settings.database_name
    os.environ["GROWTHOPS_EMBEDDED_CLEANUP"] = "stop"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("GROWTHOPS_DATABASE_URL", None)
    get_settings.cache_clear()
    dbmod.reset_db()
    dbmod._db = d
    yield d
    d.close()


@pytest.fixture()
def fresh_db(template_db: Database) -> Iterator[Database]:
    """An empty, migrated database of its own (for tests that need to see every tenant)."""
    d = _make_db(template_db, f"growthops_fresh_{next(_counter)}")
    yield d
    d.close()


def new_tenant(database: Database, **overrides: object) -> Tenant:
    """Create a tenant with a unique key; ``overrides`` set any TenantIn field."""
    key = overrides.pop("client_key", None) or f"t{uuid.uuid4().hex[:10]}"
    fields: dict[str, object] = {
        "client_key": key,
        "client_name": f"Tenant {key}",
        "roi_target": Decimal("3.0"),
        "currency": "EUR",
        "time_zone": "Europe/Paris",
    }
    fields.update(overrides)
    return create_tenant(database, TenantIn.model_validate(fields, strict=False))


@pytest.fixture()
def tenant(db: Database) -> Tenant:
    """A new tenant in the shared database."""
    return new_tenant(db)
