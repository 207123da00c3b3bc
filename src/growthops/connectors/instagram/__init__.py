"""Instagram messaging: the Send API transport (:mod:`.client`) and the webhook parser (:mod:`.webhooks`)."""

from growthops.connectors.instagram.client import SendApiTransport
from growthops.connectors.instagram.webhooks import parse

__all__ = ["SendApiTransport", "parse"]
