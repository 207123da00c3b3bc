"""Adapters of third-party exports: online_ad_performance, fb_ad_campaign_2017, meta_ads_export.

Each ``bind_*`` checks a header (raising :class:`InvalidInput` naming the column at fault) and
returns the row parser. Mappings are documented in ``docs/data-mapping.md`` and follow the
datasets' SOURCE.md (``examples/data/``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from growthops.ads.metrics.formats.base import (
    _REQUIRED,
    CENT,
    ID_MAX,
    FormatContext,
    Problem,
    Record,
    RowParser,
    RowReader,
    _finish,
    _header_map,
    _lower,
    _no_unknown,
    _require,
    _words,
)
from growthops.ads.metrics.formats.platforms import alias_columns
from growthops.core.errors import InvalidInput

# ------------------------------------------------------------------- online_ad_performance
_MONTH_NAMES = _words(
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)} | {
    m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)
}
OAP_COLUMNS = _words(
    """month day campaign_number user_engagement banner placement displays cost clicks revenue
    post_click_conversions post_click_sales_amount"""
)
#: Placement written as a spreadsheet error in the source (SOURCE.md: 413 rows); id part used.
OAP_UNKNOWN_PLACEMENT = "unknown"


def _id_part(rr: RowReader, key: str) -> tuple[str, str] | None:
    """Return (id part without spaces, display text) of a hierarchy cell."""
    s = rr.text(key, required=True)
    if s is None:
        return None
    if "|" in s:
        rr.bad(key, s, "contains '|', the id separator")
        return None
    if s == "#N/A" and key == "placement":
        return OAP_UNKNOWN_PLACEMENT, "placement #N/A"
    return "".join(s.split()), s


def bind_online_ad_performance(header: Sequence[str], ctx: FormatContext) -> RowParser:
    """Bind the "Online Advertising Digital Marketing Data" CSV (display campaigns).

    Mapping (SOURCE.md of examples/data/online_ad_performance): platform ``display``;
    campaign = campaign_number (``camp1``); ad set = campaign x user_engagement x placement,
    what an ad set targets (``camp1|High|abc``); ad = ad set x banner, the creative
    (``camp1|High|abc|160x600``); placement ``#N/A`` becomes ``unknown``. day = month + day
    of ``ctx.year`` (the file has no year; secondary sources say 2020, unverified).
    spend = cost, impressions = displays, clicks = clicks, conversions =
    post_click_conversions, conversion_value = post_click_sales_amount; ``revenue`` (a
    per-click payout, not sales) goes to custom_metrics. Raises :class:`InvalidInput` for a
    missing or unknown column (the two empty trailing columns of the file are allowed).
    """
    cols = _header_map(header, _lower)
    _require(cols, OAP_COLUMNS, "online_ad_performance")
    _no_unknown(cols, set(OAP_COLUMNS), "online_ad_performance")

    def parse(cells: Sequence[str]) -> tuple[Record | None, list[Problem]]:
        rr = RowReader(cells, cols)
        month_s = rr.raw("month")
        month = _MONTHS.get(month_s.lower())
        if month is None:
            rr.bad("month", month_s, "not a month name (e.g. April)")
        dom = rr.count("day", default=_REQUIRED)
        day: date | None = None
        if month is not None and dom is not None:
            try:
                day = date(ctx.year, month, dom)
            except ValueError:
                rr.bad("day", rr.raw("day"), f"no such day: {month_s} {dom} {ctx.year}")
        camp = _id_part(rr, "campaign_number")
        eng = _id_part(rr, "user_engagement")
        plc = _id_part(rr, "placement")
        ban = _id_part(rr, "banner")
        spend = rr.money("cost", default=_REQUIRED)
        impressions = rr.count("displays", default=_REQUIRED)
        clicks = rr.count("clicks", default=_REQUIRED)
        conv = rr.count("post_click_conversions", default=_REQUIRED)
        value = rr.money("post_click_sales_amount", default=_REQUIRED)
        revenue = rr.money("revenue", default=_REQUIRED)
        if rr.problems or not (camp and eng and plc and ban and day):
            return None, rr.problems
        adset_id = f"{camp[0]}|{eng[0]}|{plc[0]}"
        adset_name = f"{camp[1]} / {eng[1]} / {plc[1]}"
        rec = Record(
            platform="display",
            level="ad",
            entity_id=f"{adset_id}|{ban[0]}",
            day=day,
            entity_name=f"{adset_name} / {ban[1]}",
            campaign_id=camp[0],
            adset_id=adset_id,
            campaign_name=camp[1],
            adset_name=adset_name,
            spend=spend or Decimal(0),
            impressions=impressions or 0,
            clicks=clicks or 0,
            conversions=conv or 0,
            conversion_value=value or Decimal(0),
            custom={"revenue": revenue},
        )
        return _finish(rec, rr)

    return parse


# --------------------------------------------------------------------- fb_ad_campaign_2017
FB_REQUIRED = _words(
    """ad_id reporting_start reporting_end campaign_id fb_campaign_id age gender interest1
    impressions clicks spent total_conversion approved_conversion"""
)
FB_OPTIONAL = ("interest2", "interest3", "row_repaired")
_DIGITS_RE = re.compile(r"^\d+$")
_AGE_RE = re.compile(r"^\d{2}-\d{2}$|^\d{2}\+$")


def bind_fb_ad_campaign_2017(header: Sequence[str], ctx: FormatContext) -> RowParser:
    """Bind the dated 2017 Facebook ad-level report (``fb_ad_campaign_daily_repaired.csv``).

    Mapping (SOURCE.md of examples/data/fb_ad_campaign_2017): platform ``meta``; ad = ad_id;
    ad set = fb_campaign_id (in this export fb_campaign_id is the ad set); campaign =
    campaign_id; day = reporting_start (a row whose reporting_end differs is rejected: not a
    daily row); spend = spent rounded to 6 decimals; conversions = approved_conversion
    (purchases); leads = total_conversion (enquiries); conversion_value = 0 (the export has no
    revenue column: unknown, not zero sales). age, gender and the interest codes go to
    custom_metrics. The ad set is named from its targeting (age, gender, first interest).
    Dates may be YYYY-MM-DD or DD/MM/YYYY (the original Kaggle ``data.csv``); ids must be
    numeric, which also rejects that file's 382 column-shifted rows.
    """
    cols = _header_map(header, _lower)
    _require(cols, FB_REQUIRED, "fb_ad_campaign_2017")
    _no_unknown(cols, set(FB_REQUIRED) | set(FB_OPTIONAL), "fb_ad_campaign_2017")

    def numeric_id(rr: RowReader, key: str) -> str | None:
        s = rr.ident(key, required=True)
        if s is not None and not _DIGITS_RE.match(s):
            rr.bad(key, s, "not a numeric id")
            return None
        return s

    def parse(cells: Sequence[str]) -> tuple[Record | None, list[Problem]]:
        rr = RowReader(cells, cols)
        ad_id = numeric_id(rr, "ad_id")
        campaign_id = numeric_id(rr, "campaign_id")
        adset_id = numeric_id(rr, "fb_campaign_id")
        start = rr.day("reporting_start", allow_dmy=True)
        end = rr.day("reporting_end", allow_dmy=True)
        if start and end and start != end:
            rr.bad(
                "reporting_end",
                rr.raw("reporting_end"),
                f"differs from reporting_start ({start}): not a daily row",
            )
        age = rr.text("age", required=True)
        if age and not _AGE_RE.match(age):
            rr.bad("age", age, "not an age band (e.g. 30-34)")
        gender = rr.text("gender", required=True)
        if gender and gender not in ("M", "F"):
            rr.bad("gender", gender, "expected M or F")
        interests: list[int] = []
        for k in ("interest1", "interest2", "interest3"):
            s = rr.raw(k)
            if not s and k != "interest1":
                continue
            if not _DIGITS_RE.match(s):
                rr.bad(k, s, "not an interest code (whole number)")
            else:
                interests.append(int(s))
        spend = rr.money("spent", default=_REQUIRED)
        impressions = rr.count("impressions", default=_REQUIRED)
        clicks = rr.count("clicks", default=_REQUIRED)
        leads = rr.count("total_conversion", default=_REQUIRED)
        conv = rr.count("approved_conversion", default=_REQUIRED)
        if rr.problems or not (ad_id and campaign_id and adset_id and start):
            return None, rr.problems
        rec = Record(
            platform="meta",
            level="ad",
            entity_id=ad_id,
            day=start,
            campaign_id=campaign_id,
            adset_id=adset_id,
            adset_name=f"{age} {gender}, interest {interests[0]}",
            spend=spend or Decimal(0),
            impressions=impressions or 0,
            clicks=clicks or 0,
            leads=leads or 0,
            conversions=conv or 0,
            custom={"age": age, "gender": gender, "interests": interests},
        )
        return _finish(rec, rr)

    return parse


# ------------------------------------------------------------------------- meta_ads_export
#: Field key -> header labels of Meta Ads Manager exports (lower case, currency suffix removed,
#: typographic apostrophes as straight ones), in order of preference. Labels as shown in Ads
#: Manager column pickers and in exports found in public repositories (e.g. "Amount spent
#: (EUR)", "Purchases conversion value", "ThruPlays").
META_ALIASES: dict[str, tuple[str, ...]] = {
    "day": ("day", "date"),
    "reporting_starts": ("reporting starts",),
    "reporting_ends": ("reporting ends",),
    "campaign_id": ("campaign id",),
    "campaign_name": ("campaign name",),
    "adset_id": ("ad set id",),
    "adset_name": ("ad set name",),
    "ad_id": ("ad id",),
    "ad_name": ("ad name",),
    "currency": ("currency",),
    "spend": ("amount spent",),
    "impressions": ("impressions",),
    "reach": ("reach",),
    "link_clicks": ("link clicks",),
    "clicks_all": ("clicks (all)",),
    "results": ("results",),
    "result_indicator": ("result indicator", "result type"),
    "purchases": ("purchases", "website purchases"),
    "purchase_value": ("purchases conversion value", "website purchases conversion value"),
    "leads": ("leads", "website leads", "on-facebook leads"),
    "video_3s": ("3-second video plays",),
    "thruplays": ("thruplays",),
    "post_engagements": ("post engagements", "post engagement"),
    "adset_budget": ("ad set budget",),
    "adset_budget_type": ("ad set budget type",),
    "campaign_budget": ("campaign budget",),
    "campaign_budget_type": ("campaign budget type",),
}
#: The same columns as the French Ads Manager names them ("Exporter les données du tableau"
#: with Ads Manager in French: "Montant dépensé (EUR)", "Nom de l'ensemble de publicités").
#: A header with any of these is read as French: decimal commas, and DD/MM/YYYY days.
META_ALIASES_FR: dict[str, tuple[str, ...]] = {
    "day": ("jour", "date"),
    "reporting_starts": ("début des rapports", "début du rapport"),
    "reporting_ends": ("fin des rapports", "fin du rapport"),
    "campaign_id": ("identifiant de la campagne", "id de la campagne"),
    "campaign_name": ("nom de la campagne",),
    "adset_id": ("identifiant de l'ensemble de publicités", "id de l'ensemble de publicités"),
    "adset_name": ("nom de l'ensemble de publicités",),
    "ad_id": ("identifiant de la publicité", "id de la publicité"),
    "ad_name": ("nom de la publicité",),
    "currency": ("devise",),
    "spend": ("montant dépensé",),
    "impressions": ("impressions",),
    "reach": ("couverture",),
    "link_clicks": ("clics sur un lien", "clics sur le lien"),
    "clicks_all": ("clics (tous)", "clics (toutes)"),
    "results": ("résultats",),
    "result_indicator": ("indicateur de résultats", "type de résultat"),
    "purchases": ("achats", "achats sur le site web"),
    "purchase_value": ("valeur de conversion des achats",
                       "valeur de conversion des achats sur le site web"),
    "leads": ("prospects", "prospects sur le site web", "prospects sur facebook"),
    "video_3s": ("lectures de vidéos de 3 secondes", "lectures de vidéo de 3 secondes"),
    "thruplays": ("thruplays",),
    "post_engagements": ("interactions avec la publication",),
    "adset_budget": ("budget de l'ensemble de publicités",),
    "adset_budget_type": ("type de budget de l'ensemble de publicités",),
    "campaign_budget": ("budget de la campagne",),
    "campaign_budget_type": ("type de budget de la campagne",),
}
#: Budget types meaning a daily budget, in English and French exports.
DAILY_BUDGET_TYPES = ("daily", "quotidien", "journalier")


def _meta_columns(header: Sequence[str],
                  ctx: FormatContext) -> tuple[dict[str, tuple[int, str]], bool]:
    """Map META_ALIASES keys to (position, label), checking currencies against the tenant's.

    Returns the map and whether the header is French (a label only the French aliases know); see
    :func:`growthops.ads.metrics.formats.platforms.alias_columns`."""
    return alias_columns(META_ALIASES, META_ALIASES_FR, header, ctx)


def _meta_missing(cols: dict[str, tuple[int, str]], keys: Sequence[str]) -> None:
    """Raise :class:`InvalidInput` naming each missing column as Ads Manager writes it, in
    English and in French (never the internal field name)."""
    missing = [k for k in keys if k not in cols]
    if missing:
        names = "; ".join(f"'{META_ALIASES[k][0].capitalize()}' "
                          f"(French Ads Manager: '{META_ALIASES_FR[k][0].capitalize()}')"
                          for k in missing)
        raise InvalidInput(f"header: missing column(s) {names} for a Meta Ads Manager export "
                           "(format 'meta_ads_export')")


def bind_meta_ads_export(header: Sequence[str], ctx: FormatContext) -> RowParser:
    """Bind a Meta Ads Manager "Export table data" CSV with a daily breakdown.

    Column order is free, unknown columns are ignored, labels match case-insensitively, in
    English (:data:`META_ALIASES`) or French (:data:`META_ALIASES_FR`; a French header reads
    decimal commas and DD/MM/YYYY days, see :func:`growthops.ads.metrics.formats.base.plain_number`).
    Currency: the ``(EUR)`` suffix of money headers, or a ``Currency`` column, must be the
    tenant's currency (:class:`InvalidInput`, resp. a row rejection, otherwise); amounts may
    carry thousands separators ("1,234.56"). Day: the ``Day`` column, else ``Reporting
    starts`` when it equals ``Reporting ends`` (a row covering several days is rejected).
    Level: ``ad`` if an Ad ID/Ad name column exists, else ``adset``, else ``campaign``. Ids:
    the ID columns; without them, ``name:`` + the names (parents' names included so an ad set
    name reused in two campaigns stays two ad sets). Metrics: spend = Amount spent; clicks =
    Link clicks (else Clicks (all)); conversions = Purchases; conversion_value = Purchases
    conversion value; leads = Leads; without a Purchases/Leads column, Results count as
    conversions/leads when the result indicator names a purchase/lead. Results, the result
    indicator and Clicks (all) also go to custom_metrics. Empty cells are 0 (Meta leaves zero
    metrics blank), except reach and video counts (unknown). Daily budgets are read when the
    budget type column says Daily and the row's level owns the budget.
    """
    cols, french = _meta_columns(header, ctx)
    _meta_missing(cols, ("spend", "impressions"))
    if "day" not in cols and not ("reporting_starts" in cols and "reporting_ends" in cols):
        raise InvalidInput(
            "header: need a 'Day' column, or 'Reporting starts' and "
            "'Reporting ends' (export with the daily time breakdown; French Ads Manager: "
            "'Jour', or 'Début des rapports' and 'Fin des rapports')"
        )
    comma = ctx.decimal_comma or french
    has_campaign = "campaign_id" in cols or "campaign_name" in cols
    has_adset = "adset_id" in cols or "adset_name" in cols
    if "ad_id" in cols or "ad_name" in cols:
        level = "ad"
    elif has_adset:
        level = "adset"
    elif has_campaign:
        level = "campaign"
    else:
        raise InvalidInput("header: no 'Campaign name/ID', 'Ad set name/ID' or 'Ad name/ID' column")
    if level in ("ad", "adset") and not has_campaign:
        raise InvalidInput(f"header: a {level}-level export needs 'Campaign ID' or 'Campaign name'")
    if level == "ad" and not has_adset:
        raise InvalidInput("header: an ad-level export needs 'Ad set ID' or 'Ad set name'")
    indicator = "result_indicator" in cols

    def entity(
        rr: RowReader, id_key: str, name_key: str, prefix: str | None
    ) -> tuple[str | None, str | None]:
        name = rr.text(name_key)
        if id_key in cols:
            return rr.ident(id_key, required=True), name
        if name is None:
            rr.bad(name_key, "", "required value is empty (no ID column in the file)")
            return None, None
        eid = f"name:{prefix}|{name}" if prefix else f"name:{name}"
        if len(eid) > ID_MAX:
            rr.bad(name_key, name[:60], f"name-based id longer than {ID_MAX} characters")
            return None, name
        return eid, name

    def budget(rr: RowReader, key: str) -> Decimal | None:
        if rr.raw(key + "_type").lower() not in DAILY_BUDGET_TYPES:
            return None
        return rr.money(key, default=None, quantum=CENT, thousands=True)

    def parse(cells: Sequence[str]) -> tuple[Record | None, list[Problem]]:
        rr = RowReader(cells, cols, decimal_comma=comma)
        if "day" in cols:
            day = rr.day("day", allow_dmy=french)
        else:
            day = rr.day("reporting_starts", allow_dmy=french)
            end = rr.day("reporting_ends", allow_dmy=french)
            if day and end and day != end:
                rr.bad(
                    "reporting_ends",
                    rr.raw("reporting_ends"),
                    f"differs from Reporting starts ({day}): not a daily row "
                    "(export with the Day breakdown)",
                )
        cur = rr.raw("currency")
        if cur and ctx.currency and cur.upper() != ctx.currency:
            rr.bad("currency", cur, f"the tenant reports in {ctx.currency}")
        camp_id, camp_name = (None, None)
        if has_campaign:
            camp_id, camp_name = entity(rr, "campaign_id", "campaign_name", None)
        adset_id = adset_name = None
        if has_adset and level != "campaign":
            cprefix = camp_name if "campaign_id" not in cols else camp_id
            adset_id, adset_name = entity(rr, "adset_id", "adset_name", cprefix)
        if level == "ad":
            aprefix = f"{camp_name}|{adset_name}" if "adset_id" not in cols else adset_id
            eid, ename = entity(rr, "ad_id", "ad_name", aprefix)
        elif level == "adset":
            eid, ename = adset_id, adset_name
        else:
            eid, ename = camp_id, camp_name
        kw: dict[str, Any] = {"thousands": True}
        results = rr.count("results", default=None, **kw)
        ind = rr.text("result_indicator") or ""
        extra: dict[str, Any] = {}
        if results is not None:
            extra["results"] = results
        if ind:
            extra["result_indicator"] = ind
        clicks_all = rr.count("clicks_all", default=None, **kw)
        if "link_clicks" in cols:
            clicks = rr.count("link_clicks", **kw)
            if clicks_all is not None:
                extra["clicks_all"] = clicks_all
        else:
            clicks = clicks_all or 0
        if "purchases" in cols:
            conv = rr.count("purchases", **kw)
        else:
            conv = results if indicator and "purchase" in ind.lower() and results else 0
        if "leads" in cols:
            leads = rr.count("leads", **kw)
        else:
            leads = results if indicator and "lead" in ind.lower() and results else 0
        daily_budget = None
        if level in ("adset", "campaign"):
            daily_budget = budget(rr, f"{level}_budget")
        rec = Record(
            platform="meta",
            level=level,
            entity_id=eid or "",
            day=day or date.min,
            entity_name=ename,
            campaign_id=camp_id if level != "campaign" else None,
            adset_id=adset_id if level == "ad" else None,
            campaign_name=camp_name,
            adset_name=adset_name,
            spend=rr.money("spend", **kw) or Decimal(0),
            impressions=rr.count("impressions", **kw) or 0,
            reach=rr.count("reach", default=None, **kw),
            clicks=clicks or 0,
            leads=leads or 0,
            conversions=conv or 0,
            conversion_value=rr.money("purchase_value", **kw) or Decimal(0),
            video_3s_views=rr.count("video_3s", default=None, **kw),
            video_thruplays=rr.count("thruplays", default=None, **kw),
            post_engagements=rr.count("post_engagements", default=None, **kw),
            daily_budget=daily_budget,
            custom=extra,
        )
        return _finish(rec, rr)

    return parse
