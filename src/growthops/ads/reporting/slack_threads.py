"""Slack beyond the daily digest: one message per suggestion, its story told in its thread.

:func:`sync_tenant` brings a tenant's Slack channel up to date with the database, whoever
changed it (dashboard, CLI, API, Slack, the worker). One run:

1. **items**: every pending, unexpired suggestion without its own message gets one in the
   tenant's validation channel (``core.tenants.slack_channel_id``, else
   ``slack_validation_channel``): the digest's blocks for one suggestion (section, Approve /
   Refuse / Backlog buttons: :func:`growthops.ads.reporting.slack.suggestion_blocks`), so the
   existing button handler (:mod:`growthops.ads.reporting.slack_actions`) records clicks on it.
   Its ``ts`` is the item's thread (``ads.slack_posts`` row ``item:<suggestion id>``).
2. **replies in the item's thread** (``thread_ts`` = the item's ``ts``), one per event, oldest
   first: each decision (``ads.decisions``: approved, refused, backlog; who and through which
   channel), each settled execution (``ads.execution_logs`` applied, reconciled, failed,
   blocked, dry run; a creative brief handed to the validation queue), the expiry, each step of
   a handed-off creative in the validation queue (``ads.audit_log`` ``validation.advanced``,
   ``validation.rejected``, ``validation.expired``; the item's ``ads.validation_queue``
   ``slack_thread_ts`` is set to the thread) and the measured outcome of its hypothesis
   (``ads.hypothesis_tracking``, 7 days after the execution: :mod:`growthops.ads.learning.
   measurement`), which is also broadcast to the channel (``reply_broadcast``). An outcome
   whose suggestion has no message of its own goes to the channel as a message of its own. A
   reply also re-renders the item's message (``chat.update``: its buttons give way to who
   decided), best effort.
3. **anomaly alerts**: each anomaly of the last :data:`ANOMALY_LOOKBACK_DAYS` reporting days
   (counted back from the tenant's latest anomaly day) whose severity is at least the tenant's
   ``alert_min_severity`` (default ``high``), active or investigating, one message each, in the
   tenant's alerts channel (``ads.slack_settings.alerts_channel``, else the validation channel).
   The key is the anomaly's natural key (day, platform, level, entity, metric): a replayed
   cycle re-inserts anomalies with new ids, and they are still never posted twice.
4. **intraday overspend alerts**: each ``ads.pacing_checks`` row flagged (``flagged_at``, set
   once by :func:`growthops.ads.sync.intraday.check_pacing`) within :data:`PACING_LOOKBACK`,
   an entity's day or the tenant's month, one message each in the alerts channel, when
   ``alert_min_severity`` is at most :data:`PACING_SEVERITY`. Key
   ``pacing:<scope>:<period_start>:<platform>:<level>:<entity>`` (kind ``anomaly``), so a
   projection re-checked every hour is posted once per entity and day, once per month.

**Exactly once.** Every message has a ``post_key`` unique per tenant in ``ads.slack_posts``
(migration 0120). A run first *claims* the keys it is about to post in one committed statement
(``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the row failed before, or its claim is older
than :data:`STALE_CLAIM`), so two concurrent runs never both post a key; then it calls Slack,
and records ``state = 'sent'`` with Slack's ``ts`` only after Slack answered ``ok`` (one short
transaction per message, the call logged in ``core.api_calls_log``). A Slack failure records
``state = 'failed'`` with the error; the next run retries it, at most :data:`MAX_ATTEMPTS`
attempts in all. After a ``ratelimited`` answer the run stops and gives its remaining claims
back without using their attempts (:func:`_defer`): the next run goes on. A process that dies
between Slack's answer and the record leaves a ``pending`` claim that is taken again after
:data:`STALE_CLAIM`. Slack's ``chat.postMessage`` has no idempotency key, so every message
carries Slack message metadata naming its key (event type :data:`METADATA_EVENT`), and the run
that takes over a stale claim first reads the channel (``conversations.history``) or the thread
(``conversations.replies``) back from the dead claim's time (:func:`find_posted`): a message
found is recorded as sent, not posted again. Only when Slack cannot be read (a token without
the ``channels:history`` / ``groups:history`` scope, a channel given by name) is the message
posted again, and may then appear twice; the lookup's failure is logged.

**Tenant isolation.** Each run works in one tenant's transactions (row-level security on every
table read and on ``ads.slack_posts``); channels come only from that tenant's settings and its
own items' messages.

**Language.** ``ads.slack_settings.lang`` when set, else the caller's ``lang``
(:func:`tenant_prefs`); each thread keeps the language of its item's message.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from growthops.ads.reporting.digest import suggestion_text
from growthops.ads.reporting.slack import (
    MAX_FALLBACK_TEXT,
    suggestion_blocks,
    tenant_slack,
)
from growthops.connectors.slack.client import SlackError, call
from growthops.connectors.slack.mrkdwn import truncate
from growthops.core.i18n import _

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from growthops.core.db import Database
from growthops.ads.reporting.slack_messages import (  # noqa: F401 (re-exported)
    ANOMALY_TEXT,
    EXECUTION_TEXT,
    OUTCOME_TEXT,
    PACING_DAY_TEXT,
    PACING_MONTH_TEXT,
    Post,
    anomaly_post,
    event_text,
    item_post,
    outcome_text,
    pacing_key,
    pacing_post,
)
from growthops.ads.reporting.slack_prefs import (  # noqa: F401 (re-exported)
    _UNSET,
    MODES,
    PREF_FIELDS,
    PREFS_MODULE,
    SEVERITIES,
    _check_lang,
    change_prefs,
    digest_lang,
    set_prefs,
    tenant_prefs,
)

#: Attempts per message before a failing post is left ``failed`` for good (a person then fixes
#: the channel or the token). A design choice, not a measured value: at the worker's one-minute
#: tick, 5 attempts ride out a rate limit or an outage of a few minutes without retrying a
#: misconfigured channel forever. Each attempt is logged in ``core.api_calls_log``.
MAX_ATTEMPTS = 5
#: A ``pending`` claim older than this belongs to a run that died: it may be taken again.
#: Ten minutes is far above one message's worst time (the client's 10 s timeout).
STALE_CLAIM = timedelta(minutes=10)
#: Slack message metadata ``event_type`` of every message posted here; its ``event_payload``
#: is ``{"post_key": <key>}`` (https://docs.slack.dev/messaging/message-metadata/). Names
#: must be lowercase letters, digits and underscores.
METADATA_EVENT = "growthops_post"
#: How far before the dead claim's ``claimed_at`` the recovery reads back (clock skew between
#: this host and Slack) and how many pages of 200 messages it reads at most.
RECOVERY_MARGIN = timedelta(minutes=2)
RECOVERY_MAX_PAGES = 5
#: Anomaly days looked at, counted back from the tenant's latest anomaly day: alerts stay about
#: new anomalies (turning Slack on never floods the channel with the history).
ANOMALY_LOOKBACK_DAYS = 3
#: Measured outcomes of suggestions without a message of their own are posted when measured
#: within this window of the run's clock (the same reason).
OUTCOME_LOOKBACK = timedelta(days=7)
#: Threads older than this (since their item's message) are no longer answered: a suggestion
#: moves to the archive after 30 days (seed 000) and its hypothesis is measured 7 days after
#: the execution plus the settle days (``ads.learning.hypotheses.SETTLE_DAYS``), well within 45.
THREAD_HORIZON = timedelta(days=45)
#: Intraday overspends flagged longer ago than this are not posted (turning Slack on never floods
#: the channel with old days): one day covers the worker being down overnight.
PACING_LOOKBACK = timedelta(days=1)
#: The severity an intraday overspend is alerted at against ``alert_min_severity``: an
#: overspend costs money every hour until someone acts, as a high-severity anomaly does (a design
#: choice; a tenant with ``critical`` gets no pacing alert).
PACING_SEVERITY = "high"

_log = logging.getLogger("growthops.ads.slack")

# ---------------------------------------------------------------------------------- queries
_ITEMS_SQL = """
select s.* from ads.suggestions s
where s.tenant_id = %(t)s and s.status = 'pending' and s.expires_at > %(now)s
  and not exists (select 1 from ads.slack_posts p where p.tenant_id = %(t)s
                  and p.post_key = 'item:' || s.suggestion_id and p.state = 'sent')
