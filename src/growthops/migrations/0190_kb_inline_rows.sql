-- 0190 knowledge-base rows stored inline (issue 11, search latency). A knowledge chunk's row is
-- about 2.1 kB with the hashed embedder's bench texts (vector(384) 1,544 bytes, tsvector ~250,
-- text ~150, bench/kb_search.py): above PostgreSQL's 2,032-byte TOAST_TUPLE_THRESHOLD, so the
-- toaster moved the largest value, the embedding (pgvector's vector type is EXTERNAL), out of
-- line for most rows: every distance computed from the heap (the vector branch's exact re-sort,
-- the exact search when the planner prefers it to the HNSW index) fetched it from the TOAST
-- table through its index (10 × 5,000 bench: TOAST table 46 MB beside a 59 MB heap; the exact
-- search read ~2 buffers per row). toast_tuple_target (PostgreSQL docs, CREATE TABLE, storage
-- parameters: "the minimum tuple length required before we try to compress and/or move long
-- column values into TOAST tables", 128 to 8160) set to its maximum keeps any row that fits a
-- page inline; longer rows are still compressed and moved out, as before. Existing rows keep
-- their storage until rewritten (VACUUM FULL, or re-indexing the document).
alter table inbox.knowledge_chunks set (toast_tuple_target = 8160);
alter table inbox.faq_qa set (toast_tuple_target = 8160);
