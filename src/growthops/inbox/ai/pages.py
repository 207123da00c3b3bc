"""The inbox AI dashboard page: ``/t/{client_key}/inbox-ai`` (GET, read-only).

Shows the tenant's AI settings, the calibration's precision-at-coverage curve (out-of-fold, with
the chosen threshold and the target precision), the decisions per rule over 30 days with the
precision of the labelled ones, the latest decisions with their reasons, and the knowledge base's
documents with their ingestion status, the latest audited changes; for the agency's staff, the
forms of :mod:`growthops.inbox.ai.forms` (rules, per-channel switches, settings, a FAQ entry, a
document upload). Links to the topics and the suggested FAQ entries
(:mod:`growthops.inbox.ai.learn_pages`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from growthops.core.errors import NotFound
from growthops.core.i18n import _
from growthops.web.deps import get_database
from growthops.web.pages import auth, lang_of, not_found, render, tenant_ctx

router = APIRouter(include_in_schema=False)
W, H = 360, 200


def curve_points(curve: list[dict[str, float]]) -> str:
    """SVG polyline points of a curve (coverage on x, precision on y; 0-1 → the plot box)."""
    return " ".join(f"{20 + p['coverage'] * (W - 30):.1f},{H - 20 - p['precision'] * (H - 30):.1f}"
                    for p in curve)


@router.get("/t/{client_key}/inbox-ai")
def ai_page(request: Request, client_key: str) -> Response:
    """The AI page of a tenant's inbox."""
    from growthops.core.ai.embeddings import EMBEDDERS
    from growthops.inbox import comments
    from growthops.inbox.ai import audit, config, decisions, faq_miner, kb

    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx: dict[str, Any] = tenant_ctx(request, user, client_key, "inbox")
    except NotFound:
        return not_found(request, user)
    tid = ctx["tenant"]["tenant_id"]
    with get_database(request).tenant_tx(tid) as conn:
        settings = config.get_settings(conn, tenant_id=tid)
        rules = config.get_rules(conn, tenant_id=tid)
        stats = decisions.stats(conn, tenant_id=tid)
        latest, total = decisions.list_decisions(conn, tenant_id=tid, limit=20)
        docs = kb.list_documents(conn, tenant_id=tid)
        n_faq = len(kb.list_faq(conn, tenant_id=tid, limit=100_000))
        comment_rule = comments.get_rule(conn, tenant_id=tid, social_account_id=None)
        n_suggested = len(faq_miner.list_suggestions(conn, tenant_id=tid))
        trail = audit.trail(conn, tenant_id=tid, limit=10)
    cal = settings["calibration"] or {}
    target_y = H - 20 - float(settings["target_precision"]) * (H - 30)
    return render(request, "inbox/ai.html", user=user, lang=lang, **ctx, settings=settings,
                  rules=rules, cal=cal, points=curve_points(cal.get("curve") or []),
                  target_y=f"{target_y:.1f}", plot_w=W, plot_h=H, stats=stats, latest=latest,
                  total=total, docs=docs, n_faq=n_faq, comment_rule=comment_rule,
                  n_suggested=n_suggested, trail=trail, can_decide=user.can_decide,
                  embedders=EMBEDDERS, ignore_text="\n".join(rules["ignore_examples"]),
                  title=_(lang, "Inbox AI of {tenant}", tenant=ctx["tenant"]["client_name"]))


def _include_forms() -> None:
    from growthops.inbox.ai.forms import router as forms
    from growthops.inbox.ai.learn_pages import router as learn

    router.include_router(forms)
    router.include_router(learn)


_include_forms()
