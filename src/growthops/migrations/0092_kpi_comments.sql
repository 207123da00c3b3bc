-- 0092 inbox, issue 12: the KPI tables count comments apart from messages (seed 003's kpi_2h
-- names): comments_count, the comments received in the window (their platform time);
-- posts_active, the monitored posts under monitoring at some time in the window. Filled by
-- growthops.inbox.kpis.store.refresh (growthops.inbox.kpis.comments); 'whatsapp' rows have 0.
alter table inbox.kpi_2h
  add column comments_count integer not null default 0 check (comments_count >= 0),
  add column posts_active integer not null default 0 check (posts_active >= 0);
alter table inbox.analytics_history
  add column comments_count integer not null default 0 check (comments_count >= 0),
  add column posts_active integer not null default 0 check (posts_active >= 0);
