"""Extract, update, compile and check the gettext catalogs of every growthops package (Babel).

``python -m growthops.core.i18n_tools extract|update|compile|check|all`` (``make messages``
runs ``all``). Every package with a ``locale/`` folder has one catalog (``core``, ``web``,
``ads``...): ``<package>/locale/messages.pot`` (English, extracted from its sources) and
``<package>/locale/fr/LC_MESSAGES/messages.po`` (French); the compiled ``messages.mo`` is built
at install time (``make`` venv target) and not committed. A package without its own ``locale/``
(``cli/``, the composition roots, ``connectors/``) is extracted into core's catalog.

* ``extract``: Babel's extractors over the package's sources, mapped by ``babel.cfg`` (Python
  files with :data:`PYTHON_KEYWORDS`, whose first argument is the language; Jinja templates with
  Babel's standard gettext keywords, the functions ``jinja2.ext.i18n`` defines); rewrites the
  ``.pot`` only when its messages changed (so its creation date does not churn).
* ``update``: ``pybabel update`` of each ``fr`` catalog from its ``.pot`` (created with
  ``--init-missing`` for a new package; new messages untranslated, changed ones fuzzy, gone ones
  dropped).
* ``compile``: each catalog into ``messages.mo`` (Babel's ``write_mo``, as ``pybabel compile``).
* ``check``: every message has a non-fuzzy French translation with the same placeholders, and a
  message in two catalogs has one translation; prints the problems, exit status 1 if any.

Sources: https://babel.pocoo.org/en/latest/messages.html (extraction, keyword specs),
https://babel.pocoo.org/en/latest/cmdline.html (pybabel update, compile),
https://jinja.palletsprojects.com/en/stable/extensions/#i18n-extension (newstyle gettext).
"""

from __future__ import annotations

import io
import re
import string
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from growthops.core.i18n import CATALOG, PACKAGE_ROOT

#: Languages a catalog is translated into (English is the source).
TARGET_LANGS = ("fr",)
#: Plural rule of each target language's catalogs (GNU gettext's, not CLDR's three French
#: forms: "1 ligne", "0 ligne", "2 lignes").
PLURAL_FORMS = {"fr": (2, "(n > 1)")}
#: Babel's mapping of source files to extraction methods: the repository's ``babel.cfg``.
MAPPING_FILE = PACKAGE_ROOT.parents[1] / "babel.cfg"
#: Python: ``_(lang, msg)``, ``ngettext(lang, singular, plural, n)``,
#: ``pgettext(lang, context, msg)``, ``N_(msg)`` (GNU gettext keyword specs).
PYTHON_KEYWORDS = ("_:2", "ngettext:2,3", "pgettext:2c,3", "N_")
#: Jinja templates: the callables of ``jinja2.ext.i18n`` (``_``, ``gettext``, ``ngettext``,
#: ``pgettext``, ``npgettext``; ``{% trans %}`` blocks become ``gettext`` / ``ngettext``).
JINJA_KEYWORDS = ("_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3")
_SKIP_DIRS = {"locale", "static", "migrations", "__pycache__"}
_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@dataclass(frozen=True)
class Package:
    """One catalog: the package's name and folder."""

    name: str
    path: Path

    @property
    def locale_dir(self) -> Path:
        return self.path / "locale"

    @property
    def pot(self) -> Path:
        return self.locale_dir / f"{CATALOG}.pot"

    def po(self, lang: str) -> Path:
        return self.locale_dir / lang / "LC_MESSAGES" / f"{CATALOG}.po"


def packages(root: Path = PACKAGE_ROOT) -> list[Package]:
    """Return the packages with a ``locale/`` folder under ``root``, core first."""
    found = sorted((p for p in root.iterdir() if (p / "locale").is_dir()),
                   key=lambda p: (p.name != "core", p.name))
    return [Package(p.name, p) for p in found]


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    from babel.messages.frontend import parse_mapping_cfg

    with MAPPING_FILE.open(encoding="utf-8") as fh:
        return parse_mapping_cfg(fh, filename=str(MAPPING_FILE))


def _keywords(specs: Iterable[str]) -> Any:
    from babel.messages.frontend import parse_keywords

    return parse_keywords(list(specs))


