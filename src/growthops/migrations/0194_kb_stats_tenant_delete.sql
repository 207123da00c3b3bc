-- 0194 deleting a tenant that has a knowledge base failed (issue 11): the cascade deletes its
-- passages after its row, and the text statistics' statement trigger (0055) then upserted
-- negative counts for the deleted tenant into inbox.kb_text_stats / inbox.kb_lexemes, whose
-- foreign key to core.tenants rejected them. The trigger now skips tenants that no longer exist
-- (their statistics are deleted by their own cascade). Same function otherwise.

create or replace function inbox.kb_text_stats_apply() returns trigger language plpgsql as $$
declare
  delta text;
begin
  -- one signed row per passage added (+1) or removed (-1); an update is both
  delta := case tg_op
    when 'INSERT' then 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null'
    when 'DELETE' then 'select tenant_id, tsv, -1 as sign from old_rows where tsv is not null'
    else 'select tenant_id, tsv, 1 as sign from new_rows where tsv is not null
          union all select tenant_id, tsv, -1 from old_rows where tsv is not null' end;
  -- only tenants that still exist: when a tenant is deleted, its passages go by cascade after
  -- its row, and its statistics go with it (their own cascade); counting them down would insert
  -- rows referencing the deleted tenant (a foreign-key violation that aborted the deletion)
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
