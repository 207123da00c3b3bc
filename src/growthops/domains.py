"""The installed domains, in the order their pages, commands and demos appear.

Composition roots (:mod:`growthops.app`, :mod:`growthops.cli`, :mod:`growthops.worker`,
:mod:`growthops.demo`) call :func:`installed`; nothing else imports a domain by name. Adding a
domain is adding its package name to :data:`INSTALLED` (see ``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
from functools import cache

from growthops.core.domains import Domain

#: Package names of the installed domains; each exposes ``DOMAIN`` (:class:`Domain`).
INSTALLED: tuple[str, ...] = ("growthops.ads", "growthops.inbox", "growthops.leads")


@cache
def installed() -> tuple[Domain, ...]:
    """Return the :class:`Domain` of every package in :data:`INSTALLED`, in order."""
    return tuple(importlib.import_module(name).DOMAIN for name in INSTALLED)
