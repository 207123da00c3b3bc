-- 0090 inbox, issue 12 (seed 003, SocialSync AI): scheduled posts and their runs, comment
-- monitoring, credits and plans. Seed names kept; tenant_id replaces user_id, first in every
-- key; foreign keys between tenant tables include tenant_id; forced RLS on every table.

-- ---------------------------------------------------------------------------------------------
-- scheduled_posts (seed 003): a post for an Instagram account at a wall-clock time of the
-- tenant's time zone (local_at + time_zone), optionally recurring (rrule, RFC 5545 RRULE, the
-- occurrences computed by dateutil.rrule on wall-clock times, so 09:00 stays 09:00 across DST).
-- occurrence_at: the UTC instant of the occurrence now due; next_attempt_at: when to try it
-- (occurrence_at, or later after a transient failure: retry_count attempts so far).
-- status queued | publishing (claimed by a worker) | published | failed | cancelled.
create table inbox.scheduled_posts (
  tenant_id uuid not null references core.tenants on delete cascade,
  post_id bigint generated always as identity,
  social_account_id bigint not null,
  platform text not null default 'instagram' check (platform in ('instagram')),
  content_json jsonb not null,             -- {"text": str, "media": [{"type", "url"}]}
  local_at timestamp not null,             -- first occurrence, wall clock in time_zone
  time_zone text not null,
  rrule text,                              -- e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=4 (no DTSTART)
  publish_at timestamptz not null,         -- first occurrence, UTC
  occurrence_at timestamptz,               -- the occurrence due (NULL when none is left)
  next_attempt_at timestamptz,
  status text not null default 'queued'
    check (status in ('queued', 'publishing', 'published', 'failed', 'cancelled')),
  claimed_at timestamptz,
  platform_post_id text,                   -- the last published occurrence's media id
  error_message text,
  retry_count int not null default 0 check (retry_count >= 0),
  published_count int not null default 0 check (published_count >= 0),
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, post_id),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade
);
create index scheduled_posts_due on inbox.scheduled_posts (tenant_id, next_attempt_at)
  where status = 'queued';
create index scheduled_posts_publishing on inbox.scheduled_posts (tenant_id, claimed_at)
  where status = 'publishing';
call core.enable_tenant_rls('inbox.scheduled_posts');

-- post_runs (seed 003): one row per attempt at an occurrence. status running | success |
-- failed | retry (a transient failure, tried again later). container_id: Instagram's media
-- container. At most one success per occurrence (the partial unique index): a second worker
-- can never record a second publication of the same occurrence.
create table inbox.post_runs (
  tenant_id uuid not null references core.tenants on delete cascade,
  run_id bigint generated always as identity,
  post_id bigint not null,
  occurrence_at timestamptz not null,
  attempt int not null check (attempt >= 1),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'success', 'failed', 'retry')),
  container_id text,
  platform_post_id text,
  error text,
  error_code text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, run_id),
  unique (tenant_id, post_id, occurrence_at, attempt),
  foreign key (tenant_id, post_id)
    references inbox.scheduled_posts (tenant_id, post_id) on delete cascade
);
create unique index post_runs_one_success on inbox.post_runs (tenant_id, post_id, occurrence_at)
  where status = 'success';
call core.enable_tenant_rls('inbox.post_runs');

-- ---------------------------------------------------------------------------------------------
-- monitoring_rules (seed 003): per account (social_account_id) or the tenant's default
-- (social_account_id NULL, at most one). auto_monitor_count: the last N posts (1-20, default 5);
-- monitoring_duration_days (1-30, default 7); ai_enabled_for_comments: the AI triages comments;
-- auto_reply_enabled: the tenant's explicit auto policy (the AI's public replies go out without
-- a person's approval; otherwise they wait as drafts).
create table inbox.monitoring_rules (
  tenant_id uuid not null references core.tenants on delete cascade,
  rule_id bigint generated always as identity,
  social_account_id bigint,
  auto_monitor_enabled boolean not null default true,
  auto_monitor_count int not null default 5 check (auto_monitor_count between 1 and 20),
  monitoring_duration_days int not null default 7 check (monitoring_duration_days between 1 and 30),
  ai_enabled_for_comments boolean not null default true,
  auto_reply_enabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, rule_id),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade
);
create unique index monitoring_rules_account on inbox.monitoring_rules
  (tenant_id, coalesce(social_account_id, 0));
call core.enable_tenant_rls('inbox.monitoring_rules');

-- monitored_posts (seed 003): posts whose comments are collected until monitoring_ends_at.
create table inbox.monitored_posts (
  tenant_id uuid not null references core.tenants on delete cascade,
  monitored_post_id bigint generated always as identity,
  social_account_id bigint not null,
  platform text not null default 'instagram' check (platform in ('instagram')),
  platform_post_id text not null,
  caption text,
  media_url text,
  posted_at timestamptz,
  source text not null check (source in ('scheduled', 'imported', 'manual')),
  post_id bigint,                          -- the scheduled post it came from, if any
  monitoring_enabled boolean not null default true,
  monitoring_started_at timestamptz not null default now(),
  monitoring_ends_at timestamptz not null,
  last_check_at timestamptz,
  next_check_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, monitored_post_id),
  unique (tenant_id, social_account_id, platform_post_id),
  foreign key (tenant_id, social_account_id)
    references inbox.social_accounts (tenant_id, social_account_id) on delete cascade
);
create index monitored_posts_next_check on inbox.monitored_posts (tenant_id, next_check_at)
  where monitoring_enabled;
