"""The posts and comments part of ``make demo``: a recurring post published on the local
Instagram server, comments polled, triaged and answered."""

from __future__ import annotations

from rich.console import Console

from growthops.inbox import posts_demo
from growthops.inbox.accounts import connect
from tests.conftest import new_tenant


def test_the_demo_publishes_polls_and_answers(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        connect(conn, tenant_id=t.tenant_id, platform="instagram", account_id=f"ig-{t.client_key}",
                connector="sandbox")
    console = Console(record=True, width=200)
    out = posts_demo.run(db, console, tenant_id=t.tenant_id, ig_account=f"ig-{t.client_key}",
                         lang="fr")
    assert out == {"published": 1, "comments": 5, "replies": 2}
    text = console.export_text()
    assert "FREQ=DAILY;COUNT=7" in text and "Oui, du 36 au 42" in text and "crédits restants" in text
    # a second run (make demo again, without --reset) works too
    assert posts_demo.run(db, Console(file=None, width=200), tenant_id=t.tenant_id,
                          ig_account=f"ig-{t.client_key}") == out
