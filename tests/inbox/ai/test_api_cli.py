"""The inbox AI through the API and the CLI: upload, index, search, settings, examples,
calibration, evaluation, decisions and labels."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.inbox.ai import kb
from tests.api.conftest import make_key
from tests.inbox.ai.conftest import ANSWERABLE, FAQ, UNANSWERABLE, kb_tenant


def test_kb_and_ai_through_the_api(client, hook_db):
    t = kb_tenant(hook_db, faq=False)
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t)})
    base = f"/api/v1/tenants/{t.client_key}/inbox"
    doc = base64.b64encode(b"# Returns\n\nReturns are free within 30 days.").decode()
    r = api.post(f"{base}/kb/documents", json={"filename": "returns.md", "content_base64": doc})
    assert r.status_code == 202 and r.json()["created"] is True
    did = r.json()["document_id"]
    assert api.post(f"{base}/kb/documents", json={"filename": "r.md", "content_base64": doc}
                    ).json() == {"document_id": did, "status": "processing", "created": False}
    bad = api.post(f"{base}/kb/documents", json={"filename": "x.md", "content_base64": "!!!!"})
    assert bad.status_code == 422 and "base64" in bad.text
    assert api.post(f"{base}/kb/documents", json={"filename": "x.exe", "content_base64": doc}
                    ).status_code == 422
    kb.index_document(hook_db, tenant_id=t.tenant_id, document_id=did)
    (d,) = api.get(f"{base}/kb/documents").json()
    assert (d["status"], d["chunk_count"], d["lang_code"]) == ("indexed", 1, "en")
    r = api.post(f"{base}/kb/faq", json={"entries": FAQ})
    assert r.status_code == 201 and len(r.json()) == len(FAQ)
    hits = api.get(f"{base}/kb/search", params={"q": "are returns free?"}).json()
    assert hits[0]["kind"] == "chunk" and hits[0]["title"] == "returns.md"
    s = api.patch(f"{base}/ai/settings", json={"ai_enabled_for_conversations": True,
                                                "target_precision": 0.9}).json()
    assert s["ai_enabled_for_conversations"] is True and s["reply_threshold"] is None
    assert api.patch(f"{base}/ai/settings", json={"target_precision": 1.5}).status_code == 422
    rules = api.put(f"{base}/ai/rules", json={"ignore_examples": ["free crypto"]}).json()
    assert rules == {"instructions": None, "ignore_examples": ["free crypto"],
                     "ai_control_enabled": True}
    few = api.post(f"{base}/ai/examples", json={"examples": [{"text": "hi", "label": "escalate"}]})
    assert few.status_code == 201
    assert "at least 30" in api.post(f"{base}/ai/calibrate").text
    ex = ([{"text": q, "label": "answer", "expected": e} for q, e in ANSWERABLE]
          + [{"text": q, "label": "escalate"} for q in UNANSWERABLE])
    assert api.post(f"{base}/ai/examples", json={"examples": ex}).json() == {"stored": len(ex)}
    cal = api.post(f"{base}/ai/calibrate").json()
    assert cal["n"] == len(ex) + 1 and cal["curve"]
    assert api.get(f"{base}/ai/settings").json()["reply_threshold"] == round(cal["threshold"], 4)
    assert api.delete(f"{base}/kb/documents/{did}").status_code == 204
    assert api.delete(f"{base}/kb/documents/{did}").status_code == 404
    assert api.get(f"{base}/ai/decisions").json()["total"] == 0


def test_cli_add_search_calibrate_evaluate(db, tmp_path, monkeypatch):
    from growthops.cli import app
    from growthops.core import db as core_db

    monkeypatch.setattr(core_db, "_db", db)
    t = kb_tenant(db, faq=False)
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n" + "".join(
        f"\"{e['question']}\",\"{e['answer']}\"\n" for e in FAQ), encoding="utf-8")
    doc = tmp_path / "hours.txt"
    doc.write_text("The shop closes at noon on public holidays.", encoding="utf-8")
    ex = tmp_path / "examples.csv"
    ex.write_text("text,label,expected\n" + "".join(f"\"{q}\",answer,\"{e}\"\n" for q, e in ANSWERABLE)
                  + "".join(f"\"{q}\",escalate,\n" for q in UNANSWERABLE), encoding="utf-8")
    run = CliRunner().invoke
    k = t.client_key
    r = run(app, ["inbox", "kb", "add", "--tenant", k, str(doc), "--faq-csv", str(faq)])
    assert r.exit_code == 0, r.output
    assert "5 FAQ entries stored" in r.output and "indexed" in r.output
    r = run(app, ["inbox", "kb", "search", "--tenant", k, "closed on public holidays?"])
    assert r.exit_code == 0 and "hours.txt" in r.output
    assert run(app, ["inbox", "ai", "examples", "--tenant", k, str(ex)]).exit_code == 0
    r = run(app, ["inbox", "ai", "calibrate", "--tenant", k])
    assert r.exit_code == 0 and "Threshold" in r.output, r.output
    r = run(app, ["inbox", "kb", "train", "--tenant", k, "--lang", "fr"])  # one phrasing each
    assert r.exit_code == 0 and "Pas de classifieur de réponses" in r.output, r.output
    r = run(app, ["inbox", "ai", "evaluate", "--tenant", k])
    assert r.exit_code == 0 and "hybrid" in r.output and "recall" in r.output, r.output
    r = run(app, ["inbox", "kb", "list", "--tenant", k])
    assert "hours.txt" in r.output and "FAQ: 5 entries" in r.output