order by case s.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
         s.confidence desc, s.suggestion_id
"""

# Every transition of an item with a message, plus the outcomes of the others, not yet sent.
_EVENTS_SQL = """
with roots as (
  select p.suggestion_id, p.channel_id, p.ts, p.lang from ads.slack_posts p
  where p.tenant_id = %(t)s and p.kind = 'item' and p.state = 'sent'
    and p.sent_at >= %(horizon)s
), ev as (
  select 'decision:' || d.decision_id as key, d.suggestion_id, 'decision' as event,
         d.decision as code, d.decided_by as who, d.decided_at as at, d.channel as via,
         d.notes as detail, null::jsonb as data, null::bigint as ref
  from ads.decisions d join roots r on r.suggestion_id = d.suggestion_id
  where d.tenant_id = %(t)s
  union all
  select 'execution:' || x.execution_id, x.suggestion_id, 'execution', x.status, x.executed_by,
         coalesce(x.executed_at, x.claimed_at), x.action_type, x.error_message, x.after_state,
         x.execution_id
  from ads.execution_logs x join roots r on r.suggestion_id = x.suggestion_id
  where x.tenant_id = %(t)s and x.status <> 'claimed'
  union all
  select 'expired:' || s.suggestion_id, s.suggestion_id, 'expired', 'expired', null,
         s.expires_at, null, null, null, null
  from ads.suggestions s join roots r on r.suggestion_id = s.suggestion_id
  where s.tenant_id = %(t)s
    and (s.status = 'expired' or (s.status in ('pending', 'backlog') and s.expires_at <= %(now)s))
  union all
  select 'audit:' || a.audit_id, (a.after->>'suggestion_id')::bigint, 'validation', a.action,
         a.actor, a.occurred_at, null, a.reason, a.after, a.object_id::bigint
  from ads.audit_log a
  join roots r on r.suggestion_id::text = a.after->>'suggestion_id'
  where a.tenant_id = %(t)s and a.object_type = 'validation_item'
    and a.action in ('validation.advanced', 'validation.rejected', 'validation.expired')
    and a.object_id ~ '^[0-9]{1,18}$'
  union all
  select 'outcome:' || h.hypothesis_id, h.suggestion_id, 'outcome', h.outcome, null,
         h.measured_at, null, null, h.variance, h.hypothesis_id
  from ads.hypothesis_tracking h left join roots r on r.suggestion_id = h.suggestion_id
  where h.tenant_id = %(t)s and h.outcome is not null
    and (r.ts is not null or h.measured_at >= %(since)s)
)
select ev.*, r.channel_id, r.ts as thread_ts, r.lang as thread_lang,
       coalesce(h.platform, s.platform) as platform,
       coalesce(h.entity_type, s.entity_type) as entity_type,
       coalesce(h.entity_id, s.entity_id) as entity_id, s.entity_name
