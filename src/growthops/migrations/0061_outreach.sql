-- 0061 outreach (seed 002): templates, sender mailboxes, campaigns with sequences, e-mails that
-- a person approves, suppression list, tracking events classified human/machine, metrics.
-- Every table is tenant-owned: tenant_id first in every key, forced row-level security.

-- email_templates (seed): subject, HTML and plain text, Jinja variables (sandboxed).
create table leads.email_templates (
  tenant_id uuid not null references core.tenants on delete cascade,
  template_id bigint generated always as identity,
  name text not null check (length(name) between 1 and 200),
  description text check (length(description) <= 2000),
  subject text not null check (length(subject) between 1 and 500),
  html_content text not null check (length(html_content) between 1 and 100000),
  plain_content text not null check (length(plain_content) between 1 and 100000),
  language text not null default 'en' check (language in ('en', 'fr')),
  category text not null default 'outreach' check (length(category) <= 60),
  variables jsonb not null default '[]',    -- the variables the template uses (parsed)
  is_active boolean not null default true,
  usage_count integer not null default 0,
  performance_score numeric(4,3) check (performance_score between 0 and 1),   -- reply fraction
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, template_id),
  unique (tenant_id, name, language)
);
call core.enable_tenant_rls('leads.email_templates');

-- The mailboxes outreach is sent from: daily cap (default 30) and warm-up ramp; paused on error.
create table leads.sender_mailboxes (
  tenant_id uuid not null references core.tenants on delete cascade,
  mailbox_id bigint generated always as identity,
  address text not null check (length(address) <= 254),   -- checked in Python
  display_name text check (length(display_name) <= 200),
  smtp_host text check (length(smtp_host) <= 253),
  smtp_port integer check (smtp_port between 1 and 65535),
  smtp_username text check (length(smtp_username) <= 254),
  smtp_starttls boolean not null default true,
  daily_cap integer not null default 30 check (daily_cap between 0 and 10000),
  warmup_start date,                        -- null: no ramp
  warmup_initial integer not null default 5 check (warmup_initial between 1 and 10000),
  warmup_increment integer not null default 5 check (warmup_increment between 0 and 10000),
  status text not null default 'active' check (status in ('active', 'paused')),
  paused_reason text check (length(paused_reason) <= 500),
  created_at timestamptz not null default now(),
  primary key (tenant_id, mailbox_id),
  unique (tenant_id, address)
);
call core.enable_tenant_rls('leads.sender_mailboxes');

-- outreach_campaigns (seed): target criteria, step-1 template, follow-up schedule
-- ([{"delay_business_days": 3, "template_id": 7}, ...]), explicit auto-approve policy.
create table leads.outreach_campaigns (
  tenant_id uuid not null references core.tenants on delete cascade,
  campaign_id bigint generated always as identity,
  name text not null check (length(name) between 1 and 200),
  status text not null default 'draft' check (status in ('draft', 'active', 'paused', 'completed')),
  target_criteria jsonb not null default '{}',
  email_template_id bigint not null,
  follow_up_schedule jsonb not null default '[]',
  auto_approve boolean not null default false,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  metadata jsonb not null default '{}',
  primary key (tenant_id, campaign_id),
  unique (tenant_id, name),
  foreign key (tenant_id, email_template_id) references leads.email_templates
);
call core.enable_tenant_rls('leads.outreach_campaigns');

-- One sequence per (campaign, prospect): its state stops every later step at once.
create table leads.outreach_sequences (
  tenant_id uuid not null references core.tenants on delete cascade,
  campaign_id bigint not null,
  prospect_id bigint not null,
  state text not null default 'active'
    check (state in ('active', 'replied', 'bounced', 'unsubscribed', 'stopped', 'completed')),
  current_step integer not null default 1,
  stopped_at timestamptz,
  stop_reason text check (length(stop_reason) <= 500),
  created_at timestamptz not null default now(),
  primary key (tenant_id, campaign_id, prospect_id),
  foreign key (tenant_id, campaign_id) references leads.outreach_campaigns on delete cascade,
  foreign key (tenant_id, prospect_id) references leads.prospect_candidates on delete cascade
);
call core.enable_tenant_rls('leads.outreach_sequences');

