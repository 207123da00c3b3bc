-- 0030 leads (seed 002, Avenir AI): lead capture, AI enrichment, the people's work on leads,
-- growth insights, prompt registry and experiments, translation, integration logs.
-- Every table is tenant-owned: tenant_id first in the primary key and in every unique index,
-- foreign keys between tenant tables include tenant_id, forced row-level security.

create schema if not exists leads;
grant usage on schema leads to growthops_app;

-- ---------------------------------------------------------------------------------------
-- What the seed's `clients` has and core.tenants lacks (one row per tenant).
create table leads.tenant_settings (
  tenant_id uuid primary key references core.tenants on delete cascade,
  business_name text check (length(business_name) <= 200),
  language text not null default 'en' check (language in ('en', 'fr')),
  email_tone text not null default 'professional'
    check (email_tone in ('professional', 'friendly', 'formal', 'energetic')),
  ai_personalized_reply boolean not null default false,   -- the explicit auto-reply policy
  booking_link text check (booking_link ~ '^https?://' and length(booking_link) <= 2000),
  reply_from text check (length(reply_from) <= 254),       -- From: of the replies
  reply_daily_cap integer not null default 200 check (reply_daily_cap between 0 and 100000),
  last_connection timestamptz,                             -- last authenticated capture call
  last_lead_at timestamptz,                                -- last lead stored
  is_test boolean not null default false,
  updated_at timestamptz not null default now()
);
call core.enable_tenant_rls('leads.tenant_settings');

-- Public form tokens for browser forms: bound to the origins allowed to post (CORS per tenant).
create table leads.form_tokens (
  tenant_id uuid not null references core.tenants on delete cascade,
  token_id bigint generated always as identity,
  token text not null,                -- gof_<32 url-safe chars>, checked in Python
  name text not null check (length(name) between 1 and 200),
  allowed_origins text[] not null check (cardinality(allowed_origins) between 1 and 50),
  created_by text,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (tenant_id, token_id),
  unique (tenant_id, token)
);
create index form_tokens_token on leads.form_tokens (token) where revoked_at is null;
call core.enable_tenant_rls('leads.form_tokens');
revoke delete on leads.form_tokens from growthops_app;

-- ---------------------------------------------------------------------------------------
-- lead_memory (seed): every lead, its AI reading and the history of its re-analyses.
create table leads.lead_memory (
  tenant_id uuid not null references core.tenants on delete cascade,
  lead_id bigint generated always as identity,
  received_at timestamptz not null default now(),
  name text check (length(name) <= 200),
  email text not null check (length(email) <= 254),
  phone text check (length(phone) <= 40),
  company text check (length(company) <= 200),
  message text not null check (length(message) between 1 and 5000),
  source text check (length(source) <= 2000),
  metadata jsonb not null default '{}',
  language_hint text check (language_hint in ('en', 'fr')),
  consent_email boolean,
  -- AI reading (NULL until enriched)
  enrichment_status text not null default 'pending'
    check (enrichment_status in ('pending', 'done', 'failed')),
  enrichment_attempts integer not null default 0,
  enriched_at timestamptz,
  language text check (language in ('en', 'fr')),
  ai_summary text,
  intent text,
  tone text check (tone in ('positive', 'neutral', 'negative')),
  urgency text check (urgency in ('high', 'medium', 'low')),
  confidence_score numeric(4,3) check (confidence_score between 0 and 1),   -- fraction 0-1
  model_version text,
  tone_history jsonb not null default '[]',
  urgency_history jsonb not null default '[]',
  confidence_history jsonb not null default '[]',
  -- the people's work
  current_tag text check (length(current_tag) <= 60),
  archived boolean not null default false,
  deleted boolean not null default false,       -- soft delete
  converted boolean not null default false,
  converted_at timestamptz,
  replied boolean not null default false,       -- the lead answered our email
  is_test boolean not null default false,
  capture_key_prefix text,
  primary key (tenant_id, lead_id)
);
create index lead_memory_received on leads.lead_memory (tenant_id, received_at desc);
create index lead_memory_pending on leads.lead_memory (tenant_id, lead_id)
  where enrichment_status = 'pending';
create index lead_memory_intent on leads.lead_memory (tenant_id, intent) where not deleted;
call core.enable_tenant_rls('leads.lead_memory');
revoke delete on leads.lead_memory from growthops_app;   -- deletion is soft

