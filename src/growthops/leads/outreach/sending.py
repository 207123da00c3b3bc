"""Send approved outreach e-mails over SMTP within the rules.

:func:`send_due` sends the tenant's ``approved`` e-mails whose ``due_at`` has passed, only:

* inside the tenant's business hours (Mon–Fri, ``business_hours_start``–``_end`` in its time
  zone), so sends spread over the working day;
* when the address (or ``@domain``) is not on the suppression list and the sequence is active
  (checked in the claiming statement itself, so a suppression committed before the claim
  always wins);
* within each sender mailbox's daily cap (default 30) and warm-up ramp
  (:func:`mailbox_cap`), and the per-recipient-domain daily cap (``per_domain_daily_cap``,
  default 3: several cold e-mails a day to one company's domain look like spam to its filter).
  Days are the tenant's local days;
* paced (the tenant's ``send_pacing``, on by default): a mailbox's cap is spread evenly over
  the business hours (:func:`paced_room`), so a morning's approvals go out through the day
  instead of in one burst at opening time.

Each e-mail is claimed (``sending``) and committed before the SMTP call, then marked ``sent`` (in batches of 50):
a crash between the two leaves it ``sending`` (visible), never sent twice. A mailbox-level
error (connection, TLS, authentication, sender refused) pauses the mailbox; a recipient
refused with 5xx is a hard bounce (suppressed); a transient error puts the e-mail back to
``approved`` with an attempt counted.

Every message carries ``List-Unsubscribe`` (mailto and https) and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058 §3.1; the RFC also requires a DKIM signature covering
both headers — that is the sending MTA's job, see docs/outreach.md), and follow-ups
``In-Reply-To``/``References`` to step 1 (RFC 5322 §3.6.4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from growthops.connectors.smtp import MailSender, SendError, build_message
from growthops.core.errors import InvalidInput
from growthops.leads.outreach.campaigns import end_sequences, settings_of

#: Sent e-mails are marked in batches of this size (a crash in between leaves them
#: ``sending``: visible, never sent twice).
SENT_BATCH = 50
SenderFor = Callable[[dict[str, Any]], MailSender]
#: An e-mail ``sending`` for longer was left by a crash between its claim and its mark (a send
#: takes seconds): counted as ``stuck`` and resolved by a person (:func:`resolve_stuck`).
STUCK_AFTER = timedelta(hours=1)
#: Minutes between two runs of the send job (``leads.outreach_send``, cron ``*/5``): the pacing
#: lets each run send what is due up to the end of its step.
PACE_STEP_MINUTES = 5


def mailbox_cap(mailbox: dict[str, Any], today: date) -> int:
    """The mailbox's cap today: ``daily_cap``, or during warm-up
    ``min(daily_cap, warmup_initial + warmup_increment × days since warmup_start)``.

    Source of the ramp: mailbox providers judge a new sender by its volume history (Google,
    "Email sender guidelines": "increase sending volume slowly"); the 5 + 5/day default is an
    operator's choice, not a provider figure.
    """
    cap = int(mailbox["daily_cap"])
    start = mailbox.get("warmup_start")
    if start is None:
        return cap
    days = max(0, (today - start).days)
    return min(cap, int(mailbox["warmup_initial"]) + int(mailbox["warmup_increment"]) * days)


def paced_room(cap: int, sent_today: int, now: datetime, st: dict[str, Any],
               sent_recent: int = 0, step_minutes: int = PACE_STEP_MINUTES) -> int:
    """How many e-mails a mailbox may still send now when its daily ``cap`` is spread evenly
    over the business hours (``st``: :func:`growthops.leads.outreach.campaigns.settings_of`).

    With ``span`` the business day in minutes and ``elapsed`` the minutes since it opened
    (tenant time zone, clipped to ``[0, span]``): by the end of this run's step the mailbox may
    have sent ``ceil(cap × min(span, elapsed + step) / span)``, and any ``step`` minutes see at
    most ``per_step = ceil(cap × step / span)`` sends (``sent_recent``: those sent in the last
    ``step`` minutes; an e-mail left ``sending`` by a crash is not counted there, so it cannot
    hold the mailbox back for good; so a mailbox added at 3 pm does not catch up in a burst,
    however often the job runs). Returns
    ``max(0, min(cap - sent_today, due - sent_today, per_step - sent_recent))``. Example: cap 30 over
    9-17 at 5-minute steps, one e-mail a run, the 30th in the last half hour. The rule is this
    project's: mailbox providers ask for a consistent sending rate (Google, "Email sender
    guidelines"), none publishes a figure.
    """
    if cap <= 0:
        return 0
    local = now.astimezone(ZoneInfo(st["time_zone"]))
    span = (int(st["business_hours_end"]) - int(st["business_hours_start"])) * 60
    if span <= 0:
        return max(0, cap - sent_today)
    elapsed = (local.hour - int(st["business_hours_start"])) * 60 + local.minute
    elapsed = min(max(elapsed, 0), span)
    due = min(cap, -(-cap * min(span, elapsed + step_minutes) // span))
    per_step = -(-cap * step_minutes // span)
    return max(0, min(cap - sent_today, due - sent_today, per_step - sent_recent))


def in_business_hours(now: datetime, st: dict[str, Any]) -> bool:
    """True on Mon–Fri between the tenant's business hours (its time zone)."""
    local = now.astimezone(ZoneInfo(st["time_zone"]))
    return local.weekday() < 5 and st["business_hours_start"] <= local.hour \
        < st["business_hours_end"]


