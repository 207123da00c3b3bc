-- 0055 knowledge-base text statistics for BM25 (issue 11): per tenant, the number of passages
-- and their total length (kb_text_stats), and each lexeme's document frequency (kb_lexemes),
-- over inbox.faq_qa and inbox.knowledge_chunks. Kept up to date by statement-level triggers with
-- transition tables (O(rows changed), set-based): growthops.inbox.ai.search reads them to weigh
-- rare words (IDF) and, on big knowledge bases, to leave very common words out of the candidate
-- query (they still count in the score). A passage's length is length(tsv): distinct lexemes.
-- The triggers run as the writer (growthops_app), under its tenant's row-level security.

-- one row per tenant and source table ('faq_qa', 'knowledge_chunks'): readers sum them
create table inbox.kb_text_stats (
  tenant_id uuid not null references core.tenants (tenant_id) on delete cascade,
  source text not null,
  passages bigint not null default 0,
  total_length bigint not null default 0,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, source)
);
call core.enable_tenant_rls('inbox.kb_text_stats');

create table inbox.kb_lexemes (
  tenant_id uuid not null references core.tenants (tenant_id) on delete cascade,
  source text not null,
  lexeme text not null,
  df bigint not null,
  primary key (tenant_id, lexeme, source)
);
call core.enable_tenant_rls('inbox.kb_lexemes');

create function inbox.kb_text_stats_apply() returns trigger language plpgsql as $$
declare
  delta text;
begin
  -- one signed row per passage added (+1) or removed (-1); an update is both
  delta := case tg_op
    when 'INSERT' then 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null'
    when 'DELETE' then 'select tenant_id, tsv, -1 as sign from old_rows where tsv is not null'
    else 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null
          union all select tenant_id, tsv, -1 from old_rows where tsv is not null' end;
  execute format($q$
    with delta as (%s)
    insert into inbox.kb_text_stats as s (tenant_id, source, passages, total_length)
    select tenant_id, %L, sum(sign), sum(sign * length(tsv)) from delta group by tenant_id
    having sum(sign) <> 0 or sum(sign * length(tsv)) <> 0
    order by tenant_id
    on conflict (tenant_id, source) do update set passages = s.passages + excluded.passages,
      total_length = s.total_length + excluded.total_length, updated_at = now()$q$,
    delta, tg_table_name);
  execute format($q$
    with delta as (%s)
    insert into inbox.kb_lexemes as k (tenant_id, source, lexeme, df)
    select d.tenant_id, %L, u.lexeme, sum(d.sign) from delta d, unnest(d.tsv) u
    group by d.tenant_id, u.lexeme having sum(d.sign) <> 0
    order by 1, 3
    on conflict (tenant_id, lexeme, source) do update set df = k.df + excluded.df$q$,
    delta, tg_table_name);
  if tg_op <> 'INSERT' then
    execute format($q$
      with delta as (%s)
      delete from inbox.kb_lexemes k
      using (select distinct d.tenant_id, u.lexeme from delta d, unnest(d.tsv) u
             where d.sign < 0) gone
      where k.tenant_id = gone.tenant_id and k.lexeme = gone.lexeme and k.source = %L
        and k.df <= 0$q$, delta, tg_table_name);
  end if;
  return null;
end
$$;

create trigger faq_qa_text_stats_ins after insert on inbox.faq_qa
  referencing new table as new_rows for each statement execute function inbox.kb_text_stats_apply();
create trigger faq_qa_text_stats_upd after update on inbox.faq_qa
  referencing old table as old_rows new table as new_rows
  for each statement execute function inbox.kb_text_stats_apply();
create trigger faq_qa_text_stats_del after delete on inbox.faq_qa
  referencing old table as old_rows for each statement execute function inbox.kb_text_stats_apply();
create trigger knowledge_chunks_text_stats_ins after insert on inbox.knowledge_chunks
  referencing new table as new_rows for each statement execute function inbox.kb_text_stats_apply();
create trigger knowledge_chunks_text_stats_upd after update on inbox.knowledge_chunks
  referencing old table as old_rows new table as new_rows
  for each statement execute function inbox.kb_text_stats_apply();
create trigger knowledge_chunks_text_stats_del after delete on inbox.knowledge_chunks
  referencing old table as old_rows for each statement execute function inbox.kb_text_stats_apply();

-- what is already there
insert into inbox.kb_text_stats (tenant_id, source, passages, total_length)
select tenant_id, 'faq_qa', count(*), sum(length(tsv)) from inbox.faq_qa
where tsv is not null group by tenant_id;
insert into inbox.kb_text_stats (tenant_id, source, passages, total_length)
select tenant_id, 'knowledge_chunks', count(*), sum(length(tsv)) from inbox.knowledge_chunks
where tsv is not null group by tenant_id;
insert into inbox.kb_lexemes (tenant_id, source, lexeme, df)
select f.tenant_id, 'faq_qa', u.lexeme, count(*) from inbox.faq_qa f, unnest(f.tsv) u
group by f.tenant_id, u.lexeme;
insert into inbox.kb_lexemes (tenant_id, source, lexeme, df)
select c.tenant_id, 'knowledge_chunks', u.lexeme, count(*)
from inbox.knowledge_chunks c, unnest(c.tsv) u group by c.tenant_id, u.lexeme;
