"""The dashboard shell's labels in English and French, and the registry domains add theirs to.

``t(key, lang, **params)`` formats a label (fallback English, then the key itself so a missing
label shows up instead of crashing a page); ``code(value, lang)`` translates a status, type,
priority, stage or outcome code (fallback: the registered ``code_fallback`` functions, then the
code). A domain calls :func:`register` with its own labels when its pages module is imported.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("en", "fr")

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"en": "growthops", "fr": "growthops"},
    "nav.overview": {"en": "Overview", "fr": "Vue d'ensemble"},
    "nav.logout": {"en": "Log out", "fr": "Se déconnecter"},
    "nav.lang": {"en": "Language", "fr": "Langue"},
    "nav.lang_other": {"en": "Français", "fr": "English"},
    "nav.signed_in": {"en": "Signed in as {email} ({role})", "fr": "Connecté : {email} ({role})"},
    "nav.tenant": {"en": "Client", "fr": "Client"},
    "role.admin": {"en": "admin", "fr": "administrateur"},
    "role.media_buyer": {"en": "media buyer", "fr": "media buyer"},
    "role.client_viewer": {"en": "client (read only)", "fr": "client (lecture seule)"},
    "readonly": {"en": "Read-only view: decisions are made by the agency's team.",
                 "fr": "Vue en lecture seule : les décisions sont prises par l'équipe de l'agence."},
    "footer": {"en": "growthops · times in UTC · money in the client's currency",
               "fr": "growthops · heures en UTC · montants dans la devise du client"},
    "login.title": {"en": "Sign in", "fr": "Connexion"},
    "login.email": {"en": "E-mail", "fr": "E-mail"},
    "login.password": {"en": "Password", "fr": "Mot de passe"},
    "login.submit": {"en": "Sign in", "fr": "Se connecter"},
    "login.failed": {"en": "Invalid e-mail or password.", "fr": "E-mail ou mot de passe invalide."},
    "login.expired": {"en": "Your form expired; please sign in again.",
                      "fr": "Le formulaire a expiré ; reconnectez-vous."},
    "error.title": {"en": "Error", "fr": "Erreur"},
    "error.not_found": {"en": "Page not found.", "fr": "Page introuvable."},
    "error.forbidden": {"en": "You may not do this: your account is read-only.",
                        "fr": "Action interdite : votre compte est en lecture seule."},
    "error.csrf": {"en": "The form expired (security token). Reload the page and try again.",
                   "fr": "Le formulaire a expiré (jeton de sécurité). Rechargez la page et "
                         "réessayez."},
    "error.back": {"en": "Back to the overview", "fr": "Retour à la vue d'ensemble"},
    "overview.title": {"en": "Overview", "fr": "Vue d'ensemble"},
}

CODES: dict[str, dict[str, str]] = {}
_CODE_FALLBACKS: list[Callable[[str, str], str]] = []


def register(messages: dict[str, dict[str, str]], codes: dict[str, dict[str, str]] | None = None,
             *, code_fallback: Callable[[str, str], str] | None = None) -> None:
    """Add a domain's labels (``{key: {"en": ..., "fr": ...}}``) and codes to the registry.

    A key already registered keeps its first text (the shell's win over a domain's).
    """
    for k, v in messages.items():
        MESSAGES.setdefault(k, v)
    for k, v in (codes or {}).items():
        CODES.setdefault(k, v)
    if code_fallback is not None and code_fallback not in _CODE_FALLBACKS:
        _CODE_FALLBACKS.append(code_fallback)


def t(key: str, lang: str = "en", **params: object) -> str:
    """Return the label ``key`` in ``lang`` (fallback English, then ``key``) formatted with
    ``params``."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**params) if params else text


def code(value: str | None, lang: str = "en") -> str:
    """Return a status / type / priority / stage / outcome code in ``lang`` ('' for None)."""
    if value is None:
        return ""
    entry = CODES.get(value)
    if entry:
        return entry.get(lang) or entry["en"]
    for fallback in _CODE_FALLBACKS:
        label = fallback(value, lang)
        if label and label != value:
            return label
    return value
