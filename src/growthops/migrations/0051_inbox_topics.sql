-- depends: 0050_inbox_ai 0090_posts_comments_credits
-- 0051 inbox topics (issue 11, seed 003 "Clustering"): clusters of a tenant's inbound messages
-- (scope 'global') or of one monitored post's comments (scope 'post', scope_ref = the
-- monitored_post_id) found by HDBSCAN on their embeddings, labelled by class-based TF-IDF
-- (growthops.inbox.ai.topics). Seed names kept (clusters, cluster_items, scope, scope_ref, algo,
-- label, size); tenant_id replaces user_id and is first in every key; forced RLS.
-- Depends on 0090 (inbox.comments, referenced by cluster_items.comment_id): yoyo applies it
-- after 0090 although its number is lower.
--
-- A run replaces the clusters of its scope (one transaction): the table holds the latest topics
-- of each scope. week_count / prev_week_count: how many of the cluster's items were written in
-- the 7 days before the run and in the 7 days before those (the trend week over week).

create table inbox.clusters (
  tenant_id uuid not null references core.tenants on delete cascade,
  cluster_id bigint generated always as identity,
  scope text not null default 'global' check (scope in ('global', 'post')),
  scope_ref bigint,                        -- monitored_post_id for scope 'post', else NULL
  algo text not null default 'hdbscan' check (algo in ('hdbscan')),
  label text not null check (length(label) between 1 and 300),
  keywords text[] not null default '{}',   -- the top c-TF-IDF terms, best first
  size int not null default 0 check (size >= 0),
  week_count int not null default 0 check (week_count >= 0),
  prev_week_count int not null default 0 check (prev_week_count >= 0),
  params jsonb not null default '{}',      -- embedder, window, min_cluster_size, items, noise
  run_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  primary key (tenant_id, cluster_id)
);
create index clusters_scope on inbox.clusters (tenant_id, scope, scope_ref, size desc);
call core.enable_tenant_rls('inbox.clusters');

-- cluster_items (seed 003): the messages (or comments) of a cluster. The seed's
-- CHECK (message_id IS NOT NULL OR comment_id IS NOT NULL) is split: a row never names both
-- (below) and the only writer (growthops.inbox.ai.topics.store_run) always names one.
-- probability: HDBSCAN's membership strength 0-1 (the examples shown are the strongest).
create table inbox.cluster_items (
  tenant_id uuid not null references core.tenants on delete cascade,
  cluster_id bigint not null,
  item_id bigint generated always as identity,
  message_id bigint,
  comment_id bigint,
  probability real,
  created_at timestamptz not null default now(),
  primary key (tenant_id, item_id),
  check (num_nonnulls(message_id, comment_id) <= 1),
  foreign key (tenant_id, cluster_id)
    references inbox.clusters (tenant_id, cluster_id) on delete cascade,
  foreign key (tenant_id, message_id)
    references inbox.conversation_messages (tenant_id, message_id) on delete cascade,
  foreign key (tenant_id, comment_id)
    references inbox.comments (tenant_id, comment_id) on delete cascade
);
create index cluster_items_cluster on inbox.cluster_items (tenant_id, cluster_id, probability desc);
create index cluster_items_message on inbox.cluster_items (tenant_id, message_id)
  where message_id is not null;
create index cluster_items_comment on inbox.cluster_items (tenant_id, comment_id)
  where comment_id is not null;
call core.enable_tenant_rls('inbox.cluster_items');
