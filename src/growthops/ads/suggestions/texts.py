"""English and French wording of suggestions (numbers formatted per language)."""

from __future__ import annotations

from typing import Any


def money(x: float, cur: str, lang: str) -> str:
    """Format an amount of the tenant's currency: ``1,234 EUR`` / ``1 234 EUR``."""
    s = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return f"{s} {cur}"


def ratio(x: float, lang: str) -> str:
    """Format a ROAS-like ratio: ``3.2x`` / ``3,2x``."""
    s = f"{x:.2f}x" if x < 10 else f"{x:.1f}x"
    return s.replace(".", ",") if lang == "fr" else s


def pct(x: float, lang: str, digits: int = 0) -> str:
    """Format a fraction as percent: 0.123 -> ``12%`` / ``12 %``."""
    s = f"{100 * x:.{digits}f}"
    return (s.replace(".", ",") + "\u202f%") if lang == "fr" else s + "%"


def num(x: float, lang: str) -> str:
    """Format a count (rounded)."""
    s = f"{x:,.0f}"
    return s.replace(",", "\u202f") if lang == "fr" else s


LEVEL = {
    "en": {"campaign": "campaign", "adset": "ad set", "ad": "ad"},
    "fr": {"campaign": "la campagne", "adset": "l'ensemble de publicités", "ad": "la publicité"},
}

