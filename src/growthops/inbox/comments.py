"""Comment monitoring on Instagram posts: rules, monitored posts, comments, triage and replies.

* **Rules** (``monitoring_rules``): per account or the tenant's default; the last N posts
  (1-20, default 5) for D days (1-30, default 7); AI on or off for comments; the tenant's
  explicit **auto policy** (``auto_reply_enabled``): without it the AI's replies wait as
  drafts for a person's approval.
* **Monitored posts**: a published scheduled post (source ``scheduled``), the account's last N
  media (``imported``, :func:`auto_monitor`), or one added by hand (``manual``), until
  ``posted_at + D days``; the plan caps how many are monitored at once.
* **Comments** arrive by webhook (field ``comments``, :func:`store_webhook`) and by polling
  (:func:`poll`, from the saved cursor ``comment_checkpoint``), so a missed webhook is caught;
  one row per platform comment id whatever the path (``on conflict do nothing``); threads via
  ``parent_id``.
* **Triage**: each new comment goes through :func:`growthops.inbox.triage.comment_policy`
  (respond | ignore | escalate | user_conversation); see :func:`apply_decisions`.
* **Replies** (:func:`send_reply`): public (``POST /{comment-id}/replies``) or private to the
  commenter (``POST /{ig-user-id}/messages`` with ``recipient.comment_id``). Instagram's rules,
  enforced here before any call: **at most one private reply per comment, within 7 days of the
  comment** (Instagram Platform, "Private Replies"); growthops sends one reply per comment. An
  AI reply costs one credit (:mod:`.credits`, action ``comment:<id>``); out of credits it is
  not sent and the comment is escalated with reason ``out_of_credits``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.connectors.instagram.publishing import Comment, PublishingTransport
from growthops.connectors.messaging import MessagingError
from growthops.core.db import Database
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.inbox import accounts, credits, triage

#: Instagram Platform, "Private Replies": one private reply per comment, within 7 days.
PRIVATE_REPLY_WINDOW = timedelta(days=7)
#: How often a monitored post is polled (webhooks carry the rest in real time).
POLL_EVERY = timedelta(minutes=5)
#: Longest reply. Source: Instagram comments are limited to 2,200 characters (as captions).
MAX_REPLY = 2200
TRIAGES = ("respond", "ignore", "escalate", "user_conversation")
DEFAULT_RULE = {"rule_id": None, "social_account_id": None, "auto_monitor_enabled": True,
                "auto_monitor_count": 5, "monitoring_duration_days": 7,
                "ai_enabled_for_comments": True, "auto_reply_enabled": False}


# ------------------------------------------------------------------------------------ rules
def get_rule(conn: Any, *, tenant_id: UUID | str, social_account_id: int | None) -> dict[str, Any]:
    """Return the rule of the account, else the tenant's default, else :data:`DEFAULT_RULE`."""
    row = conn.execute(
        """select * from inbox.monitoring_rules where tenant_id = %s
             and (social_account_id = %s or social_account_id is null)
           order by social_account_id nulls last limit 1""",
        [str(tenant_id), social_account_id]).fetchone()
    return row or dict(DEFAULT_RULE)


