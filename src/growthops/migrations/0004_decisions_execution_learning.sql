-- 0004: approval, guarded execution, measurement and learning (seed 000 steps 2-4; seed 004
-- platform_configs guard rails). Every table is tenant-owned with forced RLS.

alter table ads.suggestions drop constraint if exists suggestions_status_check;
alter table ads.suggestions add constraint suggestions_status_check
  check (status in ('pending', 'approved', 'refused', 'backlog', 'executing', 'executed', 'expired', 'failed', 'blocked'));
alter table ads.suggestions add column if not exists auto_applied boolean not null default false;
alter table ads.suggestions add column if not exists calibrated_confidence smallint
  check (calibrated_confidence between 0 and 100);
alter table ads.suggestions add column if not exists guard_rail_note jsonb;

-- Guard rails per tenant and platform (seed 004 platform_configs).
alter table ads.platform_configs add column if not exists max_change_pct_24h numeric(5,2) not null default 30
  check (max_change_pct_24h > 0 and max_change_pct_24h <= 100);
alter table ads.platform_configs add column if not exists protected_entity_ids text[] not null default '{}';
alter table ads.platform_configs add column if not exists dry_run boolean not null default false;
alter table ads.platform_configs add column if not exists validate_only boolean not null default false;
alter table ads.platform_configs add column if not exists allow_learning_edits boolean not null default false;
alter table ads.platform_configs add column if not exists min_auto_apply_confidence smallint not null default 90
  check (min_auto_apply_confidence between 50 and 100);

-- The ad account behind a tenant's platform: which connector, and its credentials (Fernet-encrypted).
create table ads.ad_accounts (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  account_id text not null,
  connector text not null check (connector in ('sandbox', 'meta', 'google_ads')),
  credentials_encrypted text,              -- Fernet token; never logged
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, platform)
);
call core.enable_tenant_rls('ads.ad_accounts');

-- Decisions (seed 000 decisions): who decided what, why, through which channel.
create table ads.decisions (
  tenant_id uuid not null references core.tenants on delete cascade,
  decision_id bigint generated always as identity,
  suggestion_id bigint not null,
  decision text not null check (decision in ('approved', 'refused', 'backlog')),
  decided_by text not null check (length(decided_by) between 1 and 200),
  decided_at timestamptz not null default now(),
  notes text,
  channel text not null default 'cli' check (channel in ('cli', 'api', 'slack', 'dashboard', 'auto')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, decision_id)
);
create index decisions_suggestion on ads.decisions (tenant_id, suggestion_id);
create index decisions_created on ads.decisions (tenant_id, created_at);
call core.enable_tenant_rls('ads.decisions');

-- Archives (seed 000): suggestions older than 30 days, decisions older than 90 days. Never lost.
create table ads.suggestions_archive (like ads.suggestions including defaults);
alter table ads.suggestions_archive add column archived_at timestamptz not null default now();
alter table ads.suggestions_archive add primary key (tenant_id, suggestion_id);
call core.enable_tenant_rls('ads.suggestions_archive');

create table ads.decisions_archive (like ads.decisions including defaults);
alter table ads.decisions_archive add column archived_at timestamptz not null default now();
alter table ads.decisions_archive add primary key (tenant_id, decision_id);
call core.enable_tenant_rls('ads.decisions_archive');
-- decisions.suggestion_id has no foreign key on purpose: a suggestion moves to its archive after
-- 30 days while its decisions stay 90 days; the pair is found in either table.

-- Audit trail: every state change on an account, append-only for the application.
create table ads.audit_log (
  tenant_id uuid not null references core.tenants on delete cascade,
  audit_id bigint generated always as identity,
  occurred_at timestamptz not null default now(),
  actor text not null,                      -- a person, 'system', 'auto-apply', 'slack:U123'
  action text not null,                     -- suggestion.approved, execution.applied, guard_rail.blocked, ...
  object_type text not null,                -- suggestion, execution, validation_item, platform_config
  object_id text not null,
  platform text,
  entity_id text,
  before jsonb,
  after jsonb,
  reason text,
  primary key (tenant_id, audit_id)
);
create index audit_log_object on ads.audit_log (tenant_id, object_type, object_id);
create index audit_log_entity on ads.audit_log (tenant_id, platform, entity_id, occurred_at);
call core.enable_tenant_rls('ads.audit_log');
revoke update, delete on ads.audit_log from growthops_app;

-- Creative / change validation workflow (seed 000 validation_queue).
create table ads.validation_queue (
  tenant_id uuid not null references core.tenants on delete cascade,
  queue_id bigint generated always as identity,
  item_type text not null check (item_type in ('ad_creative', 'campaign_change', 'budget_increase')),
  item_name text not null,
  content jsonb not null default '{}',
  validation_stage text not null default 'client_review'
    check (validation_stage in ('client_review', 'team_review', 'approved', 'rejected')),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected', 'expired')),
  submitted_by text,
  submitted_at timestamptz not null default now(),
  client_validated_at timestamptz,
  client_validated_by text,
  team_validated_at timestamptz,
  team_validated_by text,
  rejected_at timestamptz,
  rejected_by text,
  rejection_reason text,
  expires_at timestamptz not null,
  slack_thread_ts text,
  primary key (tenant_id, queue_id)
);
create index validation_queue_open on ads.validation_queue (tenant_id, status, validation_stage);
call core.enable_tenant_rls('ads.validation_queue');

