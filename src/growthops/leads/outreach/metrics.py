"""Campaign and industry metrics, recomputed set-based from the e-mails and events.

``leads.outreach_metrics`` (one row per campaign; one ``INSERT ... SELECT ... GROUP BY ... ON
CONFLICT`` for all the tenant's campaigns):

* sent — e-mails sent (every step); delivered — sent minus bounced;
* opened (human) — distinct e-mails with a human open **or** a human click (a click proves
  the e-mail was read even when images were blocked); machine opens — distinct e-mails with
  only machine opens/clicks; clicked (human) / machine clicks likewise for clicks;
* replied — distinct prospects that replied (auto-replies excluded) — the headline;
* bounced, unsubscribed (address suppressed after an e-mail of the campaign: unsubscribe or
  complaint);
* rates in percent 0–100: open, click and reply of **delivered** prospects/e-mails
  (reply: replied prospects / prospects with a delivered e-mail), bounce of sent.

With tracking switched off for the tenant, opened/clicked and their rates are NULL ("not
tracked"), never 0. ``revenue_generated`` is not tracked (NULL).

``leads.prospect_industry_performance`` (per industry of the contacted prospects):
contacted, human-opened and replied prospects, rates in percent, mean reply delay in hours,
``priority_score`` = 100 × reply rate / the best industry's (industries with ≥ 20 contacted
get a score; others NULL: too few to rank).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

CAMPAIGN_SQL = """
with s as (select coalesce((select tracking_enabled from leads.outreach_settings
                            where tenant_id = %(t)s), true) tracking),
ev as (
  select t.campaign_id, t.email_id,
         bool_or(t.action in ('opened', 'clicked') and not t.is_machine) human_open,
         bool_or(t.action in ('opened', 'clicked') and t.is_machine) machine_open,
         bool_or(t.action = 'clicked' and not t.is_machine) human_click,
         bool_or(t.action = 'clicked' and t.is_machine) machine_click,
         bool_or(t.action in ('unsubscribed', 'complained')) unsub
  from leads.outreach_tracking t where t.tenant_id = %(t)s
    and t.action in ('opened', 'clicked', 'unsubscribed', 'complained')
  group by 1, 2),
em as (
  select e.campaign_id,
         count(*) filter (where e.sent_at is not null) sent,
         count(*) filter (where e.sent_at is not null and e.status = 'bounced') bounced,
         count(distinct e.prospect_id) filter (where e.sent_at is not null
                                                and e.status <> 'bounced') delivered_prospects,
         count(distinct e.prospect_id) filter (where e.replied_at is not null) replied,
         count(*) filter (where ev.human_open) human_open,
         count(*) filter (where ev.machine_open and not ev.human_open) machine_open,
         count(*) filter (where ev.human_click) human_click,
         count(*) filter (where ev.machine_click and not ev.human_click) machine_click,
         count(*) filter (where ev.unsub) unsub
  from leads.outreach_emails e
  left join ev on ev.campaign_id = e.campaign_id and ev.email_id = e.email_id
  where e.tenant_id = %(t)s group by 1)
insert into leads.outreach_metrics as m (tenant_id, campaign_id, tracking_enabled,
  total_emails_sent, total_emails_delivered, total_emails_opened, machine_opens,
  total_emails_clicked, machine_clicks, total_emails_replied, total_emails_bounced,
  total_emails_unsubscribed, open_rate, click_rate, reply_rate, bounce_rate, updated_at)
select %(t)s, c.campaign_id, s.tracking, coalesce(em.sent, 0),
       coalesce(em.sent - em.bounced, 0),
       case when s.tracking then coalesce(em.human_open, 0) end,
       case when s.tracking then coalesce(em.machine_open, 0) end,
       case when s.tracking then coalesce(em.human_click, 0) end,
       case when s.tracking then coalesce(em.machine_click, 0) end,
       coalesce(em.replied, 0), coalesce(em.bounced, 0), coalesce(em.unsub, 0),
       case when s.tracking and em.sent > em.bounced
            then round(100.0 * em.human_open / (em.sent - em.bounced), 1) end,
       case when s.tracking and em.sent > em.bounced
            then round(100.0 * em.human_click / (em.sent - em.bounced), 1) end,
       case when em.delivered_prospects > 0
            then round(100.0 * em.replied / em.delivered_prospects, 1) end,
       case when em.sent > 0 then round(100.0 * em.bounced / em.sent, 1) end,
       now()
