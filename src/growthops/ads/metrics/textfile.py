"""Reading an import file's text: its encoding, its delimiter, the preamble above its header."""

from __future__ import annotations

import csv
from pathlib import Path

from growthops.ads.metrics.formats import header_index
from growthops.core.errors import InvalidInput


def _decode(data: bytes, path: Path) -> str:
    """Decode UTF-8 (BOM or not), or UTF-16 with a BOM (Google Ads' "Excel CSV" download)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{path.name}: not UTF-16 text as its BOM says (byte {exc.start})"
            ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path.name}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8"
        ) from exc


def _delimiter(first_line: str) -> str:
    """Return the header's delimiter: a tab if it has one (UTF-16 "Excel CSV" downloads), ';'
    if it uses ';' and no ',' (spreadsheets of comma-decimal locales), else ','."""
    if "\t" in first_line:
        return "\t"
    return ";" if ";" in first_line and "," not in first_line else ","


def _preamble(text: str, fmt: str) -> int:
    """Return how many lines precede the header (report name and dates above it; see
    :func:`growthops.ads.metrics.formats.header_index`)."""
    lines = text.split("\n", 12)[:12]
    rows = [next(csv.reader([ln.rstrip("\r")], delimiter=_delimiter(ln)), []) for ln in lines]
    return header_index(fmt, rows)
