"""Canonical records, typed cell reading with problem collection, and the ``growthops`` format.

Units: money is in the tenant's currency, rounded half away from zero to 6 decimals (the
``numeric(18,6)`` of ``ads.metrics_daily``; daily budgets to cents, ``numeric(14,2)``), the
rounding PostgreSQL's ``numeric`` applies itself. Counts are whole, non-negative numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from growthops.core.errors import InvalidInput
from growthops.core.i18n import N_, _


def _words(text: str) -> tuple[str, ...]:
    """Return the whitespace-separated words of ``text`` (compact column lists)."""
    return tuple(text.split())


#: Allowed values of ads.metrics_daily.platform and .level (migration 0002 check constraints).
PLATFORMS = ("meta", "google", "display", "tiktok", "linkedin", "other")
LEVELS = ("campaign", "adset", "ad")
BIGINT_MAX = 2**63 - 1
#: Reporting days accepted: no ad platform reported before 2000 (Google AdWords opened in
#: October 2000; Facebook ads in 2007); 2100 bounds typos such as 20244-01-01 or 9999-12-31.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MONEY_LIMIT = Decimal(10) ** 12  # 12 integer digits: numeric(18,6) and numeric(14,2)
MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
ID_MAX = 200  # ads.metrics_daily.entity_id check (length between 1 and 200)

Problem = tuple[str, str, str]  # (column as written in the header, value, reason)
RowParser = Callable[[Sequence[str]], "tuple[Record | None, list[Problem]]"]


@dataclass(slots=True)
class Record:
    """One entity's metrics for one day, in the units of ``ads.metrics_daily``.

    ``campaign_name`` and ``adset_name`` are the parents' names (used to name roll-up rows);
    ``custom`` holds extra metrics (numbers as ``Decimal``/``int``, or text/lists).
    Equality compares every field: two rows with the same key and equal records are exact
    duplicates.
    """

    platform: str
    level: str
    entity_id: str
    day: date
    entity_name: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None
    campaign_name: str | None = None
    adset_name: str | None = None
    spend: Decimal = Decimal(0)
    impressions: int = 0
    reach: int | None = None
    clicks: int = 0
    leads: int = 0
    applications: int = 0
    bookings: int = 0
    conversions: int = 0
    conversion_value: Decimal = Decimal(0)
    video_3s_views: int | None = None
    video_thruplays: int | None = None
    post_engagements: int | None = None
    daily_budget: Decimal | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, date]:
        """Return the primary key within a tenant: (platform, level, entity_id, day)."""
        return (self.platform, self.level, self.entity_id, self.day)

    def copy_row(self) -> tuple[Any, ...]:
        """Return the row in :data:`STAGE_COLUMNS` order (custom metrics as JSON text)."""
        return (*(getattr(self, c) for c in STAGE_COLUMNS[:-1]), to_json(self.custom))


#: Columns of the staging table, in :meth:`Record.copy_row` order.
STAGE_COLUMNS = _words(
    """platform level entity_id day entity_name campaign_id adset_id campaign_name adset_name
    spend impressions reach clicks leads applications bookings conversions conversion_value
    video_3s_views video_thruplays post_engagements daily_budget custom_metrics"""
)


def to_json(obj: dict[str, Any]) -> str:
    """Serialise custom metrics to JSON, writing ``Decimal`` values exactly (no float)."""

    def val(v: Any) -> str:
        if isinstance(v, Decimal):  # plain notation without trailing zeros: 28.9717, 100
            return format(v.normalize(), "f")
        if isinstance(v, list):
            return "[" + ",".join(val(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    items = (f"{json.dumps(k, ensure_ascii=False)}:{val(v)}" for k, v in obj.items())
    return "{" + ",".join(items) + "}"


@dataclass(frozen=True)
class FormatContext:
    """What a format may need besides the file: the assumed year and the tenant's currency."""

    year: int = 2020
    currency: str | None = None  # ISO 4217 code of the tenant
    #: The file writes decimals with a comma (``35,19``): set by the importer for a file
    #: separated by semicolons, the spreadsheets of comma-decimal locales, and by a format that
    #: recognises a French header. Only formats reading with ``thousands=True`` use it.
    decimal_comma: bool = False


