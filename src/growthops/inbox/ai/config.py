"""A tenant's AI settings (``inbox.ai_settings``) and rules (``inbox.ai_rules``), with defaults.

Defaults when a tenant has no row (seed 003's, except two): the AI is opt-in per tenant
(``ai_enabled_for_conversations`` false until enabled: a tenant without a knowledge base would
otherwise see every message escalated; ``ai_control_enabled`` true) and sends nothing by itself
(``auto_reply_enabled`` false: no message to a customer without an explicit auto policy); ``target_precision`` 0.95 (the issue's default); no ``reply_threshold`` until the
calibration has run (the AI then escalates instead of replying).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from growthops.core.errors import InvalidInput

SETTINGS_DEFAULTS: dict[str, Any] = {
    "model_id": None, "system_prompt": None, "temperature": 0.2, "max_tokens": 300,
    "doc_lang": [], "reply_lang": None, "ai_enabled_for_conversations": False,
    "auto_reply_enabled": False, "embedding_model": None, "target_precision": 0.95,
    "reply_threshold": None, "calibration": None, "calibrated_at": None,
}
RULES_DEFAULTS: dict[str, Any] = {"instructions": None, "ignore_examples": [],
                                  "ai_control_enabled": True}
#: Columns a person may change (the calibration owns reply_threshold and calibration).
EDITABLE = ("system_prompt", "temperature", "max_tokens", "reply_lang",
            "ai_enabled_for_conversations", "auto_reply_enabled", "embedding_model",
            "target_precision", "model_id")


def get_settings(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's AI settings (the defaults for missing values)."""
    row = conn.execute("select * from inbox.ai_settings where tenant_id = %s",
                       [str(tenant_id)]).fetchone()
    out = dict(SETTINGS_DEFAULTS)
    if row:
        out.update({k: row[k] for k in SETTINGS_DEFAULTS})
    for k in ("temperature", "target_precision", "reply_threshold"):
        if out[k] is not None:
            out[k] = float(out[k])
    return out


def get_rules(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's AI rules (the defaults when none are stored)."""
    row = conn.execute("select * from inbox.ai_rules where tenant_id = %s",
                       [str(tenant_id)]).fetchone()
    out = dict(RULES_DEFAULTS)
    if row:
        out.update({k: row[k] for k in RULES_DEFAULTS})
    return out


def update_settings(conn: Any, *, tenant_id: UUID | str, **changes: Any) -> dict[str, Any]:
    """Set the given :data:`EDITABLE` settings (upsert); return the settings.

    Raises :class:`InvalidInput` naming an unknown field or a value out of range
    (``target_precision`` strictly between 0 and 1, ``embedding_model`` a known embedder).
    """
    from growthops.core.ai.embeddings import EMBEDDERS, known_embedder_name

    bad = sorted(set(changes) - set(EDITABLE))
    if bad:
        raise InvalidInput(f"{bad[0]}: not an editable AI setting ({', '.join(EDITABLE)})")
    tp = changes.get("target_precision")
    if tp is not None:
        # Stored as numeric(4,3): check the value as it will be stored (0.9999 rounds to 1.000,
        # which the column's check constraint would refuse with a 500 instead of a 422).
        tp = round(float(tp), 3)
        if not 0 < tp < 1:
            raise InvalidInput("target_precision: a fraction strictly between 0 and 1 "
                               "(three decimals are kept: 0.001 to 0.999)")
        changes["target_precision"] = tp
    em = changes.get("embedding_model")
    if em is not None and not known_embedder_name(em):
        raise InvalidInput(f"embedding_model: one of {', '.join(EMBEDDERS)}, or "
                           "openai:<model> (an OpenAI-compatible endpoint)")
    if em is not None and em not in EMBEDDERS:
        from growthops.core.ai.remote_embeddings import remote_embedder
        from growthops.core.errors import ConfigError

        try:
            remote_embedder(em)
        except ConfigError as exc:
            raise InvalidInput(f"embedding_model: {exc}") from exc
    if changes:
        cols = list(changes)
        conn.execute(
            f"""insert into inbox.ai_settings (tenant_id, {', '.join(cols)})
                values (%s, {', '.join(['%s'] * len(cols))})
                on conflict (tenant_id) do update set
                {', '.join(f'{c} = excluded.{c}' for c in cols)}, updated_at = now()""",
            [str(tenant_id), *changes.values()])
    return get_settings(conn, tenant_id=tenant_id)


def update_rules(conn: Any, *, tenant_id: UUID | str, instructions: str | None = None,
                 ignore_examples: list[str] | None = None,
                 ai_control_enabled: bool | None = None) -> dict[str, Any]:
    """Set the tenant's rules (None leaves a field as it is); return them.

    Raises :class:`InvalidInput` for more than 200 ignore examples or one over 1,000 characters.
    """
    if ignore_examples is not None:
        ignore_examples = [e.strip() for e in ignore_examples if e and e.strip()]
        if len(ignore_examples) > 200 or any(len(e) > 1000 for e in ignore_examples):
            raise InvalidInput("ignore_examples: at most 200 examples of at most 1,000 characters")
    conn.execute(
        """insert into inbox.ai_rules (tenant_id, instructions, ignore_examples, ai_control_enabled)
           values (%(t)s, %(i)s, coalesce(%(e)s, '{}'::text[]), coalesce(%(c)s, true))
           on conflict (tenant_id) do update set
             instructions = coalesce(%(i)s, inbox.ai_rules.instructions),
             ignore_examples = coalesce(%(e)s, inbox.ai_rules.ignore_examples),
             ai_control_enabled = coalesce(%(c)s, inbox.ai_rules.ai_control_enabled),
             updated_at = now()""",
        {"t": str(tenant_id), "i": instructions, "e": ignore_examples, "c": ai_control_enabled})
    return get_rules(conn, tenant_id=tenant_id)


def tenant_embedder(conn: Any, *, tenant_id: UUID | str) -> Any:
    """The embedder of the tenant's knowledge base (``ai_settings.embedding_model``; unset:
    MiniLM when installed, else the hashed n-gram embedder)."""
    from growthops.core.ai.embeddings import embedder_by_name

    return embedder_by_name(get_settings(conn, tenant_id=tenant_id)["embedding_model"])


def tenant_llm(conn: Any, *, tenant_id: UUID | str, settings: Any = None) -> Any:
    """The tenant's LLM (``ai_settings.model_id`` → ``ai_models`` provider and name; key, base URL
    and timeout from the server's ``GROWTHOPS_LLM_*`` settings), or None (the extractive default).

    Raises :class:`~growthops.core.errors.ConfigError` when the SDK is missing.
    """
    row = conn.execute(
        """select m.provider, m.name from inbox.ai_settings s
           join inbox.ai_models m on m.model_id = s.model_id and m.is_active
           where s.tenant_id = %s""", [str(tenant_id)]).fetchone()
    if row is None:
        return None
    from growthops.core.ai.llm import llm_from_settings

    if settings is None:
        from growthops.settings import get_settings as server_settings

        settings = server_settings()
    return llm_from_settings(settings.model_copy(update={"llm_provider": row["provider"],
                                                         "llm_model": row["name"]}))