def add_mailbox(conn: Any, *, tenant_id: UUID | str, address: str, display_name: str | None = None,
                smtp_host: str | None = None, smtp_port: int | None = None,
                smtp_starttls: bool = True, daily_cap: int = 30,
                warmup_start: date | None = None) -> dict[str, Any]:
    """Add (or update) a sender mailbox; return its row. Raises ValueError on a bad address."""
    from growthops.leads.prospects.normalise import email_of

    address = email_of(address) or ""
    if not address:
        raise ValueError("address: required")
    return conn.execute(
        """insert into leads.sender_mailboxes (tenant_id, address, display_name, smtp_host,
             smtp_port, smtp_starttls, daily_cap, warmup_start)
           values (%s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, address) do update set display_name = excluded.display_name,
             smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port,
             smtp_starttls = excluded.smtp_starttls, daily_cap = excluded.daily_cap,
             warmup_start = excluded.warmup_start, status = 'active', paused_reason = null
           returning *""",
        [str(tenant_id), address.strip().lower(), display_name, smtp_host, smtp_port,
         smtp_starttls, daily_cap, warmup_start]).fetchone()


def build(email: dict[str, Any], mailbox: dict[str, Any], st: dict[str, Any]) -> Any:
    """The MIME message of an e-mail with the unsubscribe and threading headers."""
    frm = mailbox["address"]
    if mailbox.get("display_name"):
        frm = f'{mailbox["display_name"]} <{mailbox["address"]}>'
    msg = build_message(from_address=frm, to_address=email["prospect_email"],
                        subject=email["subject"], text=email["plain_content"],
                        html=email["content"], message_id=email["message_id"],
                        language=email["language"])
    domain = mailbox["address"].rsplit("@", 1)[-1]
    msg["List-Unsubscribe"] = (f"<mailto:unsubscribe+{email['token']}@{domain}>, "
                               f"<{st['public_base_url']}/o/u/{email['token']}>")
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if email.get("thread_id"):
        msg["In-Reply-To"] = email["thread_id"]
        msg["References"] = email["thread_id"]
    return msg


