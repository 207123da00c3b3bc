"""English and French wording of suggestions, rendered once at creation into ``texts``.

A suggestion stores its action, reason and expected impact in both languages
(``ads.suggestions.texts``: ``{"en": {action, reason, expected_impact}, "fr": {...}}``), so
the digest, Slack and the dashboard show each reader's language without re-computing anything.
The templates below are English gettext messages (French in ``ads/locale``); numbers are
formatted per language by Babel (:mod:`growthops.core.i18n`) before they are filled in.
"""

from __future__ import annotations

from typing import Any

from growthops.core.i18n import (
    LANGS,
    N_,
    _,
    format_money,
    format_number,
    format_percent,
    format_ratio,
    ngettext,
    pgettext,
)


def money(x: float, cur: str, lang: str) -> str:
    """Format an amount of the tenant's currency, rounded from 100: ``€1,234`` / ``1 234 €``,
    ``€12.50`` / ``12,50 €``."""
    return format_money(x, cur, lang, 0 if abs(x) >= 100 else 2)


def ratio(x: float, lang: str) -> str:
    """Format a ROAS-like ratio: ``3.20×`` / ``3,20×`` (1 decimal from 10), the sign the
    tables and the report use (issue 9: reasons wrote ``x`` beside tables' ``×``)."""
    return format_ratio(x, lang, 2 if x < 10 else 1)


def pct(x: float, lang: str, digits: int = 0) -> str:
    """Format a fraction as a percentage: 0.123 -> ``12%`` / ``12 %``."""
    return format_percent(x, lang, digits)


def num(x: float, lang: str) -> str:
    """Format a count (rounded): ``1,234`` / ``1 234``."""
    return format_number(x, lang, 0)


def days(n: int, lang: str) -> str:
    """A span of reported days inside a sentence: ``10 days`` / ``10 jours`` (the window a
    figure actually covers, never the nominal one)."""
    n = int(n)
    return ngettext(lang, "{n} day", "{n} days", n, n=n)


def level(lv: str, lang: str) -> str:
    """An entity level inside a sentence: ``ad set`` / ``l'ensemble de publicités``."""
    return {
        "campaign": pgettext(lang, "level in a sentence", "campaign"),
        "adset": pgettext(lang, "level in a sentence", "ad set"),
        "ad": pgettext(lang, "level in a sentence", "ad"),
    }.get(lv, lv)


def direction(kind: str, lang: str) -> str:
    """An anomaly's direction inside a sentence: ``spike`` / ``en hausse``."""
    return {
        "spike": pgettext(lang, "anomaly direction in a sentence", "spike"),
        "drop": pgettext(lang, "anomaly direction in a sentence", "drop"),
    }.get(kind, kind)


#: Sentences the rules compose into a template's parameters.
WHY_BELOW_TARGET = N_("ROAS {roas} over {window} against a target of {target}; probability it "
                      "stays below target over the next 7 days: {conf}.")
WHY_MONTHLY_PACE = N_("Month-to-date spend {mtd}; at the pace of the last {window} the month ends near "
                      "{projected}, above the monthly maximum of {maximum} (probability {conf}); "
                      "this {level} has the lowest ROAS ({roas}).")
EXTRA_COST_PER_RESULT = N_(", cost per result {recent} vs {earlier}")
SIGNAL_CTR_FELL = N_("the CTR really fell")
SIGNAL_COST_ROSE = N_("the cost per result really rose")


#: The action of a budget change when no budget was reported (``daily`` is then the average
#: daily spend of the last 7 days, not a platform setting): say so, and how the change is made.
ACTION_NO_BUDGET = {
    "scale": N_("Raise the spend of {level} {name} by {step}: average daily spend {budget_from} → "
                "about {budget_to} (no daily budget was reported: set one in the ad platform)"),
    "budget_increase": N_("Raise the spend of {level} {name} by {step}: average daily spend "
                          "{budget_from} → about {budget_to} (no daily budget was reported: set "
                          "one in the ad platform)"),
    "budget_decrease": N_("Lower the spend of {level} {name} by {step}: average daily spend "
                          "{budget_from} → about {budget_to} (no daily budget was reported: set "
                          "one in the ad platform)"),
}


