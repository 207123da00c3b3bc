"""Cost estimate of one external API call, in USD at the provider's list price.

``core.api_calls_log.cost_estimate`` (seed 000) is filled from :func:`estimate_cost` for every
call logged: by :func:`growthops.connectors.registry.db_api_logger` and the sync's buffer
explicitly, and for any other caller of :func:`growthops.core.logs.service.log_api_call` that
passes no cost (the Slack client, the Graph transports of WhatsApp and Instagram) through the
default estimator this module registers there on import (the ``growthops.connectors`` package
imports it, so every connector's calls have it; ``core`` cannot import ``connectors``).

List prices (checked 2026-12):

* ``meta_marketing``: the Marketing API (insights, campaign management) has no per-call
  price; its cost is the rate-limit allowance, read from the usage headers and recorded per
  sync run (``ads.sync_runs.peak_usage_pct``). Source: Meta for Developers, Marketing API
  "Rate Limiting" (limits, no fee) and "Access levels".
* ``google_ads``: "There is no charge for using the Google Ads API"; access levels cap
  operations per day instead (Basic access: 15,000). Source: Google Ads API, "API Limits and
  Quotas" and "Access Levels and Permissible Use".
* ``slack``: the Web API (``chat.postMessage``, ``conversations.replies``, ...) has no per-call
  fee; methods are limited by rate tiers instead. Source: Slack API docs, "Rate limits" (Web API
  tiers 1-4, special limits for ``chat.postMessage``). The workspace's Slack plan is a
  subscription, not a per-call cost.
* ``instagram``: the Instagram Platform (Graph API: comments, messages, publishing) has no
  per-call fee; calls are rate limited instead (Meta for Developers, "Rate Limiting", Business
  Use Case rate limits of the Instagram Platform).
* ``whatsapp``: the Cloud API has no per-call fee; Meta charges per delivered **template**
  message, at a rate that depends on the template's category and the recipient's country
  (WhatsApp Business Platform, "Pricing": per-message pricing since 1 July 2025), while
  non-template messages inside the 24-hour customer service window (the inbox's replies) are
  free. So a text message costs 0, and a template message is NULL: the per-country rate card is
  not shipped here, and a guessed number would be worse than none.

An API not listed (e.g. an LLM provider, priced per token by model) has an unknown cost:
``None`` (NULL), never a guessed number.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from growthops.core.logs.service import set_cost_estimator

#: USD per call, by ``api_name`` of ``core.api_calls_log``.
PRICE_PER_CALL_USD: dict[str, Decimal] = {
    "meta_marketing": Decimal("0"),
    "google_ads": Decimal("0"),
    "slack": Decimal("0"),
    "instagram": Decimal("0"),
    "whatsapp": Decimal("0"),
}


def estimate_cost(api_name: str, request_payload: Any = None) -> Decimal | None:
    """Return the list price of one call to ``api_name`` in USD, or None when unknown.

    ``request_payload``: the call's request body (a dict), when the price depends on it: a
    WhatsApp ``{"type": "template", ...}`` message has no single list price (None).
    """
    if (
        api_name == "whatsapp"
        and isinstance(request_payload, dict)
        and request_payload.get("type") == "template"
    ):
        return None
    return PRICE_PER_CALL_USD.get(api_name)


set_cost_estimator(estimate_cost)
