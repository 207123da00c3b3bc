"""The demo's sync step: the sandbox account pulled through the same code as Meta and Google."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console

from growthops.ads.sync.run import sync_account
from growthops.core.i18n import N_, _

SYNC_DONE = N_("{tenant}: {platform} account synced for {first} … {last}: {fetched} rows read, "
               "{inserted} new, {updated} changed, {calls} API calls.")


def demo_sync(db: Any, console: Console, *, tenant_id: Any, tenant: str, now: datetime,
              lang: str = "en") -> None:
    """Sync every ad account of ``tenant_id`` at ``now`` (UTC) and print one line each."""
    from growthops.ads.sync.run import accounts_of

    for platform in accounts_of(db, tenant_id):
        res = sync_account(db, tenant_id=tenant_id, platform=platform, now=now, trigger="demo")
        console.print(_(lang, SYNC_DONE, tenant=tenant, platform=platform, first=res.date_from,
                        last=res.date_to, fetched=res.rows_fetched, inserted=res.rows_inserted,
                        updated=res.rows_updated, calls=res.api_calls))