def set_rule(conn: Any, *, tenant_id: UUID | str, social_account_id: int | None = None,
             **fields: Any) -> dict[str, Any]:
    """Create or change the rule of an account (None: the tenant's default); return it.

    ``fields``: any of ``auto_monitor_enabled``, ``auto_monitor_count`` (1-20),
    ``monitoring_duration_days`` (1-30), ``ai_enabled_for_comments``, ``auto_reply_enabled``.
    Raises :class:`InvalidInput` naming the field, :class:`~growthops.inbox.credits.PlanLimit`
    when the rules would monitor more posts at once than the plan allows."""
    allowed = {k for k in DEFAULT_RULE if k not in ("rule_id", "social_account_id")}
    for k, v in fields.items():
        if k not in allowed:
            raise InvalidInput(f"{k}: not a monitoring rule field")
        if v is None:
            continue
        if k == "auto_monitor_count" and not (isinstance(v, int) and 1 <= v <= 20):
            raise InvalidInput("auto_monitor_count: 1 to 20 posts")
        if k == "monitoring_duration_days" and not (isinstance(v, int) and 1 <= v <= 30):
            raise InvalidInput("monitoring_duration_days: 1 to 30 days")
    current = get_rule(conn, tenant_id=tenant_id, social_account_id=social_account_id)
    if current.get("social_account_id") != social_account_id:
        current = {**current, "rule_id": None}
    new = {k: (fields[k] if fields.get(k) is not None else current[k]) for k in allowed}
    _check_plan(conn, str(tenant_id), social_account_id, int(new["auto_monitor_count"]))
    cols = sorted(new)
    return conn.execute(
        f"""insert into inbox.monitoring_rules (tenant_id, social_account_id, {", ".join(cols)})
            values (%s, %s, {", ".join(["%s"] * len(cols))})
            on conflict (tenant_id, coalesce(social_account_id, 0)) do update set
              {", ".join(f"{c} = excluded.{c}" for c in cols)}, updated_at = now()
            returning *""", [str(tenant_id), social_account_id, *[new[c] for c in cols]]).fetchone()


def _check_plan(conn: Any, tid: str, social_account_id: int | None, count: int) -> None:
    """The rules, with this one changed to ``count``, stay within the plan's monitored posts
    (:func:`growthops.inbox.credits.check_monitoring`; raises its :class:`PlanLimit`)."""
    counts = {r["social_account_id"]: int(r["auto_monitor_count"]) for r in conn.execute(
        "select social_account_id, auto_monitor_count from inbox.monitoring_rules "
        "where tenant_id = %s", [tid]).fetchall()}
    before = dict(counts)
    counts[social_account_id] = count
    accts = [r["social_account_id"] for r in conn.execute(
        "select social_account_id from inbox.social_accounts where tenant_id = %s "
        "and platform = 'instagram' and status = 'active'", [tid]).fetchall()]
    credits.check_monitoring(conn, tenant_id=tid, counts=counts, accounts=accts, before=before)


# --------------------------------------------------------------------------- monitored posts
def monitor_post(conn: Any, *, tenant_id: UUID | str, social_account_id: int,
                 platform_post_id: str, source: str, caption: str | None = None,
                 media_url: str | None = None, posted_at: datetime | None = None,
                 post_id: int | None = None, now: datetime | None = None) -> dict[str, Any] | None:
    """Put a post under monitoring for the rule's D days from ``posted_at``; return the row, or
    None when the plan's limit of monitored posts is reached (nothing changed)."""
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    rule = get_rule(conn, tenant_id=tid, social_account_id=social_account_id)
    limit = credits.PLANS[credits.ensure(conn, tenant_id=tid)["plan"]].monitored_posts
    active = conn.execute(
        """select count(*) as n from inbox.monitored_posts where tenant_id = %s
             and monitoring_enabled and monitoring_ends_at > %s and platform_post_id <> %s""",
        [tid, at, platform_post_id]).fetchone()["n"]
    if active >= limit:
        return None
    start = posted_at or at
    return conn.execute(
        """insert into inbox.monitored_posts (tenant_id, social_account_id, platform_post_id,
             caption, media_url, posted_at, source, post_id, monitoring_started_at,
             monitoring_ends_at, next_check_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, social_account_id, platform_post_id) do update set
             caption = coalesce(excluded.caption, monitored_posts.caption), updated_at = now()
           returning *""",
        [tid, social_account_id, platform_post_id, caption, media_url, posted_at, source, post_id,
         at, start + timedelta(days=int(rule["monitoring_duration_days"])), at]).fetchone()


