"""Knowledge base ingestion: extraction per type, chunking with offsets, languages, FAQ import,
idempotency and failure reasons."""

from __future__ import annotations

import io

import pytest

from growthops.core.errors import InvalidInput
from growthops.inbox.ai import chunking, extract, kb
from tests.inbox.ai.conftest import kb_tenant

LONG_EN = " ".join(f"Sentence number {i} explains the return policy in detail for case {i}."
                   for i in range(40))
FR_DOC = ("# Politique de retour\n\nVous pouvez retourner un article sous 30 jours. "
          "Le remboursement est effectué sous 5 jours ouvrés après réception. "
          "Les frais de retour sont offerts pour les commandes supérieures à 50 €.")


def _pdf_bytes(text: str) -> bytes:
    """A one-page PDF with ``text`` in a Helvetica text layer (written by hand, no library)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
            + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + o + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF"
              .encode())
    return out.getvalue()


def test_chunks_cut_on_sentences_with_overlap_and_exact_offsets():
    chunks = chunking.chunk(LONG_EN)
    assert len(chunks) > 3
    for c in chunks:
        assert LONG_EN[c.start_char:c.end_char] == c.content
        assert len(c.content) <= chunking.MAX_CHARS
        assert c.content.endswith(".")  # a sentence boundary, never mid-sentence
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start_char < a.end_char  # overlap
        assert b.start_char > a.start_char  # progress


def test_abbreviation_followed_by_lower_case_does_not_end_a_sentence():
    spans = chunking.sentences("Bring e.g. a receipt. Then wait.")
    assert len(spans) == 2


def test_extract_each_kind():
    assert extract.extract(b"<html><head><script>alert(1)</script></head><body><h1>Title</h1>"
                           b"<p>Para &amp; more</p></body></html>", "html") == "Title\n\nPara & more"
    assert "Politique de retour" in extract.extract(FR_DOC.encode(), "md")
    assert "#" not in extract.extract(FR_DOC.encode(), "md")
    assert extract.extract(_pdf_bytes("Refunds within 30 days"), "pdf") == "Refunds within 30 days"
    with pytest.raises(extract.ExtractError, match="not UTF-8"):
        extract.extract(b"\xff\xfe\xfa", "txt")
    with pytest.raises(extract.ExtractError, match="unreadable PDF"):
        extract.extract(b"%PDF-1.4 garbage", "pdf")
    with pytest.raises(extract.ExtractError, match="unsupported"):
        extract.kind_of("slides.pptx")


def test_ingest_indexes_documents_with_language_and_tsvector(db):
    t = kb_tenant(db, faq=False)
    with db.tenant_tx(t.tenant_id) as conn:
        fr = kb.add_document(conn, tenant_id=t.tenant_id, title="Retours", filename="retours.md",
                             data=FR_DOC.encode())
        en = kb.add_document(conn, tenant_id=t.tenant_id, title="Policy", filename="p.txt",
                             data=LONG_EN.encode())
        again = kb.add_document(conn, tenant_id=t.tenant_id, title="Other", filename="x.md",
                                data=FR_DOC.encode())
        assert kb.pending_documents(conn, tenant_id=t.tenant_id) == [fr["document_id"],
                                                                      en["document_id"]]
    assert again == {**fr, "created": False}
    assert kb.index_document(db, tenant_id=t.tenant_id, document_id=fr["document_id"])["status"] \
        == "indexed"
    res = kb.index_document(db, tenant_id=t.tenant_id, document_id=en["document_id"])
    assert res["chunks"] > 3
    with db.tenant_tx(t.tenant_id) as conn:
        docs = {d["document_id"]: d for d in kb.list_documents(conn, tenant_id=t.tenant_id)}
        assert docs[fr["document_id"]]["lang_code"] == "fr"
        assert docs[fr["document_id"]]["tsconfig"] == "french"
        assert docs[en["document_id"]]["tsconfig"] == "english"
        # French stems with accents folded: "remboursé" and "rembourse" find the same chunk
        n = conn.execute(
            """select count(*) n from inbox.knowledge_chunks where tenant_id = %s
               and tsv @@ to_tsquery('french', inbox.kb_fold('remboursés'))""",
            [t.tenant_id]).fetchone()["n"]
        assert n == 1
        offsets = conn.execute(
            """select bool_and(end_char > start_char) ok, count(*) n
               from inbox.knowledge_chunks where tenant_id = %s and document_id = %s""",
            [t.tenant_id, en["document_id"]]).fetchone()
        assert offsets["ok"] and offsets["n"] == res["chunks"]


def test_a_bad_document_fails_with_its_reason_and_nothing_else(db):
    t = kb_tenant(db, faq=False)
    with db.tenant_tx(t.tenant_id) as conn:
        d = kb.add_document(conn, tenant_id=t.tenant_id, title="Scan", filename="scan.pdf",
                            data=b"%PDF-1.4 not really")
    res = kb.index_document(db, tenant_id=t.tenant_id, document_id=d["document_id"])
    assert res["status"] == "failed" and "unreadable PDF" in res["reason"]
    with db.tenant_tx(t.tenant_id) as conn:
        row = kb.list_documents(conn, tenant_id=t.tenant_id)[0]
        assert row["status"] == "failed" and "unreadable PDF" in row["status_reason"]
        assert conn.execute("select count(*) n from inbox.knowledge_chunks where tenant_id = %s",
                            [t.tenant_id]).fetchone()["n"] == 0


def test_faq_csv_import_names_the_bad_row_and_stores_nothing(db):
    t = kb_tenant(db, faq=False)
    bad = "question,answer\nWhere are you?,Paris\nEmpty answer,\n"
    with pytest.raises(InvalidInput, match="row 3"), db.tenant_tx(t.tenant_id) as conn:
        kb.import_faq_csv(conn, tenant_id=t.tenant_id, data=bad)
    with pytest.raises(InvalidInput, match="missing column"), db.tenant_tx(t.tenant_id) as conn:
        kb.import_faq_csv(conn, tenant_id=t.tenant_id, data="q,a\nx,y\n")
    good = "question,answer,keywords\nWhere are you?,Paris,address;shop\nWHERE ARE YOU?,Lyon,\n"
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from inbox.faq_qa where tenant_id = %s",
                            [t.tenant_id]).fetchone()["n"] == 0
        ids = kb.import_faq_csv(conn, tenant_id=t.tenant_id, data=good)
        assert ids[0] == ids[1]  # the same question (case-insensitive) is one entry, the last wins
        rows = kb.list_faq(conn, tenant_id=t.tenant_id)
        assert [(r["answer"], r["source"]) for r in rows] == [("Lyon", "csv")]


def test_the_sweep_indexes_uploads_left_processing(db):
    from growthops.inbox.jobs import sweep_ai

    t = kb_tenant(db, faq=False)
    with db.tenant_tx(t.tenant_id) as conn:
        d = kb.add_document(conn, tenant_id=t.tenant_id, title="Hours", filename="h.html",
                            data=b"<p>We open at nine.</p>")
    out = sweep_ai(db)
    assert out["indexed"] >= 1
    with db.tenant_tx(t.tenant_id) as conn:
        row = kb.list_documents(conn, tenant_id=t.tenant_id)[0]
    assert (row["document_id"], row["status"], row["chunk_count"]) == (d["document_id"],
                                                                       "indexed", 1)
