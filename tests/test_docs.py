"""The documentation names only code, tables and files that exist.

``docs/seed-mapping.md`` says it "is checked against the code": this is the check, applied to the
pages listed in :data:`DOCUMENTS`. Every inline code span (`` `...` ``) outside fenced blocks is
read as one *token*, and every ``from growthops... import ...`` line inside a fenced block too.
A token is classified by the first rule that applies:

1. **Not checked**: tokens in :data:`NOT_CODE` (they look like code but are not, such as a
   PostgreSQL setting); tokens with a placeholder (``<name>``, ``{id}``), a wildcard (``*``)
   outside a path, or white space; routes, absolute and home paths, URLs (leading ``/``, ``~``);
   bare file names without a ``/`` (``service.py``: relative to their sentence), except
   migrations.
   In a table whose first header cell is ``seed``, ``seed object`` or ``before``, the first
   column names things outside this code (the seeds' objects, the paths before issue 7) and is
   not checked; the other columns are.
2. **Migration**: ``NNNN_name`` or ``NNNN_name.sql`` is a file of ``src/growthops/migrations/``.
3. **Path** (contains ``/``): a path starting with ``src/``, ``tests/``, ``bench/``, ``docs/``,
   ``examples/`` or ``.ci/`` exists from the repository root (a glob matches at least one file);
   a path whose first part is the name of a directory under ``src/growthops/`` or of a former
   top-level package (``ads/action/execution.py``, ``web/templates/``, ``api/deps.py``) is
   package-relative and must be the end of an existing path under ``src/growthops/``; any other
   token with a ``/`` (``DD/MM/YYYY``, ``reports/``) is not a path of this repository.
4. **Entry point** ``growthops.pkg.module:attribute``: the module imports and has the attribute.
5. **Dotted name** ``a.b[.c...]`` (a trailing call ``(...)`` is dropped), **database first**:

   a. ``a`` is a database schema (``core``, ``ads``, ``public``...): ``a.b`` is a table, view or
      function of that schema, or ``a.b.c`` is a column of table ``a.b``. Otherwise it must
      resolve as Python ``growthops.a.b...`` (below); if it does not, it fails. **A token that
      is both a table and a module is the table**: ``ads.suggestions`` is the table, and the
      package is written ``ads.suggestions.generate...`` or ``ads/suggestions/``. Hence a stale
      module path that starts with a table name (``ads.decisions.decide``) still fails, because
      ``decide`` is no column of ``ads.decisions`` and ``growthops.ads.decisions`` is no module.
   b. ``a`` is ``growthops`` or a top-level name of the package, now or before issue 7
      (``core``, ``ads``, ``web``, ``connectors``, ``cli``, ``app``, ``worker``, ``demo``,
      ``domains``, ``settings``; the former ``api`` and ``dashboard``): it must resolve as
      ``growthops.<token>``, importing progressively (the longest importable module, then
      attributes; dataclass and pydantic fields and attributes set in ``__init__`` count).
   c. ``a`` is a conventional variable name of :data:`VARIABLES` (``db.tenant_tx``: ``db`` is a
      :class:`~growthops.core.db.Database`): the rest must be an attribute of that class.
   d. ``a.b`` where ``a`` is a table of any schema and ``b`` one of its columns
      (``platform_configs.auto_apply_recommendations``): a column.
   e. ``a`` is the last name of one or more growthops modules (``execution.reconcile``,
      ``hypotheses.measure_due``): a relative reference that must resolve in one of them.
   f. ``a`` is a class defined in growthops (``TenantContext.result_sql``): the rest must be an
      attribute or field of one such class.
   g. anything else (``numpy.random.default_rng``, ``pg_temp._entity``, ``params.x``) is not a
      reference into growthops and is not checked.

The database objects are read from a migrated database (the ``db`` fixture): ``pg_class`` for
tables and views, ``pg_attribute`` for columns, ``pg_proc`` for functions and procedures.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import growthops
from growthops.core.db import Database

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "growthops"

#: The pages checked. Add a page here once its references hold.
DOCUMENTS = ("README.md", "docs/architecture.md", "docs/execution.md", "docs/learning.md",
             "docs/sandbox.md", "docs/data-mapping.md", "docs/seed-mapping.md",
             "docs/scale-out.md", "docs/security.md", "docs/i18n.md", "docs/inbox.md",
             "docs/leads.md", "docs/performance.md", "docs/inbox-ai.md", "docs/outreach.md",
             "docs/inbox-posts.md", "docs/sync.md", "docs/settings.md", "docs/media-buyer.md",
             "docs/creative-tests.md",
             "docs/allocation.md",
             "docs/confidences.md",
             "docs/monitoring.md",
             "docs/slack.md",
             "docs/airtable.md")

#: Pages not checked yet: they come from other branches; add them to DOCUMENTS once they pass.
UNCHECKED = frozenset({
    "docs/dependencies.md",  # commands and package names only, no code reference
})

#: Tokens that look like code but are not, with the reason.
NOT_CODE = {
    "app.tenant_id": "the PostgreSQL setting that binds a transaction to a tenant",
}

#: Conventional variable names in the documentation, and their class.
VARIABLES = {"db": "growthops.core.db.Database"}

REPO_ROOTS = ("src", "tests", "bench", "docs", "examples", ".ci")
FORMER_TOP_LEVEL = ("api", "dashboard")  # packages that issue 7 dissolved
SKIP_FIRST_COLUMN = ("seed", "seed object", "before")
FILE_SUFFIXES = ("py", "sql", "md", "html", "csv", "json", "txt", "toml", "po", "env", "yaml",
                 "yml", "js", "css", "sh", "cfg", "ini", "example", "lock")

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = re.compile(r"`([^`]+)`")
_FROM_IMPORT = re.compile(r"^\s*from\s+(growthops[\w.]*)\s+import\s+\(?([\w\s,]+)\)?")
_IMPORT = re.compile(r"^\s*import\s+(growthops[\w.]*)")
_MIGRATION = re.compile(r"^\d{4}_[a-z0-9_]+(\.sql)?$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_CALL = re.compile(r"^([A-Za-z_][\w.]*)\(.*\)$")
_ENTRY = re.compile(r"^(growthops[\w.]*):([\w.]+)$")


# -- the database catalogue --------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """Tables and views (with their columns) and functions, per schema."""

    relations: dict[tuple[str, str], frozenset[str]]
    functions: frozenset[tuple[str, str]]

    @property
    def schemas(self) -> frozenset[str]:
        return frozenset(s for s, _ in self.relations) | frozenset(s for s, _ in self.functions)

    def tables_named(self, name: str) -> list[frozenset[str]]:
        return [cols for (_, rel), cols in self.relations.items() if rel == name]


_SYSTEM = "('pg_catalog', 'information_schema', 'pg_toast')"


def read_catalog(db: Database) -> Catalog:
    """Read the catalogue of a migrated database through the owner connection."""
    with db.admin() as conn:
        rels = conn.execute(
            f"""select n.nspname as schema, c.relname as name,
                       array_remove(array_agg(a.attname::text), null) as columns
                  from pg_class c
                  join pg_namespace n on n.oid = c.relnamespace
                  left join pg_attribute a
                    on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                 where c.relkind in ('r', 'v', 'm', 'p', 'f')
                   and n.nspname not in {_SYSTEM} and n.nspname not like 'pg_temp%%'
                 group by 1, 2""").fetchall()
        funcs = conn.execute(
            f"""select n.nspname as schema, p.proname as name
                  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname not in {_SYSTEM}""").fetchall()
    return Catalog(
        relations={(r["schema"], r["name"]): frozenset(r["columns"]) for r in rels},
        functions=frozenset((f["schema"], f["name"]) for f in funcs),
    )


# -- the Python package ------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageIndex:
    """Every growthops module by its last name, every class by its name, the top-level names."""

    by_last_name: dict[str, tuple[str, ...]]
    classes: dict[str, tuple[type, ...]]
    top_level: frozenset[str]


def _all_modules() -> Iterator[ModuleType]:
    """growthops and its modules, except ``__main__`` and those an optional extra lacks."""
    yield growthops
    for info in pkgutil.walk_packages(growthops.__path__, "growthops."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # e.g. google-ads not installed: references into it then fail
            continue


def build_index() -> PackageIndex:
    """Import every growthops module (except ``__main__``) and index it."""
    by_last: dict[str, list[str]] = {}
    classes: dict[str, list[type]] = {}
    top = set(FORMER_TOP_LEVEL)
    for mod in _all_modules():
        name = mod.__name__
        parts = name.split(".")
        if len(parts) == 2:
            top.add(parts[1])
        if len(parts) >= 2:
            by_last.setdefault(parts[-1], []).append(name)
        for attr, obj in vars(mod).items():
            if inspect.isclass(obj) and obj.__module__ == name and not attr.startswith("_"):
                classes.setdefault(attr, []).append(obj)
    return PackageIndex(
        by_last_name={k: tuple(v) for k, v in by_last.items()},
        classes={k: tuple(v) for k, v in classes.items()},
        top_level=frozenset(top),
    )


def _has_member(obj: Any, name: str) -> bool:
    """An attribute, or (on a class) a dataclass / pydantic field or an ``self.name =`` in it."""
    if hasattr(obj, name):
        return True
    if not inspect.isclass(obj):
        return False
    if dataclasses.is_dataclass(obj) and name in {f.name for f in dataclasses.fields(obj)}:
        return True
    if name in getattr(obj, "model_fields", {}):
        return True
    for klass in obj.__mro__:
        if name in getattr(klass, "__annotations__", {}):
            return True
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return re.search(rf"\bself\.{re.escape(name)}\s*[:=]", source) is not None


def resolve_python(dotted: str) -> str | None:
    """Resolve ``growthops.x.y.z`` by importing progressively; return an error or None."""
    parts = dotted.split(".")
    try:
        obj: Any = importlib.import_module(parts[0])
    except ImportError as exc:
        return f"cannot import {parts[0]} ({exc})"
    done = parts[0]
    for part in parts[1:]:
        if inspect.ismodule(obj) and hasattr(obj, "__path__"):
            try:
                obj = importlib.import_module(f"{done}.{part}")
                done = f"{done}.{part}"
                continue
            except ModuleNotFoundError as exc:
                if exc.name != f"{done}.{part}":
                    return f"importing {done}.{part} failed ({exc})"
        if not _has_member(obj, part):
            return f"{done} has no {part!r}"
        obj = getattr(obj, part, None)
        done = f"{done}.{part}"
    return None


def _resolve_on(obj: Any, attrs: list[str]) -> bool:
    for part in attrs:
        if not _has_member(obj, part):
            return False
        obj = getattr(obj, part, None)
    return True


# -- reading the documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """One token found in a document."""

    doc: str
    line: int
    token: str


def _cells(row: str) -> list[str]:
    """Split a Markdown table row on ``|`` outside code spans and not escaped."""
    cells, cur, in_code, i = [], [], False, 0
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur))
    return cells


def _spans(chunk: str, doc: str, first_line: int) -> Iterator[Ref]:
    """The code spans of a chunk of Markdown (a paragraph may carry a span over a line break)."""
    for m in _INLINE.finditer(chunk):
        token = " ".join(m.group(1).split())
        yield Ref(doc, first_line + chunk.count("\n", 0, m.start()), token)


def references(text: str, doc: str = "<text>") -> Iterator[Ref]:
    """Yield every token of a Markdown text (see the module docstring for what is read)."""
    in_fence = False
    header: list[str] | None = None
    para: list[str] = []
    para_start = 0
    lines = text.splitlines()
    for no, line in enumerate([*lines, ""], 1):
        is_table = line.lstrip().startswith("|")
        fence = _FENCE.match(line) is not None
        if para and (in_fence or fence or is_table or not line.strip()):
            yield from _spans("\n".join(para), doc, para_start)
            para = []
        if fence:
            in_fence = not in_fence
            continue
        if in_fence:
            m = _FROM_IMPORT.match(line)
            if m:
                for name in m.group(2).split(","):
                    if name.strip():
                        yield Ref(doc, no, f"{m.group(1)}.{name.strip()}")
            m = _IMPORT.match(line)
            if m:
                yield Ref(doc, no, m.group(1))
            continue
        if is_table:
            cells = _cells(line)
            if header is None:
                header = cells
                continue
            if all(set(c.strip()) <= set("-: ") for c in cells):
                continue
            if header[0].strip().lower() in SKIP_FIRST_COLUMN:
                cells = cells[1:]
            for cell in cells:
                yield from _spans(cell, doc, no)
            continue
        header = None
        if line.strip():
            if not para:
                para_start = no
            para.append(line)


# -- checking one token ------------------------------------------------------------------------


@cache
def _package_dirs() -> frozenset[str]:
    return frozenset(p.name for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__")


def _check_path(token: str) -> str | None:
    """None when the path exists, ``"skip"`` when it is no path of this repository, else why."""
    first = token.split("/", 1)[0]
    if first in REPO_ROOTS:
        if any(ch in token for ch in "*?["):
            return None if any(ROOT.glob(token)) else "no file matches"
        return None if (ROOT / token).exists() else "no such file or directory"
    if first not in _package_dirs() and first not in FORMER_TOP_LEVEL:
        return "skip"
    rel = token.rstrip("/")
    want_dir = token.endswith("/")
    for path in PACKAGE.rglob("*"):
        if "__pycache__" in path.parts or (want_dir and not path.is_dir()):
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        if any(ch in rel for ch in "*?["):
            if Path(relative).match(rel):
                return None
        elif relative == rel or relative.endswith("/" + rel):
            return None
    return "no such path under src/growthops/"


def check_token(token: str, catalog: Catalog, index: PackageIndex) -> tuple[str, str | None]:
    """Classify a token and check it: ``(kind, error or None)``; kind ``skip`` is unchecked."""
    if token in NOT_CODE or token.startswith(("/", "~")) or "://" in token:
        return "skip", None
    m = _CALL.match(token)
    if m:
        token = m.group(1)
    if any(ch in token for ch in "<>{}\"'") or re.search(r"\s", token):
        return "skip", None
    if _MIGRATION.match(token):
        name = token if token.endswith(".sql") else f"{token}.sql"
        ok = (PACKAGE / "migrations" / name).exists()
        return "migration", None if ok else "no such migration"
    if "/" in token:
        err = _check_path(token)
        return ("skip", None) if err == "skip" else ("path", err)
    m = _ENTRY.match(token)
    if m:
        err = resolve_python(m.group(1)) or resolve_python(f"{m.group(1)}.{m.group(2)}")
        return "python", err
    if not _DOTTED.match(token) or "*" in token:
        return "skip", None
    parts = token.split(".")
    if parts[-1] in FILE_SUFFIXES:
        return "skip", None
    head = parts[0]
    if head in catalog.schemas:
        cols = catalog.relations.get((head, parts[1]))
        if len(parts) == 2 and (cols is not None or (head, parts[1]) in catalog.functions):
            return "db", None
        if len(parts) == 3 and cols is not None and parts[2] in cols:
            return "db", None
        if head in index.top_level:
            err = resolve_python(f"growthops.{token}")
            if err is None:
                return "python", None
            return "db", f"not a table, view, function or column of schema {head}, and {err}"
        return "db", f"not a table, view, function or column of schema {head}"
    if head == "growthops":
        return "python", resolve_python(token)
    if head in index.top_level:
        return "python", resolve_python(f"growthops.{token}")
    if head in VARIABLES:
        return "python", resolve_python(".".join([VARIABLES[head], *parts[1:]]))
    if len(parts) == 2 and any(parts[1] in cols for cols in catalog.tables_named(head)):
        return "db", None
    if head in index.by_last_name:
        modules = index.by_last_name[head]
        if any(resolve_python(".".join([mod, *parts[1:]])) is None for mod in modules):
            return "python", None
        return "python", f"none of {', '.join(modules)} has {'.'.join(parts[1:])!r}"
    if head in index.classes:
        if any(_resolve_on(cls, parts[1:]) for cls in index.classes[head]):
            return "python", None
        return "python", f"class {head} has no {'.'.join(parts[1:])!r}"
    return "skip", None


def check_text(text: str, catalog: Catalog, index: PackageIndex,
               doc: str = "<text>") -> tuple[list[str], dict[str, int]]:
    """Check every token of a text: (errors as ``doc:line: `token`: why``, counts per kind)."""
    errors: list[str] = []
    counts: dict[str, int] = {}
    for ref in references(text, doc):
        kind, err = check_token(ref.token, catalog, index)
        counts[kind] = counts.get(kind, 0) + 1
        if err:
            errors.append(f"{ref.doc}:{ref.line}: `{ref.token}`: {err}")
    return errors, counts


# -- tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> PackageIndex:
    return build_index()


@pytest.fixture(scope="module")
def catalog(db: Database) -> Catalog:
    return read_catalog(db)


def _fake_catalog() -> Catalog:
    return Catalog(
        relations={("ads", "suggestions"): frozenset({"suggestion_id", "status", "auto_applied"}),
                   ("ads", "decisions"): frozenset({"decision_id", "suggestion_id"}),
                   ("core", "tenants"): frozenset({"tenant_id", "client_key", "roi_target"})},
        functions=frozenset({("core", "tenant_directory")}),
    )


def test_the_checker_rejects_made_up_references(index: PackageIndex) -> None:
    text = """