def auto_monitor(conn: Any, *, tenant_id: UUID | str, social_account_id: int,
                 transport: PublishingTransport, now: datetime | None = None) -> int:
    """Monitor the account's last N media posted within D days (its rule); return how many
    were newly added."""
    at = now or datetime.now(UTC)
    rule = get_rule(conn, tenant_id=tenant_id, social_account_id=social_account_id)
    if not rule["auto_monitor_enabled"]:
        return 0
    added = 0
    for m in transport.recent_media(int(rule["auto_monitor_count"])):
        if m.posted_at and m.posted_at < at - timedelta(days=int(rule["monitoring_duration_days"])):
            continue
        known = conn.execute("select 1 from inbox.monitored_posts where tenant_id = %s and "
                             "social_account_id = %s and platform_post_id = %s",
                             [str(tenant_id), social_account_id, m.media_id]).fetchone()
        if not known and monitor_post(conn, tenant_id=tenant_id, social_account_id=social_account_id,
                                      platform_post_id=m.media_id, source="imported",
                                      caption=m.caption, media_url=m.media_url,
                                      posted_at=m.posted_at, now=at):
            added += 1
    return added


# ---------------------------------------------------------------------------------- storing
def store(conn: Any, *, tenant_id: UUID | str, social_account_id: int, comments: list[Comment],
          via: str) -> list[dict[str, Any]]:
    """Store comments of the account's monitored posts (others are skipped); return the new
    rows (one per platform comment id: a comment seen by webhook and by polling is one row)."""
    own = conn.execute("select account_id from inbox.social_accounts where tenant_id = %s and "
                       "social_account_id = %s", [str(tenant_id), social_account_id]).fetchone()
    comments = [c for c in comments if own is None or c.author_id != own["account_id"]]
    if not comments:  # (the account's own replies are not comments to answer)
        return []
    rows = [{"media": c.media_id, "cid": c.comment_id, "parent": c.parent_id, "author": c.author_id,
             "name": c.author_name, "text": c.text, "at": c.created_at.isoformat(),
             "likes": c.like_count} for c in comments]
    return conn.execute(
        """insert into inbox.comments (tenant_id, monitored_post_id, platform_comment_id, parent_id,
             author_id, author_name, text, created_at, like_count, received_via)
           select distinct on (p.monitored_post_id, x.cid) %(t)s, p.monitored_post_id, x.cid,
                  x.parent, x.author, x.name, x.text, x.at, coalesce(x.likes, 0), %(via)s
           from jsonb_to_recordset(%(d)s) as x(media text, cid text, parent text, author text,
                                               name text, text text, at timestamptz, likes int)
           join inbox.monitored_posts p on p.tenant_id = %(t)s and p.social_account_id = %(sa)s
                                        and p.platform_post_id = x.media
           order by p.monitored_post_id, x.cid
           on conflict (tenant_id, monitored_post_id, platform_comment_id) do nothing
           returning *""",
        {"t": str(tenant_id), "sa": social_account_id, "d": Jsonb(rows), "via": via}).fetchall()


def store_webhook(conn: Any, *, tenant_id: UUID | str, items: list[tuple[int, Any]]) -> int:
    """Store the comment events of a webhook delivery (``(social_account_id, CommentEvent)``
    pairs) and triage the new ones; return how many were new. Runs in the tenant's transaction."""
    from growthops.connectors.instagram.webhooks import CommentEvent

    by: dict[int, list[Comment]] = {}
    for sa, item in items:
        if isinstance(item, CommentEvent):
            by.setdefault(sa, []).append(item.comment)
    new = 0
    for sa, cs in by.items():
        rows = store(conn, tenant_id=tenant_id, social_account_id=sa, comments=cs, via="webhook")
        triage_new(conn, tenant_id=tenant_id, social_account_id=sa, rows=rows)
        new += len(rows)
    return new


