"""Bounds on untrusted structured input (JSON bodies, Slack payloads): depth, text, numbers.

One walk, iterative (never recursive, so no input can raise ``RecursionError``), used by the
API's request models (:class:`growthops.web.models.StrictIn`) and the Slack payload parser. It
refuses:

* nesting deeper than ``max_depth`` containers (default :data:`MAX_DEPTH`);
* the NUL character U+0000 in any text or key (PostgreSQL ``text`` and ``jsonb`` cannot store
  it);
* lone UTF-16 surrogates U+D800-U+DFFF (``"\\ud800"`` in JSON decodes to one; UTF-8 cannot
  encode it, so it would fail when stored or sent);
* non-finite numbers (``NaN``, ``Infinity``: Python's ``json`` accepts them, JSON (RFC 8259 §6)
  does not, and a response cannot carry them).

:func:`excerpt` gives a bounded, JSON-safe description of a value for error messages, so an
error never echoes more than :data:`EXCERPT_CHARS` characters of the input.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deepest nesting of objects/arrays accepted in a request body. The API's models nest 3 levels
#: at most; free-form fields (a validation item's ``content``) get the rest.
MAX_DEPTH = 32
#: Longest excerpt of an input an error message quotes.
EXCERPT_CHARS = 80
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Return what is wrong with one text (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return "text must not contain the NUL character (U+0000)"
    if _SURROGATE.search(text):
        return "text must not contain a lone surrogate (U+D800-U+DFFF): not valid Unicode"
    return None


def find_problem(value: Any, *, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """Return ``(path, reason)`` of the first fault in ``value``, or None when it is clean.

    ``path`` is dotted (``content.a.0``; ``""`` for the value itself). Walks dicts, lists and
    tuples iteratively; see the module docstring for what is refused.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return path, problem
        elif isinstance(node, float):
            if not math.isfinite(node):
                return path, "numbers must be finite (NaN and Infinity are not JSON)"
        elif isinstance(node, dict | list | tuple):
            if depth >= max_depth:
                return path, f"nested deeper than {max_depth} levels"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                sub = f"{path}.{k}" if path else str(k)
                if isinstance(k, str):
                    problem = text_problem(k)
                    if problem:
                        return excerpt(sub), f"key: {problem}"
                stack.append((v, sub, depth + 1))
    return None


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON and apply :func:`find_problem`; raise ``ValueError`` naming the fault.

    Nesting deep enough to exhaust the parser's recursion (``RecursionError``) is reported as
    too deep, like any nesting past ``max_depth``.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    fault = find_problem(value, max_depth=max_depth)
    if fault is not None:
        path, reason = fault
        raise ValueError(f"{path}: {reason}" if path else reason)
    return value


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short, JSON-safe description of ``value``: text cut to ``limit`` characters, containers
    summarised by size (never walked), surrogates and control characters escaped."""
    if isinstance(value, dict):
        return f"<object with {len(value)} keys>"
    if isinstance(value, list | tuple):
        return f"<array of {len(value)} items>"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return json.dumps(text, ensure_ascii=False)[1:-1]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
