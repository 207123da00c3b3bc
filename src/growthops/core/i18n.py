"""User-facing messages in English and French: gettext catalogs read with Babel.

The API every module uses (messages are written in English; the catalogs translate them)::

    from growthops.core.i18n import _, ngettext, N_
    _(lang, "Imported {n} rows into {tenant}.", n=12, tenant="acme")
    ngettext(lang, "{n} lead", "{n} leads", n, n=n)
    LABELS = {"open": N_("open")}      # marked for extraction, translated later with _(lang, ...)

``lang`` is ``"en"`` or ``"fr"`` (:data:`LANGS`); anything else falls back to English.
Placeholders are ``str.format`` fields, filled after translation.

Catalogs: every package of growthops may bring its own, ``<package>/locale/<lang>/LC_MESSAGES/
messages.po`` (``growthops/core/locale``, ``growthops/web/locale``, ``growthops/ads/locale``...),
found by convention under the ``growthops`` package (no registration, so core imports no
domain). They are merged per language at first use; a compiled ``messages.mo`` is used when it
is newer than its ``.po``, else the ``.po`` is compiled in memory.

``t(key, lang)`` and :data:`MESSAGES` are the former keyed dictionaries, kept until every
message has moved to the catalogs.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

LANGS = ("en", "fr")
#: The root of the growthops package, under which ``*/locale`` catalogs are found.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
CATALOG = "messages"


def catalog_files(lang: str) -> list[Path]:
    """Return the ``.po`` files of ``lang`` of every package under :data:`PACKAGE_ROOT`, sorted."""
    return sorted(PACKAGE_ROOT.glob(f"*/locale/{lang}/LC_MESSAGES/{CATALOG}.po"))


@cache
def translations(lang: str):  # type: ignore[no-untyped-def]
    """Return the merged :class:`babel.support.Translations` of ``lang`` (NullTranslations for
    English or an unknown language). Cached per process."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    merged: NullTranslations = NullTranslations()
    if lang not in LANGS or lang == "en":
        return merged
    first: Translations | None = None
    for po in catalog_files(lang):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            data = mo.read_bytes()
        else:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            data = buf.getvalue()
        part = Translations(io.BytesIO(data), domain=CATALOG)
        if first is None:
            first = part
        else:
            first.merge(part)
    return first if first is not None else merged


def _(lang: str, message: str, /, **params: object) -> str:
    """Return ``message`` translated into ``lang``, formatted with ``params`` (``str.format``)."""
    text = translations(lang).gettext(message) if lang != "en" else message
    return text.format(**params) if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """Return the singular or plural form for ``n`` in ``lang``, formatted with ``params``."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(**params) if params else text


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translated later with ``_``)."""
    return message

