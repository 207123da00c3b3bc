-- 0050 inbox AI (issue 11, seed 003): the knowledge base (knowledge_documents, knowledge_chunks,
-- faq_qa), the AI's per-tenant settings and rules (ai_settings, ai_rules), the catalogue of models
-- (ai_models) and the log of its decisions (ai_decisions). Seed names kept; tenant_id replaces
-- user_id and is first in every key; forced RLS on every tenant table.
--
-- Embeddings: 384 dimensions (all-MiniLM-L6-v2, or the hashed n-gram fallback of
-- growthops.core.ai.embeddings, same width). With pgvector the column is vector(384) with an HNSW
-- index (cosine); without it, real[] and the vector branch of the search is off (full-text only).
-- Full-text: tsv is computed by the application's insert with the document's configuration
-- ('english' or 'french', 'simple' otherwise) over inbox.kb_fold(text): accents folded with
-- unaccent when the extension exists, else with translate() (same lexemes for queries).

-- ---------------------------------------------------------------------------------------------
-- Accent folding used on both sides of the full-text search (documents and queries). IMMUTABLE
-- wrapper naming the dictionary, as core/extensions.py recommends.
do $$
declare s text;
begin
  select n.nspname into s from pg_extension e join pg_namespace n on n.oid = e.extnamespace
  where e.extname = 'unaccent';
  if s is not null then
    execute format(
      'create or replace function inbox.kb_fold(text) returns text language sql immutable '
      'parallel safe strict as $f$ select %I.unaccent(%L::regdictionary, $1) $f$',
      s, s || '.unaccent');
  else
    create or replace function inbox.kb_fold(text) returns text language sql immutable
    parallel safe strict as $f$
      select translate($1, 'àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ',
                           'aaaaaaceeeeiiiinooooouuuuyyoaAAAAAACEEEEIIIINOOOOOUUUUYY')
    $f$;
  end if;
end
$$;
grant execute on function inbox.kb_fold(text) to growthops_app;

-- ai_models (seed 003): the catalogue of chat models a tenant may choose (not tenant-owned; the
-- application reads it). Costs per 1,000 tokens in USD.
create table inbox.ai_models (
  model_id bigint generated always as identity primary key,
  name text not null,
  provider text not null check (provider in ('openai', 'anthropic')),
  description text,
  input_cost_per_1k numeric(10,6),
  output_cost_per_1k numeric(10,6),
  context_window int,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (provider, name)
);
grant select on inbox.ai_models to growthops_app;

-- knowledge_documents (seed 003): an uploaded document; ingestion is a job whose state is here:
-- processing -> indexed | failed (status_reason says why). The raw bytes are kept (content) so a
-- document can be indexed again (another embedding model). content_sha256 makes uploads
-- idempotent per tenant.
create table inbox.knowledge_documents (
  tenant_id uuid not null references core.tenants on delete cascade,
  document_id bigint generated always as identity,
  title text not null check (length(title) between 1 and 300),
  source_kind text not null check (source_kind in ('txt', 'md', 'html', 'pdf')),
  content bytea not null,
  content_sha256 text not null check (length(content_sha256) between 1 and 64),
  file_size_bytes bigint not null default 0,
  lang_code text check (lang_code in ('en', 'fr')),
  lang_overridden boolean not null default false,
  tsconfig text check (tsconfig in ('english', 'french', 'simple')),
  status text not null default 'processing' check (status in ('processing', 'indexed', 'failed')),
  status_reason text,
  chunk_count int not null default 0,
  embedding_model text,
  last_ingested_at timestamptz,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, document_id),
  unique (tenant_id, content_sha256)
);
create index knowledge_documents_recent on inbox.knowledge_documents (tenant_id, created_at desc);
create index knowledge_documents_pending on inbox.knowledge_documents (tenant_id, status)
  where status = 'processing';
call core.enable_tenant_rls('inbox.knowledge_documents');

-- knowledge_chunks (seed 003): overlapping passages cut on sentence boundaries; start_char and
-- end_char are offsets in the document's extracted text ([start, end)).
create table inbox.knowledge_chunks (
  tenant_id uuid not null references core.tenants on delete cascade,
  chunk_id bigint generated always as identity,
  document_id bigint not null,
  chunk_index int not null check (chunk_index >= 0),
  content text not null,
  lang_code text,
  tsconfig text not null default 'simple' check (tsconfig in ('english', 'french', 'simple')),
  tsv tsvector not null default ''::tsvector,
  embedding_model text,
  start_char int not null default 0,
  end_char int not null default 0,
  token_count int not null default 0,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, chunk_id),
  unique (tenant_id, document_id, chunk_index),
  foreign key (tenant_id, document_id)
    references inbox.knowledge_documents (tenant_id, document_id) on delete cascade
);
create index knowledge_chunks_tsv on inbox.knowledge_chunks using gin (tsv);
call core.enable_tenant_rls('inbox.knowledge_chunks');