def poll(db: Database, *, tenant_id: UUID | str, now: datetime | None = None,
         transport_factory: Callable[[dict[str, Any]], PublishingTransport] | None = None
         ) -> dict[str, int]:
    """Poll the tenant's monitored posts that are due, from each saved cursor; store and triage
    new comments; end monitoring after ``monitoring_ends_at``. Return counts.

    The cursor saved is the start of the last page read, so the next poll re-reads that page
    (new comments land on it; the rows already stored are skipped by their id)."""
    from growthops.inbox.publishing import publisher_for

    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    out = {"posts": 0, "comments_new": 0, "ended": 0}
    with db.tenant_tx(tid) as conn:
        out["ended"] = conn.execute(
            """update inbox.monitored_posts set monitoring_enabled = false, updated_at = now()
               where tenant_id = %s and monitoring_enabled and monitoring_ends_at <= %s""",
            [tid, at]).rowcount
        due = conn.execute(
            """select p.*, k.last_cursor from inbox.monitored_posts p
               left join inbox.comment_checkpoint k using (tenant_id, monitored_post_id)
               join inbox.social_accounts a using (tenant_id, social_account_id)
               where p.tenant_id = %s and p.monitoring_enabled and p.next_check_at <= %s
                 and a.status = 'active'
               order by p.next_check_at limit 100""", [tid, at]).fetchall()
        accts = {r["social_account_id"]: accounts.get_account(conn, tenant_id=tid,
                                                               social_account_id=r["social_account_id"])
                 for r in due}
    for post in due:
        tr = (transport_factory or publisher_for)(accts[post["social_account_id"]])
        cursor, found = post["last_cursor"], []
        try:
            while True:
                page, nxt = tr.comments(post["platform_post_id"], after=cursor)
                found += page
                if nxt is None:
                    break
                cursor = nxt
        except MessagingError:
            pass  # keep what was read; the cursor stays where the last good page started
        with db.tenant_tx(tid) as conn:
            rows = store(conn, tenant_id=tid, social_account_id=post["social_account_id"],
                         comments=found, via="poll")
            triage_new(conn, tenant_id=tid, social_account_id=post["social_account_id"], rows=rows)
            conn.execute(
                """insert into inbox.comment_checkpoint (tenant_id, monitored_post_id, last_cursor,
                     last_check_at) values (%s, %s, %s, %s)
                   on conflict (tenant_id, monitored_post_id) do update set
                     last_cursor = excluded.last_cursor, last_check_at = excluded.last_check_at,
                     updated_at = now()""", [tid, post["monitored_post_id"], cursor, at])
            conn.execute("""update inbox.monitored_posts set last_check_at = %s, next_check_at = %s,
                              updated_at = now() where tenant_id = %s and monitored_post_id = %s""",
                         [at, at + POLL_EVERY, tid, post["monitored_post_id"]])
        out["posts"] += 1
        out["comments_new"] += len(rows)
    return out


# ----------------------------------------------------------------------------------- triage
def triage_new(conn: Any, *, tenant_id: UUID | str, social_account_id: int,
               rows: list[dict[str, Any]]) -> int:
    """Triage newly stored comments: the comment policy when the account's rule has the AI on
    for comments, else every comment goes to a person (``escalate``, reason ``ai_off``)."""
    if not rows:
        return 0
    rule = get_rule(conn, tenant_id=tenant_id, social_account_id=social_account_id)
    if not rule["ai_enabled_for_comments"]:
        decisions = [triage.CommentDecision(r["comment_id"], "escalate", reason="ai_off")
                     for r in rows]
    else:
        caps = {r["monitored_post_id"]: r["caption"] for r in conn.execute(
            "select monitored_post_id, caption from inbox.monitored_posts where tenant_id = %s "
            "and monitored_post_id = any(%s)",
            [str(tenant_id), sorted({r["monitored_post_id"] for r in rows})]).fetchall()}
        decisions = triage.comment_policy()(conn, tenant_id=tenant_id, comments=[
            triage.NewComment(comment_id=r["comment_id"], monitored_post_id=r["monitored_post_id"],
                              platform_comment_id=r["platform_comment_id"],
                              parent_id=r["parent_id"], author_id=r["author_id"], text=r["text"],
                              created_at=r["created_at"], caption=caps.get(r["monitored_post_id"]))
            for r in rows])
    return apply_decisions(conn, tenant_id=tenant_id, decisions=decisions,
                           auto=bool(rule["auto_reply_enabled"]))


