"""Evidence thresholds and platform rules, each with its source.

Every number the daily cycle uses to decide "enough evidence" or "act" lives here, so it can be
read, cited and changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Meta: an ad set needs about 50 optimisation events within 7 days of its last significant edit
#: to leave the learning phase. Source: Meta Business Help Center, "About the learning phase".
META_LEARNING_EVENTS_7D = 50

#: Google Ads Smart Bidding: Target CPA is recommended with at least 30 conversions in the past
#: 30 days; Target ROAS with at least 15 (Google Ads Help, "About Target CPA bidding",
#: "About Target ROAS bidding"). We take the stricter 30 for Google and other platforms.
GOOGLE_MIN_CONVERSIONS_30D = 30

#: Daily spend may exceed the daily budget on a given day. Meta: "up to 25% more" on some days for
#: ad-set daily budgets (older Help Center wording; the current page says up to 75%, with a weekly
#: cap of 7x the daily budget); Google Ads: up to 2x the average daily budget on a day, never more
#: than 30.4x per month (Google Ads Help, "About average daily budgets"). We flag a day when spend
#: passes the platform's documented daily allowance, and a week when its spend passes 7x budget.
#: TikTok: an ad group (oCPM) "can expect stable CPA after achieving 50 conversions"; the
#: learning phase lasts about 7 days for automated campaigns (3 for manual ones). Source:
#: TikTok Business Help Center, "About the learning phase" (ads.tiktok.com/help/article/learning-phase).
TIKTOK_LEARNING_EVENTS_7D = 50

#: LinkedIn: we found no published learning-phase exit rule in LinkedIn Marketing Solutions
#: Help (no count of conversions within a window after which delivery is stable, as Meta and
#: TikTok publish). So none is invented here: LinkedIn falls back to the generic 30
#: conversions in 30 days of :func:`scale_rules`.
LINKEDIN_LEARNING_EVENTS = None

DAILY_OVERSPEND_ALLOWANCE = {"meta": 0.25, "google": 1.0}
DEFAULT_OVERSPEND_ALLOWANCE = 0.25
WEEKLY_OVERSPEND_TOLERANCE = 0.02  # 7-day spend above 7 x budget x (1 + this) is an overspend

#: Budget step of scale / budget changes: 20% at a time. Meta warns that large budget edits are
#: "significant edits" that can send an ad set back into learning (Help Center, "About the learning
#: phase"); 20% is the common conservative step (AdEspresso, Jon Loomer's guidance).
BUDGET_STEP = 0.20

#: Diminishing returns to budget: conversions grow like spend**ELASTICITY (a power-law response,
#: the small-change limit of the Hill/saturation curves used by Robyn and Meridian). 0.7 is the
#: central value; the interval uses ELASTICITY_RANGE.
ELASTICITY = 0.7
ELASTICITY_RANGE = (0.5, 0.9)

#: A pause needs the entity to have spent at least this many target CPAs in the evidence window
#: (practitioner "kill rule": judge an ad after ~2x target CPA of spend; before that, zero
#: conversions is not evidence). Seed 001 used a flat 500 in currency, which ignores the ticket.
PAUSE_MIN_SPEND_IN_TARGET_CPAS = 2.0
#: Seed 001: pause when ROI < 0.6 x target.
PAUSE_ROAS_FRACTION_OF_TARGET = 0.6
#: Scale when the entity's ROAS is above the target by this margin (returns diminish when scaled).
SCALE_ROAS_MARGIN = 1.2
#: Seed 001: scale only above the peers' p75.
SCALE_MIN_PERCENTILE = "p75"

#: A suggestion is emitted only when the posterior probability of its premise is at least this.
MIN_CONFIDENCE = 0.80

#: Creative fatigue: an ad is "fatigued" at fatigue_index >= this (0-100); the index needs
#: at least these volumes (clicks in the earlier window, impressions in the recent week).
FATIGUE_THRESHOLD = 60.0
FATIGUE_MIN_EARLIER_CLICKS = 20
FATIGUE_MIN_RECENT_IMPRESSIONS = 1000
#: Meta's own fatigue signal: cost per result at 2x or more of the ad's earlier level
#: (Ads Manager delivery diagnostics, "Creative fatigue").
FATIGUE_CPR_RATIO = 2.0

#: At most this many new suggestions per tenant and day (the 9 am review must stay short).
MAX_SUGGESTIONS_PER_DAY = 25
#: Suggestions expire 48 hours after creation (seed 000 `expires_at`).
SUGGESTION_TTL_HOURS = 48


@dataclass(frozen=True)
class PlatformRules:
    """Per-platform minimum evidence for scaling: ``min_results`` in ``days`` days."""

    min_results: int
    days: int


def scale_rules(platform: str) -> PlatformRules:
    """Return the minimum results needed before scaling an entity on ``platform``.

    Meta and TikTok: their learning-phase rule (50 in 7 days, sources above); Google and every
    other platform, LinkedIn included (no published rule): 30 in 30 days.
    """
    if platform == "meta":
        return PlatformRules(META_LEARNING_EVENTS_7D, 7)
    if platform == "tiktok":
        return PlatformRules(TIKTOK_LEARNING_EVENTS_7D, 7)
    return PlatformRules(GOOGLE_MIN_CONVERSIONS_30D, 30)