# ------------------------------------------------------------------------------ cell parsing
_NUM_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_REQUIRED = object()
#: Characters written between groups of three digits: space, no-break space (U+00A0), narrow
#: no-break space (U+202F, CLDR's French grouping separator), thin space (U+2009).
_SPACES = " \u00a0\u202f\u2009"
_SPACE_GROUPS_RE = re.compile(r"^([+-]?\d{1,3})((?:[ \u00a0\u202f\u2009]\d{3})+)([.,]\d+)?$")
_COMMA_DECIMAL_RE = re.compile(r"^[+-]?\d+,\d+$")
_DOT_GROUPS_RE = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?$")
_CURRENCY_SIGNS = "€$£¥"


def plain_number(s: str, *, decimal_comma: bool = False) -> str:
    """Return an exported number in plain notation (``1234.5``); unchanged if not recognised.

    Accepted, as Ads Manager and spreadsheets write them in English and French: grouping by
    comma (``1,234.50``), by dot with a decimal comma (``1.234,50``), by spaces (``1 234,50``
    with a space, U+00A0 or U+202F), a decimal comma (``35,19``) and a currency sign at either
    end (``35,19 €``). ``1,234`` is one thousand two hundred and thirty-four unless
    ``decimal_comma`` (the file is known to use decimal commas), where it is 1.234.
    """
    t = s.strip().strip(_CURRENCY_SIGNS).strip(_SPACES)
    m = _SPACE_GROUPS_RE.match(t)
    if m:
        t = m[1] + "".join(ch for ch in m[2] if ch.isdigit()) + (m[3] or "").replace(",", ".")
        return t
    if "," in t and "." in t:
        if t.rfind(",") > t.rfind("."):  # 1.234,50
            return t.replace(".", "").replace(",", ".") if _DOT_GROUPS_RE.match(t) else s
        return t.replace(",", "") if _THOUSANDS_RE.match(t) else s  # 1,234.50
    if "," in t:
        if _THOUSANDS_RE.match(t) and not decimal_comma:
            return t.replace(",", "")
        return t.replace(",", ".") if _COMMA_DECIMAL_RE.match(t) else s
    if decimal_comma and _DOT_GROUPS_RE.match(t):
        return t.replace(".", "")
    return t


