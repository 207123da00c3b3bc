"""User-facing messages in English and French.

``t(key, lang, **params)`` formats the message ``key`` in ``lang`` ("en" or "fr"), falling back
to English. Suggestion texts are rendered by the ads package in both languages and stored.
"""

from __future__ import annotations

LANGS = ("en", "fr")

MESSAGES: dict[str, dict[str, str]] = {
    "db.migrated": {
        "en": "Applied migrations: {ids}",
        "fr": "Migrations appliquées : {ids}",
    },
    "db.up_to_date": {
        "en": "Database is up to date.",
        "fr": "La base de données est à jour.",
    },
    "tenant.created": {
        "en": "Tenant {client_key} created ({id}).",
        "fr": "Client {client_key} créé ({id}).",
    },
    "import.done": {
        "en": "{path}: {accepted} rows accepted ({inserted} new, {updated} changed, {unchanged} unchanged), {rejected} rejected, {dups} exact duplicates skipped.",
        "fr": "{path} : {accepted} lignes acceptées ({inserted} nouvelles, {updated} modifiées, {unchanged} inchangées), {rejected} rejetées, {dups} doublons exacts ignorés.",
    },
    "daily.done": {
        "en": "{tenant} as of {as_of}: {baselines} baselines, {anomalies} anomalies, {overspend} overspend days, {fatigued} fatigued ads, {suggestions} new suggestions.",
        "fr": "{tenant} au {as_of} : {baselines} références, {anomalies} anomalies, {overspend} jours de surdépense, {fatigued} publicités fatiguées, {suggestions} nouvelles suggestions.",
    },
    "daily.no_data": {
        "en": "{tenant}: no metrics on or before {as_of}; nothing to analyse.",
        "fr": "{tenant} : aucune métrique au {as_of} ou avant ; rien à analyser.",
    },
    "report.written": {
        "en": "HTML report written to {path}",
        "fr": "Rapport HTML écrit dans {path}",
    },
    "digest.title": {
        "en": "Suggestions for {tenant} (data as of {as_of})",
        "fr": "Suggestions pour {tenant} (données au {as_of})",
    },
    "digest.empty": {
        "en": "No suggestion: not enough evidence for any action, or nothing to change.",
        "fr": "Aucune suggestion : pas assez de preuves pour agir, ou rien à changer.",
    },
    "backtest.title": {
        "en": "Backtest {tenant} {start} → {end}: what happened in the 7 days after each suggestion",
        "fr": "Backtest {tenant} {start} → {end} : ce qui s'est passé dans les 7 jours après chaque suggestion",
    },
    "error": {"en": "Error", "fr": "Erreur"},
}


def t(key: str, lang: str = "en", **params: object) -> str:
    """Return message ``key`` in ``lang`` (fallback English) formatted with ``params``."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**params)
