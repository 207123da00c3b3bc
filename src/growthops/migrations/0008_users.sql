-- 0008: the agency's staff and its clients' read-only viewers (dashboard and API sessions).
--
-- core.users is NOT tenant-owned: admins and media buyers work across tenants, so the table has
-- no row-level security and its viewer_tenant_id only binds a client_viewer to its one tenant
-- (named so on purpose: every table with a tenant_id column is tenant-owned and forced-RLS,
-- which tests/core/test_rls.py checks from the catalog).
-- Access: the application role gets NO grant on the table. It reads users only through the
-- SECURITY DEFINER functions below: one lookup by e-mail (returns that one user's argon2 hash,
-- needed to verify a login) and one by id (no hash). A bug or an injection in the web process
-- can therefore neither list the staff and their hashes nor create, promote or re-enable a
-- user; writes (create, disable, change password) go through the owner connection
-- (`growthops users ...`), like creating a tenant.

create table core.users (
  user_id uuid primary key default gen_random_uuid(),
  email text not null unique
    check (email = lower(email) and email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 254),
  password_hash text not null,             -- argon2id PHC string ($argon2id$v=19$...)
  role text not null check (role in ('admin', 'media_buyer', 'client_viewer')),
  viewer_tenant_id uuid references core.tenants on delete cascade,
  lang text not null default 'en' check (lang in ('en', 'fr')),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_login_at timestamptz,
  -- a client_viewer sees exactly one tenant; staff roles are not bound to any
  check ((role = 'client_viewer') = (viewer_tenant_id is not null))
);
create index users_viewer_tenant on core.users (viewer_tenant_id) where viewer_tenant_id is not null;
revoke all on core.users from growthops_app;

-- Login: the user with this e-mail (lower-cased), with its hash; also returned when disabled
-- so the caller pays the same argon2 verification either way.
create or replace function core.user_by_email(p_email text)
returns table (user_id uuid, email text, password_hash text, role text, tenant_id uuid,
               lang text, active boolean)
language sql stable security definer set search_path = core, pg_temp
as $$
  select u.user_id, u.email, u.password_hash, u.role, u.viewer_tenant_id, u.lang, u.active
  from core.users u where u.email = lower(p_email)
$$;
revoke all on function core.user_by_email(text) from public;
grant execute on function core.user_by_email(text) to growthops_app;

-- Every session request: the user behind a session cookie (no hash).
create or replace function core.user_by_id(p_user_id uuid)
returns table (user_id uuid, email text, role text, tenant_id uuid, lang text, active boolean,
               created_at timestamptz, last_login_at timestamptz)
language sql stable security definer set search_path = core, pg_temp
as $$
  select u.user_id, u.email, u.role, u.viewer_tenant_id, u.lang, u.active, u.created_at, u.last_login_at
  from core.users u where u.user_id = p_user_id
$$;
revoke all on function core.user_by_id(uuid) from public;
grant execute on function core.user_by_id(uuid) to growthops_app;

-- After a successful login: the only write the application may do on a user.
create or replace function core.user_logged_in(p_user_id uuid)
returns void
language sql volatile security definer set search_path = core, pg_temp
as $$ update core.users set last_login_at = now() where user_id = p_user_id and active $$;
revoke all on function core.user_logged_in(uuid) from public;
grant execute on function core.user_logged_in(uuid) to growthops_app;
