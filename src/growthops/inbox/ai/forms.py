"""The AI page's forms (POST, CSRF-checked, the agency's staff only: ``can_decide``, as the API's
``require_decide``; a client_viewer or a support agent gets 403, another tenant 404):

* ``/t/{client_key}/inbox-ai/rules``: instructions, ignore examples (one per line), master switch;
* ``/t/{client_key}/inbox-ai/channels``: conversations (``ai_enabled_for_conversations``,
  ``auto_reply_enabled``) and comments (the tenant's default ``monitoring_rules``:
  ``ai_enabled_for_comments``, ``auto_reply_enabled``);
* ``/t/{client_key}/inbox-ai/settings``: target precision (percent), temperature, max tokens,
  reply language, embedder;
* ``/t/{client_key}/inbox-ai/faq``: add a FAQ entry;
* ``/t/{client_key}/inbox-ai/documents``: upload a document (txt, md, html, pdf; indexed by the
  job ``inbox.ai_sweep``).

Every change is audited (:mod:`growthops.inbox.ai.audit`) in the same transaction; bad input
answers 422 with the field named and changes nothing. Success redirects to the AI page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import _
from growthops.web.deps import get_database
from growthops.web.pages import auth, csrf_ok, error_page, lang_of, not_found, secure, tenant_ctx

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 10 * 1024 * 1024


def staff_post(request: Request, client_key: str, csrf: str | None,
               action: Callable[[Any, Any, Any, str], str | None], back: str) -> Response:
    """Check the session, the tenant, the role (``can_decide``) and the CSRF token, run
    ``action(db, tenant_id, user, lang)`` and redirect to ``back`` (the action may return a
    query string to add); 403 / 404 / 409 / 422 as error pages."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "inbox")
    except NotFound:
        return not_found(request, user)
    if not user.can_decide:
        return error_page(request, user, 403, _(lang, "You may not do this: only the agency's "
                                                      "staff changes the AI."))
    if not csrf_ok(request, csrf):
        return error_page(request, user, 403, _(lang, "The form expired (security token). "
                                                      "Reload the page and try again."))
    try:
        query = action(get_database(request), ctx["tenant"]["tenant_id"], user, lang)
    except NotFound:
        return not_found(request, user)
    except (Conflict, InvalidInput) as exc:
        return error_page(request, user, 409 if isinstance(exc, Conflict) else 422, str(exc))
    url = f"/t/{client_key}/{back}" + (f"?{query}" if query else "?saved=1")
    return secure(RedirectResponse(url, status_code=303))


def _number(value: str, field: str, lo: float, hi: float) -> float | None:
    """A number from a form field in [lo, hi] (None when empty); InvalidInput naming it."""
    if not value.strip():
        return None
    try:
        x = float(value.replace(",", "."))
    except ValueError:
        raise InvalidInput(f"{field}: a number is required") from None
    if not lo <= x <= hi:
        raise InvalidInput(f"{field}: between {lo:g} and {hi:g}")
    return x


@router.post("/t/{client_key}/inbox-ai/rules")
def save_rules(request: Request, client_key: str,
               instructions: Annotated[str, Form(max_length=4000)] = "",
               ignore_examples: Annotated[str, Form(max_length=200_000)] = "",
               ai_control_enabled: Annotated[str, Form(max_length=5)] = "",
               csrf: Annotated[str | None, Form()] = None) -> Response:
    """Set the instructions, the ignore examples (one per line) and the master switch."""
    from growthops.inbox.ai.audit import change_rules

    def run(db: Any, tid: Any, user: Any, lang: str) -> None:
        with db.tenant_tx(tid) as conn:
            change_rules(conn, tenant_id=tid, by=user.email, instructions=instructions.strip(),
                         ignore_examples=ignore_examples.splitlines(),
                         ai_control_enabled=bool(ai_control_enabled))
    return staff_post(request, client_key, csrf, run, "inbox-ai")


@router.post("/t/{client_key}/inbox-ai/channels")
def save_channels(request: Request, client_key: str,
                  conversations_ai: Annotated[str, Form(max_length=5)] = "",
                  conversations_auto: Annotated[str, Form(max_length=5)] = "",
                  comments_ai: Annotated[str, Form(max_length=5)] = "",
                  comments_auto: Annotated[str, Form(max_length=5)] = "",
                  csrf: Annotated[str | None, Form()] = None) -> Response:
    """Switch the AI and its automatic replies per channel (conversations, comments)."""
    from growthops.inbox import comments
    from growthops.inbox.ai.audit import change_settings, diff, record

    def run(db: Any, tid: Any, user: Any, lang: str) -> None:
        with db.tenant_tx(tid) as conn:
            change_settings(conn, tenant_id=tid, by=user.email,
                            ai_enabled_for_conversations=bool(conversations_ai),
                            auto_reply_enabled=bool(conversations_auto))
            before = comments.get_rule(conn, tenant_id=tid, social_account_id=None)
            want = {"ai_enabled_for_comments": bool(comments_ai),
                    "auto_reply_enabled": bool(comments_auto)}
            old, new = diff({k: before.get(k) for k in want}, want)
            if new:
                comments.set_rule(conn, tenant_id=tid, social_account_id=None, **want)
                record(conn, tenant_id=tid, by=user.email, what="comment AI settings changed",
                       before=old, after=new)
    return staff_post(request, client_key, csrf, run, "inbox-ai")


