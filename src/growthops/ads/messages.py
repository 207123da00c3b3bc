"""Every label of the ads domain's dashboard pages in English and French.

Registered with the shell's message registry (:mod:`growthops.web.messages`) at import;
``t(key, lang, **params)`` and ``code(value, lang)`` are the shell's (fallback for codes:
:func:`growthops.ads.reporting.digest.code_label`).
"""

from __future__ import annotations

from growthops.ads.reporting.digest import code_label
from growthops.web.messages import LANGS, code, register, t

__all__ = ["CODES", "LANGS", "MESSAGES", "code", "t"]

MESSAGES: dict[str, dict[str, str]] = {
    # -- layout and navigation
    "nav.queue": {"en": "Suggestions", "fr": "Suggestions"},
    "nav.learning": {"en": "Learning", "fr": "Apprentissage"},
    "nav.validation": {"en": "Validation", "fr": "Validation"},
    # -- login
    # -- errors
    # -- overview
    "overview.none": {"en": "No client to show.", "fr": "Aucun client à afficher."},
    "overview.note": {
        "en": "Spend and results over the last 7 reported days; pacing: month-to-date spend and "
              "its projection to the end of the month (month-to-date + mean daily spend of the "
              "last 7 reported days × days left), as the monthly budget guard rail computes it.",
        "fr": "Dépenses et résultats sur les 7 derniers jours remontés ; rythme : dépenses du "
              "mois à date et leur projection à la fin du mois (mois à date + dépense "
              "quotidienne moyenne des 7 derniers jours × jours restants), comme le calcule le "
              "garde-fou du budget mensuel."},
    "col.client": {"en": "client", "fr": "client"},
    "col.data_as_of": {"en": "data as of", "fr": "données au"},
    "col.spend_7d": {"en": "spend, 7 days", "fr": "dépenses, 7 jours"},
    "col.kpi": {"en": "ROAS or CPA vs target", "fr": "ROAS ou CPA vs cible"},
    "col.pacing": {"en": "pacing vs monthly budget", "fr": "rythme vs budget mensuel"},
    "col.pending": {"en": "pending suggestions", "fr": "suggestions en attente"},
    "col.anomalies": {"en": "active anomalies", "fr": "anomalies actives"},
    "kpi.roas": {"en": "ROAS {value} (target {target})", "fr": "ROAS {value} (cible {target})"},
    "kpi.cpa": {"en": "CPA {value} (max {target})", "fr": "CPA {value} (max {target})"},
    "kpi.cpa_no_target": {"en": "CPA {value}", "fr": "CPA {value}"},
    "kpi.none": {"en": "no result yet", "fr": "aucun résultat"},
    "kpi.on_target": {"en": "on target", "fr": "dans la cible"},
    "kpi.off_target": {"en": "off target", "fr": "hors cible"},
    "pacing.mtd": {"en": "{mtd} spent, {projected} projected of {budget} ({pct})",
                   "fr": "{mtd} dépensés, {projected} projetés sur {budget} ({pct})"},
    "pacing.no_budget": {"en": "{mtd} spent, {projected} projected (no monthly maximum)",
                         "fr": "{mtd} dépensés, {projected} projetés (pas de maximum mensuel)"},
    "pacing.over": {"en": "over budget", "fr": "au-dessus du budget"},
    "no_data": {"en": "no data", "fr": "aucune donnée"},
    # -- suggestion queue
    "queue.title": {"en": "Suggestions · {tenant}", "fr": "Suggestions · {tenant}"},
    "queue.filter": {"en": "Filter", "fr": "Filtrer"},
    "queue.all": {"en": "all", "fr": "toutes"},
    "queue.open": {"en": "open (pending, backlog)", "fr": "ouvertes (en attente, en réserve)"},
    "queue.status": {"en": "status", "fr": "statut"},
    "queue.type": {"en": "type", "fr": "type"},
    "queue.priority": {"en": "priority", "fr": "priorité"},
    "queue.count": {"en": "{shown} of {total} suggestions", "fr": "{shown} suggestions sur {total}"},
    "queue.none": {"en": "No suggestion matches.", "fr": "Aucune suggestion ne correspond."},
    "queue.more": {"en": "Next page", "fr": "Page suivante"},
    "queue.prev": {"en": "Previous page", "fr": "Page précédente"},
    "sugg.reason": {"en": "Why", "fr": "Pourquoi"},
    "sugg.impact": {"en": "Expected impact", "fr": "Impact attendu"},
    "sugg.confidence": {"en": "confidence {pct}", "fr": "confiance {pct}"},
    "sugg.calibrated": {"en": "calibrated {pct}", "fr": "calibrée {pct}"},
    "sugg.expires": {"en": "expires {when}", "fr": "expire le {when}"},
    "sugg.as_of": {"en": "data as of {day}", "fr": "données au {day}"},
    "sugg.notes": {"en": "Notes (why)", "fr": "Notes (pourquoi)"},
    "sugg.notes_ph": {"en": "optional: the reason for your decision",
                      "fr": "facultatif : la raison de votre décision"},
    "sugg.approve": {"en": "Approve", "fr": "Approuver"},
    "sugg.refuse": {"en": "Refuse", "fr": "Refuser"},
    "sugg.backlog": {"en": "Backlog", "fr": "Mettre en réserve"},
    "sugg.decided": {"en": "{decision} by {by} on {at}", "fr": "{decision} par {by} le {at}"},
    "sugg.via": {"en": "via {channel}", "fr": "via {channel}"},
    "sugg.conflict": {"en": "Not recorded: {message}", "fr": "Non enregistré : {message}"},
    "sugg.no_account": {
        "en": "Approved. No {platform} ad account is connected for this client: nothing was "
              "executed.",
        "fr": "Approuvée. Aucun compte publicitaire {platform} n'est connecté pour ce client : "
              "rien n'a été exécuté."},
    "sugg.entity_page": {"en": "entity page", "fr": "page de l'entité"},
    "exec.applied": {"en": "Executed on the account: {message}",
                     "fr": "Exécutée sur le compte : {message}"},
    "exec.reconciled": {"en": "Executed (settled from the account's state): {message}",
                        "fr": "Exécutée (constatée sur le compte) : {message}"},
    "exec.blocked": {"en": "Blocked by the guard rail {rails}: {message}",
                     "fr": "Bloquée par le garde-fou {rails} : {message}"},
    "exec.dry_run": {"en": "Not executed (dry run / validate only): {message}",
                     "fr": "Non exécutée (simulation / validation seule) : {message}"},
    "exec.failed": {"en": "Execution failed: {message}", "fr": "Échec de l'exécution : {message}"},
    "exec.retry": {"en": "Execution will be retried: {message}",
                   "fr": "L'exécution sera retentée : {message}"},
    "exec.skipped": {"en": "Not executed: {message}", "fr": "Non exécutée : {message}"},
    "exec.handoff": {"en": "Handed to the validation queue: {message}",
                     "fr": "Transmise à la file de validation : {message}"},
    "exec.not_executable": {"en": "Recorded (nothing to execute): {message}",
                            "fr": "Enregistrée (rien à exécuter) : {message}"},
    "exec.held": {"en": "Held: {message}", "fr": "Retenue : {message}"},
    "change.budget": {"en": "daily budget {frm} → {to}", "fr": "budget quotidien {frm} → {to}"},
    "change.bid": {"en": "bid cap {frm} → {to}", "fr": "plafond d'enchère {frm} → {to}"},
    "change.status": {"en": "status {frm} → {to}", "fr": "statut {frm} → {to}"},
    "exec.last": {"en": "Last execution: {status} {when}", "fr": "Dernière exécution : {status} {when}"},
    # -- entity page
    "entity.title": {"en": "{level} {name}", "fr": "{level} {name}"},
    "entity.metric": {"en": "Metric", "fr": "Métrique"},
    "entity.show": {"en": "Show", "fr": "Afficher"},
    "entity.chart_note": {
        "en": "Last 60 days to {day}. Thin grey line: daily value; thick line: trailing 7-day "
              "value (ratio of sums); bands: peers' p25–p75 (dark) and p10–p90 (light) over 7 "
              "days (baseline of {as_of}); triangles: anomalies.",
        "fr": "60 derniers jours jusqu'au {day}. Trait gris fin : valeur du jour ; trait épais : "
              "valeur sur 7 jours glissants (ratio des sommes) ; bandes : p25–p75 (foncée) et "
              "p10–p90 (claire) des pairs sur 7 jours (référence du {as_of}) ; triangles : "
              "anomalies."},
    "entity.totals": {"en": "Last 7 reported days", "fr": "7 derniers jours remontés"},
    "entity.anomalies": {"en": "Anomalies (60 days)", "fr": "Anomalies (60 jours)"},
    "entity.no_anomalies": {"en": "No anomaly in the last 60 days.",
                            "fr": "Aucune anomalie sur les 60 derniers jours."},
    "entity.suggestions": {"en": "Suggestions", "fr": "Suggestions"},
    "entity.no_suggestions": {"en": "No suggestion for this entity.",
                              "fr": "Aucune suggestion pour cette entité."},
    "entity.executions": {"en": "Executions and measured outcomes",
                          "fr": "Exécutions et résultats mesurés"},
    "entity.no_executions": {"en": "No execution on this entity.",
                             "fr": "Aucune exécution sur cette entité."},
    "entity.no_metrics": {"en": "No metrics for this entity.",
                          "fr": "Aucune métrique pour cette entité."},
    "col.when": {"en": "when (UTC)", "fr": "quand (UTC)"},
    "col.by": {"en": "by", "fr": "par"},
    "col.change": {"en": "change", "fr": "modification"},
    "col.exec_status": {"en": "execution", "fr": "exécution"},
    "col.outcome": {"en": "measured outcome", "fr": "résultat mesuré"},
    "col.window": {"en": "measurement window", "fr": "fenêtre de mesure"},
    "col.predicted": {"en": "predicted (p10–p90)", "fr": "prévu (p10–p90)"},
    "col.actual": {"en": "observed", "fr": "observé"},
    "col.day": {"en": "day", "fr": "jour"},
    "col.metric": {"en": "metric", "fr": "métrique"},
    "col.expected": {"en": "expected", "fr": "attendu"},
    "col.deviation": {"en": "deviation", "fr": "écart"},
    "col.severity": {"en": "severity", "fr": "gravité"},
    "col.status": {"en": "status", "fr": "statut"},
    "col.id": {"en": "#", "fr": "n°"},
    "col.type": {"en": "type", "fr": "type"},
    "col.action": {"en": "action", "fr": "action"},
    "col.history": {"en": "what happened", "fr": "ce qui s'est passé"},
    "col.entity": {"en": "entity", "fr": "entité"},
    "col.confidence": {"en": "confidence", "fr": "confiance"},
    "measuring": {"en": "measuring until {day}", "fr": "mesure jusqu'au {day}"},
    # -- learning
    "learning.title": {"en": "Learning · {tenant}", "fr": "Apprentissage · {tenant}"},
    "learning.outcomes": {"en": "Hypothesis outcomes", "fr": "Résultats des hypothèses"},
    "learning.by_type": {"en": "By suggestion type", "fr": "Par type de suggestion"},
    "learning.calibration": {"en": "Calibration", "fr": "Calibration"},
    "learning.calibration_note": {
        "en": "Reliability: for each 10-point bin of stated confidence, the share of measured "
              "hypotheses that held (validated = 1, partial = 0.5, invalidated = 0; inconclusive "
              "excluded) with its Wilson 95% interval. On the diagonal, stated = observed. "
              "{n} outcomes scored.",
        "fr": "Fiabilité : pour chaque tranche de 10 points de confiance annoncée, la part des "
              "hypothèses mesurées qui se sont vérifiées (validée = 1, partielle = 0,5, "
              "invalidée = 0 ; non concluantes exclues) avec son intervalle de Wilson à 95 %. "
              "Sur la diagonale, annoncé = observé. {n} résultats notés."},
    "learning.brier": {"en": "Brier score (lower is better)",
                       "fr": "Score de Brier (plus bas = mieux)"},
    "learning.brier_stated": {"en": "stated confidence", "fr": "confiance annoncée"},
    "learning.brier_calibrated": {"en": "after calibration", "fr": "après calibration"},
    "learning.model": {"en": "Active calibration model: {method}, fitted {when} on {n} outcomes.",
                       "fr": "Modèle de calibration actif : {method}, ajusté le {when} sur {n} "
                             "résultats."},
    "learning.no_model": {"en": "No active calibration model: stated confidences are used as is.",
                          "fr": "Aucun modèle de calibration actif : les confiances annoncées "
                                "sont utilisées telles quelles."},
    "learning.patterns": {"en": "Decision patterns", "fr": "Habitudes de décision"},
    "learning.no_patterns": {"en": "No decision pattern learned yet.",
                             "fr": "Aucune habitude de décision apprise pour l'instant."},
    "learning.recent": {"en": "Latest hypotheses", "fr": "Dernières hypothèses"},
    "learning.no_hypotheses": {"en": "No hypothesis yet: approve and execute suggestions first.",
                               "fr": "Aucune hypothèse : approuvez et exécutez d'abord des "
                                     "suggestions."},
    "learning.feedback": {"en": "Adjustments of the engine", "fr": "Ajustements du moteur"},
    "col.bin": {"en": "stated", "fr": "annoncée"},
    "col.count": {"en": "n", "fr": "n"},
    "col.observed": {"en": "observed (95% CI)", "fr": "observé (IC 95 %)"},
    "col.pattern": {"en": "pattern", "fr": "habitude"},
    "col.condition": {"en": "condition", "fr": "condition"},
    "col.decisions": {"en": "approved / refused", "fr": "approuvées / refusées"},
    "col.significance": {"en": "significance", "fr": "significativité"},
    "col.issue": {"en": "issue", "fr": "problème"},
    "col.adjustment": {"en": "adjustment", "fr": "ajustement"},
    "col.hypothesis": {"en": "hypothesis", "fr": "hypothèse"},
    "chart.stated": {"en": "stated confidence (%)", "fr": "confiance annoncée (%)"},
    "chart.observed": {"en": "observed rate (%)", "fr": "taux observé (%)"},
    "chart.perfect": {"en": "perfect calibration", "fr": "calibration parfaite"},
    "chart.bins": {"en": "observed (95% CI)", "fr": "observé (IC 95 %)"},
    "chart.map": {"en": "calibration map", "fr": "courbe de calibration"},
    "chart.empty": {"en": "no measured outcome yet", "fr": "aucun résultat mesuré"},
    # -- validation
    "validation.title": {"en": "Validation queue · {tenant}", "fr": "File de validation · {tenant}"},
    "validation.none": {"en": "No validation item.", "fr": "Aucun élément à valider."},
    "validation.advance": {"en": "Validate", "fr": "Valider"},
    "validation.reject": {"en": "Reject", "fr": "Rejeter"},
    "validation.reason": {"en": "Reason (required to reject)", "fr": "Raison (requise pour rejeter)"},
    "validation.submitted": {"en": "submitted by {by} on {at}", "fr": "soumis par {by} le {at}"},
    "validation.client_ok": {"en": "client review: {by} on {at}",
                             "fr": "validation client : {by} le {at}"},
    "validation.team_ok": {"en": "team review: {by} on {at}", "fr": "validation équipe : {by} le {at}"},
    "validation.rejected": {"en": "rejected by {by} on {at}: {reason}",
                            "fr": "rejeté par {by} le {at} : {reason}"},
    "validation.expires": {"en": "expires {when}", "fr": "expire le {when}"},
    "validation.error": {"en": "Not recorded: {message}", "fr": "Non enregistré : {message}"},
}

