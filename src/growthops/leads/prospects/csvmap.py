"""Read a prospect CSV export: detect its source, map its columns, validate every row.

Sources (:data:`PRESETS`): ``pdl`` (People Data Labs person or company CSV export: field names
of the PDL schema, e.g. ``job_company_name``, ``work_email``, ``job_company_size``), ``apollo``
(Apollo.io "Export CSV": ``Company``, ``Email``, ``First Name``, ``# Employees``...),
``google_places`` (a Places API export: ``name``, ``website``, ``types``, ``formatted_address``)
and ``plain`` (a sheet with our own field names). The source is the preset matching most
headers unless given; ``mapping`` overrides single fields (``{"industry": "Sector"}``).

Each row becomes a :class:`Row` or a list of :class:`Rejection` (line, column, reason). The file
line of a row is the physical line where its record starts (the header is line 1; a quoted
field spanning lines moves the following lines down).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from growthops.core.errors import InvalidInput
from growthops.leads.prospects.normalise import domain_of, email_of, name_norm

FIELDS = ("business_name", "website", "contact_email", "contact_name", "first_name",
          "last_name", "industry", "region", "language", "employees", "form_url", "phone",
          "linkedin")
MAX_LEN = {"business_name": 300, "contact_name": 200, "industry": 120, "region": 200,
           "form_url": 2000, "website": 2000, "phone": 40, "linkedin": 2000}
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "pdl": {"business_name": ("job_company_name", "name"),
            "website": ("job_company_website", "website"),
            "contact_email": ("work_email", "recommended_personal_email", "emails"),
            "contact_name": ("full_name",),
            "industry": ("job_company_industry", "industry"),
            "region": ("job_company_location_region", "location_region", "location_name"),
            "employees": ("job_company_size", "size", "employee_count"),
            "linkedin": ("job_company_linkedin_url", "linkedin_url")},
    "apollo": {"business_name": ("Company", "Company Name"), "website": ("Website",),
               "contact_email": ("Email",), "first_name": ("First Name",),
               "last_name": ("Last Name",), "industry": ("Industry",),
               "region": ("Company State", "State", "Company Country", "Country"),
               "employees": ("# Employees",), "phone": ("Company Phone", "Corporate Phone"),
               "linkedin": ("Company Linkedin Url",)},
    "google_places": {"business_name": ("name", "title"), "website": ("website",),
                      "industry": ("types", "category", "main_category"),
                      "region": ("formatted_address", "address"),
                      "phone": ("formatted_phone_number", "international_phone_number",
                                "phone")},
    "plain": {f: (f,) for f in FIELDS} | {"contact_email": ("contact_email", "email"),
                                          "business_name": ("business_name", "company")},
}
#: Regions whose prospects are written to in French when the file gives no language.
FRENCH_REGIONS = re.compile(r"qu[ée]bec|\bqc\b|montr[ée]al|france|paris|lyon|belgique|"
                            r"wallonie|gen[eè]ve|lausanne|\bfr\b", re.I)


class ImportFileError(InvalidInput, ValueError):
    """The file as a whole cannot be read (encoding, no header, no business-name column)."""


@dataclass
class Rejection:
    """A rejected row: file ``line`` (1-based, header = 1), the file's ``column`` header, why."""

    line: int
    column: str
    reason: str


@dataclass
class Row:
    """A valid row, normalised; ``lines`` lists every file line merged into it."""

    lines: list[int]
    business_name: str
    name_norm: str
    website: str | None = None
    domain: str | None = None
    contact_email: str | None = None
    email_norm: str | None = None
    contact_name: str | None = None
    industry: str | None = None
    region: str | None = None
    language: str | None = None
    employees: int | None = None
    form_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _key(h: str) -> str:
    return re.sub(r"[\s_]+", " ", h.strip().lower())


def detect_source(headers: list[str]) -> str:
    """Return the preset whose column names match most headers (``plain`` on a tie)."""
    keys = {_key(h) for h in headers}
    best, best_n = "plain", 0
    for name, preset in PRESETS.items():
        n = sum(any(_key(c) in keys for c in cands) for cands in preset.values())
        if n > best_n or (n == best_n and name == "plain"):
            best, best_n = name, n
    return best


