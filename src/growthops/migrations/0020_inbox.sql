-- 0020 inbox (seed 003, SocialSync AI): WhatsApp and Instagram conversations, human handoff,
-- KPIs. Seed table and column names kept where they fit; tenant_id replaces user_id and is
-- first in every key; foreign keys between tenant tables include tenant_id; forced RLS on every
-- tenant-owned table. Raw webhook deliveries are stored before their tenant is known, so
-- inbox.webhook_events has no tenant_id: the application role has no grant on it and reaches it
-- only through the SECURITY DEFINER functions at the end of this file.

create schema if not exists inbox;
grant usage on schema inbox to growthops_app;

-- ---------------------------------------------------------------------------------------------
-- A client's support people: role support_agent, bound to one tenant like a client_viewer, who
-- may answer that tenant's inbox (escalate, assign, reply, resolve) but not decide on ads.
do $$
declare c record;
begin
  for c in select conname from pg_constraint
           where conrelid = 'core.users'::regclass and contype = 'c'
             and pg_get_constraintdef(oid) like '%role%'
  loop
    execute format('alter table core.users drop constraint %I', c.conname);
  end loop;
end
$$;
alter table core.users add constraint users_role_check
  check (role in ('admin', 'media_buyer', 'client_viewer', 'support_agent'));
alter table core.users add constraint users_tenant_binding_check
  check ((role in ('client_viewer', 'support_agent')) = (viewer_tenant_id is not null));

-- The people who may answer a tenant's inbox: the agency's staff and that tenant's support agents
-- (active users only; e-mail and role, never a hash). Used to list assignees and check one.
create or replace function core.tenant_agents(p_tenant uuid)
returns table (user_id uuid, email text, role text)
language sql stable security definer set search_path = core, pg_temp
as $$
  select u.user_id, u.email, u.role from core.users u
  where u.active and (u.role in ('admin', 'media_buyer')
                      or (u.role = 'support_agent' and u.viewer_tenant_id = p_tenant))
  order by u.email
$$;
revoke all on function core.tenant_agents(uuid) from public;
grant execute on function core.tenant_agents(uuid) to growthops_app;

-- ---------------------------------------------------------------------------------------------
-- Per-tenant inbox settings: optional business hours (KPIs count response time inside them).
-- business_hours: {"mon": [["09:00", "18:00"]], ..., "sun": []} in the tenant's time zone; NULL
-- means every hour counts.
create table inbox.settings (
  tenant_id uuid not null references core.tenants on delete cascade,
  business_hours jsonb,
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.settings');

-- social_accounts (seed 003): a WhatsApp phone number (account_id = phone_number_id) or an
-- Instagram professional account (account_id = its Instagram id). Tokens are Fernet tokens
-- (growthops.core.secrets), never plaintext. connector 'graph' calls Meta's Graph API;
-- 'sandbox' answers in-process (demo, no network).
create table inbox.social_accounts (
  tenant_id uuid not null references core.tenants on delete cascade,
  social_account_id bigint generated always as identity,
  platform text not null check (platform in ('whatsapp', 'instagram')),
  account_id text not null check (length(account_id) between 1 and 64),
  account_name text,
  connector text not null default 'graph' check (connector in ('graph', 'sandbox')),
  access_token text,                     -- Fernet token of the access token (encrypted)
  refresh_token text,                    -- Fernet token (encrypted), when the platform has one
  token_expires_at timestamptz,
  scopes text[] not null default '{}',
  metadata jsonb not null default '{}',  -- non-secret: api_version, base_url, waba_id...
  status text not null default 'active' check (status in ('active', 'expired', 'revoked')),
  status_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, social_account_id),
  unique (tenant_id, platform, account_id)
);
create index social_accounts_route on inbox.social_accounts (platform, account_id);
call core.enable_tenant_rls('inbox.social_accounts');
-- Under FORCE ROW LEVEL SECURITY the owner is filtered too; the routing function below (run as
-- the owner) must see every tenant's accounts. The application role does not get this policy.
do $$
begin
  execute format('create policy account_route on inbox.social_accounts for select to %I using (true)',
                 current_user);
end
$$;

