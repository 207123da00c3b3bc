-- 0135 Airtable as an optional mirror of seed 000's business layer (issue 15): one mirror per
-- tenant (its base and encrypted token), the map of PostgreSQL rows to Airtable record ids with
-- the merge base of the fields pulled back, and one row per sync run.
-- PostgreSQL stays the record of truth (docs/airtable.md).

-- The tenant's mirror. token_encrypted is a Fernet token made by growthops.core.secrets
-- (GROWTHOPS_SECRET_KEYS), never the personal access token itself.
create table ads.airtable_mirrors (
  tenant_id uuid not null references core.tenants on delete cascade,
  base_id text not null check (length(base_id) between 1 and 40),  -- 'app' + 14 (checked in Python)
  token_encrypted text not null check (token_encrypted like 'gAAAAA%'),
  endpoint_url text check (endpoint_url ~ '^https?://'),  -- NULL: https://api.airtable.com
  table_names jsonb not null default '{}',  -- mirrored kind -> Airtable table name (defaults: the seed's)
  enabled boolean not null default true,
  updated_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_synced_at timestamptz,
  primary key (tenant_id)
);
call core.enable_tenant_rls('ads.airtable_mirrors');

-- One PostgreSQL row mirrored as one Airtable record. pushed_hash: SHA-256 of the fields last
-- pushed (a row whose hash did not change is not pushed again). synced_fields: the values of
-- the pulled fields as both sides agreed on at the last sync (the base of the 3-way merge).
create table ads.airtable_records (
  tenant_id uuid not null references core.tenants on delete cascade,
  kind text not null check (kind in ('clients', 'suggestions', 'decisions', 'winning_patterns',
                                     'ads_library')),
  row_key text not null check (length(row_key) between 1 and 300),
  record_id text not null check (length(record_id) between 1 and 40),  -- Airtable's 'rec...' id
  pushed_hash text not null,
  synced_fields jsonb not null default '{}',
  synced_at timestamptz not null default now(),
  primary key (tenant_id, kind, row_key)
);
create unique index airtable_records_record on ads.airtable_records (tenant_id, kind, record_id);
call core.enable_tenant_rls('ads.airtable_records');

-- One row per sync: what was pushed, pulled, refused, the conflicts (details) and the calls.
create table ads.airtable_runs (
  tenant_id uuid not null references core.tenants on delete cascade,
  run_id bigint generated always as identity,
  trigger text not null default 'cli' check (trigger in ('cli', 'schedule', 'api')),
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  created integer not null default 0 check (created >= 0),
  updated integer not null default 0 check (updated >= 0),
  unchanged integer not null default 0 check (unchanged >= 0),
  deleted integer not null default 0 check (deleted >= 0),
  pulled integer not null default 0 check (pulled >= 0),        -- field values applied to PostgreSQL
  conflicts integer not null default 0 check (conflicts >= 0),  -- both sides changed: PostgreSQL kept
  rejected integer not null default 0 check (rejected >= 0),    -- Airtable values refused as invalid
  api_calls integer not null default 0 check (api_calls >= 0),
  retries integer not null default 0 check (retries >= 0),
  details jsonb not null default '[]',  -- [{kind, row_key, field, rule, airtable, postgresql, base}]
  error_message text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (tenant_id, run_id)
);
create index airtable_runs_started on ads.airtable_runs (tenant_id, started_at desc);
call core.enable_tenant_rls('ads.airtable_runs');
grant usage on all sequences in schema ads to growthops_app;
