"""JSON built by PostgreSQL in the shape pydantic would have given (hot read routes).

A list route that reads rows, decodes their ``jsonb`` columns into Python objects, validates
them with pydantic and encodes them to JSON again spends most of its time on that round trip
through Python objects (issue 16, docs/performance.md §5–§7). :func:`model_select_sql` writes
the select list of a row that PostgreSQL turns (``json_agg``, ``row_to_json``) into the JSON
object a pydantic model's ``model_dump_json()`` would give: same keys in the model's field
order, the fields the row lacks at their defaults, timestamps formatted as pydantic formats
them (:func:`ts_json`). The route fetches the JSON as text and sends it as the body.

What differs from pydantic's bytes: insignificant whitespace (PostgreSQL separates array
items with ``,`` and a newline and writes ``jsonb`` values as ``{"a": 1}``) and the key order
inside ``jsonb`` values (sorted by PostgreSQL, as they were already in pydantic's output of
the decoded value). Parsed, the two documents are equal; ``tests/test_api.py`` checks it
against FastAPI's own encoding.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

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
            raise TypeError(f"model_select_sql: unsupported field type {annotation!r}")
    return "plain"


def model_select_sql(model: type[BaseModel], columns: Collection[str], alias: str,
                     *, exprs: Mapping[str, str] | None = None) -> str:
    """Return an SQL select list whose row, passed to ``json_agg`` or ``row_to_json``, is
    ``model``'s JSON for a row ``alias``: one column per field, named as it, in the model's order.

    ``columns``: the fields read from ``alias.<field>`` (same name); ``exprs``: fields given by
    an SQL expression instead; every other field of ``model`` is written as its default
    (a field without one raises ValueError). Supported field types: str, int, bool, date,
    datetime (:func:`ts_json`), dict / list / Any (a ``json``/``jsonb`` column, embedded as is)
    and their optional forms; others raise TypeError. Columns must hold what the field
    declares (smallint for int, text for str...): nothing is validated at run time, so the
    route's test compares the result with pydantic's on real rows. The text is meant for a
    query with parameters: a ``%`` in a default is doubled.

    Why a row and not ``json_build_object``: PostgreSQL turns a row into JSON about a quarter
    faster (measured on 50 suggestions: 0.73 against 0.94 ms), and writes it without spaces.
    """
    exprs = dict(exprs or {})
    parts = []
    for name, field in model.model_fields.items():
        kind = _kind(field.annotation)  # TypeError for a type this cannot write
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
            raise ValueError(f"model_select_sql: no column nor default for {name!r}")
        parts.append(f'{value} as "{name}"')
    return ", ".join(parts)
