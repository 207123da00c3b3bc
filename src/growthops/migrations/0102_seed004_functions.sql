-- 0102 seed 004's SQL interface (issue 15): ads.analyze_campaign_performance, ads.compute_baselines,
-- ads.detect_anomalies and ads.generate_recommendations, callable from psql by a user whose
-- transaction is bound to a tenant (select set_config('app.tenant_id', '<uuid>', true)).
--
-- One implementation of each rule:
-- * analyze_campaign_performance is SQL: it compares a campaign's window ratios (from sums) with
--   the peers' percentiles the daily cycle stored in ads.baselines;
-- * baselines, anomalies and suggestions are computed by the daily cycle's Python (NumPy and
--   SciPy: growthops.ads.analysis.baselines, .anomalies, growthops.ads.suggestions.generate). The
--   three SQL entry points queue that same code (procrastinate task daily_cycle for the tenant's
--   latest day, one waiting job per tenant) and return what is stored now; a NOTICE gives the job.
-- Every function checks that its tenant argument is the transaction's tenant: row-level
-- security already hides other tenants' rows, and the check turns a silent empty answer into
-- an error.

create or replace function ads._require_tenant(p_tenant uuid) returns void
language plpgsql stable set search_path = ads, pg_temp
as $$
begin
  if p_tenant is null or p_tenant is distinct from core.current_tenant_id() then
    raise exception 'tenant %: not the tenant of this transaction (set app.tenant_id first)', p_tenant
      using errcode = '42501';
  end if;
end
$$;

-- Queue the tenant's daily cycle (latest day with data) and return the job id; while one is
-- waiting, return that one (its queueing lock, as growthops.ads.jobs.cycle_queueing_lock).
-- SECURITY DEFINER: the application role has no right on procrastinate's tables; the tenant is
-- the transaction's own (never an argument), so a tenant can only queue its own cycle.
create or replace function ads.queue_daily_cycle() returns bigint
language plpgsql volatile security definer set search_path = ads, public, pg_temp
as $$
declare
  v_tenant uuid := core.current_tenant_id();
  v_lock text;
  v_job bigint;
begin
  if v_tenant is null then
    raise exception 'no tenant: set app.tenant_id first' using errcode = '42501';
  end if;
  v_lock := 'daily_cycle:' || v_tenant || ':latest';
  select id into v_job from public.procrastinate_jobs
  where queueing_lock = v_lock and status = 'todo' order by id desc limit 1;
  if v_job is not null then
    return v_job;
  end if;
  select (public.procrastinate_defer_jobs_v1(array[row(
    'default', 'daily_cycle', 0, 'daily_cycle:' || v_tenant, v_lock,
    jsonb_build_object('tenant_id', v_tenant::text, 'as_of', null), null
  )::public.procrastinate_job_to_defer_v1]))[1] into v_job;
  return v_job;
end
$$;
revoke all on function ads.queue_daily_cycle() from public;
grant execute on function ads.queue_daily_cycle() to growthops_app;

