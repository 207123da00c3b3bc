"""The knowledge base: documents (txt, md, html, pdf) and FAQ entries, per tenant.

Documents: :func:`add_document` stores the upload with status ``processing`` (the same bytes
twice are one document: unique ``content_sha256``); :func:`index_document` (the job
``inbox.kb_index``, or the CLI directly) extracts the text (:mod:`.extract`), detects its
language (:func:`growthops.core.ai.langid.detect`, English or French; overridable), cuts it into
chunks (:mod:`.chunking`), embeds them and stores them with their ``tsvector`` in one
transaction, then sets ``indexed`` (or ``failed`` with the reason, nothing else changed).

Full-text configuration per language: ``en`` → ``english``, ``fr`` → ``french`` (Snowball
stemmers), over :sql:`inbox.kb_fold` (accents folded with ``unaccent``).

FAQ entries: :func:`add_faq` (a form, the API) and :func:`import_faq_csv` (columns ``question``,
``answer``, optional ``category``, ``keywords`` separated by ``;``, ``lang``); a question already
there (same text, case-insensitive) is updated, not duplicated. The FAQ's vector is the
question's (a customer message is matched against questions, the answer is what is sent).
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.core.ai.remote_embeddings import EmbeddingError
from growthops.core.errors import InvalidInput, NotFound
from growthops.inbox import credits
from growthops.inbox.ai import chunking, extract
from growthops.inbox.ai.config import tenant_embedder

TSCONFIG = {"en": "english", "fr": "french"}
LANGS = ("en", "fr")


def has_vector(conn: Any) -> bool:
    """True when pgvector is installed (else the vector branch is off)."""
    from growthops.core.extensions import available_extensions

    return "vector" in available_extensions(conn)


def vector_literal(vecs: np.ndarray, pgvector: bool) -> list[str]:
    """Text literals of the rows of ``vecs`` (``(n, d)``): ``[..]`` for pgvector, ``{..}`` for
    ``real[]``; each value with 6 significant digits (``%.6g``).

    One ``%`` formatting per row (a C loop) rather than an f-string per value: the same text,
    about 3× faster (``bench/kb_search.py`` spent most of its loading time here)."""
    arr = np.asarray(vecs)
    if arr.ndim != 2 or not arr.shape[0]:
        return []
    left, right = ("[", "]") if pgvector else ("{", "}")
    fmt = left + ",".join(["%.6g"] * arr.shape[1]) + right
    return [fmt % tuple(row) for row in arr.tolist()]


def detect_lang(text: str) -> str:
    """English or French, from the first 5,000 characters."""
    from growthops.core.ai.langid import detect

    return detect(text[:5000])[0]


# ---------------------------------------------------------------------------------- documents
def add_document(conn: Any, *, tenant_id: UUID | str, title: str, filename: str, data: bytes,
                 lang: str | None = None, created_by: str | None = None) -> dict[str, Any]:
    """Store an upload for indexing; return ``{document_id, status, created}``.

    ``created`` is False when the same bytes were uploaded before (that document is returned).
    Raises :class:`InvalidInput` for an unsupported type, an empty or too large file, an empty
    title or an unknown ``lang``; :class:`growthops.inbox.credits.PlanLimit` when the document
    would take the tenant past its plan's knowledge-base storage (nothing stored).
    """
    try:
        kind = extract.kind_of(filename)
    except extract.ExtractError as exc:
        raise InvalidInput(str(exc)) from None
    title = (title or filename).strip()[:300]
    if not title:
        raise InvalidInput("title: required")
    if not data:
        raise InvalidInput(f"file {filename!r}: empty")
    if len(data) > extract.MAX_BYTES:
        raise InvalidInput(f"file {filename!r}: over {extract.MAX_BYTES} bytes")
    if lang is not None and lang not in LANGS:
        raise InvalidInput(f"lang: one of {', '.join(LANGS)}")
    sha = hashlib.sha256(data).hexdigest()
    with conn.transaction():  # the plan's storage limit (credits.kb_ingest) undoes the insert
        row = conn.execute(
            """insert into inbox.knowledge_documents
                 (tenant_id, title, source_kind, content, content_sha256, file_size_bytes,
                  lang_code, lang_overridden, created_by)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (tenant_id, content_sha256) do nothing
               returning document_id, status""",
            [str(tenant_id), title, kind, data, sha, len(data), lang, lang is not None,
             created_by]).fetchone()
        if row is not None:
            credits.kb_ingest(conn, tenant_id=tenant_id, document_id=row["document_id"],
                              size=len(data))
    if row is not None:
        return {"document_id": row["document_id"], "status": row["status"], "created": True}
    old = conn.execute("""select document_id, status from inbox.knowledge_documents
                          where tenant_id = %s and content_sha256 = %s""",
                       [str(tenant_id), sha]).fetchone()
    return {"document_id": old["document_id"], "status": old["status"], "created": False}


def index_document(db: Any, *, tenant_id: UUID | str, document_id: int) -> dict[str, Any]:
    """Index one document (see the module); return ``{document_id, status, chunks, reason}``.

    A document already indexed with the tenant's current embedder is left as it is. Extraction
    failures and lasting embedding-endpoint errors (a wrong width, HTTP 4xx) mark it ``failed``
    with the reason; other errors propagate (the job retries).
    """
    tid = str(tenant_id)
    with db.tenant_tx(tid) as conn:
        doc = conn.execute("""select * from inbox.knowledge_documents
                              where tenant_id = %s and document_id = %s for update""",
                           [tid, document_id]).fetchone()
        if doc is None:
            raise NotFound(f"document: no document {document_id} for this tenant")
        embedder = tenant_embedder(conn, tenant_id=tid)
        if doc["status"] == "indexed" and doc["embedding_model"] == embedder.name:
            return {"document_id": document_id, "status": "indexed",
                    "chunks": doc["chunk_count"], "reason": None}
        try:
            text = extract.extract(bytes(doc["content"]), doc["source_kind"], name=doc["title"])
        except extract.ExtractError as exc:
            conn.execute("""update inbox.knowledge_documents set status = 'failed',
                              status_reason = %s, updated_at = now()
                            where tenant_id = %s and document_id = %s""",
                         [str(exc), tid, document_id])
            return {"document_id": document_id, "status": "failed", "chunks": 0,
                    "reason": str(exc)}
        lang = doc["lang_code"] if doc["lang_overridden"] and doc["lang_code"] else detect_lang(text)
        chunks = chunking.chunk(text)
        try:
            vecs = embedder.embed([c.content for c in chunks])
        except EmbeddingError as exc:
            if exc.transient:
                raise  # the job retries
            conn.execute("""update inbox.knowledge_documents set status = 'failed',
                              status_reason = %s, updated_at = now()
                            where tenant_id = %s and document_id = %s""",
                         [str(exc), tid, document_id])
            return {"document_id": document_id, "status": "failed", "chunks": 0,
                    "reason": str(exc)}
        _store_chunks(conn, tid, document_id, chunks, vecs, lang, embedder.name)
        conn.execute(
            """update inbox.knowledge_documents set status = 'indexed', status_reason = null,
                 lang_code = %s, tsconfig = %s, chunk_count = %s, embedding_model = %s,
                 last_ingested_at = now(), updated_at = now()
               where tenant_id = %s and document_id = %s""",
            [lang, TSCONFIG[lang], len(chunks), embedder.name, tid, document_id])
    return {"document_id": document_id, "status": "indexed", "chunks": len(chunks), "reason": None}


def _store_chunks(conn: Any, tid: str, document_id: int, chunks: list[chunking.Chunk],
                  vecs: np.ndarray, lang: str, model: str) -> None:
    conn.execute("delete from inbox.knowledge_chunks where tenant_id = %s and document_id = %s",
                 [tid, document_id])
    if not chunks:
        return
    pg = has_vector(conn)
    cast = "vector" if pg else "real[]"
    conn.execute(
        f"""insert into inbox.knowledge_chunks
              (tenant_id, document_id, chunk_index, content, lang_code, tsconfig, tsv,
               embedding_model, embedding, start_char, end_char, token_count)
            select %(t)s, %(d)s, x.i, x.c, %(l)s, %(cfg)s::text,
                   to_tsvector(%(cfg)s::text::regconfig, inbox.kb_fold(x.c)), %(m)s, x.e::{cast},
                   x.s, x.n, x.k
            from unnest(%(i)s::int[], %(c)s::text[], %(e)s::text[], %(s)s::int[], %(n)s::int[],
                        %(k)s::int[]) as x(i, c, e, s, n, k)""",
        {"t": tid, "d": document_id, "l": lang, "cfg": TSCONFIG[lang], "m": model,
         "i": [c.index for c in chunks], "c": [c.content for c in chunks],
         "e": vector_literal(vecs, pg), "s": [c.start_char for c in chunks],
         "n": [c.end_char for c in chunks], "k": [c.token_count for c in chunks]})


def pending_documents(conn: Any, *, tenant_id: UUID | str, limit: int = 100) -> list[int]:
    """Ids of the tenant's documents still ``processing``, oldest first."""
    return [r["document_id"] for r in conn.execute(
        """select document_id from inbox.knowledge_documents
           where tenant_id = %s and status = 'processing' order by created_at, document_id
           limit %s""",
        [str(tenant_id), limit]).fetchall()]