# Templates per suggestion type: action, reason, expected_impact. Parameters are pre-formatted.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "pause": {
        "en": {
            "action": "Pause {level} {name}",
            "reason": "ROAS {roas} over 14 days ({results} results for {spend}) against a target of {target}; probability that its ROAS stays below {bad} ({bad_frac} of target) over the next 7 days: {conf}.",
            "expected_impact": "Saves about {save} a week ({save_lo}–{save_hi}); gives up {lost_lo}–{lost_hi} results worth about {value_lost}.",
        },
        "fr": {
            "action": "Mettre en pause {level} {name}",
            "reason": "ROAS de {roas} sur 14 jours ({results} résultats pour {spend}) pour un objectif de {target} ; probabilité que son ROAS reste sous {bad} ({bad_frac} de l'objectif) les 7 prochains jours : {conf}.",
            "expected_impact": "Économise environ {save} par semaine ({save_lo}–{save_hi}) ; renonce à {lost_lo}–{lost_hi} résultats valant environ {value_lost}.",
        },
    },
    "scale": {
        "en": {
            "action": "Scale {level} {name}: daily budget {budget_from} → {budget_to} (+{step})",
            "reason": "ROAS {roas} over 14 days ({results} results) vs target {target} and peers' p75 {p75}; out of the learning phase ({results_window} results in {days} days); probability its ROAS stays above {good} over the next 7 days: {conf}.",
            "expected_impact": "+{inc} results a week ({inc_lo}–{inc_hi}) for +{extra_spend}; expected ROAS {roas_new} ({roas_lo}–{roas_hi}) with diminishing returns.",
        },
        "fr": {
            "action": "Augmenter {level} {name} : budget quotidien {budget_from} → {budget_to} (+{step})",
            "reason": "ROAS de {roas} sur 14 jours ({results} résultats) contre un objectif de {target} et un p75 des pairs de {p75} ; sorti de la phase d'apprentissage ({results_window} résultats en {days} jours) ; probabilité que le ROAS reste au-dessus de {good} les 7 prochains jours : {conf}.",
            "expected_impact": "+{inc} résultats par semaine ({inc_lo}–{inc_hi}) pour +{extra_spend} ; ROAS attendu {roas_new} ({roas_lo}–{roas_hi}) avec rendements décroissants.",
        },
    },
    "budget_increase": {
        "en": {
            "action": "Increase the daily budget of {level} {name}: {budget_from} → {budget_to} (+{step})",
            "reason": "ROAS {roas} over 14 days ({results} results) vs target {target} and peers' p75 {p75}; probability its ROAS stays above {good} over the next 7 days: {conf}.",
            "expected_impact": "+{inc} results a week ({inc_lo}–{inc_hi}) for +{extra_spend}; expected ROAS {roas_new} ({roas_lo}–{roas_hi}).",
        },
        "fr": {
            "action": "Augmenter le budget quotidien de {level} {name} : {budget_from} → {budget_to} (+{step})",
            "reason": "ROAS de {roas} sur 14 jours ({results} résultats) contre un objectif de {target} et un p75 des pairs de {p75} ; probabilité que le ROAS reste au-dessus de {good} les 7 prochains jours : {conf}.",
            "expected_impact": "+{inc} résultats par semaine ({inc_lo}–{inc_hi}) pour +{extra_spend} ; ROAS attendu {roas_new} ({roas_lo}–{roas_hi}).",
        },
    },
    "budget_decrease": {
        "en": {
            "action": "Decrease the daily budget of {level} {name}: {budget_from} → {budget_to} (−{step})",
            "reason": "{why}",
            "expected_impact": "Saves {save} a week; gives up {lost_lo}–{lost_hi} results; expected ROAS {roas_new} ({roas_lo}–{roas_hi}).",
        },
        "fr": {
            "action": "Baisser le budget quotidien de {level} {name} : {budget_from} → {budget_to} (−{step})",
            "reason": "{why}",
            "expected_impact": "Économise {save} par semaine ; renonce à {lost_lo}–{lost_hi} résultats ; ROAS attendu {roas_new} ({roas_lo}–{roas_hi}).",
        },
    },
    "refresh": {
        "en": {
            "action": "Refresh the creative of ad {name}",
            "reason": "Fatigue index {fatigue}/100: CTR {ctr_r} in the last 7 days vs {ctr_e} before{extra}; probability that {signal}: {conf}.",
            "expected_impact": "A fresh creative at the earlier CTR would bring back about {clicks} clicks a week ({clicks_lo}–{clicks_hi}).",
        },
        "fr": {
            "action": "Renouveler le visuel de la publicité {name}",
            "reason": "Indice de fatigue {fatigue}/100 : CTR de {ctr_r} sur les 7 derniers jours contre {ctr_e} avant{extra} ; probabilité que {signal} : {conf}.",
            "expected_impact": "Un nouveau visuel au CTR d'avant ramènerait environ {clicks} clics par semaine ({clicks_lo}–{clicks_hi}).",
        },
    },
    "test_angle": {
        "en": {
            "action": "Test a new angle in campaign {name}",
            "reason": "{fatigued} of its {ads} ads with enough data are fatigued; campaign CTR {ctr_r} in the last 7 days vs {ctr_e} before; probability the CTR really fell: {conf}.",
            "expected_impact": "Recovering the earlier CTR would bring back about {clicks} clicks a week ({clicks_lo}–{clicks_hi}).",
        },
        "fr": {
            "action": "Tester un nouvel angle dans la campagne {name}",
            "reason": "{fatigued} de ses {ads} publicités avec assez de données sont fatiguées ; CTR de la campagne {ctr_r} sur 7 jours contre {ctr_e} avant ; probabilité que le CTR ait vraiment baissé : {conf}.",
            "expected_impact": "Retrouver le CTR d'avant ramènerait environ {clicks} clics par semaine ({clicks_lo}–{clicks_hi}).",
        },
    },
    "campaign_diagnostic": {
        "en": {
            "action": "Diagnose campaign {name}: {metric} {direction}",
            "reason": "{metric} was {actual} on {day} against an expected {expected} ({deviation}); q-value {q} after controlling false discoveries across {tests} tests.",
            "expected_impact": "At stake: about {stake} of spend a week on this campaign; check tracking, landing page, offer and delivery.",
        },
        "fr": {
            "action": "Diagnostiquer la campagne {name} : {metric} {direction}",
            "reason": "{metric} à {actual} le {day} pour {expected} attendu ({deviation}) ; q-value {q} après contrôle des fausses découvertes sur {tests} tests.",
            "expected_impact": "En jeu : environ {stake} de dépense par semaine sur cette campagne ; vérifier le tracking, la page d'arrivée, l'offre et la diffusion.",
        },
    },
    "bid_adjustment": {
        "en": {
            "action": "Lower the bid or cost cap of {level} {name} by {step}",
            "reason": "CPM {actual} on {day} against an expected {expected} ({deviation}) while CTR held; auction prices rose (q-value {q}).",
            "expected_impact": "Keeps about {spend} a week from buying impressions {deviation} dearer; expect fewer impressions until prices ease.",
        },
        "fr": {
            "action": "Baisser l'enchère ou le plafond de coût de {level} {name} de {step}",
            "reason": "CPM de {actual} le {day} pour {expected} attendu ({deviation}) alors que le CTR a tenu ; les prix de l'enchère ont monté (q-value {q}).",
            "expected_impact": "Évite qu'environ {spend} par semaine n'achète des impressions {deviation} plus chères ; moins d'impressions tant que les prix restent hauts.",
        },
    },
}


def render(kind: str, params: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Render ``kind``'s templates; ``params[lang]`` holds that language's formatted values."""
    return {
        lang: {field: tpl.format(**params[lang]) for field, tpl in TEMPLATES[kind][lang].items()}
        for lang in ("en", "fr")
    }
