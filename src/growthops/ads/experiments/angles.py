"""The creative library's tags, the angles closed tests prove, and the angles to try next.

* ``ads.ads_library`` carries angle, hook and asset type, set by a person (:func:`tag_ad`,
  ``tag_source = 'person'``) or parsed from the ad's name by the tenant's pattern
  (:func:`parse_ad_names`, ``ads.ad_name_patterns``: a Python regular expression with named
  groups ``angle``, ``hook``, ``asset_type``; a person's tag is never overwritten by a parse).
* A closed creative test with an angle writes one ``ads.tested_angles`` row (idempotent on the
  test) and recomputes the tenant's ``ads.winning_patterns`` (per angle, hook and asset type)
  from all its tested angles
  (:func:`record_closed_test`): times tested, successes, success rate, average CTR lift; status
  ``active`` from 3 tests with a success rate of at least 1/2, ``deprecated`` from 3 tests
  without any success, else ``testing`` (our rule, stated here and in docs/creative-tests.md).
* Across tenants only ``ads.refresh_industry_patterns(k)`` aggregates, and only groups of at
  least :data:`K_ANONYMITY` tenants (the SQL floor is 5 whatever k is asked).
* :func:`suggest_angles` ranks angles for a ``test_angle`` suggestion: the tenant's active
  patterns first, then its industry's (k-anonymous), then the seed's angles never tested.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from growthops.core.errors import InvalidInput

#: Minimum distinct tenants behind any industry figure (k-anonymity; the SQL enforces >= 5).
K_ANONYMITY = 5
#: The seed's angle categories (seed 000 ads_library.angle), the check of the columns.
ANGLES = ("fear", "desire", "logic", "social_proof", "urgency", "education")
ASSET_TYPES = ("image", "video", "carousel", "banner", "text")
GROUPS = ("angle", "hook", "asset_type")


def set_name_pattern(conn: Any, *, tenant_id: UUID | str, pattern: str, actor: str) -> None:
    """Store the tenant's ad-name pattern after checking it compiles and names a known group.

    Raises :class:`InvalidInput` (syntax error, no ``angle``/``hook``/``asset_type`` group).
    """
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"pattern: not a regular expression ({exc})") from exc
    if not set(rx.groupindex) & set(GROUPS):
        raise InvalidInput("pattern: needs a named group angle, hook or asset_type, "
                           "e.g. (?P<angle>[a-z_]+)")
    conn.execute(
        """insert into ads.ad_name_patterns (tenant_id, pattern, updated_by) values (%s, %s, %s)
           on conflict (tenant_id) do update set pattern = excluded.pattern,
             updated_by = excluded.updated_by, updated_at = now()""",
        [str(tenant_id), pattern, actor])


def parse_name(pattern: str, name: str) -> dict[str, str]:
    """Return the tags ``pattern`` reads from ``name`` (angle and asset type only when they are
    known values; lower-cased), or ``{}`` when it does not match."""
    m = re.search(pattern, name or "")
    if not m:
        return {}
    got = {k: v.strip() for k, v in m.groupdict().items() if k in GROUPS and v}
    if "angle" in got:
        got["angle"] = got["angle"].lower().replace("-", "_")
        if got["angle"] not in ANGLES:
            del got["angle"]
    if "asset_type" in got:
        got["asset_type"] = got["asset_type"].lower()
        if got["asset_type"] not in ASSET_TYPES:
            del got["asset_type"]
    return got


def parse_ad_names(conn: Any, *, tenant_id: UUID | str) -> int:
    """Tag the library from ad names with the tenant's pattern; add the ads seen in
    ``ads.metrics_daily`` that the library lacks. Returns the rows tagged or added.

    Rows tagged by a person are left alone. Two statements whatever the number of ads.
    """
    t = str(tenant_id)
    row = conn.execute("select pattern from ads.ad_name_patterns where tenant_id = %s",
                       [t]).fetchone()
    if row is None:
        return 0
    ads = conn.execute(
        """select distinct on (platform, entity_id) platform, entity_id, entity_name
           from ads.metrics_daily where tenant_id = %s and level = 'ad' and entity_name is not null
           order by platform, entity_id, day desc""", [t]).fetchall()
    tagged = []
    for a in ads:
        tags = parse_name(row["pattern"], a["entity_name"])
        if tags:
            tagged.append((a["platform"], a["entity_id"], a["entity_name"], tags.get("angle"),
                           tags.get("hook"), tags.get("asset_type")))
    if not tagged:
        return 0
    cur = conn.execute(
        """insert into ads.ads_library (tenant_id, platform, ad_id, ad_name, angle, hook, asset_type,
               tag_source)
           select %s, x.platform, x.ad_id, x.ad_name, x.angle, x.hook, x.asset_type, 'pattern'
           from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                as x(platform, ad_id, ad_name, angle, hook, asset_type)
           on conflict (tenant_id, platform, ad_id) where ad_id is not null do update
             set angle = coalesce(excluded.angle, ads_library.angle),
                 hook = coalesce(excluded.hook, ads_library.hook),
                 asset_type = coalesce(excluded.asset_type, ads_library.asset_type),
                 tag_source = 'pattern', updated_at = now()
             where ads_library.tag_source is distinct from 'person'""",
        [t, *[list(c) for c in zip(*tagged, strict=True)]])
    return cur.rowcount


def tag_ad(conn: Any, *, tenant_id: UUID | str, platform: str, ad_id: str, ad_name: str,
           angle: str | None = None, hook: str | None = None,
           asset_type: str | None = None) -> dict[str, Any]:
    """Set a person's tags on one ad of the library (created if absent); returns the row.

    Raises :class:`InvalidInput` for an unknown angle or asset type.
    """
    if angle is not None and angle not in ANGLES:
        raise InvalidInput(f"angle: {angle!r} is not one of {', '.join(ANGLES)}")
    if asset_type is not None and asset_type not in ASSET_TYPES:
        raise InvalidInput(f"asset_type: {asset_type!r} is not one of {', '.join(ASSET_TYPES)}")
    return dict(conn.execute(
        """insert into ads.ads_library (tenant_id, platform, ad_id, ad_name, angle, hook, asset_type,
               tag_source)
           values (%s, %s, %s, %s, %s, %s, %s, 'person')
           on conflict (tenant_id, platform, ad_id) where ad_id is not null do update
             set angle = coalesce(excluded.angle, ads_library.angle),
                 hook = coalesce(excluded.hook, ads_library.hook),
                 asset_type = coalesce(excluded.asset_type, ads_library.asset_type),
                 tag_source = 'person', updated_at = now()
           returning *""",
        [str(tenant_id), platform, ad_id, ad_name, angle, hook, asset_type]).fetchone())


def record_closed_test(conn: Any, *, tenant_id: UUID | str, test: dict[str, Any]) -> bool:
    """Write the closed test's ``tested_angles`` row and refresh the tenant's winning patterns.

    Only creative tests with an angle (the test's, else the library's tag of variant B) count.
    Returns True when a tested-angle row was written (False: no angle, or already written).
    """
    t = str(tenant_id)
    angle = test.get("angle")
    if angle is None and test.get("variant_b"):
        lib = conn.execute("select angle, hook, asset_type from ads.ads_library where tenant_id = %s"
                           " and platform = %s and ad_id = %s",
                           [t, test["platform"], test["variant_b"]]).fetchone()
        angle = lib["angle"] if lib else None
    if test["test_type"] != "creative" or angle is None:
        return False
    pb, pa = test.get("performance_b") or {}, test.get("performance_a") or {}
    lift = (pb["ctr"] / pa["ctr"] - 1) if pa.get("ctr") and pb.get("ctr") is not None else None
    days = (test["end_date"] - test["start_date"]).days + 1 if test.get("start_date") else 0
    cur = conn.execute(
        """insert into ads.tested_angles (tenant_id, test_id, angle_name, angle_category,
               angle_description, tested_date, ads_count, total_spend, duration_days, result_status,
               ctr, cpa, conversion_rate, roi, sales_generated, key_learnings, would_retest,
               example_hooks, best_performing_ad)
           values (%s, %s, %s, %s, %s, %s, 2, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, test_id) do nothing""",
        [t, test["test_id"], angle, angle, test["hypothesis"], test["end_date"],
         round(float(pb.get("spend") or 0), 2), days, test["result_status"], pb.get("ctr"),
         pb.get("cpa"), pb.get("cvr"), pb.get("roas"), int(pb.get("conversions") or 0),
         f"{test['primary_metric']}: lift {lift:+.1%}" if lift is not None else None,
         test["result_status"] in ("success", "inconclusive"),
         _jsonb_list([str(test["hook"])] if test.get("hook") else []),
         test["variant_b"] if test.get("winner") == "b" else test["variant_a"]])
    _refresh_tenant_patterns(conn, t)
    return cur.rowcount == 1


def _jsonb_list(items: list[str]) -> str:
    import json

    return json.dumps(items)


def _refresh_tenant_patterns(conn: Any, t: str) -> None:
    """Recompute the tenant's patterns (angle, hook, asset type of variant B) from its tested
    angles (one statement)."""
    conn.execute(
        """insert into ads.winning_patterns (tenant_id, pattern_type, pattern_name, times_tested,
               successes, success_rate, avg_ctr_lift, status, updated_at)
           select ta.tenant_id, v.ptype, v.pname, count(*),
                  count(*) filter (where ta.result_status = 'success'),
                  (count(*) filter (where ta.result_status = 'success'))::float8 / count(*),
                  avg(ta.ctr / nullif((t.performance_a->>'ctr')::float8, 0) - 1),
                  case when count(*) >= 3 and count(*) filter (where ta.result_status = 'success')
                                               >= 0.5 * count(*) then 'active'
                       when count(*) >= 3 and count(*) filter (where ta.result_status = 'success')
                                               = 0 then 'deprecated'
                       else 'testing' end, now()
           from ads.tested_angles ta
           join ads.ab_tests t on t.tenant_id = ta.tenant_id and t.test_id = ta.test_id
           cross join lateral (values ('angle', ta.angle_name), ('hook', t.hook),
                                      ('asset_type', t.asset_type)) v(ptype, pname)
           where ta.tenant_id = %s and ta.result_status <> 'invalid' and v.pname is not null
           group by ta.tenant_id, v.ptype, v.pname
           on conflict (tenant_id, pattern_type, pattern_name) do update
             set times_tested = excluded.times_tested, successes = excluded.successes,
                 success_rate = excluded.success_rate, avg_ctr_lift = excluded.avg_ctr_lift,
                 status = excluded.status, updated_at = now()""", [t])


def refresh_industry_patterns(conn: Any, k: int = K_ANONYMITY) -> int:
    """Rebuild ``ads.industry_patterns`` across tenants (groups of >= max(k, 5) tenants only)."""
    return int(conn.execute("select ads.refresh_industry_patterns(%s) as n", [k]).fetchone()["n"])


def suggest_angles(conn: Any, *, tenant_id: UUID | str, limit: int = 3) -> list[dict[str, Any]]:
    """Return up to ``limit`` angles to test: ``{angle, source, success_rate, times_tested}``.

    Order: the tenant's own patterns that are not deprecated (by success rate, then tests), then
    its industry's k-anonymous patterns, then seed angles it never tested (``source``
    'untested'). One query.
    """
    rows = conn.execute(
        """with own as (
             select pattern_name as angle, 'tenant' as source, success_rate, times_tested, 0 as rank
             from ads.winning_patterns
             where tenant_id = %(t)s and pattern_type = 'angle' and status <> 'deprecated'
           ), tested as (
             select pattern_name from ads.winning_patterns where tenant_id = %(t)s and pattern_type = 'angle'
           ), ind as (
             select i.pattern_name, 'industry', i.success_rate, i.times_tested, 1
             from ads.industry_patterns i join core.tenants c on c.industry = i.industry
             where c.tenant_id = %(t)s and i.pattern_type = 'angle'
               and i.pattern_name not in (select pattern_name from tested)
           ), fresh as (
             select a, 'untested', null::float8, 0, 2 from unnest(%(angles)s::text[]) a
             where a not in (select pattern_name from tested)
           )
           select distinct on (angle) * from (
             select * from own union all select * from ind union all select * from fresh) x
           order by angle, rank""",
        {"t": str(tenant_id), "angles": list(ANGLES)}).fetchall()
    ranked = sorted(rows, key=lambda r: (r["rank"], -(r["success_rate"] or 0), -r["times_tested"],
                                         r["angle"]))
    return [{k: r[k] for k in ("angle", "source", "success_rate", "times_tested")}
            for r in ranked[:limit]]