def list_documents(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """The tenant's documents, newest first (without their bytes)."""
    return conn.execute(
        """select document_id, title, source_kind, file_size_bytes, lang_code, lang_overridden,
                  tsconfig, status, status_reason, chunk_count, embedding_model,
                  last_ingested_at, created_by, created_at
           from inbox.knowledge_documents where tenant_id = %s
           order by created_at desc, document_id desc""", [str(tenant_id)]).fetchall()


def delete_document(conn: Any, *, tenant_id: UUID | str, document_id: int) -> None:
    """Delete a document and its chunks. Raises :class:`NotFound`."""
    n = conn.execute("""delete from inbox.knowledge_documents
                        where tenant_id = %s and document_id = %s""",
                     [str(tenant_id), document_id]).rowcount
    if not n:
        raise NotFound(f"document: no document {document_id} for this tenant")
    credits.kb_storage(conn, tenant_id=tenant_id)


# --------------------------------------------------------------------------------------- FAQ
def add_faq(conn: Any, *, tenant_id: UUID | str, entries: list[dict[str, Any]],
            source: str = "manual", enabled: bool = True,
            keep_existing: bool = False) -> list[int]:
    """Insert or update FAQ entries (``question``, ``answer``, optional ``category``,
    ``keywords`` list, ``lang``, ``metadata`` dict); return their ids in order. Set-based,
    embedded in one batch. ``keep_existing``: a question already there is left as it is and
    its id is not returned (the suggested-FAQ miner never overwrites a person's entry).

    Raises :class:`InvalidInput` naming the entry (1-based) with an empty question or answer,
    texts too long, or an unknown language. Nothing is stored then.
    """
    if not entries:
        return []
    rows = []
    for n, e in enumerate(entries, start=1):
        q = str(e.get("question") or "").strip()
        a = str(e.get("answer") or "").strip()
        if not q or not a:
            raise InvalidInput(f"entry {n}: question and answer are required")
        if len(q) > 2000 or len(a) > 8000:
            raise InvalidInput(f"entry {n}: question ≤ 2,000 and answer ≤ 8,000 characters")
        lang = e.get("lang") or detect_lang(q + "\n" + a)
        if lang not in LANGS:
            raise InvalidInput(f"entry {n}: lang must be one of {', '.join(LANGS)}")
        kw = e.get("keywords") or []
        rows.append((q, a, e.get("category") or None, [str(k) for k in kw], lang,
                     Jsonb(e.get("metadata") or {})))
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):  # the last of duplicated questions wins (one statement)
        seen[r[0].lower()] = i
    rows = [rows[i] for i in sorted(seen.values())]
    embedder = tenant_embedder(conn, tenant_id=tenant_id)
    pg = has_vector(conn)
    vecs = vector_literal(embedder.embed([r[0] for r in rows]), pg)
    cast = "vector" if pg else "real[]"
    update = """question = excluded.question, answer = excluded.answer,
              category = excluded.category, keywords = excluded.keywords,
              lang_code = excluded.lang_code, tsconfig = excluded.tsconfig, tsv = excluded.tsv,
              embedding_model = excluded.embedding_model, embedding = excluded.embedding,
              text_size_bytes = excluded.text_size_bytes, updated_at = now()"""
    conflict = "nothing" if keep_existing else f"update set {update}"
    got = conn.execute(
        f"""insert into inbox.faq_qa (tenant_id, question, answer, category, keywords, lang_code,
                                      tsconfig, tsv, embedding_model, embedding, text_size_bytes,
                                      source, enabled, metadata)
            select %(t)s, x.q, x.a, x.c, coalesce(string_to_array(nullif(x.k, ''), chr(31)),
                                               '{{}}'), x.l,
                   case x.l when 'fr' then 'french' else 'english' end,
                   setweight(to_tsvector((case x.l when 'fr' then 'french' else 'english' end)
                                         ::regconfig, inbox.kb_fold(x.q)), 'A')
                   || setweight(to_tsvector((case x.l when 'fr' then 'french' else 'english' end)
                                            ::regconfig, inbox.kb_fold(x.a)), 'B'),
                   %(m)s, x.e::{cast}, octet_length(x.q) + octet_length(x.a), %(s)s, %(en)s,
                   x.md
            from unnest(%(q)s::text[], %(a)s::text[], %(c)s::text[], %(k)s::text[],
                        %(l)s::text[], %(e)s::text[], %(md)s::jsonb[])
                   with ordinality as x(q, a, c, k, l, e, md, o)
            order by x.o
            on conflict (tenant_id, md5(lower(question))) do {conflict}
            returning faq_id, question""",
        {"t": str(tenant_id), "m": embedder.name, "s": source, "en": enabled,
         "q": [r[0] for r in rows], "a": [r[1] for r in rows], "c": [r[2] for r in rows],
         "k": ["\x1f".join(r[3]) for r in rows], "l": [r[4] for r in rows], "e": vecs,
         "md": [r[5] for r in rows]}).fetchall()
    ids = {r["question"].lower(): r["faq_id"] for r in got}
    out = [ids.get(str(e.get("question")).strip().lower()) for e in entries]
    return [i for i in out if i is not None]


