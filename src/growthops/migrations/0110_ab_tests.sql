-- 0110 creative and audience tests (issue 15): ads.ab_tests (seed 004), ads.tested_angles and
-- ads.winning_patterns (seed 000), the creative library's tagging (seed 000 ads_library), and
-- the industry aggregates (seed 004 performance_benchmarks, seed 000 winning_patterns by
-- industry) computed across at least k tenants by two owner functions.
-- Units: rates are fractions 0-1; money in the tenant's currency.

-- A test: hypothesis, variants (platform entity ids), primary metric, the plan (minimum
-- detectable effect, alpha, power, planned sample per arm) and the decision rule, all fixed
-- before launch; the result once closed. Seed 004's columns: test_name, variant_a, variant_b,
-- performance_a, performance_b, winner, statistical_significance, status, start_date, end_date.
create table ads.ab_tests (
  tenant_id uuid not null references core.tenants on delete cascade,
  test_id bigint generated always as identity,
  test_name text not null check (length(test_name) between 1 and 200),
  test_type text not null default 'creative' check (test_type in ('creative', 'audience', 'bidding')),
  hypothesis text not null check (length(hypothesis) between 1 and 2000),
  platform text not null check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  level text not null check (level in ('adset', 'ad')),
  variant_a text not null,                   -- control: the platform's entity id
  variant_b text,                            -- treatment: the copy's id, once created
  change jsonb not null default '{}',        -- the one field the copy changes, {"field": value}
  angle text check (angle in ('fear', 'desire', 'logic', 'social_proof', 'urgency', 'education')),
  hook text,
  asset_type text check (asset_type in ('image', 'video', 'carousel', 'banner', 'text')),
  primary_metric text not null check (primary_metric in ('ctr', 'cvr', 'cpa', 'roas')),
  baseline_value double precision check (baseline_value > 0),  -- control's metric when planned
  mde_rel double precision not null check (mde_rel > 0),       -- minimum detectable effect, fraction
  alpha double precision not null default 0.05 check (alpha > 0 and alpha < 0.5),
  power double precision not null default 0.8 check (power >= 0.5 and power < 1),
  planned_sample_per_arm bigint not null check (planned_sample_per_arm > 0),
  sample_unit text not null check (sample_unit in ('impressions', 'clicks', 'conversions')),
  decision_rule jsonb not null,              -- {"kind": "fixed_horizon"|"msprt", ...}, fixed at creation
  min_days integer not null default 7 check (min_days between 1 and 90),
  max_days integer not null default 28 check (max_days between 1 and 180),
  status text not null default 'draft'
    check (status in ('draft', 'pending_approval', 'running', 'completed', 'cancelled')),
  suggestion_id bigint,                      -- the approval request (ads.suggestions)
  start_date date,                           -- first reporting day counted
  end_date date,                             -- last reporting day counted (when closed)
  performance_a jsonb,                       -- sums and metric of each arm at the last look
  performance_b jsonb,
  looks jsonb not null default '[]',         -- every look: day, sample, statistic, Λ (mSPRT)
  p_always_valid double precision,           -- mSPRT: min(1, 1/max Λ) so far
  winner text check (winner in ('a', 'b', 'none')),
  statistical_significance double precision check (statistical_significance between 0 and 1), -- 1 - p
  result_status text check (result_status in ('success', 'failed', 'inconclusive', 'invalid')),
  result jsonb,                              -- the statistics at closing (docs/creative-tests.md)
  created_by text not null default 'system',
  closed_by text,
  closed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, test_id),
  check (max_days >= min_days)
);
create index ab_tests_status on ads.ab_tests (tenant_id, status);
call core.enable_tenant_rls('ads.ab_tests');

