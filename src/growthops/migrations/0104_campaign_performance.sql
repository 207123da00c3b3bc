-- 0104 campaign roll-ups (issue 15, seed 004 ads.campaign_performance): per campaign and period
-- (7, 28 and 90 days ending on a reporting day) the sums of ads.metrics_daily and an
-- efficiency_score (docs/allocation.md), refreshed by the daily cycle with one statement.
create table ads.campaign_performance (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  campaign_id text not null,
  campaign_name text,
  period_days smallint not null check (period_days between 1 and 366),  -- 7, 28, 90 written
  period_start date not null,
  period_end date not null,
  days_reported smallint not null check (days_reported >= 0),
  spend numeric(18,6) not null check (spend >= 0),
  impressions bigint not null check (impressions >= 0),
  clicks bigint not null check (clicks >= 0),
  conversions numeric(14,2) not null check (conversions >= 0),
  results numeric(14,2) not null check (results >= 0),   -- the platform's result metric
  conversion_value numeric(18,6) not null check (conversion_value >= 0),
  roas double precision generated always as
    (case when spend > 0 then (conversion_value / spend)::float8 end) stored,
  cpa numeric(14,4) generated always as (case when results > 0 then spend / results end) stored,
  efficiency_basis text check (efficiency_basis in ('roas', 'cpa')),
  efficiency_score double precision check (efficiency_score >= 0),  -- 1 = on target
  computed_at timestamptz not null default now(),
  check (period_start <= period_end),
  primary key (tenant_id, platform, campaign_id, period_days, period_end)
);
create index campaign_performance_latest on ads.campaign_performance (tenant_id, period_days, period_end desc);
call core.enable_tenant_rls('ads.campaign_performance');