-- customers (seed 003): the people who write (wa_id, Instagram-scoped id).
create table inbox.customers (
  tenant_id uuid not null references core.tenants on delete cascade,
  customer_id bigint generated always as identity,
  social_account_id bigint not null,
  platform_customer_id text not null check (length(platform_customer_id) between 1 and 128),
  name text,
  username text,
  phone_number text,
  email text,
  profile_pic_url text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, customer_id),
  unique (tenant_id, social_account_id, platform_customer_id),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade
);
call core.enable_tenant_rls('inbox.customers');

-- conversations (seed 003): one thread per account and customer. status active | escalated |
-- archived; last_inbound_at opens the messaging windows; last_read_at is when a person of the
-- team last opened the thread (unread = an inbound message after it).
create table inbox.conversations (
  tenant_id uuid not null references core.tenants on delete cascade,
  conversation_id bigint generated always as identity,
  social_account_id bigint not null,
  customer_id bigint not null,
  platform text not null check (platform in ('whatsapp', 'instagram')),
  status text not null default 'active' check (status in ('active', 'escalated', 'archived')),
  status_changed_at timestamptz not null default now(),
  assignee_user_id uuid references core.users on delete set null,
  last_message_at timestamptz,
  last_inbound_at timestamptz,
  last_outbound_at timestamptz,
  last_read_at timestamptz,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, conversation_id),
  unique (tenant_id, social_account_id, customer_id),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade,
  foreign key (tenant_id, customer_id)
    references inbox.customers (tenant_id, customer_id) on delete cascade
);
create index conversations_recent on inbox.conversations (tenant_id, last_message_at desc nulls last);
create index conversations_status on inbox.conversations (tenant_id, status, last_message_at desc nulls last);
create index conversations_assignee on inbox.conversations (tenant_id, assignee_user_id)
  where assignee_user_id is not null;
call core.enable_tenant_rls('inbox.conversations');

-- conversation_messages (seed 003). sent_at: the platform's timestamp of an inbound message, the
-- time we sent an outbound one. author_kind: customer (inbound), ai, human (a person through
-- growthops), platform_app (a person replying in the platform's own app, seen as an echo).
-- triage / confidence / ai_decision_id are filled by the AI (issue 11); NULL until then.
create table inbox.conversation_messages (
  tenant_id uuid not null references core.tenants on delete cascade,
  message_id bigint generated always as identity,
  conversation_id bigint not null,
  direction text not null check (direction in ('inbound', 'outbound')),
  platform_message_id text,
  sender_id text,
  author_kind text not null default 'customer'
    check (author_kind in ('customer', 'ai', 'human', 'platform_app')),
  author text,                                  -- e-mail of the person, 'ai', or NULL
  message_type text not null default 'text'
    check (message_type in ('text', 'image', 'audio', 'video', 'unsupported')),
  text text,
  media_url text,                               -- the platform's media id or URL (not fetched)
  metadata jsonb not null default '{}',         -- the platform's message object, kept whole
  template_name text,                           -- WhatsApp template sent outside the window
  tag text,                                     -- Instagram message tag (HUMAN_AGENT)
  triage text check (triage in ('respond', 'ignore', 'escalate')),
  confidence numeric(4,3) check (confidence between 0 and 1),
  ai_decision_id bigint,
  status text not null default 'received'
    check (status in ('received', 'pending', 'sent', 'delivered', 'read', 'failed')),
  error jsonb,
  sent_at timestamptz not null default now(),
  delivered_at timestamptz,
  read_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, message_id),
  unique (tenant_id, conversation_id, platform_message_id),
  foreign key (tenant_id, conversation_id)
    references inbox.conversations (tenant_id, conversation_id) on delete cascade
);
create index messages_conversation on inbox.conversation_messages (tenant_id, conversation_id, sent_at desc);
create index messages_platform on inbox.conversation_messages (tenant_id, platform_message_id)
  where platform_message_id is not null;
create index messages_time on inbox.conversation_messages (tenant_id, sent_at);
call core.enable_tenant_rls('inbox.conversation_messages');

-- Delivery statuses as received (sent, delivered, read, failed), kept even when they arrive
-- before the message they describe is stored: applying them is then order-independent.
create table inbox.message_statuses (
  tenant_id uuid not null references core.tenants on delete cascade,
  social_account_id bigint not null,
  platform_message_id text not null,
  status text not null check (status in ('sent', 'delivered', 'read', 'failed')),
  at timestamptz not null,
  error jsonb,
  primary key (tenant_id, social_account_id, platform_message_id, status),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade
);
call core.enable_tenant_rls('inbox.message_statuses');

