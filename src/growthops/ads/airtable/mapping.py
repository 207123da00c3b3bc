"""What the Airtable mirror pushes and pulls, and the merge rule (pure functions).

Seed 000 puts its "business layer" in Airtable (tables ``clients``, ``suggestions``,
``decisions``, ``winning_patterns``, ``ads_library``...). Here PostgreSQL is the record of truth
and Airtable a mirror people read and, for a short declared list of fields
(:data:`PULL_FIELDS`), edit:

* ``clients.roi_target`` and ``clients.monthly_budget_max`` (the tenant's targets,
  ``core.tenants``);
* ``ads_library.angle`` and ``ads_library.performance_tier`` (the creative's labels,
  ``ads.ads_library``; a pulled angle marks the row ``tag_source = 'person'``).

Suggestion statuses and decisions are never pulled: approving goes through the decision flow
and its guard rails (``growthops suggestions approve``, Slack, the dashboard), not a cell.

**Merge rule** (per record and pulled field, :func:`merge_field`), with *base* the value both
sides held after the previous sync (``ads.airtable_records.synced_fields``):

1. Airtable value = PostgreSQL value: nothing to do.
2. Airtable unchanged since the last sync (= base): PostgreSQL's value is pushed.
3. Changed in Airtable only (PostgreSQL = base): Airtable wins, the value is written to
   PostgreSQL if valid (else refused, logged as ``rejected``, and PostgreSQL's value pushed back).
4. Changed on both sides to different values: PostgreSQL wins and the conflict is logged
   (``ads.airtable_runs.details``, rule ``conflict``).

A record never synced has no base: PostgreSQL's value is pushed (rule 2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

#: The field every mirrored table has, holding the PostgreSQL row's key; upserts merge on it.
KEY_FIELD = "growthops_key"
#: Days of suggestions and decisions kept in Airtable. Source: seed 000 ("Garde seulement 30
#: derniers jours" for suggestions, "90 derniers jours" for decisions).
SUGGESTION_DAYS = 30
DECISION_DAYS = 90

ANGLES = ("fear", "desire", "logic", "social_proof", "urgency", "education")
TIERS = ("winner", "performer", "testing", "loser")


class InvalidValue(ValueError):
    """An Airtable cell's value is not valid for its PostgreSQL column."""


def _decimal(
    places: int, *, minimum: Decimal, exclusive: bool, maximum: Decimal, nullable: bool
) -> Callable[[Any], str | None]:
    q = Decimal(1).scaleb(-places)

    def norm(v: Any) -> str | None:
        if v is None or v == "":
            if nullable:
                return None
            raise InvalidValue("a value is required")
        if isinstance(v, bool):
            raise InvalidValue(f"{v!r} is not a number")
        try:
            d = Decimal(str(v)).quantize(q)
        except (InvalidOperation, ValueError) as exc:
            raise InvalidValue(f"{str(v)[:40]!r} is not a number") from exc
        if d < minimum or (exclusive and d == minimum) or d > maximum:
            op = ">" if exclusive else "≥"
            raise InvalidValue(f"{d} is out of range (must be {op} {minimum} and ≤ {maximum})")
        return str(d)

    return norm


