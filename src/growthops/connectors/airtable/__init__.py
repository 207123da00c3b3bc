"""Airtable: a base's tables read, upserted and deleted through ``pyairtable``, within the Web
API's rate limit (:mod:`.client`). Transport only: what is mirrored is the ads domain's
business (:mod:`growthops.ads.airtable`)."""

from __future__ import annotations

from growthops.connectors.airtable.client import AirtableBase, AirtableError

__all__ = ["AirtableBase", "AirtableError"]
