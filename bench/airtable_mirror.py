"""Benchmark the Airtable mirror's sync against a local server in Airtable's wire format.

Run: ``.venv/bin/python bench/airtable_mirror.py [--suggestions N] [--changed C]``

1. One tenant in a fresh embedded database with N suggestions (created today), one decision,
   one winning pattern and two library ads; its mirror points at
   ``tests/connectors/airtable_server.py`` (pages of 100, batches of 10 enforced).
2. Times, at production pacing (5 requests per second per base, Airtable's limit):
   the first sync (every row created: the baseline), a second sync with nothing changed, and a
   sync after C suggestions changed.
Figures: seconds, requests and records per run, the ratio of each run's requests to the first,
and the most requests the server saw in any one-second window (must be ≤ 5).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tests.connectors.airtable_server import AirtableServer  # noqa: E402

from growthops.ads.airtable.mirror import configure  # noqa: E402
from growthops.ads.airtable.sync import sync_mirror  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.secrets import generate_key  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

TOKEN = "patBenchBenchBenc.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
BASE = "appBENCHBENCHBENC"


def main() -> None:
    """Parse flags, build the tenant, run the three syncs and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suggestions", type=int, default=1000)
    ap.add_argument("--changed", type=int, default=25)
    args = ap.parse_args()
    import os

    os.environ.setdefault("GROWTHOPS_SECRET_KEYS", generate_key())
    console = Console()
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-airtable-"))
    db = Database(
        Settings(
            data_dir=data_dir, database_name="growthops_bench_airtable", embedded_cleanup="stop"
        )
    )
    migrate(db)
    tid = create_tenant(
        db,
        TenantIn.model_validate(
            {"client_key": "benchair", "client_name": "Bench Airtable", "roi_target": "3.0"},
            strict=False,
        ),
    ).tenant_id
    with db.tenant_tx(tid) as conn:
        ids = [
            r["suggestion_id"]
            for r in conn.execute(
                """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                   expected_impact, texts, predicted_metrics, confidence, platform, entity_type,
                   entity_id, expires_at)
               select %s, current_date, 'scale', 'high', 'Scale ' || g, 'ROI 4.2x', '+9 leads',
                      '{}', '{}', 80, 'meta', 'adset', 'as' || g, %s
               from generate_series(1, %s) g returning suggestion_id""",
                [tid, datetime.now(UTC) + timedelta(hours=48), args.suggestions],
            ).fetchall()
        ]
        conn.execute(
            "insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by) "
            "values (%s, %s, 'approved', 'Alex')",
            [tid, ids[0]],
        )
        conn.execute(
            "insert into ads.winning_patterns (tenant_id, pattern_type, pattern_name) "
            "values (%s, 'angle', 'fear')",
            [tid],
        )
        conn.execute(
            "insert into ads.ads_library (tenant_id, ad_name, angle) values "
            "(%s, 'Fear hook', 'fear'), (%s, 'Logic hook', 'logic')",
            [tid, tid],
        )
    table = Table(
        "run",
        "seconds",
        "requests",
        "created",
        "updated",
        "unchanged",
        "requests / first run",
        title=f"Airtable mirror, {args.suggestions} suggestions",
    )
    with AirtableServer(TOKEN) as server:
        with db.tenant_tx(tid) as conn:
            configure(conn, tenant_id=tid, base_id=BASE, token=TOKEN, endpoint_url=server.url)
        first_calls = 0
        for label in (
            "first sync (baseline)",
            "second sync, nothing changed",
            f"after {args.changed} suggestions changed",
        ):
            if label.startswith("after"):
                with db.tenant_tx(tid) as conn:
                    conn.execute(
                        "update ads.suggestions set status = 'approved' where tenant_id = %s "
                        "and suggestion_id = any(%s)",
                        [tid, ids[: args.changed]],
                    )
            t0 = time.perf_counter()
            r = sync_mirror(db, tenant_id=tid)
            secs = time.perf_counter() - t0
            first_calls = first_calls or r.api_calls
            table.add_row(
                label,
                f"{secs:.2f}",
                str(r.api_calls),
                str(r.created),
                str(r.updated),
                str(r.unchanged),
                f"{r.api_calls / first_calls:.3f}",
            )
        starts = [q["at"] for q in server.requests]
        worst = max(sum(1 for s in starts if a <= s < a + 1.0) for a in starts)
    console.print(table)
    console.print(f"most requests seen by the server in one second: {worst} (Airtable's limit: 5)")
    db.close()


if __name__ == "__main__":
    main()