def _choice(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def norm(v: Any) -> str | None:
        if v is None or v == "":
            return None
        if not isinstance(v, str) or v not in options:
            raise InvalidValue(f"{str(v)[:40]!r} is not one of {', '.join(options)}")
        return v

    return norm


@dataclass(frozen=True)
class PullField:
    """A field pulled back: ``normalize`` maps a cell (or a PostgreSQL value) to the canonical
    text compared and stored (raises :class:`InvalidValue`); ``update_sql`` writes the values
    set-based, with ``%(t)s`` the tenant, ``%(keys)s``/``%(vals)s`` text arrays of row keys and
    canonical values."""

    name: str
    normalize: Callable[[Any], str | None]
    update_sql: str


@dataclass(frozen=True)
class Kind:
    """One mirrored table: ``select_sql`` returns ``row_key`` then the pushed fields (``%(t)s``
    is the tenant id); ``pull`` the fields pulled back."""

    name: str
    select_sql: str
    pull: tuple[PullField, ...] = field(default_factory=tuple)


_TENANT_UPDATE = """update core.tenants t set {col} = v.val::numeric, updated_at = now()
    from unnest(%(keys)s::text[], %(vals)s::text[]) v(k, val)
    where t.tenant_id = %(t)s and t.client_key = v.k"""
_LIBRARY_UPDATE = """update ads.ads_library l set {col} = v.val, updated_at = now(){extra}
    from unnest(%(keys)s::text[], %(vals)s::text[]) v(k, val)
    where l.tenant_id = %(t)s and l.library_id::text = v.k"""

KINDS: tuple[Kind, ...] = (
    Kind(
        "clients",
        """select client_key as row_key, client_key, client_name, industry, vertical,
            main_offer, ticket_price, roi_target, monthly_budget_max, currency, time_zone,
            slack_validation_channel, slack_channel_id
         from core.tenants where tenant_id = %(t)s""",
        (
            PullField(
                "roi_target",  # numeric(8,3), > 0 (migration 0001)
                _decimal(
                    3,
                    minimum=Decimal(0),
                    exclusive=True,
                    maximum=Decimal("99999.999"),
                    nullable=False,
                ),
                _TENANT_UPDATE.format(col="roi_target"),
            ),
            PullField(
                "monthly_budget_max",  # numeric(14,2), >= 0, nullable
                _decimal(
                    2,
                    minimum=Decimal(0),
                    exclusive=False,
                    maximum=Decimal("999999999999.99"),
                    nullable=True,
                ),
                _TENANT_UPDATE.format(col="monthly_budget_max"),
            ),
        ),
    ),
    Kind(
        "suggestions",
        f"""select s.suggestion_id::text as row_key, s.suggestion_id,
            t.client_key, s.type, s.priority, s.action, s.reason, s.expected_impact,
            s.confidence, s.platform, s.entity_type, s.entity_id, s.entity_name, s.status,
            s.decided_by, s.decided_at, s.slack_message_ts, s.created_at, s.expires_at
         from ads.suggestions s join core.tenants t using (tenant_id)
         where s.tenant_id = %(t)s
           and s.created_at >= now() - interval '{SUGGESTION_DAYS} days'""",
    ),
    Kind(
        "decisions",
        f"""select d.decision_id::text as row_key, d.decision_id, d.suggestion_id,
            t.client_key, d.decision, d.decided_by, d.decided_at, d.notes, d.channel,
            d.created_at
         from ads.decisions d join core.tenants t using (tenant_id)
         where d.tenant_id = %(t)s
           and d.created_at >= now() - interval '{DECISION_DAYS} days'""",
    ),
    Kind(
        "winning_patterns",
        """select w.pattern_type || ':' || w.pattern_name as row_key,
            t.client_key, w.pattern_type, w.pattern_name, w.times_tested, w.successes,
            w.success_rate, w.avg_ctr_lift, w.template, w.status, w.updated_at
         from ads.winning_patterns w join core.tenants t using (tenant_id)
         where w.tenant_id = %(t)s""",
    ),
    Kind(
        "ads_library",
        """select l.library_id::text as row_key, l.library_id, t.client_key,
            l.platform, l.ad_id, l.ad_name, l.angle, l.hook, l.body, l.cta, l.asset_type,
            l.status, l.performance_tier, l.tag_source, l.created_at
         from ads.ads_library l join core.tenants t using (tenant_id)
         where l.tenant_id = %(t)s""",
        (
            PullField(
                "angle",
                _choice(ANGLES),
                _LIBRARY_UPDATE.format(col="angle", extra=", tag_source = 'person'"),
            ),
            PullField(
                "performance_tier",
                _choice(TIERS),
                _LIBRARY_UPDATE.format(col="performance_tier", extra=""),
            ),
        ),
    ),
)
KIND_NAMES = tuple(k.name for k in KINDS)
#: Kind -> (field -> PullField): the declared short list of fields pulled back.
PULL_FIELDS: dict[str, dict[str, PullField]] = {
    k.name: {p.name: p for p in k.pull} for k in KINDS if k.pull
}


def cell(value: Any) -> Any:
    """Return a PostgreSQL value as Airtable's JSON: Decimal -> number, timestamps -> ISO 8601
    UTC (``Z``), dates -> ``YYYY-MM-DD``; None stays None (it empties the cell)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def push_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Airtable fields of one selected row (``row_key`` becomes :data:`KEY_FIELD`)."""
    out = {KEY_FIELD: row["row_key"]}
    out.update({k: cell(v) for k, v in row.items() if k != "row_key"})
    return out


def fields_hash(fields: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of ``fields`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def merge_field(
    *, base: str | None, has_base: bool, postgres: str | None, airtable: str | None
) -> str:
    """Apply the merge rule (module doc) to canonical values; return the rule that applies.

    ``"same"`` (rule 1), ``"push"`` (rule 2 or no base), ``"pull"`` (rule 3), ``"conflict"``
    (rule 4). Values are already normalized (so ``3`` and ``3.000`` compare equal).
    """
    if airtable == postgres:
        return "same"
    if not has_base or airtable == base:
        return "push"
    if postgres == base:
        return "pull"
    return "conflict"
