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
    # -- decisions, history, validation queue, archive, audit, API keys (issue 3)
    "decision.done": {
        "en": "Suggestion {id}: {decision} by {by} (was {before}).",
        "fr": "Suggestion {id} : {decision} par {by} (statut précédent : {before}).",
    },
    "decision.conflict_expired": {
        "en": "Suggestion {id} expired on {expires} (status {status}); it can no longer be decided. The next daily cycle proposes it again if the evidence still holds.",
        "fr": "La suggestion {id} a expiré le {expires} (statut : {status}) ; elle ne peut plus être décidée. Le prochain cycle quotidien la reproposera si les preuves tiennent toujours.",
    },
    "decision.conflict_decided": {
        "en": "Suggestion {id} is already {status} (by {by} on {at}, via {channel}); it cannot be changed to {decision}.",
        "fr": "La suggestion {id} est déjà {status} (par {by} le {at}, via {channel}) ; impossible de la passer à « {decision} ».",
    },
    "decision.conflict_archived": {
        "en": "Suggestion {id} has been archived (status {status}); it can no longer be decided.",
        "fr": "La suggestion {id} a été archivée (statut : {status}) ; elle ne peut plus être décidée.",
    },
    "history.title": {
        "en": "History of {tenant}: what changed, who decided, why, and what happened",
        "fr": "Historique de {tenant} : ce qui a changé, qui a décidé, pourquoi, et ce qui s'est passé",
    },
    "history.empty": {"en": "No suggestion in the history.", "fr": "Aucune suggestion dans l'historique."},
    "history.col.decisions": {"en": "decisions (who, why)", "fr": "décisions (qui, pourquoi)"},
    "history.col.execution": {"en": "execution", "fr": "exécution"},
    "history.col.outcome": {"en": "outcome", "fr": "résultat"},
    "validation.submitted": {
        "en": "Validation item {id} submitted ({type}): in client review until {expires}.",
        "fr": "Élément {id} soumis ({type}) : en validation client jusqu'au {expires}.",
    },
    "validation.advanced": {
        "en": "Validation item {id}: {before} → {after} (by {by}).",
        "fr": "Élément {id} : {before} → {after} (par {by}).",
    },
    "validation.rejected": {
        "en": "Validation item {id} rejected at {stage} by {by}: {reason}",
        "fr": "Élément {id} rejeté à l'étape {stage} par {by} : {reason}",
    },
    "validation.conflict_expired": {
        "en": "Validation item {id} expired on {expires} at stage {stage}; it can no longer move (submit it again).",
        "fr": "L'élément {id} a expiré le {expires} à l'étape {stage} ; il ne peut plus avancer (soumettez-le à nouveau).",
    },
    "validation.conflict_final": {
        "en": "Validation item {id} is already {status} (by {by} on {at}); it cannot move any more.",
        "fr": "L'élément {id} est déjà {status} (par {by} le {at}) ; il ne peut plus avancer.",
    },
    "validation.list_title": {"en": "Validation queue of {tenant}", "fr": "File de validation de {tenant}"},
    "validation.none": {"en": "No validation item.", "fr": "Aucun élément à valider."},
    "archive.done": {
        "en": "{tenant}: {expired} undecided suggestions expired; {sug} suggestions archived (live + archive: {sug_before} before, {sug_after} after); {dec} decisions archived (live + archive: {dec_before} before, {dec_after} after).",
        "fr": "{tenant} : {expired} suggestions non décidées expirées ; {sug} suggestions archivées (actives + archives : {sug_before} avant, {sug_after} après) ; {dec} décisions archivées (actives + archives : {dec_before} avant, {dec_after} après).",
    },
    "audit.title": {"en": "Audit trail of {tenant}", "fr": "Journal d'audit de {tenant}"},
    "audit.none": {"en": "No audit entry.", "fr": "Aucune entrée d'audit."},
    "audit.col.when": {"en": "when (UTC)", "fr": "quand (UTC)"},
    "audit.col.actor": {"en": "who", "fr": "qui"},
    "audit.col.action": {"en": "action", "fr": "action"},
    "audit.col.object": {"en": "object", "fr": "objet"},
    "audit.col.entity": {"en": "entity", "fr": "entité"},
    "audit.col.before": {"en": "before", "fr": "avant"},
    "audit.col.after": {"en": "after", "fr": "après"},
    "audit.col.reason": {"en": "why", "fr": "pourquoi"},
    "validation.col.type": {"en": "type", "fr": "type"},
    "validation.col.item": {"en": "item", "fr": "élément"},
    "validation.col.stage": {"en": "stage", "fr": "étape"},
    "validation.col.status": {"en": "status", "fr": "statut"},
    "validation.col.submitted": {"en": "submitted", "fr": "soumis"},
    "validation.col.client": {"en": "client review", "fr": "validation client"},
    "validation.col.team": {"en": "team review", "fr": "validation équipe"},
    "validation.col.rejected": {"en": "rejected", "fr": "rejet"},
    "validation.col.expires": {"en": "expires (UTC)", "fr": "expire (UTC)"},
    "apikey.created": {
        "en": "API key {prefix} created for {tenant} ({name}). Copy it now: it is shown only once.",
        "fr": "Clé d'API {prefix} créée pour {tenant} ({name}). Copiez-la maintenant : elle ne sera plus affichée.",
    },
    "apikey.revoked": {
        "en": "API key {prefix} of {tenant} revoked.",
        "fr": "Clé d'API {prefix} de {tenant} révoquée.",
    },
    "error": {"en": "Error", "fr": "Erreur"},
}


def t(key: str, lang: str = "en", **params: object) -> str:
    """Return message ``key`` in ``lang`` (fallback English) formatted with ``params``."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**params)
