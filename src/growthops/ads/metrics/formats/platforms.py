"""Report exports of Google Ads, TikTok Ads Manager and LinkedIn Campaign Manager.

One header binder, :func:`bind_export`, reads the three from a per-platform :class:`ExportSpec`
(column labels in English and in French, the platform's hierarchy, where its daily budget sits).
As in ``meta_ads_export``: column order is free, labels match case-insensitively, unknown
columns are ignored, a ``(EUR)`` suffix or a currency column must be the tenant's currency,
amounts may carry thousands separators (``1,234.56``; ``1 234,56`` with a space, a no-break
space U+00A0 or a narrow no-break space U+202F) and a French header reads decimal commas and
``DD/MM/YYYY`` days. Every problem names the column as written in the user's header.

What the three exports add (see ``docs/data-mapping.md``):

* Preamble lines before the header (Google Ads: the report's name and date range; LinkedIn:
  report name, dates, account): :func:`find_header` finds the header line; the importer skips
  the lines above it and keeps physical line numbers.
* Summary rows (Google Ads: ``Total: Account``, ``Total : campagnes``...): skipped, counted,
  never read as an entity.
* ``--`` (Google Ads, TikTok) for a metric that has no value: empty.
* Fractional conversions (Google Ads attribution models, e.g. ``12.50``): stored rounded half
  up to a whole count (``ads.metrics_daily.conversions`` is a count); the exact figure is kept in
  ``custom_metrics.conversions_exact``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from growthops.ads.metrics.formats.base import (
    CENT,
    ID_MAX,
    FormatContext,
    Problem,
    Record,
    RowParser,
    RowReader,
    _finish,
    _lower,
)
from growthops.core.errors import InvalidInput
from growthops.core.i18n import N_

_CURRENCY_SUFFIX_RE = re.compile(r"\s*\(([A-Z]{3})\)\s*$")
_SLASH_DAY_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TOTAL_RE = re.compile(r"^\s*total\s*:", re.IGNORECASE)
#: Cells meaning "no value" in Google Ads and TikTok exports.
_NO_VALUE = ("--", " --", "—", "-")


@dataclass(frozen=True)
class ExportSpec:
    """How one platform's report export is read.

    ``en``/``fr``: field key -> header labels (lower case, currency suffix removed, straight
    apostrophes), first found wins. Field keys: ``day``, ``campaign_id``/``campaign_name``,
    ``adset_id``/``adset_name``, ``ad_id``/``ad_name`` (our three levels, in the platform's
    words in ``level_words``), ``currency``, ``spend``, ``impressions``, ``reach``, ``clicks``,
    ``conversions``, ``conversion_value``, ``leads``, ``daily_budget``, and ``custom``-only
    keys listed in ``custom``. ``budget_level``: the level whose rows carry the daily budget.
    ``us_days_en``: an English export writes slash days month first (``3/1/2024``).
    """

    fmt: str
    platform: str
    product: str
    en: dict[str, tuple[str, ...]]
    fr: dict[str, tuple[str, ...]]
    level_words: dict[str, str]
    budget_level: str | None = None
    us_days_en: bool = False
    custom: tuple[str, ...] = ()


GOOGLE_ADS = ExportSpec(
    fmt="google_ads_export",
    platform="google",
    product="Google Ads",
    # Google Ads report editor / "Download" (CSV) column names, English UI.
    en={
        "day": ("day", "date"),
        "campaign_id": ("campaign id",),
        "campaign_name": ("campaign", "campaign name"),
        "adset_id": ("ad group id",),
        "adset_name": ("ad group", "ad group name"),
        "ad_id": ("ad id",),
        "ad_name": ("ad name", "ad"),
        "currency": ("currency code", "currency"),
        "spend": ("cost",),
        "impressions": ("impr.", "impressions"),
        "clicks": ("clicks",),
        "conversions": ("conversions", "conv."),
        "conversion_value": ("conv. value", "conversion value", "total conv. value"),
        "daily_budget": ("budget", "daily budget"),
        "interactions": ("interactions",),
        "all_conversions": ("all conv.", "all conversions"),
    },
    # The same columns in the Google Ads UI in French.
    fr={
        "day": ("jour", "date"),
        "campaign_id": ("id de la campagne", "id campagne"),
        "campaign_name": ("campagne", "nom de la campagne"),
        "adset_id": ("id du groupe d'annonces", "id groupe d'annonces"),
        "adset_name": ("groupe d'annonces", "nom du groupe d'annonces"),
        "ad_id": ("id de l'annonce", "id annonce"),
        "ad_name": ("nom de l'annonce", "annonce"),
        "currency": ("code de la devise", "code devise", "devise"),
        "spend": ("coût", "cout"),
        "impressions": ("impr.", "impressions"),
        "clicks": ("clics",),
        "conversions": ("conversions", "conv."),
        "conversion_value": ("valeur de conv.", "valeur de conversion", "valeur totale de conv."),
        "daily_budget": ("budget", "budget quotidien"),
        "interactions": ("interactions",),
        "all_conversions": ("toutes les conv.", "toutes les conversions"),
    },
    level_words={"campaign": "Campaign", "adset": "Ad group", "ad": "Ad"},
    budget_level="campaign",
    custom=("interactions", "all_conversions"),
)

TIKTOK_ADS = ExportSpec(
    fmt="tiktok_ads_export",
    platform="tiktok",
    product="TikTok Ads Manager",
    # TikTok Ads Manager "Export" / custom report columns, English UI.
    en={
        "day": ("date", "day", "by day", "stat time"),
        "campaign_id": ("campaign id",),
        "campaign_name": ("campaign name", "campaign"),
        "adset_id": ("ad group id",),
        "adset_name": ("ad group name", "ad group"),
        "ad_id": ("ad id",),
        "ad_name": ("ad name", "ad"),
        "currency": ("currency",),
        "spend": ("cost", "total cost"),
        "impressions": ("impressions",),
        "reach": ("reach",),
        "clicks": ("clicks (destination)", "clicks"),
        "conversions": ("conversions", "complete payment", "purchases"),
        "conversion_value": (
            "total complete payment value",
            "total purchase value",
            "purchase value",
            "conversion value",
        ),
        "leads": ("leads", "form submissions"),
        "clicks_all": ("clicks (all)",),
        "video_views_2s": ("2-second video views",),
        "video_views_6s": ("6-second video views",),
        "results": ("results",),
    },
    fr={
        "day": ("date", "jour", "par jour"),
        "campaign_id": ("id de la campagne", "identifiant de la campagne"),
        "campaign_name": ("nom de la campagne", "campagne"),
        "adset_id": ("id du groupe d'annonces", "identifiant du groupe d'annonces"),
        "adset_name": ("nom du groupe d'annonces", "groupe d'annonces"),
        "ad_id": ("id de l'annonce", "identifiant de l'annonce"),
        "ad_name": ("nom de l'annonce", "annonce"),
        "currency": ("devise",),
        "spend": ("coût", "coût total"),
        "impressions": ("impressions",),
        "reach": ("couverture",),
        "clicks": ("clics (destination)", "clics"),
        "conversions": ("conversions", "paiements effectués", "achats"),
        "conversion_value": (
            "valeur totale des paiements effectués",
            "valeur totale des achats",
            "valeur des achats",
            "valeur de conversion",
        ),
        "leads": ("prospects", "envois de formulaires"),
        "clicks_all": ("clics (tous)",),
        "video_views_2s": ("vues de vidéo de 2 secondes",),
        "video_views_6s": ("vues de vidéo de 6 secondes",),
        "results": ("résultats",),
    },
    level_words={"campaign": "Campaign", "adset": "Ad group", "ad": "Ad"},
    custom=("clicks_all", "video_views_2s", "video_views_6s", "results"),
)

LINKEDIN_ADS = ExportSpec(
    fmt="linkedin_ads_export",
    platform="linkedin",
    product="LinkedIn Campaign Manager",
    # Campaign Manager "Export" (campaign performance / creative performance report, daily
    # time breakdown). LinkedIn's hierarchy: campaign group > campaign > ad (creative); we map
    # them to campaign > adset > ad.
    en={
        "day": ("start date (in utc)", "start date", "day", "date"),
        "campaign_id": ("campaign group id",),
        "campaign_name": ("campaign group name", "campaign group"),
        "adset_id": ("campaign id",),
        "adset_name": ("campaign name", "campaign"),
        "ad_id": ("ad id", "creative id"),
        "ad_name": ("ad name", "creative name"),
        "currency": ("currency",),
        "spend": ("total spent", "amount spent", "spend"),
        "impressions": ("impressions",),
        "reach": ("reach",),
        "clicks": ("clicks",),
        "conversions": ("conversions",),
        "conversion_value": ("total conversion value", "conversion value"),
        "leads": ("leads",),
        "daily_budget": ("daily budget",),
        "engagements": ("total engagements",),
    },
    fr={
        "day": ("date de début (en utc)", "date de début", "jour", "date"),
        "campaign_id": ("id du groupe de campagnes",),
        "campaign_name": ("nom du groupe de campagnes", "groupe de campagnes"),
        "adset_id": ("id de la campagne",),
        "adset_name": ("nom de la campagne", "campagne"),
        "ad_id": ("id de la publicité", "id du contenu"),
        "ad_name": ("nom de la publicité", "nom du contenu"),
        "currency": ("devise",),
        "spend": ("total dépensé", "montant dépensé", "dépenses"),
        "impressions": ("impressions",),
        "reach": ("couverture",),
        "clicks": ("clics",),
        "conversions": ("conversions",),
        "conversion_value": ("valeur totale des conversions", "valeur de conversion"),
        "leads": ("prospects", "leads"),
        "daily_budget": ("budget quotidien",),
        "engagements": ("total des interactions", "interactions totales"),
    },
    level_words={"campaign": "Campaign group", "adset": "Campaign", "ad": "Ad"},
    budget_level="adset",
    us_days_en=True,
    custom=("engagements",),
)

#: Format name -> spec, for :data:`growthops.ads.metrics.formats.FORMATS`.
SPECS = {s.fmt: s for s in (GOOGLE_ADS, TIKTOK_ADS, LINKEDIN_ADS)}


def _label(label: str) -> tuple[str, str | None]:
    """Return (normalised label, currency code of a ``(EUR)`` suffix or None)."""
    label = label.replace("\u2019", "'").replace("\ufeff", "")
    m = _CURRENCY_SUFFIX_RE.search(label)
    if m:
        return _lower(label[: m.start()]), m[1]
    return _lower(label), None


def _aliases(spec: ExportSpec, key: str) -> tuple[str, ...]:
    return spec.en.get(key, ()) + spec.fr.get(key, ())


def find_header(spec: ExportSpec, lines: Sequence[Sequence[str]]) -> int:
    """Return the index of the header among the first rows ``lines`` (0 when none matches).

    The header is the first row naming both a day column and a spend column of ``spec``
    (in English or French): what precedes it is the export's preamble.
    """
    days, spends = set(_aliases(spec, "day")), set(_aliases(spec, "spend"))
    for i, cells in enumerate(lines):
        norms = {_label(c)[0] for c in cells}
        if norms & days and norms & spends:
            return i
    return 0


def alias_columns(
    en: dict[str, tuple[str, ...]],
    fr: dict[str, tuple[str, ...]],
    header: Sequence[str],
    ctx: FormatContext,
) -> tuple[dict[str, tuple[int, str]], bool]:
    """Map field keys to (position, label as written) through English and French aliases.

    ``en``/``fr``: key -> labels (normalised as :func:`_label` does), first found wins.
    Checks that money headers' ``(XXX)`` suffixes name one currency, the tenant's. Returns the
    map and whether the header is French (a label only the French aliases know). Raises
    :class:`InvalidInput` for a repeated column or a currency that is not the tenant's. Used by
    ``meta_ads_export`` too (:func:`growthops.ads.metrics.formats.sources._meta_columns`).
    """
    by_norm: dict[str, tuple[int, str]] = {}
    currencies: dict[str, str] = {}
    for i, label in enumerate(header):
        norm, cur = _label(label)
        if not norm:
            continue
        if norm in by_norm:
            raise InvalidInput(
                f"header: column {label.strip()!r} appears twice (columns "
                f"{by_norm[norm][0] + 1} and {i + 1})"
            )
        by_norm[norm] = (i, label.strip())
        if cur:
            currencies[label.strip()] = cur
    if len(set(currencies.values())) > 1:
        raise InvalidInput(f"header: columns in several currencies: {currencies}")
    for label, cur in currencies.items():
        if ctx.currency and cur != ctx.currency:
            raise InvalidInput(
                f"header: column {label!r} is in {cur} but the tenant reports in {ctx.currency}"
            )
    cols: dict[str, tuple[int, str]] = {}
    for key in {**en, **fr}:
        aliases = en.get(key, ()) + fr.get(key, ())
        found = next((by_norm[a] for a in aliases if a in by_norm), None)
        if found is not None:
            cols[key] = found
    en_all = {a for v in en.values() for a in v}
    fr_only = {a for v in fr.values() for a in v} - en_all
    return cols, any(n in fr_only for n in by_norm)


def _columns(
    spec: ExportSpec, header: Sequence[str], ctx: FormatContext
) -> tuple[dict[str, tuple[int, str]], bool]:
    """Map the spec's field keys to (position, label); check currencies; tell French headers."""
    return alias_columns(spec.en, spec.fr, header, ctx)


