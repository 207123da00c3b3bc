-- 0011: every tenant-owned table can be distributed on tenant_id (Citus), checked from the
-- catalog by tests/core/test_scale_out.py (growthops.core.scaleout).
--
-- 0001-0010 already put tenant_id first in every primary key, unique constraint and unique
-- index of the tenant-owned tables, and every foreign key between tenant-owned tables goes to
-- core.tenants (tenant_id). The one exception was core.system_logs: its tenant_id was nullable
-- (system-wide events) and its primary key was (id). Citus refuses NULL in a distribution
-- column, so the system-wide events move to their own table, core.platform_logs, which stays on
-- the coordinator, and core.system_logs becomes tenant_id NOT NULL, primary key (tenant_id, id).

-- System-wide events: no tenant, no row-level security, readable and writable by the owner only
-- (as the rows with a NULL tenant_id were).
create table core.platform_logs (
  id bigint generated always as identity primary key,
  logged_at timestamptz not null default now(),
  level text not null check (level in ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
  module text,
  message text not null,
  context jsonb,
  exception_type text,
  exception_message text,
  stack_trace text
);
create index platform_logs_time on core.platform_logs (logged_at desc);
create index platform_logs_level on core.platform_logs (level) where level in ('ERROR', 'CRITICAL');
revoke all on core.platform_logs from growthops_app;

-- Move the system-wide rows, oldest first. FORCE ROW LEVEL SECURITY binds a non-superuser owner
-- to the tenant policy, under which it sees no NULL-tenant row: lift it for the move only.
alter table core.system_logs no force row level security;
insert into core.platform_logs
  (logged_at, level, module, message, context, exception_type, exception_message, stack_trace)
select logged_at, level, module, message, context, exception_type, exception_message, stack_trace
from core.system_logs where tenant_id is null order by id;
delete from core.system_logs where tenant_id is null;
alter table core.system_logs force row level security;

alter table core.system_logs alter column tenant_id set not null;
alter table core.system_logs drop constraint system_logs_pkey;
alter table core.system_logs add primary key (tenant_id, id);
drop index if exists core.system_logs_level;
create index system_logs_level on core.system_logs (tenant_id, level)
  where level in ('ERROR', 'CRITICAL');
