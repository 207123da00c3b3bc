-- 0002 ads: daily metrics, imports, baselines, anomalies, overspend, creative fatigue,
-- suggestions and the record of daily-cycle runs (seeds 000 and 004).

-- Daily metrics per platform, level and entity (seed 000 performance_metrics + seed 004 ads.metrics_daily).
-- Money is numeric(18,6): Google Ads reports cost in micros and rounding tiny rows to cents biases sums.
-- Ratios are never stored: see the view ads.metrics_daily_ratios and the cycle's window sums.
create table ads.metrics_daily (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  level text not null check (level in ('campaign', 'adset', 'ad')),
  entity_id text not null check (length(entity_id) between 1 and 200),
  day date not null,                       -- the ad account's reporting date
  entity_name text,
  campaign_id text,                        -- parent campaign (ad sets and ads)
  adset_id text,                           -- parent ad set (ads)
  spend numeric(18,6) not null default 0 check (spend >= 0),
  impressions bigint not null default 0 check (impressions >= 0),
  reach bigint check (reach >= 0),         -- NULL: not reported; not additive across days
  frequency numeric generated always as (case when reach > 0 then impressions::numeric / reach end) stored,
  clicks bigint not null default 0 check (clicks >= 0),
  leads bigint not null default 0 check (leads >= 0),
  applications bigint not null default 0 check (applications >= 0),
  bookings bigint not null default 0 check (bookings >= 0),
  conversions bigint not null default 0 check (conversions >= 0),
  conversion_value numeric(18,6) not null default 0 check (conversion_value >= 0),
  video_3s_views bigint check (video_3s_views >= 0),     -- hook rate numerator
  video_thruplays bigint check (video_thruplays >= 0),
  post_engagements bigint check (post_engagements >= 0),
  daily_budget numeric(14,2) check (daily_budget >= 0),  -- budget in effect that day, when known
  custom_metrics jsonb not null default '{}',
  import_batch_id bigint,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, platform, level, entity_id, day)
);
create index metrics_daily_tenant_day on ads.metrics_daily (tenant_id, day);
call core.enable_tenant_rls('ads.metrics_daily');

-- Daily ratios, derived from the row's sums (fractions 0-1 for ctr and cvr).
create view ads.metrics_daily_ratios with (security_invoker = true) as
select m.*,
       m.clicks::numeric / nullif(m.impressions, 0)              as ctr,
       m.spend / nullif(m.clicks, 0)                              as cpc,
       1000 * m.spend / nullif(m.impressions, 0)                  as cpm,
       m.spend / nullif(m.leads, 0)                               as cpl,
       m.spend / nullif(m.conversions, 0)                         as cpa,
       m.conversion_value / nullif(m.spend, 0)                    as roas,
       m.conversions::numeric / nullif(m.clicks, 0)               as cvr
from ads.metrics_daily m;
grant select on ads.metrics_daily_ratios to growthops_app;

-- One row per import run: what was read, accepted, rejected and changed.
create table ads.import_batches (
  tenant_id uuid not null references core.tenants on delete cascade,
  batch_id bigint generated always as identity,
  source_name text not null,
  format text not null,
  sha256 text not null,
  rows_read integer not null,
  rows_accepted integer not null,
  rows_rejected integer not null,
  rows_inserted integer not null,
  rows_updated integer not null,
  rejected jsonb not null default '[]',
  imported_at timestamptz not null default now(),
  primary key (tenant_id, batch_id)
);
call core.enable_tenant_rls('ads.import_batches');

-- Platform configuration per tenant (seed 004 platform_configs).
create table ads.platform_configs (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  result_metric text not null default 'conversions'
    check (result_metric in ('conversions', 'leads', 'applications', 'bookings')),
  target_roas numeric(8,3) check (target_roas > 0),       -- NULL: the tenant's roi_target
  max_cpa numeric(14,2) check (max_cpa > 0),
  min_daily_budget numeric(14,2) not null default 1 check (min_daily_budget >= 0),
  max_change_pct numeric(5,2) not null default 20 check (max_change_pct > 0 and max_change_pct <= 100),
  recommendations_enabled boolean not null default true,
  anomaly_detection_enabled boolean not null default true,
  auto_apply_recommendations boolean not null default false,
  fdr_q numeric(4,3) not null default 0.05 check (fdr_q > 0 and fdr_q < 1),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, platform)
);
call core.enable_tenant_rls('ads.platform_configs');

-- Creative library (seed 000 ads_library).
create table ads.ads_library (
  tenant_id uuid not null references core.tenants on delete cascade,
  library_id bigint generated always as identity,
  platform text,
  ad_id text,                               -- the platform's ad id, once live
  ad_name text not null,
  angle text check (angle in ('fear', 'desire', 'logic', 'social_proof', 'urgency', 'education')),
  hook text,
  body text,
  cta text,
  asset_type text check (asset_type in ('image', 'video', 'carousel', 'banner', 'text')),
  status text not null default 'active' check (status in ('active', 'paused', 'archived')),
  performance_tier text check (performance_tier in ('winner', 'performer', 'testing', 'loser')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, library_id)
);
create unique index ads_library_ad on ads.ads_library (tenant_id, platform, ad_id) where ad_id is not null;
call core.enable_tenant_rls('ads.ads_library');

