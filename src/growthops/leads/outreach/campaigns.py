"""Campaigns, their sequences and the e-mails a person approves.

A campaign (``leads.outreach_campaigns``) has target criteria, the step-1 template and a
follow-up schedule ``[{"delay_business_days": 3, "template_id": 7}, ...]``. :func:`generate`
renders step 1 for the matching prospects (an address, not suppressed, not already in the
campaign) as ``pending`` e-mails — ``approved`` only under the campaign's explicit
``auto_approve`` policy. :func:`approve` / :func:`reject` are the person's decision (bulk).
:func:`schedule_follow_ups` renders step k+1 once step k was sent N business days ago (Monday
to Friday in the tenant's time zone; due at the start of its business hours) for sequences
still ``active``: a reply, a bounce, an unsubscribe or a person (:func:`stop`) ends a sequence
and cancels its unsent e-mails at once (:func:`end_sequences`).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.leads.outreach import templates
from growthops.leads.outreach.tracking import instrument

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def settings_of(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """The tenant's outreach settings joined with its business name and time zone."""
    row = conn.execute(
        """select t.time_zone, t.client_name, ls.business_name, s.*
           from core.tenants t
           left join leads.outreach_settings s on s.tenant_id = t.tenant_id
           left join leads.tenant_settings ls on ls.tenant_id = t.tenant_id
           where t.tenant_id = %s""", [str(tenant_id)]).fetchone() or {}
    out = dict(row)
    for k, v in {"tracking_enabled": True, "business_hours_start": 9, "business_hours_end": 17,
                 "per_domain_daily_cap": 3, "daily_queue_size": 16, "send_pacing": True}.items():
        if out.get(k) is None:
            out[k] = v
    out["time_zone"] = out.get("time_zone") or "UTC"
    out["public_base_url"] = (out.get("public_base_url") or DEFAULT_BASE_URL).rstrip("/")
    out["sender_business"] = out.get("business_name") or out.get("client_name")
    return out


def update_settings(conn: Any, *, tenant_id: UUID | str, **changes: Any) -> dict[str, Any]:
    """Upsert outreach settings columns (``tracking_enabled``, ``public_base_url``,
    ``sender_name``, ``postal_address``, ``business_hours_start`` / ``_end`` (local hours 0-24,
    start before end), ``per_domain_daily_cap`` and ``daily_queue_size`` (1-1000),
    ``send_pacing``); return :func:`settings_of`. Raises :class:`InvalidInput` naming the
    field at fault (nothing is written then)."""
    allowed = {"tracking_enabled", "public_base_url", "sender_name", "postal_address",
               "business_hours_start", "business_hours_end", "per_domain_daily_cap",
               "daily_queue_size", "send_pacing"}
    bad = set(changes) - allowed
    if bad:
        raise InvalidInput(f"unknown setting(s): {', '.join(sorted(bad))}")
    changes = {k: v for k, v in changes.items() if v is not None}
    current = settings_of(conn, tenant_id=tenant_id)
    start = changes.get("business_hours_start", current["business_hours_start"])
    end = changes.get("business_hours_end", current["business_hours_end"])
    if not (0 <= int(start) <= 23 and 1 <= int(end) <= 24 and int(start) < int(end)):
        raise InvalidInput(f"business_hours: start {start} and end {end} must be local hours "
                           "with 0 <= start < end <= 24")
    for k in ("per_domain_daily_cap", "daily_queue_size"):
        if k in changes and not 1 <= int(changes[k]) <= 1000:
            raise InvalidInput(f"{k}: {changes[k]} is not between 1 and 1000")
    for k, most in (("sender_name", 200), ("postal_address", 500)):
        if k in changes and len(str(changes[k])) > most:
            raise InvalidInput(f"{k}: longer than {most} characters")
    url = changes.get("public_base_url")
    if url is not None and not (str(url).startswith(("http://", "https://")) and len(url) <= 500):
        raise InvalidInput(f"public_base_url: {url!r} is not an http(s) URL of at most 500 "
                           "characters")
    if changes:
        cols = ", ".join(changes)
        conn.execute(
            f"""insert into leads.outreach_settings (tenant_id, {cols})
                values (%s, {', '.join(['%s'] * len(changes))})
                on conflict (tenant_id) do update set
                {', '.join(f'{c} = excluded.{c}' for c in changes)}, updated_at = now()""",
            [str(tenant_id), *changes.values()])
    return settings_of(conn, tenant_id=tenant_id)


