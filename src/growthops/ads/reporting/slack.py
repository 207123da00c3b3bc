"""The daily digest in Slack: Block Kit messages with Approve / Refuse / Backlog buttons.

Layout of one digest (https://docs.slack.dev/reference/block-kit/blocks):

* first message: a ``header`` block and a ``context`` block (count, part i/n);
  following messages (when split): one ``context`` block "part i/n";
* then, per suggestion in review order (priority, confidence desc, id), exactly three blocks:

  ===========  =====================================  ========================
  state        blocks                                 kinds of block id
  ===========  =====================================  ========================
  pending      section, actions (3 buttons), divider  ``sug``, ``act``, ``div``
  backlog      section, context (who), actions (2)    ``sug``, ``done``, ``act``
  decided      section, context (who, when), divider  ``sug``, ``done``, ``div``
  ===========  =====================================  ========================

  Block ids are ``KIND:ID:LANG:REV``: the suggestion id, the digest's language (so the click
  handler answers in it) and a revision that changes with the suggestion's state (Slack: "If a
  message is updated, use a new block_id"). Buttons: ``action_id`` ``decide:approved`` /
  ``decide:refused`` / ``decide:backlog``, ``value`` the suggestion id.

Block Kit limits respected (Slack reference, "Blocks" and "chat.postMessage"): at most 50 blocks
per message (2 + 3 x 16 = 50, so :data:`SUGGESTIONS_PER_MESSAGE` = 16 and a longer digest is
split into several messages), 3000 characters per section text (the reason is shortened first),
150 per header, 75 per button label, 255 per block id, 2000 per button value; the top-level
``text`` (notification fallback) stays far below 4000.

Times are Slack date tokens ``<!date^EPOCH^{time}|HH:MM>``: Slack shows them in each reader's
time zone; the fallback text is the tenant's local time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from growthops.ads.reporting.digest import (
    code_label,
    confidence_text,
    entity_label,
    format_intervals,
    suggestion_text,
)
from growthops.connectors.slack.client import SlackError, call
from growthops.connectors.slack.mrkdwn import escape, slack_time, truncate
from growthops.core.errors import ConfigError, InvalidInput, NotFound
from growthops.core.i18n import LANGS, N_, _, ngettext

if TYPE_CHECKING:
    from slack_sdk import WebClient

#: Block Kit limits (Slack reference: blocks, section, header, button, chat.postMessage).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 4000
#: Blocks before the first suggestion of the first message (header + context).
HEAD_BLOCKS = 2
#: Blocks per suggestion (see the module table).
BLOCKS_PER_SUGGESTION = 3
SUGGESTIONS_PER_MESSAGE = (MAX_BLOCKS - HEAD_BLOCKS) // BLOCKS_PER_SUGGESTION  # 16
DECISION_BUTTONS = ("approved", "refused", "backlog")
#: Statuses in which a reviewer may still decide (mirrors ads.decisions.DECIDABLE_FROM).
OPEN_STATUSES = ("pending", "backlog")
_BLOCK_ID = re.compile(r"^(sug|act|done|div):(\d+)(?::([a-z]{2}))?(?::[A-Za-z0-9]{1,40})?$")
_SLACK_USER = re.compile(r"^slack:([UW][A-Z0-9]+)\b")

#: The decision buttons' labels.
BUTTON_TEXT = {"approved": N_("Approve"), "refused": N_("Refuse"), "backlog": N_("Backlog")}
#: What replaces the buttons once a suggestion is decided in Slack or elsewhere.
DONE_TEXT = {
    "approved": N_(":white_check_mark: Approved by {who} at {when}"),
    "refused": N_(":x: Refused by {who} at {when}"),
    "backlog": N_(":card_index_dividers: Put in backlog by {who} at {when}"),
}

PRIORITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:",
                  "medium": ":large_yellow_circle:", "low": ":white_circle:"}
#: Statuses worded more fully in Slack than in the tables.
_SLACK_STATUS = {"blocked": N_("blocked by a guard rail")}


# ----------------------------------------------------------------------------- formatting
def status_label(status: str, lang: str) -> str:
    """Return a suggestion status in ``lang`` (all statuses of migration 0004)."""
    label = _SLACK_STATUS.get(status)
    return _(lang, label) if label else code_label(status, lang)


def who_label(decided_by: str | None) -> str:
    """Return a mention ``<@U123>`` for ``slack:U123 (name)``, else the escaped name."""
    if not decided_by:
        return "?"
    m = _SLACK_USER.match(decided_by)
    return f"<@{m.group(1)}>" if m else escape(decided_by)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidInput(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    return lang


# -------------------------------------------------------------------------------- blocks
def section_text(row: Mapping[str, Any], *, lang: str, currency: str, time_zone: str) -> str:
    """Return the mrkdwn text of a suggestion's section (≤ 3000 characters).

    Lines: priority, type and entity; the action (bold); the reason; the expected impact and one
    line per predicted metric (p50 with its p10-p90 interval, from ``predicted_metrics``); the
    confidence (percent 0-100, and the calibrated one when present) and the expiry. When too
    long, the reason is shortened first, then the whole text.
    """
    head = (f"{PRIORITY_EMOJI.get(row['priority'], '')} *{code_label(row['priority'], lang)}*"
            f" · {escape(code_label(row['type'], lang))} · {escape(entity_label(dict(row)))}")
    action = f"*{escape(suggestion_text(dict(row), 'action', lang))}*"
    reason = escape(suggestion_text(dict(row), "reason", lang))
    impact_label, conf_label = _(lang, "Expected impact:"), _(lang, "Confidence:")
    impact = (f"*{impact_label}* "
              f"{escape(suggestion_text(dict(row), 'expected_impact', lang))}")
    intervals = [f"• {escape(s)}" for s in format_intervals(row.get("predicted_metrics"), lang,
                                                            currency)]
    conf = confidence_text(row["confidence"], lang)
    cal = row.get("calibrated_confidence")
    if cal is not None and cal != row["confidence"]:
        conf += " (" + _(lang, "calibrated {pct}", pct=confidence_text(cal, lang)) + ")"
    tail = f"*{conf_label}* {conf}"
    if row.get("expires_at"):
        tail += " · " + _(lang, "expires {when}",
                          when=slack_time(row["expires_at"], time_zone, with_date=True))
    fixed = [head, action, impact, *intervals, tail]
    room = MAX_SECTION_TEXT - sum(len(x) + 1 for x in fixed)
    text = "\n".join([head, action, truncate(reason, max(room, 0)), impact, *intervals, tail])
    return truncate(text, MAX_SECTION_TEXT)


def _button(decision: str, suggestion_id: int, lang: str) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"decide:{decision}",
        "text": {"type": "plain_text", "emoji": True,
                 "text": truncate(_(lang, BUTTON_TEXT[decision]), MAX_BUTTON_TEXT)},
        "value": str(suggestion_id),
    }
    if decision == "approved":
        button["style"] = "primary"
    elif decision == "refused":
        button["style"] = "danger"
    return button


def status_line(row: Mapping[str, Any], *, lang: str, time_zone: str,
                now: datetime | None = None) -> str | None:
    """Return the mrkdwn line replacing a decided (or expired) suggestion's buttons, or None.

    None for a pending suggestion that has not expired. ``Approved by <@U123> at <!date...>``
    for a Slack decision (``decided_by`` ``slack:U123 (name)``), the decider's name otherwise.
    """
    now = now or datetime.now(UTC)
    status = row["status"]
    expires = row.get("expires_at")
    if status == "expired" or (status in OPEN_STATUSES and expires is not None and expires <= now):
        return _(lang, ":hourglass: Expired at {when}: it can no longer be decided",
                 when=slack_time(expires or now, time_zone))
    if status == "pending":
        return None
    who = who_label(row.get("decided_by"))
    when = slack_time(row["decided_at"], time_zone) if row.get("decided_at") else "?"
    if status in DECISION_BUTTONS:
        return _(lang, DONE_TEXT[status], who=who, when=when)
    return _(lang, "{status}: decided by {who} at {when}",
             status=status_label(status, lang).capitalize(), who=who, when=when)


def suggestion_blocks(row: Mapping[str, Any], *, lang: str, currency: str, time_zone: str,
                      now: datetime | None = None) -> list[dict[str, Any]]:
    """Return the three blocks of one suggestion in its current state (see the module table).

    ``row`` is an ``ads.suggestions`` row (``status``, ``decided_by``, ``decided_at``,
    ``expires_at``, texts...). Pending: buttons; backlog: who put it there plus Approve /
    Refuse; anything else (or expired): who decided and when, no button.
    """
    sid = int(row["suggestion_id"])
    line = status_line(row, lang=lang, time_zone=time_zone, now=now)
    expired = line is not None and line.startswith(":hourglass:")
    decided_at = row.get("decided_at")
    rev = ("x" if expired else str(row["status"])[:3]) + (
        str(int(decided_at.timestamp())) if decided_at else "0")

    def bid(kind: str) -> str:
        return f"{kind}:{sid}:{lang}:{rev}"

    section = {"type": "section", "block_id": bid("sug"),
               "text": {"type": "mrkdwn", "text": section_text(row, lang=lang, currency=currency,
                                                               time_zone=time_zone)}}
    divider = {"type": "divider", "block_id": bid("div")}
    if line is None:
        buttons = [_button(d, sid, lang) for d in DECISION_BUTTONS]
        return [section, {"type": "actions", "block_id": bid("act"), "elements": buttons},
                divider]
    done = {"type": "context", "block_id": bid("done"),
            "elements": [{"type": "mrkdwn", "text": truncate(line, MAX_SECTION_TEXT)}]}
    if row["status"] == "backlog" and not expired:
        buttons = [_button(d, sid, lang) for d in ("approved", "refused")]
        return [section, done, {"type": "actions", "block_id": bid("act"), "elements": buttons}]
    return [section, done, divider]


@dataclass
class DigestMessage:
    """One Slack message of a digest: fallback ``text``, ``blocks`` and the suggestions in it."""

    text: str
    blocks: list[dict[str, Any]]
    suggestion_ids: list[int] = field(default_factory=list)


def digest_messages(rows: Sequence[Mapping[str, Any]], *, tenant_name: str, as_of: date,
                    lang: str, currency: str, time_zone: str,
                    now: datetime | None = None) -> list[DigestMessage]:
    """Split a digest into messages of at most 50 blocks (16 suggestions each).

    ``rows`` are suggestions in review order; an empty list gives no message. Raises
    :class:`InvalidInput` for an unknown ``lang``.
    """
    _check_lang(lang)
    if not rows:
        return []
    n = len(rows)
    chunks = [rows[i:i + SUGGESTIONS_PER_MESSAGE] for i in range(0, n, SUGGESTIONS_PER_MESSAGE)]
    fallback = truncate(ngettext(lang, "{n} suggestion for {tenant} (data as of {as_of})",
                                 "{n} suggestions for {tenant} (data as of {as_of})", n, n=n,
                                 tenant=tenant_name, as_of=as_of), MAX_FALLBACK_TEXT)
    out = []
    for i, chunk in enumerate(chunks, start=1):
        if i == 1:
            head: list[dict[str, Any]] = [
                {"type": "header", "block_id": "digest:head",
                 "text": {"type": "plain_text", "emoji": True, "text": truncate(
                     _(lang, "Suggestions for {tenant} (data as of {as_of})",
                       tenant=tenant_name, as_of=as_of),
                     MAX_HEADER_TEXT)}},
                {"type": "context", "block_id": "digest:meta",
                 "elements": [{"type": "mrkdwn", "text": escape(
                     ngettext(lang, "{n} suggestion to review. Part {part}/{parts}.",
                              "{n} suggestions to review, most urgent first. Part "
                              "{part}/{parts}.", n, n=n, part=i, parts=len(chunks)))}]},
            ]
        else:
            head = [{"type": "context", "block_id": "digest:meta",
                     "elements": [{"type": "mrkdwn", "text": escape(truncate(
                         _(lang, "Suggestions for {tenant} (data as of {as_of}), part "
                                 "{part}/{parts}", tenant=tenant_name, as_of=as_of, part=i,
                           parts=len(chunks)), MAX_SECTION_TEXT))}]}]
        blocks = list(head)
        for row in chunk:
            blocks.extend(suggestion_blocks(row, lang=lang, currency=currency,
                                            time_zone=time_zone, now=now))
        assert len(blocks) <= MAX_BLOCKS
        out.append(DigestMessage(text=fallback, blocks=blocks,
                                 suggestion_ids=[int(r["suggestion_id"]) for r in chunk]))
    return out


def rebuild_blocks(blocks: Sequence[Mapping[str, Any]], rows: Mapping[int, Mapping[str, Any]], *,
                   currency: str, time_zone: str, now: datetime | None = None,
                   default_lang: str = "en") -> list[dict[str, Any]]:
    """Return a posted message's blocks with each known suggestion re-rendered in its state.

    ``blocks`` are the message's current blocks (from the click payload); ``rows`` maps
    suggestion id to its current ``ads.suggestions`` row. Every suggestion unit (blocks whose id
    is ``sug|act|done|div:ID:LANG:REV``) is replaced by
    :func:`suggestion_blocks` for the row's state, in the language of its section block id;
    units of unknown suggestions and the other blocks (header, context) are kept as they are.
    """
    out: list[dict[str, Any]] = []
    emitted: set[int] = set()
    for block in blocks:
        m = _BLOCK_ID.match(str(block.get("block_id") or ""))
        if m is None:
            out.append(dict(block))
            continue
        sid = int(m.group(2))
        if sid not in rows:
            out.append(dict(block))
            continue
        if sid in emitted:
            continue
        emitted.add(sid)
        lang = m.group(3) if m.group(3) in LANGS else default_lang
        out.extend(suggestion_blocks(rows[sid], lang=lang, currency=currency,
                                     time_zone=time_zone, now=now))
    return out[:MAX_BLOCKS]


def block_suggestion_ids(blocks: Sequence[Mapping[str, Any]]) -> list[int]:
    """Return the suggestion ids of a message's blocks (from their block ids), in order."""
    ids: list[int] = []
    for block in blocks:
        m = _BLOCK_ID.match(str(block.get("block_id") or ""))
        if m and int(m.group(2)) not in ids:
            ids.append(int(m.group(2)))
    return ids


