-- 0009: a signed-in user may change their own display language (the only other user write
-- the application role can make, through this SECURITY DEFINER function).
create or replace function core.user_set_lang(p_user_id uuid, p_lang text)
returns void
language sql volatile security definer set search_path = core, pg_temp
as $$ update core.users set lang = p_lang, updated_at = now()
      where user_id = p_user_id and active and p_lang in ('en', 'fr') $$;
revoke all on function core.user_set_lang(uuid, text) from public;
grant execute on function core.user_set_lang(uuid, text) to growthops_app;
