-- 0130 scheduled budget allocation (issue 15): how often the worker allocates a tenant's budgets
-- on a platform (growthops.ads.allocation.schedule): 'weekly' (the default: ISO weeks in the
-- tenant's time zone), 'daily', 'monthly' or 'off'.
alter table ads.platform_configs
  add column allocation_cadence text not null default 'weekly'
    check (allocation_cadence in ('off', 'daily', 'weekly', 'monthly'));