MESSAGES: dict[str, dict[str, str]] = {
    "db.migrated": {
        "en": "Applied migrations: {ids}",
        "fr": "Migrations appliquées : {ids}",
    },
    "db.up_to_date": {
        "en": "Database is up to date.",
        "fr": "La base de données est à jour.",
    },
    "db.ext_missing": {"en": "missing ({degrades})", "fr": "absente ({degrades})"},
    "db.not_applied": {"en": "not applied", "fr": "non appliquée"},
    # what degrades without each wanted extension (core.extensions.WANTED has the English)
    "ext.unaccent": {
        "en": "French full-text search keeps accents (text normalised in Python instead)",
        "fr": "la recherche plein texte en français garde les accents (texte normalisé en Python)",
    },
    "ext.pg_trgm": {
        "en": "fuzzy duplicate detection uses exact normalised keys only",
        "fr": "la détection floue des doublons n'utilise que des clés normalisées exactes",
    },
    "ext.vector": {
        "en": "embeddings searched exactly in NumPy, no vector index",
        "fr": "embeddings cherchés exactement avec NumPy, sans index vectoriel",
    },
    "ext.btree_gist": {
        "en": "no overlap exclusion constraints (checked by the services instead)",
        "fr": "pas de contrainte d'exclusion des chevauchements (vérifiés par les services)",
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
    # -- config: a tenant's platform settings and guard rails
    "config.bad_platform": {
        "en": "--platform: {value!r} is not one of {choices}",
        "fr": "--platform : {value!r} ne fait pas partie de {choices}",
    },
    "config.bad_number": {
        "en": "{option}: {value!r} is not a number",
        "fr": "{option} : {value!r} n'est pas un nombre",
    },
    "config.bad_integer": {
        "en": "{option}: {value!r} is not a whole number",
        "fr": "{option} : {value!r} n'est pas un nombre entier",
    },
    "config.out_of_range": {
        "en": "{option}: {value} must be {bounds} ({what})",
        "fr": "{option} : {value} doit être {bounds} ({what})",
    },
    "config.too_many_decimals": {
        "en": "{option}: {value} has more than {places} decimals",
        "fr": "{option} : {value} a plus de {places} décimales",
    },
    "config.bad_choice": {
        "en": "{option}: {value!r} is not one of {choices}",
        "fr": "{option} : {value!r} ne fait pas partie de {choices}",
    },
    "config.bad_entity": {
        "en": "{option}: an entity id must be 1 to 200 characters without surrounding spaces (got {value!r})",
        "fr": "{option} : un identifiant d'entité doit faire 1 à 200 caractères, sans espace autour (reçu {value!r})",
    },
    "config.protect_both": {
        "en": "--protect and --unprotect both name {ids}",
        "fr": "--protect et --unprotect nomment tous deux {ids}",
    },
    "config.nothing_to_set": {
        "en": "nothing to change: give at least one setting (see growthops config set --help)",
        "fr": "rien à changer : donnez au moins un réglage (voir growthops config set --help)",
    },
    "config.bad_by": {
        "en": "--by: give the name of the person making the change (1 to 200 characters)",
        "fr": "--by : donnez le nom de la personne qui fait le changement (1 à 200 caractères)",
    },
    "config.what.target_roas": {"en": "target ROAS: conversion value / spend", "fr": "ROAS cible : valeur des conversions / dépense"},
    "config.what.max_cpa": {"en": "maximum cost per result, in the tenant's currency", "fr": "coût maximal par résultat, dans la devise du client"},
    "config.what.min_daily_budget": {"en": "floor of a daily budget cut, in the tenant's currency", "fr": "plancher d'une baisse de budget quotidien, dans la devise du client"},
    "config.what.max_change_pct": {"en": "percent of the live budget or bid per action", "fr": "pourcentage du budget ou de l'enchère en cours par action"},
    "config.what.max_change_pct_24h": {"en": "net percent change of one entity over 24 h", "fr": "variation nette en pourcentage d'une entité sur 24 h"},
    "config.what.fdr_q": {"en": "false discovery rate of the anomaly tests, a fraction", "fr": "taux de fausses découvertes des tests d'anomalie, une fraction"},
    "config.what.min_auto_apply_confidence": {"en": "percent confidence a suggestion needs to be auto-applied", "fr": "confiance en pourcentage requise pour une application automatique"},
    "config.and": {"en": "and", "fr": "et"},
    "config.updated": {
        "en": "{tenant} / {platform}: settings updated by {by} (recorded in the audit trail):",
        "fr": "{tenant} / {platform} : réglages modifiés par {by} (enregistré dans le journal d'audit) :",
    },
    "config.unchanged": {
        "en": "{tenant} / {platform}: these values are already set; nothing changed.",
        "fr": "{tenant} / {platform} : ces valeurs sont déjà en place ; rien n'a changé.",
    },
    "config.unknown_entities": {
        "en": "Note: {ids} never seen on {platform} for {tenant} (no metrics, no sandbox entity); protected anyway. Check the id.",
        "fr": "Remarque : {ids} jamais vu(s) sur {platform} pour {tenant} (aucune métrique, aucune entité sandbox) ; protégé(s) quand même. Vérifiez l'identifiant.",
    },
    "config.auto_apply_on": {
        "en": (
            "WARNING: auto-apply is now ON for {tenant} on {platform}.\n"
            "From the next daily cycle (and each `growthops auto-apply`), pending suggestions with a "
            "confidence of at least {conf}% are approved and EXECUTED ON THE AD ACCOUNT WITHOUT A "
            "HUMAN, within the guard rails: at most {pct}% change per action and {pct24}% per 24 h, "
            "daily budgets not below {min_budget} {currency}, monthly budget ceiling {monthly}, "
            "{n_protected} protected entities, no edit during a learning phase{learning}. "
            "Mode: {mode}. Refresh, new-angle and diagnostic suggestions are never auto-applied. "
            "Every auto-applied change is in the audit trail under 'auto-apply'.\n"
            "Turn it off: growthops config set --tenant {tenant} --platform {platform} "
            "--no-auto-apply --by NAME"
        ),
        "fr": (
            "ATTENTION : l'application automatique est maintenant ACTIVÉE pour {tenant} sur {platform}.\n"
            "Dès le prochain cycle quotidien (et à chaque `growthops auto-apply`), les suggestions en "
            "attente dont la confiance atteint {conf} % sont approuvées et EXÉCUTÉES SUR LE COMPTE "
            "PUBLICITAIRE SANS INTERVENTION HUMAINE, dans les garde-fous : au plus {pct} % de "
            "changement par action et {pct24} % sur 24 h, budgets quotidiens jamais sous "
            "{min_budget} {currency}, plafond de budget mensuel {monthly}, {n_protected} entités "
            "protégées, aucune modification en phase d'apprentissage{learning}. Mode : {mode}. Les "
            "suggestions de renouvellement, de nouvel angle et de diagnostic ne sont jamais "
            "appliquées automatiquement. Chaque changement appliqué automatiquement figure dans le "
            "journal d'audit sous « auto-apply ».\n"
            "Pour la désactiver : growthops config set --tenant {tenant} --platform {platform} "
            "--no-auto-apply --by NOM"
        ),
    },
    "config.learning_allowed": {
        "en": " (EXCEPT: --allow-learning-edits is on)",
        "fr": " (SAUF : --allow-learning-edits est activé)",
    },
    "config.no_ceiling": {"en": "none set", "fr": "aucun"},
    "config.mode.live": {"en": "live (changes are sent)", "fr": "réel (les changements sont envoyés)"},
    "config.mode.dry_run": {"en": "dry run (nothing is sent)", "fr": "simulation (rien n'est envoyé)"},
    "config.mode.validate_only": {
        "en": "validate only (the platform checks, nothing is applied)",
        "fr": "validation seule (la plateforme vérifie, rien n'est appliqué)",
    },
    "config.no_account": {
        "en": "Note: {tenant} has no ad account on {platform} yet; nothing runs until one is connected (growthops accounts connect | sandbox).",
        "fr": "Remarque : {tenant} n'a pas encore de compte publicitaire sur {platform} ; rien ne s'exécute avant sa connexion (growthops accounts connect | sandbox).",
    },
    "config.title": {"en": "Platform settings of {tenant}", "fr": "Réglages par plateforme de {tenant}"},
    "config.col.setting": {"en": "setting", "fr": "réglage"},
    "config.col.option": {"en": "option", "fr": "option"},
    "config.defaults": {"en": "{platform} (defaults, not stored)", "fr": "{platform} (par défaut, non enregistré)"},
    "config.tenant_roas": {"en": "– (tenant roi_target {roas})", "fr": "– (roi_target du client {roas})"},
    "config.on": {"en": "on", "fr": "activé"},
    "config.off": {"en": "off", "fr": "désactivé"},
    # -- accounts: a tenant's ad accounts
    "accounts.none": {
        "en": "{tenant} has no ad account (growthops accounts connect | sandbox).",
        "fr": "{tenant} n'a aucun compte publicitaire (growthops accounts connect | sandbox).",
    },
    "accounts.title": {"en": "Ad accounts of {tenant}", "fr": "Comptes publicitaires de {tenant}"},
    "accounts.col.platform": {"en": "platform", "fr": "plateforme"},
    "accounts.col.connector": {"en": "connector", "fr": "connecteur"},
    "accounts.col.account": {"en": "account", "fr": "compte"},
    "accounts.col.credentials": {"en": "credentials", "fr": "identifiants"},
    "accounts.col.connected": {"en": "connected (UTC)", "fr": "connecté (UTC)"},
    "accounts.col.metrics": {"en": "metrics (days)", "fr": "métriques (jours)"},
    "accounts.col.auto_apply": {"en": "auto-apply", "fr": "application auto"},
    "accounts.encrypted": {"en": "encrypted", "fr": "chiffrés"},
    "accounts.bad_pair": {
        "en": "--connector: {connector!r} does not serve --platform {platform!r} (meta → meta, google → google_ads)",
        "fr": "--connector : {connector!r} ne sert pas --platform {platform!r} (meta → meta, google → google_ads)",
    },
    "accounts.bad_account_id": {
        "en": "--account-id: {value!r} is not a {what}",
        "fr": "--account-id : {value!r} n'est pas un {what}",
    },
    "accounts.meta_id": {
        "en": "Meta ad account id (digits, with or without act_)",
        "fr": "identifiant de compte publicitaire Meta (chiffres, avec ou sans act_)",
    },
    "accounts.google_id": {
        "en": "Google Ads customer id (10 digits, dashes allowed)",
        "fr": "identifiant client Google Ads (10 chiffres, tirets acceptés)",
    },
    "accounts.no_credentials": {
        "en": "--token-stdin: no credentials on stdin (give the access token, or a JSON object of credentials)",
        "fr": "--token-stdin : aucun identifiant sur l'entrée standard (donnez le jeton d'accès, ou un objet JSON d'identifiants)",
    },
    "accounts.bad_json": {
        "en": "credentials: not a valid JSON object ({error})",
        "fr": "identifiants : objet JSON invalide ({error})",
    },
    "accounts.missing_keys": {
        "en": "credentials for {connector}: missing {keys}",
        "fr": "identifiants {connector} : il manque {keys}",
    },
    "accounts.other_connector": {
        "en": "{tenant} already has a {connector} account {account!r} on {platform}; disconnect it first (growthops accounts disconnect --tenant {tenant} --platform {platform} --by NAME)",
        "fr": "{tenant} a déjà un compte {connector} {account!r} sur {platform} ; déconnectez-le d'abord (growthops accounts disconnect --tenant {tenant} --platform {platform} --by NOM)",
    },
    "accounts.connected": {
        "en": "{tenant}: {connector} account {account} connected on {platform}; credentials encrypted at rest ({keys}). They are checked at the first call to the platform.",
        "fr": "{tenant} : compte {connector} {account} connecté sur {platform} ; identifiants chiffrés au repos ({keys}). Ils seront vérifiés au premier appel à la plateforme.",
    },
    "accounts.sandbox_created": {
        "en": "{tenant}: sandbox account {account} created on {platform} (seed {seed}): {campaigns} campaigns, {adsets} ad sets, {ads} ads, simulated {first} → {last} ({rows} metric rows).",
        "fr": "{tenant} : compte sandbox {account} créé sur {platform} (graine {seed}) : {campaigns} campagnes, {adsets} ensembles de publicités, {ads} publicités, simulé du {first} au {last} ({rows} lignes de métriques).",
    },
    "accounts.sandbox_next": {
        "en": "Next: growthops daily --tenant {tenant}, then growthops accounts advance --tenant {tenant} --days 1 to simulate the next day.",
        "fr": "Ensuite : growthops daily --tenant {tenant}, puis growthops accounts advance --tenant {tenant} --days 1 pour simuler le jour suivant.",
    },
    "accounts.no_account": {
        "en": "{tenant} has no ad account on {platform}",
        "fr": "{tenant} n'a pas de compte publicitaire sur {platform}",
    },
    "accounts.not_sandbox": {
        "en": "accounts advance fast-forwards only a sandbox account; {tenant}'s {platform} account {account!r} is a real {connector} account",
        "fr": "accounts advance n'avance qu'un compte sandbox ; le compte {platform} {account!r} de {tenant} est un vrai compte {connector}",
    },
    "accounts.advanced": {
        "en": "{tenant}: sandbox on {platform} advanced {days} days, now simulated up to {last} ({n_days} days of metrics).",
        "fr": "{tenant} : sandbox sur {platform} avancée de {days} jours, simulée jusqu'au {last} ({n_days} jours de métriques).",
    },
    "accounts.in_flight": {
        "en": "{n} execution(s) on {platform} are still in flight (claimed, not settled); run growthops reconcile --tenant {tenant} first",
        "fr": "{n} exécution(s) sur {platform} sont encore en cours (réservées, non réglées) ; lancez d'abord growthops reconcile --tenant {tenant}",
    },
    "accounts.disconnected": {
        "en": "{tenant}: {connector} account {account} on {platform} disconnected by {by} (audited). Its metrics are kept; nothing can be executed on {platform} until an account is connected again.",
        "fr": "{tenant} : compte {connector} {account} sur {platform} déconnecté par {by} (audité). Ses métriques sont conservées ; plus rien ne peut être exécuté sur {platform} avant une nouvelle connexion.",
    },
    "error": {"en": "Error", "fr": "Erreur"},
}


def t(key: str, lang: str = "en", **params: object) -> str:
    """Return message ``key`` in ``lang`` (fallback English) formatted with ``params``."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**params)
