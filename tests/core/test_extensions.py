"""Optional extensions: all four on the embedded server; a missing one is reported, not fatal."""

from __future__ import annotations

from typer.testing import CliRunner

from growthops.cli import app
from growthops.core import dbinfo
from growthops.core.db import Database
from growthops.core.extensions import WANTED, available_extensions, ensure_extensions
from growthops.core.migrate import migrate


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_the_embedded_server_has_every_wanted_extension(db: Database) -> None:
    with db.admin() as conn:
        ext = available_extensions(conn)
    assert set(ext) == {"unaccent", "pg_trgm", "vector", "btree_gist", "btree_gin"} == set(WANTED)
    assert _version_tuple(ext["vector"].version) >= (0, 8)  # iterative index scans
    # The application role sees them and can use them.
    with db.app_tx() as conn:
        assert set(available_extensions(conn)) == set(WANTED)
        row = conn.execute(
            "select unaccent('Hôtel café') as u, similarity('Dupont', 'Dupond') as s, "
            "'[1,2]'::vector <-> '[1,3]'::vector as d"
        ).fetchone()
    assert row["u"] == "Hotel cafe" and 0 < row["s"] < 1 and row["d"] == 1.0


def test_an_unavailable_extension_is_reported_and_the_others_still_created(
    fresh_db: Database,
) -> None:
    with fresh_db.admin() as conn:
        conn.execute("drop extension btree_gist")
        assert "btree_gist" not in available_extensions(conn)
        out = ensure_extensions(conn, ("no_such_extension", "btree_gist"))
        assert out["btree_gist"] is None
        assert out["no_such_extension"] and "no_such_extension" in out["no_such_extension"]
        assert "btree_gist" in available_extensions(conn)
        # cascade: the leads trigram index (0060_prospects) depends on it
        conn.execute("drop extension pg_trgm cascade")
    assert migrate(fresh_db) == []  # nothing pending, yet migrate puts pg_trgm back
    with fresh_db.admin() as conn:
        assert "pg_trgm" in available_extensions(conn)


def test_db_status_shows_server_extensions_and_migrations(db: Database, monkeypatch) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["db", "status"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "server_version" in out and "18." in out and "embedded" in out
    st = dbinfo.db_status(db)
    for e in st.extensions:
        assert e.version and e.version in out
    applied = [m for m in st.migrations if m.applied]
    assert [m.id for m in st.migrations][:2] == ["0001_core", "0002_ads"]
    assert len(applied) == len(st.migrations)  # the session database is fully migrated
    first = st.migrations[0]
    assert first.applied_at is not None and first.applied_at.strftime("%Y-%m-%d %H:%M") in out
    # An extension missing on an external server: named with what degrades, in French too.
    monkeypatch.setattr(
        dbinfo,
        "available_extensions",
        lambda conn: {k: v for k, v in available_extensions(conn).items() if k != "pg_trgm"},
    )
    res = runner.invoke(app, ["db", "status", "--lang", "fr"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "absente (la détection floue des doublons" in " ".join(res.output.split())
