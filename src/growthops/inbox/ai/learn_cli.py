"""Commands of the AI's learning from the inbox: ``growthops inbox topics``, the suggested FAQ
entries (``growthops inbox kb suggest|suggestions|approve|reject``) and the labels from people's
actions (``growthops inbox ai labels``). Installed by :func:`install`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.i18n import _


def _trend(pct: float | None) -> str:
    return "–" if pct is None else f"{pct:+.0f} %"


def topics_cmd(
    tenant: TenantOpt,
    post: Annotated[int | None, typer.Option("--post", help="A monitored post's id: cluster "
                                             "its comments instead of the messages.")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Window of messages.")] = 28,
    stored: Annotated[bool, typer.Option("--stored", help="Show the stored topics without "
                                         "running the clustering.")] = False,
    lang: LangOpt = "",
) -> None:
    """Find what customers write about (HDBSCAN + c-TF-IDF) and show the topics."""
    from growthops.inbox.ai import topics

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    db = get_db()
    scope = "post" if post is not None else "global"
    if not stored:
        with console.status(_(lg, "Clustering the messages…")):
            out = topics.run_topics(db, tenant_id=tid, scope=scope, scope_ref=post, days=days)
        console.print(_(lg, "{items} messages, {topics} topics, {noise} in no topic "
                            "(minimum topic size {m}, embedder {e}).", items=out["items"],
                        topics=out["topics"], noise=out["noise"], m=out["min_cluster_size"],
                        e=out["embedder"]))
    with db.tenant_tx(tid) as conn:
        rows = topics.list_topics(conn, tenant_id=tid, scope=scope, scope_ref=post)
    table = Table(_(lg, "topic"), _(lg, "size"), _(lg, "this week"), _(lg, "week before"),
                  _(lg, "trend"), _(lg, "examples"), title=_(lg, "Topics of {tenant}",
                                                            tenant=tenant))
    for r in rows:
        table.add_row(r["label"], str(r["size"]), str(r["week_count"]),
                      str(r["prev_week_count"]), _trend(r["trend_pct"]),
                      " | ".join(e[:60] for e in r["examples"]))
    console.print(table)


def suggest_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Mine suggested FAQ entries from people's past answers now."""
    from growthops.inbox.ai.faq_miner import suggest

    lg = _lang(lang)
    out = suggest(get_db(), tenant_id=_tenant_id(tenant))
    console.print(_(lg, "{pairs} question/answer pairs, {groups} groups, {n} new suggestions.",
                    pairs=out["pairs"], groups=out["groups"], n=out["suggested"]))


def suggestions_cmd(
    tenant: TenantOpt,
    status: Annotated[str, typer.Option("--status", help="pending, approved or rejected.")
                      ] = "pending",
    lang: LangOpt = "",
) -> None:
    """List the suggested FAQ entries (most supported first)."""
    from growthops.core.errors import InvalidInput
    from growthops.inbox.ai.faq_miner import list_suggestions

    lg = _lang(lang)
    if status not in ("pending", "approved", "rejected"):
        raise InvalidInput(_(lg, "--status: pending, approved or rejected"))
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_suggestions(conn, tenant_id=tid, status=status)
    table = Table(_(lg, "id"), _(lg, "asked"), _(lg, "question"), _(lg, "answer"),
                  title=_(lg, "Suggested FAQ entries ({status})", status=status))
    for r in rows:
        table.add_row(str(r["faq_id"]), str(r["support"]), r["question"][:60], r["answer"][:80])
    console.print(table)


def _decide(tenant: str, ids: list[int], approve: bool, lang: str) -> None:
    from growthops.inbox.ai import audit, faq_miner

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        for i in ids:
            (faq_miner.approve if approve else faq_miner.reject)(conn, tenant_id=tid, faq_id=i,
                                                                 by="cli")
        audit.record(conn, tenant_id=tid, by="cli",
                     what="faq approved" if approve else "faq rejected", after={"faq_ids": ids})
    console.print(_(lg, "{n} suggestions approved.", n=len(ids)) if approve
                  else _(lg, "{n} suggestions rejected.", n=len(ids)))


def approve_cmd(tenant: TenantOpt, ids: Annotated[list[int], typer.Argument(help="FAQ ids.")],
                lang: LangOpt = "") -> None:
    """Approve suggested FAQ entries: the AI answers from them from now on."""
    _decide(tenant, ids, True, lang)


def reject_cmd(tenant: TenantOpt, ids: Annotated[list[int], typer.Argument(help="FAQ ids.")],
               lang: LangOpt = "") -> None:
    """Reject suggested FAQ entries (they are not suggested again)."""
    _decide(tenant, ids, False, lang)


def labels_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Label the AI's decisions from people's actions now (the hourly job's work)."""
    from growthops.inbox.ai.labels import derive

    lg = _lang(lang)
    out = derive(get_db(), tenant_id=_tenant_id(tenant))
    console.print(_(lg, "{n} decisions labelled from people's actions, {e} examples recorded.",
                    n=out.pop("labelled"), e=out.pop("examples")))
    for rule, n in sorted(out.items()):
        console.print(f"  {rule}: {n}")


def install(inbox_app: typer.Typer, kb_app: typer.Typer, ai_app: typer.Typer) -> None:
    """Add the commands to the inbox, ``kb`` and ``ai`` apps."""
    inbox_app.command("topics")(topics_cmd)
    kb_app.command("suggest")(suggest_cmd)
    kb_app.command("suggestions")(suggestions_cmd)
    kb_app.command("approve")(approve_cmd)
    kb_app.command("reject")(reject_cmd)
    ai_app.command("labels")(labels_cmd)
