"""User-facing messages in English and French (gettext catalogs read with Babel), and the
locale formatting of numbers, money, percentages and dates (Babel, CLDR data).

Messages are written in English in the code; the catalogs translate them::

    from growthops.core.i18n import _, ngettext, pgettext, N_
    _(lang, "Imported {n} rows into {tenant}.", n=12, tenant="acme")
    ngettext(lang, "{n} lead", "{n} leads", n, n=n)
    pgettext(lang, "button", "Sign in")          # same English, another French by context
    LABELS = {"open": N_("open")}                # marked for extraction, translated with _(lang, ...)

``lang`` is ``"en"`` or ``"fr"`` (:data:`LANGS`); anything else falls back to English.
Placeholders are ``str.format`` fields, filled after translation (an unknown language, a missing
translation or a missing catalog falls back to the English text, never to an error).

Catalogs: every package of growthops may bring its own, ``<package>/locale/<lang>/LC_MESSAGES/
messages.po`` (``growthops/core/locale``, ``growthops/web/locale``, ``growthops/ads/locale``...),
found by convention under the ``growthops`` package (no registration, so core imports no
domain). They are merged per language at first use; a compiled ``messages.mo`` (built by the
Makefile's virtualenv target after ``pip install``, and by ``make messages``; not committed) is
used when it is not older than its ``.po``, else the ``.po`` is compiled in memory.
Extraction, update, compilation and checks: :mod:`growthops.core.i18n_tools` (``docs/i18n.md``).

Jinja templates: :func:`install_jinja` adds ``jinja2.ext.i18n`` (``{{ _('Sign in') }}``,
``{% trans %}``; placeholders there are ``%(name)s``, as Jinja's newstyle gettext wants) with
callables reading ``lang`` from the template context, plus the formatting filters.

Formatting (reader's locale, :data:`LOCALES`): :func:`format_number`, :func:`format_money`,
:func:`format_percent`, :func:`format_ratio`, :func:`format_significant`, :func:`format_date`,
:func:`format_datetime` (in the tenant's time zone).
Source: Unicode CLDR through Babel (https://babel.pocoo.org/en/latest/numbers.html,
https://babel.pocoo.org/en/latest/dates.html).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from babel.support import NullTranslations

LANGS = ("en", "fr")
#: The CLDR locale of each language, for numbers and dates.
LOCALES = {"en": "en_US", "fr": "fr_FR"}
#: The root of the growthops package, under which ``*/locale`` catalogs are found.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
CATALOG = "messages"
#: What a missing value is shown as.
DASH = "–"
_LOCK = threading.Lock()


# ------------------------------------------------------------------------------- catalogs
def catalog_files(lang: str) -> list[Path]:
    """Return the ``.po`` files of ``lang`` of every package under :data:`PACKAGE_ROOT`, sorted."""
    return sorted(PACKAGE_ROOT.glob(f"*/locale/{lang}/LC_MESSAGES/{CATALOG}.po"))


def _catalog_bytes(po: Path, lang: str) -> bytes:
    """The compiled catalog of ``po``: its ``.mo`` when not older, else compiled in memory."""
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo.read_bytes()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _load(lang: str) -> NullTranslations:
    from babel.support import NullTranslations, Translations

    merged: NullTranslations = NullTranslations()
    if lang not in LANGS or lang == "en":
        return merged
    first: Translations | None = None
    for po in catalog_files(lang):
        part = Translations(io.BytesIO(_catalog_bytes(po, lang)), domain=CATALOG)
        if first is None:
            first = part
        else:
            first.merge(part)
    return first if first is not None else merged


_LOADED: dict[str, NullTranslations] = {}


def translations(lang: str) -> NullTranslations:
    """Return the merged :class:`babel.support.Translations` of ``lang`` (NullTranslations for
    English or an unknown language). Loaded once per process; thread-safe (a lock only around
    the first load)."""
    found = _LOADED.get(lang)
    if found is None:
        with _LOCK:
            found = _LOADED.get(lang)
            if found is None:
                found = _LOADED[lang] = _load(lang)
    return found


def reload() -> None:
    """Forget the loaded catalogs (after an update of the ``.po`` files in a running process)."""
    with _LOCK:
        _LOADED.clear()


# ------------------------------------------------------------------------------- messages
def _fill(text: str, params: Mapping[str, object]) -> str:
    return text.format(**params) if params else text


def _(lang: str, message: str, /, **params: object) -> str:
    """Return ``message`` translated into ``lang``, formatted with ``params`` (``str.format``)."""
    text = translations(lang).gettext(message) if message and lang != "en" else message
    return _fill(text, params)


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """Return the singular or plural form for ``n`` in ``lang``, formatted with ``params``."""
    if lang == "en" or lang not in LANGS:
        text = singular if n == 1 else plural
    else:
        text = translations(lang).ngettext(singular, plural, n)
    return _fill(text, params)


def pgettext(lang: str, context: str, message: str, /, **params: object) -> str:
    """Return ``message`` translated in ``context`` (the same English word, another French one:
    a column header versus a status), formatted with ``params``."""
    text = str(translations(lang).pgettext(context, message)) if lang != "en" else message
    return _fill(text, params)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translated later with ``_``)."""
    return message


