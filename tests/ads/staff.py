"""A growthops user who may decide suggestions, for command-line tests (``--by`` takes a user's
e-mail, never a free-text name: growthops.ads.cli.identity)."""

from __future__ import annotations

import uuid
from typing import Any


def staff(db: Any, name: str, role: str = "media_buyer") -> str:
    """Create an active ``role`` user ``<name>-<random>@agency.test``; return its e-mail."""
    from growthops.core.auth.users import create_user

    email = f"{name}-{uuid.uuid4().hex[:8]}@agency.test"
    create_user(db, email=email, password="correct-horse-battery-staple-9", role=role)
    return email
