-- 0185 ads.window_long_sums: each entity's sums over days 30-89 before the cycle's as-of day,
-- carried from one daily cycle to the next (issue 16). The window scan
-- (growthops.ads.analysis.window) used to aggregate those 60 days of ads.metrics_daily every
-- morning, only for the 90-day sums (about 0.75 of the floor's CPU at 1M entity-days,
-- docs/performance.md §4g); it now scans the last 30 days and reads these sums.
--
-- ads.window_long_state holds the range of days the sums cover, per tenant; the cycle moves it
-- (growthops.ads.analysis.window.long_sums): one day later, it adds the day that enters the range
-- and subtracts the day that leaves it; further, or with no state, it recomputes the range.
-- Everything is carried as exact integers (money in micro-units: numeric(18,6) x 10^6), so a
-- carried sum equals the sum recomputed from the rows, whatever the path (float8 running sums
-- would drift; numeric ones cost more to update).
-- A write to ads.metrics_daily on a day inside a tenant's range (a restated past day, a
-- backfill, the archive's delete) removes that tenant's state: the next cycle recomputes it.
-- The cycle holds an exclusive advisory lock on the tenant while it reads and moves the state;
-- the triggers take it shared, so a metrics write and a state update never interleave (writers
-- do not wait for each other). The triggers run as the writer, under its tenant's row-level
-- security (as 0055's and 0100's).

create table ads.window_long_state (
  tenant_id uuid primary key references core.tenants on delete cascade,
  lo date not null,              -- first day summed (as_of - 89)
  hi date not null,              -- last day summed (as_of - 30)
  check (lo <= hi)
);
call core.enable_tenant_rls('ads.window_long_state');

create table ads.window_long_sums (
  tenant_id uuid not null references core.tenants on delete cascade,
  platform text not null,
  level text not null,
  entity_id text not null,
  n int not null,                -- rows in the range (the entity is in the range iff n > 0)
  n_entity_name int not null,    -- rows with a non-null entity_name (likewise campaign_id, adset_id)
  n_campaign_id int not null,
  n_adset_id int not null,
  spend_micro bigint not null,   -- sum of spend x 10^6 (exact: spend is numeric(18,6))
  value_micro bigint not null,   -- sum of conversion_value x 10^6
  impressions bigint not null,
  clicks bigint not null,
  conversions bigint not null,
  leads bigint not null,
  applications bigint not null,
  bookings bigint not null,
  reach bigint not null,         -- sum of non-null reach (0 when none)
  imp_r bigint not null,         -- impressions of the rows with a reach
  active_days int not null,      -- rows with spend > 0 or impressions > 0
  primary key (tenant_id, platform, level, entity_id)
) with (fillfactor = 50);        -- room for the daily in-place (HOT) updates
call core.enable_tenant_rls('ads.window_long_sums');

create function ads.window_long_invalidate() returns trigger
language plpgsql set search_path = ads, pg_temp
as $$
declare
  t record;
begin
  for t in execute case tg_op
      when 'INSERT' then 'select tenant_id, min(day) as lo, max(day) as hi from new_rows group by 1 order by 1'
      when 'DELETE' then 'select tenant_id, min(day) as lo, max(day) as hi from old_rows group by 1 order by 1'
      else 'select tenant_id, min(day) as lo, max(day) as hi from (select tenant_id, day from new_rows
            union all select tenant_id, day from old_rows) c group by 1 order by 1' end
  loop
    perform pg_advisory_xact_lock_shared(hashtextextended('ads.window_long_sums:' || t.tenant_id::text, 0));
    delete from ads.window_long_state s
    where s.tenant_id = t.tenant_id and s.lo <= t.hi and t.lo <= s.hi;
  end loop;
  return null;
end
$$;

create trigger metrics_daily_window_long_ins after insert on ads.metrics_daily
  referencing new table as new_rows for each statement execute function ads.window_long_invalidate();
create trigger metrics_daily_window_long_upd after update on ads.metrics_daily
  referencing old table as old_rows new table as new_rows
  for each statement execute function ads.window_long_invalidate();
create trigger metrics_daily_window_long_del after delete on ads.metrics_daily
  referencing old table as old_rows for each statement execute function ads.window_long_invalidate();

create function ads.window_long_truncated() returns trigger
language plpgsql set search_path = ads, pg_temp
as $$
begin
  delete from ads.window_long_state;
  return null;
end
$$;
create trigger metrics_daily_window_long_trunc after truncate on ads.metrics_daily
  for each statement execute function ads.window_long_truncated();
