"""Input formats of ``growthops import ads``: bind a CSV header, parse each row to a record.

A *format* turns one CSV data row into one canonical :class:`Record` (one entity, one day) or
into the list of problems that reject it. Problems name the column **as written in the file's
header**, so the user can find the cell. Every format is tolerant to column order.

Formats (see ``docs/data-mapping.md`` for the full mapping and its sources):

* ``growthops`` - the canonical CSV (one row per platform, level, entity and day).
* ``online_ad_performance`` - the public "Online Advertising Digital Marketing Data" export.
* ``fb_ad_campaign_2017`` - the public 2017 Facebook ad-level report (dated, repaired).
* ``meta_ads_export`` - Meta Ads Manager "Export table data" CSV with a daily breakdown.
* ``google_ads_export``, ``tiktok_ads_export``, ``linkedin_ads_export`` - report exports of
  Google Ads, TikTok Ads Manager and LinkedIn Campaign Manager (:mod:`.platforms`).

Modules: :mod:`.base` (records, cell reading, the canonical format), :mod:`.sources`
(third-party exports).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from growthops.ads.metrics.formats.base import (
    LEVELS,
    PLATFORMS,
    STAGE_COLUMNS,
    FormatContext,
    Problem,
    Record,
    RowParser,
    RowReader,
    bind_growthops,
    check_record,
)
from growthops.ads.metrics.formats.platforms import SPECS, binder, find_header
from growthops.ads.metrics.formats.sources import (
    bind_fb_ad_campaign_2017,
    bind_meta_ads_export,
    bind_online_ad_performance,
)

__all__ = [
    "FORMATS",
    "LEVELS",
    "PLATFORMS",
    "STAGE_COLUMNS",
    "FormatContext",
    "Problem",
    "Record",
    "RowParser",
    "RowReader",
    "check_record",
    "header_index",
]

#: Format name -> header binder. A binder raises InvalidInput for a wrong header.
FORMATS: dict[str, Callable[[Sequence[str], FormatContext], RowParser]] = {
    "growthops": bind_growthops,
    "online_ad_performance": bind_online_ad_performance,
    "fb_ad_campaign_2017": bind_fb_ad_campaign_2017,
    "meta_ads_export": bind_meta_ads_export,
    **{fmt: binder(fmt) for fmt in SPECS},
}


def header_index(fmt: str, rows: Sequence[Sequence[str]]) -> int:
    """Return the index of the header among a file's first ``rows`` (exports with a preamble).

    0 for formats whose header is the first line; for the :mod:`.platforms` exports, the first
    row naming a day and a spend column (:func:`.platforms.find_header`).
    """
    spec = SPECS.get(fmt)
    return find_header(spec, rows) if spec is not None else 0
