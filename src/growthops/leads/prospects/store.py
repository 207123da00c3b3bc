"""Import prospects into ``leads.prospect_candidates``, de-duplicated, and list them.

:func:`import_csv` reads a CSV export (:mod:`.csvmap`), merges the file's own duplicates, then
in one transaction: COPY into a temporary stage, matches each staged row to an existing
prospect (same normalised domain, else same e-mail, else — with ``pg_trgm`` — a business name of
similarity ≥ :data:`FUZZY_THRESHOLD` in the same region when one of the two has no website),
fills the existing prospects' empty fields and appends the import to ``metadata.sources``,
inserts the rest, and rescores what it touched. All or nothing by default: one rejected row and
:class:`ImportRejected` is raised with every rejection, nothing stored; ``partial=True`` stores
the valid rows and reports the others.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from growthops.core.errors import InvalidInput, NotFound
from growthops.leads.prospects import scoring
from growthops.leads.prospects.csvmap import Rejection, merge_in_file, read_rows

#: pg_trgm ``similarity()`` of two normalised names above which they are one business.
FUZZY_THRESHOLD = 0.8
STAGE_COLS = ("line", "lines", "business_name", "name_norm", "website", "domain",
              "contact_email", "email_norm", "contact_name", "industry", "region", "language",
              "employees", "form_url", "source")


class ImportRejected(InvalidInput, ValueError):
    """Rows were rejected in an all-or-nothing import; ``report`` lists them; nothing stored."""

    def __init__(self, report: dict[str, Any]) -> None:
        n = len(report["rejected"])
        first = report["rejected"][0]
        super().__init__(f"{n} row(s) rejected, nothing imported; first: line {first['line']}, "
                         f"column {first['column'] or '-'}: {first['reason']}")
        self.report = report


def has_trgm(conn: Any) -> bool:
    """True when the ``pg_trgm`` extension is installed."""
    return conn.execute("select exists (select 1 from pg_extension where extname = 'pg_trgm') ok"
                        ).fetchone()["ok"]


def import_csv(conn: Any, *, tenant_id: UUID | str, data: bytes | str, filename: str = "upload.csv",
               source: str | None = None, mapping: dict[str, str] | None = None,
               partial: bool = False, by: str = "import") -> dict[str, Any]:
    """Import a CSV export; return the report.

    Report: ``{source, mapping, rows, inserted, merged, merged_in_file, rejected: [{line,
    column, reason}], fuzzy: bool}``. Raises :class:`~.csvmap.ImportFileError` (the file) or
    :class:`ImportRejected` (rows, when not ``partial``). Never commits.
    """
    src, mp, rows, rejected, n = read_rows(data, source=source, mapping=mapping)
    report: dict[str, Any] = {"source": src, "mapping": mp, "rows": n, "inserted": 0,
                              "merged": 0, "merged_in_file": 0,
                              "rejected": [r.__dict__ for r in rejected], "fuzzy": False}
    if rejected and not partial:
        raise ImportRejected(report)
    rows, report["merged_in_file"] = merge_in_file(rows)
    if not rows:
        return report
    tid = str(tenant_id)
    conn.execute("select pg_advisory_xact_lock(hashtext('leads.prospects:' || %s))", [tid])
    conn.execute("drop table if exists pg_temp.prospect_stage")
    conn.execute(
        """create temp table prospect_stage (line int, lines int[], business_name text,
             name_norm text, website text, domain text, contact_email text, email_norm text,
             contact_name text, industry text, region text, language text, employees int,
             form_url text, source jsonb, match_id bigint) on commit drop""")
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with conn.cursor().copy(f"copy prospect_stage ({', '.join(STAGE_COLS)}) from stdin") as cp:
        for r in rows:
            meta = {"source": src, "file": filename, "lines": r.lines, "at": stamp, "by": by,
                    **({"extra": r.extra} if r.extra else {})}
            cp.write_row((r.lines[0], r.lines, r.business_name, r.name_norm, r.website,
                          r.domain, r.contact_email, r.email_norm, r.contact_name, r.industry,
                          r.region, r.language, r.employees, r.form_url, json.dumps(meta)))
    conn.execute(
        """update prospect_stage s set match_id = coalesce(
             (select p.prospect_id from leads.prospect_candidates p
              where p.tenant_id = %s and p.domain = s.domain),
             (select p.prospect_id from leads.prospect_candidates p
              where p.tenant_id = %s and p.email_norm = s.email_norm))""", [tid, tid])
    if has_trgm(conn):
        report["fuzzy"] = True
        conn.execute(
            """update prospect_stage s set match_id = (
                 select p.prospect_id from leads.prospect_candidates p
                 where p.tenant_id = %s and p.name_norm %% s.name_norm
                   and similarity(p.name_norm, s.name_norm) >= %s
                   and coalesce(p.region, '') = coalesce(s.region, '')
                   and (p.domain is null or s.domain is null)
                 order by similarity(p.name_norm, s.name_norm) desc, p.prospect_id limit 1)
               where s.match_id is null""", [tid, FUZZY_THRESHOLD])
    merged = conn.execute(
        """with m as (
             select match_id, (array_agg(s order by line))[1] first_row,
                    jsonb_agg(source order by line) sources
             from prospect_stage s where match_id is not null group by match_id)
           update leads.prospect_candidates p set
             website = coalesce(p.website, (m.first_row).website),
             domain = coalesce(p.domain, case when not exists (
                 select 1 from leads.prospect_candidates o where o.tenant_id = p.tenant_id
                 and o.domain = (m.first_row).domain) then (m.first_row).domain end),
             contact_email = coalesce(p.contact_email, case when not exists (
                 select 1 from leads.prospect_candidates o where o.tenant_id = p.tenant_id
                 and o.email_norm = (m.first_row).email_norm)
                 then (m.first_row).contact_email end),
             email_norm = coalesce(p.email_norm, case when not exists (
                 select 1 from leads.prospect_candidates o where o.tenant_id = p.tenant_id
                 and o.email_norm = (m.first_row).email_norm) then (m.first_row).email_norm end),
             contact_name = coalesce(p.contact_name, (m.first_row).contact_name),
             industry = coalesce(p.industry, (m.first_row).industry),
             region = coalesce(p.region, (m.first_row).region),
             language = coalesce(p.language, (m.first_row).language),
             employees = coalesce(p.employees, (m.first_row).employees),
             form_url = coalesce(p.form_url, (m.first_row).form_url),
             metadata = jsonb_set(p.metadata, '{sources}',
                                  coalesce(p.metadata -> 'sources', '[]') || m.sources),
             updated_at = now()
           from m where p.tenant_id = %s and p.prospect_id = m.match_id
           returning p.prospect_id""", [tid]).fetchall()
    inserted = conn.execute(
        """insert into leads.prospect_candidates (tenant_id, business_name, name_norm, website,
             domain, contact_email, email_norm, contact_name, industry, region, language,
             employees, form_url, metadata)
           select %s, business_name, name_norm, website, domain, contact_email, email_norm,
                  contact_name, industry, region, language, employees, form_url,
                  jsonb_build_object('sources', jsonb_build_array(source))
           from prospect_stage where match_id is null order by line
           returning prospect_id""", [tid]).fetchall()
    conn.execute("drop table pg_temp.prospect_stage")
    report["merged"] = len(rows) - len(inserted)
    report["inserted"] = len(inserted)
    ids = [r["prospect_id"] for r in merged] + [r["prospect_id"] for r in inserted]
    scoring.rescore(conn, tenant_id=tid, prospect_ids=ids)
    return report


def list_prospects(conn: Any, *, tenant_id: UUID | str, contacted: bool | None = None,
                   industry: str | None = None, limit: int = 50, offset: int = 0,
                   ) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``, best score first."""
    where = "tenant_id = %s and (%s::boolean is null or contacted = %s) " \
            "and (%s::text is null or lower(industry) = lower(%s))"
    args = [str(tenant_id), contacted, contacted, industry, industry]
    total = conn.execute(f"select count(*) n from leads.prospect_candidates where {where}",
                         args).fetchone()["n"]
    rows = conn.execute(
        f"""select * from leads.prospect_candidates where {where}
            order by automation_need_score desc nulls last, prospect_id
            limit %s offset %s""", [*args, limit, offset]).fetchall()
    return rows, total