def import_faq_csv(conn: Any, *, tenant_id: UUID | str, data: bytes | str,
                   source: str = "csv") -> list[int]:
    """Import a CSV of FAQ entries (header ``question,answer[,category,keywords,lang]``).

    Raises :class:`InvalidInput` naming the missing header or the bad row (nothing stored).
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    reader = csv.DictReader(io.StringIO(text))
    missing = {"question", "answer"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(f"CSV header: missing column(s) {', '.join(sorted(missing))}")
    entries = []
    for n, r in enumerate(reader, start=2):
        if not (r.get("question") or "").strip() or not (r.get("answer") or "").strip():
            raise InvalidInput(f"CSV row {n}: question and answer are required")
        entries.append({"question": r["question"], "answer": r["answer"],
                        "category": r.get("category") or None,
                        "keywords": [k.strip() for k in (r.get("keywords") or "").split(";")
                                     if k.strip()],
                        "lang": (r.get("lang") or "").strip() or None})
    return add_faq(conn, tenant_id=tenant_id, entries=entries, source=source)


def list_faq(conn: Any, *, tenant_id: UUID | str, source: str | None = None,
             limit: int = 200) -> list[dict[str, Any]]:
    """The tenant's FAQ entries (optionally of one ``source``), newest first."""
    return conn.execute(
        """select faq_id, question, answer, category, keywords, lang_code, source, enabled,
                  embedding_model, created_at, updated_at
           from inbox.faq_qa where tenant_id = %s and (%s::text is null or source = %s)
           order by updated_at desc, faq_id desc limit %s""",
        [str(tenant_id), source, source, limit]).fetchall()


def set_faq_enabled(conn: Any, *, tenant_id: UUID | str, faq_id: int, enabled: bool) -> None:
    """Enable (approve a suggestion) or disable a FAQ entry. Raises :class:`NotFound`."""
    n = conn.execute("""update inbox.faq_qa set enabled = %s, updated_at = now()
                        where tenant_id = %s and faq_id = %s""",
                     [enabled, str(tenant_id), faq_id]).rowcount
    if not n:
        raise NotFound(f"faq: no entry {faq_id} for this tenant")