-- Tested angles (seed 000 tested_angles): one row per closed creative test with an angle.
-- ctr and conversion_rate are fractions 0-1; roi is ROAS (value / spend).
create table ads.tested_angles (
  tenant_id uuid not null references core.tenants on delete cascade,
  angle_id bigint generated always as identity,
  test_id bigint not null,
  angle_name text not null,
  angle_category text check (angle_category in ('fear', 'desire', 'logic', 'social_proof', 'urgency', 'education')),
  angle_description text,
  tested_date date not null,
  campaign_id text,
  ads_count integer not null default 0,
  total_spend numeric(14,2) not null default 0,
  duration_days integer not null default 0,
  result_status text not null check (result_status in ('success', 'failed', 'inconclusive', 'invalid')),
  ctr double precision,
  cpa numeric(14,2),
  cpl numeric(14,2),
  conversion_rate double precision,
  roi double precision,
  leads_generated integer not null default 0,
  sales_generated integer not null default 0,
  key_learnings text,
  would_retest boolean not null default false,
  example_hooks jsonb not null default '[]',
  best_performing_ad text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, angle_id),
  foreign key (tenant_id, test_id) references ads.ab_tests on delete cascade
);
create unique index tested_angles_one_per_test on ads.tested_angles (tenant_id, test_id);
call core.enable_tenant_rls('ads.tested_angles');

-- Winning patterns of one tenant (seed 000 winning_patterns, per client): what its closed tests
-- say about an angle, hook or asset type. success_rate and avg_ctr_lift are fractions.
create table ads.winning_patterns (
  tenant_id uuid not null references core.tenants on delete cascade,
  pattern_type text not null check (pattern_type in ('angle', 'hook', 'asset_type')),
  pattern_name text not null,
  times_tested integer not null default 0 check (times_tested >= 0),
  successes integer not null default 0 check (successes >= 0),
  success_rate double precision,
  avg_ctr_lift double precision,
  template text,
  status text not null default 'testing' check (status in ('active', 'deprecated', 'testing')),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, pattern_type, pattern_name)
);
call core.enable_tenant_rls('ads.winning_patterns');

-- The tenant's rule to read angle, hook and asset type from ad names: a regular expression
-- with named groups (?P<angle>...), (?P<hook>...), (?P<asset_type>...) (Python syntax).
create table ads.ad_name_patterns (
  tenant_id uuid not null references core.tenants on delete cascade,
  pattern text not null check (length(pattern) between 1 and 500),
  updated_by text,
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('ads.ad_name_patterns');

-- Where the library's tags come from: set by a person, or parsed by the tenant's pattern.
alter table ads.ads_library add column tag_source text check (tag_source in ('person', 'pattern'));
alter table ads.ads_library add column updated_at timestamptz not null default now();

-- Industry aggregates: no tenant_id, no client's figure. Rows exist only for groups of at
-- least k distinct tenants (k >= 5), written by the owner functions below.
create table ads.industry_patterns (
  industry text not null,
  pattern_type text not null,
  pattern_name text not null,
  n_tenants integer not null check (n_tenants >= 5),
  times_tested integer not null,
  success_rate double precision,
  avg_ctr_lift double precision,
  refreshed_at timestamptz not null default now(),
  primary key (industry, pattern_type, pattern_name)
);
grant select on ads.industry_patterns to growthops_app;

-- Seed 004 performance_benchmarks. source 'k_anonymous_aggregate' (n_tenants >= k) or the name
-- of a published source (inserted by the owner, never by the application).
create table ads.performance_benchmarks (
  platform text not null,
  industry_vertical text not null,
  campaign_type text not null default 'all',
  metric_name text not null,                 -- ctr, cvr (fractions), cpc, cpm, cpa (money), roas
  benchmark_value double precision not null, -- the median
  percentile_10 double precision,
  percentile_50 double precision,
  percentile_90 double precision,
  n_tenants integer,
  source text not null,
  window_days integer not null default 30,
  refreshed_at timestamptz not null default now(),
  primary key (platform, industry_vertical, campaign_type, metric_name, source)
);
grant select on ads.performance_benchmarks to growthops_app;

-- Refresh ads.industry_patterns from every tenant's winning_patterns: groups (industry, type,
-- name) of at least greatest(p_k, 5) tenants; returns the rows written.
create or replace function ads.refresh_industry_patterns(p_k integer)
returns integer
language plpgsql volatile security definer set search_path = ads, core, pg_temp
as $$
declare
  v_k integer := greatest(coalesce(p_k, 5), 5);
  v_n integer;
