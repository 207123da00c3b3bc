"""Import daily ad metrics from a CSV file into ``ads.metrics_daily`` (``growthops import ads``).

Pipeline: read the file (sha256), parse it with the stdlib ``csv`` module, validate every row
(:mod:`growthops.ads.metrics.formats`), drop exact duplicates, reject conflicting duplicates and
inconsistent parents, then load: ``COPY`` into a temporary staging table, one set-based
``INSERT ... ON CONFLICT DO UPDATE ... WHERE (new) IS DISTINCT FROM (old)`` (so a re-import
changes nothing, not even ``updated_at``), then the ad-set and campaign roll-ups, and the
record of the run in ``ads.import_batches``. Nothing commits here: the caller owns the
transaction (``Database.tenant_tx``).

Roll-ups. When a file gives ad rows, the ad set of each (ad set, day) pair the file touches is
written as the sum of **all its stored ads** for that day (this file's and earlier imports'),
unless the file itself gives that ad-set row; the campaign of each touched (campaign, day) pair
is then the sum of its stored ad-set rows, unless the file gives it. Summing what is stored,
not only the staging table, keeps "parent = sum of children" true when one day's ads arrive
in several files. ``reach`` of a roll-up is NULL: reach counts unique people, and people
reached by two ads are counted by both, so reach is not additive (Meta Ads Help Center,
"About reach"). Numeric custom metrics are summed; other custom values are kept only when
every child carries the same value (e.g. the age band of an ad set's ads).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from growthops.ads.metrics.formats import (
    FORMATS,
    STAGE_COLUMNS,
    FormatContext,
    Record,
)
from growthops.ads.metrics.rowchecks import _first_difference, _parent_conflict, _rejection
from growthops.ads.metrics.textfile import _decode, _delimiter, _preamble
from growthops.core.errors import ImportRejected, InvalidInput, RejectedRow

__all__ = ["FORMATS", "ImportResult", "import_metrics", "load_records", "parse_file"]

STAGE = "ads_import_stage"
_PROGRESS_EVERY = 500


@dataclass
class ImportResult:
    """What one import did.

    ``rows_read``: data rows in the file (blank lines and an export's summary rows excluded,
    the latter counted in ``summaries_skipped``); ``rows_accepted``: distinct
    valid rows loaded (exact duplicates excluded); ``rows_inserted``/``rows_updated``: rows of
    the file that were new / changed in ``ads.metrics_daily`` (the rest were unchanged);
    ``rollups_inserted``/``rollups_updated``: ad-set and campaign roll-up rows written;
    ``rejected``: one entry per rejected row (first problem; the reason lists the others).
    """

    batch_id: int | None
    source_name: str
    format: str
    sha256: str
    rows_read: int = 0
    summaries_skipped: int = 0
    rows_accepted: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    duplicates_skipped: int = 0
    rollups_inserted: int = 0
    rollups_updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None

    @property
    def rows_rejected(self) -> int:
        """Return the number of rejected rows."""
        return len(self.rejected)

    @property
    def rows_unchanged(self) -> int:
        """Return accepted rows that were already stored with the same values."""
        return self.rows_accepted - self.rows_inserted - self.rows_updated


@dataclass
class ParsedFile:
    """The valid, distinct records of a file and everything rejected or skipped."""

    records: list[Record]
    rows_read: int
    duplicates_skipped: int
    rejected: list[RejectedRow]
    sha256: str
    summaries_skipped: int = 0


def parse_file(
    path: Path, fmt: str, *, ctx: FormatContext | None = None, progress: Any = None
) -> ParsedFile:
    """Parse and validate a whole file; reject nothing silently.

    Line numbers are 1-based physical lines (the header is line 1, or the line after an
    export's preamble; a quoted field spanning lines counts its lines). Summary rows of an
    export (``Total: ...``) are skipped and counted. Exact duplicates (same key, equal values) are skipped and
    counted; the same key with different values rejects the later row naming the first line;
    an ad set under two campaigns or an ad under two ad sets rejects the later row.
    Raises :class:`InvalidInput` for an unknown format, an empty file or a wrong header.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    text = _decode(data, path)
    if not text.strip():
        raise InvalidInput(f"{path.name}: empty file (no header)")
    skip = _preamble(text, fmt)
    if skip:
        text = text.split("\n", skip)[skip]
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    ctx = ctx or FormatContext()
    if delimiter == ";":  # a comma-decimal locale's spreadsheet: 35,19 is thirty-five point 19
        ctx = replace(ctx, decimal_comma=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{path.name}: header (line 1): {exc}") from exc
    if any("\x00" in h for h in header):
        raise InvalidInput(f"{path.name}: header (line 1): contains the NUL character (U+0000)")
    parse_row = FORMATS[fmt](header, ctx)
    width = len(header)
    unnamed = [i for i, h in enumerate(header) if not h.strip()]
    task = None
    total_lines = max(text.count("\n"), 1)
    if progress is not None:
        task = progress.add_task("parse and validate", total=total_lines)

    records: dict[tuple[str, str, str, date], tuple[int, Record]] = {}
    parents: dict[tuple[str, str, str], tuple[int, str]] = {}
    rejected: list[RejectedRow] = []
    rows_read = dups = summaries = 0
    prev_line = reader.line_num + skip  # the header's last line
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = prev_line + 1
            rejected.append(RejectedRow(line, "(row)", "", f"malformed CSV: {exc}"))
            rows_read += 1
            prev_line = reader.line_num + skip
            continue
        line, prev_line = prev_line + 1, reader.line_num + skip
        if task is not None and rows_read % _PROGRESS_EVERY == 0:
            progress.update(task, completed=line)
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank line
        rows_read += 1
        problems = []
        if len(cells) != width:
            extra = cells[width:]
            if len(cells) < width or any(c.strip() for c in extra):
                rejected.append(
                    RejectedRow(
                        line,
                        "(row)",
                        f"{len(cells)} fields",
                        f"expected {width} fields as in the header",
                    )
                )
                continue
        nul = [i for i, c in enumerate(cells[:width]) if "\x00" in c]
        if nul:  # PostgreSQL text cannot store U+0000: named here, before the database sees it
            i = nul[0]
            rejected.append(RejectedRow(line, header[i] if header[i].strip() else f"(column {i + 1})",
                                        cells[i].replace("\x00", "\\x00")[:80],
                                        "contains the NUL character (U+0000)"))
            continue
        for i in unnamed:
            if cells[i].strip():
                problems.append(
                    (f"(column {i + 1}, no header)", cells[i], "value without a header")
                )
        rec, row_problems = parse_row(cells)
        if rec is None and not row_problems and not problems:
            summaries += 1  # an export's summary row ("Total: Account")
            rows_read -= 1
            continue
        problems.extend(row_problems)
        if problems or rec is None:
            rejected.append(_rejection(line, problems))
            continue
        seen = records.get(rec.key)
        if seen is not None:
            if seen[1] == rec:
                dups += 1
            else:
                col = _first_difference(seen[1], rec)
                rejected.append(
                    RejectedRow(
                        line,
                        col,
                        str(getattr(rec, col, "")),
                        f"same platform/level/entity/day as line {seen[0]} with a different "
                        f"value (first difference: {col})",
                    )
                )
            continue
        bad = _parent_conflict(rec, line, parents)
        if bad is not None:
            rejected.append(bad)
            continue
        records[rec.key] = (line, rec)
    if task is not None:
        progress.update(task, completed=total_lines)
    return ParsedFile([r for _, r in records.values()], rows_read, dups, rejected, digest,
                      summaries)


# ------------------------------------------------------------------------------------ SQL
_CREATE_STAGE = f"""
create temp table {STAGE} (
  platform text not null, level text not null, entity_id text not null, day date not null,
  entity_name text, campaign_id text, adset_id text, campaign_name text, adset_name text,
  spend numeric(18,6) not null, impressions bigint not null, reach bigint,
  clicks bigint not null, leads bigint not null, applications bigint not null,
  bookings bigint not null, conversions bigint not null, conversion_value numeric(18,6) not null,
  video_3s_views bigint, video_thruplays bigint, post_engagements bigint,
  daily_budget numeric(14,2), custom_metrics jsonb not null,
  primary key (platform, level, entity_id, day)
) on commit drop
"""

#: Columns written to ads.metrics_daily besides tenant_id and import_batch_id.
_VALUE_COLUMNS = (
    "entity_name",
    "campaign_id",
    "adset_id",
    "spend",
    "impressions",
    "reach",
    "clicks",
    "leads",
    "applications",
    "bookings",
    "conversions",
    "conversion_value",
    "video_3s_views",
    "video_thruplays",
    "post_engagements",
    "daily_budget",
    "custom_metrics",
)
_KEY_COLUMNS = ("platform", "level", "entity_id", "day")


def _upsert_sql(source: str) -> sql.Composed:
    """Return the idempotent upsert of ``source`` rows, counting inserted vs updated rows.

    ``xmax = 0`` on a RETURNING row means the row was inserted, not updated: an ON CONFLICT
    update stores the updating transaction in the new version's xmax (PostgreSQL docs, "System
    Columns"; an implementation detail, stable since 9.5 and widely relied on). Unchanged rows
    are not returned at all (the DO UPDATE's WHERE is false). A missing name never erases a
    known one.
    """
    cols = [*_KEY_COLUMNS, *_VALUE_COLUMNS]
    ident = sql.Identifier
    new = [
        sql.SQL("coalesce(excluded.entity_name, m.entity_name)")
        if c == "entity_name"
        else sql.SQL("excluded.{}").format(ident(c))
        for c in _VALUE_COLUMNS
    ]
    old = [sql.SQL("m.{}").format(ident(c)) for c in _VALUE_COLUMNS]
    sets = [
        sql.SQL("{} = {}").format(ident(c), v) for c, v in zip(_VALUE_COLUMNS, new, strict=True)
    ]
    return sql.SQL("""
with src as ({source}),
up as (
  insert into ads.metrics_daily as m (tenant_id, import_batch_id, {cols})
  select %(tenant)s, %(batch)s, {cols} from src
  order by platform, level, entity_id, day
  on conflict (tenant_id, platform, level, entity_id, day) do update
    set {sets}, import_batch_id = excluded.import_batch_id, updated_at = now()
    where ({new}) is distinct from ({old})
  returning (m.xmax = 0) as inserted
)
select count(*) filter (where inserted) as inserted,
       count(*) filter (where not inserted) as updated
from up""").format(
        source=sql.SQL(source),
        cols=sql.SQL(", ").join(map(ident, cols)),
        sets=sql.SQL(", ").join(sets),
        new=sql.SQL(", ").join(new),
        old=sql.SQL(", ").join(old),
    )


_FILE_ROWS = f"select {', '.join(_KEY_COLUMNS + _VALUE_COLUMNS)} from pg_temp.{STAGE}"

KIDS = "ads_import_kids"

# The stored children of the (platform, parent, day) pairs a roll-up rewrites, copied to a temp
# table and analysed before summing. Selecting them with a constant array of pair keys (hashed
# by PostgreSQL) instead of joining ads.metrics_daily to the pairs keeps the plan linear even
# when the table's statistics are stale (a fresh bulk import, autovacuum not yet run), where a
# join was planned as a nested loop (measured: 1.3 s instead of 0.1 s for 15,403 ads).
_KIDS_SQL = """
insert into pg_temp.{kids}
select m.* from ads.metrics_daily m
where m.tenant_id = %(tenant)s and m.level = '{child}' and m.{pcol} is not null
  and m.day between %(first_day)s and %(last_day)s
  and (m.platform || '|' || m.{pcol} || '|' || to_char(m.day, 'YYYY-MM-DD')) = any(%(pairs)s)
"""

# Roll-up rows of one parent level from the analysed children: sums of the additive metrics,
# reach NULL (not additive), numeric custom metrics summed, other custom values kept when every
# child has the same one; the parent's name from the file.
_ROLLUP_SOURCE = """
with sums as (
  select platform, {pcol} as parent_id, day, min(campaign_id) as campaign_id, count(*) as n,
         sum(spend) as spend, sum(impressions) as impressions, sum(clicks) as clicks,
         sum(leads) as leads, sum(applications) as applications, sum(bookings) as bookings,
         sum(conversions) as conversions, sum(conversion_value) as conversion_value,
         sum(video_3s_views) as video_3s_views, sum(video_thruplays) as video_thruplays,
         sum(post_engagements) as post_engagements, jsonb_agg(custom_metrics) as customs
  from pg_temp.{kids} group by 1, 2, 3
),
names as (
  select platform, {pcol} as parent_id, max({pname}) as name
  from pg_temp.{stage} where {pcol} is not null group by 1, 2
)
select s.platform, '{plevel}'::text as level, s.parent_id as entity_id, s.day,
       n.name as entity_name, {campaign_expr} as campaign_id, null::text as adset_id,
       s.spend, s.impressions, null::bigint as reach, s.clicks, s.leads, s.applications,
       s.bookings, s.conversions, s.conversion_value, s.video_3s_views, s.video_thruplays,
       s.post_engagements, null::numeric as daily_budget,
       coalesce((
         select jsonb_object_agg(x.key, x.value) from (
           select e.key,
                  case when bool_and(jsonb_typeof(e.value) = 'number')
                       then to_jsonb(sum(case when jsonb_typeof(e.value) = 'number'
                                              then (e.value)::numeric end))
                       when count(distinct e.value) = 1 and count(*) = s.n
                       then (array_agg(e.value))[1] end as value
           from jsonb_array_elements(s.customs) c(obj), jsonb_each(c.obj) e
           group by e.key) x
         where x.value is not null), '{{}}'::jsonb) as custom_metrics
from sums s
left join names n using (platform, parent_id)
"""

#: Per parent level: the child level summed, the child's column naming the parent, the staging
#: column with the parent's name, and the roll-up's own campaign_id.
_ROLLUP_LEVELS = {
    "adset": {
        "child": "ad",
        "pcol": "adset_id",
        "pname": "adset_name",
        "campaign_expr": "s.campaign_id",
    },
    "campaign": {
        "child": "adset",
        "pcol": "campaign_id",
        "pname": "campaign_name",
        "campaign_expr": "null::text",
    },
}


def _rollup_pairs(recs: list[Record], parent_level: str) -> list[str]:
    """Return the 'platform|parent|YYYY-MM-DD' keys to roll up: touched, not given explicitly."""
    if parent_level == "adset":
        touched = {(r.platform, r.adset_id, r.day) for r in recs if r.level == "ad" and r.adset_id}
    else:
        touched = {
            (r.platform, r.campaign_id, r.day)
            for r in recs
            if r.level in ("ad", "adset") and r.campaign_id
        }
    explicit = {(r.platform, r.entity_id, r.day) for r in recs if r.level == parent_level}
    return sorted(f"{p}|{e}|{d.isoformat()}" for p, e, d in touched - explicit)


def _tenant_currency(conn: psycopg.Connection[Any], tenant_id: UUID | str) -> str | None:
    row = conn.execute(
        "select currency from core.tenants where tenant_id = %s", [tenant_id]
    ).fetchone()
    if row is None:
        return None
    val = row["currency"] if isinstance(row, dict) else row[0]
    return str(val).strip()


def _one(conn: psycopg.Connection[Any], query: Any, params: dict[str, Any]) -> tuple[int, int]:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    if isinstance(row, dict):
        return int(row["inserted"]), int(row["updated"])
    return int(row[0]), int(row[1])


def _progress_bar() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def import_metrics(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID | str,
    path: Path,
    fmt: str,
    skip_invalid: bool = False,
    progress: bool = False,
    year: int = 2020,
) -> ImportResult:
    """Import one CSV file of daily metrics for ``tenant_id``; never commits.

    ``fmt`` is a key of :data:`FORMATS`; ``year`` is the year assumed by formats whose dates
    have none (``online_ad_performance``: 2020 per secondary sources, unverified). With
    ``progress`` a Rich progress bar (stderr) shows the parse/validate and load phases.
    Returns an :class:`ImportResult`; records the run in ``ads.import_batches`` (file sha256,
    counts, rejected rows as JSON). Raises :class:`ImportRejected` listing every rejected row,
    having written nothing, when rows are rejected and ``skip_invalid`` is false;
    :class:`InvalidInput` for an unknown format, an unreadable file or a wrong header.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    ctx = FormatContext(year=year, currency=_tenant_currency(conn, tenant_id))
    bar = _progress_bar() if progress else None
    if bar is not None:
        bar.start()
    try:
        parsed = parse_file(path, fmt, ctx=ctx, progress=bar)
        if parsed.rejected and not skip_invalid:
            raise ImportRejected(str(path), parsed.rejected, parsed.rows_read)
        return _load(conn, tenant_id=tenant_id, path=path, fmt=fmt, parsed=parsed, bar=bar)
    finally:
        if bar is not None:
            bar.stop()


def load_records(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID | str,
    source_name: str,
    fmt: str,
    records: list[Record],
) -> ImportResult:
    """Load records that did not come from a file (the platform sync) with the file upsert.

    Same path as :func:`import_metrics` after parsing: staging COPY, the idempotent upsert,
    the roll-ups of parents the records do not give, the ``ads.import_batches`` row
    (``source_name``, ``fmt``, sha256 of the records' rows). ``records`` must be distinct by
    key (platform, level, entity_id, day); raises :class:`InvalidInput` naming the first
    duplicate otherwise. Never commits.
    """
    seen: set[tuple[str, str, str, date]] = set()
    digest = hashlib.sha256()
    for r in records:
        key = (r.platform, r.level, r.entity_id, r.day)
        if key in seen:
            raise InvalidInput(f"{source_name}: {r.level} {r.entity_id} on {r.day} given twice")
        seen.add(key)
        digest.update(repr(r.copy_row()).encode())
    parsed = ParsedFile(records, len(records), 0, [], digest.hexdigest())
    return _load(conn, tenant_id=tenant_id, path=Path(source_name), fmt=fmt, parsed=parsed,
                 bar=None)


def _load(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID | str,
    path: Path,
    fmt: str,
    parsed: ParsedFile,
    bar: Any,
) -> ImportResult:
    recs = parsed.records
    res = ImportResult(
        batch_id=None,
        source_name=path.name,
        format=fmt,
        sha256=parsed.sha256,
        rows_read=parsed.rows_read,
        summaries_skipped=parsed.summaries_skipped,
        rows_accepted=len(recs),
        duplicates_skipped=parsed.duplicates_skipped,
        rejected=parsed.rejected,
    )
    task = bar.add_task("load", total=len(recs) + 3) if bar is not None else None
    row = conn.execute(
        """insert into ads.import_batches (tenant_id, source_name, format, sha256, rows_read,
               rows_accepted, rows_rejected, rows_inserted, rows_updated, rejected)
           values (%s, %s, %s, %s, %s, %s, %s, 0, 0, %s) returning batch_id""",
        [
            tenant_id,
            res.source_name,
            fmt,
            res.sha256,
            res.rows_read,
            res.rows_accepted,
            res.rows_rejected,
            json.dumps([asdict(r) for r in res.rejected]),
        ],
    ).fetchone()
    assert row is not None
    res.batch_id = int(row["batch_id"] if isinstance(row, dict) else row[0])
    if not recs:
        return res
    res.first_day = min(r.day for r in recs)
    res.last_day = max(r.day for r in recs)
    conn.execute(f"drop table if exists pg_temp.{STAGE}")
    conn.execute(_CREATE_STAGE)
    with (
        conn.cursor() as cur,
        cur.copy(f"copy pg_temp.{STAGE} ({', '.join(STAGE_COLUMNS)}) from stdin") as copy,
    ):
        for i, rec in enumerate(recs, 1):
            copy.write_row(rec.copy_row())
            if task is not None and i % _PROGRESS_EVERY == 0:
                bar.update(task, completed=i)
    conn.execute(f"analyze pg_temp.{STAGE}")
    params = {
        "tenant": tenant_id,
        "batch": res.batch_id,
        "first_day": res.first_day,
        "last_day": res.last_day,
    }
    res.rows_inserted, res.rows_updated = _one(conn, _upsert_sql(_FILE_ROWS), params)
    if task is not None:
        bar.update(task, completed=len(recs) + 1)
    conn.execute(f"drop table if exists pg_temp.{KIDS}")
    conn.execute(f"create temp table {KIDS} (like ads.metrics_daily) on commit drop")
    for i, level in enumerate(("adset", "campaign"), 2):
        pairs = _rollup_pairs(recs, level)
        if not pairs:
            continue
        parts = {**_ROLLUP_LEVELS[level], "stage": STAGE, "kids": KIDS, "plevel": level}
        conn.execute(f"truncate pg_temp.{KIDS}")
        conn.execute(_KIDS_SQL.format(**parts), {**params, "pairs": pairs})
        conn.execute(f"analyze pg_temp.{KIDS}")
        ins, upd = _one(conn, _upsert_sql(_ROLLUP_SOURCE.format(**parts)), params)
        res.rollups_inserted += ins
        res.rollups_updated += upd
        if task is not None:
            bar.update(task, completed=len(recs) + i)
    conn.execute(
        """update ads.import_batches set rows_inserted = %s, rows_updated = %s
           where tenant_id = %s and batch_id = %s""",
        [res.rows_inserted, res.rows_updated, tenant_id, res.batch_id],
    )
    conn.execute(f"drop table pg_temp.{STAGE}, pg_temp.{KIDS}")
    return res