class RowReader:
    """Read typed cells of one CSV row, collecting every problem instead of stopping.

    ``cols`` maps a field key to (position in the row, column label as written in the header).
    Reading a key absent from ``cols`` reads an empty cell. Every reader returns ``None`` after
    recording a problem.
    """

    __slots__ = ("cells", "cols", "decimal_comma", "problems")

    def __init__(self, cells: Sequence[str], cols: dict[str, tuple[int, str]], *,
                 decimal_comma: bool = False) -> None:
        self.cells = cells
        self.cols = cols
        self.decimal_comma = decimal_comma  # see FormatContext.decimal_comma
        self.problems: list[Problem] = []

    def label(self, key: str) -> str:
        """Return the header label of ``key`` (the key itself when the file lacks the column)."""
        c = self.cols.get(key)
        return c[1] if c else key

    def raw(self, key: str) -> str:
        """Return the stripped cell of ``key`` ('' when the column is absent)."""
        c = self.cols.get(key)
        return self.cells[c[0]].strip() if c else ""

    def bad(self, key: str, value: str, reason: str) -> None:
        """Record a problem on ``key``'s column."""
        self.problems.append((self.label(key), value, reason))

    def text(self, key: str, *, required: bool = False, max_len: int | None = None) -> str | None:
        """Return the cell as text, ``None`` when empty (a problem when ``required``)."""
        s = self.raw(key)
        if not s:
            if required:
                self.bad(key, s, N_("required value is empty"))
            return None
        if max_len is not None and len(s) > max_len:
            self.bad(key, s[:60], f"longer than {max_len} characters")
            return None
        return s

    def ident(self, key: str, *, required: bool = False) -> str | None:
        """Return an entity id (1-200 characters, no control characters)."""
        s = self.text(key, required=required, max_len=ID_MAX)
        if s is not None and any(ord(ch) < 32 for ch in s):
            self.bad(key, s, N_("id contains control characters"))
            return None
        return s

    def _number(self, key: str, thousands: bool) -> tuple[str, Decimal | None]:
        s = self.raw(key)
        t = plain_number(s, decimal_comma=self.decimal_comma) if thousands else s
        if not _NUM_RE.match(t):
            return s, None
        try:
            return s, Decimal(t)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return s, None

    def count(self, key: str, *, default: Any = 0, thousands: bool = False) -> int | None:
        """Return a whole non-negative count (bigint); ``default`` when the cell is empty."""
        s = self.raw(key)
        if not s:
            if default is _REQUIRED:
                self.bad(key, s, N_("required value is empty"))
                return None
            return default
        s, d = self._number(key, thousands)
        if d is None:
            self.bad(key, s, N_("not a number"))
        elif "e" in s.lower():
            self.bad(key, s, N_("a count is written in digits, without an exponent"))
        elif d < 0:
            self.bad(key, s, N_("negative count"))
        elif d != d.to_integral_value():
            self.bad(key, s, N_("not a whole number"))
        elif d > BIGINT_MAX:
            self.bad(key, s, N_("too large for a count"))
        else:
            return int(d)
        return None

    def money(
        self,
        key: str,
        *,
        default: Any = Decimal(0),
        quantum: Decimal = MICRO,
        thousands: bool = False,
    ) -> Decimal | None:
        """Return a non-negative amount rounded half away from zero to ``quantum``."""
        s = self.raw(key)
        if not s:
            if default is _REQUIRED:
                self.bad(key, s, N_("required value is empty"))
                return None
            return default
        s, d = self._number(key, thousands)
        if d is None:
            self.bad(key, s, N_("not a number"))
        elif d < 0:
            self.bad(key, s, N_("negative amount"))
        elif d >= MONEY_LIMIT:
            self.bad(key, s, N_("amount too large (12 integer digits at most)"))
        else:
            return d.quantize(quantum, rounding=ROUND_HALF_UP)
        return None

    def day(self, key: str, *, allow_dmy: bool = False) -> date | None:
        """Return a calendar day written YYYY-MM-DD (or DD/MM/YYYY when ``allow_dmy``)."""
        s = self.raw(key)
        if not s:
            self.bad(key, s, N_("required date is empty"))
            return None
        try:
            day = None
            if _ISO_DAY_RE.match(s):
                day = date.fromisoformat(s)
            m = _DMY_RE.match(s) if allow_dmy and day is None else None
            if m:
                day = date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            self.bad(key, s, N_("no such day"))
            return None
        if day is not None:
            if not FIRST_DAY <= day <= LAST_DAY:
                self.bad(key, s, f"outside {FIRST_DAY} to {LAST_DAY}: not a reporting day")
                return None
            return day
        self.bad(key, s, N_("not a date (expected YYYY-MM-DD or DD/MM/YYYY)") if allow_dmy
                 else N_("not a date (expected YYYY-MM-DD)"))
        return None

    def choice(self, key: str, options: Sequence[str]) -> str | None:
        """Return the cell if it is one of ``options`` (case-insensitive), else a problem."""
        s = self.raw(key)
        v = s.lower()
        if v in options:
            return v
        self.bad(key, s, f"unknown value; expected one of {', '.join(options)}")
        return None


