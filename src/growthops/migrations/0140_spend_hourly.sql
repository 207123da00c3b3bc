-- 0140 intraday pacing (issue 15): hourly spend from the platform sync and the pacing checks
-- that read it (an entity's day against its daily budget, the tenant's month against its
-- monthly_budget_max).

-- Spend per entity, day and hour, as the platform reports it (Meta's
-- hourly_stats_aggregated_by_advertiser_time_zone breakdown, Google Ads' segments.hour, the
-- sandbox's split of its days). day and hour are in the ad account's time zone. Money as in
-- ads.metrics_daily: major units of the tenant's currency, 6 decimals (Google's micros).
create table ads.spend_hourly (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  level text not null check (level in ('campaign', 'adset', 'ad')),
  entity_id text not null check (length(entity_id) between 1 and 200),
  day date not null,                       -- the ad account's date
  hour smallint not null check (hour between 0 and 23),  -- the ad account's hour of day
  entity_name text,
  campaign_id text,                        -- parent campaign (ad sets)
  spend numeric(18,6) not null default 0 check (spend >= 0),
  impressions bigint not null default 0 check (impressions >= 0),
  clicks bigint not null default 0 check (clicks >= 0),
  daily_budget numeric(14,2) check (daily_budget >= 0),  -- budget in force at the sync, when known
  updated_at timestamptz not null default now(),
  primary key (tenant_id, platform, level, entity_id, day, hour)
);
create index spend_hourly_day on ads.spend_hourly (tenant_id, day);
call core.enable_tenant_rls('ads.spend_hourly');

-- One row per checked entity-day (scope 'day') or tenant-month (scope 'month', platform 'all',
-- level 'tenant', entity_id '*'): the latest projection, and flagged_at, the first check that
-- found it over (never reset, so an overspend is flagged exactly once per period).
create table ads.pacing_checks (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  scope text not null check (scope in ('day', 'month')),
  level text not null check (level in ('campaign', 'adset', 'ad', 'tenant')),
  entity_id text not null,
  period_start date not null,              -- the local day, or the first day of the month
  entity_name text,
  checked_at timestamptz not null,
  elapsed_hours numeric(5,2) not null check (elapsed_hours between 0 and 24),  -- of the local day
  spend_so_far numeric(18,6) not null check (spend_so_far >= 0),
  budget numeric(14,2) not null check (budget >= 0),  -- daily budget, or monthly_budget_max
  tolerance double precision not null,     -- fraction over budget allowed (0.25 = 25 %)
  expected_share double precision,         -- fraction 0-1 of the day's spend expected by now
  method text not null check (method in ('profile', 'linear', 'run_rate')),
  history_days integer not null default 0,
  projected numeric(18,6) not null,        -- projected spend of the whole day / month
  over boolean not null,                   -- projected > budget x (1 + tolerance), this check
  flagged_at timestamptz,                  -- first check that found it over; never reset
  details jsonb not null default '{}',
  primary key (tenant_id, platform, level, entity_id, period_start)
);
create index pacing_checks_flagged on ads.pacing_checks (tenant_id, flagged_at desc)
  where flagged_at is not null;
call core.enable_tenant_rls('ads.pacing_checks');
