"""What every domain's demo shares: where the example data is, and the demo tenants."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from growthops.core.db import Database
from growthops.core.errors import ConfigError, NotFound


def examples_dir() -> Path:
    """Locate ``examples/data``: ``GROWTHOPS_EXAMPLES_DIR``, the working directory, or the repo.

    Raises :class:`ConfigError` when none exists.
    """
    candidates = [
        Path(os.environ["GROWTHOPS_EXAMPLES_DIR"]) if os.environ.get("GROWTHOPS_EXAMPLES_DIR") else None,
        Path.cwd() / "examples" / "data",
        Path(__file__).resolve().parents[3] / "examples" / "data",
    ]
    for c in candidates:
        if c is not None and c.is_dir():
            return c
    raise ConfigError("examples/data not found: run from the repository or set GROWTHOPS_EXAMPLES_DIR")


def ensure_tenant(db: Database, spec: dict[str, Any], *, reset: bool = False) -> Any:
    """Return the id of the tenant ``spec['client_key']``, creating it from ``spec`` if absent.

    ``spec``: the fields of :class:`~growthops.core.tenants.models.TenantIn` (strings are
    accepted). ``reset`` deletes the tenant first (with everything it owns, by cascade).
    """
    from growthops.core.tenants.models import TenantIn
    from growthops.core.tenants.service import create_tenant, resolve

    key = spec["client_key"]
    with db.app_tx() as conn:
        try:
            tid = resolve(conn, key)["tenant_id"]
        except NotFound:
            tid = None
    if tid is not None and reset:
        with db.admin() as conn:
            conn.execute("delete from core.tenants where tenant_id = %s", [tid])
        tid = None
    if tid is None:
        tid = create_tenant(db, TenantIn.model_validate(spec, strict=False)).tenant_id
    return tid
