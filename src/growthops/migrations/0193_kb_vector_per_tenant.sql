-- 0193 one HNSW graph per large tenant instead of one over every tenant (issue 11, search
-- latency and recall). The all-tenant indexes knowledge_chunks_embedding and faq_qa_embedding
-- (0050) served a tenant's search with the tenant filter applied during the graph scan
-- (pgvector iterative scans): at 10 tenants x 100,000 chunks, ef_search 400, the vector branch's
-- recall@10 was 0.945 over 1,000 queries and the hybrid search's p95 66.8 ms (docs/inbox-ai.md).
-- Now a source of a tenant of at most EXACT_MAX passages is searched exactly (every distance:
-- no index serves it) and a larger one through its own partial index,
-- <table>_embedding_<tenant hex> ... where tenant_id = '<uuid>', built by the job
-- inbox.ai_sweep (growthops.inbox.ai.vector_index.ensure; CREATE INDEX CONCURRENTLY cannot run
-- in a migration's transaction). Until that job has run, a large tenant is searched exactly
-- (recall 1, slower). The all-tenant indexes would only cost memory and every insert's graph
-- update.
drop index if exists inbox.knowledge_chunks_embedding;
drop index if exists inbox.faq_qa_embedding;