Good: `ads.action.decisions.decide`, `growthops.core.db.Database.tenant_tx`, `ads.suggestions`,
`core.tenants.roi_target`, `core.tenant_directory()`, `src/growthops/ads/cycle.py`,
`ads/action/`, `reconcile.reconcile`, `suggestions.auto_applied`, `0001_core.sql`,
`growthops.ads.api:routers`, `TenantContext.result_sql`, `numpy.random.default_rng`,
`tests/<name>/`, `/api/v1/tenants/{tenant}`, `app.tenant_id`.
Bad: `ads.decisions.decide`, `ads.no_such_table`, `core.no_such_function()`,
`core.tenants.no_such_column`, `growthops.ads.nope`, `web.pages.no_such_thing`,
`api.reads.list_entities`, `dashboard.views`, `src/growthops/nope.py`, `ads/execution.py`,
`0099_nothing.sql`, `execution.no_such_function`, `TenantContext.no_such_field`,
`growthops.ads.api:nothing`.
A span over a line break, `UPDATE ... WHERE
status = 'approved'`, does not shift the next one: `ads.no_such_view`.

| seed object | growthops |
|---|---|
| `ads.compute_baselines(tenant_id)` | `ads.analysis.baselines.compute_baselines`, `ads.compute_nothing` |