def add_business_days(start: datetime, days: int, tz: str, hour: int) -> datetime:
    """``start`` + ``days`` business days (Mon–Fri, in ``tz``), at ``hour``:00 local, as UTC."""
    local = start.astimezone(ZoneInfo(tz)).date()
    n = 0
    while n < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            n += 1
    return datetime.combine(local, time(hour), ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def create_campaign(conn: Any, *, tenant_id: UUID | str, name: str, template_id: int,
                    follow_ups: list[dict[str, Any]] | None = None,
                    target_criteria: dict[str, Any] | None = None, auto_approve: bool = False,
                    by: str | None = None) -> dict[str, Any]:
    """Create an ``active`` campaign. ``follow_ups``: ``[{"delay_business_days": 1–60,
    "template_id": id}]``. Raises :class:`InvalidInput` / :class:`NotFound`."""
    templates.get(conn, tenant_id=tenant_id, template_id=template_id)
    steps = []
    for i, f in enumerate(follow_ups or [], start=2):
        delay = f.get("delay_business_days")
        if not isinstance(delay, int) or not 1 <= delay <= 60:
            raise InvalidInput(f"follow_ups[{i - 2}].delay_business_days: 1 to 60")
        tpl = int(f.get("template_id") or template_id)
        templates.get(conn, tenant_id=tenant_id, template_id=tpl)
        steps.append({"step": i, "delay_business_days": delay, "template_id": tpl})
    crit = target_criteria or {}
    bad = set(crit) - {"industries", "regions", "language", "min_score", "prospect_ids"}
    if bad:
        raise InvalidInput(f"target_criteria: unknown key(s) {', '.join(sorted(bad))}")
    row = conn.execute(
        """insert into leads.outreach_campaigns (tenant_id, name, status, target_criteria,
             email_template_id, follow_up_schedule, auto_approve, created_by)
           values (%s, %s, 'active', %s, %s, %s, %s, %s)
           on conflict (tenant_id, name) do nothing returning *""",
        [str(tenant_id), name, json.dumps(crit), template_id, json.dumps(steps), auto_approve,
         by]).fetchone()
    if row is None:
        raise Conflict(f"a campaign named {name!r} exists")
    return row


def get_campaign(conn: Any, *, tenant_id: UUID | str, campaign_id: int) -> dict[str, Any]:
    """Return a campaign; :class:`NotFound` when not the tenant's."""
    row = conn.execute("""select * from leads.outreach_campaigns where tenant_id = %s
                          and campaign_id = %s""", [str(tenant_id), campaign_id]).fetchone()
    if row is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return row


def _values(p: dict[str, Any], st: dict[str, Any], token: str) -> dict[str, Any]:
    first = (p.get("contact_name") or "").split(" ")[0] or None
    return {"business_name": p["business_name"], "contact_name": p.get("contact_name"),
            "first_name": first, "website": p.get("website"), "industry": p.get("industry"),
            "region": p.get("region"), "sender_name": st.get("sender_name"),
            "sender_business": st.get("sender_business"),
            "unsubscribe_url": f"{st['public_base_url']}/o/u/{token}",
            "postal_address": st.get("postal_address")}


def _domain_of_sender(conn: Any, tid: str) -> str:
    row = conn.execute("""select address from leads.sender_mailboxes where tenant_id = %s
                          order by (status = 'active') desc, mailbox_id limit 1""", [tid]).fetchone()
    return row["address"].rsplit("@", 1)[-1] if row else "localhost"


def _render_rows(conn: Any, tid: str, camp: dict[str, Any], tpl: dict[str, Any],
                 prospects: list[dict[str, Any]], step: int, st: dict[str, Any],
                 due: list[datetime] | None = None,
                 ) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    domain = _domain_of_sender(conn, tid)
    rows, errors = [], []
    for i, p in enumerate(prospects):
        token = secrets.token_urlsafe(18)
        try:
            subject, body_html, text = templates.render(tpl, _values(p, st, token))
        except templates.MissingVariable as exc:
            errors.append({"prospect_id": p["prospect_id"], "reason": str(exc)})
            continue
        links: list[str] = []
        if st["tracking_enabled"]:
            body_html, links = instrument(body_html, base_url=st["public_base_url"], token=token)
        if step > 1 and p.get("thread_subject"):
            subject = f"Re: {p['thread_subject']}"
        rows.append((tid, camp["campaign_id"], p["prospect_id"], p["contact_email"],
                     p.get("contact_name"), p["business_name"], p.get("website"),
                     tpl["template_id"], subject, body_html, text, tpl["language"],
                     "approved" if camp["auto_approve"] else "pending", step,
                     due[i] if due else datetime.now(ZoneInfo("UTC")), token,
                     f"<{token}@{domain}>", p.get("thread_id"), json.dumps(links),
                     "auto-approve policy" if camp["auto_approve"] else None))
    return rows, errors


def _insert(conn: Any, rows: list[tuple[Any, ...]]) -> int:
    if not rows:
        return 0
    cur = conn.cursor()
    cur.executemany(
        """insert into leads.outreach_emails (tenant_id, campaign_id, prospect_id, prospect_email,
             prospect_name, company_name, website, template_id, subject, content, plain_content,
             language, status, follow_up_sequence, due_at, token, message_id, thread_id, links,
             approved_by, approved_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, case when %s = 'approved' then now() end)
           on conflict (tenant_id, campaign_id, prospect_id, follow_up_sequence) do nothing""",
        [(*r, r[12]) for r in rows])
    return len(rows)


def generate(conn: Any, *, tenant_id: UUID | str, campaign_id: int, limit: int = 100,
             now: datetime | None = None) -> dict[str, Any]:
    """Render step 1 for up to ``limit`` matching prospects; return ``{created, errors}``.

    ``errors``: ``[{prospect_id, reason}]`` for prospects a template variable has no value for
    (nothing is generated for them). Raises :class:`Conflict` on a campaign not active.
    """
    tid = str(tenant_id)
    camp = get_campaign(conn, tenant_id=tid, campaign_id=campaign_id)
    if camp["status"] != "active":
        raise Conflict(f"campaign {campaign_id} is {camp['status']}")
    c = camp["target_criteria"] or {}
    prospects = conn.execute(
        """select p.* from leads.prospect_candidates p
           where p.tenant_id = %s and p.email_norm is not null
             and (%s::text[] is null or lower(p.industry) = any(%s))
             and (%s::text[] is null or p.region = any(%s))
             and (%s::text is null or p.language = %s)
             and (%s::numeric is null or p.automation_need_score >= %s)
             and (%s::bigint[] is null or p.prospect_id = any(%s))
             and not exists (select 1 from leads.outreach_sequences s where s.tenant_id = p.tenant_id
                             and s.campaign_id = %s and s.prospect_id = p.prospect_id)
             and not exists (select 1 from leads.suppression_list x where x.tenant_id = p.tenant_id
                             and x.email_norm in (p.email_norm, '@' || p.domain,
                                                  '@' || split_part(p.email_norm, '@', 2)))
           order by p.automation_need_score desc nulls last, p.prospect_id limit %s""",
        [tid, *([[i.lower() for i in c["industries"]]] * 2 if c.get("industries") else [None] * 2),
         *([c.get("regions")] * 2), *([c.get("language")] * 2), *([c.get("min_score")] * 2),
         *([c.get("prospect_ids")] * 2), campaign_id, limit]).fetchall()
    tpl = templates.get(conn, tenant_id=tid, template_id=camp["email_template_id"])
    st = settings_of(conn, tenant_id=tid)
    due = [now or datetime.now(ZoneInfo("UTC"))] * len(prospects)
    rows, errors = _render_rows(conn, tid, camp, tpl, prospects, 1, st, due=due)
    created = _insert(conn, rows)
    if rows:
        conn.execute(
            """insert into leads.outreach_sequences (tenant_id, campaign_id, prospect_id)
               select %s, %s, unnest(%s::bigint[]) on conflict do nothing""",
            [tid, campaign_id, [r[2] for r in rows]])
        conn.execute("""update leads.email_templates set usage_count = usage_count + %s
                        where tenant_id = %s and template_id = %s""",
                     [created, tid, tpl["template_id"]])
    return {"created": created, "errors": errors}


def decide(conn: Any, *, tenant_id: UUID | str, email_ids: list[int], decision: str, by: str,
           ) -> list[int]:
    """A person approves or rejects pending e-mails (bulk); return the ids changed, ascending.

    Only ``pending`` e-mails change; others are left as they are (not an error: a bulk
    approval may include e-mails someone else decided meanwhile).
    """
    if decision not in ("approved", "rejected"):
        raise InvalidInput("decision: approved or rejected")
    if not by or not by.strip():
        raise InvalidInput("by: who decides is required")
    rows = conn.execute(
        """update leads.outreach_emails set status = %s, approved_by = %s, approved_at = now()
           where tenant_id = %s and email_id = any(%s) and status = 'pending'
           returning email_id""", [decision, by, str(tenant_id), email_ids]).fetchall()
    return sorted(r["email_id"] for r in rows)


def end_sequences(conn: Any, *, tenant_id: UUID | str, state: str, reason: str,
                  campaign_id: int | None = None, prospect_ids: list[int] | None = None,
                  email_norms: list[str] | None = None) -> int:
    """End the matching active sequences with ``state`` and cancel their unsent e-mails.

    Selects by campaign and/or prospects, or by addresses (every campaign: an unsubscribe or
    a bounce). Returns the e-mails cancelled.
    """
    tid = str(tenant_id)
    if prospect_ids is None and email_norms is not None:
        prospect_ids = [r["prospect_id"] for r in conn.execute(
            """select prospect_id from leads.prospect_candidates where tenant_id = %s
               and email_norm = any(%s)""", [tid, email_norms])]
    if not prospect_ids:
        return 0
    conn.execute(
        """update leads.outreach_sequences set state = %s, stopped_at = now(), stop_reason = %s
           where tenant_id = %s and prospect_id = any(%s) and state = 'active'
             and (%s::bigint is null or campaign_id = %s)""",
        [state, reason, tid, prospect_ids, campaign_id, campaign_id])
    return conn.execute(
        """update leads.outreach_emails set status = 'cancelled',
             metadata = metadata || jsonb_build_object('cancelled', %s::text)
           where tenant_id = %s and prospect_id = any(%s) and status in ('pending', 'approved')
             and (%s::bigint is null or campaign_id = %s)""",
        [reason, tid, prospect_ids, campaign_id, campaign_id]).rowcount


def stop(conn: Any, *, tenant_id: UUID | str, campaign_id: int, prospect_id: int, by: str,
         ) -> int:
    """A person stops a prospect's sequence in a campaign; return the e-mails cancelled."""
    get_campaign(conn, tenant_id=tenant_id, campaign_id=campaign_id)
    return end_sequences(conn, tenant_id=tenant_id, state="stopped", reason=f"stopped by {by}",
                         campaign_id=campaign_id, prospect_ids=[prospect_id])


def schedule_follow_ups(conn: Any, *, tenant_id: UUID | str, now: datetime) -> int:
    """Render the next step of every active sequence whose previous step is old enough.

    One query finds, per active sequence, its last sent e-mail and the campaign's next step;
    the due time is ``sent_at`` + the step's business days; those due by ``now`` (and whose
    prospect is not suppressed) are rendered and inserted (threaded on step 1's Message-ID).
    Returns the e-mails created.
    """
    tid = str(tenant_id)
    cands = conn.execute(
        """select s.campaign_id, s.prospect_id, e.sent_at, e.follow_up_sequence step,
                  e.subject thread_subject, coalesce(e.thread_id, e.message_id) thread_id,
                  f.value nxt, p.*
           from leads.outreach_sequences s
           join lateral (select * from leads.outreach_emails e where e.tenant_id = s.tenant_id
                         and e.campaign_id = s.campaign_id and e.prospect_id = s.prospect_id
                         order by follow_up_sequence desc limit 1) e on true
           join leads.outreach_campaigns c on c.tenant_id = s.tenant_id
                                           and c.campaign_id = s.campaign_id
           join lateral jsonb_array_elements(c.follow_up_schedule) f on
                (f.value ->> 'step')::int = e.follow_up_sequence + 1
           join leads.prospect_candidates p on p.tenant_id = s.tenant_id
                                            and p.prospect_id = s.prospect_id
           where s.tenant_id = %s and s.state = 'active' and c.status = 'active'
             and e.status in ('sent', 'delivered', 'opened')
             and not exists (select 1 from leads.suppression_list x where x.tenant_id = p.tenant_id
                             and x.email_norm in (p.email_norm, '@' || p.domain))""",
        [tid]).fetchall()
    if not cands:
        return 0
    st = settings_of(conn, tenant_id=tid)
    created = 0
    by_key: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for c in cands:
        nxt = c["nxt"]
        due = add_business_days(c["sent_at"], int(nxt["delay_business_days"]), st["time_zone"],
                                int(st["business_hours_start"]))
        if due <= now:
            by_key.setdefault((c["campaign_id"], int(nxt["template_id"])), []).append(
                {**c, "due": due, "thread_subject": c["thread_subject"].removeprefix("Re: ")})
    for (campaign_id, template_id), group in by_key.items():
        camp = get_campaign(conn, tenant_id=tid, campaign_id=campaign_id)
        tpl = templates.get(conn, tenant_id=tid, template_id=template_id)
        step = int(group[0]["step"]) + 1
        rows, _errors = _render_rows(conn, tid, camp, tpl, group, step, st,
                                     due=[g["due"] for g in group])
        created += _insert(conn, rows)
        conn.execute("""update leads.outreach_sequences set current_step = %s where tenant_id = %s
                        and campaign_id = %s and prospect_id = any(%s)""",
                     [step, tid, campaign_id, [r[2] for r in rows]])
    return created


def pending(conn: Any, *, tenant_id: UUID | str, status: str = "pending", limit: int = 200,
            campaign_id: int | None = None) -> list[dict[str, Any]]:
    """E-mails in ``status`` (the approval queue by default), oldest first."""
    return conn.execute(
        """select e.email_id, e.campaign_id, c.name campaign, e.prospect_id, e.prospect_email,
                  e.prospect_name, e.company_name, e.subject, e.plain_content, e.language,
                  e.status, e.follow_up_sequence, e.due_at, e.created_at, e.sent_at,
                  e.approved_by, e.replied_at, e.bounce_type
           from leads.outreach_emails e join leads.outreach_campaigns c using (tenant_id, campaign_id)
           where e.tenant_id = %s and e.status = %s and (%s::bigint is null or e.campaign_id = %s)
           order by e.due_at, e.email_id limit %s""",
        [str(tenant_id), status, campaign_id, campaign_id, limit]).fetchall()