def get_prospect(conn: Any, *, tenant_id: UUID | str, prospect_id: int) -> dict[str, Any]:
    """Return one prospect; :class:`NotFound` when it is not the tenant's."""
    row = conn.execute("""select * from leads.prospect_candidates where tenant_id = %s
                          and prospect_id = %s""", [str(tenant_id), prospect_id]).fetchone()
    if row is None:
        raise NotFound(f"prospect {prospect_id} not found")
    return row


def build_queue(conn: Any, *, tenant_id: UUID | str, day: Any, size: int | None = None) -> int:
    """Fill the day's prospect queue (once per day): the best ``size`` (default the tenant's
    ``daily_queue_size``, 16) uncontacted prospects with an address not on the suppression
    list and not already queued on an earlier day. Return the rows added."""
    tid = str(tenant_id)
    if size is None:
        st = conn.execute("select daily_queue_size from leads.outreach_settings where tenant_id = %s",
                          [tid]).fetchone()
        size = st["daily_queue_size"] if st else 16
    return conn.execute(
        """insert into leads.prospect_queue (tenant_id, queue_date, prospect_id, rank, score)
           select %s, %s::date, p.prospect_id,
                  row_number() over (order by p.automation_need_score desc nulls last,
                                     p.prospect_id), p.automation_need_score
           from leads.prospect_candidates p
           where p.tenant_id = %s and not p.contacted and p.email_norm is not null
             and not exists (select 1 from leads.suppression_list s where s.tenant_id = p.tenant_id
                             and (s.email_norm = p.email_norm or s.email_norm = '@' || p.domain))
             and not exists (select 1 from leads.prospect_queue q where q.tenant_id = p.tenant_id
                             and q.prospect_id = p.prospect_id)
             and not exists (select 1 from leads.prospect_queue q where q.tenant_id = %s
                             and q.queue_date = %s::date)
           order by p.automation_need_score desc nulls last, p.prospect_id limit %s
           on conflict do nothing""", [tid, day, tid, tid, day, size]).rowcount


def queue_of(conn: Any, *, tenant_id: UUID | str, day: Any) -> list[dict[str, Any]]:
    """The day's queue with each prospect, by rank."""
    return conn.execute(
        """select q.rank, q.decision, q.decided_by, p.* from leads.prospect_queue q
           join leads.prospect_candidates p using (tenant_id, prospect_id)
           where q.tenant_id = %s and q.queue_date = %s::date order by q.rank""",
        [str(tenant_id), day]).fetchall()


def rejections_table(rejected: list[Rejection] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rejections as plain dicts (for JSON and the CLI table)."""
    return [r if isinstance(r, dict) else r.__dict__ for r in rejected]
