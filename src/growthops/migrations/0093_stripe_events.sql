-- 0093 inbox, issue 12 (optional): subscription state from Stripe webhooks. One row per Stripe
-- event applied to a tenant: the event id makes a redelivered event a no-op (Stripe retries
-- deliveries for up to 3 days and may send an event more than once); event_created (Stripe's
-- `created`, UTC) lets an older event arriving late not undo a newer one.
create table inbox.stripe_events (
  tenant_id uuid not null references core.tenants on delete cascade,
  event_id text not null check (length(event_id) between 1 and 255),
  event_type text not null check (length(event_type) between 1 and 100),
  subscription_id text,
  event_created timestamptz not null,
  applied boolean not null,              -- false: older than an event already applied
  plan_name text,
  status text,
  received_at timestamptz not null default now(),
  primary key (tenant_id, event_id)
);
create index stripe_events_subscription on inbox.stripe_events (tenant_id, subscription_id, event_created desc);
call core.enable_tenant_rls('inbox.stripe_events');