def code_label(table: Mapping[str, str], code: str | None, lang: str) -> str:
    """Return ``code`` (a status, type, level...) as the translated label of ``table``.

    ``table`` maps codes to :func:`N_`-marked English labels. An unknown code is shown as is;
    None as ''.
    """
    if code is None:
        return ""
    label = table.get(code)
    return _(lang, label) if label else str(code)


# ----------------------------------------------------------------------------- formatting
def locale_of(lang: str) -> str:
    """Return the CLDR locale of ``lang`` (English for an unknown language)."""
    return LOCALES.get(lang, LOCALES["en"])


@cache
def _babel_locale(lang: str) -> Any:
    """The parsed Babel ``Locale`` of ``lang`` (parsed once: Babel parses a locale string on
    every call, which made number formatting the largest part of the daily cycle's suggestion
    step; issue 16, docs/performance.md)."""
    from babel import Locale

    return Locale.parse(locale_of(lang))


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _auto_decimals(x: float) -> int:
    a = abs(x)
    return 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3


@cache
def _pattern(kind: str, lang: str, decimals: int) -> str:
    """The locale's standard ``kind`` pattern (decimal, percent, currency) with exactly
    ``decimals`` fraction digits (grouping, symbol and spacing kept from CLDR)."""
    from babel import Locale

    loc = Locale.parse(locale_of(lang))
    base = {"decimal": loc.decimal_formats, "percent": loc.percent_formats,
            "currency": loc.currency_formats}[kind]
    pattern = (base["standard"] if kind == "currency" else base[None]).pattern
    pattern = pattern.split(";")[0]
    head, _sep, rest = pattern.partition("0")
    # drop the fraction part of the pattern, then add ``decimals`` zeros
    tail = rest.lstrip(".0#")
    return f"{head}0{'.' + '0' * decimals if decimals else ''}{tail}"


@cache
def _parsed(kind: str, lang: str, decimals: int) -> Any:
    """:func:`_pattern` parsed once into Babel's ``NumberPattern`` (Babel accepts it as is)."""
    from babel.numbers import parse_pattern

    return parse_pattern(_pattern(kind, lang, decimals))


@cache
def _formatter(kind: str, lang: str, decimals: int, currency: str | None = None) -> Any:
    """A function ``value -> str`` giving exactly what Babel's ``NumberPattern.apply`` gives for
    :func:`_parsed` ``(kind, lang, decimals)`` (Babel 2.x's algorithm, step by step: ``Decimal(str(x))``,
    ``scaleb``, sign, ``normalize``, ``quantize`` in the current decimal context, grouping, fraction
    digits), with the locale's symbols and the affixes looked up once instead of at every call.

    Babel spent most of a call looking the locale's symbols up and substituting the currency
    (~60 µs a number; the texts of the daily cycle's stored suggestions format ~700 numbers per
    tenant: issue 16, docs/performance.md §4e). None when the pattern uses something this does
    not reproduce (scientific or significant-digit patterns, quotes, the plural currency name):
    the caller then calls Babel. ``tests/core/test_i18n.py`` compares both on many values.
    """
    from babel.numbers import (
        get_currency_symbol,
        get_decimal_quantum,
        get_decimal_symbol,
        get_group_symbol,
    )

    p = _parsed(kind, lang, decimals)
    loc = _babel_locale(lang)
    if p.exp_prec or "@" in p.pattern or p.number_pattern == "":
        return None
    group, dec = get_group_symbol(loc), get_decimal_symbol(loc)
    affixes = []
    for pair in (p.prefix, p.suffix):
        out = []
        for text in pair:
            if "¤¤¤" in text or "'" in text:
                return None
            if "¤" in text and currency is not None:
                text = text.replace("¤¤", currency.upper()).replace("¤", get_currency_symbol(currency, loc))
            out.append(text)
        affixes.append(tuple(out))
    (pre, suf), sym = affixes, (group, dec)
    if any("'" in t for t in (*pre, *suf, *sym)) or any("¤" in t for t in (*pre, *suf)):
        return None
    scale, (imin, _imax), (fmin, fmax) = p.scale, p.int_prec, p.frac_prec
    g0, g1 = p.grouping
    quantum = get_decimal_quantum(fmax)

    def fmt(value: Any) -> str | None:
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        value = value.scaleb(scale)
        neg = int(value.is_signed())
        value = abs(value).normalize()
        if value.is_infinite():
            return None
        a, _sep, b = f"{value.quantize(quantum):f}".partition(".")
        if len(a) < imin:
            a = "0" * (imin - len(a)) + a
        gsize, ret = g0, ""
        while len(a) > gsize:
            ret = group + a[-gsize:] + ret
            a = a[:-gsize]
            gsize = g1
        b = b or "0"
        if len(b) < fmin:
            b += "0" * (fmin - len(b))
        if fmax == 0 or (fmin == 0 and int(b) == 0):
            frac = ""
        else:
            while len(b) > fmin and b[-1] == "0":
                b = b[:-1]
            frac = dec + b
        return pre[neg] + a + ret + frac + suf[neg]

    return fmt


