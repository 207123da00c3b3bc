"""JSON built by PostgreSQL in the shape pydantic would have given (hot read routes).

A list route that reads rows, decodes their ``jsonb`` columns into Python objects, validates
them with pydantic and encodes them to JSON again spends most of its time on that round trip
through Python objects (issue 16, docs/performance.md §5–§7). :func:`model_json_sql` writes the
``json_build_object(...)`` expression that builds, in the query itself, the JSON object a
pydantic model's ``model_dump_json()`` would give for a row: same keys in the model's field
order, the fields the row lacks at their defaults, timestamps formatted as pydantic formats
them (:func:`ts_json`). The route fetches it as text and sends it as the body.

What differs from pydantic's bytes: insignificant whitespace (PostgreSQL writes ``"a" : 1``
and separates array items with ``", "``) and the key order inside ``jsonb`` values (sorted by
PostgreSQL, as they were already in pydantic's output of the decoded value). Parsed, the two
documents are equal; ``tests/test_api.py`` checks it against FastAPI's own encoding.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

#: PostgreSQL's limit on a function's arguments (FUNC_MAX_ARGS): json_build_object takes a key
#: and a value per field, so a model passed to :func:`model_json_sql` has at most 50 fields.
MAX_FIELDS = 50
_SCALARS = (str, int, bool, type(None), dict, list, Any, date)


def ts_json(expr: str) -> str:
    """SQL text formatting the ``timestamptz`` ``expr`` as pydantic does (JSON string content).

    pydantic (v2, speedate) writes ``YYYY-MM-DDTHH:MM:SS``, then ``.ffffff`` only when the
    microseconds are not zero, then ``Z`` for a zero offset or ``±HH:MM``; the offset is the
    session's ``TimeZone``, the zone psycopg gives the decoded ``datetime``. NULL stays NULL.
    """
    return (f"replace(replace(to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), "
            "'.000000', ''), '+00:00', 'Z')")


def _kind(annotation: Any) -> str:
    """``datetime`` for a datetime field (optional or not), ``plain`` for what to_json writes
    as pydantic does, TypeError for anything else (floats: NaN; Decimal: a string in pydantic)."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    if datetime in args:
        return "datetime"
    for a in args:
        base = typing.get_origin(a) or a
        if base not in _SCALARS:
            raise TypeError(f"model_json_sql: unsupported field type {annotation!r}")
    return "plain"


def model_json_sql(model: type[BaseModel], columns: Collection[str], alias: str,
                   *, exprs: Mapping[str, str] | None = None) -> str:
    """Return ``json_build_object(...)`` (SQL text) giving ``model``'s JSON for a row ``alias``.

    ``columns``: the fields read from ``alias.<field>`` (same name); ``exprs``: fields given by
    an SQL expression instead; every other field of ``model`` is written as its default
    (a field without one raises ValueError). Supported field types: str, int, bool, date,
    datetime (:func:`ts_json`), dict / list / Any (a ``json``/``jsonb`` column, embedded as is)
    and their optional forms; others raise TypeError. Columns must hold what the field
    declares (smallint for int, text for str...): nothing is validated at run time, so the
    route's test compares the result with pydantic's on real rows. The text is meant for a
    query with parameters: a ``%`` in a default is doubled.
    """
    fields = model.model_fields
    if len(fields) > MAX_FIELDS:
        raise ValueError(f"model_json_sql: {len(fields)} fields, at most {MAX_FIELDS}")
    exprs = dict(exprs or {})
    parts = []
    for name, field in fields.items():
        kind = _kind(field.annotation)  # TypeError for a type this cannot write
        key = f"'{name}'"
        if name in exprs:
            value = exprs[name]
        elif name in columns:
            value = f"{alias}.{name}"
            if kind == "datetime":
                value = ts_json(value)
        elif not field.is_required():
            literal = json.dumps(field.get_default(call_default_factory=True))
            value = "'" + literal.replace("'", "''").replace("%", "%%") + "'::json"
        else:
            raise ValueError(f"model_json_sql: no column nor default for {name!r}")
        parts.append(f"{key}, {value}")
    return "json_build_object(" + ", ".join(parts) + ")"
