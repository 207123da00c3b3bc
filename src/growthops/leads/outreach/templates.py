"""E-mail templates (``leads.email_templates``): subject, HTML and plain text in Jinja, rendered in
a sandbox (``jinja2.sandbox.SandboxedEnvironment``: no attribute access to internals, no
imports) with ``StrictUndefined``: a variable without a value is an error before sending, never
a blank. HTML is autoescaped; subject and text are not (they are not HTML).

Variables (:data:`VARIABLES`) come from the prospect, the tenant's outreach settings and the
e-mail itself; a template naming anything else is refused when it is saved.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from growthops.core.errors import InvalidInput, NotFound

VARIABLES = ("business_name", "contact_name", "first_name", "website", "industry", "region",
             "sender_name", "sender_business", "unsubscribe_url", "postal_address")
_TEXT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)
PARTS = (("subject", _TEXT), ("html_content", _HTML), ("plain_content", _TEXT))


class MissingVariable(InvalidInput):
    """A template needs a variable that has no value for this prospect (``variable``)."""

    def __init__(self, variable: str, template: str) -> None:
        super().__init__(f"template {template!r}: no value for {{{{ {variable} }}}}")
        self.variable = variable


def variables_of(parts: dict[str, str]) -> list[str]:
    """Return the variables the template parts use; raise :class:`InvalidInput` naming the
    part on a syntax error or an unknown variable."""
    found: set[str] = set()
    for name, env in PARTS:
        try:
            found |= meta.find_undeclared_variables(env.parse(parts[name]))
        except TemplateSyntaxError as exc:
            raise InvalidInput(f"{name}: template syntax error line {exc.lineno}: {exc.message}"
                               ) from exc
    unknown = sorted(found - set(VARIABLES))
    if unknown:
        raise InvalidInput(f"unknown variable(s) {', '.join(unknown)}; allowed: "
                           f"{', '.join(VARIABLES)}")
    return sorted(found)


def create(conn: Any, *, tenant_id: UUID | str, name: str, subject: str, html_content: str,
           plain_content: str, language: str = "en", description: str | None = None,
           category: str = "outreach") -> dict[str, Any]:
    """Store a template (checked: syntax, variables, language); return its row.

    Raises :class:`InvalidInput`; a second template of the same name and language replaces the
    first's content (same id).
    """
    if language not in ("en", "fr"):
        raise InvalidInput("language: en or fr")
    parts = {"subject": subject, "html_content": html_content, "plain_content": plain_content}
    for k, v in parts.items():
        if not v or not v.strip():
            raise InvalidInput(f"{k}: required")
    used = variables_of(parts)
    return conn.execute(
        """insert into leads.email_templates (tenant_id, name, description, subject, html_content,
             plain_content, language, category, variables)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, name, language) do update set description = excluded.description,
             subject = excluded.subject, html_content = excluded.html_content,
             plain_content = excluded.plain_content, category = excluded.category,
             variables = excluded.variables, updated_at = now()
           returning *""",
        [str(tenant_id), name, description, subject, html_content, plain_content, language,
         category, json.dumps(used)]).fetchone()


def get(conn: Any, *, tenant_id: UUID | str, template_id: int) -> dict[str, Any]:
    """Return a template; :class:`NotFound` when not the tenant's."""
    row = conn.execute("""select * from leads.email_templates where tenant_id = %s
                          and template_id = %s""", [str(tenant_id), template_id]).fetchone()
    if row is None:
        raise NotFound(f"template {template_id} not found")
    return row


def render(template: dict[str, Any], values: dict[str, Any]) -> tuple[str, str, str]:
    """Return ``(subject, html, text)``; a value that is None or empty counts as missing.

    Raises :class:`MissingVariable` naming the first variable without a value.
    """
    ctx = {k: v for k, v in values.items() if v not in (None, "")}
    out = []
    for name, env in PARTS:
        try:
            out.append(env.from_string(template[name]).render(ctx))
        except UndefinedError as exc:
            var = str(exc.message or "").split("'")[1] if "'" in str(exc.message) else "?"
            raise MissingVariable(var, template["name"]) from exc
    subject = " ".join(out[0].split())  # no header injection: one line
    return subject, out[1], out[2]