def format_number(x: Any, lang: str, decimals: int | None = None) -> str:
    """Format a number for ``lang``: ``1,234.5`` / ``1 234,5`` (narrow no-break space).

    ``decimals`` None: by magnitude (0 from 1000, 1 from 100, 2 from 1, else 3). None or NaN
    → :data:`DASH`.
    """
    if _missing(x):
        return DASH
    from babel.numbers import format_decimal

    v = float(x)
    d = _auto_decimals(v) if decimals is None else decimals
    fast = _formatter("decimal", lang, d)
    text = fast(v) if fast is not None else None
    if text is not None:
        return text
    return format_decimal(v, format=_parsed("decimal", lang, d), locale=_babel_locale(lang))


def format_significant(x: Any, lang: str, digits: int = 2) -> str:
    """Format ``x`` with at most ``digits`` significant digits (q-values, p-values):
    ``0.0004``, ``0.012`` / ``0,012``. None or NaN → :data:`DASH`."""
    if _missing(x):
        return DASH
    from babel.numbers import format_decimal

    pattern = "@" + "#" * max(digits - 1, 0)
    return format_decimal(float(x), format=pattern, locale=_babel_locale(lang))


def format_money(amount: Any, currency: str, lang: str, decimals: int | None = None) -> str:
    """Format an amount of ``currency`` (ISO 4217) for ``lang``: ``€1,234.56`` / ``1 234,56 €``.

    ``decimals``: fraction digits shown; None: the currency's own (2 for EUR, 0 for JPY); 0 for
    rounded amounts in sentences. None or NaN → :data:`DASH`.
    """
    if _missing(amount):
        return DASH
    from babel.numbers import format_currency

    value = amount if isinstance(amount, Decimal) else float(amount)
    code = currency.strip().upper()
    if decimals is None:
        return format_currency(value, code, locale=_babel_locale(lang))
    fast = _formatter("currency", lang, decimals, code)
    text = fast(value) if fast is not None else None
    if text is not None:
        return text
    return format_currency(value, code, format=_parsed("currency", lang, decimals),
                           locale=_babel_locale(lang), currency_digits=False)


def format_percent(fraction: Any, lang: str, decimals: int = 0, *, sign: bool = False) -> str:
    """Format a fraction (0–1) as a percentage for ``lang``: ``12.5%`` / ``12,5 %``.

    ``sign``: a ``+`` before positive values (deviations). None or NaN → :data:`DASH`.
    """
    if _missing(fraction):
        return DASH
    from babel.numbers import format_percent as babel_percent

    v = float(fraction)
    fast = _formatter("percent", lang, decimals)
    text = fast(v) if fast is not None else None
    if text is None:
        text = babel_percent(v, format=_parsed("percent", lang, decimals), locale=_babel_locale(lang))
    return f"+{text}" if sign and v > 0 else text


def format_ratio(x: Any, lang: str, decimals: int = 2, symbol: str = "×") -> str:
    """Format a ratio such as a ROAS: ``3.20×`` / ``3,20×``. None or NaN → :data:`DASH`."""
    if _missing(x):
        return DASH
    return f"{format_number(x, lang, decimals)}{symbol}"


