-- 0192 the knowledge base's full-text GIN indexes keyed by tenant too (issue 11, search
-- latency), when btree_gin is there (core/extensions.py): gin (tenant_id, tsv). With gin (tsv)
-- alone, a query's lexemes returned every tenant's passages holding them, each read from the
-- heap and dropped unless it was the tenant's (10 tenants × 100,000 chunks sharing a
-- vocabulary: ~10 rows read per row kept; 33 ms of server CPU per query for the candidates).
-- A multicolumn GIN index intersects the tenant's entry with the lexemes' inside the index
-- (PostgreSQL docs, "GIN Indexes" and btree_gin). Same index names: readers need not know. On a
-- large install the rebuild holds a lock on writes to the table for its duration.
do $$
begin
  if exists (select 1 from pg_extension where extname = 'btree_gin') then
    drop index inbox.knowledge_chunks_tsv;
    create index knowledge_chunks_tsv on inbox.knowledge_chunks using gin (tenant_id, tsv);
    drop index inbox.faq_qa_tsv;
    create index faq_qa_tsv on inbox.faq_qa using gin (tenant_id, tsv);
  end if;
end
$$;
