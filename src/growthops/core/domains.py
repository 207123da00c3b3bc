"""What a domain (ads, leads, inbox) declares about itself, for the composition roots.

Each domain package exposes one :class:`Domain` as ``DOMAIN`` in its ``__init__.py``. The
composition roots (:mod:`growthops.app`, :mod:`growthops.cli`, :mod:`growthops.worker`,
:mod:`growthops.demo`) iterate :func:`growthops.domains.installed` and know no domain by name;
core, web and connectors never import a domain (``tests/test_layers.py`` enforces it with
import-linter contracts).

Entry points are written ``"module:attribute"`` and imported only when a composition root asks
for them (:meth:`Domain.load`), so importing a domain's logic (a benchmark importing
``growthops.ads.analysis.detect``) does not import FastAPI, Typer or procrastinate.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from growthops.core.errors import ConfigError


@dataclass(frozen=True)
class NavEntry:
    """One tab of a tenant's navigation in the dashboard.

    ``key``: the page's navigation id (highlighted when a page renders with ``nav=key``);
    ``path``: the path under ``/t/{client_key}/`` (``suggestions`` → ``/t/acme/suggestions``);
    ``label``: the tab's label, an English message marked with ``N_("...")`` and translated
    by the shell with the catalogs (see :mod:`growthops.core.i18n`).
    """

    key: str
    path: str
    label: str


@dataclass(frozen=True)
class Domain:
    """A domain's declaration: its name and the entry points the composition roots mount.

    Every entry point is optional and written ``"package.module:attribute"``:

    * ``api``: a sequence of FastAPI ``APIRouter`` (the JSON API, under ``/api/v1``);
    * ``pages``: one ``APIRouter`` of dashboard pages (server-rendered, under ``/t/{client_key}/``);
    * ``overview``: ``callable(request, user, lang) -> str`` (safe HTML), the domain's panel on the
      dashboard's first page;
    * ``cli``: a Typer app; mounted as ``growthops <name> ...``, or merged into the root
      command (``cli_at_root=True``: ads keeps today's top-level commands);
    * ``jobs``: ``callable(app: procrastinate.App, *, periodic: bool) -> None`` registering the
      domain's tasks (and their schedules when ``periodic``);
    * ``slack_actions``: ``callable(db, payload: dict, client) -> SlackAnswer | None``, called
      for Slack interactivity payloads whose first action id starts with ``<name>:``;
    * ``demo``: ``callable(db, *, console, lang) -> None`` run by ``growthops demo``.

    ``templates``: the folder of the domain's Jinja templates, mounted under the prefix
    ``<name>/`` (``"ads/queue.html"``). ``nav``: the domain's tabs on a tenant's pages.
    """

    name: str
    title: str
    api: str | None = None
    pages: str | None = None
    overview: str | None = None
    cli: str | None = None
    cli_help: str = ""
    cli_at_root: bool = False
    jobs: str | None = None
    slack_actions: str | None = None
    demo: str | None = None
    templates: Path | None = None
    nav: tuple[NavEntry, ...] = field(default_factory=tuple)

    def load(self, entry: str) -> Any:
        """Import and return the entry point named ``entry`` (``"api"``, ``"cli"``...), or None.

        Raises :class:`~growthops.core.errors.ConfigError` when the reference is malformed or
        names a missing module or attribute.
        """
        ref = getattr(self, entry)
        if ref is None:
            return None
        module, _, attr = str(ref).partition(":")
        if not module or not attr:
            raise ConfigError(f"domain {self.name}: {entry} = {ref!r} is not 'module:attribute'")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"domain {self.name}: cannot load {entry} {ref!r}: {exc}") from exc
