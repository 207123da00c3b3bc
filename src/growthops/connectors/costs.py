"""Cost estimate of one external API call, in USD at the provider's list price.

``core.api_calls_log.cost_estimate`` (seed 000) is filled from :func:`estimate_cost` for every
call a connector built by :func:`growthops.connectors.registry.get_platform` makes.

List prices (checked 2026-12):

* ``meta_marketing``: the Marketing API (insights, campaign management) has no per-call
  price; its cost is the rate-limit allowance, read from the usage headers and recorded per
  sync run (``ads.sync_runs.peak_usage_pct``). Source: Meta for Developers, Marketing API
  "Rate Limiting" (limits, no fee) and "Access levels".
* ``google_ads``: "There is no charge for using the Google Ads API"; access levels cap
  operations per day instead (Basic access: 15,000). Source: Google Ads API, "API Limits and
  Quotas" and "Access Levels and Permissible Use".

An API not listed has an unknown cost: ``None`` (NULL), never a guessed number.
"""

from __future__ import annotations

from decimal import Decimal

#: USD per call, by ``api_name`` of ``core.api_calls_log``.
PRICE_PER_CALL_USD: dict[str, Decimal] = {
    "meta_marketing": Decimal("0"),
    "google_ads": Decimal("0"),
}


def estimate_cost(api_name: str) -> Decimal | None:
    """Return the list price of one call to ``api_name`` in USD, or None when unknown."""
    return PRICE_PER_CALL_USD.get(api_name)