-- Baselines (seed 004 baselines): distribution across entities of each entity's window value.
create table ads.baselines (
  tenant_id uuid not null references core.tenants on delete cascade,
  as_of date not null,
  platform text not null,
  level text not null,
  window_days integer not null check (window_days in (1, 7, 14, 30, 90)),
  metric text not null,                     -- ctr, cvr (fractions); cpc, cpm, cpa, cpl (money); roas; spend_per_day; frequency
  p10 double precision, p25 double precision, p50 double precision,
  p75 double precision, p90 double precision,
  n_entities integer not null,
  computed_at timestamptz not null default now(),
  primary key (tenant_id, as_of, platform, level, window_days, metric)
);
call core.enable_tenant_rls('ads.baselines');

-- Anomalies (seed 004 anomalies).
create table ads.anomalies (
  tenant_id uuid not null references core.tenants on delete cascade,
  anomaly_id bigint generated always as identity,
  as_of date not null,                      -- the reporting day tested
  platform text not null,
  level text not null,
  entity_id text not null,
  entity_name text,
  anomaly_type text not null check (anomaly_type in ('spike', 'drop')),
  metric text not null,
  baseline_value double precision,          -- expected value for the day (seasonality-adjusted)
  actual_value double precision,
  deviation double precision,               -- actual / expected - 1 (fraction)
  p_value double precision not null,
  q_value double precision not null,        -- Benjamini-Hochberg adjusted
  severity text not null check (severity in ('low', 'medium', 'high', 'critical')),
  status text not null default 'active' check (status in ('active', 'investigating', 'resolved', 'dismissed')),
  method text not null,
  details jsonb not null default '{}',
  detected_at timestamptz not null default now(),
  resolved_at timestamptz,
  primary key (tenant_id, anomaly_id),
  unique (tenant_id, as_of, platform, level, entity_id, metric)
);
create index anomalies_active on ads.anomalies (tenant_id, status) where status in ('active', 'investigating');
call core.enable_tenant_rls('ads.anomalies');

-- Spend against the daily budget (seed 000 spend_history), one row per entity-day with a known budget.
create table ads.spend_history (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  level text not null,
  entity_id text not null,
  day date not null,
  spend_total numeric(18,6) not null,
  budget_daily numeric(14,2) not null,
  overspend_ratio double precision not null,     -- spend / budget - 1 (fraction; > 0 means over)
  overspend_detected boolean not null,
  checked_at timestamptz not null default now(),
  primary key (tenant_id, platform, level, entity_id, day)
);
create index spend_history_overspend on ads.spend_history (tenant_id, day) where overspend_detected;
call core.enable_tenant_rls('ads.spend_history');

-- Creative fatigue per ad and as-of day (seed 000 creative_performance).
create table ads.creative_performance (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  ad_id text not null,
  as_of date not null,
  ad_name text,
  impressions bigint not null,               -- over the last 28 days
  ctr_recent double precision,               -- last 7 days, fraction
  ctr_earlier double precision,              -- days 8-28 before as_of, fraction
  frequency_recent double precision,
  frequency_earlier double precision,
  cost_per_result_recent double precision,
  cost_per_result_earlier double precision,
  hook_rate double precision,                -- 3-second video views / impressions (fraction)
  days_active integer not null,
  fatigue_index double precision not null check (fatigue_index between 0 and 100),
  components jsonb not null default '{}',
  primary key (tenant_id, platform, ad_id, as_of)
);
create index creative_performance_fatigue on ads.creative_performance (tenant_id, as_of, fatigue_index desc);
call core.enable_tenant_rls('ads.creative_performance');

-- Suggestions (seed 000 suggestions, with seed 004 optimization_recommendations' types).
create table ads.suggestions (
  tenant_id uuid not null references core.tenants on delete cascade,
  suggestion_id bigint generated always as identity,
  as_of date not null,                       -- reporting day the evidence ends on
  type text not null check (type in ('scale', 'pause', 'refresh', 'test_angle', 'campaign_diagnostic',
                                     'budget_increase', 'budget_decrease', 'bid_adjustment')),
  priority text not null check (priority in ('critical', 'high', 'medium', 'low')),
  action text not null,                      -- English; French in texts->'fr'
  reason text not null,
  expected_impact text not null,
  texts jsonb not null,                      -- {"en": {action, reason, expected_impact}, "fr": {...}}
  predicted_metrics jsonb not null,          -- horizon, metrics with p10/p50/p90
  action_params jsonb not null default '{}', -- machine-readable change, e.g. {"daily_budget": {"from":..,"to":..}}
  evidence jsonb not null default '{}',      -- the numbers behind the reason
  confidence smallint not null check (confidence between 0 and 100),  -- percent, posterior probability
  platform text not null,
  entity_type text not null check (entity_type in ('ad', 'adset', 'campaign', 'funnel', 'sales')),
  entity_id text not null,
  entity_name text,
  status text not null default 'pending'
    check (status in ('pending', 'approved', 'refused', 'backlog', 'executed', 'expired', 'failed')),
  decided_by text,
  decided_at timestamptz,
  slack_message_ts text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (tenant_id, suggestion_id)
);
-- No duplicate pending suggestion for the same entity and type.
create unique index suggestions_one_pending on ads.suggestions (tenant_id, platform, entity_type, entity_id, type)
  where status = 'pending';
create index suggestions_status on ads.suggestions (tenant_id, status, created_at desc);
call core.enable_tenant_rls('ads.suggestions');

-- One row per tenant and as-of day the daily cycle ran (idempotency, audit, digest).
create table ads.cycle_runs (
  tenant_id uuid not null references core.tenants on delete cascade,
  as_of date not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  summary jsonb not null default '{}',
  primary key (tenant_id, as_of)
);
call core.enable_tenant_rls('ads.cycle_runs');

grant usage on all sequences in schema ads to growthops_app;
