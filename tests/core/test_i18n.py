"""Messages (gettext catalogs read with Babel) and locale formatting (Babel, CLDR)."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import jinja2
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from growthops.core import i18n, i18n_tools
from growthops.core.i18n import (
    _,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_ratio,
    format_significant,
    install_jinja,
    ngettext,
    pgettext,
)

NNBSP, NBSP = "\u202f", "\u00a0"


# ------------------------------------------------------------------------------ catalogs
def test_every_message_has_a_french_translation_with_the_same_placeholders():
    """Extract every message from the sources (Babel, the mapping of babel.cfg) and check each
    package's French catalog: a non-empty, non-fuzzy msgstr with the msgid's placeholders."""
    assert i18n_tools.problems() == []


def test_the_committed_templates_are_up_to_date_with_the_sources():
    """``make messages`` was run: each package's .pot holds exactly what the sources say."""
    for pkg in i18n_tools.packages():
        with pkg.pot.open("rb") as fh:
            committed = read_po(fh)
        assert i18n_tools._same_messages(committed, i18n_tools.build_template(pkg)), (
            f"{pkg.pot} is stale: run make messages")


def test_each_package_has_its_catalog_and_the_extractors_find_python_and_templates():
    names = [p.name for p in i18n_tools.packages()]
    assert names[0] == "core" and {"core", "web", "ads"} <= set(names)
    web = {m.id: m for m in i18n_tools.build_template(i18n_tools.Package("web", i18n.PACKAGE_ROOT / "web"))}
    assert "Page not found." in web  # Python: _(lang, "...")
    assert "Signed in as %(email)s (%(role)s)" in web  # template: {{ _('...', email=...) }}
    ads = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in
           i18n_tools.build_template(i18n_tools.Package("ads", i18n.PACKAGE_ROOT / "ads"))}
    assert (None, "measuring") in ads  # N_("...") in a code table
    assert ("report column", "over budget") in ads  # pgettext in the report's template
    assert (None, "client: <b>%(value)s</b>") in ads  # {% trans %} block
    assert (None, "{n} suggestion for {tenant} (data as of {as_of})") in ads  # ngettext
    core = {m.id for m in i18n_tools.build_template(i18n_tools.packages()[0])}
    assert "Error" in core  # growthops/cli has no catalog of its own: core's holds it


def test_no_translation_call_inside_an_f_string():
    """Babel cannot extract a call written inside an f-string on Python 3.11: such a message
    would never be translated, so none may exist."""
    bad = []
    for path in i18n.PACKAGE_ROOT.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""f["'].*\{\s*(_|ngettext|pgettext)\(""", line):
                bad.append(f"{path}:{n}")
    assert bad == []


def test_placeholders_of_python_and_template_messages():
    assert i18n_tools.placeholders("{n} rows in {tenant!r}", False) == ["n", "tenant"]
    assert i18n_tools.placeholders("%(n)s of %(num)d, 95%% sure", True) == ["n", "num"]


def test_the_po_file_is_read_when_there_is_no_newer_mo(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                  '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
                  'msgid "Hello"\nmsgstr "Bonjour"\n', encoding="utf-8")
    from babel.support import Translations

    assert Translations(io.BytesIO(i18n._catalog_bytes(po, "fr"))).gettext("Hello") == "Bonjour"
    # a stale .mo (older than the .po) is ignored; a fresh one is used as is
    mo = po.with_suffix(".mo")
    mo.write_bytes(b"not a catalog")
    os.utime(mo, (time.time() - 60, time.time() - 60))
    assert Translations(io.BytesIO(i18n._catalog_bytes(po, "fr"))).gettext("Hello") == "Bonjour"
    os.utime(mo, (time.time() + 60, time.time() + 60))
    assert i18n._catalog_bytes(po, "fr") == b"not a catalog"