def format_date(d: date | None, lang: str, format: str = "medium") -> str:
    """Format a date for ``lang`` (``medium``: ``Mar 5, 2024`` / ``5 mars 2024``; ``short``;
    ``long``; or a CLDR pattern). None → :data:`DASH`."""
    if d is None:
        return DASH
    from babel.dates import format_date as babel_date

    return babel_date(d, format=format, locale=_babel_locale(lang))


def format_datetime(ts: datetime | None, tz: str | tzinfo | None, lang: str, *,
                    with_zone: bool = False) -> str:
    """Format an instant in the time zone ``tz`` (an IANA name such as the tenant's
    ``time_zone``; None: UTC) for ``lang``: medium date, short time (``Mar 5, 2024, 3:07 PM`` /
    ``5 mars 2024, 15:07``); ``with_zone`` appends the zone's name. A naive ``ts`` is UTC.
    None → :data:`DASH`."""
    if ts is None:
        return DASH
    from babel.dates import format_date as babel_date
    from babel.dates import format_time, get_datetime_format, get_timezone

    zone = get_timezone(tz or "UTC") if not isinstance(tz, tzinfo) else tz
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    local = ts.astimezone(zone)
    loc = locale_of(lang)
    text = str(get_datetime_format("medium", locale=loc)).format(
        format_time(local, "short", locale=loc), babel_date(local.date(), "medium", locale=loc))
    if with_zone:
        text += f" {tz if isinstance(tz, str) else getattr(zone, 'key', zone)}" if tz else " UTC"
    return text


# ---------------------------------------------------------------------------------- Jinja
def _ctx_lang(ctx: Any) -> str:
    lang = ctx.get("lang") if ctx is not None else None
    return lang if lang in LANGS else "en"


def install_jinja(env: jinja2.Environment) -> None:
    """Give ``env`` the i18n extension and the formatting filters, for every language at once.

    ``{{ _('Sign in') }}``, ``{{ ngettext('%(num)d item', '%(num)d items', n) }}``,
    ``{{ pgettext('button', 'Sign in') }}`` and ``{% trans %}`` translate into the ``lang`` of
    the template context (newstyle gettext: placeholders ``%(name)s``, filled and escaped by
    Jinja). Nothing is installed per request, so rendering is thread-safe. Filters:
    ``number(decimals)``, ``money(currency, decimals)``, ``percent(decimals)`` (of a fraction),
    ``date(format)``, ``datetime(tz)`` (default: the context's ``time_zone``, else UTC).
    """
    from jinja2 import pass_context

    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")

    @pass_context
    def gettext(ctx: Any, message: str) -> str:
        return _(_ctx_lang(ctx), message)

    @pass_context
    def ngettext_(ctx: Any, singular: str, plural: str, n: int) -> str:
        return ngettext(_ctx_lang(ctx), singular, plural, n)

    @pass_context
    def pgettext_(ctx: Any, context: str, message: str) -> str:
        return pgettext(_ctx_lang(ctx), context, message)

    @pass_context
    def npgettext_(ctx: Any, context: str, singular: str, plural: str, n: int) -> str:
        lang = _ctx_lang(ctx)
        if lang == "en":
            return singular if n == 1 else plural
        return translations(lang).npgettext(context, singular, plural, n)

    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext_, newstyle=True, pgettext=pgettext_,
        npgettext=npgettext_)

    @pass_context
    def number(ctx: Any, x: Any, decimals: int | None = None) -> str:
        return format_number(x, _ctx_lang(ctx), decimals)

    @pass_context
    def money(ctx: Any, x: Any, currency: str, decimals: int | None = None) -> str:
        return format_money(x, currency, _ctx_lang(ctx), decimals)

    @pass_context
    def percent(ctx: Any, x: Any, decimals: int = 0) -> str:
        return format_percent(x, _ctx_lang(ctx), decimals)

    @pass_context
    def date_(ctx: Any, d: date | None, format: str = "medium") -> str:
        return format_date(d, _ctx_lang(ctx), format)

    @pass_context
    def datetime_(ctx: Any, ts: datetime | None, tz: str | None = None) -> str:
        return format_datetime(ts, tz or ctx.get("time_zone") or "UTC", _ctx_lang(ctx))

    env.filters.update(number=number, money=money, percent=percent, date=date_,
                       datetime=datetime_)