from ev
left join roots r on r.suggestion_id = ev.suggestion_id
left join ads.hypothesis_tracking h on ev.event = 'outcome' and h.tenant_id = %(t)s
      and h.hypothesis_id = ev.ref
left join ads.suggestions s on s.tenant_id = %(t)s and s.suggestion_id = ev.suggestion_id
where not exists (select 1 from ads.slack_posts p where p.tenant_id = %(t)s
                  and p.post_key = ev.key and p.state = 'sent')
order by ev.at nulls first, ev.key
"""

_ANOMALIES_SQL = """
select a.* from ads.anomalies a
where a.tenant_id = %(t)s and a.status in ('active', 'investigating')
  and a.severity = any(%(severities)s)
  and a.as_of > (select max(as_of) from ads.anomalies where tenant_id = %(t)s) - %(days)s::int
  and not exists (select 1 from ads.slack_posts p where p.tenant_id = %(t)s and p.state = 'sent'
                  and p.post_key = left('anomaly:' || a.as_of || ':' || a.platform || ':'
                                        || a.level || ':' || a.entity_id || ':' || a.metric, 300))
order by a.as_of, case a.severity when 'critical' then 0 else 1 end, a.anomaly_id
"""

_PACING_SQL = """
select c.* from ads.pacing_checks c
where c.tenant_id = %(t)s and c.flagged_at is not null and c.flagged_at >= %(since)s
  and not exists (select 1 from ads.slack_posts p where p.tenant_id = %(t)s and p.state = 'sent'
                  and p.post_key = left('pacing:' || c.scope || ':' || c.period_start || ':'
                                        || c.platform || ':' || c.level || ':' || c.entity_id, 300))
order by c.flagged_at, c.scope, c.platform, c.level, c.entity_id
"""

_CLAIM_SQL = """
insert into ads.slack_posts as p (tenant_id, post_key, kind, suggestion_id, channel, thread_ts,
                                  lang, state, attempts, claimed_at)