def _dirs_for(pkg: Package, root: Path) -> tuple[Path, object]:
    """The folder to walk for ``pkg`` and its directory filter (core: the whole tree except the
    packages with their own catalog)."""
    own = {p.path.resolve() for p in packages(root)}

    def keep(dirpath: str) -> bool:
        d = Path(dirpath)
        if d.name in _SKIP_DIRS or d.name.startswith("."):
            return False
        return pkg.name != "core" or d.resolve() not in own or d.resolve() == pkg.path.resolve()

    return (root if pkg.name == "core" else pkg.path), keep


def extract_messages(pkg: Package, root: Path = PACKAGE_ROOT) -> Iterator[tuple]:
    """Yield ``(filename, lineno, message, comments, context)`` of every translatable message of
    ``pkg`` (Babel's ``extract_from_dir``: Python with :data:`PYTHON_KEYWORDS`, templates with
    :data:`JINJA_KEYWORDS`, files mapped by ``babel.cfg``)."""
    from babel.messages.extract import extract_from_dir

    method_map, options_map = _mapping()
    folder, keep = _dirs_for(pkg, root)
    for method, specs in (("python", PYTHON_KEYWORDS), ("jinja2", JINJA_KEYWORDS)):
        wanted = [(pattern, m) for pattern, m in method_map if m == method]
        yield from extract_from_dir(folder, wanted, options_map, keywords=_keywords(specs),
                                    comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
                                    directory_filter=keep)  # type: ignore[arg-type]


def build_template(pkg: Package, root: Path = PACKAGE_ROOT):  # type: ignore[no-untyped-def]
    """Return the package's messages as a Babel ``Catalog`` (the ``.pot``)."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(project="growthops", domain=CATALOG, charset="utf-8",
                      msgid_bugs_address="", copyright_holder="growthops")
    folder, _keep = _dirs_for(pkg, root)
    for filename, lineno, message, comments, context in extract_messages(pkg, root):
        where = (Path(folder, filename).resolve().relative_to(root.resolve()).as_posix(), lineno)
        catalog.add(message, None, [where], auto_comments=comments, context=context)
    return catalog


def _same_messages(a, b) -> bool:  # type: ignore[no-untyped-def]
    """True when two catalogs hold the same messages (ids, contexts, comments, files)."""
    def key(c):  # type: ignore[no-untyped-def]
        return {(repr(m.id), m.context or "", tuple(m.auto_comments),
                 tuple(sorted({f for f, _line in m.locations}))) for m in c if m.id}
    return key(a) == key(b)


def extract(root: Path = PACKAGE_ROOT) -> list[Path]:
    """Write each package's ``locale/messages.pot``; return the files that changed."""
    from babel.messages.pofile import read_po, write_po

    changed = []
    for pkg in packages(root):
        template = build_template(pkg, root)
        if pkg.pot.exists():
            with pkg.pot.open("rb") as fh:
                if _same_messages(read_po(fh), template):
                    continue
        buf = io.BytesIO()
        write_po(buf, template, width=100, sort_output=True, include_lineno=False)
        pkg.pot.write_bytes(buf.getvalue())
        changed.append(pkg.pot)
    return changed


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    status = CommandLineInterface().run(["pybabel", "-q", *args])
    if status:
        raise SystemExit(status)


def update(root: Path = PACKAGE_ROOT) -> None:
    """``pybabel update`` every target-language catalog from its package's ``.pot`` (a missing
    catalog is created), then set its ``Plural-Forms`` to :data:`PLURAL_FORMS`."""
    from babel.messages.pofile import read_po, write_po

    for pkg in packages(root):
        for lang in TARGET_LANGS:
            _pybabel("update", "-i", str(pkg.pot), "-d", str(pkg.locale_dir), "-D", CATALOG,
                     "-l", lang, "--init-missing", "--ignore-obsolete", "-w", "100",
                     "--ignore-pot-creation-date")
            po = pkg.po(lang)
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            nplurals, expr = PLURAL_FORMS[lang]
            if (catalog.num_plurals, catalog.plural_expr) != (nplurals, expr):
                catalog._num_plurals = nplurals  # type: ignore[assignment]
                catalog._plural_expr = expr  # type: ignore[assignment]
                buf = io.BytesIO()
                write_po(buf, catalog, width=100, ignore_obsolete=True)
                po.write_bytes(buf.getvalue())


