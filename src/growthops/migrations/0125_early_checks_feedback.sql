-- 0125: the 24-hour check of an execution (seed 000 workflow 4 "MONITORING (24h)") and the
-- feedback loops' transitions (issue 15). No new table: columns on tenant tables that already
-- have forced row-level security (ads.hypothesis_tracking, ads.feedback_loops, migration 0004).

-- The early read of a hypothesis (growthops.ads.learning.early): the first day(s) of its window
-- against its predicted band, while the full measurement waits for the window to end.
alter table ads.hypothesis_tracking add column if not exists early_read jsonb;
alter table ads.hypothesis_tracking add column if not exists early_checked_at timestamptz;
alter table ads.hypothesis_tracking add column if not exists early_days integer
  check (early_days >= 0);
-- z of the key metric's effect against the adverse edge of the predicted band (negative: worse).
alter table ads.hypothesis_tracking add column if not exists early_z double precision;
alter table ads.hypothesis_tracking add column if not exists early_verdict text
  check (early_verdict in ('inside', 'outside_favourable', 'outside_adverse', 'adverse_clear', 'too_little_data'));
-- The rollback suggestion an adverse early read put in the approval queue (at most one).
alter table ads.hypothesis_tracking add column if not exists rollback_suggestion_id bigint;
create index if not exists hypothesis_early_open on ads.hypothesis_tracking (tenant_id, start_day)
  where outcome is null and rollback_suggestion_id is null;

-- Feedback loops: when and on what evidence a loop left 'testing' (growthops.ads.learning.feedback).
alter table ads.feedback_loops add column if not exists status_changed_at timestamptz;
alter table ads.feedback_loops add column if not exists status_evidence jsonb;