def check_record(rec: Record, rr: RowReader) -> None:
    """Check level/parent consistency and reach <= impressions, normalising parent ids.

    Rules: an ad names its campaign and ad set; an ad set names its campaign and no other ad
    set; a campaign names no parent (a parent id equal to the entity's own id is dropped).
    Reach cannot exceed impressions: each person reached saw at least one impression
    (Meta Ads Help Center, "Reach" and "Impressions" definitions).
    """
    if rec.level == "ad":
        if not rec.campaign_id:
            rr.bad("campaign_id", "", N_("required for level 'ad'"))
        if not rec.adset_id:
            rr.bad("adset_id", "", N_("required for level 'ad'"))
    elif rec.level == "adset":
        if not rec.campaign_id:
            rr.bad("campaign_id", "", N_("required for level 'adset'"))
        if rec.adset_id == rec.entity_id:
            rec.adset_id = None
        elif rec.adset_id:
            rr.bad("adset_id", rec.adset_id, N_("an ad set row cannot have a parent ad set"))
    elif rec.level == "campaign":
        if rec.campaign_id == rec.entity_id:
            rec.campaign_id = None
        elif rec.campaign_id:
            rr.bad("campaign_id", rec.campaign_id, N_("a campaign row cannot have a parent campaign"))
        if rec.adset_id:
            rr.bad("adset_id", rec.adset_id, N_("a campaign row cannot have a parent ad set"))
    counted = not any(p[0] == rr.label("impressions") for p in rr.problems)
    if counted and rec.reach is not None and rec.reach > rec.impressions:
        rr.bad("reach", str(rec.reach), f"reach exceeds impressions ({rec.impressions})")


#: Every fixed reason a row can be rejected for (marked for translation, see
#: :func:`translate_reason`).
REASONS = (
    N_("required value is empty"),
    N_("id contains control characters"),
    N_("not a number"),
    N_("a count is written in digits, without an exponent"),
    N_("negative count"),
    N_("not a whole number"),
    N_("too large for a count"),
    N_("negative amount"),
    N_("amount too large (12 integer digits at most)"),
    N_("required date is empty"),
    N_("no such day"),
    N_("not a date (expected YYYY-MM-DD or DD/MM/YYYY)"),
    N_("not a date (expected YYYY-MM-DD)"),
    N_("required for level 'ad'"),
    N_("required for level 'adset'"),
    N_("an ad set row cannot have a parent ad set"),
    N_("a campaign row cannot have a parent campaign"),
    N_("a campaign row cannot have a parent ad set"),
    N_("required value is empty (no ID column in the file)"),
    N_("not a numeric id"),
    N_("not a month name (e.g. April)"),
    N_("not an age band (e.g. 30-34)"),
    N_("expected M or F"),
    N_("not an interest code (whole number)"),
    N_("contains '|', the id separator"),
)


def translate_reason(reason: str, lang: str) -> str:
    """Return a rejection reason (:class:`growthops.core.errors.RejectedRow`) in ``lang``.

    Each fixed phrase of :data:`REASONS` in it is translated (a reason may join several:
    ``not a number; also: Impressions (negative count)``); column labels and values, which
    are the user's own, are kept; a phrase with figures in it stays in English.
    """
    if lang == "en":
        return reason
    out = reason.replace("; also: ", _(lang, "; also: "))
    for phrase in sorted(REASONS, key=len, reverse=True):
        if phrase in out:
            out = out.replace(phrase, _(lang, phrase))
    return out


# --------------------------------------------------------------------------- header helpers
def _header_map(
    header: Sequence[str], normalise: Callable[[str], str]
) -> dict[str, tuple[int, str]]:
    """Map each normalised non-empty header label to (position, label); duplicates are an error."""
    out: dict[str, tuple[int, str]] = {}
    for i, label in enumerate(header):
        name = normalise(label)
        if not name:
            continue
        if name in out:
            raise InvalidInput(
                f"header: column {label.strip()!r} appears twice (columns "
                f"{out[name][0] + 1} and {i + 1})"
            )
        out[name] = (i, label.strip())
    return out


def _require(cols: dict[str, Any], needed: Sequence[str], fmt: str) -> None:
    missing = [c for c in needed if c not in cols]
    if missing:
        raise InvalidInput(
            f"header: missing column(s) {', '.join(map(repr, missing))} for format {fmt!r}"
        )