def compile_all(root: Path = PACKAGE_ROOT) -> list[Path]:
    """Compile every catalog into ``messages.mo`` next to its ``.po`` (fuzzy entries left out,
    as ``pybabel compile`` does); return the files written.

    Babel's API is called directly rather than ``pybabel compile``, whose python-format checker
    mistakes a literal percent in a ``str.format`` message ("95% interval": ``% i``) for a
    placeholder and fails the run; :func:`problems` checks the real placeholders instead.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for pkg in packages(root):
        for lang in TARGET_LANGS:
            po = pkg.po(lang)
            if not po.exists():
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            written.append(mo)
    return written


def placeholders(text: str, template_style: bool) -> list[str]:
    """The placeholders of a message: ``str.format`` fields ({n}, {value!r}) in Python
    messages, ``%(name)s`` / ``%d`` in template messages (``%%`` is a literal)."""
    if template_style:
        return sorted(m.group(1) or m.group(0) for m in _PERCENT.finditer(text)
                      if m.group(0) != "%%")
    return sorted(f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None)


class _AnyValue(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> int:
        return 0


def _percent_formats(text: str) -> bool:
    """True when Jinja's newstyle gettext can fill ``text`` (``text % variables``)."""
    try:
        text % _AnyValue()  # noqa: B018
    except (TypeError, ValueError, KeyError):
        return False
    return True


def problems(root: Path = PACKAGE_ROOT) -> list[str]:
    """Return every problem of the catalogs against the sources (empty: all translated).

    Each extracted message must have, in each target language's catalog of its package, a
    non-empty, non-fuzzy translation (every plural form) with the same placeholders (and, for a
    template's message, one Jinja can %-format: a literal percent is ``%%``); the same
    message (and context) in two packages must be translated alike (catalogs are merged at
    run time, so one would silently win).
    """
    from babel.messages.pofile import read_po

    out: list[str] = []
    seen: dict[tuple[str, str, object], tuple[str, object]] = {}
    for pkg in packages(root):
        template = build_template(pkg, root)
        for lang in TARGET_LANGS:
            po = pkg.po(lang)
            if not po.exists():
                out.append(f"{pkg.name}: no {lang} catalog {po}")
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            for msg in template:
                if not msg.id:
                    continue
                where = f"{pkg.name}/{lang} {msg.locations[0][0]}: {msg.id!r}"
                tr = catalog.get(msg.id, context=msg.context)
                strs = (tr.string if isinstance(tr.string, tuple | list) else (tr.string,)) \
                    if tr is not None else ()
                if tr is None or not all(strs):
                    out.append(f"{where} has no translation")
                    continue
                if tr.fuzzy:
                    out.append(f"{where} is fuzzy (review the translation)")
                    continue
                ids = msg.id if isinstance(msg.id, tuple | list) else (msg.id,)
                style = any(loc.endswith((".html", ".j2")) for loc, _ in msg.locations)
                want = placeholders(ids[-1], style)
                for s in (str(x) for x in strs):
                    if placeholders(s, style) != want:
                        out.append(f"{where} placeholders {want} but {s!r}")
                    elif style and not _percent_formats(s):
                        out.append(f"{where}: {s!r} is not a valid %-format (write % as %%)")
                key = (lang, msg.context or "", msg.id if isinstance(msg.id, str) else tuple(msg.id))
                if key in seen and seen[key][1] != tr.string:
                    out.append(f"{where} translated {tr.string!r} here but {seen[key][1]!r} in "
                               f"{seen[key][0]}")
                seen.setdefault(key, (pkg.name, tr.string))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run ``extract``, ``update``, ``compile``, ``check`` or ``all`` (the first four in order)."""
    args = sys.argv[1:] if argv is None else argv
    cmd = args[0] if args else "all"
    if cmd not in ("extract", "update", "compile", "check", "all"):
        print(f"usage: python -m growthops.core.i18n_tools extract|update|compile|check|all "
              f"(got {cmd!r})", file=sys.stderr)
        return 2
    if cmd in ("extract", "all"):
        for path in extract():
            print(f"extracted {path}")
    if cmd in ("update", "all"):
        update()
    if cmd in ("compile", "all"):
        for path in compile_all():
            print(f"compiled {path}")
    if cmd in ("check", "all"):
        found = problems()
        for p in found:
            print(p, file=sys.stderr)
        if found:
            print(f"{len(found)} problem(s) in the catalogs", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
