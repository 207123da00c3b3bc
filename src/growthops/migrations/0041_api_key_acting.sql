-- 0041: an API key acts as itself unless it was created to act for named people; decisions
-- record the key that made them.
--
-- acts_for_people = false (the default): the key is the author of what it does; its changes are
-- recorded as 'apikey:<name>#<id>' and naming a person (decided_by, submitted_by, by) is refused.
-- acts_for_people = true (`growthops apikeys create --acts-for-people`): an integration that
-- relays people's decisions (a form, a chat bot) names the person in every change, and the key's
-- id is recorded beside the name (ads.decisions.api_key_id, the audit entry's after.via_key).
alter table core.api_keys add column acts_for_people boolean not null default false;

drop function core.api_key_lookup(text);
create function core.api_key_lookup(p_prefix text)
returns table (tenant_id uuid, key_id bigint, name text, key_hash text, acts_for_people boolean)
language sql stable security definer set search_path = core, pg_temp
as $$
  select k.tenant_id, k.key_id, k.name, k.key_hash, k.acts_for_people from core.api_keys k
  where k.prefix = p_prefix and k.revoked_at is null
$$;
revoke all on function core.api_key_lookup(text) from public;
grant execute on function core.api_key_lookup(text) to growthops_app;

alter table ads.decisions add column api_key_id bigint;
alter table ads.decisions add constraint decisions_api_key_fk
  foreign key (tenant_id, api_key_id) references core.api_keys (tenant_id, key_id);
alter table ads.decisions_archive add column api_key_id bigint;