-- Execution logs (seed 000): one row per attempt to apply a suggestion; exactly-once by the
-- unique live row per suggestion (claimed before the platform call, settled after).
create table ads.execution_logs (
  tenant_id uuid not null references core.tenants on delete cascade,
  execution_id bigint generated always as identity,
  suggestion_id bigint not null,
  idempotency_key text not null,
  action_type text not null,                -- budget_change, pause, activate, bid_change, ...
  platform text not null,
  entity_type text not null,
  entity_id text not null,
  status text not null default 'claimed'
    check (status in ('claimed', 'applied', 'failed', 'dry_run', 'blocked', 'reconciled')),
  executed_by text not null default 'system',
  claimed_at timestamptz not null default now(),
  executed_at timestamptz,
  before_state jsonb,
  intended_state jsonb,
  after_state jsonb,
  api_response jsonb,                       -- redacted
  success boolean,
  error_message text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, execution_id),
  unique (tenant_id, idempotency_key)
);
create unique index execution_logs_one_live on ads.execution_logs (tenant_id, suggestion_id)
  where status in ('claimed', 'applied', 'reconciled', 'dry_run');
create index execution_logs_entity on ads.execution_logs (tenant_id, platform, entity_id, executed_at);
call core.enable_tenant_rls('ads.execution_logs');

-- Hypotheses (seed 000 hypothesis_tracking): each execution is a prediction, measured later.
create table ads.hypothesis_tracking (
  tenant_id uuid not null references core.tenants on delete cascade,
  hypothesis_id bigint generated always as identity,
  suggestion_id bigint not null,
  execution_id bigint,
  suggestion_type text not null,
  platform text not null,
  entity_type text not null,
  entity_id text not null,
  hypothesis_text text not null,
  predicted_metrics jsonb not null,
  confidence_score smallint not null check (confidence_score between 0 and 100),
  executed_at timestamptz not null,
  start_day date not null,                  -- first reporting day of the measurement window
  measurement_period_days integer not null default 7 check (measurement_period_days between 1 and 90),
  measurement_end_date date not null,
  baseline_metrics jsonb,                   -- the entity before (same length window)
  actual_metrics jsonb,
  counterfactual jsonb,                     -- untouched siblings before / after
  variance jsonb,
  outcome text check (outcome in ('validated', 'invalidated', 'partial', 'inconclusive')),
  why_accurate text,
  why_inaccurate text,
  confounding_factors text,
  model_adjustment_needed boolean not null default false,
  adjustment_notes text,
  applied_to_model boolean not null default false,
  measured_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, hypothesis_id),
  unique (tenant_id, suggestion_id)
);
create index hypothesis_due on ads.hypothesis_tracking (tenant_id, measurement_end_date) where outcome is null;
call core.enable_tenant_rls('ads.hypothesis_tracking');

-- Decision patterns (seed 000): what a tenant's reviewers accept or refuse.
create table ads.decision_patterns (
  tenant_id uuid not null references core.tenants on delete cascade,
  pattern_id bigint generated always as identity,
  pattern_name text not null,
  pattern_type text not null check (pattern_type in ('approval_preference', 'refusal_preference')),
  description text,
  condition jsonb not null,                 -- machine-readable: {"type": "scale", "change_pct_min": 0.2, ...}
  condition_text text not null,             -- human-readable, e.g. "type = 'scale' AND change >= 20%"
  detected_from_decisions integer not null default 0,
  approvals integer not null default 0,
  refusals integer not null default 0,
  confidence numeric(5,2) not null default 0 check (confidence between 0 and 100),
  significance text not null default 'low' check (significance in ('high', 'medium', 'low')),
  typical_decision text check (typical_decision in ('approved', 'refused', 'backlog')),
  typical_reason text,
  how_ai_uses_it text,
  impact_on_suggestions text,
  first_detected date,
  last_validated date,
  status text not null default 'active' check (status in ('active', 'retired')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, pattern_id),
  unique (tenant_id, pattern_name)
);
call core.enable_tenant_rls('ads.decision_patterns');

-- Feedback loops (seed 000): every adjustment of the engine with its before and after figures.
create table ads.feedback_loops (
  tenant_id uuid not null references core.tenants on delete cascade,
  loop_id bigint generated always as identity,
  loop_type text not null,                  -- calibration, decision_pattern, threshold_change, ...
  triggered_by_hypothesis_id bigint,
  issue_description text not null,
  frequency_of_issue integer not null default 1,
  impact_severity text not null default 'low' check (impact_severity in ('low', 'medium', 'high')),
  adjustment_type text,
  adjustment_description text,
  before_vs_after jsonb,
  test_period_start date,
  test_period_end date,
  improvement_measured numeric(8,4),        -- e.g. Brier score reduction (fraction)
  status text not null default 'testing' check (status in ('testing', 'validated', 'rolled_back')),
  applied_to_production boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (tenant_id, loop_id)
);
call core.enable_tenant_rls('ads.feedback_loops');

-- Fitted confidence calibration per tenant (reliability map from stated to observed).
create table ads.calibration_models (
  tenant_id uuid not null references core.tenants on delete cascade,
  model_id bigint generated always as identity,
  fitted_at timestamptz not null default now(),
  method text not null,
  n_outcomes integer not null,
  params jsonb not null,                    -- e.g. isotonic breakpoints {"x": [...], "y": [...]}
  brier_before double precision,
  brier_after double precision,
  reliability jsonb not null default '[]',
  active boolean not null default true,
  primary key (tenant_id, model_id)
);
call core.enable_tenant_rls('ads.calibration_models');

grant usage on all sequences in schema ads to growthops_app;