def apply_decisions(conn: Any, *, tenant_id: UUID | str,
                    decisions: list[triage.CommentDecision], auto: bool) -> int:
    """Record the decisions; a reply text becomes an AI reply ``approved`` (the tenant's auto
    policy: sent by the next :func:`send_approved`) or a ``draft`` for a person. Return how many.

    ``respond`` → a public reply; ``user_conversation`` → a private reply."""
    for d in decisions:
        if d.triage not in TRIAGES:
            raise InvalidInput(f"triage: {d.triage!r} is not one of {', '.join(TRIAGES)}")
    rows = [{"id": d.comment_id, "triage": d.triage, "conf": d.confidence, "reason": d.reason,
             "dec": d.ai_decision_id,
             "text": (d.reply_text or "").strip()[:MAX_REPLY] or None,
             "kind": "private" if d.triage == "user_conversation" else "public"}
            for d in decisions]
    return conn.execute(
        """update inbox.comments c set triage = x.triage, confidence = x.conf,
             triage_reason = x.reason, ai_decision_id = x.dec,
             ai_reply_text = case when x.text is not null and x.triage in ('respond', 'user_conversation')
                                  then x.text else c.ai_reply_text end,
             reply_kind = case when x.text is not null then x.kind else c.reply_kind end,
             replied_by = case when x.text is not null then 'ai' else c.replied_by end,
             reply_status = case when x.text is null or x.triage not in ('respond', 'user_conversation')
                                 then c.reply_status
                                 when %(auto)s then 'approved' else 'draft' end
           from jsonb_to_recordset(%(d)s) as x(id bigint, triage text, conf numeric, reason text,
                                               dec bigint, text text, kind text)
           where c.tenant_id = %(t)s and c.comment_id = x.id and c.reply_status in ('none', 'draft')""",
        {"t": str(tenant_id), "d": Jsonb(rows), "auto": auto}).rowcount


# ---------------------------------------------------------------------------------- replies
def _get(conn: Any, tid: str, comment_id: int, lock: bool = False) -> dict[str, Any]:
    row = conn.execute("select * from inbox.comments where tenant_id = %s and comment_id = %s"
                       + (" for update" if lock else ""), [tid, comment_id]).fetchone()
    if row is None:
        raise NotFound(f"comment: no comment {comment_id} for this tenant")
    return row


def approve(conn: Any, *, tenant_id: UUID | str, comment_id: int, by: str,
            text: str | None = None, private: bool | None = None) -> dict[str, Any]:
    """A person approves a reply: the AI's draft (optionally edited: ``text``), or their own
    reply (``text``); ``private``: a private reply instead of a public one. The reply is sent
    by :func:`send_reply`. Raises :class:`Conflict` (already replied, or a private reply that
    Instagram's rules forbid), :class:`InvalidInput` (no text)."""
    tid = str(tenant_id)
    c = _get(conn, tid, comment_id, lock=True)
    if c["reply_status"] in ("sending", "sent"):
        raise Conflict(f"comment {comment_id}: already replied ({c['reply_status']})")
    body = (text if text is not None else c["ai_reply_text"] or "").strip()
    if not body or len(body) > MAX_REPLY:
        raise InvalidInput(f"text: 1 to {MAX_REPLY} characters are required")
    kind = ("private" if private else "public") if private is not None else (c["reply_kind"] or "public")
    author = "ai" if (text is None and c["replied_by"] == "ai") else by
    return conn.execute(
        """update inbox.comments set reply_status = 'approved', ai_reply_text = %s, reply_kind = %s,
             replied_by = %s, reply_error = null where tenant_id = %s and comment_id = %s returning *""",
        [body, kind, author, tid, comment_id]).fetchone()


