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
-- A day restated after its cycle (late conversions re-pulled by the sync) keeps the scores its
-- cycle stored: they are the test as the cycle made it on that day, before its late
-- conversions, which is the kind of test the null calibrates (docs/performance.md §2f).

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
