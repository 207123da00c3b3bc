"""``growthops inbox kb ...`` (knowledge base) and ``growthops inbox ai ...`` (settings, rules,
labelled examples, calibration, evaluation, decisions).

``kb add`` stores each file and indexes it at once (the same work as the job
``inbox.kb_index``), with a progress bar; ``--faq-csv`` imports FAQ entries.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _

kb_app = typer.Typer(help="The knowledge base the AI answers from: documents, FAQ, search.",
                     no_args_is_help=True)
ai_app = typer.Typer(help="The AI triage: settings, rules, labelled examples, calibration, "
                          "evaluation, decisions.", no_args_is_help=True)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


@kb_app.command("add")
def kb_add(
    tenant: TenantOpt,
    files: Annotated[list[Path] | None, typer.Argument(help="txt, md, html or pdf files.")] = None,
    faq_csv: Annotated[Path | None, typer.Option("--faq-csv", help="FAQ entries: question,"
                                                 "answer[,category,keywords,lang].")] = None,
    doc_lang: Annotated[str | None, typer.Option("--doc-lang", help="en or fr (default: "
                                                 "detected).")] = None,
    lang: LangOpt = "",
) -> None:
    """Add documents (indexed now) and/or FAQ entries from a CSV."""
    from growthops.inbox.ai import kb

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    db = get_db()
    if not files and faq_csv is None:
        raise InvalidInput(_(lg, "give files to add or --faq-csv"))
    if faq_csv is not None:
        with db.tenant_tx(tid) as conn:
            ids = kb.import_faq_csv(conn, tenant_id=tid, data=faq_csv.read_bytes())
        console.print(_(lg, "{n} FAQ entries stored.", n=len(set(ids))))
    results = []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(_(lg, "Indexing"), total=len(files or []))
        for f in files or []:
            with db.tenant_tx(tid) as conn:
                doc = kb.add_document(conn, tenant_id=tid, title=f.name, filename=f.name,
                                      data=f.read_bytes(), lang=doc_lang, created_by="cli")
            results.append((f.name, kb.index_document(db, tenant_id=tid,
                                                      document_id=doc["document_id"])))
            bar.advance(task)
    if results:
        table = Table(_(lg, "file"), _(lg, "id"), _(lg, "status"), _(lg, "chunks"),
                      _(lg, "reason"), title=_(lg, "Documents added"))
        for name, r in results:
            table.add_row(name, str(r["document_id"]), r["status"], str(r["chunks"]),
                          r["reason"] or "")
        console.print(table)


@kb_app.command("list")
def kb_list(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """List the documents and the number of FAQ entries."""
    from growthops.inbox.ai import kb

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        docs = kb.list_documents(conn, tenant_id=tid)
        faq = kb.list_faq(conn, tenant_id=tid, limit=100_000)
    table = Table(_(lg, "id"), _(lg, "title"), _(lg, "type"), _(lg, "language"),
                  _(lg, "status"), _(lg, "chunks"), _(lg, "model"),
                  title=_(lg, "Knowledge base of {tenant}", tenant=tenant))
    for d in docs:
        status = d["status"] + (f" ({d['status_reason']})" if d["status_reason"] else "")
        table.add_row(str(d["document_id"]), d["title"], d["source_kind"], d["lang_code"] or "–",
                      status, str(d["chunk_count"]), d["embedding_model"] or "–")
    console.print(table)
    console.print(_(lg, "FAQ: {n} entries ({s} suggested, waiting for approval).", n=len(faq),
                    s=sum(1 for r in faq if r["source"] == "suggested" and not r["enabled"])))


@kb_app.command("search")
def kb_search(
    tenant: TenantOpt,
    query: Annotated[str, typer.Argument(help="The question.")],
    mode: Annotated[str, typer.Option("--mode", help="hybrid, fulltext or vector.")] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", min=1, max=50)] = 5,
    lang: LangOpt = "",
) -> None:
    """Search the knowledge base; shows each branch's rank and the fused score."""
    from growthops.inbox.ai.search import search

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    db = get_db()
    with db.tenant_tx(tid) as conn:
        try:  # db: a hybrid search's vector branch on a second connection, concurrently
            hits = search(conn, tenant_id=tid, query=query, mode=mode, limit=limit, db=db)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    table = Table("#", _(lg, "source"), _(lg, "passage"), _(lg, "full-text rank"),
                  _(lg, "vector rank"), _(lg, "cosine"), "RRF", title=query)
    for i, h in enumerate(hits, start=1):
        table.add_row(str(i), f"{h.kind} {h.ref_id}: {h.title[:40]}",
                      h.text.replace("\n", " ")[:80], str(h.ft_rank or "–"),
                      str(h.vec_rank or "–"), "–" if h.cosine is None else f"{h.cosine:.3f}",
                      f"{h.rrf:.4f}")
    console.print(table)