def block_lang(blocks: Sequence[Mapping[str, Any]], default: str = "en") -> str:
    """Return the language a digest message was written in (from its ``KIND:ID:LANG`` block ids)."""
    for block in blocks:
        m = _BLOCK_ID.match(str(block.get("block_id") or ""))
        if m and m.group(3) in LANGS:
            return str(m.group(3))
    return default


# ------------------------------------------------------------------------------- database
def tenant_slack(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's name, currency, time zone and Slack channel fields.

    Keys: ``client_name``, ``currency``, ``time_zone``, ``slack_channel_id``,
    ``slack_validation_channel`` and ``channel`` (the id, else the validation channel, else None).
    Raises :class:`NotFound` when the tenant transaction does not see the tenant.
    """
    row = conn.execute(
        """select client_name, currency, time_zone, slack_channel_id, slack_validation_channel
           from core.tenants where tenant_id = %s""", [str(tenant_id)]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    channel = (row["slack_channel_id"] or "").strip() or \
        (row["slack_validation_channel"] or "").strip() or None
    return {**row, "channel": channel}


_UNPOSTED_SQL = """
select s.*
from ads.suggestions s
where s.tenant_id = %(t)s and s.as_of = %(as_of)s and s.status = 'pending'
  and s.slack_message_ts is null and s.expires_at > %(now)s
order by case s.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
         s.confidence desc, s.suggestion_id
"""


def _store_ts(conn: Any, tenant_id: str, ids: list[int], ts: list[str]) -> None:
    """Set ``slack_message_ts`` on the posted suggestions (one statement)."""
    if not ids:
        return
    conn.execute(
        """update ads.suggestions s set slack_message_ts = v.ts
           from unnest(%s::bigint[], %s::text[]) as v(id, ts)
           where s.tenant_id = %s and s.suggestion_id = v.id""",
        [ids, ts, tenant_id])


def post_digest(conn: Any, *, tenant_id: UUID | str, as_of: date, client: WebClient,
                lang: str = "en", now: datetime | None = None) -> list[str]:
    """Post the tenant's pending suggestions of ``as_of`` to its validation channel.

    The channel is ``core.tenants.slack_channel_id``, else ``slack_validation_channel`` (an id
    or a ``#name``). Only pending, unexpired suggestions not yet posted (``slack_message_ts``
    NULL) are sent, so a re-run posts nothing twice; nothing to post returns ``[]`` without any
    call. Each message goes through ``chat.postMessage`` and is logged in
    ``core.api_calls_log`` (redacted); then one set-based UPDATE stores each suggestion's
    ``slack_message_ts``. When the tenant has no ``slack_channel_id`` yet, the channel id Slack
    answers is stored there, so button clicks (which carry the id) find the tenant.

    Runs in the caller's tenant transaction (never commits). Returns the posted messages' ``ts``.
    Raises :class:`ConfigError` when the tenant has no channel, :class:`InvalidInput` for an
    unknown ``lang``, :class:`~growthops.connectors.slack.client.SlackError` when Slack refuses
    (e.g. ``channel_not_found``): the messages posted before the failure keep their ts.
    """
    _check_lang(lang)
    now = now or datetime.now(UTC)
    tid = str(tenant_id)
    tenant = tenant_slack(conn, tenant_id=tid)
    if tenant["channel"] is None:
        raise ConfigError(f"slack_channel_id / slack_validation_channel: tenant "
                          f"{tenant['client_name']!r} has no Slack channel")
    rows = conn.execute(_UNPOSTED_SQL, {"t": tid, "as_of": as_of, "now": now}).fetchall()
    messages = digest_messages(rows, tenant_name=tenant["client_name"], as_of=as_of, lang=lang,
                               currency=tenant["currency"], time_zone=tenant["time_zone"], now=now)
    posted: list[str] = []
    ids: list[int] = []
    ts_of_id: list[str] = []
    channel_id: str | None = None

    def remember() -> None:
        _store_ts(conn, tid, ids, ts_of_id)
        if channel_id and not (tenant["slack_channel_id"] or "").strip():
            conn.execute("update core.tenants set slack_channel_id = %s, updated_at = now() "
                         "where tenant_id = %s", [channel_id, tid])

    for msg in messages:
        try:
            data = call(client, "chat.postMessage", conn=conn, tenant_id=tid,
                        log_request={"channel": tenant["channel"], "text": msg.text,
                                     "blocks": len(msg.blocks),
                                     "suggestion_ids": msg.suggestion_ids},
                        channel=tenant["channel"], text=msg.text, blocks=msg.blocks,
                        unfurl_links=False, unfurl_media=False)
        except SlackError:
            remember()  # the messages already in Slack keep their ts
            raise
        ts = str(data["ts"])
        channel_id = channel_id or data.get("channel")
        posted.append(ts)
        ids.extend(msg.suggestion_ids)
        ts_of_id.extend([ts] * len(msg.suggestion_ids))
    remember()
    return posted