```python
from growthops.ads.action.execution import execute_suggestion, not_there
```
"""
    errors, counts = check_text(text, _fake_catalog(), index, "docs")
    bad = {e.split("`")[1] for e in errors}
    assert bad == {
        "ads.decisions.decide", "ads.no_such_table", "core.no_such_function()",
        "core.tenants.no_such_column", "growthops.ads.nope", "web.pages.no_such_thing",
        "api.reads.list_entities", "dashboard.views", "src/growthops/nope.py",
        "ads/execution.py", "0099_nothing.sql", "execution.no_such_function",
        "TenantContext.no_such_field", "growthops.ads.api:nothing", "ads.compute_nothing",
        "growthops.ads.action.execution.not_there", "ads.no_such_view",
    }, errors
    assert [e.split(":")[1] for e in errors if "no_such_view" in e] == ["13"]
    assert counts["skip"] == 5  # numpy..., tests/<name>/, the route, app.tenant_id, UPDATE...


def test_a_table_that_is_also_a_module_is_the_table(index: PackageIndex) -> None:
    catalog = _fake_catalog()
    assert check_token("ads.suggestions", catalog, index) == ("db", None)
    assert check_token("ads.suggestions.status", catalog, index) == ("db", None)
    kind, err = check_token("ads.suggestions.store", catalog, index)
    assert kind == "db" and err is not None and "has no 'store'" in err
    assert check_token("ads.suggestions.generate.store", catalog, index) == ("python", None)


def test_table_cells_with_code_spans_keep_their_pipes() -> None:
    row = "| `camp1|High|abc` | x \\| y | `a` |"
    assert _cells(row) == [" `camp1|High|abc` ", " x | y ", " `a` "]


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_reference_in_the_documentation_exists(
        doc: str, catalog: Catalog, index: PackageIndex) -> None:
    errors, counts = check_text((ROOT / doc).read_text(encoding="utf-8"), catalog, index, doc)
    assert not errors, "\n".join(errors)
    assert sum(n for kind, n in counts.items() if kind != "skip") > 0, counts


def test_seed_mapping_is_checked_in_depth(catalog: Catalog, index: PackageIndex) -> None:
    _, counts = check_text((ROOT / "docs/seed-mapping.md").read_text(encoding="utf-8"),
                           catalog, index)
    assert counts.get("db", 0) >= 60 and counts.get("python", 0) >= 100, repr(counts)


def test_every_document_is_listed() -> None:
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    unlisted = pages - set(DOCUMENTS) - UNCHECKED
    assert not unlisted, f"add {sorted(unlisted)} to DOCUMENTS (or UNCHECKED, with a reason)"

