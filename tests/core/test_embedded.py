"""The embedded server: PostgreSQL 18, and a former PostgreSQL 16 directory refused before start."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthops.core.db import EMBEDDED_MAJOR, Database, check_embedded_data_dir
from growthops.core.errors import ConfigError, EmbeddedDataIncompatible
from growthops.settings import Settings


def _old_cluster(path: Path, version: str = "16") -> Path:
    """A fake data directory of another major version (only what the check reads, plus a file)."""
    path.mkdir(parents=True)
    (path / "PG_VERSION").write_text(f"{version}\n")
    (path / "base").mkdir()
    (path / "base" / "keep-me").write_text("user data")
    return path


def _untouched(path: Path, version: str = "16") -> bool:
    return (path / "PG_VERSION").read_text() == f"{version}\n" and (
        path / "base" / "keep-me"
    ).read_text() == "user data"


def test_the_session_server_is_postgresql_18(db: Database) -> None:
    with db.admin() as conn:
        num = conn.execute("show server_version_num").fetchone()["server_version_num"]
    assert num.startswith(EMBEDDED_MAJOR) and int(num) >= 180006
    assert (db.settings.pgdata / "PG_VERSION").read_text().strip() == EMBEDDED_MAJOR


def test_a_pgserver_directory_is_refused_before_anything_starts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_name="x", embedded_cleanup="stop")
    old = _old_cluster(settings.legacy_pgdata)
    d = Database(settings)
    with pytest.raises(EmbeddedDataIncompatible) as err:
        _ = d.admin_uri
    msg = str(err.value)
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 78
    assert str(old) in msg and "PostgreSQL 16" in msg and "PostgreSQL 18" in msg
    assert "dump" in msg and "restore" in msg and "growthops demo --reset" in msg
    assert str(settings.pgdata) in msg  # where a fresh start would go
    assert not settings.pgdata.exists()  # no server was started, no directory made
    assert _untouched(old)


def test_an_old_cluster_in_the_new_place_is_refused_too(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_name="x", embedded_cleanup="stop")
    old = _old_cluster(settings.pgdata, "16")
    with pytest.raises(EmbeddedDataIncompatible, match="move .* aside"):
        check_embedded_data_dir(settings, fresh_ok=True)  # --reset cannot reuse the same place
    assert _untouched(old)


def test_starting_fresh_leaves_the_old_directory_as_it_is(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_name="fresh", embedded_cleanup="stop")
    old = _old_cluster(settings.legacy_pgdata)
    check_embedded_data_dir(settings, fresh_ok=True)  # the user's word: no error
    d = Database(settings)
    d.allow_fresh_start()
    with d.admin() as conn:
        assert conn.execute("select current_database() as db").fetchone()["db"] == "fresh"
    assert (settings.pgdata / "PG_VERSION").read_text().strip() == EMBEDDED_MAJOR
    assert _untouched(old)
    # Once the new directory exists, the old one no longer blocks anyone.
    check_embedded_data_dir(settings, fresh_ok=False)