def _no_unknown(cols: dict[str, Any], known: set[str], fmt: str) -> None:
    unknown = [v[1] for k, v in cols.items() if k not in known]
    if unknown:
        raise InvalidInput(
            f"header: unknown column(s) {', '.join(map(repr, unknown))} "
            f"for format {fmt!r} (see docs/data-mapping.md)"
        )


def _lower(label: str) -> str:
    return " ".join(label.split()).lower()


def _finish(rec: Record | None, rr: RowReader) -> tuple[Record | None, list[Problem]]:
    if rec is not None:
        check_record(rec, rr)
    return (None, rr.problems) if rr.problems else (rec, [])


# ------------------------------------------------------------------------------- growthops
GROWTHOPS_COUNTS = ("impressions", "clicks", "leads", "applications", "bookings", "conversions")
GROWTHOPS_NULLABLE = ("reach", "video_3s_views", "video_thruplays", "post_engagements")
GROWTHOPS_COLUMNS = _words(
    """platform level entity_id day entity_name campaign_id adset_id spend impressions reach
    clicks leads applications bookings conversions conversion_value video_3s_views
    video_thruplays post_engagements daily_budget"""
)
GROWTHOPS_REQUIRED = ("platform", "level", "entity_id", "day")
_CUSTOM_RE = re.compile(r"^custom\.([A-Za-z0-9_]{1,63})$")


def bind_growthops(header: Sequence[str], ctx: FormatContext) -> RowParser:
    """Bind the canonical growthops CSV header (see docs/data-mapping.md).

    Required columns: platform, level, entity_id, day; every other column of
    :data:`GROWTHOPS_COLUMNS` is optional (empty or absent: 0 for counts and money, unknown
    (NULL) for reach, video and engagement counts and the daily budget). ``custom.<name>``
    columns go to ``custom_metrics`` (numbers as JSON numbers, other text as strings; empty
    cells omitted). Raises :class:`InvalidInput` for a missing, unknown or repeated column.
    """
    cols = _header_map(header, _lower)
    custom = {k: _CUSTOM_RE.match(v[1]) for k, v in cols.items() if k.startswith("custom.")}
    for k, m in custom.items():
        if m is None:
            raise InvalidInput(
                f"header: bad custom column {cols[k][1]!r} "
                "(expected custom.<name>, name of letters, digits and _)"
            )
    _require(cols, GROWTHOPS_REQUIRED, "growthops")
    _no_unknown(cols, set(GROWTHOPS_COLUMNS) | set(custom), "growthops")
    custom_names = {k: m[1] for k, m in custom.items() if m is not None}

    def parse(cells: Sequence[str]) -> tuple[Record | None, list[Problem]]:
        rr = RowReader(cells, cols)
        platform = rr.choice("platform", PLATFORMS)
        level = rr.choice("level", LEVELS)
        entity_id = rr.ident("entity_id", required=True)
        day = rr.day("day")
        extra: dict[str, Any] = {}
        for key, name in custom_names.items():
            s = rr.raw(key)
            if s:
                extra[name] = _json_scalar(s)
        rec = Record(
            platform=platform or "",
            level=level or "",
            entity_id=entity_id or "",
            day=day or date.min,
            entity_name=rr.text("entity_name"),
            campaign_id=rr.ident("campaign_id"),
            adset_id=rr.ident("adset_id"),
            spend=rr.money("spend") or Decimal(0),
            conversion_value=rr.money("conversion_value") or Decimal(0),
            daily_budget=rr.money("daily_budget", default=None, quantum=CENT),
            custom=extra,
        )
        for f in GROWTHOPS_COUNTS:
            setattr(rec, f, rr.count(f) or 0)
        for f in GROWTHOPS_NULLABLE:
            setattr(rec, f, rr.count(f, default=None))
        return _finish(rec, rr)

    return parse


def _json_scalar(s: str) -> Any:
    """Return a custom cell as a number (``Decimal``/``int``) when it is one, else the text."""
    if _NUM_RE.match(s):
        d = Decimal(s)
        return int(d) if d == d.to_integral_value() and "." not in s and "e" not in s.lower() else d
    return s
