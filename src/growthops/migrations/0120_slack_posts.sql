-- 0120 Slack beyond the daily digest (issue 15; seed 000 "SLACK NOTIFICATION", suggestions
-- slack_message_ts, validation_queue slack_thread_ts): one message per suggestion with its own
-- thread, every later transition answered in that thread, high-severity anomaly alerts and the
-- measured outcomes. ads.slack_posts records what was posted, exactly once per post_key.

-- What was (or is being) posted to Slack. One row per post_key, e.g. 'item:42' (the suggestion's
-- own message, whose ts is the thread), 'decision:7', 'execution:9', 'outcome:3',
-- 'expired:42', 'validation:5:team_review', 'anomaly:2024-03-31:meta:adset:123:cpa'.
-- state: 'pending' while a run holds the claim (before Slack's answer), 'sent' once Slack
-- answered ok (ts and channel_id set), 'failed' after an error (retried by the next run while
-- attempts < 5, see growthops.ads.reporting.slack_threads.MAX_ATTEMPTS).
create table ads.slack_posts (
  tenant_id uuid not null references core.tenants on delete cascade,
  post_id bigint generated always as identity,
  post_key text not null check (length(post_key) between 1 and 300),
  kind text not null check (kind in ('item', 'reply', 'outcome', 'anomaly')),
  suggestion_id bigint,                     -- the item (roots, replies, outcomes)
  channel text not null check (length(channel) between 1 and 200),  -- where it was sent
  thread_ts text,                           -- the root's ts for a reply in a thread
  lang text not null default 'en' check (lang in ('en', 'fr')),
  state text not null default 'pending' check (state in ('pending', 'sent', 'failed')),
  attempts integer not null default 1 check (attempts >= 0),
  last_error text check (length(last_error) <= 2000),
  channel_id text,                          -- the channel id Slack answered
  ts text,                                  -- the message's ts Slack answered
  claimed_at timestamptz not null default now(),
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, post_id),
  unique (tenant_id, post_key),
  check (state <> 'sent' or (ts is not null and sent_at is not null))
);
create index slack_posts_items on ads.slack_posts (tenant_id, suggestion_id)
  where kind = 'item' and state = 'sent';
create index slack_posts_open on ads.slack_posts (tenant_id, state) where state <> 'sent';
call core.enable_tenant_rls('ads.slack_posts');

-- A tenant's Slack preferences (no row: the defaults). lang: the language of every message
-- posted for the tenant (NULL: the caller's, English by default); alerts_channel: where anomaly
-- alerts go (NULL: the validation channel of core.tenants); mode: 'threads' (one message per
-- suggestion, the default), 'digest' (the daily digest only) or 'both'; alert_min_severity:
-- the lowest anomaly severity posted.
create table ads.slack_settings (
  tenant_id uuid not null primary key references core.tenants on delete cascade,
  lang text check (lang in ('en', 'fr')),
  alerts_channel text check (length(alerts_channel) between 1 and 200),
  mode text not null default 'threads' check (mode in ('threads', 'digest', 'both')),
  alert_min_severity text not null default 'high'
    check (alert_min_severity in ('low', 'medium', 'high', 'critical')),
  updated_at timestamptz not null default now()
);
call core.enable_tenant_rls('ads.slack_settings');
