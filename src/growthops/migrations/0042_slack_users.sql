-- 0042: which Slack user is which growthops user, per tenant. A click on a digest button is
-- recorded only for a Slack user mapped here to an active growthops user whose role may decide
-- on that tenant (admin, media_buyer); anyone else in the channel gets a private "not allowed".
-- Tenant-owned (forced RLS): a tenant's mappings are its own. The growthops user is named by
-- e-mail (core.users is not readable by the application role); the lookup below joins the two
-- with the owner's rights and returns the one mapped, active user, never a hash.
create table core.slack_users (
  tenant_id uuid not null references core.tenants on delete cascade,
  slack_user_id text not null check (length(slack_user_id) between 2 and 32),
  email text not null check (length(email) between 1 and 254),
  created_at timestamptz not null default now(),
  created_by text,
  primary key (tenant_id, slack_user_id)
);
call core.enable_tenant_rls('core.slack_users');

-- In a tenant transaction: the growthops user mapped to this Slack user for the current tenant
-- (row-level security on core.slack_users applies to the owner too: FORCE), if active.
create or replace function core.slack_user_lookup(p_slack_user text)
returns table (user_id uuid, email text, role text, tenant_id uuid, lang text)
language sql stable security definer set search_path = core, pg_temp
as $$
  select u.user_id, u.email, u.role, u.viewer_tenant_id, u.lang
    from core.slack_users s join core.users u on u.email = s.email
   where s.tenant_id = core.current_tenant_id() and s.slack_user_id = p_slack_user and u.active
$$;
revoke all on function core.slack_user_lookup(text) from public;
grant execute on function core.slack_user_lookup(text) to growthops_app;
