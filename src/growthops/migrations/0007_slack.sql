-- 0007: find the tenant of a Slack channel (interactivity requests carry only the channel id).
create or replace function core.tenant_by_slack_channel(p_channel text)
returns table (tenant_id uuid)
language sql stable security definer set search_path = core, pg_temp
as $$ select tenant_id from core.tenants
      where p_channel in (slack_channel_id, slack_validation_channel)
      order by tenant_id $$;
revoke all on function core.tenant_by_slack_channel(text) from public;
grant execute on function core.tenant_by_slack_channel(text) to growthops_app;
create index if not exists tenants_slack_channel_id on core.tenants (slack_channel_id)
  where slack_channel_id is not null;