#: Codes the dashboard shows that :func:`growthops.ads.reporting.digest.code_label` does not translate.
CODES: dict[str, dict[str, str]] = {
    "executing": {"en": "executing", "fr": "en exécution"},
    "paused": {"en": "paused", "fr": "en pause"},
    "blocked": {"en": "blocked", "fr": "bloquée"},
    "applied": {"en": "applied", "fr": "appliquée"},
    "reconciled": {"en": "reconciled", "fr": "constatée"},
    "claimed": {"en": "in progress", "fr": "en cours"},
    "dry_run": {"en": "dry run", "fr": "simulation"},
    "validated": {"en": "validated", "fr": "validée"},
    "invalidated": {"en": "invalidated", "fr": "invalidée"},
    "partial": {"en": "partial", "fr": "partielle"},
    "inconclusive": {"en": "inconclusive", "fr": "non concluante"},
    "open": {"en": "measuring", "fr": "en mesure"},
    "client_review": {"en": "client review", "fr": "validation client"},
    "team_review": {"en": "team review", "fr": "validation équipe"},
    "rejected": {"en": "rejected", "fr": "rejeté"},
    "ad_creative": {"en": "ad creative", "fr": "créa publicitaire"},
    "campaign_change": {"en": "campaign change", "fr": "modification de campagne"},
    "budget_increase": {"en": "budget +", "fr": "budget +"},
    "campaign": {"en": "campaign", "fr": "campagne"},
    "adset": {"en": "ad set", "fr": "ensemble de pubs"},
    "ad": {"en": "ad", "fr": "publicité"},
    "funnel": {"en": "funnel", "fr": "tunnel"},
    "sales": {"en": "sales", "fr": "ventes"},
    "budget_change": {"en": "budget change", "fr": "changement de budget"},
    "bid_change": {"en": "bid change", "fr": "changement d'enchère"},
    "handoff": {"en": "handoff", "fr": "transmission"},
    "approval_preference": {"en": "tends to approve", "fr": "approuve souvent"},
    "refusal_preference": {"en": "tends to refuse", "fr": "refuse souvent"},
    "dashboard": {"en": "dashboard", "fr": "tableau de bord"},
    "cli": {"en": "command line", "fr": "ligne de commande"},
    "api": {"en": "API", "fr": "API"},
    "slack": {"en": "Slack", "fr": "Slack"},
    "auto": {"en": "auto-apply", "fr": "application automatique"},
}

register(MESSAGES, CODES, code_fallback=code_label)
