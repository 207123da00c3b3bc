"""Rate limits of the public capture route, per client IP and per API key or form token.

Built on the ``limits`` library (https://limits.readthedocs.io, MIT): a moving-window limiter
over a storage named by URI (``memory://`` per process by default; ``redis://...`` or
``memcached://...`` to share limits between processes). Rates use its string notation
(``"120/minute"``) from the settings ``leads_rate_per_ip`` and ``leads_rate_per_key``.
:meth:`CaptureLimiter.hit` answers the seconds to wait (for ``Retry-After``, RFC 9110 §10.2.3)
or None when the request may pass.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class CaptureLimiter:
    """Moving-window limits per IP and per credential (key prefix or form token id)."""

    def __init__(self, *, per_ip: str, per_key: str, storage: str = "memory://") -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self.per_ip = parse(per_ip)
        self.per_key = parse(per_key)

    def hit(self, kind: str, ident: str) -> int | None:
        """Count one request of ``ident`` (``kind`` ip or key); return seconds to wait or None."""
        item = self.per_ip if kind == "ip" else self.per_key
        if self._limiter.hit(item, "leads-capture", kind, ident):
            return None
        reset, _ = self._limiter.get_window_stats(item, "leads-capture", kind, ident)
        return max(1, math.ceil(reset - time.time()))


_limiters: dict[tuple[str, str, str], CaptureLimiter] = {}
_lock = threading.Lock()


def limiter_for(settings: Any) -> CaptureLimiter:
    """Return the process's limiter for these settings (one per distinct configuration)."""
    key = (settings.leads_rate_per_ip, settings.leads_rate_per_key, settings.leads_rate_storage)
    with _lock:
        if key not in _limiters:
            _limiters[key] = CaptureLimiter(per_ip=key[0], per_key=key[1], storage=key[2])
        return _limiters[key]
