"""Meta webhooks (WhatsApp Cloud API, Instagram messaging): the signature and the handshake.

Wire facts (Meta for Developers, "Webhooks" > "Getting Started", sections "Verification
Requests" and "Event Notifications" > "Validating Payloads"):

* Subscription handshake: ``GET <callback>?hub.mode=subscribe&hub.verify_token=<token>&
  hub.challenge=<n>``; answer 200 with the challenge as the body when the token is the one set
  in the App Dashboard, else an error.
* Every notification carries ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the
  **raw** request body (bytes as received, before any JSON parsing or re-encoding) keyed with
  the app secret. It must be checked with a constant-time comparison (:func:`hmac.compare_digest`).

Nothing here parses a body. Secrets are never logged nor put in an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Literal

SIGNATURE_HEADER = "x-hub-signature-256"
#: Largest body accepted (1 MiB). Meta batches at most 1,000 updates per notification
#: (Webhooks docs, "Event Notifications"); real WhatsApp/Instagram deliveries are a few KiB.
MAX_BODY_BYTES = 1024 * 1024
_SIG_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
#: What a challenge may look like before it is echoed (Meta sends an integer): anything else is
#: refused, so the endpoint never reflects arbitrary input.
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")

Verdict = Literal["current", "previous"]


def sign(body: bytes, secret: str) -> str:
    """Return the ``X-Hub-Signature-256`` value of ``body`` under ``secret`` (``sha256=<hex>``)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: Sequence[str]) -> Verdict | None:
    """Return which secret signed ``body``: ``current`` (the first), ``previous`` (any other), or None.

    ``header``: the raw ``X-Hub-Signature-256`` value; ``secrets``: the app secrets, current
    first (several during a rotation). None when the header is missing, malformed or matches
    no secret. Every secret is compared (constant time each), so the time does not reveal which.
    """
    if not header or not secrets:
        return None
    m = _SIG_RE.match(header.strip())
    if m is None:
        return None
    given = bytes.fromhex(m.group(1))
    verdict: Verdict | None = None
    for i, secret in enumerate(secrets):
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
        if hmac.compare_digest(expected, given) and verdict is None:
            verdict = "current" if i == 0 else "previous"
    return verdict


def handshake(mode: str | None, token: str | None, challenge: str | None,
              expected_token: str | None) -> str | None:
    """Return the challenge to echo when the subscription request is valid, else None.

    Valid: ``mode == "subscribe"``, a verify token equal (constant time) to ``expected_token``
    (which must be set), and a challenge of at most 128 letters, digits, ``_ . -``.
    """
    if mode != "subscribe" or not expected_token or token is None or challenge is None:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8")):
        return None
    return challenge if _CHALLENGE_RE.match(challenge) else None