-- support_escalations (seed 003): one open escalation per conversation at most.
create table inbox.support_escalations (
  tenant_id uuid not null references core.tenants on delete cascade,
  escalation_id bigint generated always as identity,
  conversation_id bigint not null,
  message_id bigint,                             -- the message that caused it, if any
  reason text not null
    check (reason in ('customer_request', 'low_confidence', 'manual_escalation', 'outside_window')),
  status text not null default 'open' check (status in ('open', 'in_progress', 'resolved')),
  opened_by text not null default 'system',
  assigned_to uuid references core.users on delete set null,
  notes text,
  resolved_at timestamptz,
  resolved_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, escalation_id),
  foreign key (tenant_id, conversation_id)
    references inbox.conversations (tenant_id, conversation_id) on delete cascade
);
create unique index escalations_one_open on inbox.support_escalations (tenant_id, conversation_id)
  where status <> 'resolved';
create index escalations_created on inbox.support_escalations (tenant_id, created_at);
call core.enable_tenant_rls('inbox.support_escalations');

-- Every transition of a conversation, with who and when (append-only for the application).
create table inbox.conversation_events (
  tenant_id uuid not null references core.tenants on delete cascade,
  event_id bigint generated always as identity,
  conversation_id bigint not null,
  escalation_id bigint,
  action text not null check (action in ('escalated', 'assigned', 'unassigned', 'replied',
                                          'resolved', 'reopened', 'archived', 'refused')),
  actor text not null check (length(actor) between 1 and 254),
  at timestamptz not null default now(),
  details jsonb not null default '{}',
  primary key (tenant_id, event_id),
  foreign key (tenant_id, conversation_id)
    references inbox.conversations (tenant_id, conversation_id) on delete cascade
);
create index conversation_events_conv on inbox.conversation_events (tenant_id, conversation_id, at);
call core.enable_tenant_rls('inbox.conversation_events');
revoke update, delete on inbox.conversation_events from growthops_app;

-- analytics (seed 003): the latest figures per tenant (last 7 days), recomputed with the KPIs.
create table inbox.analytics (
  tenant_id uuid not null references core.tenants on delete cascade,
  total_messages integer not null default 0,
  total_conversations integer not null default 0,
  auto_replies_sent integer not null default 0,
  avg_response_time_seconds integer,
  frt_p50_seconds integer,
  frt_p90_seconds integer,
  human_frt_p50_seconds integer,
  human_frt_p90_seconds integer,
  last_calculated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.analytics');

-- analytics_history (seed 003): one row per tenant, local day and channel ('all' = both).
-- kpi_2h (seed 003): the same figures per 2-hour UTC window. Rates are fractions 0-1; times are
-- seconds (business seconds when the tenant has business hours). Definitions: docs/inbox.md.
create table inbox.analytics_history (
  tenant_id uuid not null references core.tenants on delete cascade,
  date date not null,
  channel text not null default 'all' check (channel in ('all', 'whatsapp', 'instagram')),
  messages_count integer not null default 0,
  inbound_count integer not null default 0,
  outbound_count integer not null default 0,
  conversations_count integer not null default 0,
  contacts_count integer not null default 0,
  answered_count integer not null default 0,
  auto_replies_count integer not null default 0,
  escalate_count integer not null default 0,
  ignored_count integer not null default 0,
  avg_response_time_seconds integer,
  frt_p50_seconds integer,
  frt_p90_seconds integer,
  human_frt_p50_seconds integer,
  human_frt_p90_seconds integer,
  auto_reply_rate numeric(4,3) check (auto_reply_rate between 0 and 1),
  escalation_rate numeric(4,3) check (escalation_rate between 0 and 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, date, channel)
);
call core.enable_tenant_rls('inbox.analytics_history');

create table inbox.kpi_2h (
  tenant_id uuid not null references core.tenants on delete cascade,
  window_start timestamptz not null,
  channel text not null default 'all' check (channel in ('all', 'whatsapp', 'instagram')),
  window_end timestamptz not null,
  messages_count integer not null default 0,
  inbound_count integer not null default 0,
  outbound_count integer not null default 0,
  contacts_count integer not null default 0,
  answered_count integer not null default 0,
  auto_replies_count integer not null default 0,
  escalate_count integer not null default 0,
  ignored_count integer not null default 0,
  frt_p50_seconds integer,
  frt_p90_seconds integer,
  human_frt_p50_seconds integer,
  human_frt_p90_seconds integer,
  auto_reply_rate numeric(4,3) check (auto_reply_rate between 0 and 1),
  escalation_rate numeric(4,3) check (escalation_rate between 0 and 1),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, window_start, channel)
);
call core.enable_tenant_rls('inbox.kpi_2h');

