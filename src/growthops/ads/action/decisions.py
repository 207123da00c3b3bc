"""Decisions on suggestions (seed 000 ``decisions``) and the history of what happened after.

A person approves, refuses or backlogs a suggestion, saying who and why. The state machine on
``ads.suggestions.status`` (pure table :data:`DECIDABLE_FROM`)::

    pending  --approved/refused/backlog-->  approved | refused | backlog
    backlog  --approved/refused---------->  approved | refused

* **Backlog is not final.** A backlogged suggestion can later be approved or refused (a second
  decision row is written); backlogging it again is a :class:`DecisionConflict` (two reviewers
  clicking "backlog" at once produce one decision).
* **Expiry still applies to a backlogged suggestion.** A suggestion's numbers (the budget from
  and to, the evidence window) go stale: once ``expires_at`` (48 h after creation, see
  :data:`growthops.ads.suggestions.generate.SUGGESTION_TTL_HOURS`) has passed it can no longer be decided,
  whatever its status; the next daily cycle proposes it again if the evidence still holds.
* Every other status (approved, refused, executing, executed, failed, blocked, expired) is final
  for a reviewer: a new decision is a :class:`DecisionConflict` whose message says the status and
  when, by whom and through which channel it was decided.

Atomicity: :func:`decide` is one statement (:data:`DECIDE_SQL`, the function
``ads.decide_suggestion`` of migration 0196) around one ``UPDATE ... WHERE status IN (...) AND
expires_at > now RETURNING``; under READ COMMITTED a concurrent second UPDATE waits for the first's row
lock, re-checks the WHERE clause on the committed row and matches nothing, so two reviewers
clicking at once produce exactly one decision and one audit entry.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from growthops.ads.action import audit
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.logs.scrub import scrub

DECISIONS = ("approved", "refused", "backlog")
CHANNELS = ("cli", "api", "slack", "dashboard", "auto")
#: Pure transition table: the statuses a suggestion may be in for each decision.
DECIDABLE_FROM: dict[str, tuple[str, ...]] = {
    "approved": ("pending", "backlog"),
    "refused": ("pending", "backlog"),
    "backlog": ("pending",),
}
MAX_NOTES = 4000
#: The decision's one statement: a call of ``ads.decide_suggestion`` (migration 0196), the one
#: copy of the decision's SQL (the conditional UPDATE, the decision row and the audit entry).
#: It binds the transaction to the tenant (and refuses one bound to another tenant), so it can
#: be sent alone on an autocommit connection (the API, docs/performance.md §11) or inside a
#: tenant transaction (the command line, Slack, the dashboard, the auto policy).
DECIDE_CALL = (
    "ads.decide_suggestion(%(t)s::uuid, %(id)s::bigint, %(decision)s::text,"
    " %(by)s::text, %(now)s::timestamptz, %(from)s::text[], %(notes)s::text, %(channel)s::text,"
    " %(key)s::bigint, %(action)s::text, %(after)s::jsonb, %(reason)s::text,"
    " %(live_key)s::bigint)")
DECIDE_SQL = f"select * from {DECIDE_CALL}"
#: Columns of a suggestion shown by :func:`history` (present in the live and archive tables).
HISTORY_COLUMNS = (
    "suggestion_id", "as_of", "type", "priority", "action", "reason", "expected_impact", "texts",
    "predicted_metrics", "action_params", "evidence", "confidence", "calibrated_confidence",
    "platform", "entity_type", "entity_id", "entity_name", "status", "decided_by", "decided_at",
    "auto_applied", "guard_rail_note", "created_at", "expires_at",
)


class DecisionConflict(Conflict):
    """A decision the suggestion's state forbids (expired, already decided, archived).

    Attributes: ``suggestion_id``, ``status`` (current), ``reason`` (``expired``, ``decided``,
    ``archived``), ``decided_by``, ``decided_at``, ``channel`` (of the last decision) and
    ``expires_at``, for callers that word the message themselves (CLI in French).
    """

    def __init__(self, message: str, *, suggestion_id: int, status: str, reason: str,
                 decided_by: str | None = None, decided_at: datetime | None = None,
                 channel: str | None = None, expires_at: datetime | None = None) -> None:
        super().__init__(message)
        self.suggestion_id = suggestion_id
        self.status = status
        self.reason = reason
        self.decided_by = decided_by
        self.decided_at = decided_at
        self.channel = channel
        self.expires_at = expires_at


def fmt_utc(ts: datetime | None) -> str:
    """Format an instant as ``YYYY-MM-DD HH:MM UTC`` ("?" for None)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def _check(decision: str, decided_by: str, notes: str | None, channel: str,
           now: datetime) -> str:
    """Validate the inputs of :func:`decide`; return ``decided_by`` stripped."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    who = (decided_by or "").strip() if isinstance(decided_by, str) else ""
    if not 1 <= len(who) <= 200:
        raise InvalidInput("decided_by: a name of 1 to 200 characters is required")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise InvalidInput(f"notes: text of at most {MAX_NOTES} characters")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if now.utcoffset() is None:
        raise InvalidInput("now: must be timezone-aware (UTC)")
    return who


def _refusal(conn: Any, *, tenant_id: str, suggestion_id: int, decision: str,
             now: datetime) -> Conflict | NotFound:
    """Explain why ``decision`` matched no row: NotFound, or a :class:`DecisionConflict`."""
    row = conn.execute(
        """select s.status, s.decided_by, s.decided_at, s.expires_at, false as archived,
                  null::timestamptz as archived_at,
                  (select d.channel from ads.decisions d
                    where d.tenant_id = s.tenant_id and d.suggestion_id = s.suggestion_id
                    order by d.decided_at desc, d.decision_id desc limit 1) as channel
           from ads.suggestions s where s.tenant_id = %(t)s and s.suggestion_id = %(id)s
           union all
           select a.status, a.decided_by, a.decided_at, a.expires_at, true, a.archived_at, null
           from ads.suggestions_archive a where a.tenant_id = %(t)s and a.suggestion_id = %(id)s""",
        {"t": tenant_id, "id": suggestion_id},
    ).fetchone()
    if row is None:
        return NotFound(f"no suggestion {suggestion_id} for this tenant")
    status, by, at, exp = row["status"], row["decided_by"], row["decided_at"], row["expires_at"]
    info = {"suggestion_id": suggestion_id, "status": status, "decided_by": by,
            "decided_at": at, "channel": row["channel"], "expires_at": exp}
    if row["archived"]:
        return DecisionConflict(
            f"suggestion {suggestion_id} was archived on {fmt_utc(row['archived_at'])} "
            f"(status {status}); it can no longer be decided", reason="archived", **info)
    decided = (f" (by {by} on {fmt_utc(at)}" + (f" via {row['channel']}" if row["channel"] else "")
               + ")") if by else ""
    if status in DECIDABLE_FROM[decision] or status == "expired":
        # Decidable status, so the clock refused it (or the cycle marked it expired).
        return DecisionConflict(
            f"suggestion {suggestion_id} expired on {fmt_utc(exp)} (status {status}{decided}); "
            "it can no longer be decided: the next daily cycle proposes it again if the "
            "evidence still holds", reason="expired", **info)
    verb = "in backlog" if status == "backlog" else status
    return DecisionConflict(
        f"suggestion {suggestion_id} is already {verb}{decided}; it cannot be {decision} "
        "now", reason="decided", **info)



def decide(
    conn: Any,
    *,
    tenant_id: UUID | str,
    suggestion_id: int,
    decision: str,
    decided_by: str,
    notes: str | None = None,
    channel: str = "cli",
    now: datetime | None = None,
    api_key: tuple[int, str] | None = None,
    identity: str | None = None,
) -> dict[str, Any]:
    """Approve, refuse or backlog one suggestion; write the decision and its audit entry.

    ``decision``: ``approved``, ``refused`` or ``backlog``; ``decided_by``: who (1-200 chars);
    ``notes``: why (optional, ≤ 4000 chars); ``channel``: cli, api, slack, dashboard or auto;
    ``now``: the decision instant (UTC, default the wall clock), also the decision row's
    ``created_at`` so simulated timelines stay coherent. ``api_key``: ``(key_id, label)`` of
    the API key that sent the decision, stored as ``api_key_id`` and in the audit entry's
    ``after.via_key`` (so a key relaying a person's decision is on record). ``identity``: how
    the command line named the person (``--by`` or ``GROWTHOPS_OPERATOR``, see
    :mod:`growthops.ads.cli.identity`), stored in ``after.identity``. Runs in the
    caller's tenant transaction (never commits).

    Returns the ``ads.decisions`` row plus ``status_before``, ``status`` (the suggestion's new
    status), ``audit_id`` and the suggestion's ``type``, ``platform``, ``entity_type``,
    ``entity_id``, ``entity_name``, ``action``, ``action_params`` and ``confidence``, and
    ``has_ad_account``: whether the tenant has an ad account on the suggestion's platform (an
    approval without one has nothing to execute; read in the same statement so the API does
    not open a transaction after the response to find out, issue 16).

    Raises :class:`InvalidInput` (bad decision, name, notes, channel, naive ``now``),
    :class:`NotFound` (no such suggestion for this tenant: row-level security hides other
    tenants'), :class:`DecisionConflict` (expired, already decided or archived; see module doc).
    """
    sql, params = decide_query(
        tenant_id=tenant_id, suggestion_id=suggestion_id, decision=decision,
        decided_by=decided_by, notes=notes, channel=channel, now=now, api_key=api_key,
        identity=identity)
    return decided(conn, conn.execute(sql, params).fetchone(), params)


def decide_query(
    *,
    tenant_id: UUID | str,
    suggestion_id: int,
    decision: str,
    decided_by: str,
    notes: str | None = None,
    channel: str = "cli",
    now: datetime | None = None,
    api_key: tuple[int, str] | None = None,
    identity: str | None = None,
    live_key: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Return ``(sql, params)``: :func:`decide`'s one statement (:data:`DECIDE_SQL`), for a
    caller that sends it itself: the API sends it alone on an autocommit connection, where it
    is its own transaction and binds it to ``tenant_id`` (issue 16, docs/performance.md §11).

    Arguments as :func:`decide`; raises its :class:`InvalidInput`. ``live_key``: an API key's
    id; the statement then decides only while that key exists in the tenant and is not revoked
    (read under the statement's own snapshot, the suggestion row locked), so a caller that
    commits in the same round trip writes nothing for a key revoked before it, and records the
    key's use as :data:`~growthops.core.auth.api_keys.LIVENESS_SQL` does (``last_used_at``, at
    most one write per key and minute). The API then needs no separate liveness statement: a
    dead key makes the statement match nothing, and the refusal's second transaction checks
    the key first and answers 401 (docs/performance.md §10). Run the statement alone
    (autocommit) or in ``tenant_id``'s transaction (in a transaction bound to another tenant
    it raises ``psycopg.errors.InsufficientPrivilege``), then pass its row (or None) to
    :func:`decided`.
    """
    now = now or datetime.now(UTC)
    who = _check(decision, decided_by, notes, channel, now)
    tid = str(tenant_id)
    after = {"status": decision, "channel": channel, "suggestion_id": suggestion_id,
             **({"via_key": api_key[1]} if api_key else {}),
             **({"identity": identity} if identity else {})}
    # One statement (issue 16): ads.decide_suggestion (migration 0196) holds the conditional
    # UPDATE, the decision row and the audit entry, and binds the transaction to the tenant (it
    # refuses a transaction bound to another one). No row when nothing was decided: nothing is
    # inserted and _refusal says why.
    sql = DECIDE_SQL
    params = {"t": tid, "id": suggestion_id, "decision": decision, "by": who, "now": now,
              "from": list(DECIDABLE_FROM[decision]), "notes": notes, "channel": channel,
              "key": api_key[0] if api_key else None, "action": f"suggestion.{decision}",
              "after": audit.redacted_jsonb(after), "reason": scrub(notes),
              "live_key": live_key}
    return sql, params


def decide_json_query(**kwargs: Any) -> tuple[str, dict[str, Any]]:
    """Return ``(sql, params)``: :func:`decide_query`'s statement (same arguments, same
    :class:`InvalidInput`) answering, instead of the decision's row, ``tenant_id``,
    ``decided_by``, ``has_ad_account`` and ``decision``: the JSON text of
    :class:`growthops.ads.models.DecisionOut` built by PostgreSQL
    (:func:`growthops.core.sqljson.model_select_sql`, the fields in the model's order), so the
    API sends it as the body without decoding the row's columns nor validating and encoding
    them again (issue 16, docs/performance.md §11). No row when nothing was decided (pass the
    params to :func:`decided` with None to learn why)."""
    _, params = decide_query(**kwargs)
    return _decide_json_sql(), params


@functools.cache
def _decide_json_sql() -> str:
    """The text of :func:`decide_json_query`, built once per process."""
    from growthops.ads.models import DecisionOut
    from growthops.core.sqljson import model_select_sql

    fields = list(DecisionOut.model_fields)  # every one a column of the function's row
    return (f"select d.tenant_id, d.decided_by, d.has_ad_account, row_to_json(j)::text"
            f" as decision from {DECIDE_CALL} d"
            f" cross join lateral (select {model_select_sql(DecisionOut, fields, 'd')}) j")


def decided(conn: Any, row: dict[str, Any] | None, params: dict[str, Any]) -> dict[str, Any]:
    """Return :func:`decide`'s answer from its statement's ``row`` (``params`` from
    :func:`decide_query`); with no row, raise why (:class:`NotFound`,
    :class:`DecisionConflict`, read on ``conn`` in the same transaction)."""
    if row is None:
        raise _refusal(conn, tenant_id=params["t"], suggestion_id=params["id"],
                       decision=params["decision"], now=params["now"])
    return dict(row)


# ----------------------------------------------------------------------------------- history
def _fetch_suggestions(conn: Any, tid: str, entity_id: str | None, suggestion_id: int | None,
                       limit: int) -> list[dict[str, Any]]:
    """Live and archived suggestions matching the filters, newest first."""
    cols = ", ".join(HISTORY_COLUMNS)
    return conn.execute(
        f"""select * from (
              select {cols}, false as archived, null::timestamptz as archived_at
              from ads.suggestions where tenant_id = %(t)s
              union all
              select {cols}, true, archived_at from ads.suggestions_archive where tenant_id = %(t)s
            ) s
            where (%(ent)s::text is null or s.entity_id = %(ent)s::text)
              and (%(sid)s::bigint is null or s.suggestion_id = %(sid)s::bigint)
            order by s.created_at desc, s.suggestion_id desc
            limit %(limit)s""",
        {"t": tid, "ent": entity_id, "sid": suggestion_id, "limit": limit},
    ).fetchall()


def history(
    conn: Any,
    *,
    tenant_id: UUID | str,
    entity_id: str | None = None,
    suggestion_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Answer "what changed on this account, who approved it, why, and what happened".

    One entry per suggestion (live or archived; filtered by the platform's ``entity_id`` and/or
    ``suggestion_id``; newest first, at most ``limit``), each a dict::

        {"suggestion": {...HISTORY_COLUMNS, archived, archived_at},
         "decisions":  [{decision_id, decision, decided_by, decided_at, notes, channel,
                         archived}, ...]                      # oldest first
         "executions": [{execution_id, status, action_type, executed_by, claimed_at,
                         executed_at, before_state, intended_state, after_state, success,
                         error_message}, ...]                 # oldest first
         "hypothesis": {hypothesis_id, start_day, measurement_end_date, predicted_metrics,
                        actual_metrics, variance, outcome, measured_at, ...} | None,
         "audit":      [{audit_id, occurred_at, actor, action, before, after, reason}, ...],
         "summary":    "approved by alice (\"ROAS 4x\") -> applied -> validated"}

    Joins ``ads.suggestions`` (+ archive), ``ads.decisions`` (+ archive),
    ``ads.execution_logs``, ``ads.hypothesis_tracking`` and ``ads.audit_log`` (rows about the
    suggestion, about its executions, or carrying its id in ``before``/``after``). Five
    set-based queries whatever the number of suggestions. Raises :class:`InvalidInput` for a
    ``limit`` outside 1..10000.
    """
    if not 1 <= int(limit) <= 10_000:
        raise InvalidInput("limit: must be between 1 and 10000")
    tid = str(tenant_id)
    sugs = _fetch_suggestions(conn, tid, entity_id, suggestion_id, int(limit))
    if not sugs:
        return []
    ids = [s["suggestion_id"] for s in sugs]
    decisions = conn.execute(
        """select suggestion_id, decision_id, decision, decided_by, decided_at, notes, channel,
                  archived
           from (select suggestion_id, decision_id, decision, decided_by, decided_at, notes,
                        channel, false as archived
                 from ads.decisions where tenant_id = %(t)s and suggestion_id = any(%(ids)s)
                 union all
                 select suggestion_id, decision_id, decision, decided_by, decided_at, notes,
                        channel, true
                 from ads.decisions_archive
                 where tenant_id = %(t)s and suggestion_id = any(%(ids)s)) d
           order by decided_at, decision_id""",
        {"t": tid, "ids": ids},
    ).fetchall()
    executions = conn.execute(
        """select suggestion_id, execution_id, status, action_type, platform, entity_id,
                  executed_by, claimed_at, executed_at, before_state, intended_state,
                  after_state, success, error_message
           from ads.execution_logs where tenant_id = %(t)s and suggestion_id = any(%(ids)s)
           order by claimed_at, execution_id""",
        {"t": tid, "ids": ids},
    ).fetchall()
    hypotheses = conn.execute(
        """select suggestion_id, hypothesis_id, execution_id, hypothesis_text, start_day,
                  measurement_period_days, measurement_end_date, predicted_metrics,
                  baseline_metrics, actual_metrics, counterfactual, variance, outcome,
                  why_accurate, why_inaccurate, measured_at
           from ads.hypothesis_tracking where tenant_id = %(t)s and suggestion_id = any(%(ids)s)""",
        {"t": tid, "ids": ids},
    ).fetchall()
    text_ids = [str(i) for i in ids]
    exec_to_sug = {str(e["execution_id"]): str(e["suggestion_id"]) for e in executions}
    audit_rows = conn.execute(
        """select audit_id, occurred_at, actor, action, object_type, object_id, platform,
                  entity_id, before, after, reason,
                  case when object_type = 'suggestion' and object_id = any(%(ids)s) then object_id
                       when after->>'suggestion_id' = any(%(ids)s) then after->>'suggestion_id'
                       when before->>'suggestion_id' = any(%(ids)s) then before->>'suggestion_id'
                  end as sid
           from ads.audit_log
           where tenant_id = %(t)s
             and ((object_type = 'suggestion' and object_id = any(%(ids)s))
                  or (object_type = 'execution' and object_id = any(%(execs)s))
                  or after->>'suggestion_id' = any(%(ids)s)
                  or before->>'suggestion_id' = any(%(ids)s))
           order by occurred_at, audit_id""",
        {"t": tid, "ids": text_ids, "execs": list(exec_to_sug)},
    ).fetchall()
    by_sid: dict[str, dict[str, Any]] = {
        str(s["suggestion_id"]): {"suggestion": s, "decisions": [], "executions": [],
                                  "hypothesis": None, "audit": []}
        for s in sugs
    }
    for d in decisions:
        by_sid[str(d.pop("suggestion_id"))]["decisions"].append(d)
    for e in executions:
        by_sid[str(e.pop("suggestion_id"))]["executions"].append(e)
    for h in hypotheses:
        by_sid[str(h.pop("suggestion_id"))]["hypothesis"] = h
    for a in audit_rows:
        sid = a.pop("sid") or exec_to_sug.get(a["object_id"])
        if sid in by_sid:
            by_sid[sid]["audit"].append(a)
    out = [by_sid[str(i)] for i in ids]
    for entry in out:
        entry["summary"] = summarize(entry)
    return out


def summarize(entry: dict[str, Any]) -> str:
    """Return a one-line English account of a :func:`history` entry (decisions → outcome).

    E.g. ``backlog by bob -> approved by alice ("ROAS 4x") -> applied -> validated``;
    ``pending`` or ``expired`` when nobody decided.
    """
    parts = []
    for d in entry["decisions"]:
        why = f' ("{d["notes"]}")' if d.get("notes") else ""
        parts.append(f"{d['decision']} by {d['decided_by']}{why}")
    if entry["executions"]:
        parts.append(entry["executions"][-1]["status"])
    hyp = entry.get("hypothesis")
    if hyp is not None:
        parts.append(hyp["outcome"] or f"measuring until {hyp['measurement_end_date']}")
    status = entry["suggestion"]["status"]
    if not parts or (not entry["executions"] and status not in DECISIONS and status != "pending"):
        parts.append(status)
    return " -> ".join(parts)


# ------------------------------------------------------------------------------- read models
#: Every suggestion status (migration 0004).
SUGGESTION_STATUSES = ("pending", "approved", "refused", "backlog", "executing", "executed",
                       "expired", "failed", "blocked")


#: Review order of :func:`list_suggestions` (SQL over ``ads.suggestions``).
_REVIEW_ORDER = ("array_position(array['critical', 'high', 'medium', 'low'], priority), "
                 "confidence desc, suggestion_id")
_LIST_WHERE = "tenant_id = %(t)s and (%(status)s::text is null or status = %(status)s::text)"


def _list_params(tenant_id: UUID | str, status: str | None, limit: int,
                 offset: int) -> dict[str, Any]:
    """Check the list's arguments (InvalidInput) and return the query parameters."""
    if status is not None and status not in SUGGESTION_STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(SUGGESTION_STATUSES)}")
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput("limit: must be between 1 and 1000")
    if int(offset) < 0:
        raise InvalidInput("offset: must be 0 or more")
    return {"t": str(tenant_id), "status": status, "limit": int(limit), "offset": int(offset)}


def list_suggestions(
    conn: Any,
    *,
    tenant_id: UUID | str,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: live suggestions in review order, paginated.

    Review order: priority (critical, high, medium, low), confidence (highest first), id.
    ``status`` None lists every status. Rows carry :data:`HISTORY_COLUMNS`. Raises
    :class:`InvalidInput` for an unknown status, ``limit`` outside 1..1000 or negative ``offset``.
    """
    params = _list_params(tenant_id, status, limit, offset)
    # the page and the total in one round trip (issue 16): the window count is computed over
    # every matching row before limit/offset; a page past the end has no row to carry it
    rows = conn.execute(
        f"""select {', '.join(HISTORY_COLUMNS)}, count(*) over () as total_rows
            from ads.suggestions where {_LIST_WHERE}
            order by {_REVIEW_ORDER}
            limit %(limit)s offset %(offset)s""",
        params,
    ).fetchall()
    if rows:
        total = rows[0]["total_rows"]
        for r in rows:
            del r["total_rows"]
    elif params["offset"]:
        total = conn.execute(f"select count(*) as n from ads.suggestions where {_LIST_WHERE}",
                             params).fetchone()["n"]
    else:
        total = 0
    return rows, int(total)


def suggestion_page_query(
    *,
    tenant_id: UUID | str,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[str, dict[str, Any]]:
    """Return ``(sql, params)`` of one query answering the list's page as JSON text.

    The same rows, order, total and errors as :func:`list_suggestions`; the query's one row has
    two columns. ``page``: the JSON of :class:`growthops.ads.models.SuggestionPage` (``items``,
    ``total``, ``limit``, ``offset``, ``next_offset``) built by PostgreSQL
    (:func:`growthops.core.sqljson.model_select_sql`), so the route sends it as the body without
    decoding the ``jsonb`` columns nor encoding them again (issue 16, docs/performance.md §7).
    The total comes from a window count over the matching rows; for a page past the end (no
    row to carry it) from a count that PostgreSQL evaluates only then. ``version``: what
    :func:`suggestion_version_query` answers, read with the page (same statement, same
    snapshot). Run it inside the tenant's transaction (row-level security).
    """
    return _suggestion_page_sql(), _list_params(tenant_id, status, limit, offset)


def suggestion_version_query(
    *, tenant_id: UUID | str, status: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Return ``(sql, params)`` of a query whose one row's ``version`` (32 hex characters)
    changes whenever the list's pages of ``status`` could: the MD5 of the matching rows' tuple
    versions (``ctid`` and ``xmin`` of every row the list's filter matches, not only one
    page's) and of the session settings the page's JSON depends on (``TimeZone``,
    ``extra_float_digits``). About a fifth of the page's cost in PostgreSQL (no JSON, a
    simpler plan: 0.23–0.30 against 1.0–1.7 ms of backend CPU, docs/performance.md §9).

    Why it is exact: a page is a function of the matching rows' contents, the arguments and
    those settings; any change to a row (an ``UPDATE``, even to the same values) writes a new
    tuple version with a new ``xmin`` and ``ctid``, an insert or a delete changes the set, and
    a table rewrite (``VACUUM FULL``, ``CLUSTER``) moves the ``ctid``s: each gives a new
    version (a page read again, never a stale one). Two different sets share a version only
    through an MD5 collision or the reuse of a transaction id at the same ``ctid`` after a
    wrap-around (4 billion transactions later): a caller bounds how long it trusts a version
    (:data:`growthops.ads.api.suggestions.PAGE_CACHE_SECONDS`). Run it inside the tenant's
    transaction (row-level security).
    """
    params = _list_params(tenant_id, status, 1, 0)  # InvalidInput for an unknown status
    return _VERSION_SQL, {"t": params["t"], "status": params["status"]}


_VERSION_EXPR = ("md5(concat_ws('|', current_setting('TimeZone'), "
                 "current_setting('extra_float_digits'), "
                 "string_agg(ctid::text || ':' || xmin::text, ',' order by ctid)))")
_VERSION_SQL = f"select {_VERSION_EXPR} as version from ads.suggestions where {_LIST_WHERE}"


@functools.cache
def _suggestion_page_sql() -> str:
    """The text of :func:`suggestion_page_query` (the same for every call: everything that
    varies is a parameter), built once per process: writing the select list from the model
    cost about 0.1 ms per request (issue 16, docs/performance.md §9)."""
    from growthops.ads.models import SuggestionOut
    from growthops.core.sqljson import model_select_sql

    total = (f"coalesce(max(p.total_rows), case when %(offset)s > 0 then (select count(*) "
             f"from ads.suggestions where {_LIST_WHERE}) else 0 end)")
    # the review order again, over the items' fields (all three are SuggestionOut's)
    order = ("array_position(array['critical', 'high', 'medium', 'low'], x.priority), "
             "x.confidence desc, x.suggestion_id")
    return f"""with p as (
            select {', '.join(HISTORY_COLUMNS)}, count(*) over () as total_rows
            from ads.suggestions where {_LIST_WHERE}
            order by {_REVIEW_ORDER}
            limit %(limit)s offset %(offset)s)
        select json_build_object(
                 'items', coalesce((select json_agg(x order by {order})
                                    from (select {model_select_sql(SuggestionOut,
                                                                   HISTORY_COLUMNS, "p")}
                                          from p) x), '[]'::json),
                 'total', t.total,
                 'limit', %(limit)s::int,
                 'offset', %(offset)s::int,
                 'next_offset', case when t.n > 0 and %(offset)s::int + t.n < t.total
                                     then %(offset)s::int + t.n end)::text as page,
               (select {_VERSION_EXPR} from ads.suggestions where {_LIST_WHERE}) as version
        from (select count(*) as n, {total} as total from p) t"""


def get_suggestion(conn: Any, *, tenant_id: UUID | str, suggestion_id: int) -> dict[str, Any]:
    """Return one suggestion, live or archived (``archived``, ``archived_at``), or NotFound."""
    rows = _fetch_suggestions(conn, str(tenant_id), None, suggestion_id, 1)
    if not rows:
        raise NotFound(f"no suggestion {suggestion_id} for this tenant")
    return rows[0]
