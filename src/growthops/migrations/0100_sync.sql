-- 0100 live sync from the ad platforms (issue 15): sync runs, the history of restated metric
-- rows ("what was known on each sync date") and the function replaying it.

-- One row per sync of one ad account: the range pulled, what changed, the calls made, the
-- attribution setting the figures carry and the peak rate-limit usage seen.
create table ads.sync_runs (
  tenant_id uuid not null references core.tenants on delete cascade,
  run_id bigint generated always as identity,
  platform text not null,
  account_id text not null,
  connector text not null,
  sync_date date not null,                 -- the tenant's local date the sync ran for
  trigger text not null default 'cli' check (trigger in ('cli', 'schedule', 'demo', 'api')),
  date_from date not null,
  date_to date not null,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  rows_fetched integer not null default 0 check (rows_fetched >= 0),
  rows_inserted integer not null default 0 check (rows_inserted >= 0),
  rows_updated integer not null default 0 check (rows_updated >= 0),
  import_batch_id bigint,                  -- the ads.import_batches row of the upsert
  api_calls integer not null default 0 check (api_calls >= 0),
  retries integer not null default 0 check (retries >= 0),
  waited_s numeric(10,3) not null default 0 check (waited_s >= 0),
  peak_usage_pct numeric(6,2),             -- highest platform usage header seen, percent 0-100
  cost_estimate numeric(12,6) not null default 0,  -- USD, sum of the calls' estimates
  attribution_setting jsonb not null default '[]', -- e.g. ["7d_click_1d_view"] (Meta)
  error_message text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  check (date_from <= date_to),
  primary key (tenant_id, run_id)
);
create index sync_runs_account on ads.sync_runs (tenant_id, platform, sync_date desc);
call core.enable_tenant_rls('ads.sync_runs');

-- The versions of ads.metrics_daily rows that a later sync or import replaced: the row as it
-- was known from known_from (its updated_at) until known_until (the replacing write).
create table ads.metrics_daily_history (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  level text not null,
  entity_id text not null,
  day date not null,
  known_from timestamptz not null,
  known_until timestamptz not null,
  entity_name text,
  campaign_id text,
  adset_id text,
  spend numeric(18,6) not null default 0,
  impressions bigint not null default 0,
  reach bigint,
  clicks bigint not null default 0,
  leads bigint not null default 0,
  applications bigint not null default 0,
  bookings bigint not null default 0,
  conversions bigint not null default 0,
  conversion_value numeric(18,6) not null default 0,
  daily_budget numeric(14,2),
  custom_metrics jsonb not null default '{}',
  import_batch_id bigint,
  primary key (tenant_id, platform, level, entity_id, day, known_from)
);
create index metrics_daily_history_day on ads.metrics_daily_history (tenant_id, day);
call core.enable_tenant_rls('ads.metrics_daily_history');

-- Statement-level trigger (set-based: one INSERT ... SELECT from the transition tables per
-- statement, whatever the number of rows). A row updated twice in one transaction keeps only
-- the version visible before it (known_from < known_until). Runs as the invoker: row-level
-- security applies to the history insert too.
create or replace function ads.keep_metrics_history() returns trigger
language plpgsql set search_path = ads, pg_temp
as $$
begin
  insert into ads.metrics_daily_history
    (tenant_id, platform, level, entity_id, day, known_from, known_until, entity_name,
     campaign_id, adset_id, spend, impressions, reach, clicks, leads, applications, bookings,
     conversions, conversion_value, daily_budget, custom_metrics, import_batch_id)
  select o.tenant_id, o.platform, o.level, o.entity_id, o.day, o.updated_at, n.updated_at,
         o.entity_name, o.campaign_id, o.adset_id, o.spend, o.impressions, o.reach, o.clicks,
         o.leads, o.applications, o.bookings, o.conversions, o.conversion_value,
         o.daily_budget, o.custom_metrics, o.import_batch_id
  from old_rows o
  join new_rows n using (tenant_id, platform, level, entity_id, day)
  where o.updated_at < n.updated_at
  on conflict do nothing;
  return null;
end
$$;

create trigger metrics_daily_history after update on ads.metrics_daily
  referencing old table as old_rows new table as new_rows
  for each statement execute function ads.keep_metrics_history();

-- The metrics as they were known at the instant p_at: the current row when written at or
-- before p_at, else the history version whose interval holds p_at. Security invoker: the
-- caller's tenant (row-level security) bounds it.
create or replace function ads.metrics_as_known(p_at timestamptz)
returns table (tenant_id uuid, platform text, level text, entity_id text, day date,
               entity_name text, campaign_id text, adset_id text, spend numeric,
               impressions bigint, reach bigint, clicks bigint, leads bigint,
               conversions bigint, conversion_value numeric, known_from timestamptz)
language sql stable set search_path = ads, pg_temp
as $$
  select m.tenant_id, m.platform, m.level, m.entity_id, m.day, m.entity_name, m.campaign_id,
         m.adset_id, m.spend, m.impressions, m.reach, m.clicks, m.leads, m.conversions,
         m.conversion_value, m.updated_at
  from ads.metrics_daily m where m.updated_at <= p_at
  union all
  select h.tenant_id, h.platform, h.level, h.entity_id, h.day, h.entity_name, h.campaign_id,
         h.adset_id, h.spend, h.impressions, h.reach, h.clicks, h.leads, h.conversions,
         h.conversion_value, h.known_from
  from ads.metrics_daily_history h where h.known_from <= p_at and p_at < h.known_until
$$;
grant execute on function ads.metrics_as_known(timestamptz) to growthops_app;
grant usage on all sequences in schema ads to growthops_app;
