-- 0197 ads.anomaly_null_scores: the normal scores of each day's anomaly tests, per tenant, test
-- group and day, so that the daily cycle can fit a group's empirical null on the day's tests
-- plus, when those are fewer than 50, the fewest previous days that make 50 (issue 16,
-- docs/performance.md §2d; growthops.ads.analysis.tails.pooled_null).
--
-- One row per (tenant, group, day): the group is the cycle's 'platform|level|metric' (e.g.
-- 'meta|ad|cpa'), the scores are the model's normal scores Phi^-1(p_low) of the tests actually
-- made that day (the ones the null is fitted on), float4 (a score needs no more than 7 digits).
-- The cycle (growthops.ads.analysis.anomalies.detect_anomalies) reads the days before its as-of
-- day only (a replayed day never sees a later day's scores), replaces its own day's rows and
-- deletes the rows older than 28 days before it, each in one set-based statement.

create table ads.anomaly_null_scores (
  tenant_id uuid not null references core.tenants on delete cascade,
  test_group text not null,      -- 'platform|level|metric' as the cycle groups its tests
  day date not null,             -- the tested (as-of) day
  scores real[] not null,        -- normal scores of the day's tests made in the group
  primary key (tenant_id, test_group, day)
);
call core.enable_tenant_rls('ads.anomaly_null_scores');