-- outreach_emails (seed): generated pending, sent only once approved (or auto policy).
create table leads.outreach_emails (
  tenant_id uuid not null references core.tenants on delete cascade,
  email_id bigint generated always as identity,
  campaign_id bigint not null,
  prospect_id bigint not null,
  prospect_email text not null check (length(prospect_email) <= 254),
  prospect_name text,
  company_name text,
  website text,
  template_id bigint not null,
  subject text not null,
  content text not null,                    -- HTML as sent (links rewritten when tracked)
  plain_content text not null,
  language text not null default 'en' check (language in ('en', 'fr')),
  status text not null default 'pending' check (status in (
    'pending', 'approved', 'rejected', 'sending', 'sent', 'delivered', 'opened', 'replied',
    'bounced', 'failed', 'cancelled')),
  follow_up_sequence integer not null default 1 check (follow_up_sequence >= 1),
  due_at timestamptz not null default now(),   -- not sent before
  token text not null,                      -- random: Message-ID local part, links, unsubscribe
  message_id text not null,                 -- seed gmail_message_id: our RFC 5322 Message-ID
  thread_id text,                           -- Message-ID of step 1 (In-Reply-To of follow-ups)
  links jsonb not null default '[]',        -- the original URLs of the tracked links
  sender_email text,
  mailbox_id bigint,
  missing_email boolean not null default false,
  approved_by text,
  approved_at timestamptz,
  sent_at timestamptz,
  opened_at timestamptz,                    -- first human open
  replied_at timestamptz,
  reply_content text check (length(reply_content) <= 100000),
  bounce_type text check (bounce_type in ('hard', 'soft')),
  bounce_reason text check (length(bounce_reason) <= 1000),
  attempts integer not null default 0,
  last_error text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, email_id),
  unique (tenant_id, campaign_id, prospect_id, follow_up_sequence),   -- nothing twice
  unique (tenant_id, message_id),
  unique (tenant_id, token),
  foreign key (tenant_id, campaign_id) references leads.outreach_campaigns on delete cascade,
  foreign key (tenant_id, prospect_id) references leads.prospect_candidates on delete cascade,
  foreign key (tenant_id, template_id) references leads.email_templates,
  foreign key (tenant_id, mailbox_id) references leads.sender_mailboxes
);
-- the public links' lookup (tokens are 144 random bits: unique in practice across tenants;
-- a unique index must start with tenant_id for the scale-out rules, docs/scale-out.md)
create index outreach_emails_token on leads.outreach_emails (token);
create index outreach_emails_due on leads.outreach_emails (tenant_id, due_at) where status = 'approved';
create index outreach_emails_sent on leads.outreach_emails (tenant_id, mailbox_id, sent_at);
call core.enable_tenant_rls('leads.outreach_emails');

-- The per-tenant suppression list, checked before every send: an address, or '@domain'.
create table leads.suppression_list (
  tenant_id uuid not null references core.tenants on delete cascade,
  email_norm text not null check (length(email_norm) between 2 and 254),
  reason text not null check (reason in ('unsubscribe', 'complaint', 'hard_bounce', 'soft_bounce',
                                         'manual', 'reply_optout')),
  detail text check (length(detail) <= 1000),
  source_email_id bigint,
  created_by text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, email_norm)
);
call core.enable_tenant_rls('leads.suppression_list');

-- outreach_tracking (seed): every event; opens and clicks classified human or machine.
create table leads.outreach_tracking (
  tenant_id uuid not null references core.tenants on delete cascade,
  event_id bigint generated always as identity,
  email_id bigint not null,
  prospect_id bigint not null,
  campaign_id bigint not null,
  action text not null check (action in ('sent', 'delivered', 'opened', 'clicked', 'replied',
                                         'bounced', 'unsubscribed', 'complained')),
  "timestamp" timestamptz not null default now(),
  is_machine boolean not null default false,
  machine_rule text check (length(machine_rule) <= 60),   -- which rule said machine
  link_index integer,
  user_agent text check (length(user_agent) <= 1000),
  ip inet,
  metadata jsonb not null default '{}',
  primary key (tenant_id, event_id),
  foreign key (tenant_id, email_id) references leads.outreach_emails on delete cascade
);
create index outreach_tracking_email on leads.outreach_tracking (tenant_id, email_id, action);
create index outreach_tracking_campaign on leads.outreach_tracking (tenant_id, campaign_id);
call core.enable_tenant_rls('leads.outreach_tracking');

-- outreach_metrics (seed): one row per campaign, recomputed set-based; human and machine apart.
create table leads.outreach_metrics (
  tenant_id uuid not null references core.tenants on delete cascade,
  campaign_id bigint not null,
  tracking_enabled boolean not null,
  total_emails_sent integer not null default 0,
  total_emails_delivered integer not null default 0,
  total_emails_opened integer,              -- human opens (distinct e-mails); null: not tracked
  machine_opens integer,
  total_emails_clicked integer,             -- human clicks (distinct e-mails)
  machine_clicks integer,
  total_emails_replied integer not null default 0,
  total_emails_bounced integer not null default 0,
  total_emails_unsubscribed integer not null default 0,
  open_rate numeric(5,1),                   -- percent 0-100 of delivered, human only
  click_rate numeric(5,1),
  reply_rate numeric(5,1),                  -- the headline
  bounce_rate numeric(5,1),                 -- percent of sent
  revenue_generated bigint,                 -- minor units of the tenant's currency (not tracked)
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, campaign_id),
  foreign key (tenant_id, campaign_id) references leads.outreach_campaigns on delete cascade
);
call core.enable_tenant_rls('leads.outreach_metrics');

-- Public links (tracking pixel, click redirect, one-click unsubscribe) and inbound mail carry
-- only the e-mail's random token: find its tenant before any tenant is known.
do $$
begin
  execute format('create policy outreach_token_lookup on leads.outreach_emails for select to %I using (true)',
                 current_user);
end
$$;

create or replace function leads.outreach_token_lookup(p_token text)
returns table (tenant_id uuid, email_id bigint)
language sql stable security definer set search_path = leads, pg_temp
as $$
  select e.tenant_id, e.email_id from leads.outreach_emails e where e.token = p_token
$$;
revoke all on function leads.outreach_token_lookup(text) from public;
grant execute on function leads.outreach_token_lookup(text) to growthops_app;