from leads.outreach_campaigns c cross join s
left join em on em.campaign_id = c.campaign_id
where c.tenant_id = %(t)s
on conflict (tenant_id, campaign_id) do update set
  tracking_enabled = excluded.tracking_enabled,
  total_emails_sent = excluded.total_emails_sent,
  total_emails_delivered = excluded.total_emails_delivered,
  total_emails_opened = excluded.total_emails_opened, machine_opens = excluded.machine_opens,
  total_emails_clicked = excluded.total_emails_clicked, machine_clicks = excluded.machine_clicks,
  total_emails_replied = excluded.total_emails_replied,
  total_emails_bounced = excluded.total_emails_bounced,
  total_emails_unsubscribed = excluded.total_emails_unsubscribed,
  open_rate = excluded.open_rate, click_rate = excluded.click_rate,
  reply_rate = excluded.reply_rate, bounce_rate = excluded.bounce_rate, updated_at = now()
"""

INDUSTRY_SQL = """
with p as (
  select coalesce(nullif(p.industry, ''), 'unknown') industry, p.prospect_id,
         min(e.sent_at) first_sent, min(e.replied_at) replied_at,
         bool_or(exists (select 1 from leads.outreach_tracking t where t.tenant_id = e.tenant_id
                         and t.email_id = e.email_id and t.action in ('opened', 'clicked')
                         and not t.is_machine)) opened
  from leads.outreach_emails e join leads.prospect_candidates p using (tenant_id, prospect_id)
  where e.tenant_id = %(t)s and e.sent_at is not null group by 1, 2),
agg as (
  select industry, count(*) contacted, count(*) filter (where opened) opened,
         count(*) filter (where replied_at is not null) replied,
         avg(extract(epoch from replied_at - first_sent) / 3600)
           filter (where replied_at is not null) hours
  from p group by 1),
rated as (select *, 100.0 * replied / contacted reply_pct,
                 max(case when contacted >= 20 then 100.0 * replied / contacted end) over () best
          from agg)
insert into leads.prospect_industry_performance as x (tenant_id, industry, total_contacted,
  total_opened, total_replied, open_rate, reply_rate, avg_response_time_hours, priority_score,
  last_updated)
select %(t)s, industry, contacted, opened, replied, round(100.0 * opened / contacted, 1),
       round(reply_pct, 1), round(hours, 1),
       case when contacted >= 20 and best > 0 then round(100 * reply_pct / best, 1)
            when contacted >= 20 then 0 end, now()
from rated
on conflict (tenant_id, industry) do update set total_contacted = excluded.total_contacted,
  total_opened = excluded.total_opened, total_replied = excluded.total_replied,
  open_rate = excluded.open_rate, reply_rate = excluded.reply_rate,
  avg_response_time_hours = excluded.avg_response_time_hours,
  priority_score = excluded.priority_score, last_updated = now()
"""


def recompute(conn: Any, *, tenant_id: UUID | str) -> dict[str, int]:
    """Recompute the tenant's campaign and industry metrics; return rows written."""
    t = {"t": str(tenant_id)}
    n = conn.execute(CAMPAIGN_SQL, t).rowcount
    m = conn.execute(INDUSTRY_SQL, t).rowcount
    conn.execute(
        """update leads.email_templates tp set performance_score = r.score
           from (select template_id, round(count(*) filter (where replied_at is not null)::numeric
                                           / count(*), 3) score
                 from leads.outreach_emails where tenant_id = %(t)s and sent_at is not null
                 group by 1) r
           where tp.tenant_id = %(t)s and tp.template_id = r.template_id""", t)
    return {"campaigns": n, "industries": m}


def campaign_figures(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Every campaign with its metrics row (NULL figures before the first recompute) and the
    count of e-mails waiting for approval."""
    return conn.execute(
        """select m.*, c.campaign_id, c.name, c.status, c.auto_approve, c.follow_up_schedule,
                  (select count(*) from leads.outreach_emails e where e.tenant_id = c.tenant_id
                        and e.campaign_id = c.campaign_id and e.status = 'pending') pending
           from leads.outreach_campaigns c
           left join leads.outreach_metrics m using (tenant_id, campaign_id)
           where c.tenant_id = %s order by c.campaign_id""", [str(tenant_id)]).fetchall()