grant usage on all sequences in schema inbox to growthops_app;

-- ---------------------------------------------------------------------------------------------
-- Raw webhook deliveries (seed 003 webhook_events), stored after the signature check and before
-- any parsing. Not tenant-owned (a batched delivery may carry several tenants' accounts): the
-- application role has no grant; it stores and reads them through the functions below.
-- signature: which secret verified it ('current' or 'previous' during a secret rotation).
create table inbox.webhook_events (
  event_id bigint generated always as identity primary key,
  platform text not null check (platform in ('whatsapp', 'instagram')),
  received_at timestamptz not null default now(),
  body bytea not null,
  headers jsonb not null default '{}',
  signature text not null check (signature in ('current', 'previous')),
  processed_at timestamptz,
  attempts integer not null default 0,
  error text,
  summary jsonb
);
create index webhook_events_pending on inbox.webhook_events (received_at) where processed_at is null;
create index webhook_events_received on inbox.webhook_events (platform, received_at desc);
alter table inbox.webhook_events enable row level security;
revoke all on inbox.webhook_events from growthops_app;

-- Refused deliveries (bad or missing signature, too large): a counter per day, nothing else.
create table inbox.webhook_rejections (
  day date not null default current_date,
  platform text not null,
  reason text not null,
  count bigint not null default 0,
  primary key (day, platform, reason)
);
alter table inbox.webhook_rejections enable row level security;
revoke all on inbox.webhook_rejections from growthops_app;

-- Store a verified delivery and queue its processing (procrastinate task inbox.process_webhook,
-- queue 'inbox') in one statement, so a delivery acknowledged is a delivery processed.
-- procrastinate_defer_jobs_v1 is procrastinate's SQL API (procrastinate >= 3.0); its schema is
-- applied after these migrations, so this is plpgsql (resolved at call time).
create or replace function inbox.receive_webhook(p_platform text, p_body bytea, p_headers jsonb,
                                                 p_signature text)
returns bigint
language plpgsql volatile security definer set search_path = inbox, public, pg_temp
as $$
declare v_id bigint;
begin
  insert into inbox.webhook_events (platform, body, headers, signature)
  values (p_platform, p_body, coalesce(p_headers, '{}'), p_signature)
  returning event_id into v_id;
  perform public.procrastinate_defer_jobs_v1(array[row(
    'inbox', 'inbox.process_webhook', 0, null, 'inbox.webhook:' || v_id,
    jsonb_build_object('event_id', v_id), null)::public.procrastinate_job_to_defer_v1]);
  return v_id;
end
$$;
revoke all on function inbox.receive_webhook(text, bytea, jsonb, text) from public;
grant execute on function inbox.receive_webhook(text, bytea, jsonb, text) to growthops_app;

create or replace function inbox.count_rejection(p_platform text, p_reason text)
returns void
language sql volatile security definer set search_path = inbox, pg_temp
as $$
  insert into inbox.webhook_rejections (platform, reason, count) values (p_platform, p_reason, 1)
  on conflict (day, platform, reason) do update set count = webhook_rejections.count + 1
$$;
revoke all on function inbox.count_rejection(text, text) from public;
grant execute on function inbox.count_rejection(text, text) to growthops_app;

-- The worker reads one delivery (and counts the attempt), then marks it processed.
create or replace function inbox.take_webhook(p_event_id bigint)
returns table (event_id bigint, platform text, body bytea, received_at timestamptz,
               processed_at timestamptz, attempts integer)
language sql volatile security definer set search_path = inbox, pg_temp
as $$
  update inbox.webhook_events e set attempts = e.attempts + 1 where e.event_id = p_event_id
  returning e.event_id, e.platform, e.body, e.received_at, e.processed_at, e.attempts
$$;
revoke all on function inbox.take_webhook(bigint) from public;
grant execute on function inbox.take_webhook(bigint) to growthops_app;

create or replace function inbox.finish_webhook(p_event_id bigint, p_error text, p_summary jsonb)
returns void
language sql volatile security definer set search_path = inbox, pg_temp
as $$
  update inbox.webhook_events set processed_at = now(), error = p_error, summary = p_summary
  where event_id = p_event_id
$$;
revoke all on function inbox.finish_webhook(bigint, text, jsonb) from public;
grant execute on function inbox.finish_webhook(bigint, text, jsonb) to growthops_app;

-- The tenant and account behind receiving account ids (WhatsApp phone_number_id, Instagram
-- account id). An id connected by several tenants is returned once per tenant; the caller
-- refuses to route it.
create or replace function inbox.route_accounts(p_platform text, p_account_ids text[])
returns table (account_id text, tenant_id uuid, social_account_id bigint, status text)
language sql stable security definer set search_path = inbox, pg_temp
as $$
  select a.account_id, a.tenant_id, a.social_account_id, a.status from inbox.social_accounts a
  where a.platform = p_platform and a.account_id = any(p_account_ids) and a.status <> 'revoked'
$$;
revoke all on function inbox.route_accounts(text, text[]) from public;
grant execute on function inbox.route_accounts(text, text[]) to growthops_app;

-- Queue again the deliveries still unprocessed after p_min_age (a worker killed mid-job, a job
-- that failed): one job per delivery unless one is already waiting. Returns how many.
create or replace function inbox.requeue_webhooks(p_min_age interval)
returns integer
language plpgsql volatile security definer set search_path = inbox, public, pg_temp
as $$
declare v_ids bigint[];
begin
  select public.procrastinate_defer_jobs_v1(array(
    select row('inbox', 'inbox.process_webhook', 0, null, 'inbox.webhook:' || e.event_id,
               jsonb_build_object('event_id', e.event_id), null)::public.procrastinate_job_to_defer_v1
    from inbox.webhook_events e
    where e.processed_at is null and e.received_at < now() - p_min_age
      and not exists (select 1 from public.procrastinate_jobs j
                      where j.queueing_lock = 'inbox.webhook:' || e.event_id
                        and j.status = 'todo')))
    into v_ids;
  return coalesce(cardinality(v_ids), 0);
end
$$;
revoke all on function inbox.requeue_webhooks(interval) from public;
grant execute on function inbox.requeue_webhooks(interval) to growthops_app;

-- Counts for `growthops inbox webhooks` and the benchmark: deliveries stored, processed, pending,
-- failed, and the refused ones per reason, since p_since.
create or replace function inbox.webhook_stats(p_since timestamptz)
returns table (platform text, stored bigint, processed bigint, pending bigint, failed bigint,
               rejected jsonb)
language sql stable security definer set search_path = inbox, pg_temp
as $$
  with p(platform) as (values ('whatsapp'), ('instagram')),
  e as (select platform, count(*) as stored, count(processed_at) as processed,
               count(*) filter (where processed_at is null) as pending,
               count(*) filter (where error is not null) as failed
        from inbox.webhook_events where received_at >= p_since group by platform),
  r as (select platform, jsonb_object_agg(reason, n) as rejected
        from (select platform, reason, sum(count) as n from inbox.webhook_rejections
              where day >= p_since::date group by platform, reason) x group by platform)
  select p.platform, coalesce(e.stored, 0), coalesce(e.processed, 0), coalesce(e.pending, 0),
         coalesce(e.failed, 0), coalesce(r.rejected, '{}')
  from p left join e using (platform) left join r using (platform) order by p.platform
$$;
revoke all on function inbox.webhook_stats(timestamptz) from public;
grant execute on function inbox.webhook_stats(timestamptz) to growthops_app;

-- Raw deliveries are personal data of the tenants' customers: processed ones are deleted after
-- p_keep (the nightly purge job).
create or replace function inbox.purge_webhooks(p_keep interval)
returns integer
language sql volatile security definer set search_path = inbox, pg_temp
as $$
  with d as (delete from inbox.webhook_events
             where processed_at is not null and received_at < now() - p_keep returning 1)
  select count(*)::integer from d
$$;
revoke all on function inbox.purge_webhooks(interval) from public;
grant execute on function inbox.purge_webhooks(interval) to growthops_app;
