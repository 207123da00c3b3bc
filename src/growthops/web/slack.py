"""``POST /slack/interactivity``: Slack's one Request URL for every domain's buttons.

The route reads the raw body (the signature covers its exact bytes), verifies Slack's signature
and timestamp before parsing anything (401 otherwise), parses the payload, and offers it to each
installed domain's handler in turn (their ``slack_actions`` entry points, installed by
:func:`install_handlers`); the first that recognises it records what the click means
synchronously (one short tenant transaction, so a 200 means recorded) and returns the work to do
afterwards (message update, private reply, execution), run as FastAPI background tasks. The
answer is an empty 200, which is how Slack expects a ``block_actions`` request to be
acknowledged (within 3 seconds).

Settings (from :class:`growthops.settings.Settings`): ``GROWTHOPS_SLACK_SIGNING_SECRET`` (the
app's signing secret; unset: the route answers 503), ``GROWTHOPS_SLACK_BOT_TOKEN``
(``xoxb-...``; unset: no message update), ``GROWTHOPS_SLACK_API_URL`` (Web API root; tests
point it at a local server).

Slack bolt is not used: its ``App`` owns routing, acknowledgement and lazy listeners and checks
the token with ``auth.test`` at start-up, while this route needs the tenant's transaction and
FastAPI's background tasks; ``slack_sdk``'s ``SignatureVerifier`` and ``WebClient`` are the parts
of Bolt that matter here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, SecretStr
from starlette.concurrency import run_in_threadpool

from growthops.connectors.slack.client import make_client
from growthops.connectors.slack.interactivity import (
    MAX_BODY_BYTES,
    SlackSignatureError,
    parse_payload,
    verify_request,
)
from growthops.core.db import Database
from growthops.core.errors import ConfigError, GrowthopsError, InvalidInput
from growthops.web.deps import get_database
from growthops.web.errors import ErrorOut, error_response

if TYPE_CHECKING:
    from slack_sdk import WebClient

#: A domain's handler: ``(db, payload, client) -> callables to run after answering, or None``
#: when the payload is not one of its interactions. May raise ``InvalidInput`` (answered 400).
SlackHandler = Callable[[Database, Mapping[str, Any], "WebClient | None"],
                        "list[Callable[[], None]] | None"]
_HANDLERS: list[SlackHandler] = []


def install_handlers(handlers: list[SlackHandler]) -> None:
    """Set the domains' interaction handlers, in the order they are offered a payload."""
    _HANDLERS[:] = list(handlers)


def _dispatch(db: Database, payload: Mapping[str, Any],
              client: WebClient | None) -> list[Callable[[], None]]:
    """Offer ``payload`` to each handler; return the first taker's follow-up work ([] if none)."""
    for handler in _HANDLERS:
        after = handler(db, payload, client)
        if after is not None:
            return after
    return []


class SlackNotConfigured(ConfigError):
    """The Slack signing secret is not set: no request can be verified (HTTP 503)."""

    http_status = 503


class SlackPayloadInvalid(InvalidInput):
    """An authentic request whose payload is not a valid interaction (HTTP 400)."""

    http_status = 400


class PayloadTooLarge(GrowthopsError):
    """The request body exceeds :data:`MAX_BODY_BYTES` (HTTP 413)."""

    http_status = 413


class SlackSettings(BaseModel):
    """The Slack part of :class:`growthops.settings.Settings` the route needs."""

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None
    api_url: str | None = None


def get_slack_settings() -> SlackSettings:
    """Return the Slack settings from the process settings (override this dependency in tests)."""
    from growthops.settings import get_settings

    s = get_settings()
    return SlackSettings(signing_secret=s.slack_signing_secret, bot_token=s.slack_bot_token,
                         api_url=s.slack_api_url)


router = APIRouter(tags=["slack"])


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["payload"],
            "properties": {"payload": {"type": "string",
                                       "description": "The interaction, as JSON (block_actions)"}},
        }}},
    },
    "parameters": [
        {"name": "X-Slack-Request-Timestamp", "in": "header", "required": True,
         "schema": {"type": "string"}, "description": "Unix seconds; at most 5 minutes old"},
        {"name": "X-Slack-Signature", "in": "header", "required": True,
         "schema": {"type": "string"},
         "description": "v0= HMAC-SHA256 of v0:{timestamp}:{body} with the signing secret"},
    ],
}


@router.post(
    "/slack/interactivity",
    status_code=200,
    summary="Slack interactivity (decision buttons of the digest)",
    response_class=Response,
    responses={
        200: {"description": "Acknowledged (empty body); the decision, if any, is recorded"},
        400: _err("The verified body is not a valid Slack interaction payload"),
        401: _err("Missing, stale (> 5 minutes) or wrong Slack signature"),
        413: _err("Body larger than 1 MiB"),
        500: _err("Internal error"),
        503: _err("Slack signing secret not configured"),
    },
    openapi_extra=_FORM_SCHEMA,
)
async def slack_interactivity(
    request: Request,
    background: BackgroundTasks,
    settings: Annotated[SlackSettings, Depends(get_slack_settings)],
    db: Annotated[Database, Depends(get_database)],
) -> Response:
    """Verify a Slack interaction, let its domain record it, acknowledge; follow up later."""
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    if not secret.strip():
        return error_response(SlackNotConfigured("GROWTHOPS_SLACK_SIGNING_SECRET is not set"))
    too_large = PayloadTooLarge(f"body larger than {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return error_response(too_large)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return error_response(too_large)
    try:
        verify_request(body, request.headers, signing_secret=secret)  # first, before parsing
    except SlackSignatureError as exc:
        return error_response(exc)
    client = None
    if settings.bot_token is not None and settings.bot_token.get_secret_value().strip():
        client = make_client(settings.bot_token.get_secret_value(), settings.api_url)
    try:
        payload = parse_payload(body)
        after = await run_in_threadpool(_dispatch, db, payload, client)
    except InvalidInput as exc:
        return error_response(SlackPayloadInvalid(str(exc)))
    for work in after:
        background.add_task(work)
    return Response(status_code=200)