select %(t)s, x.k, x.kind, x.sid, x.ch, x.th, x.lg, 'pending', 1, %(now)s
from unnest(%(keys)s::text[], %(kinds)s::text[], %(sids)s::bigint[], %(chs)s::text[],
            %(ths)s::text[], %(lgs)s::text[]) as x(k, kind, sid, ch, th, lg)
on conflict (tenant_id, post_key) do update
  set state = 'pending', attempts = p.attempts + 1, claimed_at = %(now)s,
      channel = excluded.channel, thread_ts = excluded.thread_ts, lang = excluded.lang,
      stale_claimed_at = case when p.state = 'pending' then p.claimed_at
                              else p.stale_claimed_at end
  where (p.state = 'failed' and p.attempts < %(max)s)
     or (p.state = 'pending' and p.claimed_at < %(stale)s)
returning p.post_key, p.stale_claimed_at
"""


def claim(conn: Any, *, tenant_id: UUID | str, posts: Sequence[Post],
          now: datetime) -> list[Post]:
    """Claim ``posts`` for this run (one statement, in the caller's transaction: commit it
    before calling Slack); return those claimed, in order.

    A key is claimed when it has no row yet, when its last attempt failed and fewer than
    :data:`MAX_ATTEMPTS` were made, or when its ``pending`` claim is older than
    :data:`STALE_CLAIM` (a run that died). A key another run holds, or already sent, is not.
    A key that was ever taken over from a dead run comes back with ``stale_since`` set (the
    dead claim's time): :func:`_send` looks for it in Slack before posting.
    """
    if not posts:
        return []
    rows = conn.execute(_CLAIM_SQL, {
        "t": str(tenant_id), "now": now, "max": MAX_ATTEMPTS, "stale": now - STALE_CLAIM,
        "keys": [p.key for p in posts], "kinds": [p.kind for p in posts],
        "sids": [p.suggestion_id for p in posts], "chs": [p.channel for p in posts],
        "ths": [p.thread_ts for p in posts], "lgs": [p.lang for p in posts]}).fetchall()
    got = {r["post_key"]: r["stale_claimed_at"] for r in rows}
    return [replace(p, stale_since=got[p.key]) if got[p.key] else p
            for p in posts if p.key in got]


# -------------------------------------------------------------------------------------- run
@dataclass
class SyncResult:
    """What one :func:`sync_tenant` run did: messages ``sent`` and ``failed`` per kind
    (``item``, ``reply``, ``outcome``, ``anomaly``) and the Slack error codes met."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def total_sent(self) -> int:
        """Messages sent by the run, all kinds."""
        return sum(self.sent.values())


def _send(db: Database, client: WebClient, tenant_id: str, post: Post, now: datetime,
          result: SyncResult) -> dict[str, Any] | None:
    """Post one claimed message and record the outcome (one short transaction); return
    Slack's answer, or None after a failure (recorded ``failed``)."""
    if post.stale_since is not None:
        found = find_posted(db, client, tenant_id, post)
        if found is not None:
            with db.tenant_tx(tenant_id) as conn:
                conn.execute(
                    """update ads.slack_posts set state = 'sent', ts = %s, channel_id = %s,
                              sent_at = %s, last_error = null
                       where tenant_id = %s and post_key = %s""",
                    [found["ts"], found["channel"], now, tenant_id, post.key])
            result.sent[post.kind] = result.sent.get(post.kind, 0) + 1
            return found
    args: dict[str, Any] = {"channel": post.channel, "text": post.text,
                            "unfurl_links": False, "unfurl_media": False,
                            "metadata": {"event_type": METADATA_EVENT,
                                         "event_payload": {"post_key": post.key}}}
    if post.blocks:
        args["blocks"] = post.blocks
    if post.thread_ts:
        args["thread_ts"] = post.thread_ts
        if post.broadcast:
            args["reply_broadcast"] = True
    with db.tenant_tx(tenant_id) as conn:
        try:
            data = call(client, "chat.postMessage", conn=conn, tenant_id=tenant_id,
                        log_request={"channel": post.channel, "post_key": post.key,
                                     "thread_ts": post.thread_ts, "text": post.text[:200]},
                        **args)
        except SlackError as exc:
            conn.execute("update ads.slack_posts set state = 'failed', last_error = %s "
                         "where tenant_id = %s and post_key = %s",
                         [truncate(str(exc), 2000), tenant_id, post.key])
            result.failed[post.kind] = result.failed.get(post.kind, 0) + 1
            result.errors.append(exc.error)
            return None
        conn.execute(
            """update ads.slack_posts set state = 'sent', ts = %s, channel_id = %s, sent_at = %s,
                      last_error = null
               where tenant_id = %s and post_key = %s""",
            [str(data["ts"]), data.get("channel") or post.channel, now, tenant_id, post.key])
    result.sent[post.kind] = result.sent.get(post.kind, 0) + 1
    return data


def find_posted(db: Database, client: WebClient, tenant_id: str,
                post: Post) -> dict[str, Any] | None:
    """Look in Slack for ``post`` as posted by a run that died before recording it.

    Reads ``conversations.history`` of ``post.channel`` (or ``conversations.replies`` of its
    thread) with ``include_all_metadata``, from ``post.stale_since`` minus
    :data:`RECOVERY_MARGIN`, at most :data:`RECOVERY_MAX_PAGES` pages of 200 messages, and
    returns ``{"ts", "channel"}`` of the first message whose metadata is
    :data:`METADATA_EVENT` with this ``post_key``; None when none is found or Slack cannot be
    read (the error is logged in ``core.api_calls_log`` and the caller posts again). Needs the
    ``channels:history`` (public) or ``groups:history`` (private channel) scope. Slack's
    history is read by channel id: a channel given by name (``#ads``) cannot be read, and is
    posted again.
    """
    assert post.stale_since is not None
    oldest = f"{(post.stale_since - RECOVERY_MARGIN).timestamp():.6f}"
    method = "conversations.replies" if post.thread_ts else "conversations.history"
    args: dict[str, Any] = {"channel": post.channel, "oldest": oldest, "limit": 200,
                            "include_all_metadata": True}
    if post.thread_ts:
        args["ts"] = post.thread_ts
    cursor: str | None = None
    for _page in range(RECOVERY_MAX_PAGES):
        with db.tenant_tx(tenant_id) as conn:
            try:
                data = call(client, method, conn=conn, tenant_id=tenant_id,
                            log_request={"channel": post.channel, "post_key": post.key,
                                         "oldest": oldest, "recovery": True},
                            **args, **({"cursor": cursor} if cursor else {}))
            except SlackError as exc:
                _log.warning("Slack recovery of %s for tenant %s could not read %s (%s): "
                               "posting it again", post.key, tenant_id, method, exc.error)
                return None
        for m in data.get("messages") or []:
            meta = m.get("metadata") or {}
            if (meta.get("event_type") == METADATA_EVENT
                    and (meta.get("event_payload") or {}).get("post_key") == post.key):
                return {"ts": str(m["ts"]), "channel": data.get("channel") or post.channel}
        cursor = ((data.get("response_metadata") or {}).get("next_cursor") or None)
        if not cursor:
            return None
    return None


def _defer(db: Database, tenant_id: str, posts: Sequence[Post]) -> None:
    """Give back the claims of ``posts`` after Slack said ``ratelimited``: they become
    ``failed`` without using an attempt, so the next run posts them (one statement)."""
    if not posts:
        return
    with db.tenant_tx(tenant_id) as conn:
        conn.execute(
            """update ads.slack_posts set state = 'failed', attempts = attempts - 1,
                      last_error = 'deferred: Slack rate limit'
               where tenant_id = %s and post_key = any(%s) and state = 'pending'""",
            [tenant_id, [p.key for p in posts]])


def sync_tenant(db: Database, *, tenant_id: UUID | str, client: WebClient, lang: str = "en",
                now: datetime | None = None, replies_only: bool = False) -> SyncResult:
    """Bring one tenant's Slack up to date: items, replies in their threads, outcomes, alerts.

    See the module's docstring for what is posted, where, and the exactly-once rule. ``lang``
    is the language when the tenant has none set (``ads.slack_settings.lang``); ``now`` the
    run's clock (UTC; default the wall clock). Items are posted only in the modes ``threads``
    and ``both``; a tenant without a Slack channel gets nothing (an empty result, no call).
    Slack failures are recorded per message and counted in the result, never raised; database
    errors are raised. Opens its own short transactions (never one across a Slack call but the
    one recording that call). ``replies_only``: only the replies in existing threads and the
    outcomes (what a button click calls, to answer at once; no new item, no alert).
    """
    _check_lang(lang)
    now = now or datetime.now(UTC)
    tid = str(tenant_id)
    result = SyncResult()
    with db.tenant_tx(tid) as conn:
        prefs = tenant_prefs(conn, tenant_id=tid, lang=lang)
        if prefs["channel"] is None:
            return result
        lg, tz, cur = prefs["lang"], prefs["time_zone"], prefs["currency"]
        items: list[Post] = []
        if prefs["mode"] in ("threads", "both") and not replies_only:
            items = [item_post(r, channel=prefs["channel"], lang=lg, currency=cur, time_zone=tz,
                               now=now)
                     for r in conn.execute(_ITEMS_SQL, {"t": tid, "now": now}).fetchall()]
        items = claim(conn, tenant_id=tid, posts=items, now=now)
    learned_channel: str | None = None
    for i, post in enumerate(items):
        data = _send(db, client, tid, post, now, result)
        learned_channel = learned_channel or (data or {}).get("channel")
        if data is None and result.errors[-1] == "ratelimited":
            _defer(db, tid, items[i + 1:])
            return result
    if learned_channel and not (prefs["slack_channel_id"] or "").strip():
        # As the digest does: button clicks carry the channel id, which must find the tenant.
        with db.tenant_tx(tid) as conn:
            conn.execute("update core.tenants set slack_channel_id = %s, updated_at = now() "
                         "where tenant_id = %s and slack_channel_id is null",
                         [learned_channel, tid])

    with db.tenant_tx(tid) as conn:
        events = conn.execute(_EVENTS_SQL, {"t": tid, "now": now, "since": now - OUTCOME_LOOKBACK,
                                            "horizon": now - THREAD_HORIZON}).fetchall()
        rank = SEVERITIES.index(prefs["alert_min_severity"])
        anomalies = [] if replies_only else conn.execute(
            _ANOMALIES_SQL, {"t": tid, "severities": list(SEVERITIES[rank:]),
                             "days": ANOMALY_LOOKBACK_DAYS}).fetchall()
        replies: list[Post] = []
        for ev in events:
            in_thread = ev["thread_ts"] is not None
            ev_lang = ev["thread_lang"] if in_thread else lg
            kind = "outcome" if ev["event"] == "outcome" else "reply"
            replies.append(Post(
                key=ev["key"], kind=kind, lang=ev_lang, suggestion_id=ev["suggestion_id"],
                channel=ev["channel_id"] if in_thread else prefs["channel"],
                thread_ts=ev["thread_ts"], broadcast=kind == "outcome" and in_thread,
                text=event_text(ev, lang=ev_lang, time_zone=tz)))
        alerts = [anomaly_post(a, channel=prefs["alerts_channel"], lang=lg) for a in anomalies]
        if not replies_only and rank <= SEVERITIES.index(PACING_SEVERITY):
            alerts += [pacing_post(r, channel=prefs["alerts_channel"], lang=lg, currency=cur)
                       for r in conn.execute(_PACING_SQL, {"t": tid,
                                                           "since": now - PACING_LOOKBACK})]
        todo = claim(conn, tenant_id=tid, posts=[*replies, *alerts], now=now)
        # A creative handed to the validation queue lives in its suggestion's thread.
        conn.execute(
            """update ads.validation_queue q set slack_thread_ts = p.ts
               from ads.slack_posts p
               where q.tenant_id = %(t)s and q.slack_thread_ts is null
                 and p.tenant_id = %(t)s and p.kind = 'item' and p.state = 'sent'
                 and q.content->>'suggestion_id' = p.suggestion_id::text""", {"t": tid})
    touched: set[int] = set()
    for i, post in enumerate(todo):
        data = _send(db, client, tid, post, now, result)
        if data is not None and post.thread_ts and post.suggestion_id is not None:
            touched.add(post.suggestion_id)
        if data is None and result.errors[-1] == "ratelimited":
            _defer(db, tid, todo[i + 1:])
            break
    if touched:
        refresh_items(db, client, tenant_id=tid, suggestion_ids=sorted(touched), now=now)
    return result


def refresh_items(db: Database, client: WebClient, *, tenant_id: str,
                  suggestion_ids: Sequence[int], now: datetime) -> int:
    """Re-render the items' own messages in their current state (``chat.update``: the
    buttons give way to who decided and when); return how many Slack accepted.

    One query for the rows; a failing update is logged (``core.api_calls_log``) and skipped:
    the thread already tells the story.
    """
    done = 0
    with db.tenant_tx(tenant_id) as conn:
        tenant = tenant_slack(conn, tenant_id=tenant_id)
        rows = conn.execute(
            """select s.*, p.channel_id as post_channel, p.ts as post_ts, p.lang as post_lang
               from ads.suggestions s join ads.slack_posts p
                 on p.tenant_id = s.tenant_id and p.post_key = 'item:' || s.suggestion_id
                and p.state = 'sent'
               where s.tenant_id = %s and s.suggestion_id = any(%s)""",
            [tenant_id, list(suggestion_ids)]).fetchall()
        for r in rows:
            blocks = suggestion_blocks(r, lang=r["post_lang"], currency=tenant["currency"],
                                       time_zone=tenant["time_zone"], now=now)
            text = truncate(_(r["post_lang"], "Suggestion {id}: {action}", id=r["suggestion_id"],
                              action=suggestion_text(dict(r), "action", r["post_lang"])),
                            MAX_FALLBACK_TEXT)
            with contextlib.suppress(SlackError):
                call(client, "chat.update", conn=conn, tenant_id=tenant_id,
                     log_request={"channel": r["post_channel"], "ts": r["post_ts"],
                                  "suggestion_id": r["suggestion_id"]},
                     channel=r["post_channel"], ts=r["post_ts"], text=text, blocks=blocks)
                done += 1
    return done


def sync_all(db: Database, *, client: WebClient, now: datetime | None = None,
             tenants: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Run :func:`sync_tenant` for every tenant (the directory, or ``tenants``); return counts.

    A tenant whose run raises is logged to its ``core.system_logs`` and the others still run.
    Returns ``{"tenants": n, "sent": n, "failed": n, "errors": n}``.
    """
    from growthops.core.logs.service import log_event
    from growthops.core.tenants.service import directory

    if tenants is None:
        with db.app_tx() as conn:
            tenants = directory(conn)
    out = {"tenants": 0, "sent": 0, "failed": 0, "errors": 0}
    for t in tenants:
        tid = str(t["tenant_id"])
        out["tenants"] += 1
        try:
            res = sync_tenant(db, tenant_id=tid, client=client, now=now)
            out["sent"] += res.total_sent
            out["failed"] += sum(res.failed.values())
        except Exception as exc:
            out["errors"] += 1
            _log.exception("Slack sync of tenant %s failed", tid)
            with contextlib.suppress(Exception), db.tenant_tx(tid) as conn:
                log_event(conn, tenant_id=tid, level="ERROR", module="ads.slack",
                          message="Slack sync failed", exc=exc)
    return out


def client_from_settings() -> WebClient | None:
    """Return the bot's Web API client from the settings (``GROWTHOPS_SLACK_BOT_TOKEN``,
    ``GROWTHOPS_SLACK_API_URL``), or None when no token is configured."""
    from growthops.connectors.slack.client import make_client
    from growthops.settings import get_settings

    settings = get_settings()
    if settings.slack_bot_token is None:
        return None
    return make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


# -------------------------------------------------------------------------------------- job
TASK_SLACK_SYNC = "ads.slack_sync"
#: Every minute (procrastinate cron, UTC): a decision made in the dashboard, the CLI or the API
#: is answered in its Slack thread within about a minute; a tenant with nothing new costs two
#: indexed queries.
SLACK_SYNC_CRON = "* * * * *"


def slack_sync(context: Any, timestamp: int) -> dict[str, Any]:
    """Run :func:`sync_all` at the tick ``timestamp`` (task ``ads.slack_sync``); nothing without
    a bot token (``GROWTHOPS_SLACK_BOT_TOKEN``)."""
    from growthops.core.jobs.retry import db_of

    client = client_from_settings()
    if client is None:
        return {"tenants": 0, "sent": 0, "failed": 0, "errors": 0, "skipped": "no bot token"}
    return sync_all(db_of(context), client=client, now=datetime.fromtimestamp(timestamp, UTC))


def register_slack_tasks(app: Any, *, periodic: bool = True) -> None:
    """Register the ``ads.slack_sync`` task on ``app`` (and its one-minute schedule when
    ``periodic``), with a queueing lock so ticks never pile up while a worker is down."""
    task = app.task(name=TASK_SLACK_SYNC, pass_context=True,
                     queueing_lock=TASK_SLACK_SYNC)(slack_sync)
    if periodic:
        app.periodic(cron=SLACK_SYNC_CRON, periodic_id=TASK_SLACK_SYNC)(task)
