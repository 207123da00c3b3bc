-- 0031: API key scopes. 'api' is the whole JSON API (every key made before this migration);
-- 'leads:capture' allows only POST /api/v1/leads (a key to put in a website's back end).
alter table core.api_keys add column scopes text[] not null default '{api}'
  check (cardinality(scopes) >= 1 and scopes <@ array['api', 'leads:capture']::text[]);

drop function core.api_key_lookup(text);
create function core.api_key_lookup(p_prefix text)
returns table (tenant_id uuid, key_id bigint, name text, key_hash text, scopes text[])
language sql stable security definer set search_path = core, pg_temp
as $$
  select k.tenant_id, k.key_id, k.name, k.key_hash, k.scopes from core.api_keys k
  where k.prefix = p_prefix and k.revoked_at is null
$$;
revoke all on function core.api_key_lookup(text) from public;
grant execute on function core.api_key_lookup(text) to growthops_app;
