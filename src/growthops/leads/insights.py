"""Growth insights (``growth_brain``): a tenant's week of leads in numbers, with
recommendations in English and French that name the numbers behind them.

The week is the 7 days ending at ``as_of`` (UTC, exclusive); the previous week is the 7 days
before. Deleted leads are left out; test leads too. Formulas (fractions 0-1 unless said):

* ``total_leads``: leads received in the week.
* ``top_intents``: the 5 most frequent intents: count and share.
* ``urgency_distribution``: counts of high / medium / low; ``urgency_trend_percentage``: the
  change of the high-urgency share, in percentage points, this week minus last week.
* ``tone_distribution``: counts; ``tone_sentiment_score`` (0-100) = 100 × (positive +
  ½ neutral) / enriched leads.
* ``avg_confidence``: mean calibrated confidence; ``confidence_trajectory``: the weekly mean of
  the last 8 weeks.
* ``language_ratio``: share of en and fr among enriched leads.
* ``engagement_score`` (0-100, our composite) = 100 × (0.4 × worked + 0.3 × min(1, converted /
  0.2) + 0.3 × high urgency handled within 24 h), where worked = share of the week's leads
  with at least one person's action (tag, note, convert, archive...), converted = share
  converted (0.2, a 20 % conversion, counts as full marks), and the last term is the share of
  high-urgency leads acted upon within 24 hours of arrival (1 when there are none).

Each run upserts the one ``growth_brain`` row of the tenant and the week's row of
``growth_brain_history`` (so trends survive).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.core.i18n import _

PEOPLE_ACTIONS = ("tagged", "archived", "deleted", "reactivated", "converted", "reverted",
                  "noted", "intent_corrected", "replied")


def _week(conn: Any, tid: str, start: datetime, end: datetime) -> dict[str, Any]:
    return conn.execute(
        """with l as (select * from leads.lead_memory where tenant_id = %(t)s and not deleted
                        and not is_test and received_at >= %(s)s and received_at < %(e)s),
                acted as (select distinct a.lead_id from leads.lead_actions a join l
                            on l.lead_id = a.lead_id
                          where a.tenant_id = %(t)s and a.action_type = any(%(pa)s)),
                fast as (select distinct a.lead_id from leads.lead_actions a join l
                           on l.lead_id = a.lead_id
                         where a.tenant_id = %(t)s and a.action_type = any(%(pa)s)
                           and l.urgency = 'high'
                           and a."timestamp" <= l.received_at + interval '24 hours')
           select count(*)::int as total,
                  count(*) filter (where enrichment_status = 'done')::int as enriched,
                  count(*) filter (where urgency = 'high')::int as high,
                  count(*) filter (where urgency = 'medium')::int as medium,
                  count(*) filter (where urgency = 'low')::int as low,
                  count(*) filter (where tone = 'positive')::int as positive,
                  count(*) filter (where tone = 'neutral')::int as neutral,
                  count(*) filter (where tone = 'negative')::int as negative,
                  count(*) filter (where language = 'en')::int as en,
                  count(*) filter (where language = 'fr')::int as fr,
                  count(*) filter (where converted)::int as converted,
                  avg(confidence_score)::float8 as avg_conf,
                  (select count(*) from acted)::int as worked,
                  (select count(*) from fast)::int as high_fast,
                  coalesce((select jsonb_agg(x order by x.n desc, x.intent) from (
                     select intent, count(*)::int as n from l where intent is not null
                     group by intent order by n desc, intent limit 5) x), '[]') as intents
           from l""",
        {"t": tid, "s": start, "e": end, "pa": list(PEOPLE_ACTIONS)}).fetchone()


def compute(conn: Any, *, tenant_id: UUID | str, as_of: datetime | None = None) -> dict[str, Any]:
    """Compute the insights of the week ending at ``as_of`` (default now, UTC); upsert them
    into ``growth_brain`` and ``growth_brain_history``; return the row."""
    tid = str(tenant_id)
    end = (as_of or datetime.now(UTC)).astimezone(UTC)
    start = end - timedelta(days=7)
    w = _week(conn, tid, start, end)
    prev = _week(conn, tid, start - timedelta(days=7), start)
    total, enriched = w["total"], w["enriched"]
    high_share = w["high"] / total if total else None
    prev_share = prev["high"] / prev["total"] if prev["total"] else None
    trend = (round(100 * (high_share - prev_share), 1)
             if high_share is not None and prev_share is not None else None)
    sentiment = (round(100 * (w["positive"] + 0.5 * w["neutral"]) / enriched, 1)
                 if enriched else None)
    worked = w["worked"] / total if total else 0.0
    conv = w["converted"] / total if total else 0.0
    fast = w["high_fast"] / w["high"] if w["high"] else 1.0
    engagement = round(100 * (0.4 * worked + 0.3 * min(1.0, conv / 0.2) + 0.3 * fast), 1) \
        if total else None
    trajectory = conn.execute(
        """select to_char(date_trunc('week', received_at), 'YYYY-MM-DD') as week,
                  round(avg(confidence_score), 3)::float8 as avg_confidence, count(*)::int as leads
           from leads.lead_memory where tenant_id = %s and not deleted and not is_test
             and received_at >= %s and received_at < %s and confidence_score is not null
           group by 1 order by 1""", [tid, end - timedelta(weeks=8), end]).fetchall()
    intents = [{"intent": x["intent"], "count": x["n"],
                "share": round(x["n"] / total, 3) if total else 0.0} for x in w["intents"]]
    lang_total = w["en"] + w["fr"]
    numbers = {"total": total, "prev_total": prev["total"], "high": w["high"],
               "high_share": high_share, "prev_high_share": prev_share, "trend_pp": trend,
               "worked": worked, "converted": w["converted"], "conversion": conv,
               "avg_conf": w["avg_conf"], "fr_share": w["fr"] / lang_total if lang_total else 0,
               "top": intents[0] if intents else None, "negative": w["negative"],
               "enriched": enriched, "high_fast": fast}
    row = {
        "analysis_period_start": start, "analysis_period_end": end, "total_leads": total,
        "top_intents": intents,
        "urgency_distribution": {"high": w["high"], "medium": w["medium"], "low": w["low"]},
        "urgency_trend_percentage": trend,
        "tone_distribution": {"positive": w["positive"], "neutral": w["neutral"],
                              "negative": w["negative"]},
        "tone_sentiment_score": sentiment,
        "avg_confidence": round(w["avg_conf"], 3) if w["avg_conf"] is not None else None,
        "confidence_trajectory": trajectory,
        "language_ratio": {"en": round(w["en"] / lang_total, 3) if lang_total else 0.0,
                           "fr": round(w["fr"] / lang_total, 3) if lang_total else 0.0},
        "engagement_score": engagement,
        "engagement_components": {"worked": round(worked, 3), "conversion": round(conv, 3),
                                  "high_urgency_within_24h": round(fast, 3),
                                  "formula": "100 × (0.4 worked + 0.3 min(1, conversion/0.2) "
                                             "+ 0.3 high-urgency handled within 24 h)"},
        "predictive_insights": {lang: recommendations(numbers, lang) for lang in ("en", "fr")},
    }
    cols = list(row)
    jsonish = {"top_intents", "urgency_distribution", "tone_distribution",
               "confidence_trajectory", "language_ratio", "engagement_components",
               "predictive_insights"}
    values = [json.dumps(row[c], default=str) if c in jsonish else row[c] for c in cols]
    placeholders = ", ".join(["%s"] * (len(cols) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols) + ", analyzed_at = now()"
    for table, key in (("growth_brain", "tenant_id"),
                       ("growth_brain_history", "tenant_id, analysis_period_start")):
        conn.execute(
            f"""insert into leads.{table} (tenant_id, {', '.join(cols)}) values ({placeholders})
                on conflict ({key}) do update set {updates}""", [tid, *values])
    return conn.execute("select * from leads.growth_brain where tenant_id = %s", [tid]).fetchone()


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def recommendations(n: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Return the recommendations the numbers call for, each ``{"text", "numbers"}``.

    Rules (ours): no lead → check the form; high-urgency share up ≥ 10 points → answer the same
    day; fewer than half the leads worked → work them; one intent ≥ 40 % → a page for it;
    mean confidence < 0.6 → add examples; French ≥ 30 % → French replies and booking page;
    negative tone ≥ 30 % → follow up by phone; conversion ≥ 20 % → keep the current reply.
    """
    out: list[dict[str, Any]] = []

    def add(text: str, **nums: Any) -> None:
        out.append({"text": text, "numbers": nums})

    total = n["total"]
    if total == 0:
        add(_(lang, "No lead this week (last week: {prev}). Check that the website form still "
                    "posts to growthops (integration health).", prev=n["prev_total"]),
            total=0, prev_total=n["prev_total"])
        return out
    if n["trend_pp"] is not None and n["trend_pp"] >= 10:
        add(_(lang, "High-urgency leads rose from {before} to {after} of leads ({pp:+.0f} "
                    "points): answer them the same day.", before=_pct(n["prev_high_share"]),
              after=_pct(n["high_share"]), pp=n["trend_pp"]),
            high_share=n["high_share"], prev_high_share=n["prev_high_share"], trend_pp=n["trend_pp"])
    if n["worked"] < 0.5:
        add(_(lang, "Only {worked} of the {total} leads of the week were worked (tag, note, "
                    "conversion): review the rest.", worked=_pct(n["worked"]), total=total),
            worked=n["worked"], total=total)
    top = n["top"]
    if top and top["share"] >= 0.4 and total >= 5:
        add(_(lang, "{share} of leads are about \"{intent}\" ({count} of {total}): give it a "
                    "dedicated page or answer.", share=_pct(top["share"]), intent=top["intent"],
              count=top["count"], total=total),
            intent=top["intent"], share=top["share"], count=top["count"])
    if n["avg_conf"] is not None and n["avg_conf"] < 0.6:
        add(_(lang, "The AI's mean confidence is {conf:.2f}: correct a few intents on lead "
                    "pages so it learns your taxonomy.", conf=n["avg_conf"]),
            avg_confidence=n["avg_conf"])
    if n["fr_share"] >= 0.3:
        add(_(lang, "{share} of leads write in French: keep French replies and a French "
                    "booking page.", share=_pct(n["fr_share"])), fr_share=n["fr_share"])
    if n["enriched"] and n["negative"] / n["enriched"] >= 0.3:
        add(_(lang, "{count} leads ({share}) have a negative tone: call them back rather than "
                    "e-mail.", count=n["negative"], share=_pct(n["negative"] / n["enriched"])),
            negative=n["negative"], enriched=n["enriched"])
    if n["conversion"] >= 0.2:
        add(_(lang, "{conv} of the week's leads converted ({count}): keep the current first "
                    "reply.", conv=_pct(n["conversion"]), count=n["converted"]),
            conversion=n["conversion"], converted=n["converted"])
    return out


def latest(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any] | None:
    """Return the tenant's growth_brain row, or None."""
    return conn.execute("select * from leads.growth_brain where tenant_id = %s",
                        [str(tenant_id)]).fetchone()


def history(conn: Any, *, tenant_id: UUID | str, weeks: int = 12) -> list[dict[str, Any]]:
    """Return the last ``weeks`` rows of ``growth_brain_history``, oldest first."""
    rows = conn.execute(
        """select * from leads.growth_brain_history where tenant_id = %s
           order by analysis_period_start desc limit %s""", [str(tenant_id), weeks]).fetchall()
    return rows[::-1]
