-- 0043: core.api_key_lookup returns both the key's scopes (0031, leads capture) and whether it
-- acts for named people (0041); the two migrations each recreated it with one of them.
drop function core.api_key_lookup(text);
create function core.api_key_lookup(p_prefix text)
returns table (tenant_id uuid, key_id bigint, name text, key_hash text, scopes text[],
               acts_for_people boolean)
language sql stable security definer set search_path = core, pg_temp
as $$
  select k.tenant_id, k.key_id, k.name, k.key_hash, k.scopes, k.acts_for_people
  from core.api_keys k
  where k.prefix = p_prefix and k.revoked_at is null
$$;
revoke all on function core.api_key_lookup(text) from public;
grant execute on function core.api_key_lookup(text) to growthops_app;