# ------------------------------------------------------------------------------ messages
def test_messages_in_french_with_plurals_contexts_and_fallbacks():
    assert _("fr", "Error") == "Erreur" and _("en", "Error") == "Error"
    assert _("de", "Error") == "Error"  # unknown language: English
    assert _("fr", "no such message {x}", x=1) == "no such message 1"  # missing: English
    assert _("fr", "") == ""  # never the catalog header
    assert (_("fr", "Suggestion {id} is already {status}.", id=3, status="approuvée")
            == "La suggestion 3 est déjà approuvée.")
    one = "{n} suggestion for {tenant} (data as of {as_of})"
    many = "{n} suggestions for {tenant} (data as of {as_of})"
    assert ngettext("fr", one, many, 1, n=1, tenant="A", as_of="x").startswith("1 suggestion pour")
    assert ngettext("fr", one, many, 2, n=2, tenant="A", as_of="x").startswith("2 suggestions pour")
    assert ngettext("en", one, many, 1, n=1, tenant="A", as_of="x").startswith("1 suggestion for")
    assert pgettext("fr", "button", "Sign in") == "Se connecter" and _("fr", "Sign in") == "Connexion"
    assert pgettext("en", "button", "Sign in") == "Sign in"


def test_cli_messages_follow_lang_and_growthops_lang(db, monkeypatch):
    from growthops.cli import app
    from growthops.settings import get_settings

    runner = CliRunner()
    fr = runner.invoke(app, ["db", "migrate", "--lang", "fr"])
    assert fr.exit_code == 0 and "La base de données est à jour." in fr.output
    monkeypatch.setattr(get_settings(), "lang", "fr")  # GROWTHOPS_LANG=fr
    default = runner.invoke(app, ["db", "migrate"])
    assert "La base de données est à jour." in default.output
    assert "Database is up to date." in runner.invoke(app, ["db", "migrate", "--lang", "en"]).output


# ---------------------------------------------------------------------------- formatting
def test_numbers_money_percentages_in_the_readers_locale():
    assert format_money(1234.56, "EUR", "fr") == f"1{NNBSP}234,56{NBSP}€"
    assert format_money(1234.56, "EUR", "en") == "€1,234.56"
    assert format_money(Decimal("9000"), "EUR", "en") == "€9,000.00"
    assert format_money(1234.56, "EUR", "en", 0) == "€1,235"
    assert format_money(1234, "JPY", "en") == "¥1,234"  # the currency's own decimals
    assert format_money(None, "EUR", "fr") == "–"
    assert format_percent(0.1234, "en", 1) == "12.3%"
    assert format_percent(0.1234, "fr", 1) == f"12,3{NBSP}%"
    assert format_percent(0.8, "en", 1, sign=True) == "+80.0%"
    assert format_percent(float("nan"), "en") == "–"
    assert format_number(1234.5, "fr", 1) == f"1{NNBSP}234,5"
    assert format_number(1234.6, "en") == "1,235"  # decimals by magnitude
    assert format_number(0.12345, "en") == "0.123"
    assert format_ratio(3.2, "fr") == "3,20×"
    assert format_significant(0.00041234, "en") == "0.00041"
    assert format_significant(0.0004, "fr") == "0,0004"


