-- 0060 prospects (seed 002, Avenir AI): prospect candidates imported from CSV exports,
-- de-duplicated on normalised domain and e-mail (+ fuzzy name), scored; the tenant's ideal
-- customer profile; industry performance; form tests; the daily prospect queue.
-- Every table is tenant-owned: tenant_id first in every key, forced row-level security.

-- pg_trgm (created by growthops.core.extensions before the migrations, where the server has
-- it) gives the fuzzy business-name match; without it the trigram index is skipped and Python
-- falls back to the exact normalised name (growthops.leads.prospects.store.has_trgm).

-- The tenant's outreach settings: ideal customer profile (seed `avenir_profile_embeddings`
-- generalised per tenant), tracking switch, business hours, daily queue size.
create table leads.outreach_settings (
  tenant_id uuid primary key references core.tenants on delete cascade,
  icp_text text check (length(icp_text) <= 10000),
  icp_vector real[],                        -- L2-normalised embedding of icp_text
  icp_model text,                           -- which embedder made icp_vector
  tracking_enabled boolean not null default true,      -- opens/clicks (privacy switch)
  business_hours_start smallint not null default 9 check (business_hours_start between 0 and 23),
  business_hours_end smallint not null default 17 check (business_hours_end between 1 and 24),
  daily_queue_size integer not null default 16 check (daily_queue_size between 1 and 1000),
  per_domain_daily_cap integer not null default 3 check (per_domain_daily_cap between 1 and 1000),
  sender_name text check (length(sender_name) <= 200),
  postal_address text check (length(postal_address) <= 500),
  public_base_url text check (public_base_url ~ '^https?://' and length(public_base_url) <= 500),
  updated_at timestamptz not null default now()
);
call core.enable_tenant_rls('leads.outreach_settings');

-- prospect_candidates (seed): one row per business; `domain` and `email_norm` are the
-- de-duplication keys; `metadata.sources` keeps every import that contributed.
create table leads.prospect_candidates (
  tenant_id uuid not null references core.tenants on delete cascade,
  prospect_id bigint generated always as identity,
  business_name text not null check (length(business_name) between 1 and 300),
  name_norm text not null,                  -- lower-case, accents and legal suffixes removed
  website text check (length(website) <= 2000),
  domain text check (length(domain) <= 253),           -- normalised host of website
  contact_email text check (length(contact_email) <= 254),
  email_norm text check (length(email_norm) <= 254),
  contact_name text check (length(contact_name) <= 200),
  industry text check (length(industry) <= 120),
  region text check (length(region) <= 200),
  language text check (language in ('en', 'fr')),
  employees integer check (employees >= 0),
  form_url text check (length(form_url) <= 2000),
  last_tested timestamptz,
  response_score numeric(5,1) check (response_score between 0 and 100),
  automation_need_score numeric(4,1) check (automation_need_score between 45 and 95),
  score_contributions jsonb not null default '{}',
  icp_similarity numeric(5,4),              -- cosine to the tenant's ICP, -1..1
  contacted boolean not null default false,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, prospect_id)
);
create unique index prospect_candidates_domain on leads.prospect_candidates (tenant_id, domain)
  where domain is not null;
create unique index prospect_candidates_email on leads.prospect_candidates (tenant_id, email_norm)
  where email_norm is not null;
create index prospect_candidates_queue on leads.prospect_candidates
  (tenant_id, automation_need_score desc) where not contacted;
do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_trgm') then
    execute 'create index prospect_candidates_name_trgm on leads.prospect_candidates '
            'using gin (name_norm gin_trgm_ops)';
  end if;
end
$$;
call core.enable_tenant_rls('leads.prospect_candidates');

-- prospect_industry_performance (seed): per industry, recomputed set-based by a job.
create table leads.prospect_industry_performance (
  tenant_id uuid not null references core.tenants on delete cascade,
  industry text not null check (length(industry) between 1 and 120),
  total_contacted integer not null default 0,
  total_opened integer not null default 0,  -- human opens only
  total_replied integer not null default 0,
  open_rate numeric(5,1),                   -- percent 0-100 of contacted
  reply_rate numeric(5,1),                  -- percent 0-100 of contacted
  avg_response_time_hours numeric(8,1),
  priority_score numeric(5,1) check (priority_score between 0 and 100),
  last_updated timestamptz not null default now(),
  primary key (tenant_id, industry)
);
call core.enable_tenant_rls('leads.prospect_industry_performance');

-- prospect_form_tests (seed): a person records an inquiry they sent through a prospect's
-- form; growthops matches the answer and scores it. growthops never submits forms itself.
create table leads.prospect_form_tests (
  tenant_id uuid not null references core.tenants on delete cascade,
  test_id bigint generated always as identity,
  prospect_id bigint not null,
  test_submitted_at timestamptz not null,
  reply_to_address text check (length(reply_to_address) <= 254),
  response_received_at timestamptz,
  response_time_minutes numeric(10,1),
  has_autoresponder boolean,
  autoresponder_tone text check (autoresponder_tone in ('robotic', 'human', 'personalized', 'none')),
  autoresponder_content text check (length(autoresponder_content) <= 20000),
  score numeric(5,1) check (score between 0 and 100),
  test_status text not null default 'pending'
    check (test_status in ('pending', 'completed', 'failed', 'timeout')),
  recorded_by text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, test_id),
  foreign key (tenant_id, prospect_id) references leads.prospect_candidates on delete cascade
);
call core.enable_tenant_rls('leads.prospect_form_tests');

-- The daily prospect queue: the best N uncontacted prospects of a day, for a person to review.
create table leads.prospect_queue (
  tenant_id uuid not null references core.tenants on delete cascade,
  queue_date date not null,
  prospect_id bigint not null,
  rank integer not null,
  score numeric(4,1),
  decision text check (decision in ('keep', 'skip')),
  decided_by text,
  decided_at timestamptz,
  primary key (tenant_id, queue_date, prospect_id),
  foreign key (tenant_id, prospect_id) references leads.prospect_candidates on delete cascade
);
call core.enable_tenant_rls('leads.prospect_queue');
