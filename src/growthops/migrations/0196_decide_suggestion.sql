-- 0196 the decision on a suggestion as one server-side function (issue 16, the API's approve
-- route; docs/performance.md §11). Until now growthops.ads.action.decisions.decide_query built
-- one statement (the conditional UPDATE, the decision row, the audit entry) that the API sent
-- in a pipeline with BEGIN, the tenant setting and COMMIT: four statements, one round trip,
-- but seven waits of psycopg's pipeline and 0.35-0.40 ms of the worker thread's CPU per
-- decision. Here the same statement is the body of ads.decide_suggestion, which also sets the
-- tenant (transaction-local, as Database.tenant_tx does): the API sends it alone on an
-- autocommit connection (one statement, one round trip, one wait, no BEGIN/COMMIT; the
-- statement is its own transaction), the command line, Slack, the dashboard and the auto
-- policy call it inside their tenant transactions. It is the one copy of the decision's SQL.
--
-- Row-level security is unchanged: the function is SECURITY INVOKER (the default), so every
-- table it reads or writes is seen through the caller's tenant policy. It refuses (42501)
-- when the transaction is already bound to another tenant, so a tenant transaction can never
-- decide another tenant's suggestion through it; with no tenant set it binds the transaction
-- to p_tenant for the rest of that transaction (what set_config does for the application
-- role, which may already set any tenant: no new power).
--
-- p_live_key (an API key id, or NULL): decide only while that key exists in the tenant and is
-- not revoked, read under the statement's own snapshot with the suggestion row locked, and
-- record the key's use (last_used_at, at most once a minute, as
-- growthops.core.auth.api_keys.LIVENESS_SQL does). No row is returned when nothing was decided
-- (unknown suggestion, not decidable from its status, expired, dead key); the caller reads why
-- (decisions._refusal).

create function ads.decide_suggestion(
  p_tenant uuid,
  p_suggestion_id bigint,
  p_decision text,
  p_decided_by text,
  p_now timestamptz,
  p_from text[],
  p_notes text,
  p_channel text,
  p_api_key_id bigint,
  p_audit_action text,
  p_audit_after jsonb,
  p_audit_reason text,
  p_live_key bigint)
returns table (
  tenant_id uuid, decision_id bigint, suggestion_id bigint, decision text, decided_by text,
  decided_at timestamptz, notes text, channel text, created_at timestamptz, api_key_id bigint,
  status_before text, status text, type text, platform text, entity_type text, entity_id text,
  entity_name text, action text, action_params jsonb, confidence smallint,
  has_ad_account boolean, audit_id bigint)
language plpgsql volatile
as $$
#variable_conflict use_column
declare
  bound text := current_setting('app.tenant_id', true);
begin
  if bound is not null and bound <> '' and bound <> p_tenant::text then
    raise exception 'ads.decide_suggestion: this transaction is bound to another tenant'
      using errcode = '42501';
  end if;
  perform set_config('app.tenant_id', p_tenant::text, true);
  return query
  with used as (
    update core.api_keys k set last_used_at = now()
     where k.tenant_id = p_tenant and k.key_id = p_live_key and k.revoked_at is null
       and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
    returning k.key_id
  ), prev as (
    select s.suggestion_id, s.status from ads.suggestions s
     where s.tenant_id = p_tenant and s.suggestion_id = p_suggestion_id
       and (p_live_key is null
            or exists (select 1 from core.api_keys k
                        where k.tenant_id = p_tenant and k.key_id = p_live_key
                          and k.revoked_at is null))
    for update
  ), upd as (
    update ads.suggestions s
       set status = p_decision, decided_by = p_decided_by, decided_at = p_now
      from prev
     where s.tenant_id = p_tenant and s.suggestion_id = p_suggestion_id
       and prev.suggestion_id = p_suggestion_id
       and s.status = any(p_from) and s.expires_at > p_now
    returning s.suggestion_id, prev.status as status_before, s.status, s.type, s.platform,
              s.entity_type, s.entity_id, s.entity_name, s.action, s.action_params,
              s.confidence,
              exists (select 1 from ads.ad_accounts a
                       where a.tenant_id = s.tenant_id and a.platform = s.platform)
                as has_ad_account
  ), dec as (
    insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by, decided_at,
                               notes, channel, created_at, api_key_id)
    select p_tenant, upd.suggestion_id, p_decision, p_decided_by, p_now, p_notes, p_channel,
           p_now, p_api_key_id
      from upd
    returning *
  ), aud as (
    -- audit.record's columns; the decision's id joins the redacted ``after`` here (a number
    -- redaction leaves as is)
    insert into ads.audit_log (tenant_id, occurred_at, actor, action, object_type, object_id,
                               platform, entity_id, before, after, reason)
    select p_tenant, p_now, p_decided_by, p_audit_action, 'suggestion',
           upd.suggestion_id::text, upd.platform, upd.entity_id,
           jsonb_build_object('status', upd.status_before),
           p_audit_after || jsonb_build_object('decision_id', dec.decision_id), p_audit_reason
      from upd, dec
    returning audit_id
  )
  select dec.tenant_id, dec.decision_id, dec.suggestion_id, dec.decision, dec.decided_by,
         dec.decided_at, dec.notes, dec.channel, dec.created_at, dec.api_key_id,
         upd.status_before, upd.status, upd.type, upd.platform, upd.entity_type, upd.entity_id,
         upd.entity_name, upd.action, upd.action_params, upd.confidence, upd.has_ad_account,
         aud.audit_id
    from dec, upd, aud;
end
$$;

grant execute on function ads.decide_suggestion(uuid, bigint, text, text, timestamptz, text[],
  text, text, bigint, text, jsonb, text, bigint) to growthops_app;