-- Idempotency-Key of capture calls: a retried submission gets the first answer.
create table leads.idempotency_keys (
  tenant_id uuid not null references core.tenants on delete cascade,
  idem_key text not null check (length(idem_key) between 1 and 255),
  request_hash bytea not null,
  lead_id bigint not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, idem_key),
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
create index idempotency_keys_created on leads.idempotency_keys (tenant_id, created_at);
call core.enable_tenant_rls('leads.idempotency_keys');

-- lead_actions (seed): the activity journal.
create table leads.lead_actions (
  tenant_id uuid not null references core.tenants on delete cascade,
  action_id bigint generated always as identity,
  lead_id bigint not null,
  action_type text not null check (action_type in (
    'created', 'enriched', 'tagged', 'archived', 'deleted', 'reactivated', 'converted',
    'reverted', 'noted', 'intent_corrected', 'email_sent', 'email_failed', 'replied')),
  tag text,
  performed_by text not null,
  "timestamp" timestamptz not null default now(),
  conversion_outcome boolean,
  reversion_reason text check (length(reversion_reason) <= 2000),
  details jsonb not null default '{}',
  is_test boolean not null default false,
  primary key (tenant_id, action_id),
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
create index lead_actions_lead on leads.lead_actions (tenant_id, lead_id, "timestamp");
call core.enable_tenant_rls('leads.lead_actions');
revoke update, delete on leads.lead_actions from growthops_app;   -- append-only journal

-- lead_notes (seed)
create table leads.lead_notes (
  tenant_id uuid not null references core.tenants on delete cascade,
  note_id bigint generated always as identity,
  lead_id bigint not null,
  note text not null check (length(note) between 1 and 4000),
  performed_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  is_test boolean not null default false,
  primary key (tenant_id, note_id),
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
create index lead_notes_lead on leads.lead_notes (tenant_id, lead_id);
call core.enable_tenant_rls('leads.lead_notes');

-- ---------------------------------------------------------------------------------------
-- The tenant's intent taxonomy: names in English and French (seed `intent_translations`),
-- and the labelled examples the intent model is trained on.
create table leads.intent_translations (
  tenant_id uuid not null references core.tenants on delete cascade,
  intent text not null check (length(intent) between 1 and 60),   -- a slug, checked in Python
  intent_en text not null check (length(intent_en) between 1 and 200),
  intent_fr text not null check (length(intent_fr) between 1 and 200),
  category text,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  primary key (tenant_id, intent)
);
call core.enable_tenant_rls('leads.intent_translations');

create table leads.intent_examples (
  tenant_id uuid not null references core.tenants on delete cascade,
  example_id bigint generated always as identity,
  intent text not null,
  text text not null check (length(text) between 1 and 5000),
  language text check (language in ('en', 'fr')),
  source text not null check (source in ('default', 'correction', 'import')),
  lead_id bigint,
  created_at timestamptz not null default now(),
  primary key (tenant_id, example_id),
  foreign key (tenant_id, intent) references leads.intent_translations on delete cascade
);
call core.enable_tenant_rls('leads.intent_examples');

-- feedback_tracking (seed): each prediction and its outcome; rows expire after one year.
create table leads.feedback_tracking (
  tenant_id uuid not null references core.tenants on delete cascade,
  feedback_id bigint generated always as identity,
  lead_id bigint,
  action_type text not null check (action_type in (
    'ai_prediction', 'lead_conversion', 'email_response', 'user_action', 'system_performance')),
  prediction jsonb,                  -- what the model said (intent, confidence, tone, urgency)
  outcome text check (outcome in ('positive', 'negative', 'neutral')),
  intent_correct boolean,            -- set when a person confirms or corrects the intent
  outcome_at timestamptz,
  confidence_score numeric(4,3) check (confidence_score between 0 and 1),
  impact_score integer check (impact_score between -100 and 100),
  context_data jsonb not null default '{}',
  notes text, notes_en text, notes_fr text,
  learning_applied boolean not null default false,
  learning_impact numeric(4,3) check (learning_impact between 0 and 1),
  processed_at timestamptz,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '1 year',
  primary key (tenant_id, feedback_id),
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
create index feedback_tracking_lead on leads.feedback_tracking (tenant_id, lead_id);
create index feedback_tracking_expiry on leads.feedback_tracking (tenant_id, expires_at);
call core.enable_tenant_rls('leads.feedback_tracking');

-- performance_metrics (seed): the leads system's own measurements (not the ads metrics).
create table leads.performance_metrics (
  tenant_id uuid not null references core.tenants on delete cascade,
  metric_id bigint generated always as identity,
  event_type text not null check (event_type in (
    'api_response', 'ai_analysis', 'translation', 'lead_processing', 'email_response')),
  metric_name text not null,
  metric_value double precision not null,
  metric_unit text not null check (metric_unit in ('ms', 'fraction', 'count', 'score')),
  source_component text not null,
  recorded_at timestamptz not null default now(),
  metadata jsonb not null default '{}',
  error_message_en text, error_message_fr text,
  primary key (tenant_id, metric_id)
);
create index performance_metrics_time on leads.performance_metrics (tenant_id, recorded_at desc);
call core.enable_tenant_rls('leads.performance_metrics');

-- growth_brain (seed): one row per tenant, upserted; and each week's row kept in history.
create table leads.growth_brain (
  tenant_id uuid primary key references core.tenants on delete cascade,
  analysis_period_start timestamptz not null,
  analysis_period_end timestamptz not null,
  total_leads integer not null,
  top_intents jsonb not null,
  urgency_distribution jsonb not null,
  urgency_trend_percentage numeric(6,1),
  tone_distribution jsonb not null,
  tone_sentiment_score numeric(5,1),
  avg_confidence numeric(4,3),
  confidence_trajectory jsonb not null,
  language_ratio jsonb not null,
  engagement_score numeric(5,1),
  engagement_components jsonb not null,
  predictive_insights jsonb not null,
  analyzed_at timestamptz not null default now()
);
call core.enable_tenant_rls('leads.growth_brain');

create table leads.growth_brain_history (like leads.growth_brain including defaults including constraints);
alter table leads.growth_brain_history add primary key (tenant_id, analysis_period_start);
alter table leads.growth_brain_history add foreign key (tenant_id) references core.tenants on delete cascade;
call core.enable_tenant_rls('leads.growth_brain_history');

-- ---------------------------------------------------------------------------------------
-- prompt_registry (seed): versioned prompts; a version's name, language and text never change.
create table leads.prompt_registry (
  tenant_id uuid not null references core.tenants on delete cascade,
  prompt_id bigint generated always as identity,
  prompt_name text not null check (length(prompt_name) between 1 and 60),
  variant_version integer not null check (variant_version >= 1),
  language text not null check (language in ('en', 'fr')),
  variant_id text generated always as (prompt_name || '@' || variant_version || '/' || language) stored,
  prompt_text text not null check (length(prompt_text) between 1 and 20000),
  status text not null default 'candidate' check (status in ('active', 'candidate', 'retired')),
  score numeric(4,3) check (score between 0 and 1),
  usage_count integer not null default 0,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, prompt_id),
  unique (tenant_id, prompt_name, language, variant_version)
);
create unique index prompt_registry_one_active on leads.prompt_registry (tenant_id, prompt_name, language)
  where status = 'active';
call core.enable_tenant_rls('leads.prompt_registry');
revoke delete on leads.prompt_registry from growthops_app;

create or replace function leads.prompt_immutable() returns trigger
language plpgsql as $$
begin
  if new.prompt_name is distinct from old.prompt_name or new.language is distinct from old.language
     or new.variant_version is distinct from old.variant_version
     or new.prompt_text is distinct from old.prompt_text then
    raise exception 'prompt versions are immutable: add a new version instead'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;
create trigger prompt_registry_immutable before update on leads.prompt_registry
  for each row execute function leads.prompt_immutable();

-- prompt_performance (seed): one row per execution of a prompt.
create table leads.prompt_performance (
  tenant_id uuid not null references core.tenants on delete cascade,
  execution_id bigint generated always as identity,
  prompt_id bigint not null,
  lead_id bigint,
  provider text not null,            -- 'template' (offline), 'openai', 'anthropic'
  input_data jsonb not null default '{}',
  output_data jsonb not null default '{}',
  output_quality_score numeric(4,3) check (output_quality_score between 0 and 1),
  accuracy_score numeric(4,3) check (accuracy_score between 0 and 1),
  consistency_score numeric(4,3) check (consistency_score between 0 and 1),
  completeness_score numeric(4,3) check (completeness_score between 0 and 1),
  response_time_ms integer check (response_time_ms >= 0),
  input_tokens integer check (input_tokens >= 0),
  output_tokens integer check (output_tokens >= 0),
  token_count integer check (token_count >= 0),
  cost_usd numeric(12,6) check (cost_usd >= 0),
  error_occurred boolean not null default false,
  error_message text,
  feedback_id bigint,
  user_rating smallint check (user_rating between 1 and 5),
  environment text not null default 'production' check (environment in ('production', 'staging', 'test')),
  executed_at timestamptz not null default now(),
  primary key (tenant_id, execution_id),
  foreign key (tenant_id, prompt_id) references leads.prompt_registry,
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
create index prompt_performance_prompt on leads.prompt_performance (tenant_id, prompt_id, executed_at);
call core.enable_tenant_rls('leads.prompt_performance');

-- prompt_ab_tests (seed): two versions of one prompt, sticky assignment per lead, outcome test.
create table leads.prompt_ab_tests (
  tenant_id uuid not null references core.tenants on delete cascade,
  test_id bigint generated always as identity,
  test_name text not null check (length(test_name) between 1 and 200),
  prompt_name text not null,
  language text not null check (language in ('en', 'fr')),
  control_prompt_id bigint not null,
  treatment_prompt_id bigint not null,
  treatment_share numeric(4,3) not null default 0.5 check (treatment_share > 0 and treatment_share < 1),
  outcome_metric text not null default 'conversion' check (outcome_metric in ('conversion', 'reply')),
  min_sample_size integer not null default 100 check (min_sample_size >= 10),
  max_duration_days integer not null default 7 check (max_duration_days between 1 and 90),
  significance_level numeric(4,3) not null default 0.05 check (significance_level > 0 and significance_level < 0.5),
  mixture_tau numeric(6,4) not null default 0.05 check (mixture_tau > 0),
  auto_promote boolean not null default false,
  status text not null default 'draft' check (status in ('draft', 'running', 'completed', 'cancelled')),
  started_at timestamptz,
  ended_at timestamptz,
  control_metrics jsonb not null default '{}',
  treatment_metrics jsonb not null default '{}',
  statistical_significance double precision check (statistical_significance between 0 and 1),
  srm_p_value double precision,
  conclusion text,
  winner_prompt_id bigint,
  decided_by text,
  created_by text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, test_id),
  unique (tenant_id, test_name),
  foreign key (tenant_id, control_prompt_id) references leads.prompt_registry,
  foreign key (tenant_id, treatment_prompt_id) references leads.prompt_registry
);
create unique index prompt_ab_tests_one_running on leads.prompt_ab_tests (tenant_id, prompt_name, language)
  where status = 'running';
call core.enable_tenant_rls('leads.prompt_ab_tests');

create table leads.prompt_ab_assignments (
  tenant_id uuid not null references core.tenants on delete cascade,
  test_id bigint not null,
  lead_id bigint not null,
  variant text not null check (variant in ('control', 'treatment')),
  assigned_at timestamptz not null default now(),
  primary key (tenant_id, test_id, lead_id),
  foreign key (tenant_id, test_id) references leads.prompt_ab_tests on delete cascade,
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade
);
call core.enable_tenant_rls('leads.prompt_ab_assignments');

-- prompt_evolution (seed): parent -> child with the measured improvement.
create table leads.prompt_evolution (
  tenant_id uuid not null references core.tenants on delete cascade,
  evolution_id bigint generated always as identity,
  parent_prompt_id bigint not null,
  child_prompt_id bigint not null,
  evolution_type text not null check (evolution_type in ('mutation', 'crossover', 'optimization', 'manual_edit')),
  evolution_strategy text,
  evolution_algorithm text,
  test_id bigint,
  parent_performance jsonb not null default '{}',
  child_performance jsonb not null default '{}',
  improvement_score numeric(6,4),     -- absolute difference of outcome rates, child - parent
  feedback_data jsonb not null default '{}',
  optimization_goals text[] not null default '{}',
  evolved_at timestamptz not null default now(),
  primary key (tenant_id, evolution_id),
  foreign key (tenant_id, parent_prompt_id) references leads.prompt_registry,
  foreign key (tenant_id, child_prompt_id) references leads.prompt_registry
);
call core.enable_tenant_rls('leads.prompt_evolution');

-- ---------------------------------------------------------------------------------------
-- Personalised first replies: every send recorded (queued, sent, failed), retried.
create table leads.email_sends (
  tenant_id uuid not null references core.tenants on delete cascade,
  send_id bigint generated always as identity,
  lead_id bigint not null,
  prompt_id bigint,
  test_id bigint,
  variant text check (variant in ('control', 'treatment')),
  to_address text not null,
  from_address text not null,
  subject text not null,
  body_text text not null,
  body_html text not null,
  language text not null check (language in ('en', 'fr')),
  message_id text not null,
  status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  primary key (tenant_id, send_id),
  unique (tenant_id, lead_id),          -- one first reply per lead
  unique (tenant_id, message_id),
  foreign key (tenant_id, lead_id) references leads.lead_memory on delete cascade,
  foreign key (tenant_id, prompt_id) references leads.prompt_registry
);
call core.enable_tenant_rls('leads.email_sends');
revoke delete on leads.email_sends from growthops_app;

-- ---------------------------------------------------------------------------------------
-- translation_cache and translation_dictionary (seed).
create table leads.translation_dictionary (
  tenant_id uuid not null references core.tenants on delete cascade,
  entry_id bigint generated always as identity,
  source_text text not null check (length(source_text) between 1 and 500),
  source_norm text not null,
  source_language text not null check (source_language in ('en', 'fr')),
  target_language text not null check (target_language in ('en', 'fr')),
  translated_text text not null check (length(translated_text) between 1 and 500),
  context text,
  category text,
  verified boolean not null default true,
  usage_count integer not null default 0,
  confidence numeric(4,3) not null default 1 check (confidence between 0 and 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, entry_id),
  unique (tenant_id, source_language, target_language, source_norm)
);
call core.enable_tenant_rls('leads.translation_dictionary');

create table leads.translation_cache (
  tenant_id uuid not null references core.tenants on delete cascade,
  cache_id bigint generated always as identity,
  source_hash bytea not null,
  source_text text not null,
  source_language text not null check (source_language in ('en', 'fr')),
  target_language text not null check (target_language in ('en', 'fr')),
  translated_text text not null,
  context_type text not null check (context_type in ('lead_summary', 'intent', 'tone', 'ui_text', 'message')),
  provider text not null,
  quality_score numeric(4,3) check (quality_score between 0 and 1),
  verified boolean not null default false,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '90 days',
  primary key (tenant_id, cache_id),
  unique (tenant_id, source_hash, source_language, target_language, context_type)
);
create index translation_cache_expiry on leads.translation_cache (tenant_id, expires_at);
call core.enable_tenant_rls('leads.translation_cache');

-- integration_logs (seed): every capture call whose tenant is known; only a key prefix.
create table leads.integration_logs (
  tenant_id uuid not null references core.tenants on delete cascade,
  log_id bigint generated always as identity,
  created_at timestamptz not null default now(),
  endpoint text not null,
  method text not null,
  auth_kind text not null check (auth_kind in ('api_key', 'form_token', 'session')),
  key_prefix text,                     -- 12 hex chars of an API key, or a form token's id
  request_body jsonb,                  -- redacted, texts truncated
  response_status integer not null,
  response_body jsonb,
  ip_address inet,
  user_agent text,
  origin text,
  latency_ms integer,
  lead_id bigint,
  idempotency_key text,
  primary key (tenant_id, log_id)
);
create index integration_logs_time on leads.integration_logs (tenant_id, created_at desc);
call core.enable_tenant_rls('leads.integration_logs');
revoke update, delete on leads.integration_logs from growthops_app;

grant usage on all sequences in schema leads to growthops_app;

-- ---------------------------------------------------------------------------------------
-- Request-time lookups before any tenant is known (SECURITY DEFINER, owner-only reads).
do $$
begin
  execute format('create policy form_token_lookup on leads.form_tokens for select to %I using (true)',
                 current_user);
end
$$;

create or replace function leads.form_token_lookup(p_token text)
returns table (tenant_id uuid, token_id bigint, allowed_origins text[])
language sql stable security definer set search_path = leads, pg_temp
as $$
  select f.tenant_id, f.token_id, f.allowed_origins from leads.form_tokens f
  where f.token = p_token and f.revoked_at is null
$$;
revoke all on function leads.form_token_lookup(text) from public;
grant execute on function leads.form_token_lookup(text) to growthops_app;

-- A CORS preflight carries no token: is this origin allowed by any live form token?
create or replace function leads.origin_registered(p_origin text)
returns boolean
language sql stable security definer set search_path = leads, pg_temp
as $$
  select exists (select 1 from leads.form_tokens f
                 where f.revoked_at is null and p_origin = any (f.allowed_origins))
$$;
revoke all on function leads.origin_registered(text) from public;
grant execute on function leads.origin_registered(text) to growthops_app;
