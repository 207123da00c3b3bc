"""The ads digest's Slack buttons: parse a click, record the decision, update the message.

Order of work for one request (``POST /slack/interactivity``, :mod:`growthops.web.slack`, which
has already verified Slack's signature and parsed the payload; then :func:`handle`):

1. :func:`parse_click` reads the first ``decide:<decision>`` action of a ``block_actions``
   payload: suggestion id (button ``value``), user, channel, message.
2. :func:`record_click` finds the tenant(s) owning the channel (:func:`tenants_for_channel`) and
   calls :func:`growthops.ads.action.decisions.decide` with ``channel='slack'`` and
   ``decided_by='slack:U123 (name)'`` in that tenant's transaction (one short transaction).
   ``decide`` is one conditional UPDATE, so a second (or concurrent) click on a decided
   suggestion records nothing and yields an ``already`` outcome.
3. After the HTTP answer (Slack wants one within 3 s): an approval is executed within the guard
   rails (:func:`growthops.ads.action.execution.execute_after_approval`), then
   :func:`follow_up` re-renders the message from the database with ``chat.update`` (buttons
   replaced by "Approved by @user at HH:MM" in the digest's language) and, when the click
   changed nothing, tells the user who already decided with ``chat.postEphemeral``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from growthops.ads.reporting.slack import (
    block_lang,
    block_suggestion_ids,
    rebuild_blocks,
    status_label,
    tenant_slack,
    who_label,
)
from growthops.connectors.slack.client import SlackError, call
from growthops.connectors.slack.interactivity import get_path
from growthops.connectors.slack.mrkdwn import slack_time, truncate
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import _

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from growthops.core.db import Database

DECISIONS = ("approved", "refused", "backlog")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")

_log = logging.getLogger("growthops.ads.slack")

# -------------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class Click:
    """One press of a decision button, as Slack reported it.

    ``message`` is the clicked message (with its ``blocks``) when Slack sent it; ``lang`` is the
    digest's language read from its block ids.
    """

    suggestion_id: int
    decision: str
    user_id: str
    user_name: str
    channel_id: str
    message_ts: str | None
    message: dict[str, Any] | None
    lang: str
    action_ts: str | None = None

    @property
    def decided_by(self) -> str:
        """Return the decider as stored: ``slack:U123 (name)`` (≤ 200 characters)."""
        return truncate(f"slack:{self.user_id} ({self.user_name})", 200)


def parse_click(payload: Mapping[str, Any]) -> Click | None:
    """Return the decision click of a ``block_actions`` payload, or None for anything else.

    The first action whose ``action_id`` is ``decide:approved|refused|backlog`` counts; its
    ``value`` is the suggestion id. Raises :class:`InvalidInput` for a decision action with an
    unknown decision, a non-numeric value, or no valid user or channel id.
    """
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    action = next((a for a in actions if isinstance(a, dict)
                   and str(a.get("action_id", "")).startswith("decide:")), None) \
        if isinstance(actions, list) else None
    if action is None:
        return None
    decision = str(action["action_id"]).split(":", 1)[1]
    if decision not in DECISIONS:
        raise InvalidInput(f"actions[].action_id: unknown decision {decision!r}")
    value = str(action.get("value") or "")
    if not (value.isascii() and value.isdigit() and 0 < len(value) <= 18):
        raise InvalidInput(f"actions[].value: {value[:40]!r} is not a suggestion id")
    user_id = str(get_path(payload, "user", "id") or "")
    if not _USER_ID.match(user_id):
        raise InvalidInput("user.id: missing or not a Slack user id")
    name = get_path(payload, "user", "username") or get_path(payload, "user", "name") or user_id
    name = " ".join(str(name).split())[:80] or user_id
    channel_id = str(get_path(payload, "channel", "id") or get_path(payload, "container", "channel_id")
                     or "")
    if not _CHANNEL_ID.match(channel_id):
        raise InvalidInput("channel.id: missing or not a Slack channel id")
    message = payload.get("message") if isinstance(payload.get("message"), dict) else None
    message_ts = get_path(payload, "container", "message_ts") or (message or {}).get("ts")
    blocks = (message or {}).get("blocks")
    lang = block_lang(blocks if isinstance(blocks, list) else [])
    return Click(suggestion_id=int(value), decision=decision, user_id=user_id, user_name=name,
                 channel_id=channel_id, message_ts=str(message_ts) if message_ts else None,
                 message=message, lang=lang, action_ts=action.get("action_ts"))


# ------------------------------------------------------------------------------- recording
def tenants_for_channel(db: Database, channel_id: str) -> list[str]:
    """Return the ids of the tenants whose Slack channel is ``channel_id`` (usually one).

    A tenant matches when ``slack_channel_id`` or ``slack_validation_channel`` equals the id.
    The application role sees one tenant at a time (row-level security on ``core.tenants``), so
    this calls the SECURITY DEFINER function ``core.tenant_by_slack_channel(text)`` (migration
    0007): one indexed query.
    """
    with db.app_tx() as conn:
        return [str(r["tenant_id"]) for r in conn.execute(
            "select tenant_id from core.tenant_by_slack_channel(%s)", [channel_id])]


@dataclass
class Outcome:
    """What a click did.

    ``kind``: ``decided`` (a decision was recorded: ``decision`` is :func:`decide`'s row),
    ``already`` (decided before: ``conflict`` says by whom), ``expired``, ``conflict`` (another
    state forbids it), ``not_found`` (no such suggestion for the channel's tenants),
    ``unknown_channel`` (no tenant has this channel) or ``not_allowed`` (the Slack user is not
    mapped to a growthops user who may decide on the suggestion's tenant: nothing recorded).
    """

    kind: Literal["decided", "already", "expired", "conflict", "not_found", "unknown_channel",
                  "not_allowed"]
    tenant_id: str | None = None
    decision: dict[str, Any] | None = None
    conflict: Conflict | None = None


def record_click(db: Database, click: Click, *, now: datetime | None = None) -> Outcome:
    """Record ``click`` as a decision (channel ``slack``) in its tenant's transaction.

    Tries each tenant of the channel (:func:`tenants_for_channel`) until one has the suggestion
    (ids are unique across tenants; row-level security hides the others'). The clicking Slack
    user must be mapped, for that tenant, to an active growthops user who may decide there
    (:mod:`growthops.core.auth.slack_users`); otherwise the outcome is ``not_allowed`` and
    nothing is written. A
    :class:`~growthops.ads.action.decisions.DecisionConflict` (already decided, expired, archived)
    becomes the outcome instead of an error: nothing is written twice.
    """
    from growthops.ads.action.decisions import decide
    from growthops.core.auth.slack_users import slack_user

    tenants = tenants_for_channel(db, click.channel_id)
    if not tenants:
        return Outcome("unknown_channel")
    for tid in tenants:
        try:
            with db.tenant_tx(tid) as conn:
                user = slack_user(conn, slack_user_id=click.user_id)
                if user is None or not (user.can_decide and user.can_access(tid)):
                    if conn.execute("select 1 from ads.suggestions where tenant_id = %s and "
                                    "suggestion_id = %s", [tid, click.suggestion_id]).fetchone():
                        return Outcome("not_allowed", tenant_id=tid)
                    continue
                row = decide(conn, tenant_id=tid, suggestion_id=click.suggestion_id,
                             decision=click.decision, decided_by=click.decided_by,
                             channel="slack", now=now)
            return Outcome("decided", tenant_id=tid, decision=row)
        except NotFound:
            continue
        except Conflict as exc:
            reason = getattr(exc, "reason", None)
            kind = {"decided": "already", "expired": "expired"}.get(str(reason), "conflict")
            return Outcome(kind, tenant_id=tid, conflict=exc)  # type: ignore[arg-type]
    return Outcome("not_found", tenant_id=tenants[0] if len(tenants) == 1 else None)


def handle(db: Database, payload: Mapping[str, Any],
           client: WebClient | None) -> list[Callable[[], None]] | None:
    """Record a decision click of the ads digest; return the work to do after answering Slack.

    ``payload``: the verified interaction (:func:`growthops.connectors.slack.interactivity.
    parse_payload`). Returns None when the payload is not an ads decision click (another
    domain's, or another interaction), else the callables to run after the HTTP answer: the
    execution of an approval within the guard rails, then :func:`follow_up` when ``client``
    (the bot's Web API client) is given. Raises :class:`InvalidInput` for a malformed click.
    ``DOMAIN.slack_actions`` of the ads domain.
    """
    click = parse_click(payload)
    if click is None:
        return None
    outcome = record_click(db, click)
    after: list[Callable[[], None]] = []
    if outcome.kind == "decided" and click.decision == "approved" and outcome.tenant_id:
        from growthops.ads.action.execution import execute_after_approval

        after.append(partial(execute_after_approval, db, tenant_id=outcome.tenant_id,
                             suggestion_id=click.suggestion_id, actor=f"slack:{click.user_id}"))
    if client is not None:
        after.append(partial(follow_up, db, client, click, outcome))
        if outcome.kind == "decided" and outcome.tenant_id:  # answer in the item's thread now
            after.append(partial(_sync_quietly, db, client, outcome.tenant_id))
    return after


def _sync_quietly(db: Database, client: WebClient, tenant_id: str) -> None:
    """Run :func:`growthops.ads.reporting.slack_threads.sync_tenant` after a click (the
    decision's reply in the item's thread, the execution's); never raises (logged)."""
    from growthops.ads.reporting.slack_threads import sync_tenant

    try:
        sync_tenant(db, tenant_id=tenant_id, client=client, replies_only=True)
    except Exception:  # background work: report, never propagate
        _log.exception("Slack thread sync of tenant %s failed", tenant_id)


# ------------------------------------------------------------------------------ follow-up
def ephemeral_text(click: Click, outcome: Outcome, *, time_zone: str = "UTC") -> str | None:
    """Return the private reply for a click that changed nothing (None after a decision)."""
    lang, sid, exc = click.lang, click.suggestion_id, outcome.conflict
    if outcome.kind == "decided":
        return None
    if outcome.kind == "unknown_channel":
        return _(lang, "This channel is not linked to any growthops client (set the client's "
                       "slack_channel_id).")
    if outcome.kind == "not_allowed":
        return _(lang, "You are not allowed to decide on this client's suggestions from Slack: "
                       "ask an admin to link your Slack account to your growthops user.")
    if outcome.kind == "not_found":
        return _(lang, "Suggestion {id} is unknown to growthops (archived, or from another "
                       "client).", id=sid)
    if outcome.kind == "expired":
        when = getattr(exc, "expires_at", None)
        return _(lang, "Suggestion {id} expired at {when}; the next daily cycle proposes it "
                       "again if the evidence still holds.", id=sid,
                 when=slack_time(when, time_zone, with_date=True) if when else "?")
    if outcome.kind == "already":
        status = status_label(str(getattr(exc, "status", "?")), lang)
        by, at = getattr(exc, "decided_by", None), getattr(exc, "decided_at", None)
        if not by:
            return _(lang, "Suggestion {id} is already {status}.", id=sid, status=status)
        return _(lang, "Suggestion {id} is already {status}: {who} decided at {when}.", id=sid,
                 status=status, who=who_label(by),
                 when=slack_time(at, time_zone, with_date=True) if at else "?")
    return _(lang, "Suggestion {id} cannot be decided now: {message}", id=sid,
             message=str(exc or ""))


def follow_up(db: Database, client: WebClient, click: Click, outcome: Outcome, *,
              now: datetime | None = None) -> None:
    """Update the clicked message and, when the click changed nothing, reply privately.

    In the tenant's transaction: reads the current state of every suggestion of the message
    (one query), rebuilds its blocks (:func:`~growthops.ads.reporting.slack.rebuild_blocks`)
    and calls ``chat.update``; then ``chat.postEphemeral`` with :func:`ephemeral_text` when the
    outcome is not ``decided``. Each call is logged in ``core.api_calls_log``. Never raises:
    meant to run after the HTTP answer (a failure goes to the ``growthops`` logger).
    """
    now = now or datetime.now(UTC)
    try:
        if outcome.tenant_id is None:
            text = ephemeral_text(click, outcome)
            if text:
                call(client, "chat.postEphemeral", channel=click.channel_id, user=click.user_id,
                     text=text)
            return
        with db.tenant_tx(outcome.tenant_id) as conn:
            tenant = tenant_slack(conn, tenant_id=outcome.tenant_id)
            blocks = (click.message or {}).get("blocks")
            if isinstance(blocks, list) and blocks and click.message_ts:
                ids = block_suggestion_ids(blocks)
                rows = {int(r["suggestion_id"]): r for r in conn.execute(
                    "select * from ads.suggestions where tenant_id = %s "
                    "and suggestion_id = any(%s)", [outcome.tenant_id, ids])}
                new_blocks = rebuild_blocks(blocks, rows, currency=tenant["currency"],
                                            time_zone=tenant["time_zone"], now=now,
                                            default_lang=click.lang)
                fallback = str((click.message or {}).get("text") or "growthops")
                with contextlib.suppress(SlackError):  # logged by call(); the decision stands
                    call(client, "chat.update", conn=conn, tenant_id=outcome.tenant_id,
                         log_request={"channel": click.channel_id, "ts": click.message_ts,
                                      "blocks": len(new_blocks),
                                      "suggestion_id": click.suggestion_id},
                         channel=click.channel_id, ts=click.message_ts, text=fallback,
                         blocks=new_blocks)
            text = ephemeral_text(click, outcome, time_zone=tenant["time_zone"])
            if text:
                with contextlib.suppress(SlackError):
                    call(client, "chat.postEphemeral", conn=conn, tenant_id=outcome.tenant_id,
                         channel=click.channel_id, user=click.user_id, text=text)
    except Exception:  # background work: report, never propagate
        _log.exception("Slack follow-up of suggestion %s failed", click.suggestion_id)
