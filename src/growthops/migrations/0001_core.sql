-- 0001 core: schemas, the application role, the tenant context, tenants and their catalogue,
-- system and external-API logs. Row-level security on every table with a tenant_id column.

create schema if not exists core;
create schema if not exists ads;

-- The application role owns nothing and cannot bypass row-level security.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'growthops_app') then
    create role growthops_app login nosuperuser nocreatedb nocreaterole noinherit nobypassrls;
  end if;
end
$$;

-- Lets the owner `SET ROLE growthops_app` on servers where the app cannot log in by itself.
do $$
begin
  execute format('grant growthops_app to %I', current_user);
exception when others then
  null;  -- superusers and managed services where the grant already exists
end
$$;

grant usage on schema core, ads to growthops_app;

-- The tenant of the current transaction, or NULL. '' happens after a transaction that set it.
create or replace function core.current_tenant_id() returns uuid
language sql stable parallel safe
as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

grant execute on function core.current_tenant_id() to growthops_app;

-- Enable and force RLS on a tenant-owned table, with the one tenant policy, and grant DML.
create or replace procedure core.enable_tenant_rls(tbl regclass)
language plpgsql
as $$
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  execute format('drop policy if exists tenant_isolation on %s', tbl);
  execute format(
    'create policy tenant_isolation on %s using (tenant_id = (select core.current_tenant_id())) '
    'with check (tenant_id = (select core.current_tenant_id()))', tbl);
  execute format('grant select, insert, update, delete on %s to growthops_app', tbl);
end
$$;

-- ---------------------------------------------------------------------------------------
-- tenants (seed 000 `clients`). tenant_id is the tenant's own id, so the same policy applies.
create table core.tenants (
  tenant_id uuid primary key default gen_random_uuid(),
  client_key text not null unique check (client_key ~ '^[a-z0-9][a-z0-9_-]{1,49}$'),
  client_name text not null check (length(client_name) between 1 and 200),
  industry text check (industry in ('coaching', 'ecom', 'saas', 'finance', 'health', 'education', 'media', 'other')),
  vertical text,
  main_offer text,
  ticket_price numeric(14,2) check (ticket_price >= 0),
  roi_target numeric(8,3) not null default 3.0 check (roi_target > 0),       -- ROAS target, ratio (3.0 = 3x)
  monthly_budget_max numeric(14,2) check (monthly_budget_max >= 0),
  currency char(3) not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),  -- ISO 4217
  time_zone text not null default 'Europe/Paris',
  slack_validation_channel text,
  slack_channel_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
call core.enable_tenant_rls('core.tenants');
-- The application may not create or delete tenants; the owner does (growthops tenants create).
revoke insert, delete on core.tenants from growthops_app;

-- The tenant directory for cross-tenant work (scheduler, CLI listing): names and time zones only.
create or replace function core.tenant_directory()
returns table (tenant_id uuid, client_key text, client_name text, time_zone text, currency char(3))
language sql stable security definer set search_path = core, pg_temp
as $$ select tenant_id, client_key, client_name, time_zone, currency from core.tenants order by client_key $$;
revoke all on function core.tenant_directory() from public;
grant execute on function core.tenant_directory() to growthops_app;

-- products (seed 000 `products`)
create table core.products (
  tenant_id uuid not null references core.tenants on delete cascade,
  product_id bigint generated always as identity,
  product_name text not null,
  product_type text check (product_type in ('coaching_program', 'course', 'software', 'physical_product', 'service')),
  price numeric(14,2) check (price >= 0),
  payment_options text,
  status text not null default 'active' check (status in ('active', 'paused', 'deprecated')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, product_id)
);
call core.enable_tenant_rls('core.products');

-- funnels (seed 000 `funnels`); conversion_benchmarks are fractions 0-1 per stage transition.
create table core.funnels (
  tenant_id uuid not null references core.tenants on delete cascade,
  funnel_id bigint generated always as identity,
  funnel_name text not null,
  funnel_type text check (funnel_type in ('webinar', 'vsl', 'application', 'book-call', 'ecom', 'hybrid')),
  stages text[] not null default '{}',
  conversion_benchmarks jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, funnel_id)
);
call core.enable_tenant_rls('core.funnels');

-- system_logs (seed 000). tenant_id is NULL for system-wide events, readable only by the owner.
create table core.system_logs (
  tenant_id uuid references core.tenants on delete cascade,
  id bigint generated always as identity,
  logged_at timestamptz not null default now(),
  level text not null check (level in ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
  module text,
  message text not null,
  context jsonb,
  exception_type text,
  exception_message text,
  stack_trace text,
  primary key (id)
);
create index system_logs_tenant_time on core.system_logs (tenant_id, logged_at desc);
create index system_logs_level on core.system_logs (level) where level in ('ERROR', 'CRITICAL');
call core.enable_tenant_rls('core.system_logs');
grant usage on sequence core.system_logs_id_seq to growthops_app;

-- api_calls_log (seed 000): every call to an external API, payloads redacted.
create table core.api_calls_log (
  tenant_id uuid not null references core.tenants on delete cascade,
  id bigint generated always as identity,
  called_at timestamptz not null default now(),
  api_name text not null,            -- meta, google_ads, slack, airtable, anthropic, openai, ...
  endpoint text,
  method text,
  request_payload jsonb,             -- redacted: no tokens, secrets or personal data
  response_payload jsonb,            -- redacted
  status_code integer,
  duration_ms integer check (duration_ms >= 0),
  success boolean not null default true,
  error_message text,
  cost_estimate numeric(12,6),       -- in USD, the provider's list price
  primary key (tenant_id, id)
);
create index api_calls_log_time on core.api_calls_log (tenant_id, called_at desc);
create index api_calls_log_failed on core.api_calls_log (tenant_id, api_name) where not success;
call core.enable_tenant_rls('core.api_calls_log');

grant usage on all sequences in schema core to growthops_app;
