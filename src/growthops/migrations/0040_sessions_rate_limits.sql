-- 0040: server-side sessions (revocable) and the shared store of the rate limiter.
--
-- core.sessions is NOT tenant-owned (like core.users, whose rows it follows): the cookie carries
-- only an opaque random token; the table keeps its SHA-256 (a stolen table does not give working
-- cookies). The application role gets NO grant on the table: it starts, reads, saves and ends
-- ONE session, the one whose token it was handed, through the SECURITY DEFINER functions below.
-- Revoking every session of a user (password change, disable, `growthops users
-- revoke-sessions`) goes through the owner connection, like every other write on users.

create table core.sessions (
  session_hash text primary key check (session_hash ~ '^[0-9a-f]{64}$'),  -- sha256(token), hex
  user_id uuid not null references core.users on delete cascade,
  data jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),  -- csrf, lang
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text check (revoked_reason in
    ('logout', 'password_changed', 'disabled', 'admin', 'replaced'))
);
create index sessions_user_live on core.sessions (user_id) where revoked_at is null;
revoke all on core.sessions from growthops_app;

-- After a successful login: open a session for an active user; returns its expiry (NULL when
-- the user is missing or disabled). Also drops the user's sessions that ended over a day ago.
create or replace function core.session_start(p_hash text, p_user_id uuid, p_ttl_seconds integer,
                                              p_data jsonb)
returns timestamptz
language plpgsql volatile security definer set search_path = core, pg_temp
as $$
declare
  v_expires timestamptz;
begin
  if p_ttl_seconds is null or p_ttl_seconds <= 0 or p_ttl_seconds > 86400 * 31 then
    raise exception 'session ttl out of range' using errcode = 'invalid_parameter_value';
  end if;
  delete from core.sessions
   where user_id = p_user_id
     and coalesce(revoked_at, expires_at) < now() - interval '1 day';
  insert into core.sessions (session_hash, user_id, data, expires_at)
  select p_hash, u.user_id, coalesce(p_data, '{}'), now() + make_interval(secs => p_ttl_seconds)
    from core.users u where u.user_id = p_user_id and u.active
  returning expires_at into v_expires;
  return v_expires;
end
$$;
revoke all on function core.session_start(text, uuid, integer, jsonb) from public;
grant execute on function core.session_start(text, uuid, integer, jsonb) to growthops_app;

-- Every request with a cookie: the live session of this token (not revoked, not expired, user
-- active), or no row.
create or replace function core.session_get(p_hash text)
returns table (user_id uuid, data jsonb, expires_at timestamptz)
language sql stable security definer set search_path = core, pg_temp
as $$
  select s.user_id, s.data, s.expires_at
    from core.sessions s join core.users u on u.user_id = s.user_id
   where s.session_hash = p_hash and s.revoked_at is null and s.expires_at > now() and u.active
$$;
revoke all on function core.session_get(text) from public;
grant execute on function core.session_get(text) to growthops_app;

-- Save the session's small data (CSRF token, page language) of a live session.
create or replace function core.session_save(p_hash text, p_data jsonb)
returns void
language sql volatile security definer set search_path = core, pg_temp
as $$
  update core.sessions set data = p_data
   where session_hash = p_hash and revoked_at is null and expires_at > now()
     and jsonb_typeof(p_data) = 'object'
$$;
revoke all on function core.session_save(text, jsonb) from public;
grant execute on function core.session_save(text, jsonb) to growthops_app;

-- Logout (or a login replacing the session): end this one session.
create or replace function core.session_end(p_hash text, p_reason text)
returns void
language sql volatile security definer set search_path = core, pg_temp
as $$
  update core.sessions set revoked_at = now(), revoked_reason = p_reason
   where session_hash = p_hash and revoked_at is null and p_reason in ('logout', 'replaced')
$$;
revoke all on function core.session_end(text, text) from public;
grant execute on function core.session_end(text, text) to growthops_app;

-- The rate limiter's counters (fixed windows), shared by every worker process. Unlogged: a
-- crash loses the current windows, which only lifts the limits for at most one window. Keys
-- are SHA-256 digests of "<rule>:<address or account>" (no e-mail or address is stored).
create unlogged table core.rate_limits (
  key text primary key check (key ~ '^[0-9a-f]{64}$'),
  hits integer not null check (hits >= 0),
  expires_at timestamptz not null
);
grant select, insert, update, delete on core.rate_limits to growthops_app;
