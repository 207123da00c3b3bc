-- 0006: per-tenant API keys for the HTTP API, and an append-only guard on the audit trail.

-- API keys: the plaintext is shown once at creation; only an argon2id hash is stored, with a
-- short non-secret prefix (12 hex characters, 48 random bits) to find the row at request time.
-- Tenant-owned with forced RLS like every other table; (tenant_id, prefix) is unique, and a plain
-- index on prefix serves the lookup (tenant_id stays first in every unique index, see DESIGN.md).
create table core.api_keys (
  tenant_id uuid not null references core.tenants on delete cascade,
  key_id bigint generated always as identity,
  name text not null check (length(name) between 1 and 200),
  prefix text not null check (length(prefix) between 1 and 64),  -- 12 hex chars, made in Python
  key_hash text not null,                    -- argon2id PHC string ($argon2id$v=19$...)
  created_by text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by text,
  primary key (tenant_id, key_id),
  unique (tenant_id, prefix)
);
create index api_keys_prefix on core.api_keys (prefix) where revoked_at is null;
call core.enable_tenant_rls('core.api_keys');
-- Keys are revoked (revoked_at), never deleted by the application: the audit keeps their prefix.
revoke delete on core.api_keys from growthops_app;

-- Under FORCE ROW LEVEL SECURITY the owner itself is filtered by the tenant policy; this policy
-- lets the owner (and so the SECURITY DEFINER function below) read every key. The application
-- role is not a member of the owner and does not get it. (Superusers bypass RLS anyway.)
do $$
begin
  execute format('create policy api_key_lookup on core.api_keys for select to %I using (true)',
                 current_user);
end
$$;

-- Request-time lookup, before any tenant is known: the live keys with this prefix (normally one).
-- Returns the hash to verify, never the plaintext (which is not stored).
create or replace function core.api_key_lookup(p_prefix text)
returns table (tenant_id uuid, key_id bigint, name text, key_hash text)
language sql stable security definer set search_path = core, pg_temp
as $$
  select k.tenant_id, k.key_id, k.name, k.key_hash from core.api_keys k
  where k.prefix = p_prefix and k.revoked_at is null
$$;
revoke all on function core.api_key_lookup(text) from public;
grant execute on function core.api_key_lookup(text) to growthops_app;

grant usage on all sequences in schema core to growthops_app;

-- The audit trail is append-only: 0004 revokes UPDATE and DELETE from the application role;
-- this trigger refuses UPDATE for every role, the owner included. (DELETE stays possible for
-- the owner only, so deleting a tenant cascades.)
create or replace function ads.audit_log_immutable() returns trigger
language plpgsql as $$
begin
  raise exception 'ads.audit_log is append-only: audit entries cannot be updated'
    using errcode = 'insufficient_privilege';
end
$$;
drop trigger if exists audit_log_no_update on ads.audit_log;
create trigger audit_log_no_update before update on ads.audit_log
  for each row execute function ads.audit_log_immutable();