def resolve_mapping(headers: list[str], source: str,
                    overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``{field: header}`` for the file; raise :class:`ImportFileError` on an unknown
    source, an override naming a missing header, or no business-name column."""
    if source not in PRESETS:
        raise ImportFileError(f"unknown source {source!r} (one of {', '.join(PRESETS)})")
    by_key = {_key(h): h for h in headers}
    out: dict[str, str] = {}
    for f, cands in PRESETS[source].items():
        for c in cands:
            if _key(c) in by_key:
                out[f] = by_key[_key(c)]
                break
    for f, h in (overrides or {}).items():
        if f not in FIELDS:
            raise ImportFileError(f"mapping: unknown field {f!r} (one of {', '.join(FIELDS)})")
        if _key(h) not in by_key:
            raise ImportFileError(f"mapping: no column {h!r} in the file for {f}")
        out[f] = by_key[_key(h)]
    if "business_name" not in out:
        raise ImportFileError(
            f"no column for business_name in a {source} file (headers: {', '.join(headers)})")
    return out


def parse_employees(value: str) -> int:
    """``"42"`` → 42; a range ``"11-50"``/``"1,001-5,000"``/``"10001+"`` → its lower bound."""
    m = re.match(r"^\s*([\d][\d,. ]*)\s*(?:[-–+]|to|$)", value)
    if not m:
        raise ValueError("not a number of employees")
    return int(re.sub(r"[,. ]", "", m.group(1)))


def _row(rec: dict[str, str], mapping: dict[str, str], line: int,
         ) -> tuple[Row | None, list[Rejection]]:
    get = {f: (rec.get(h) or "").strip() for f, h in mapping.items()}
    bad: list[Rejection] = []

    def reject(f: str, reason: str) -> None:
        bad.append(Rejection(line, mapping.get(f, f), reason))

    for f, n in MAX_LEN.items():
        if len(get.get(f, "")) > n:
            reject(f, f"longer than {n} characters")
    if not get.get("business_name"):
        reject("business_name", "required")
    website = domain = email = None
    try:
        domain = domain_of(get.get("website"))
        website = get.get("website") or None
    except ValueError as exc:
        reject("website", str(exc))
    try:
        email = email_of(get.get("contact_email"))
    except ValueError as exc:
        reject("contact_email", str(exc))
    if not get.get("website") and not get.get("contact_email") and not bad:
        reject("website", "a website or an e-mail is needed (the de-duplication keys)")
    employees = None
    if get.get("employees"):
        try:
            employees = parse_employees(get["employees"])
        except ValueError as exc:
            reject("employees", str(exc))
    language = (get.get("language") or "").lower() or None
    if language and language not in ("en", "fr"):
        reject("language", "must be en or fr")
    form_url = get.get("form_url") or None
    if form_url and not re.match(r"^https?://", form_url):
        reject("form_url", "must start with http:// or https://")
    if bad:
        return None, bad
    region = get.get("region") or None
    if language is None and region:
        language = "fr" if FRENCH_REGIONS.search(region) else None
    contact = get.get("contact_name") or " ".join(
        p for p in (get.get("first_name"), get.get("last_name")) if p) or None
    industry = get.get("industry") or None
    if industry and "," in industry and mapping.get("industry") == "types":
        industry = industry.split(",")[0].strip()  # Places types: the first is the most specific
    extra = {k: get[k] for k in ("phone", "linkedin") if get.get(k)}
    return Row(lines=[line], business_name=get["business_name"],
               name_norm=name_norm(get["business_name"]), website=website, domain=domain,
               contact_email=get.get("contact_email") or None, email_norm=email,
               contact_name=contact, industry=industry, region=region, language=language,
               employees=employees, form_url=form_url, extra=extra), []


def read_rows(data: bytes | str, *, source: str | None = None,
              mapping: dict[str, str] | None = None,
              ) -> tuple[str, dict[str, str], list[Row], list[Rejection], int]:
    """Parse a CSV export; return ``(source, mapping, rows, rejections, n_records)``.

    Delimiter sniffed among ``,`` ``;`` tab; UTF-8 (a BOM is fine). Raises
    :class:`ImportFileError` when the file cannot be read at all.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"not UTF-8 (byte {exc.start})") from exc
    if not data.strip():
        raise ImportFileError("empty file")
    try:
        dialect: Any = csv.Sniffer().sniff(data[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(data, newline=""), dialect)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError("no header row") from exc
    src = source or detect_source(headers)
    mp = resolve_mapping(headers, src, mapping)
    rows: list[Row] = []
    rejected: list[Rejection] = []
    n = 0
    start = reader.line_num + 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(Rejection(start, "", f"unreadable CSV: {exc}"))
            break
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in rec):
            continue
        n += 1
        if len(rec) > len(headers):
            rejected.append(Rejection(line, "", f"{len(rec)} fields for {len(headers)} headers"))
            continue
        row, bad = _row(dict(zip(headers, rec, strict=False)), mp, line)
        rejected += bad
        if row is not None:
            rows.append(row)
    return src, mp, rows, rejected, n


def merge_in_file(rows: list[Row]) -> tuple[list[Row], int]:
    """Merge rows of the same file sharing a domain or an e-mail (first value of each field
    wins, lines kept); return ``(rows, n_merged)``."""
    out: list[Row] = []
    by_key: dict[tuple[str, str], Row] = {}
    merged = 0
    for r in rows:
        keys = [(k, v) for k, v in (("d", r.domain), ("e", r.email_norm)) if v]
        target = next((by_key[k] for k in keys if k in by_key), None)
        if target is None:
            out.append(r)
            target = r
        else:
            merged += 1
            target.lines += r.lines
            for f in ("website", "domain", "contact_email", "email_norm", "contact_name",
                      "industry", "region", "language", "employees", "form_url"):
                if getattr(target, f) is None and getattr(r, f) is not None:
                    setattr(target, f, getattr(r, f))
            target.extra = {**r.extra, **target.extra}
        for k in (("d", target.domain), ("e", target.email_norm)):
            if k[1]:
                by_key.setdefault(k, target)
    return out, merged
