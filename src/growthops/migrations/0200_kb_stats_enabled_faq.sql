-- 0200 inbox.kb_text_stats / inbox.kb_lexemes count the enabled FAQ entries only (issue 11 left
-- it open, docs/inbox-ai.md "Not done"). The search never returns a disabled entry and 0195's
-- postings already leave them out, but BM25's N, df and average length still counted them, so
-- disabling an entry changed the scores of the others as if it were still searched. The
-- statement trigger of 0055 (0194's version) now reads, for inbox.faq_qa, the rows that are
-- enabled: an update that disables an entry counts it out (-1, old row enabled; nothing for the
-- new one), one that enables it counts it in. Same function otherwise; the FAQ statistics are
-- then recomputed from the enabled entries (chunks are unchanged).

create or replace function inbox.kb_text_stats_apply() returns trigger language plpgsql as $$
declare
  delta text;
  live text := case tg_table_name when 'faq_qa' then ' and enabled' else '' end;
begin
  -- one signed row per searchable passage added (+1) or removed (-1); an update is both
  delta := case tg_op
    when 'INSERT' then 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null' || live
    when 'DELETE' then 'select tenant_id, tsv, -1 as sign from old_rows where tsv is not null' || live
    else 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null' || live ||
         ' union all select tenant_id, tsv, -1 from old_rows where tsv is not null' || live end;
  -- only tenants that still exist (0194: a deleted tenant's passages go by cascade after its row)
  delta := 'select x.* from (' || delta || ') x where exists '
           '(select 1 from core.tenants t where t.tenant_id = x.tenant_id)';
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

-- the FAQ statistics from the enabled entries (as 0055 built them, owner connection)
delete from inbox.kb_text_stats where source = 'faq_qa';
delete from inbox.kb_lexemes where source = 'faq_qa';
insert into inbox.kb_text_stats (tenant_id, source, passages, total_length)
select tenant_id, 'faq_qa', count(*), sum(length(tsv)) from inbox.faq_qa
where tsv is not null and enabled group by tenant_id;
insert into inbox.kb_lexemes (tenant_id, source, lexeme, df)
select f.tenant_id, 'faq_qa', u.lexeme, count(*) from inbox.faq_qa f, unnest(f.tsv) u
where f.enabled group by f.tenant_id, u.lexeme;