def _claim(conn: Any, tid: str, st: dict[str, Any], now: datetime, limit: int, caps: bool,
           pace: bool = False) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pick and mark ``sending`` the e-mails to send now, each with its mailbox (``pace``:
    each mailbox's room is :func:`paced_room`'s, with ``caps``)."""
    tz = st["time_zone"]
    conn.execute("select pg_advisory_xact_lock(hashtext('leads.outreach.send:' || %s))", [tid])
    today = now.astimezone(ZoneInfo(tz)).date()
    mailboxes = conn.execute(
        """select m.*, s.sent_today, s.sent_recent
           from leads.sender_mailboxes m
           cross join lateral (
             select count(*) filter (where (e.status = 'sending' and e.claimed_at is not null
                                           and e.claimed_at >= (%s::date::timestamp at time zone %s))
                                     or e.sent_at >= (%s::date::timestamp at time zone %s))
                      as sent_today,
                    count(*) filter (where e.sent_at > %s) as sent_recent
             from leads.outreach_emails e
             where e.tenant_id = m.tenant_id and e.mailbox_id = m.mailbox_id
               and (e.status = 'sending' or e.sent_at >= least(
                    (%s::date::timestamp at time zone %s), %s))) s
           where m.tenant_id = %s and m.status = 'active'
           order by m.mailbox_id""",
        [today, tz, today, tz, now - timedelta(minutes=PACE_STEP_MINUTES), today, tz,
         now - timedelta(minutes=PACE_STEP_MINUTES), tid]).fetchall()
    room = {m["mailbox_id"]: (mailbox_cap(m, today) - m["sent_today"]) if caps else 10**9
            for m in mailboxes}
    if caps and pace:
        room = {m["mailbox_id"]: paced_room(mailbox_cap(m, today), m["sent_today"], now, st,
                                            sent_recent=m["sent_recent"])
                for m in mailboxes}
    if not mailboxes or max(room.values()) <= 0:
        return []
    per_domain = {r["d"]: r["n"] for r in conn.execute(
        """select split_part(lower(prospect_email), '@', 2) d, count(*) n
           from leads.outreach_emails where tenant_id = %s and sent_at >=
           (%s::date::timestamp at time zone %s) group by 1""", [tid, today, tz])}
    cands = conn.execute(
        """select e.* from leads.outreach_emails e
           join leads.outreach_sequences s on s.tenant_id = e.tenant_id
                and s.campaign_id = e.campaign_id and s.prospect_id = e.prospect_id
           join leads.outreach_campaigns c on c.tenant_id = e.tenant_id
                and c.campaign_id = e.campaign_id
           where e.tenant_id = %s and e.status = 'approved' and e.due_at <= %s
             and s.state = 'active' and c.status = 'active'
             and not exists (select 1 from leads.suppression_list x where x.tenant_id = e.tenant_id
                             and x.email_norm in (lower(e.prospect_email),
                                                  '@' || split_part(lower(e.prospect_email), '@', 2)))
           order by e.due_at, e.email_id limit %s for update of e skip locked""",
        [tid, now, limit * 3]).fetchall()
    by_id = {m["mailbox_id"]: m for m in mailboxes}
    order = list(by_id)
    picked: list[tuple[dict[str, Any], dict[str, Any]]] = []
    turn = 0
    for e in cands:
        if len(picked) >= limit:
            break
        d = e["prospect_email"].lower().rsplit("@", 1)[-1]
        if caps and per_domain.get(d, 0) >= st["per_domain_daily_cap"]:
            continue
        free = [order[(turn + i) % len(order)] for i in range(len(order))
                if room[order[(turn + i) % len(order)]] > 0]
        if not free:
            break
        mid = free[0]
        turn = order.index(mid) + 1
        room[mid] -= 1
        per_domain[d] = per_domain.get(d, 0) + 1
        picked.append((e, by_id[mid]))
    if picked:
        conn.execute(
            """update leads.outreach_emails e set status = 'sending', mailbox_id = u.mid,
                 sender_email = u.addr, claimed_at = %s
               from unnest(%s::bigint[], %s::bigint[], %s::text[]) u(id, mid, addr)
               where e.tenant_id = %s and e.email_id = u.id and e.status = 'approved'""",
            [now, [e["email_id"] for e, _ in picked], [m["mailbox_id"] for _, m in picked],
             [m["address"] for _, m in picked], tid])
    return picked


def stuck_emails(conn: Any, *, tenant_id: UUID | str, now: datetime,
                 lock: bool = False) -> list[dict[str, Any]]:
    """The tenant's e-mails ``sending`` for more than :data:`STUCK_AFTER` before ``now`` (UTC;
    those claimed before migration 0201, with no ``claimed_at``, included), by id: ``email_id``,
    ``prospect_email``, ``sender_email``, ``claimed_at`` (None for the old ones). ``lock``:
    ``FOR UPDATE``, for a caller about to change them."""
    return conn.execute(
        "select email_id, prospect_email, sender_email, claimed_at from leads.outreach_emails "
        "where tenant_id = %s and status = 'sending' and coalesce(claimed_at, '-infinity') < %s "
        "order by email_id" + (" for update" if lock else ""),
        [str(tenant_id), now - STUCK_AFTER]).fetchall()


def resolve_stuck(conn: Any, *, tenant_id: UUID | str, now: datetime, as_status: str,
                  by: str) -> list[int]:
    """Resolve the e-mails ``sending`` for more than :data:`STUCK_AFTER`; return their ids.

    ``as_status``: ``"sent"`` (the person found them in the mailbox's Sent folder: marked sent
    at their claim time, counted and tracked as any sent e-mail) or ``"approved"`` (not sent:
    back in the queue, sent again by a later run; the person's call, since nothing else can
    know). A note of who resolved them and how (``by``) is written to ``last_error``. Raises
    :class:`InvalidInput` for another status.
    """
    if as_status not in ("sent", "approved"):
        raise InvalidInput(f"as_status: {as_status!r} is not 'sent' or 'approved'")
    tid = str(tenant_id)
    rows = [{**r, "at": r["claimed_at"] or now}
            for r in stuck_emails(conn, tenant_id=tid, now=now, lock=True)]
    ids = [r["email_id"] for r in rows]
    if not ids:
        return ids
    if as_status == "sent":
        for at in sorted({r["at"] for r in rows}):
            _sent(conn, tid, [r["email_id"] for r in rows if r["at"] == at], at)
    else:
        conn.execute("update leads.outreach_emails set status = 'approved', mailbox_id = null, "
                     "claimed_at = null where tenant_id = %s and email_id = any(%s)", [tid, ids])
    conn.execute("update leads.outreach_emails set last_error = %s where tenant_id = %s "
                 "and email_id = any(%s)", [f"stuck 'sending', resolved as {as_status} by {by}"[:500],
                                           tid, ids])
    return ids


def _sent(conn: Any, tid: str, email_ids: list[int], now: datetime) -> None:
    """Mark sent e-mails (one statement for a batch): status, time, event, prospect contacted."""
    conn.execute(
        """with e as (update leads.outreach_emails set status = 'sent', sent_at = %s,
                        attempts = attempts + 1, last_error = null
                      where tenant_id = %s and email_id = any(%s)
                      returning tenant_id, email_id, prospect_id, campaign_id),
                t as (insert into leads.outreach_tracking (tenant_id, email_id, prospect_id,
                        campaign_id, action, "timestamp")
                      select tenant_id, email_id, prospect_id, campaign_id, 'sent', %s from e)
           update leads.prospect_candidates p set contacted = true, updated_at = now()
           from e where p.tenant_id = e.tenant_id and p.prospect_id = e.prospect_id""",
        [now, tid, email_ids, now])


def _failed(conn: Any, tid: str, email: dict[str, Any], mailbox: dict[str, Any],
            exc: SendError, now: datetime) -> str:
    if exc.kind == "recipient" and not exc.transient:
        record_bounce(conn, tenant_id=tid, email=email, hard=True,
                      reason=f"refused at send: {exc}", at=now)
        return "bounced"
    if exc.kind == "mailbox":
        conn.execute("""update leads.sender_mailboxes set status = 'paused', paused_reason = %s
                        where tenant_id = %s and mailbox_id = %s""",
                     [f"{now:%Y-%m-%d %H:%M} UTC: {exc}"[:500], tid, mailbox["mailbox_id"]])
    status = "approved" if exc.transient or exc.kind == "mailbox" else "failed"
    conn.execute("""update leads.outreach_emails set status = %s, attempts = attempts + 1,
                      last_error = %s, mailbox_id = null where tenant_id = %s and email_id = %s""",
                 [status, str(exc)[:500], tid, email["email_id"]])
    return "paused" if exc.kind == "mailbox" else status


def record_bounce(conn: Any, *, tenant_id: UUID | str, email: dict[str, Any], hard: bool,
                  reason: str, at: datetime) -> str:
    """Record a bounce of ``email``: a hard bounce (or the 2nd soft one of the address)
    suppresses the address and ends its sequences; a first soft bounce re-queues the e-mail
    for the next day. Returns ``hard``, ``soft_retry`` or ``soft_suppressed``."""
    tid = str(tenant_id)
    conn.execute(
        """insert into leads.outreach_tracking (tenant_id, email_id, prospect_id, campaign_id,
             action, "timestamp", metadata)
           values (%s, %s, %s, %s, 'bounced', %s, jsonb_build_object('hard', %s::boolean,
                   'reason', %s::text))""",
        [tid, email["email_id"], email["prospect_id"], email["campaign_id"], at, hard,
         reason[:1000]])
    addr = email["prospect_email"].lower()
    softs = conn.execute(
        """select count(*) n from leads.outreach_tracking t join leads.outreach_emails e
             using (tenant_id, email_id)
           where t.tenant_id = %s and t.action = 'bounced' and lower(e.prospect_email) = %s
             and not (t.metadata ->> 'hard')::boolean""", [tid, addr]).fetchone()["n"]
    outcome = "hard" if hard else ("soft_suppressed" if softs >= 2 else "soft_retry")
    if outcome == "soft_retry":
        conn.execute("""update leads.outreach_emails set status = 'approved', bounce_type = 'soft',
                          bounce_reason = %s, due_at = %s::timestamptz + interval '1 day'
                        where tenant_id = %s and email_id = %s""",
                     [reason[:1000], at, tid, email["email_id"]])
        return outcome
    conn.execute("""update leads.outreach_emails set status = 'bounced', bounce_type = %s,
                      bounce_reason = %s where tenant_id = %s and email_id = %s""",
                 ["hard" if hard else "soft", reason[:1000], tid, email["email_id"]])
    conn.execute(
        """insert into leads.suppression_list (tenant_id, email_norm, reason, detail,
             source_email_id, created_by) values (%s, %s, %s, %s, %s, 'bounce')
           on conflict (tenant_id, email_norm) do nothing""",
        [tid, addr, "hard_bounce" if hard else "soft_bounce", reason[:1000], email["email_id"]])
    end_sequences(conn, tenant_id=tid, state="bounced", reason=reason[:200], email_norms=[addr])
    return outcome


def send_due(db: Any, *, tenant_id: UUID | str, sender_for: SenderFor, now: datetime,
             limit: int = 100, caps: bool = True, hours: bool = True,
             pace: bool | None = None) -> dict[str, int]:
    """Send up to ``limit`` due approved e-mails; return counts per outcome (``sent``,
    ``bounced``, ``approved`` = back to retry, ``failed``, ``paused``, ``outside_hours``) and
    ``waiting``: the due approved e-mails left for later runs (caps, pacing, the limit), and
    ``stuck``: e-mails ``sending`` for more than :data:`STUCK_AFTER` (a crash between the claim
    and the mark; a person resolves them with :func:`resolve_stuck`).

    ``caps=False`` / ``hours=False`` lift the caps and hours (benchmark and tests only).
    ``pace``: spread each mailbox's cap over the business hours (:func:`paced_room`); None
    (default) = the tenant's ``send_pacing`` setting, False = send what the caps allow now
    (``growthops leads outreach send --no-pacing``, the demo).
    """
    tid = str(tenant_id)
    out = {"sent": 0, "bounced": 0, "approved": 0, "failed": 0, "paused": 0,
           "outside_hours": 0, "waiting": 0, "stuck": 0}
    with db.tenant_tx(tid) as conn:
        st = settings_of(conn, tenant_id=tid)
        if hours and not in_business_hours(now, st):
            out["outside_hours"] = 1
            return out
        picked = _claim(conn, tid, st, now, limit, caps,
                        pace=bool(st["send_pacing"]) if pace is None else pace)
        row = conn.execute(
            "select count(*) filter (where status = 'approved' and due_at <= %s) waiting, "
            "count(*) filter (where status = 'sending' and coalesce(claimed_at, '-infinity') "
            "< %s) stuck from leads.outreach_emails where tenant_id = %s "
            "and status in ('approved', 'sending')", [now, now - STUCK_AFTER, tid]).fetchone()
        out["waiting"], out["stuck"] = row["waiting"], row["stuck"]
    senders: dict[int, MailSender] = {}
    paused: set[int] = set()
    done: list[int] = []

    def flush() -> None:
        if done:
            with db.tenant_tx(tid) as conn:
                _sent(conn, tid, done, now)
            out["sent"] += len(done)
            done.clear()

    for email, mailbox in picked:
        if mailbox["mailbox_id"] in paused:
            with db.tenant_tx(tid) as conn:
                conn.execute("""update leads.outreach_emails set status = 'approved',
                                  mailbox_id = null where tenant_id = %s and email_id = %s""",
                             [tid, email["email_id"]])
            out["approved"] += 1
            continue
        sender = senders.get(mailbox["mailbox_id"]) or senders.setdefault(
            mailbox["mailbox_id"], sender_for(mailbox))
        try:
            sender.send(build(email, mailbox, st))
        except SendError as exc:
            with db.tenant_tx(tid) as conn:
                res = _failed(conn, tid, email, mailbox, exc, now)
            if res == "paused":
                paused.add(mailbox["mailbox_id"])
            out[res if res in out else "failed"] += 1
            continue
        done.append(email["email_id"])
        if len(done) >= SENT_BATCH:
            flush()
    flush()
    for s in senders.values():
        close = getattr(s, "close", None)
        if close:
            close()
    return out
