-- 0195 impact-ordered postings for the full-text branch of large knowledge bases (issue 11,
-- search latency). Beyond EXHAUSTIVE passages, growthops.inbox.ai.search read its candidates
-- through the GIN index (inbox.kb_text_candidates: up to 4,000 rows, each on its own heap page
-- of the wide chunk rows), ranked them all with ts_rank and unnested the best 400 tsvectors for
-- BM25: at 10 tenants x 100,000 chunks that was ~18 ms of a hybrid search's ~25 (p95 ~40),
-- docs/inbox-ai.md. Here each passage's lexemes are stored once more, one row per (passage,
-- lexeme) with the BM25 inputs (tf, dl), in a btree ordered by tenant, lexeme and a
-- corpus-independent impact w: the search reads, for each query lexeme, the postings of highest
-- impact first and only so many of them (an impact-ordered index with early termination: Anh &
-- Moffat, "Pruned query evaluation using pre-computed impacts", SIGIR 2006), from the index
-- alone (index-only scan), and computes the exact BM25 contribution of each from tf, dl and
-- the tenant's current N, df and avgdl (kb_text_stats, kb_lexemes).
--
-- w = tf / (tf + 1.2 * (0.25 + 0.75 * dl / 20)): BM25's term-frequency saturation (k1 1.2,
-- b 0.75) with a fixed reference length of 20 lexemes, so it depends on the row alone and the
-- trigger can find a removed passage's rows by the primary key; it orders a lexeme's postings,
-- the score itself uses the tenant's avgdl. tf counts a lexeme's positions, those of weight A
-- (an FAQ's question) twice (search.QUESTION_BOOST); dl is length(tsv). Disabled FAQ entries
-- have no postings. Kept by statement-level triggers with transition tables (set-based, like
-- kb_text_stats, 0055), running as the writer under its tenant's row-level security; no foreign
-- key to core.tenants (a row-level check per posting would cost more than the insert): a
-- deleted tenant's postings go with its passages (the cascade's delete fires the trigger).
-- Cost: ~15 rows per chunk (10 x 100,000 chunks: see docs/inbox-ai.md for the sizes).

create function inbox.kb_postings_of(p_tsv tsvector)
returns table (lexeme text, w real, tf smallint, dl smallint)
language sql immutable parallel safe strict
as $$
  select u.lexeme,
         (t.tf::float8 / (t.tf + 1.2::float8 * (0.25 + 0.75 * length(p_tsv)::float8 / 20)))::real,
         least(t.tf, 32767)::smallint, least(length(p_tsv), 32767)::smallint
  from unnest(p_tsv) u
  cross join lateral (select coalesce(array_length(u.positions, 1), 1)
                             + coalesce(array_length(array_positions(u.weights, 'A'), 1), 0)
                             as tf) t
$$;

create table inbox.kb_postings (
  tenant_id uuid not null,
  lexeme text not null,
  w real not null,
  src "char" not null check (src in ('f', 'c')),  -- f: inbox.faq_qa, c: inbox.knowledge_chunks
  ref_id bigint not null,                          -- faq_id or chunk_id
  tf smallint not null,
  dl smallint not null,
  primary key (tenant_id, lexeme, w, src, ref_id) include (tf, dl)
);
call core.enable_tenant_rls('inbox.kb_postings');

create function inbox.kb_postings_apply() returns trigger language plpgsql as $$
declare
  key text := case tg_table_name when 'faq_qa' then 'faq_id' else 'chunk_id' end;
  src text := case tg_table_name when 'faq_qa' then 'f' else 'c' end;
  live text := case tg_table_name when 'faq_qa' then 'r.enabled' else 'true' end;
  changed text := 'true';
begin
  if tg_op = 'UPDATE' then
    -- only the rows whose text (or, for the FAQ, whether it is enabled) changed
    changed := format('not exists (select 1 from %s o where o.%I = r.%I and o.tsv = r.tsv%s)',
                      '%s', key, key,
                      case tg_table_name when 'faq_qa' then ' and o.enabled = r.enabled' else '' end);
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from inbox.kb_postings p
      using (select r.tenant_id, r.%1$I as ref_id, x.lexeme, x.w
             from old_rows r cross join lateral inbox.kb_postings_of(r.tsv) x
             where %3$s and %4$s) d
      where p.tenant_id = d.tenant_id and p.lexeme = d.lexeme and p.w = d.w
        and p.src = %2$L and p.ref_id = d.ref_id$q$,
      key, src, live, format(changed, 'new_rows'));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    execute format($q$
      insert into inbox.kb_postings (tenant_id, lexeme, w, src, ref_id, tf, dl)
      select r.tenant_id, x.lexeme, x.w, %2$L, r.%1$I, x.tf, x.dl
      from new_rows r cross join lateral inbox.kb_postings_of(r.tsv) x
      where %3$s and %4$s$q$,
      key, src, live, format(changed, 'old_rows'));
  end if;
  return null;
end
$$;

create trigger faq_qa_postings_ins after insert on inbox.faq_qa
  referencing new table as new_rows for each statement execute function inbox.kb_postings_apply();
create trigger faq_qa_postings_upd after update on inbox.faq_qa
  referencing old table as old_rows new table as new_rows
  for each statement execute function inbox.kb_postings_apply();
create trigger faq_qa_postings_del after delete on inbox.faq_qa
  referencing old table as old_rows for each statement execute function inbox.kb_postings_apply();
create trigger knowledge_chunks_postings_ins after insert on inbox.knowledge_chunks
  referencing new table as new_rows for each statement execute function inbox.kb_postings_apply();
create trigger knowledge_chunks_postings_upd after update on inbox.knowledge_chunks
  referencing old table as old_rows new table as new_rows
  for each statement execute function inbox.kb_postings_apply();
create trigger knowledge_chunks_postings_del after delete on inbox.knowledge_chunks
  referencing old table as old_rows for each statement execute function inbox.kb_postings_apply();

-- what is already there (the primary key built once, after the rows)
alter table inbox.kb_postings drop constraint kb_postings_pkey;
insert into inbox.kb_postings (tenant_id, lexeme, w, src, ref_id, tf, dl)
select f.tenant_id, x.lexeme, x.w, 'f', f.faq_id, x.tf, x.dl
from inbox.faq_qa f cross join lateral inbox.kb_postings_of(f.tsv) x where f.enabled;
insert into inbox.kb_postings (tenant_id, lexeme, w, src, ref_id, tf, dl)
select c.tenant_id, x.lexeme, x.w, 'c', c.chunk_id, x.tf, x.dl
from inbox.knowledge_chunks c cross join lateral inbox.kb_postings_of(c.tsv) x;
alter table inbox.kb_postings add primary key (tenant_id, lexeme, w, src, ref_id) include (tf, dl);