@kb_app.command("train")
def kb_train(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Train the tenant's answer classifier on its FAQ phrasings now (the hourly job does it
    when they change), then refit the calibration if the tenant has one."""
    from growthops.inbox.ai import answer_model, calibrate

    lg = _lang(lang)
    db, tid = get_db(), _tenant_id(tenant)
    with console.status(_(lg, "Training the answer classifier…")), db.tenant_tx(tid) as conn:
        out = answer_model.train(conn, tenant_id=tid)
    if not out["trained"]:
        console.print(_(lg, "No answer classifier: fewer than {a} answers have {p} phrasings or "
                            "more; the search alone ranks the answers.",
                        a=answer_model.MIN_ANSWERS, p=answer_model.MIN_PARAPHRASES))
        return
    console.print(_(lg, "Answer classifier trained on {n} phrasings of {k} answers in {s} s.",
                    n=out["n_examples"], k=out["n_answers"], s=out["seconds"]))
    if out.get("embedder"):
        console.print(_(lg, "Features: word and character n-grams, and the sentence vectors of "
                            "{model}.", model=out["embedder"]))
    else:
        console.print(_(lg, "Features: word and character n-grams."))
    try:
        calibrate.calibrate_tenant(db, tenant_id=tid)
        console.print(_(lg, "Calibration refitted with the new evidence."))
    except ValueError as exc:
        console.print(_(lg, "Calibration not refitted: {why}", why=str(exc)))


@ai_app.command("settings")
def ai_settings(
    tenant: TenantOpt,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="Triage this "
                                                "tenant's conversations.")] = None,
    auto_reply: Annotated[bool | None, typer.Option("--auto-reply/--no-auto-reply",
                                                    help="Let the AI send its replies.")] = None,
    target: Annotated[float | None, typer.Option("--target-precision", help="0-1, e.g. 0.95."
                                                 )] = None,
    embedder: Annotated[str | None, typer.Option("--embedder", help="all-MiniLM-L6-v2 or "
                                                 "hashed-ngram-384.")] = None,
    lang: LangOpt = "",
) -> None:
    """Show or change the AI settings."""
    from growthops.inbox.ai.audit import change_settings

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    changes = {k: v for k, v in (("ai_enabled_for_conversations", enable),
                                 ("auto_reply_enabled", auto_reply),
                                 ("target_precision", target), ("embedding_model", embedder))
               if v is not None}
    with get_db().tenant_tx(tid) as conn:
        s = change_settings(conn, tenant_id=tid, by="cli", **changes)
    cal = s["calibration"] or {}
    console.print(_(lg, "AI enabled: {e}; auto replies: {a}; target precision {t}; threshold "
                        "{th}; calibrated on {n} labels.",
                    e=_(lg, "yes") if s["ai_enabled_for_conversations"] else _(lg, "no"),
                    a=_(lg, "yes") if s["auto_reply_enabled"] else _(lg, "no"),
                    t=_pct(s["target_precision"]),
                    th="–" if s["reply_threshold"] is None else f"{s['reply_threshold']:.3f}",
                    n=cal.get("n", 0)))


@ai_app.command("rules")
def ai_rules(
    tenant: TenantOpt,
    instructions: Annotated[str | None, typer.Option("--instructions")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="An example of a message "
                                                     "never to answer (repeatable).")] = None,
    master: Annotated[bool | None, typer.Option("--on/--off", help="Master switch.")] = None,
    lang: LangOpt = "",
) -> None:
    """Show or set the AI rules."""
    from growthops.inbox.ai.audit import change_rules

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        r = change_rules(conn, tenant_id=tid, by="cli", instructions=instructions,
                                ignore_examples=ignore, ai_control_enabled=master)
    console.print(_(lg, "Master switch: {m}; {n} ignore examples.", n=len(r["ignore_examples"]),
                    m=_(lg, "on") if r["ai_control_enabled"] else _(lg, "off")))


@ai_app.command("examples")
def ai_examples(
    tenant: TenantOpt,
    csv_file: Annotated[Path, typer.Argument(help="CSV with text,label[,expected]; label: "
                                             "answer, escalate or ignore.")],
    lang: LangOpt = "",
) -> None:
    """Import labelled examples for the calibration and the evaluation."""
    from growthops.inbox.ai.calibrate import add_examples

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    reader = csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig")))
    if not {"text", "label"} <= set(reader.fieldnames or []):
        raise InvalidInput(_(lg, "CSV header: text and label are required"))
    rows = list(reader)
    with get_db().tenant_tx(tid) as conn:
        n = add_examples(conn, tenant_id=tid, rows=rows)
    console.print(_(lg, "{n} labelled examples stored.", n=n))


@ai_app.command("calibrate")
def ai_calibrate(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Fit the probability model and choose the reply threshold for the target precision."""
    from growthops.inbox.ai.calibrate import calibrate_tenant

    lg = _lang(lang)
    try:
        cal = calibrate_tenant(get_db(), tenant_id=_tenant_id(tenant))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    table = Table(_(lg, "threshold"), _(lg, "coverage"), _(lg, "precision"),
                  title=_(lg, "Precision at coverage (out-of-fold)"))
    for pt in cal.curve[:: max(1, len(cal.curve) // 12)]:
        table.add_row(f"{pt['threshold']:.3f}", _pct(pt["coverage"]), _pct(pt["precision"]))
    console.print(table)
    if cal.threshold is None:
        console.print(_(lg, "The target precision {t} is not reachable: the AI will escalate "
                            "instead of replying.", t=_pct(cal.target)))
    else:
        console.print(_(lg, "Threshold {th:.3f}: precision {p}, coverage {c} ({n} labels).",
                        th=cal.threshold, p=_pct(cal.precision), c=_pct(cal.coverage), n=cal.n))


@ai_app.command("evaluate")
def ai_evaluate(tenant: TenantOpt, as_json: Annotated[bool, typer.Option("--json")] = False,
                lang: LangOpt = "") -> None:
    """Evaluate retrieval (recall@1/5, MRR@10 per branch) and triage on the labelled examples."""
    from growthops.inbox.ai.evaluate import evaluate_tenant

    lg = _lang(lang)
    res = evaluate_tenant(get_db(), tenant_id=_tenant_id(tenant))
    if as_json:
        console.print_json(json.dumps(res))
        return
    table = Table(_(lg, "search"), "recall@1", "recall@5", "MRR@10", "n",
                  title=_(lg, "Retrieval on {n} labelled examples", n=res["examples"]))
    for mode, m in res["retrieval"].items():
        table.add_row(mode, _pct(m["recall@1"]), _pct(m["recall@5"]), f"{m['mrr@10']:.3f}",
                      str(m["n"]))
    console.print(table)
    t = res["triage"]
    console.print(_(lg, "Replies: precision {p}, coverage {c}; escalations: recall {e}; "
                        "ignored: precision {ip}, recall {ir}.",
                    p=_pct(t["respond_precision"]), c=_pct(t["respond_coverage"]),
                    e=_pct(t["escalate_recall"]), ip=_pct(t["ignore_precision"]),
                    ir=_pct(t["ignore_recall"])))
    console.print(_(lg, "The calibration saw {n} labels; figures on the same examples are "
                        "optimistic.", n=res["calibrated_on"]))


@ai_app.command("decisions")
def ai_decisions(
    tenant: TenantOpt,
    decision: Annotated[str | None, typer.Option("--decision", help="respond, ignore or "
                                                 "escalate.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    lang: LangOpt = "",
) -> None:
    """The latest decisions with their reasons."""
    from growthops.inbox.ai.decisions import list_decisions

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = list_decisions(conn, tenant_id=tid, decision=decision, limit=limit)
    table = Table(_(lg, "id"), _(lg, "decision"), _(lg, "confidence"), _(lg, "rule"),
                  _(lg, "message"), _(lg, "reason"), _(lg, "reply"),
                  title=_(lg, "{n} of {total} decisions", n=len(rows), total=total))
    for r in rows:
        table.add_row(str(r["ai_decision_id"]), r["decision"],
                      "–" if r["confidence"] is None else f"{float(r['confidence']):.2f}",
                      r["matched_rule"] or "–", (r["message_text"] or "")[:50], r["reason"][:60],
                      r["reply_status"] or "–")
    console.print(table)
