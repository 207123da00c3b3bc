-- 0198 ads.anomaly_null_days: which days' anomaly-test scores are stored (issue 16, gaps of
-- 0197; docs/performance.md §2f).
--
-- 0197 stores one row per (tenant, test group, day) in ads.anomaly_null_scores, and none for a
-- day computed that had no tests made: a day never computed and a day computed empty looked
-- alike. This table holds one row per (tenant, day) whose scores are stored, empty or not
-- ("the day is computed"), so the daily cycle can fill in the days it is missing among the 28
-- before its as-of day (growthops.ads.analysis.anomalies.fill_null_scores: a new tenant, a day
-- never run) and only those. The cycle writes a day's marker and its scores together
-- (growthops.ads.analysis.anomalies.store_null_scores) and deletes both when older than 28 days.
--
-- A write to ads.metrics_daily (a restated day: the sync's or an import's upsert that changed a
-- row, a backfill, the archive's delete) deletes the marker and the scores of the days it
-- touched, in the writer's transaction, one set-based statement per tenant: the next cycle's
-- fill recomputes them from the rows as they stand. As 0185's trigger, it runs as the writer
-- under its tenant's row-level security, and takes the tenant's advisory lock shared, which the
-- cycle holds exclusive from its fill to its commit: a restatement and a cycle never interleave
-- (a restatement committed first is seen by the fill; one written during the cycle waits for it
-- and then deletes what the cycle stored).

create table ads.anomaly_null_days (
  tenant_id uuid not null references core.tenants on delete cascade,
  day date not null,             -- the tested (as-of) day whose scores are stored
  tests int not null check (tests >= 0),  -- scores stored that day, all groups (0: no test made)
  computed_at timestamptz not null default now(),
  primary key (tenant_id, day)
);
-- The days already stored by 0197's cycle are computed (before RLS: the migration's owner may
-- not be a superuser).
insert into ads.anomaly_null_days (tenant_id, day, tests)
select tenant_id, day, sum(cardinality(scores)) from ads.anomaly_null_scores group by 1, 2;
call core.enable_tenant_rls('ads.anomaly_null_days');

create function ads.anomaly_null_invalidate() returns trigger
language plpgsql set search_path = ads, pg_temp
as $$
declare
  t record;
begin
  for t in execute case tg_op
      when 'INSERT' then 'select tenant_id, array_agg(distinct day) as days from new_rows group by 1 order by 1'
      when 'DELETE' then 'select tenant_id, array_agg(distinct day) as days from old_rows group by 1 order by 1'
      else 'select tenant_id, array_agg(distinct day) as days from (select tenant_id, day from new_rows
            union all select tenant_id, day from old_rows) c group by 1 order by 1' end
  loop
    perform pg_advisory_xact_lock_shared(hashtextextended('ads.window_long_sums:' || t.tenant_id::text, 0));
    with s as (delete from ads.anomaly_null_scores s where s.tenant_id = t.tenant_id and s.day = any(t.days))
    delete from ads.anomaly_null_days d where d.tenant_id = t.tenant_id and d.day = any(t.days);
  end loop;
  return null;
end
$$;

create trigger metrics_daily_null_days_ins after insert on ads.metrics_daily
  referencing new table as new_rows for each statement execute function ads.anomaly_null_invalidate();
create trigger metrics_daily_null_days_upd after update on ads.metrics_daily
  referencing old table as old_rows new table as new_rows
  for each statement execute function ads.anomaly_null_invalidate();
create trigger metrics_daily_null_days_del after delete on ads.metrics_daily
  referencing old table as old_rows for each statement execute function ads.anomaly_null_invalidate();

create function ads.anomaly_null_truncated() returns trigger
language plpgsql set search_path = ads, pg_temp
as $$
begin
  delete from ads.anomaly_null_scores;
  delete from ads.anomaly_null_days;
  return null;
end
$$;
create trigger metrics_daily_null_days_trunc after truncate on ads.metrics_daily
  for each statement execute function ads.anomaly_null_truncated();
