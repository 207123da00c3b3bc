"""Google Ads API connector (official ``google-ads`` SDK, gRPC): :class:`GoogleAdsAccount`."""

from __future__ import annotations

from growthops.connectors.google_ads.account import GoogleAdsAccount, learning_stage, platform_error

__all__ = ["GoogleAdsAccount", "learning_stage", "platform_error"]
