"""Cut a document's text into overlapping passages on sentence boundaries, offsets kept.

Sentences: a sentence ends at ``.``, ``!``, ``?`` or ``…`` (with closing quotes or brackets)
followed by white space, or at a line break (headings, list items, table rows are their own
units). Abbreviations such as ``e.g.`` or ``M.`` followed by a lower-case word do not end a
sentence (the next word must not start in lower case).

Chunks: consecutive sentences are packed up to :data:`MAX_CHARS` characters; the next chunk
starts with the last sentences of the previous one covering at least :data:`OVERLAP_CHARS`
characters (so an answer straddling a boundary is whole in one chunk). A sentence longer than
``MAX_CHARS`` is cut at word boundaries. Sizes: all-MiniLM-L6-v2 truncates its input at 256
word pieces (sentence-transformers' ``max_seq_length``), about 1,000 characters of English;
600 characters (~120 words) stays under it with room, and matches the passage sizes the dense
retrieval literature found effective (100-word passages: Karpukhin et al., "Dense Passage
Retrieval", 2020). Overlap ~20 % of a chunk.

Offsets: ``content == text[start_char:end_char]`` for every chunk (checked by the tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 600
OVERLAP_CHARS = 120
_END = re.compile(r"""[.!?…]+["'»”’)\]]*\s+(?=[^\sa-zà-ÿ])|\n+""")


@dataclass(frozen=True)
class Chunk:
    """A passage: its index in the document, text, offsets ``[start_char, end_char)`` in the
    document's text, and its word count (``token_count``: white-space separated words)."""

    index: int
    content: str
    start_char: int
    end_char: int
    token_count: int


def sentences(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of the sentences of ``text`` (white space trimmed)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _END.finditer(text):
        _add(text, pos, m.start() + len(m.group(0).rstrip()), spans)
        pos = m.end()
    _add(text, pos, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return
    while end - start > MAX_CHARS:  # a very long sentence: cut at the last space before the limit
        cut = text.rfind(" ", start + 1, start + MAX_CHARS)
        cut = cut if cut > start else start + MAX_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))


def chunk(text: str, *, max_chars: int = MAX_CHARS, overlap_chars: int = OVERLAP_CHARS) -> list[Chunk]:
    """Return the chunks of ``text`` (see the module's rules); an empty text has none."""
    spans = sentences(text)
    out: list[Chunk] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= max_chars:
            j += 1
        start, end = spans[i][0], spans[j][1]
        body = text[start:end]
        out.append(Chunk(len(out), body, start, end, len(body.split())))
        if j + 1 >= len(spans):
            break
        # the next chunk starts with the trailing sentences covering overlap_chars (not all of them)
        k = j
        while k > i and end - spans[k][0] < overlap_chars:
            k -= 1
        i = k if k > i else j + 1
    return out