def test_the_fast_number_formatter_gives_exactly_what_babel_gives():
    """i18n._formatter replays Babel's NumberPattern.apply with the symbols looked up once
    (issue 16); it must agree with Babel on ties, negatives, -0, tiny, huge and Decimal values."""
    import random

    from babel.numbers import format_currency, format_decimal
    from babel.numbers import format_percent as babel_percent

    rng = random.Random(7)
    values: list[float | Decimal] = [0.0, -0.0, 0.5, 1.5, 2.5, -0.5, 0.005, 0.015, 2.675, 1e-9, -1e-9, 99.995,
                                     999.995, 1234.5, 1e15, 1.5e16, -1234567.891, 0.125, float("inf")]
    for _i in range(400):
        v = rng.choice((1, -1)) * 10 ** rng.uniform(-6, 9)
        values += [v, round(v, rng.randint(0, 4))]
    compared = 0
    for lang in ("en", "fr"):
        loc = i18n._babel_locale(lang)
        for d in range(4):
            for kind, currencies in (("decimal", (None,)), ("percent", (None,)), ("currency", ("EUR", "USD", "JPY"))):
                pattern = i18n._parsed(kind, lang, d)
                for cur in currencies:
                    fast = i18n._formatter(kind, lang, d, cur)
                    assert fast is not None
                    for v in values + ([Decimal("1234.565"), Decimal("-0.005")] if cur else []):
                        if kind == "currency":
                            ref = format_currency(v, cur, format=pattern, locale=loc, currency_digits=False)
                        elif kind == "decimal":
                            ref = format_decimal(v, format=pattern, locale=loc)
                        else:
                            ref = babel_percent(v, format=pattern, locale=loc)
                        got = fast(v)
                        if got is not None:  # None: the caller falls back to Babel (infinities)
                            assert got == ref, (kind, lang, d, cur, v)
                            compared += 1
    assert compared > 20000
    assert format_money(float("inf"), "EUR", "en", 0) == "€∞"  # through Babel's fallback


def test_dates_and_times_in_the_tenants_time_zone():
    assert format_date(date(2024, 3, 5), "en") == "Mar 5, 2024"
    assert format_date(date(2024, 3, 5), "fr") == "5 mars 2024"
    ts = datetime(2024, 3, 31, 7, 0, tzinfo=UTC)  # Paris springs forward that night: UTC+2
    assert format_datetime(ts, "Europe/Paris", "fr") == "31 mars 2024, 09:00"
    assert format_datetime(ts, "UTC", "en", with_zone=True) == f"Mar 31, 2024, 7:00{NNBSP}AM UTC"
    assert format_datetime(ts.replace(tzinfo=None), None, "fr") == "31 mars 2024, 07:00"  # naive: UTC
    assert format_datetime(None, "UTC", "en") == "–"


# --------------------------------------------------------------------------------- Jinja
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader({
        "t.html": "{{ _('Error') }}|{{ pgettext('button', 'Sign in') }}|"
                  "{% trans tz=zone %}growthops · times in {{ tz }} · money in the client's currency"
                  "{% endtrans %}|{{ ngettext('%(shown)s of %(num)s suggestion', "
                  "'%(shown)s of %(num)s suggestions', n, shown=1) }}|{{ x|money('EUR') }}|"
                  "{{ ts|datetime }}|{{ '<b>'|e }}",
    }), autoescape=True, extensions=["jinja2.ext.i18n"])
    install_jinja(env)
    return env


def test_templates_translate_into_the_contexts_language_and_format_for_it():
    env = _env()
    ts = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    fr = env.get_template("t.html").render(lang="fr", zone="UTC", n=3, x=12.5, ts=ts,
                                           time_zone="Europe/Paris")
    assert fr.split("|")[:5] == ["Erreur", "Se connecter",
                                 "growthops · heures en UTC · montants dans la devise du client",
                                 "1 suggestions sur 3", f"12,50{NBSP}€"]
    assert fr.split("|")[5] == "1 janv. 2024, 13:00"  # the context's time zone
    en = env.get_template("t.html").render(lang="en", zone="UTC", n=1, x=12.5, ts=ts)
    assert en.split("|")[:4] == ["Error", "Sign in",
                                 "growthops · times in UTC · money in the client's currency",
                                 "1 of 1 suggestion"]
    assert "Error" in env.get_template("t.html").render(zone="UTC", n=1, x=1, ts=ts)  # no lang


def test_rendering_in_two_languages_at_once_is_thread_safe():
    env = _env()
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    seen: dict[str, set[str]] = {"en": set(), "fr": set()}

    def work(lang: str) -> None:
        for _i in range(200):
            out = env.get_template("t.html").render(lang=lang, zone="UTC", n=2, x=1, ts=ts)
            seen[lang].add(out.split("|")[0])

    threads = [threading.Thread(target=work, args=(lang,)) for lang in ("en", "fr") * 3]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert seen == {"en": {"Error"}, "fr": {"Erreur"}}