def sentence(template: str, params: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Render one message in every language; ``params[lang]`` holds that language's values."""
    return {lang: _(lang, template, **params[lang]) for lang in LANGS}


#: Templates per suggestion type (English; the French is in the catalog): action, reason,
#: expected_impact. Parameters are formatted per language before rendering.
TEMPLATES: dict[str, dict[str, str]] = {
    "pause": {
        "action": N_("Pause {level} {name}"),
        "reason": N_("ROAS {roas} over {window} ({results} results for {spend}) against a target of {target}; probability that its ROAS stays below {bad} ({bad_frac} of target) over the next 7 days: {conf}."),
        "expected_impact": N_("Saves about {save} a week ({save_lo}–{save_hi}); gives up {lost_lo}–{lost_hi} results worth about {value_lost}."),
    },
    "scale": {
        "action": N_("Scale {level} {name}: daily budget {budget_from} → {budget_to} (+{step})"),
        "reason": N_("ROAS {roas} over {window} ({results} results) vs target {target} and peers' p75 {p75}; out of the learning phase ({results_window} results in {days} days); probability its ROAS stays above {good} over the next 7 days: {conf}."),
        "expected_impact": N_("+{inc} results a week ({inc_lo}–{inc_hi}) for +{extra_spend}; expected ROAS {roas_new} ({roas_lo}–{roas_hi}) with diminishing returns."),
    },
    "budget_increase": {
        "action": N_("Increase the daily budget of {level} {name}: {budget_from} → {budget_to} (+{step})"),
        "reason": N_("ROAS {roas} over {window} ({results} results) vs target {target} and peers' p75 {p75}; probability its ROAS stays above {good} over the next 7 days: {conf}."),
        "expected_impact": N_("+{inc} results a week ({inc_lo}–{inc_hi}) for +{extra_spend}; expected ROAS {roas_new} ({roas_lo}–{roas_hi})."),
    },
    "budget_decrease": {
        "action": N_("Decrease the daily budget of {level} {name}: {budget_from} → {budget_to} (−{step})"),
        "reason": "{why}",  # a sentence already in the reader's language
        "expected_impact": N_("Saves {save} a week; gives up {lost_lo}–{lost_hi} results; expected ROAS {roas_new} ({roas_lo}–{roas_hi})."),
    },
    "refresh": {
        "action": N_("Refresh the creative of ad {name}"),
        "reason": N_("Fatigue index {fatigue}/100: CTR {ctr_r} in the last 7 days vs {ctr_e} before{extra}; probability that {signal}: {conf}."),
        "expected_impact": N_("A fresh creative at the earlier CTR would bring back about {clicks} clicks a week ({clicks_lo}–{clicks_hi})."),
    },
    "test_angle": {
        "action": N_("Test a new angle in campaign {name}"),
        "reason": N_("{fatigued} of its {ads} ads with enough data are fatigued; campaign CTR {ctr_r} in the last 7 days vs {ctr_e} before; probability the CTR really fell: {conf}."),
        "expected_impact": N_("Recovering the earlier CTR would bring back about {clicks} clicks a week ({clicks_lo}–{clicks_hi})."),
    },
    "campaign_diagnostic": {
        "action": N_("Diagnose campaign {name}: {metric} {direction}"),
        "reason": N_("{metric} was {actual} on {day} against an expected {expected} ({deviation}); q-value {q} after controlling false discoveries across {tests} tests."),
        "expected_impact": N_("At stake: about {stake} of spend a week on this campaign; check tracking, landing page, offer and delivery."),
    },
    "bid_adjustment": {
        "action": N_("Lower the bid or cost cap of {level} {name} by {step}"),
        "reason": N_("CPM {actual} on {day} against an expected {expected} ({deviation}) while CTR held; auction prices rose (q-value {q})."),
        "expected_impact": N_("Keeps about {spend} a week from buying impressions {deviation} dearer; expect fewer impressions until prices ease."),
    },
}


def render(kind: str, params: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Render ``kind``'s templates in every language; ``params[lang]`` holds that language's
    formatted values. Returns ``{"en": {action, reason, expected_impact}, "fr": {...}}``."""
    return {lang: {field: _(lang, tpl, **params[lang]) for field, tpl in TEMPLATES[kind].items()}
            for lang in LANGS}
