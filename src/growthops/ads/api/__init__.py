"""The ads domain's JSON API under ``/api/v1`` (``DOMAIN.api`` = :func:`routers`).

Routers: ``tenants`` (with month-to-date figures), ``suggestions`` (+ decisions, history),
``metrics`` (entities, metrics, baselines, anomalies), ``allocation`` (budget allocation,
campaign roll-ups), ``outcomes`` (decisions, executions,
hypotheses), ``validation``, ``audit``, ``abtests`` (creative tests), ``airtable`` (the Airtable mirror) and ``pacing`` (intraday
pacing), ``catalog`` (products, funnels, Slack settings); each under ``/api/v1/tenants/{tenant}/...`` and, for
suggestions, validation and audit, also under the short paths of the caller's own tenant.
Set-based reads are in :mod:`.reads`; models in :mod:`growthops.ads.models`.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Return the ads routers in the order they are mounted: the suggestions of the caller's
    own tenant first (the hot routes: routes are matched in mounting order, and each router
    passed costs a walk of its routes; docs/performance.md §8), then the tenant list route
    before the rest."""
    from growthops.ads.api import (
        abtests,
        airtable,
        allocation,
        anomalies,
        audit,
        catalog,
        metrics,
        outcomes,
        pacing,
        platform_config,
        suggestions,
        tenants,
        validation,
    )

    return [suggestions.short_router,
            tenants.list_router,
            *(m.router for m in (tenants, suggestions, metrics, outcomes, validation, audit,
                                 anomalies, platform_config, abtests, allocation, airtable, pacing)),
            catalog.router,
            *(m.short_router for m in (validation, audit))]