-- Seed 004: one campaign against its peers. Rows: metric_name, current_value (the campaign's
-- ratio over the last p_days days ending on its latest day, from sums), baseline_value (the
-- peers' median for that window, ads.baselines), performance_rating, recommendation, priority.
-- Rating by quartile of the peers (higher is better for ROAS, CTR, CVR; lower for CPA, CPC,
-- CPM): Excellent beyond p75, Good beyond p50, Average beyond p25, Poor otherwise; priority
-- low / low / medium / high, critical beyond p10 (p90 for costs). 'No baseline' when the
-- cycle has not stored one. Results are the platform's result metric (ads.platform_configs).
create or replace function ads.analyze_campaign_performance(
  p_tenant uuid, p_campaign text, p_platform text default 'meta', p_days integer default 7)
returns table (metric_name text, current_value numeric, baseline_value numeric,
               performance_rating text, recommendation text, priority text)
language plpgsql stable set search_path = ads, pg_temp
as $$
declare
  v_as_of date;
  v_result text;
begin
  perform ads._require_tenant(p_tenant);
  if p_days is null or p_days not in (1, 7, 14, 30, 90) then
    raise exception 'days: % is not one of 1, 7, 14, 30, 90 (the windows of ads.baselines)', p_days
      using errcode = '22023';
  end if;
  select max(day) into v_as_of from ads.metrics_daily m
  where m.tenant_id = p_tenant and m.platform = p_platform and m.level = 'campaign'
    and m.entity_id = p_campaign;
  if v_as_of is null then
    raise exception 'campaign %: no % metrics for this tenant', p_campaign, p_platform
      using errcode = 'P0002';
  end if;
  select coalesce((select c.result_metric from ads.platform_configs c
                   where c.tenant_id = p_tenant and c.platform = p_platform), 'conversions')
    into v_result;
  return query
  with s as (
    select sum(m.spend) as spend, sum(m.impressions) as imp, sum(m.clicks) as clicks,
           sum(m.conversion_value) as value,
           sum(case v_result when 'leads' then m.leads when 'applications' then m.applications
                             when 'bookings' then m.bookings else m.conversions end) as results
    from ads.metrics_daily m
    where m.tenant_id = p_tenant and m.platform = p_platform and m.level = 'campaign'
      and m.entity_id = p_campaign and m.day between v_as_of - (p_days - 1) and v_as_of
  ),
  cur(metric, value, higher_better, ord) as (
    select 'roas', s.value / nullif(s.spend, 0), true, 1 from s
    union all select 'cpa', s.spend / nullif(s.results, 0), false, 2 from s
    union all select 'ctr', s.clicks::numeric / nullif(s.imp, 0), true, 3 from s
    union all select 'cvr', s.results::numeric / nullif(s.clicks, 0), true, 4 from s
    union all select 'cpc', s.spend / nullif(s.clicks, 0), false, 5 from s
    union all select 'cpm', 1000 * s.spend / nullif(s.imp, 0), false, 6 from s
  ),
  b as (
    select distinct on (x.metric) x.metric, x.p10, x.p25, x.p50, x.p75, x.p90
    from ads.baselines x
    where x.tenant_id = p_tenant and x.platform = p_platform and x.level = 'campaign'
      and x.window_days = p_days and x.as_of <= v_as_of
    order by x.metric, x.as_of desc
  ),
  r as (
    select c.metric, c.value, c.ord, b.p50,
           case
             when c.value is null then 'No data'
             when b.p50 is null then 'No baseline'
             when c.higher_better and c.value >= b.p75 then 'Excellent'
             when c.higher_better and c.value >= b.p50 then 'Good'
             when c.higher_better and c.value >= b.p25 then 'Average'
             when c.higher_better then 'Poor'
             when c.value <= b.p25 then 'Excellent'
             when c.value <= b.p50 then 'Good'
             when c.value <= b.p75 then 'Average'
             else 'Poor'
           end as rating,
           (c.higher_better and c.value < b.p10) or (not c.higher_better and c.value > b.p90)
             as extreme
    from cur c left join b on b.metric = c.metric
  )
  select upper(r.metric), round(r.value, 4), round(r.p50::numeric, 4), r.rating,
         case r.rating when 'Excellent' then 'Monitor'
                       when 'Average' then 'Review against the peers'' median'
                       when 'Poor' then 'Investigate: worse than three peers in four' end,
         case when r.rating = 'Poor' and r.extreme then 'critical'
              when r.rating = 'Poor' then 'high'
              when r.rating = 'Average' then 'medium'
              else 'low' end
  from r order by r.ord;
end
$$;

-- Seed 004: baselines. Queues the cycle (every platform, level and window is recomputed by
-- growthops.ads.analysis.baselines) and reports what is stored for the one asked.
create or replace function ads.compute_baselines(
  p_tenant uuid, p_platform text, p_level text, p_days integer)
returns text
language plpgsql volatile set search_path = ads, pg_temp
as $$
declare v_job bigint; v_n integer; v_as_of date;
begin
  perform ads._require_tenant(p_tenant);
  if p_level not in ('campaign', 'adset', 'ad') then
    raise exception 'level: % is not campaign, adset or ad', p_level using errcode = '22023';
  end if;
  if p_days is null or p_days not in (1, 7, 14, 30, 90) then
    raise exception 'days: % is not one of 1, 7, 14, 30, 90', p_days using errcode = '22023';
  end if;
  v_job := ads.queue_daily_cycle();
  select max(as_of) into v_as_of from ads.baselines
  where tenant_id = p_tenant and platform = p_platform and level = p_level and window_days = p_days;
  select count(*) into v_n from ads.baselines
  where tenant_id = p_tenant and platform = p_platform and level = p_level
    and window_days = p_days and as_of = v_as_of;
  raise notice 'daily cycle queued: job %', v_job;
  return format('Baselines: %s metrics stored for %s/%s/%s days as of %s; recomputation queued (job %s)',
                v_n, p_platform, p_level, p_days, coalesce(v_as_of::text, 'never'), v_job);
end
$$;

-- Seed 004: anomalies. Queues the cycle (growthops.ads.analysis.anomalies, SciPy) and returns
-- the number of open anomalies (active or investigating) of the tenant's latest analysed day.
create or replace function ads.detect_anomalies(p_tenant uuid) returns integer
language plpgsql volatile set search_path = ads, pg_temp
as $$
declare v_job bigint; v_n integer;
begin
  perform ads._require_tenant(p_tenant);
  v_job := ads.queue_daily_cycle();
  select count(*) into v_n from ads.anomalies a
  where a.tenant_id = p_tenant and a.status in ('active', 'investigating')
    and a.as_of = (select max(as_of) from ads.anomalies where tenant_id = p_tenant);
  raise notice 'daily cycle queued: job %', v_job;
  return v_n;
end
$$;

-- Seed 004: recommendations. Queues the cycle (growthops.ads.suggestions.generate) and returns
-- the number of pending, unexpired suggestions.
create or replace function ads.generate_recommendations(p_tenant uuid) returns integer
language plpgsql volatile set search_path = ads, pg_temp
as $$
declare v_job bigint; v_n integer;
begin
  perform ads._require_tenant(p_tenant);
  v_job := ads.queue_daily_cycle();
  select count(*) into v_n from ads.suggestions s
  where s.tenant_id = p_tenant and s.status = 'pending' and s.expires_at > now();
  raise notice 'daily cycle queued: job %', v_job;
  return v_n;
end
$$;
