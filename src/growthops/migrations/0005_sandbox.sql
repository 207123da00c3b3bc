-- 0005 sandbox: the state of the simulated ad accounts (growthops.connectors.sandbox).
-- Every table is tenant-owned with forced RLS. There is no foreign key between the sandbox
-- tables (only to core.tenants): an account's rows are written together by the sandbox, and the
-- tables stay insertable one by one (the RLS test inserts a generic row in each).

-- One simulated account per tenant and platform (like ads.ad_accounts).
create table ads.sandbox_accounts (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null default 'meta'
    check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  account_id text not null default 'sandbox',
  seed bigint not null default 0,
  currency char(3) not null default 'EUR',
  first_day date not null default current_date,      -- first simulated reporting day
  last_day date not null default current_date,       -- last simulated (and written) day
  params jsonb not null default '{}',                -- account-level model parameters (SandboxParams)
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, platform)
);
call core.enable_tenant_rls('ads.sandbox_accounts');

-- Campaigns, ad sets and ads: what the platform shows (status, budget, bid, learning stage)
-- and the hidden truth the simulation uses (params: response curve, audience, CTR...).
-- Budgets in major units of the account currency; budgets live on ad sets (Meta ABO).
create table ads.sandbox_entities (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null default 'meta',
  entity_id text not null,
  level text not null check (level in ('campaign', 'adset', 'ad')),
  name text not null default '',
  campaign_id text,
  adset_id text,
  ordinal integer not null default 0,                -- creation order (stable simulation order)
  status text not null default 'active' check (status in ('active', 'paused', 'archived', 'deleted')),
  daily_budget numeric(14,2) check (daily_budget >= 0),
  bid_amount numeric(14,2) check (bid_amount > 0),
  learning_stage text not null default 'unknown'
    check (learning_stage in ('learning', 'learning_limited', 'success', 'unknown')),
  learning_since date,                               -- first day of the current learning phase
  learning_events integer not null default 0 check (learning_events >= 0),
  last_significant_edit timestamptz,
  paused_since date,                                 -- first day without delivery
  exposure_stock bigint not null default 0 check (exposure_stock >= 0),  -- ads: impressions decayed by audience_turnover per day (fatigue)
  week_spend_cents bigint not null default 0,        -- pacing: spend since Monday (cents)
  week_budget_cents bigint not null default 0,       -- pacing: sum of daily budgets since Monday
  params jsonb not null default '{}',
  updated_at timestamptz not null default now(),
  primary key (tenant_id, platform, entity_id)
);
call core.enable_tenant_rls('ads.sandbox_entities');

-- Conversions that happened on `day` but are reported on `report_day` (attribution delay).
create table ads.sandbox_pending (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null default 'meta',
  ad_id text not null,
  day date not null,
  report_day date not null,
  conversions integer not null default 0 check (conversions >= 0),
  conversion_value numeric(18,6) not null default 0 check (conversion_value >= 0),
  primary key (tenant_id, platform, ad_id, day, report_day)
);
create index sandbox_pending_due on ads.sandbox_pending (tenant_id, platform, report_day);
call core.enable_tenant_rls('ads.sandbox_pending');

-- Every write the sandbox accepted (not the validate_only ones): what changed, and whether it
-- was a significant edit that restarted the learning phase.
create table ads.sandbox_changes (
  tenant_id uuid not null references core.tenants on delete cascade,
  change_id bigint generated always as identity,
  platform text not null default 'meta',
  entity_id text not null,
  field text not null check (field in ('daily_budget', 'status', 'bid_amount')),
  before_value text,
  after_value text,
  effective_day date,                                -- first simulated day with the new value
  significant boolean not null default false,        -- restarted the learning phase
  changed_at timestamptz not null default now(),
  primary key (tenant_id, change_id)
);
create index sandbox_changes_entity on ads.sandbox_changes (tenant_id, platform, entity_id, changed_at);
call core.enable_tenant_rls('ads.sandbox_changes');

grant usage on all sequences in schema ads to growthops_app;
