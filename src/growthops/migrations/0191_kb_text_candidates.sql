-- 0191 full-text candidates of the tenant's knowledge base through the GIN indexes (issue 11,
-- search latency). Under row-level security the planner may use a WHERE clause as an index
-- condition ahead of the policy's own only when its operator is LEAKPROOF
-- (restriction_is_securely_promotable; PostgreSQL docs, CREATE FUNCTION: LEAKPROOF, and "Rules
-- and Privileges" on security barriers). tsvector @@ tsquery (ts_match_vq) is not, so for the
-- application role the GIN indexes knowledge_chunks_tsv / faq_qa_tsv were never used: every
-- search read the tenant's whole knowledge base and tested each tsvector (at 10 × 100,000 chunks
-- a parallel sequential scan of the table, 113 ms of server CPU per query). This function runs
-- as the owner (SECURITY DEFINER, like core.tenant_directory), which the policies do not bind
-- when it is a superuser or has BYPASSRLS (the embedded server's postgres; otherwise FORCE ROW
-- LEVEL SECURITY still applies and the function is merely as slow as before). It returns only
-- the calling transaction's tenant's rows: p_tenant must be core.current_tenant_id(), the
-- policy's own test, else nothing. EXECUTE plans each call with the query's value, so the
-- planner estimates its selectivity from the tsvector statistics. p_limit: at most that many
-- rows per table (NULL: all).
create function inbox.kb_text_candidates(p_tenant uuid, p_query tsquery, p_limit int)
returns table (kind text, ref_id bigint, tsv tsvector)
language plpgsql stable security definer set search_path = inbox, core, pg_temp
as $$
begin
  if p_tenant is null or p_tenant is distinct from core.current_tenant_id() then
    return;
  end if;
  return query execute
    '(select ''faq''::text, f.faq_id, f.tsv from inbox.faq_qa f
       where f.tenant_id = $1 and f.enabled and f.tsv @@ $2 limit $3)
     union all
     (select ''chunk''::text, c.chunk_id, c.tsv from inbox.knowledge_chunks c
       where c.tenant_id = $1 and c.tsv @@ $2 limit $3)'
    using p_tenant, p_query, p_limit;
end
$$;
revoke all on function inbox.kb_text_candidates(uuid, tsquery, int) from public;
grant execute on function inbox.kb_text_candidates(uuid, tsquery, int) to growthops_app;
