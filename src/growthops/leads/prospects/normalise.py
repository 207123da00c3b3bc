"""Normalisation of the de-duplication keys of a prospect: website domain, e-mail, name.

* :func:`domain_of`: the host of a website address, lower-case, IDNA (punycode), without a
  leading ``www.``; ``None`` for an empty value; :class:`ValueError` when it is not a host name
  with a dot (RFC 1035 §2.3.1 labels of 1–63 letters, digits, hyphens).
* :func:`email_of`: the address lower-cased as a whole (the local part is case-sensitive in
  theory, RFC 5321 §2.4, but no mailbox provider treats it so; lower-casing avoids duplicates).
* :func:`name_norm`: accents removed (NFKD), lower-case, punctuation to spaces, legal-form
  suffixes dropped (inc, llc, ltd, ltée, sarl, sas, sa, gmbh, corp, co, enr, limited), spaces
  collapsed: the key compared with ``pg_trgm`` similarity.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@([^@\s<>(),;:\"\[\]]{1,253})$")
LEGAL_SUFFIXES = frozenset({"inc", "llc", "ltd", "ltee", "sarl", "sas", "sa", "gmbh", "corp",
                            "co", "enr", "limited", "incorporated", "corporation", "srl", "bv"})


def domain_of(website: str | None) -> str | None:
    """Return the normalised host of ``website`` (``https://www.Café.fr/x`` → ``xn--caf-dma.fr``)."""
    raw = (website or "").strip()
    if not raw:
        return None
    if "://" not in raw:
        raw = "http://" + raw
    try:
        host = urlsplit(raw).hostname or ""
    except ValueError as exc:
        raise ValueError("not a website address") from exc
    host = host.rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("not a website address") from exc
    labels = host.split(".")
    if len(labels) < 2 or len(host) > 253 or not all(_LABEL.match(lb) for lb in labels) \
            or labels[-1].isdigit():
        raise ValueError("not a website address")
    return host


def email_of(email: str | None) -> str | None:
    """Return ``email`` lower-cased and checked; ``None`` when empty; ValueError when invalid."""
    raw = (email or "").strip()
    if not raw:
        return None
    m = _EMAIL.match(raw)
    if not m or len(raw) > 254:
        raise ValueError("not an e-mail address")
    domain_of(m.group(1))  # the domain part must be a host name
    return raw.lower()


def name_norm(name: str) -> str:
    """Return the comparison key of a business name (see the module docstring)."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    words = re.sub(r"[^\w]+", " ", text).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)