@router.post("/t/{client_key}/inbox-ai/settings")
def save_settings(request: Request, client_key: str,
                  target_precision: Annotated[str, Form(max_length=10)] = "",
                  temperature: Annotated[str, Form(max_length=10)] = "",
                  max_tokens: Annotated[str, Form(max_length=10)] = "",
                  reply_lang: Annotated[str, Form(max_length=5)] = "",
                  embedding_model: Annotated[str, Form(max_length=60)] = "",
                  csrf: Annotated[str | None, Form()] = None) -> Response:
    """Target precision (percent, 50-99.9), temperature (0-2), max tokens (16-4000), reply
    language (en, fr or automatic) and embedder (empty: unchanged)."""
    from growthops.inbox.ai.audit import change_settings

    def run(db: Any, tid: Any, user: Any, lang: str) -> None:
        changes: dict[str, Any] = {}
        tp = _number(target_precision, "target_precision", 50, 99.9)
        if tp is not None:
            changes["target_precision"] = round(tp / 100, 3)
        t = _number(temperature, "temperature", 0, 2)
        if t is not None:
            changes["temperature"] = t
        mt = _number(max_tokens, "max_tokens", 16, 4000)
        if mt is not None:
            changes["max_tokens"] = int(mt)
        if reply_lang not in ("", "en", "fr"):
            raise InvalidInput("reply_lang: en, fr or empty (the customer's language)")
        changes["reply_lang"] = reply_lang or None
        if embedding_model:
            changes["embedding_model"] = embedding_model
        with db.tenant_tx(tid) as conn:
            change_settings(conn, tenant_id=tid, by=user.email, **changes)
    return staff_post(request, client_key, csrf, run, "inbox-ai")


@router.post("/t/{client_key}/inbox-ai/faq")
def add_faq(request: Request, client_key: str,
            question: Annotated[str, Form(max_length=2000)] = "",
            answer: Annotated[str, Form(max_length=8000)] = "",
            category: Annotated[str, Form(max_length=200)] = "",
            csrf: Annotated[str | None, Form()] = None) -> Response:
    """Add (or update, same question) a FAQ entry, embedded and searchable at once."""
    from growthops.inbox.ai import kb
    from growthops.inbox.ai.audit import record

    def run(db: Any, tid: Any, user: Any, lang: str) -> None:
        if not question.strip() or not answer.strip():
            raise InvalidInput(_(lang, "question and answer: both are required"))
        with db.tenant_tx(tid) as conn:
            (faq_id,) = kb.add_faq(conn, tenant_id=tid, entries=[{
                "question": question, "answer": answer, "category": category.strip() or None}])
            record(conn, tenant_id=tid, by=user.email, what="faq added",
                   after={"faq_id": faq_id, "question": question.strip()[:200]})
    return staff_post(request, client_key, csrf, run, "inbox-ai")


@router.post("/t/{client_key}/inbox-ai/documents")
async def upload_document(request: Request, client_key: str,
                          file: Annotated[UploadFile | None, File()] = None,
                          title: Annotated[str, Form(max_length=300)] = "",
                          doc_lang: Annotated[str, Form(max_length=5)] = "",
                          csrf: Annotated[str | None, Form()] = None) -> Response:
    """Store an uploaded document for indexing (status ``processing``; the job indexes it)."""
    from starlette.concurrency import run_in_threadpool

    from growthops.inbox.ai import kb
    from growthops.inbox.ai.audit import record

    data = await file.read(MAX_UPLOAD + 1) if file is not None else b""
    name = (file.filename if file is not None else "") or ""

    def run(db: Any, tid: Any, user: Any, lang: str) -> str:
        if not name:
            raise InvalidInput(_(lang, "file: choose a txt, md, html or pdf file"))
        with db.tenant_tx(tid) as conn:
            row = kb.add_document(conn, tenant_id=tid, title=title.strip() or name,
                                  filename=name, data=data, lang=doc_lang or None,
                                  created_by=user.email)
            record(conn, tenant_id=tid, by=user.email, what="document uploaded",
                   after={"document_id": row["document_id"], "filename": name[:200]})
        return f"uploaded={row['document_id']}"
    return await run_in_threadpool(staff_post, request, client_key, csrf, run, "inbox-ai")