call core.enable_tenant_rls('inbox.monitored_posts');

-- comments (seed 003): idempotent on the platform's comment id; threads via parent_id (the
-- parent's platform id). triage respond | ignore | escalate | user_conversation.
-- reply_status: none | draft (the AI's reply waiting for a person's approval) | approved (to
-- send) | sending (claimed by a worker) | sent | failed.
-- private_replied_at: Instagram allows one private reply per comment, within 7 days.
create table inbox.comments (
  tenant_id uuid not null references core.tenants on delete cascade,
  comment_id bigint generated always as identity,
  monitored_post_id bigint not null,
  platform_comment_id text not null check (length(platform_comment_id) between 1 and 128),
  parent_id text,
  author_name text,
  author_id text,
  author_avatar_url text,
  text text,
  created_at timestamptz not null,         -- the platform's time of the comment
  received_via text not null check (received_via in ('webhook', 'poll')),
  like_count int not null default 0,
  triage text check (triage in ('respond', 'ignore', 'escalate', 'user_conversation')),
  triage_reason text,
  confidence numeric(4,3) check (confidence between 0 and 1),
  ai_decision_id bigint,
  reply_status text not null default 'none'
    check (reply_status in ('none', 'draft', 'approved', 'sending', 'sent', 'failed')),
  reply_kind text check (reply_kind in ('public', 'private')),
  ai_reply_text text,
  reply_platform_id text,
  replied_by text,
  replied_at timestamptz,
  private_replied_at timestamptz,
  reply_error text,
  stored_at timestamptz not null default now(),
  primary key (tenant_id, comment_id),
  unique (tenant_id, monitored_post_id, platform_comment_id),
  foreign key (tenant_id, monitored_post_id)
    references inbox.monitored_posts (tenant_id, monitored_post_id) on delete cascade
);
create index comments_recent on inbox.comments (tenant_id, created_at desc);
create index comments_triage on inbox.comments (tenant_id, triage);
call core.enable_tenant_rls('inbox.comments');

-- comment_checkpoint (seed 003): the polling cursor of each monitored post.
create table inbox.comment_checkpoint (
  tenant_id uuid not null references core.tenants on delete cascade,
  monitored_post_id bigint not null,
  last_cursor text,
  last_check_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, monitored_post_id),
  foreign key (tenant_id, monitored_post_id)
    references inbox.monitored_posts (tenant_id, monitored_post_id) on delete cascade
);
call core.enable_tenant_rls('inbox.comment_checkpoint');

-- ---------------------------------------------------------------------------------------------
-- user_subscriptions (seed 003, per tenant): the plan. plan_name free | starter | pro |
-- enterprise (limits in growthops.inbox.credits.PLANS); status active | canceled | past_due.
create table inbox.user_subscriptions (
  tenant_id uuid not null references core.tenants on delete cascade,
  plan_name text not null default 'free' check (plan_name in ('free', 'starter', 'pro', 'enterprise')),
  stripe_subscription_id text,
  status text not null default 'active' check (status in ('active', 'canceled', 'past_due')),
  current_period_start timestamptz,
  current_period_end timestamptz,
  storage_limit_mb numeric(10,2),
  storage_used_mb numeric(10,2) not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.user_subscriptions');

-- user_credits (seed 003, per tenant): the balance, never below zero; equal to the sum of the
-- ledger (growthops.inbox.credits.reconcile checks it).
create table inbox.user_credits (
  tenant_id uuid not null references core.tenants on delete cascade,
  credits_remaining int not null default 0 check (credits_remaining >= 0),
  credits_total int not null default 0 check (credits_total >= 0),
  last_reset_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.user_credits');

-- credit_transactions (seed 003): the append-only ledger. amount < 0 is a debit. action_id: the
-- action charged (a comment reply, a post occurrence, a month's grant): unique, so an action is
-- charged once whatever the retries.
create table inbox.credit_transactions (
  tenant_id uuid not null references core.tenants on delete cascade,
  transaction_id bigint generated always as identity,
  amount int not null check (amount <> 0),
  reason text not null check (reason in ('ai_reply', 'post_published', 'kb_ingest',
                                         'monthly_reset', 'grant', 'adjustment')),
  action_id text not null check (length(action_id) between 1 and 200),
  balance_after int not null check (balance_after >= 0),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, transaction_id),
  unique (tenant_id, action_id)
);
create index credit_transactions_recent on inbox.credit_transactions (tenant_id, created_at desc);
call core.enable_tenant_rls('inbox.credit_transactions');
revoke update, delete on inbox.credit_transactions from growthops_app;
