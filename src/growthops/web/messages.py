"""The dashboard shell's code labels for templates: ``code(value, lang)``.

Messages themselves are gettext messages (:mod:`growthops.core.i18n`): in Python
``_(lang, "Sign in")``, in templates ``{{ _('Sign in') }}`` (the shell's Jinja environment has
``jinja2.ext.i18n``, see :func:`growthops.core.i18n.install_jinja`). This module keeps the
registry of *codes* (statuses, types, priorities, roles...) the templates translate with
``code(value, lang)``: each table maps a code to an ``N_``-marked English label, translated
by the catalogs. A domain registers its tables when its pages module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping

from growthops.core.i18n import LANGS, N_, code_label

__all__ = ["CODES", "LANGS", "ROLES", "code", "register_codes"]

#: The roles of :mod:`growthops.core.auth.users`, as the shell shows them.
ROLES: dict[str, str] = {
    "admin": N_("admin"),
    "media_buyer": N_("media buyer"),
    "client_viewer": N_("client (read only)"),
    "support_agent": N_("support agent"),
}

#: Every registered code → its English label (first registration wins).
CODES: dict[str, str] = {}


def register_codes(table: Mapping[str, str]) -> None:
    """Add a domain's codes (``{code: N_("English label")}``) to the registry templates use.

    A code already registered keeps its first label.
    """
    for k, v in table.items():
        CODES.setdefault(k, v)


def code(value: str | None, lang: str = "en") -> str:
    """Return a registered code's label in ``lang`` (the code itself if unknown, '' for None)."""
    return code_label(CODES, value, lang)