def _claim(conn: Any, tid: str, comment_id: int, now: datetime) -> dict[str, Any]:
    """Take an approved reply for sending (row lock), enforce Instagram's private-reply rules
    and charge an AI reply. Raises :class:`Conflict` / :class:`credits.OutOfCredits`."""
    c = _get(conn, tid, comment_id, lock=True)
    if c["reply_status"] != "approved":
        raise Conflict(f"comment {comment_id}: no approved reply to send ({c['reply_status']})")
    if c["reply_kind"] == "private":
        if c["private_replied_at"] is not None:
            raise Conflict(f"comment {comment_id}: a private reply was already sent "
                           "(Instagram allows one per comment)")
        if now - c["created_at"] > PRIVATE_REPLY_WINDOW:
            raise Conflict(f"comment {comment_id}: a private reply is allowed within 7 days of "
                           f"the comment (until {c['created_at'] + PRIVATE_REPLY_WINDOW:%Y-%m-%d %H:%M} UTC)")
    if c["replied_by"] == "ai":
        credits.debit(conn, tenant_id=tid, action_id=f"comment:{comment_id}", reason="ai_reply",
                      metadata={"comment_id": comment_id, "kind": c["reply_kind"]})
    conn.execute("update inbox.comments set reply_status = 'sending' where tenant_id = %s "
                 "and comment_id = %s", [tid, comment_id])
    acc = conn.execute(
        """select a.* from inbox.monitored_posts p join inbox.social_accounts a
             using (tenant_id, social_account_id)
           where p.tenant_id = %s and p.monitored_post_id = %s""",
        [tid, c["monitored_post_id"]]).fetchone()
    return {**c, "account": acc}


def send_reply(db: Database, *, tenant_id: UUID | str, comment_id: int,
               now: datetime | None = None, transport: PublishingTransport | None = None
               ) -> dict[str, Any]:
    """Send a comment's approved reply; return the comment row.

    Out of credits (an AI reply): nothing is sent, the comment is escalated (``triage``
    ``escalate``, ``triage_reason`` ``out_of_credits``, the reply back to ``draft``). Raises
    :class:`Conflict` (nothing approved, a second private reply, past 7 days) and
    :class:`~growthops.connectors.messaging.MessagingError` (the platform refused: the reply is
    ``failed`` with the error)."""
    from growthops.inbox.publishing import publisher_for

    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    try:
        with db.tenant_tx(tid) as conn:
            c = _claim(conn, tid, comment_id, at)
    except credits.OutOfCredits:
        with db.tenant_tx(tid) as conn:
            return conn.execute(
                """update inbox.comments set reply_status = 'draft', triage = 'escalate',
                     triage_reason = 'out_of_credits' where tenant_id = %s and comment_id = %s
                   returning *""", [tid, comment_id]).fetchone()
    try:
        tr = transport or publisher_for(c["account"])
        text = c["ai_reply_text"]
        rid = (tr.reply_private(c["platform_comment_id"], text) if c["reply_kind"] == "private"
               else tr.reply_public(c["platform_comment_id"], text))
    except MessagingError as exc:
        with db.tenant_tx(tid) as conn:
            conn.execute("update inbox.comments set reply_status = 'failed', reply_error = %s "
                         "where tenant_id = %s and comment_id = %s", [str(exc)[:500], tid, comment_id])
            if c["replied_by"] == "ai":
                credits.credit(conn, tenant_id=tid, amount=1, reason="adjustment",
                               action_id=f"refund:comment:{comment_id}")
        raise
    with db.tenant_tx(tid) as conn:
        return conn.execute(
            """update inbox.comments set reply_status = 'sent', reply_platform_id = %s,
                 replied_at = %s,
                 private_replied_at = case when reply_kind = 'private' then %s else private_replied_at end
               where tenant_id = %s and comment_id = %s returning *""",
            [rid, at, at, tid, comment_id]).fetchone()


def send_approved(db: Database, *, tenant_id: UUID | str, now: datetime | None = None,
                  transport_factory: Callable[[dict[str, Any]], PublishingTransport] | None = None
                  ) -> dict[str, int]:
    """Send every approved reply of the tenant; return ``{sent, failed, refused}``."""
    tid = str(tenant_id)
    with db.tenant_tx(tid) as conn:
        ids = [r["comment_id"] for r in conn.execute(
            "select comment_id from inbox.comments where tenant_id = %s and reply_status = 'approved' "
            "order by comment_id limit 200", [tid]).fetchall()]
    out = {"sent": 0, "failed": 0, "refused": 0}
    for cid in ids:
        try:
            with db.tenant_tx(tid) as conn:
                acc = _account_of(conn, tid, cid)
            tr = transport_factory(acc) if transport_factory else None
            row = send_reply(db, tenant_id=tid, comment_id=cid, now=now, transport=tr)
            out["sent" if row["reply_status"] == "sent" else "refused"] += 1
        except MessagingError:
            out["failed"] += 1
        except Conflict:
            out["refused"] += 1
    return out


