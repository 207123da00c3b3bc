"""Plain text out of an uploaded knowledge-base document (txt, md, html, pdf).

* ``txt``: UTF-8 (a BOM is dropped; bytes that are not UTF-8 are an error naming the file).
* ``md``: rendered by ``markdown-it-py`` (CommonMark; MIT) to HTML, then as ``html``: the
  text keeps the headings and list items as their own lines, markup is gone.
* ``html``: the standard library's :class:`html.parser.HTMLParser`; ``script``, ``style``,
  ``template``, ``noscript`` and ``head`` are dropped, block elements end a line. Documents are
  untrusted: nothing is executed or fetched.
* ``pdf``: ``pypdf`` (BSD-3-Clause, pure Python, maintained by the py-pdf organisation), text
  of every page, pages separated by a blank line. An encrypted or image-only PDF is an error
  (no text layer: OCR is out of scope).

Every failure raises :class:`ExtractError` with a reason a person can act on; the ingestion job
stores it as the document's ``status_reason``.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

KINDS = ("txt", "md", "html", "pdf")
#: Largest upload accepted (bytes): 10 MiB.
MAX_BYTES = 10 * 1024 * 1024
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
          "section", "article", "blockquote", "pre", "dt", "dd", "hr", "header", "footer"}
_SKIP = {"script", "style", "template", "noscript", "head", "svg"}


class ExtractError(ValueError):
    """The document cannot be turned into text (the message says why)."""


def kind_of(filename: str) -> str:
    """Return the kind of ``filename`` from its extension (``.htm`` is html, ``.markdown`` md).

    Raises :class:`ExtractError` for another extension.
    """
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ext = {"htm": "html", "markdown": "md", "text": "txt"}.get(ext, ext)
    if ext not in KINDS:
        raise ExtractError(f"file {filename!r}: unsupported type {ext or '(none)'!r} "
                           f"(supported: {', '.join(KINDS)})")
    return ext


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """Return the visible text of ``html``: one line per block, runs of spaces collapsed."""
    p = _Text()
    p.feed(html)
    p.close()
    return normalise("".join(p.parts))


def normalise(text: str) -> str:
    """Collapse spaces inside lines, keep at most one blank line, strip the ends."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in text.replace("\r\n", "\n")
             .replace("\r", "\n").split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def extract(data: bytes, kind: str, *, name: str = "document") -> str:
    """Return the plain text of ``data`` (a document of ``kind``).

    Raises :class:`ExtractError` (empty, too large, not UTF-8, unreadable or text-less PDF).
    """
    if kind not in KINDS:
        raise ExtractError(f"{name}: unsupported type {kind!r} (supported: {', '.join(KINDS)})")
    if len(data) > MAX_BYTES:
        raise ExtractError(f"{name}: {len(data)} bytes is over the limit of {MAX_BYTES}")
    if not data:
        raise ExtractError(f"{name}: the file is empty")
    if kind == "pdf":
        text = _pdf(data, name)
    else:
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExtractError(f"{name}: not UTF-8 text (byte {exc.start})") from None
        if kind == "md":
            from markdown_it import MarkdownIt

            text = html_text(MarkdownIt("commonmark").render(raw))
        elif kind == "html":
            text = html_text(raw)
        else:
            text = normalise(raw)
    if not text.strip():
        raise ExtractError(f"{name}: no text found")
    return text


def _pdf(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractError(f"{name}: the PDF is encrypted")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except ExtractError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractError(f"{name}: unreadable PDF ({type(exc).__name__}: {exc})") from None
    text = normalise("\n\n".join(pages))
    if not text:
        raise ExtractError(f"{name}: the PDF has no text layer (scanned images are not read)")
    return text
