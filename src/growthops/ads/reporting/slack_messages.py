"""The Slack messages :mod:`growthops.ads.reporting.slack_threads` posts, as pure functions
of rows: a suggestion's own message (its thread's root), the replies in its thread (decisions,
executions, validation, expiry, the measured outcome), anomaly and intraday overspend alerts.
English and French (``N_`` messages, docs/i18n.md); Slack mrkdwn escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from growthops.ads.labels import metric_label
from growthops.ads.reporting.digest import code_label, entity_label, suggestion_text
from growthops.ads.reporting.slack import (
    DONE_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    PRIORITY_EMOJI,
    suggestion_blocks,
    who_label,
)
from growthops.connectors.slack.mrkdwn import escape, slack_time, truncate
from growthops.core.errors import InvalidInput
from growthops.core.i18n import N_, _, format_money, format_number

if TYPE_CHECKING:

    pass

EXECUTION_TEXT = {
    "applied": N_(":rocket: Executed on {platform} ({action}) at {when}"),
    "reconciled": N_(":rocket: Executed on {platform} ({action}), confirmed at {when}"),
    "failed": N_(":warning: Execution failed at {when}: {error}"),
    "blocked": N_(":no_entry: Blocked by a guard rail at {when}: nothing was changed"),
    "dry_run": N_(":test_tube: Dry run at {when}: nothing was changed on {platform}"),
}
HANDOFF_TEXT = N_(":inbox_tray: Creative brief sent to the validation queue (item {id}) at {when}")
VALIDATION_TEXT = {
    "validation.advanced": N_(":arrow_right: Validation item {id} moved to {stage} by {who} at "
                              "{when}"),
    "validation.rejected": N_(":x: Validation item {id} rejected by {who} at {when}"),
    "validation.expired": N_(":hourglass: Validation item {id} expired at {when}"),
}
EXPIRED_TEXT = N_(":hourglass: Expired at {when}: it can no longer be decided")
OUTCOME_TEXT = N_("{emoji} Outcome measured for suggestion {id} ({entity}): *{outcome}*")
OUTCOME_EMOJI = {"validated": ":large_green_circle:", "invalidated": ":red_circle:",
                 "partial": ":large_yellow_circle:", "inconclusive": ":white_circle:"}
OUTCOME_EFFECT = N_("{metric}: net change {effect} (predicted {low} to {high}; noise ±{noise})")
ANOMALY_TEXT = N_("{emoji} *{severity} anomaly* · {entity}: {metric} {kind} on {day}")
ANOMALY_VALUES = N_("Actual {actual}, expected {expected} ({deviation}); q-value {q}")
PACING_DAY_TEXT = N_(":rotating_light: *Intraday overspend* · {entity}: {spent} spent by "
                     "{hours} h, projected {projected} for the day (daily budget {budget}, "
                     "cap {cap})")
PACING_MONTH_TEXT = N_(":rotating_light: *Monthly budget at risk*: {spent} spent this month, "
                       "projected {projected} against the monthly limit of {budget}")


# -------------------------------------------------------------------------------- messages
@dataclass
class Post:
    """One message to post: its unique ``key``, where, and what.

    ``kind``: ``item`` (a suggestion's own message), ``reply`` (in a thread), ``outcome``,
    ``anomaly``. ``thread_ts`` set means a reply in that thread of ``channel``; ``broadcast``
    also shows the reply in the channel.
    """

    key: str
    kind: str
    channel: str
    text: str
    lang: str
    suggestion_id: int | None = None
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    broadcast: bool = False
    #: Set by :func:`claim` when this claim took over a dead run's ``pending`` one: that run's
    #: ``claimed_at`` (UTC). The message may already be in Slack (:func:`find_posted`).
    stale_since: datetime | None = None


def _when(ts: datetime | None, time_zone: str) -> str:
    return slack_time(ts, time_zone) if ts else "?"


def item_post(row: Mapping[str, Any], *, channel: str, lang: str, currency: str, time_zone: str,
              now: datetime) -> Post:
    """Return the message of one pending suggestion (key ``item:<id>``): its three digest
    blocks (section, the three buttons, divider) and a fallback text with its action."""
    sid = int(row["suggestion_id"])
    action = suggestion_text(dict(row), "action", lang)
    text = truncate(f"{PRIORITY_EMOJI.get(row['priority'], '')} "
                    + _(lang, "Suggestion {id}: {action}", id=sid, action=action),
                    MAX_FALLBACK_TEXT)
    return Post(key=f"item:{sid}", kind="item", channel=channel, lang=lang, suggestion_id=sid,
                text=text, blocks=suggestion_blocks(row, lang=lang, currency=currency,
                                                    time_zone=time_zone, now=now))


def _pct_log(x: Any, lang: str) -> str:
    """A log change as a signed percent (``exp(x) - 1``), as measurement reports it."""
    import math

    try:
        v = 100 * (math.exp(float(x)) - 1)
    except (TypeError, ValueError, OverflowError):
        return "?"
    return ("+" if v > 0 else "") + format_number(round(v), lang, 0) + " %"


def event_text(ev: Mapping[str, Any], *, lang: str, time_zone: str) -> str:
    """Return the mrkdwn text of one transition of an item (a row of the events query).

    ``ev["event"]``: ``decision`` (``code`` approved/refused/backlog, ``who``, ``via`` the
    channel, ``detail`` the notes), ``execution`` (``code`` the log status, ``via`` the action
    type, ``detail`` the error, ``data`` the after state), ``expired``, ``validation``
    (``code`` the audit action, ``ref`` the queue id, ``data`` the after state) or
    ``outcome`` (``code`` the outcome, ``data`` the variance). ≤ 3000 characters.
    """
    kind, code, when = ev["event"], ev["code"], _when(ev.get("at"), time_zone)
    if kind == "decision":
        text = _(lang, DONE_TEXT[code], who=who_label(ev.get("who")), when=when)
        if ev.get("via"):
            text += " · " + _(lang, "via {channel}", channel=escape(str(ev["via"])))
        if ev.get("detail"):
            text += "\n> " + escape(truncate(str(ev["detail"]), 1000)).replace("\n", "\n> ")
    elif kind == "execution":
        data = ev.get("data") or {}
        if ev.get("via") == "handoff" and isinstance(data, dict) and data.get("validation_queue_id"):
            text = _(lang, HANDOFF_TEXT, id=data["validation_queue_id"], when=when)
        else:
            text = _(lang, EXECUTION_TEXT.get(code, EXECUTION_TEXT["failed"]),
                     platform=escape(str(ev.get("platform") or "?")),
                     action=escape(code_label(str(ev.get("via") or ""), lang)), when=when,
                     error=escape(truncate(str(ev.get("detail") or "?"), 500)))
    elif kind == "expired":
        text = _(lang, EXPIRED_TEXT, when=when)
    elif kind == "validation":
        data = ev.get("data") or {}
        stage = code_label(str(data.get("stage") or "?"), lang) if isinstance(data, dict) else "?"
        text = _(lang, VALIDATION_TEXT[code], id=ev.get("ref"), stage=escape(stage),
                 who=who_label(ev.get("who")), when=when)
        if ev.get("detail"):
            text += "\n> " + escape(truncate(str(ev["detail"]), 1000))
    elif kind == "outcome":
        text = outcome_text(ev, lang=lang)
    else:  # pragma: no cover - the query yields only the kinds above
        raise InvalidInput(f"event: unknown kind {kind!r}")
    return truncate(text, MAX_SECTION_TEXT)


def outcome_text(ev: Mapping[str, Any], *, lang: str) -> str:
    """Return the text of a measured outcome: the outcome and the key metric's net change
    against the predicted interval (``variance.key``, log changes shown as percents)."""
    code = str(ev["code"])
    text = _(lang, OUTCOME_TEXT, emoji=OUTCOME_EMOJI.get(code, ""), id=ev["suggestion_id"],
             entity=escape(entity_label(dict(ev), lang)), outcome=code_label(code, lang))
    key = (ev.get("data") or {}).get("key") if isinstance(ev.get("data"), dict) else None
    if isinstance(key, dict) and key.get("effect") is not None:
        pred = key.get("predicted") or [None, None, None]
        low, high = (pred[0], pred[-1]) if len(pred) >= 2 else (None, None)
        text += "\n" + _(lang, OUTCOME_EFFECT,
                         metric=metric_label(str(key.get("metric") or "?"), lang),
                         effect=_pct_log(key.get("effect"), lang),
                         low=_pct_log(low, lang) if low is not None else "?",
                         high=_pct_log(high, lang) if high is not None else "?",
                         noise=_pct_log(key.get("noise"), lang).lstrip("+"))
    return text


def anomaly_post(row: Mapping[str, Any], *, channel: str, lang: str) -> Post:
    """Return the alert of one anomaly (key ``anomaly:<day>:<platform>:<level>:<entity>:<metric>``)."""
    key = ":".join(["anomaly", str(row["as_of"]), row["platform"], row["level"],
                    row["entity_id"], row["metric"]])
    sev = code_label(row["severity"], lang)
    head = _(lang, ANOMALY_TEXT, emoji=PRIORITY_EMOJI.get(row["severity"], ""),
             severity=(sev.capitalize() if lang == "en" else sev),
             entity=escape(entity_label(dict(row), lang)),
             metric=metric_label(row["metric"], lang), kind=code_label(row["anomaly_type"], lang),
             day=str(row["as_of"]))
    dev = row.get("deviation")
    values = _(lang, ANOMALY_VALUES,
               actual=format_number(row.get("actual_value"), lang),
               expected=format_number(row.get("baseline_value"), lang),
               deviation=(("+" if (dev or 0) > 0 else "") + format_number(round(100 * dev), lang, 0)
                          + " %") if dev is not None else "?",
               q=format_number(row.get("q_value"), lang, 4))
    text = truncate(f"{head}\n{values}", MAX_SECTION_TEXT)
    return Post(key=truncate(key, 300), kind="anomaly", channel=channel, lang=lang, text=text)


def pacing_key(row: Mapping[str, Any]) -> str:
    """The ``ads.slack_posts`` key of a flagged pacing check:
    ``pacing:<scope>:<period_start>:<platform>:<level>:<entity>`` (its natural key, ≤ 300)."""
    return truncate(":".join(["pacing", row["scope"], str(row["period_start"]), row["platform"],
                              row["level"], row["entity_id"]]), 300)


def pacing_post(row: Mapping[str, Any], *, channel: str, lang: str, currency: str) -> Post:
    """Return the alert of one flagged ``ads.pacing_checks`` row (an entity-day or the month),
    key :func:`pacing_key`, kind ``anomaly`` (an alert, in the alerts channel). Money in major
    units of ``currency``."""
    def m(x: Any) -> str:
        return format_money(float(x), currency, lang)

    if row["scope"] == "month":
        text = _(lang, PACING_MONTH_TEXT, spent=m(row["spend_so_far"]),
                 projected=m(row["projected"]), budget=m(row["budget"]))
    else:
        entity = escape(f"{row.get('entity_name') or row['entity_id']} ({row['platform']} "
                        f"{code_label(row['level'], lang)} {row['entity_id']})")
        text = _(lang, PACING_DAY_TEXT, entity=entity, spent=m(row["spend_so_far"]),
                 hours=format_number(float(row["elapsed_hours"]), lang, 1),
                 projected=m(row["projected"]), budget=m(row["budget"]),
                 cap=m(float(row["budget"]) * (1 + float(row["tolerance"] or 0))))
    return Post(key=pacing_key(row), kind="anomaly", channel=channel, lang=lang,
                text=truncate(text, MAX_SECTION_TEXT))

