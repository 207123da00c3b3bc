"""WhatsApp Cloud API: the outbound transport (:mod:`.client`) and the webhook parser (:mod:`.webhooks`)."""

from growthops.connectors.whatsapp.client import CloudApiTransport
from growthops.connectors.whatsapp.webhooks import parse

__all__ = ["CloudApiTransport", "parse"]
