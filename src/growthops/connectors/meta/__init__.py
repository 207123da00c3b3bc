"""Meta Marketing API connector (official ``facebook-business`` SDK): :class:`MetaAdAccount`."""

from __future__ import annotations

from growthops.connectors.meta.account import MetaAdAccount, platform_error

__all__ = ["MetaAdAccount", "platform_error"]