def _account_of(conn: Any, tid: str, comment_id: int) -> dict[str, Any]:
    return conn.execute(
        """select a.* from inbox.comments c
           join inbox.monitored_posts p using (tenant_id, monitored_post_id)
           join inbox.social_accounts a on a.tenant_id = p.tenant_id
                                       and a.social_account_id = p.social_account_id
           where c.tenant_id = %s and c.comment_id = %s""", [tid, comment_id]).fetchone()


def list_comments(conn: Any, *, tenant_id: UUID | str, monitored_post_id: int | None = None,
                  triage_: str | None = None, limit: int = 100, offset: int = 0
                  ) -> tuple[list[dict[str, Any]], int]:
    """Return comments (newest first) with their post's caption, and the total count."""
    rows = conn.execute(
        """select c.*, p.platform_post_id, p.caption, count(*) over () as total
           from inbox.comments c join inbox.monitored_posts p using (tenant_id, monitored_post_id)
           where c.tenant_id = %s and (%s::bigint is null or c.monitored_post_id = %s)
             and (%s::text is null or c.triage = %s)
           order by c.created_at desc, c.comment_id desc limit %s offset %s""",
        [str(tenant_id), monitored_post_id, monitored_post_id, triage_, triage_, limit, offset]
    ).fetchall()
    return rows, int(rows[0]["total"]) if rows else 0


def list_monitored(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the monitored posts (active first) with their comment counts."""
    return conn.execute(
        """select p.*, (select count(*) from inbox.comments c where c.tenant_id = p.tenant_id
                          and c.monitored_post_id = p.monitored_post_id) as comments
           from inbox.monitored_posts p where p.tenant_id = %s
           order by p.monitoring_enabled desc, p.posted_at desc nulls last limit 200""",
        [str(tenant_id)]).fetchall()


def counts(conn: Any, *, tenant_id: UUID | str, since: datetime | None = None) -> dict[str, int]:
    """Comment KPIs, counted apart from messages: comments received since ``since`` (UTC;
    None: all), by triage (``respond``, ``ignore``, ``escalate``, ``user_conversation``,
    ``untriaged``), replies sent by the AI and by people (public, private), drafts waiting for
    approval, escalations for lack of credits, and ``first_reply_p50_seconds`` (median of
    reply time − comment time of the replied comments; -1 when none)."""
    row = conn.execute(
        """select count(*) as comments,
                  count(*) filter (where triage = 'respond') as respond,
                  count(*) filter (where triage = 'ignore') as ignore,
                  count(*) filter (where triage = 'escalate') as escalate,
                  count(*) filter (where triage = 'user_conversation') as user_conversation,
                  count(*) filter (where triage is null) as untriaged,
                  count(*) filter (where reply_status = 'sent' and replied_by = 'ai') as replied_ai,
                  count(*) filter (where reply_status = 'sent' and replied_by <> 'ai') as replied_human,
                  count(*) filter (where reply_status = 'sent' and reply_kind = 'private') as private_replies,
                  count(*) filter (where reply_status = 'draft') as drafts,
                  count(*) filter (where triage_reason = 'out_of_credits') as out_of_credits,
                  coalesce(percentile_cont(0.5) within group (
                    order by extract(epoch from replied_at - created_at))
                    filter (where reply_status = 'sent'), -1)::int as first_reply_p50_seconds
           from inbox.comments where tenant_id = %s and (%s::timestamptz is null or created_at >= %s)""",
        [str(tenant_id), since, since]).fetchone()
    return {k: int(v) for k, v in row.items()}
