"""Requests from Slack's interactivity endpoint: signature verification and payload parsing.

A transport only: :func:`verify_request` checks ``X-Slack-Request-Timestamp`` (within 5 minutes
of our clock, either way: replay protection) and ``X-Slack-Signature`` (``v0=`` HMAC-SHA256 of
``v0:{timestamp}:{raw body}`` with the app's signing secret, compared in constant time by
``slack_sdk.signature.SignatureVerifier``) **before anything is parsed**. Source: Slack,
"Verifying requests from Slack" (https://docs.slack.dev/authentication/verifying-requests-from-slack/).
:func:`parse_payload` then reads the form field ``payload``. What a click means is the domains'
business (the ads digest's buttons: :mod:`growthops.ads.reporting.slack_actions`); the route is
:mod:`growthops.web.slack`.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

from growthops.core import inputs
from growthops.core.errors import GrowthopsError, InvalidInput

#: Oldest accepted request, seconds (Slack: "within five minutes of local time").
MAX_AGE_S = 60 * 5
#: Largest accepted body, bytes. A block_actions payload echoes the message (≤ 50 blocks of
#: ≤ 3000 characters, URL-encoded up to 3x): 1 MiB is ample and bounds the work before the HMAC.
MAX_BODY_BYTES = 1 << 20
#: Deepest nesting accepted in a payload (Slack's block_actions nest about 8 levels).
PAYLOAD_MAX_DEPTH = 64


class SlackSignatureError(GrowthopsError):
    """A request did not come from Slack: missing, stale or wrong signature (HTTP 401)."""

    exit_code = 77  # EX_NOPERM
    http_status = 401


# ----------------------------------------------------------------------------- verification
class _FixedClock(Clock):
    """The SDK verifier's clock, pinned to one instant (the instant we already checked)."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        """Return the pinned instant (Unix seconds)."""
        return self._now


def verify_request(body: bytes, headers: Mapping[str, str], *, signing_secret: str,
                   now: float | None = None, max_age_s: int = MAX_AGE_S) -> None:
    """Check that ``body`` was signed by Slack with ``signing_secret`` less than 5 minutes ago.

    ``headers`` is any mapping (case-insensitive lookup of ``X-Slack-Request-Timestamp`` and
    ``X-Slack-Signature``); ``now`` is Unix seconds (default: the wall clock). The timestamp must
    be an integer within ``max_age_s`` of ``now`` (past or future); the signature ``v0=<hex>``
    must equal HMAC-SHA256(secret, ``v0:{timestamp}:{body}``), compared in constant time.
    Raises :class:`SlackSignatureError` (401) otherwise; parses nothing of the body.
    """
    if not signing_secret or not signing_secret.strip():
        raise SlackSignatureError("no Slack signing secret configured")
    low = {str(k).lower(): str(v) for k, v in headers.items()}
    ts = low.get("x-slack-request-timestamp", "").strip()
    sig = low.get("x-slack-signature", "").strip()
    if not ts or not sig:
        raise SlackSignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        raise SlackSignatureError("X-Slack-Request-Timestamp: not a Unix time in seconds")
    clock = time.time() if now is None else float(now)
    if abs(clock - int(ts)) > max_age_s:
        raise SlackSignatureError(
            f"X-Slack-Request-Timestamp: more than {max_age_s // 60} minutes from the server "
            "clock (stale or replayed request)")
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(clock))
    try:
        ok = verifier.is_valid(body=body, timestamp=ts, signature=sig)
    except (UnicodeDecodeError, ValueError):
        ok = False
    if not ok:
        raise SlackSignatureError("X-Slack-Signature: does not match the request")


# -------------------------------------------------------------------------------- parsing
def parse_payload(body: bytes) -> dict[str, Any]:
    """Return the JSON object in the form field ``payload`` of a URL-encoded body.

    Raises :class:`InvalidInput` naming what is wrong (encoding, missing or repeated field,
    invalid JSON, nested deeper than :data:`PAYLOAD_MAX_DEPTH`, NUL, lone surrogates or
    non-finite numbers (:mod:`growthops.core.inputs`), not an object).
    """
    try:
        text = body.decode("utf-8")
        form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=False,
                                     max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"body: not a URL-encoded form ({exc})") from exc
    values = form.get("payload")
    if not values or len(values) != 1:
        raise InvalidInput("payload: exactly one form field 'payload' is required")
    try:
        payload = inputs.loads(values[0], max_depth=PAYLOAD_MAX_DEPTH)
    except ValueError as exc:
        raise InvalidInput(f"payload: invalid JSON ({inputs.excerpt(str(exc), 200)})") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("payload: must be a JSON object")
    return payload


def get_path(d: Any, *path: str) -> Any:
    """Return ``d[path[0]][path[1]]...``, or None as soon as a level is missing or not a dict."""
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d
