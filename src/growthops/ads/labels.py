"""The ads domain's codes as people read them: statuses, priorities, types, levels, metrics.

Each table maps a code stored in the database to an ``N_``-marked English label; the French is
in the domain's catalog (``ads/locale/fr/LC_MESSAGES/messages.po``) and :func:`code` /
:func:`metric_label` translate at display time. The tables are registered with the dashboard
shell (:func:`growthops.web.messages.register_codes`) so templates can call ``code(value, lang)``.
"""

from __future__ import annotations

from growthops.core.i18n import N_, code_label

#: Suggestion, execution, anomaly, hypothesis and validation statuses; priorities; suggestion
#: and action types; entity levels; decision channels; pattern types.
CODES: dict[str, str] = {
    # priorities and severities
    "critical": N_("critical"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    # suggestion statuses (migration 0004) and decisions
    "pending": N_("pending"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "backlog": N_("backlog"),
    "executing": N_("executing"),
    "executed": N_("executed"),
    "expired": N_("expired"),
    "failed": N_("failed"),
    "blocked": N_("blocked"),
    # suggestion types
    "scale": N_("scale"),
    "pause": N_("pause"),
    "refresh": N_("refresh creative"),
    "test_angle": N_("test an angle"),
    "campaign_diagnostic": N_("diagnostic"),
    "budget_increase": N_("budget +"),
    "budget_decrease": N_("budget −"),
    "bid_adjustment": N_("bid"),
    # anomalies
    "spike": N_("spike"),
    "drop": N_("drop"),
    "active": N_("active"),
    "investigating": N_("investigating"),
    "resolved": N_("resolved"),
    "dismissed": N_("dismissed"),
    # cycle runs
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    # executions
    "paused": N_("paused"),
    "applied": N_("applied"),
    "reconciled": N_("reconciled"),
    "claimed": N_("in progress"),
    "dry_run": N_("dry run"),
    "budget_change": N_("budget change"),
    "bid_change": N_("bid change"),
    "handoff": N_("handoff"),
    "create_copy": N_("test variant created"),  # a creative test's launch (ads.experiments)
    # hypothesis outcomes
    "validated": N_("validated"),
    "invalidated": N_("invalidated"),
    "partial": N_("partial"),
    "inconclusive": N_("inconclusive"),
    "open": N_("measuring"),
    # validation queue
    "client_review": N_("client review"),
    "team_review": N_("team review"),
    "rejected": N_("rejected"),
    "ad_creative": N_("ad creative"),
    "campaign_change": N_("campaign change"),
    # levels
    "campaign": N_("campaign"),
    "adset": N_("ad set"),
    "ad": N_("ad"),
    "funnel": N_("funnel"),
    "sales": N_("sales"),
    # decision patterns
    "approval_preference": N_("tends to approve"),
    "refusal_preference": N_("tends to refuse"),
    # decision channels
    "dashboard": N_("dashboard"),
    "cli": N_("command line"),
    "api": "API",
    "slack": "Slack",
    "auto": N_("auto-apply"),
}

#: Metric codes → display names (acronyms stay as they are in both languages).
METRICS: dict[str, str] = {
    "ctr": "CTR", "cvr": "CVR", "cpa": "CPA", "cpc": "CPC", "cpl": "CPL", "cpm": "CPM",
    "roas": "ROAS",
    "spend": N_("spend"),
    "spend_per_day": N_("spend/day"),
    "conversions": N_("conversions"),
    "leads": N_("leads"),
    "clicks": N_("clicks"),
    "impressions": N_("impressions"),
    "frequency": N_("frequency"),
    # predicted quantities of a suggestion (``predicted_metrics``)
    "value_lost": N_("value lost"),
    "spend_saved": N_("spend saved"),
    "results_lost": N_("results lost"),
    "results": N_("results"),
    "clicks_recovered": N_("clicks recovered"),
}


def code(value: str | None, lang: str) -> str:
    """Return a status, priority, type, level or channel code in ``lang`` (the code if unknown,
    '' for None)."""
    return code_label(CODES, value, lang)


def metric_label(metric: str, lang: str) -> str:
    """Return the display name of a metric (CTR, CPA, spend...) in ``lang``."""
    return code_label(METRICS, metric, lang)