begin
  delete from ads.industry_patterns;
  insert into ads.industry_patterns (industry, pattern_type, pattern_name, n_tenants,
                                     times_tested, success_rate, avg_ctr_lift)
  select t.industry, w.pattern_type, w.pattern_name, count(distinct w.tenant_id),
         sum(w.times_tested), sum(w.successes)::double precision / nullif(sum(w.times_tested), 0),
         avg(w.avg_ctr_lift)
  from ads.winning_patterns w join core.tenants t using (tenant_id)
  where t.industry is not null and w.times_tested > 0
  group by t.industry, w.pattern_type, w.pattern_name
  having count(distinct w.tenant_id) >= v_k;
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
revoke all on function ads.refresh_industry_patterns(integer) from public;
grant execute on function ads.refresh_industry_patterns(integer) to growthops_app;

-- Refresh the k-anonymous rows of ads.performance_benchmarks: each tenant's ratio of sums at
-- campaign level over the last p_days days (to its last reporting day), then percentiles across
-- tenants of one industry and platform, kept only with at least greatest(p_k, 5) tenants.
create or replace function ads.refresh_performance_benchmarks(p_k integer, p_days integer)
returns integer
language plpgsql volatile security definer set search_path = ads, core, pg_temp
as $$
declare
  v_k integer := greatest(coalesce(p_k, 5), 5);
  v_n integer;
begin
  delete from ads.performance_benchmarks where source = 'k_anonymous_aggregate';
  insert into ads.performance_benchmarks (platform, industry_vertical, campaign_type, metric_name,
      benchmark_value, percentile_10, percentile_50, percentile_90, n_tenants, source, window_days)
  with last as (
    select tenant_id, platform, max(day) as d from ads.metrics_daily
    where level = 'campaign' group by 1, 2
  ), per as (
    select m.tenant_id, m.platform, t.industry,
           sum(m.clicks)::double precision / nullif(sum(m.impressions), 0) as ctr,
           sum(m.conversions)::double precision / nullif(sum(m.clicks), 0) as cvr,
           sum(m.spend)::double precision / nullif(sum(m.clicks), 0) as cpc,
           1000 * sum(m.spend)::double precision / nullif(sum(m.impressions), 0) as cpm,
           sum(m.spend)::double precision / nullif(sum(m.conversions), 0) as cpa,
           sum(m.conversion_value)::double precision / nullif(sum(m.spend), 0) as roas
    from ads.metrics_daily m join last l using (tenant_id, platform)
    join core.tenants t using (tenant_id)
    where m.level = 'campaign' and m.day > l.d - greatest(p_days, 1) and t.industry is not null
    group by 1, 2, 3
  ), long as (
    select tenant_id, platform, industry, k as metric, v
    from per cross join lateral (values ('ctr', ctr), ('cvr', cvr), ('cpc', cpc), ('cpm', cpm),
                                        ('cpa', cpa), ('roas', roas)) x(k, v)
    where v is not null
  )
  select platform, industry, 'all', metric,
         percentile_cont(0.5) within group (order by v),
         percentile_cont(0.1) within group (order by v),
         percentile_cont(0.5) within group (order by v),
         percentile_cont(0.9) within group (order by v),
         count(distinct tenant_id), 'k_anonymous_aggregate', greatest(p_days, 1)
  from long group by platform, industry, metric
  having count(distinct tenant_id) >= v_k;
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
revoke all on function ads.refresh_performance_benchmarks(integer, integer) from public;
grant execute on function ads.refresh_performance_benchmarks(integer, integer) to growthops_app;

grant usage on all sequences in schema ads to growthops_app;

-- Funnels used by campaign_diagnostic (growthops.ads.experiments.diagnostic): the campaigns a
-- funnel applies to (empty: all) and the product whose price values a stage's gap.
alter table core.funnels add column campaign_ids text[] not null default '{}';
alter table core.funnels add column product_id bigint;
alter table core.funnels add constraint funnels_product_fk foreign key (tenant_id, product_id)
  references core.products (tenant_id, product_id) on delete set null (product_id);