def _missing(spec: ExportSpec, cols: dict[str, Any], keys: Sequence[str]) -> None:
    """Raise :class:`InvalidInput` naming each missing column as the platform writes it."""
    missing = [k for k in keys if k not in cols]
    if missing:
        names = "; ".join(
            f"'{spec.en[k][0].capitalize()}' (in French: '{spec.fr[k][0].capitalize()}')"
            for k in missing
        )
        raise InvalidInput(
            f"header: missing column(s) {names} for a {spec.product} export (format {spec.fmt!r})"
        )


def bind_export(spec: ExportSpec, header: Sequence[str], ctx: FormatContext) -> RowParser:
    """Bind a report export of ``spec``'s platform; return the row parser.

    Required: a day column, spend, impressions, and a campaign (or the platform's equivalent)
    id or name. Level: ``ad`` with an ad id/name column, else ``adset``, else ``campaign``;
    an ad row needs its ad set's id or name, an ad set row its campaign's. Without an ID
    column, ids are ``name:`` + the names (parents included). A row whose first cell starts
    with ``Total:`` (``Total :`` in French) is a summary row: the parser returns ``(None, [])``
    and the importer skips it. Raises :class:`InvalidInput` for a wrong header.
    """
    cols, french = _columns(spec, header, ctx)
    _missing(spec, cols, ("day", "spend", "impressions"))
    words = spec.level_words
    has = {lv: f"{lv}_id" in cols or f"{lv}_name" in cols for lv in ("campaign", "adset", "ad")}
    level = next((lv for lv in ("ad", "adset", "campaign") if has[lv]), None)
    if level is None:
        raise InvalidInput(
            f"header: no '{words['campaign']}', '{words['adset']}' or "
            f"'{words['ad']}' column for a {spec.product} export"
        )
    if level in ("ad", "adset") and not has["campaign"]:
        raise InvalidInput(
            f"header: an export by {words[level].lower()} needs the "
            f"'{words['campaign']}' column (or '{words['campaign']} ID')"
        )
    if level == "ad" and not has["adset"]:
        raise InvalidInput(
            f"header: an export by {words['ad'].lower()} needs the "
            f"'{words['adset']}' column (or '{words['adset']} ID')"
        )
    comma = ctx.decimal_comma or french

    def entity(rr: RowReader, lv: str, prefix: str | None) -> tuple[str | None, str | None]:
        name = rr.text(f"{lv}_name")
        if f"{lv}_id" in cols:
            return rr.ident(f"{lv}_id", required=True), name
        if name is None:
            rr.bad(f"{lv}_name", "", N_("required value is empty (no ID column in the file)"))
            return None, None
        eid = f"name:{prefix}|{name}" if prefix else f"name:{name}"
        if len(eid) > ID_MAX:
            rr.bad(f"{lv}_name", name[:60], f"name-based id longer than {ID_MAX} characters")
            return None, name
        return eid, name

    def day(rr: RowReader) -> date | None:
        s = rr.raw("day")
        m = _SLASH_DAY_RE.match(s)
        if m and (french or not spec.us_days_en):
            return rr.day("day", allow_dmy=True)
        if m:  # an English LinkedIn export: month first (3/1/2024 is March 1)
            try:
                return date(int(m[3]), int(m[1]), int(m[2]))
            except ValueError:
                rr.bad("day", s, N_("no such day"))
                return None
        return rr.day("day")

    def parse(cells: Sequence[str]) -> tuple[Record | None, list[Problem]]:
        lead = next((c for c in cells if c.strip()), "")
        if _TOTAL_RE.match(lead):  # a summary row: "Total: Account", "Total : campagnes"
            return None, []
        cells = ["" if c.strip() in _NO_VALUE else c for c in cells]
        rr = RowReader(cells, cols, decimal_comma=comma)
        d = day(rr)
        cur = rr.raw("currency")
        if cur and ctx.currency and cur.upper() != ctx.currency:
            rr.bad("currency", cur, f"the tenant reports in {ctx.currency}")
        camp_id, camp_name = entity(rr, "campaign", None)
        adset_id = adset_name = None
        if level in ("adset", "ad"):
            cprefix = camp_id if "campaign_id" in cols else camp_name
            adset_id, adset_name = entity(rr, "adset", cprefix)
        if level == "ad":
            aprefix = adset_id if "adset_id" in cols else f"{camp_name}|{adset_name}"
            eid, ename = entity(rr, "ad", aprefix)
        elif level == "adset":
            eid, ename = adset_id, adset_name
        else:
            eid, ename = camp_id, camp_name
        kw: dict[str, Any] = {"thousands": True}
        extra: dict[str, Any] = {}
        exact = rr.money("conversions", **kw)
        conv = int(exact.to_integral_value(ROUND_HALF_UP)) if exact is not None else 0
        if exact is not None and exact != conv:
            extra["conversions_exact"] = exact.normalize()
        for key in spec.custom:
            if key in cols and rr.raw(key):
                v = rr.money(key, default=None, **kw)
                if v is not None:
                    extra[key] = v.normalize()
        budget = None
        if spec.budget_level == level:
            budget = rr.money("daily_budget", default=None, quantum=CENT, **kw)
        rec = Record(
            platform=spec.platform,
            level=level,
            entity_id=eid or "",
            day=d or date.min,
            entity_name=ename,
            campaign_id=camp_id if level != "campaign" else None,
            adset_id=adset_id if level == "ad" else None,
            campaign_name=camp_name,
            adset_name=adset_name,
            spend=rr.money("spend", **kw) or Decimal(0),
            impressions=rr.count("impressions", **kw) or 0,
            reach=rr.count("reach", default=None, **kw),
            clicks=rr.count("clicks", **kw) or 0,
            leads=rr.count("leads", **kw) or 0,
            conversions=conv,
            conversion_value=rr.money("conversion_value", **kw) or Decimal(0),
            daily_budget=budget,
            custom=extra,
        )
        return _finish(rec, rr)

    return parse


def binder(fmt: str) -> Any:
    """Return the :data:`FORMATS` binder of the export format ``fmt`` (a key of :data:`SPECS`)."""
    spec = SPECS[fmt]

    def bind(header: Sequence[str], ctx: FormatContext) -> RowParser:
        return bind_export(spec, header, ctx)

    bind.__doc__ = f"Bind a {spec.product} report export (see :func:`bind_export`)."
    return bind
