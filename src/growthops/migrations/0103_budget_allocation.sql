-- 0103 budget allocation (issue 15, seed 004 ads.budget_allocation): one allocation run per
-- tenant, platform and reporting day (its strategy, objective, totals and expected effect), and
-- one line per budget-holding entity (current budget, recommended budget, today's step within
-- the guard rails, the fitted response curve and the suggestion it became). docs/allocation.md.

create table ads.allocation_runs (
  tenant_id uuid not null references core.tenants on delete cascade,
  allocation_id bigint generated always as identity,
  as_of date not null,                      -- the reporting day the evidence ends on
  platform text not null check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other')),
  level text not null check (level in ('campaign', 'adset')),   -- where the budgets live
  strategy text not null check (strategy in ('thompson', 'posterior_mean')),
  objective text not null check (objective in ('value_at_target_roas', 'conversions_at_target_cpa')),
  target_roas numeric(10,4) check (target_roas > 0),
  target_cpa numeric(14,2) check (target_cpa > 0),
  daily_cap numeric(14,2) check (daily_cap >= 0),       -- budget ceiling from monthly_budget_max
  current_total numeric(14,2) not null check (current_total >= 0),
  recommended_total numeric(14,2) not null check (recommended_total >= 0),
  step_total numeric(14,2) not null check (step_total >= 0),
  shadow_price double precision,            -- objective per extra unit of budget at the optimum
  expected_effect jsonb not null,           -- 7 days: delta objective / spend, p10 p50 p90
  details jsonb not null default '{}',
  suggestions integer not null default 0 check (suggestions >= 0),
  created_at timestamptz not null default now(),
  primary key (tenant_id, allocation_id)
);
-- One allocation per tenant, platform and day: a replayed day returns the stored one.
create unique index allocation_runs_day on ads.allocation_runs (tenant_id, platform, as_of);
call core.enable_tenant_rls('ads.allocation_runs');

create table ads.budget_allocation (
  tenant_id uuid not null,
  allocation_id bigint not null,
  platform text not null,
  level text not null check (level in ('campaign', 'adset')),
  entity_id text not null,                   -- seed: campaign_id (or the ad set holding the budget)
  entity_name text,
  daily_budget numeric(14,2) not null check (daily_budget >= 0),        -- live budget
  recommended_budget numeric(14,2) not null check (recommended_budget >= 0),  -- the optimum
  step_budget numeric(14,2) not null check (step_budget >= 0),          -- today's move (rails)
  allocation_strategy text not null,
  target_roas numeric(10,4),
  status text not null check (status in ('increase', 'decrease', 'hold', 'learning', 'protected',
                                         'insufficient_data', 'uncertain')),
  confidence smallint check (confidence between 0 and 100),  -- percent: P(step improves objective)
  curve jsonb not null default '{}',         -- posterior of the response curve
  expected jsonb not null default '{}',      -- per day at the live budget and at the step
  suggestion_id bigint,                      -- the ads.suggestions row it became, if any
  primary key (tenant_id, allocation_id, platform, entity_id),
  foreign key (tenant_id, allocation_id) references ads.allocation_runs on delete cascade
);
call core.enable_tenant_rls('ads.budget_allocation');