-- faq_qa (seed 003): question/answer pairs typed in a form, imported from CSV, or suggested from
-- people's past answers (source 'suggested', enabled only once a person approves it).
create table inbox.faq_qa (
  tenant_id uuid not null references core.tenants on delete cascade,
  faq_id bigint generated always as identity,
  question text not null check (length(question) between 1 and 2000),
  answer text not null check (length(answer) between 1 and 8000),
  category text,
  keywords text[] not null default '{}',
  lang_code text,
  tsconfig text not null default 'simple' check (tsconfig in ('english', 'french', 'simple')),
  tsv tsvector not null default ''::tsvector,
  embedding_model text,
  text_size_bytes bigint not null default 0,
  source text not null default 'manual' check (source in ('manual', 'csv', 'suggested')),
  enabled boolean not null default true,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, faq_id)
);
create unique index faq_qa_question on inbox.faq_qa (tenant_id, md5(lower(question)));
create index faq_qa_tsv on inbox.faq_qa using gin (tsv);
call core.enable_tenant_rls('inbox.faq_qa');

-- The embedding columns and their HNSW indexes (cosine), when pgvector is there.
do $$
begin
  if exists (select 1 from pg_extension where extname = 'vector') then
    alter table inbox.knowledge_chunks add column embedding vector(384);
    alter table inbox.faq_qa add column embedding vector(384);
    create index knowledge_chunks_embedding on inbox.knowledge_chunks
      using hnsw (embedding vector_cosine_ops);
    create index faq_qa_embedding on inbox.faq_qa using hnsw (embedding vector_cosine_ops);
  else
    alter table inbox.knowledge_chunks add column embedding real[];
    alter table inbox.faq_qa add column embedding real[];
  end if;
end
$$;

-- ai_settings (seed 003): one row per tenant. The AI is opt-in per tenant
-- (ai_enabled_for_conversations false by default, unlike the seed: a tenant without a knowledge
-- base would see every message escalated) and auto_reply_enabled is false by default: no message
-- goes to a customer without an explicit auto policy. reply_threshold is chosen by the
-- calibration (growthops.inbox.ai.calibrate) from the precision-at-coverage curve to reach
-- target_precision; NULL means "not calibrated": the AI does not reply, it escalates.
create table inbox.ai_settings (
  tenant_id uuid not null references core.tenants on delete cascade,
  model_id bigint references inbox.ai_models on delete set null,
  system_prompt text,
  temperature numeric(3,2) not null default 0.2 check (temperature between 0 and 2),
  max_tokens int not null default 300 check (max_tokens between 16 and 4000),
  doc_lang text[] not null default '{}',
  reply_lang text check (reply_lang in ('en', 'fr')),
  ai_enabled_for_conversations boolean not null default false,
  auto_reply_enabled boolean not null default false,
  embedding_model text,
  target_precision numeric(4,3) not null default 0.950 check (target_precision > 0 and target_precision < 1),
  reply_threshold numeric(5,4) check (reply_threshold between 0 and 1),
  calibration jsonb,
  calibrated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.ai_settings');

-- ai_rules (seed 003): free instructions, examples of messages never to answer, master switch.
create table inbox.ai_rules (
  tenant_id uuid not null references core.tenants on delete cascade,
  instructions text,
  ignore_examples text[] not null default '{}',
  ai_control_enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.ai_rules');

-- ai_decisions (seed 003): one per triaged inbound message (unique: a message processed twice is
-- decided once). reply_status: draft (auto replies off: a person may send it), pending (to be
-- sent after the transaction), sent (reply_message_id), refused (window closed, escalated) or
-- failed (reply_error). label is the outcome a person gave later (correct / wrong), the calibration's
-- ground truth; snapshot_json holds the evidence (retrieved passages, scores, cues).
create table inbox.ai_decisions (
  tenant_id uuid not null references core.tenants on delete cascade,
  ai_decision_id bigint generated always as identity,
  message_id bigint,
  conversation_id bigint,
  decision text not null check (decision in ('respond', 'ignore', 'escalate')),
  confidence numeric(4,3) check (confidence between 0 and 1),
  reason text not null default '',
  matched_rule text,
  message_text text,
  reply_text text,
  reply_status text check (reply_status in ('draft', 'pending', 'sent', 'refused', 'failed')),
  reply_message_id bigint,
  reply_error text,
  citations jsonb not null default '[]',
  snapshot_json jsonb not null default '{}',
  label text check (label in ('correct', 'wrong')),
  labelled_by text,
  labelled_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, ai_decision_id)
);
create unique index ai_decisions_message on inbox.ai_decisions (tenant_id, message_id)
  where message_id is not null;
create index ai_decisions_recent on inbox.ai_decisions (tenant_id, created_at desc);
create index ai_decisions_decision on inbox.ai_decisions (tenant_id, decision, created_at desc);
call core.enable_tenant_rls('inbox.ai_decisions');

-- Labelled examples for the per-tenant calibration and evaluation (growthops inbox ai ...):
-- a message text, what should have happened (answer | escalate | ignore) and, for 'answer', the
-- question of the FAQ entry or the title of the document that answers it (expected).
create table inbox.ai_examples (
  tenant_id uuid not null references core.tenants on delete cascade,
  example_id bigint generated always as identity,
  text text not null check (length(text) between 1 and 4000),
  label text not null check (label in ('answer', 'escalate', 'ignore')),
  expected text,
  source text not null default 'csv' check (source in ('csv', 'api', 'demo')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, example_id)
);
create unique index ai_examples_text on inbox.ai_examples (tenant_id, md5(text));
call core.enable_tenant_rls('inbox.ai_examples');
