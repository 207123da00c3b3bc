"""Prototype, not used by the cycle: the window's per-entity sums in numpy (issue 16, measured
slower than the SQL scan it would replace; docs/performance.md §4d, ``bench/window_scan.py``).

:func:`entity_sums` computes the same columns as :func:`growthops.ads.analysis.window._scan_sql`
for one tenant and ``as_of`` (checked equal to 1e-15 relative by ``bench/window_scan.py``):

1. ``COPY (select ...) TO STDOUT (FORMAT binary)`` of the 90 days' rows: the age in days
   (``as_of - day``), a 64-bit hash of the entity key (``hashtextextended`` of
   ``platform|level|entity_id``; platform and level cannot contain ``|``), a 64-bit hash of the
   key with its names (``hash_record_extended``), and nine ``float8`` quantities with NULL sent
   as NaN, so that every record has the same width and the buffer parses with one
   ``np.frombuffer`` (big-endian structured dtype: a 2-byte field count, a 4-byte length before
   each field). Read through psycopg's ``Copy`` (one Python call per row) or libpq directly
   (``transport="libpq"``: ``PGconn.get_copy_data`` in a loop).
2. The names: one row per entity from as few days as cover every entity (greedy; ``as_of``
   alone in daily-synced data). Entities whose second hash is not constant (names changed) get
   ``max()`` in SQL, as the reference; two keys under one hash raise :class:`HashCollision` and
   the read starts over with another seed.
3. The order of ``order by platform, level, entity_id`` (PostgreSQL's collation) by sorting the
   keys in one ``unnest ... with ordinality`` query.

Each quantity and window is then one ``np.bincount`` over the entity index (windows are masks
on the age); the anomaly-history statistics apply the weekday factors per row.
:func:`prepare` then writes ``pg_temp._entity`` with one binary COPY, as
:func:`growthops.ads.analysis.window.prepare_window` would.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg.rows

#: The entity key's hash (platform and level never contain ``|``: the joined text is unambiguous).
_KEY_SQL = "hashtextextended(m.platform || '|' || m.level || '|' || m.entity_id, %(seed)s)"
#: (column, expression) of the rows read; every expression is non-NULL (NaN for NULL).
_ROW_FIELDS: tuple[tuple[str, str], ...] = (
    ("age", "(%(as_of)s::date - m.day)::int4"),
    ("k", "{key}"),
    ("h", "hash_record_extended(row(m.platform, m.level, m.entity_id, m.entity_name, m.campaign_id,"
          " m.adset_id), %(seed)s + 1)"),
    ("spend", "m.spend::float8"),
    ("impressions", "m.impressions::float8"),
    ("clicks", "m.clicks::float8"),
    ("results", "{result}::float8"),
    ("value", "m.conversion_value::float8"),
    ("reach", "coalesce(m.reach::float8, 'NaN')"),
    ("v3s", "coalesce(m.video_3s_views::float8, 'NaN')"),
    ("budget", "coalesce(m.daily_budget::float8, 'NaN')"),
)
_TYPES = {"age": ">i4", "k": ">i8", "h": ">i8"}
_ROW_DTYPE = np.dtype(
    [("n", ">i2")]
    + [x for name, _ in _ROW_FIELDS for x in ((f"l_{name}", ">i4"), (name, _TYPES.get(name, ">f8")))]
)
#: PostgreSQL's binary COPY header: 11-byte signature, 4-byte flags, 4-byte extension length.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TEXT = ("platform", "level", "entity_id", "entity_name", "campaign_id", "adset_id")
#: Count columns (bigint in ``_entity``, as the reference's ``count(*)``); the others are float8.
COUNT_COLUMNS = frozenset({"active_days_90", "days_14", "n_sp_h", "n_sp0_h", "n_imp_h", "n_cpm_h"})


class HashCollision(Exception):
    """Two entities of a tenant share a key hash (retry with another seed)."""


def copy_rows_sql(result: str) -> str:
    """The ``COPY ... TO STDOUT (FORMAT binary)`` statement of the 90 days' rows (parameters
    ``tenant_id``, ``as_of``, ``seed``; ``result`` is the tenant's result expression)."""
    cols = ", ".join(expr.replace("{result}", result).replace("{key}", _KEY_SQL) for _, expr in _ROW_FIELDS)
    return (f"copy (select {cols} from ads.metrics_daily m where m.tenant_id = %(tenant_id)s"
            " and m.day between %(as_of)s::date - 89 and %(as_of)s) to stdout (format binary)")


def parse_rows(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Parse a binary COPY buffer of :data:`_ROW_FIELDS` into a structured array (one record per
    row). Raises ValueError when the buffer is not such a COPY (signature, width, a NULL)."""
    buf = memoryview(data)
    if bytes(buf[:11]) != COPY_SIGNATURE:
        raise ValueError("not a binary COPY buffer")
    ext = int.from_bytes(buf[15:19], "big")
    body = buf[19 + ext: len(buf) - 2]  # the trailer is a field count of -1
    if len(body) % _ROW_DTYPE.itemsize:
        raise ValueError("binary COPY rows of unexpected width (a NULL field?)")
    rows = np.frombuffer(body, dtype=_ROW_DTYPE)
    if len(rows) and (np.any(rows["n"] != len(_ROW_FIELDS)) or np.any(rows["l_spend"] != 8)):
        raise ValueError("binary COPY rows of unexpected layout")
    return rows


#: "psycopg" (Copy iteration) or "libpq" (PGconn.get_copy_data in a loop).
TRANSPORT = "psycopg"


def raw_copy_out(conn: Any, sql: str, params: dict[str, Any]) -> bytes:
    """Run a ``COPY ... TO STDOUT`` through libpq directly and return its bytes (bench only:
    parameters are bound client-side)."""
    from psycopg import ClientCursor, pq

    pg = conn.pgconn
    pg.send_query(ClientCursor(conn).mogrify(sql, params).encode())
    res = pg.get_result()
    if res is None or res.status != pq.ExecStatus.COPY_OUT:
        raise RuntimeError(pg.error_message.decode(errors="replace"))
    chunks = []
    while True:
        n, mv = pg.get_copy_data(0)
        if n < 0:
            break
        chunks.append(bytes(mv))
    while (res := pg.get_result()) is not None:
        if res.status != pq.ExecStatus.COMMAND_OK:
            raise RuntimeError(res.error_message.decode(errors="replace"))
    return b"".join(chunks)


def _read_rows(conn: Any, params: dict[str, Any], result: str) -> np.ndarray:
    if TRANSPORT == "libpq":
        return parse_rows(raw_copy_out(conn, copy_rows_sql(result), params))
    cur = conn.cursor()
    with cur.copy(copy_rows_sql(result), params) as cp:
        data = b"".join(cp)
    return parse_rows(data)


def _names(conn: Any, params: dict[str, Any], keys: np.ndarray, seen: np.ndarray) -> list[tuple[Any, ...]]:
    """One row's (platform, level, entity_id, names) per entity of ``keys`` (sorted key hashes):
    rows of as few days as cover every entity. ``seen[e, a]``: entity e has a row at age a."""
    n = len(keys)
    out: list[tuple[Any, ...] | None] = [None] * n
    todo = np.ones(n, dtype=bool)
    ages: list[int] = []
    while todo.any():
        # The day with a row for the most entities still without names (first: the latest
        # day of most entities, as_of in daily-synced data).
        a = int(np.argmax(seen[todo].sum(axis=0)))
        ages.append(a)
        todo &= ~seen[:, a]
    rows = conn.cursor(row_factory=psycopg.rows.tuple_row).execute(
        f"select {_KEY_SQL} as k, m.platform, m.level, m.entity_id, m.entity_name, m.campaign_id, m.adset_id"
        " from ads.metrics_daily m where m.tenant_id = %(tenant_id)s"
        " and m.day = any(array(select %(as_of)s::date - a from unnest(%(ages)s::int4[]) a))",
        {**params, "ages": ages},
    ).fetchall()
    pos = np.searchsorted(keys, np.array([r[0] for r in rows], dtype=np.int64))
    for p, r in zip(pos.tolist(), rows, strict=True):
        if p < n and keys[p] == r[0]:
            if out[p] is None:
                out[p] = r[1:]
            elif out[p][:3] != r[1:4]:
                raise HashCollision
    assert all(o is not None for o in out)  # every entity has a row on one of the ages chosen
    return out  # type: ignore[return-value]


def _changed_names(conn: Any, params: dict[str, Any], keys: np.ndarray) -> dict[int, tuple[Any, ...]]:
    """``max()`` of each name over the 90 days (the reference's aggregate, in PostgreSQL's
    collation) for the entities whose key hash is in ``keys``; raises HashCollision when one
    hash covers two entity keys."""
    rows = conn.cursor(row_factory=psycopg.rows.tuple_row).execute(
        f"select {_KEY_SQL} as k, m.platform, m.level, m.entity_id, max(m.entity_name), max(m.campaign_id),"
        " max(m.adset_id) from ads.metrics_daily m where m.tenant_id = %(tenant_id)s"
        " and m.day between %(as_of)s::date - 89 and %(as_of)s"
        f" and {_KEY_SQL} = any(%(keys)s::int8[]) group by 1, 2, 3, 4",
        {**params, "keys": [int(k) for k in keys]},
    ).fetchall()
    out: dict[int, tuple[Any, ...]] = {}
    for r in rows:
        if r[0] in out:
            raise HashCollision
        out[r[0]] = r[1:]
    return out


def _order(conn: Any, text: list[tuple[Any, ...]]) -> np.ndarray:
    """Permutation putting ``text``'s keys in ``order by platform, level, entity_id`` order
    (PostgreSQL's collation, as the reference's fetch)."""
    if not text:
        return np.zeros(0, dtype=np.int64)
    cols = list(zip(*(t[:3] for t in text), strict=True))
    rows = conn.cursor(row_factory=psycopg.rows.tuple_row).execute(
        "select o - 1 from unnest(%s::text[], %s::text[], %s::text[]) with ordinality u(p, l, e, o)"
        " order by p, l, e", [list(cols[0]), list(cols[1]), list(cols[2])],
    ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


def entity_sums(conn: Any, *, tenant_id: Any, as_of: date, result: str, spend_f: list[float],
                rate_f: list[float], columns: list[str]) -> dict[str, np.ndarray]:
    """The tenant's entity window for ``as_of``: ``{column: array}`` over its entities in
    ``order by platform, level, entity_id`` order.

    ``columns`` are the reference's numeric columns (``<quantity>_<window>``, see
    :mod:`growthops.ads.analysis.window`); ``spend_f`` and ``rate_f`` the 7 weekday factors
    (ISO weekday 1..7). Text columns (``platform``, ``level``, ``entity_id``, ``entity_name``,
    ``campaign_id``, ``adset_id``) are object arrays; ``budget_today`` is NaN where NULL; sums
    are float64 (0 where no row counts), counts float64 holding integers. Empty dict when the
    tenant has no row in the 90 days.
    """
    for seed in range(8):
        try:
            return _entity_sums(conn, tenant_id=tenant_id, as_of=as_of, result=result, spend_f=spend_f,
                                rate_f=rate_f, columns=columns, seed=seed)
        except HashCollision:
            continue
    raise RuntimeError("entity key hashes collide under 8 seeds")  # pragma: no cover


def _entity_sums(conn: Any, *, tenant_id: Any, as_of: date, result: str, spend_f: list[float],
                 rate_f: list[float], columns: list[str], seed: int) -> dict[str, np.ndarray]:
    params = {"tenant_id": tenant_id, "as_of": as_of, "seed": seed}
    rows = _read_rows(conn, params, result)
    if len(rows) == 0:
        return {}
    keys, idx = np.unique(rows["k"].astype(np.int64), return_inverse=True)
    n = len(keys)
    age = rows["age"].astype(np.int64)
    # Entities whose names changed: the second hash is not constant over their rows.
    h = rows["h"].astype(np.int64)
    first_h = np.empty(n, dtype=h.dtype)
    first_h[idx[::-1]] = h[::-1]  # any one row's hash per entity
    changed = np.unique(idx[h != first_h[idx]])
    seen = np.zeros((n, 90), dtype=bool)
    seen[idx, age] = True
    text = _names(conn, params, keys, seen)
    if len(changed):
        fixed = _changed_names(conn, params, keys[changed])
        for e in changed.tolist():
            text[e] = fixed[int(keys[e])]
    sums = _sums(rows, idx, age, n, as_of, np.asarray(spend_f, dtype=float), np.asarray(rate_f, dtype=float))
    order = _order(conn, text)
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(_TEXT):
        col = np.empty(n, dtype=object)
        col[:] = [text[i][j] for i in order.tolist()]
        out[name] = col
    for name in ("budget_today", *columns):
        out[name] = sums[name][order]
    return out


def _sums(rows: np.ndarray, idx: np.ndarray, age: np.ndarray, n: int, as_of: date,
          spend_f: np.ndarray, rate_f: np.ndarray) -> dict[str, np.ndarray]:
    """Every ``<quantity>_<window>`` column of the reference, by entity index (see the
    reference's QUANTITIES and WINDOW_FILTERS in :mod:`growthops.ads.analysis.window`)."""
    out: dict[str, np.ndarray] = {}

    def total(sel: np.ndarray | None, w: np.ndarray | None) -> np.ndarray:
        if sel is None:
            return np.bincount(idx, weights=w, minlength=n).astype(float)
        return np.bincount(idx[sel], weights=None if w is None else w[sel], minlength=n).astype(float)

    q = {name: rows[name].astype(np.float64) for name in ("spend", "impressions", "clicks", "results",
                                                           "value", "reach", "v3s", "budget")}
    sp, im, cl, rs = q["spend"], q["impressions"], q["clicks"], q["results"]
    reach_ok = ~np.isnan(q["reach"])
    reach0 = np.where(reach_ok, q["reach"], 0.0)
    v3s_ok = ~np.isnan(q["v3s"])
    windows = {"1": age == 0, "7": age < 7, "14": age < 14, "30": age < 30, "90": None,
               "h": (age >= 1) & (age <= 28), "e": (age >= 7) & (age <= 28)}
    per_row = {"spend": sp, "impressions": im, "clicks": cl, "results": rs, "value": q["value"],
               "reach": reach0, "imp_r": np.where(reach_ok, im, 0.0)}
    spans = {"spend": "1 7 14 30 90 e", "impressions": "1 7 14 30 90 h e", "clicks": "1 7 14 30 90 h e",
             "results": "1 7 14 30 90 h e", "value": "1 7 14 30 90", "reach": "1 7 14 30 90 e",
             "imp_r": "1 7 14 30 90 e"}
    for name, ws in spans.items():
        for w in ws.split():
            out[f"{name}_{w}"] = total(windows[w], per_row[name])
    out["v3s_7"] = total(windows["7"], np.where(v3s_ok, q["v3s"], 0.0))
    out["imp_v_7"] = total(windows["7"] & v3s_ok, im)
    out["active_days_90"] = total((sp > 0) | (im > 0), None)
    out["days_14"] = total(windows["14"], None)
    # Anomaly history (days 1..28 before as_of): the weekday factors apply per row.
    hist = windows["h"]
    dow = (as_of - date(2000, 1, 3)).days - age  # days since a Monday; ISO weekday - 1 = dow % 7
    d = np.mod(dow, 7)
    pos = hist & (sp > 0)
    imp = hist & (im > 0)
    cpm = pos & (im > 0)
    out["adj_spend_h"] = total(hist, sp * rate_f[d])
    out["n_sp_h"] = total(pos, None)
    out["n_sp0_h"] = total(hist & (sp == 0), None)
    out["n_imp_h"] = total(imp, None)
    out["n_cpm_h"] = total(cpm, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rss_h"] = total(pos, rs ** 2 / (sp * rate_f[d]))
        out["css_h"] = total(imp, cl ** 2 / im)
        ls = np.log(sp / spend_f[d])
        out["ls_h"] = total(pos, ls)
        out["ls2_h"] = total(pos, ls ** 2)
        lc = np.log(1000 * sp / im)
        out["lc_h"] = total(cpm, lc)
        out["lc2_h"] = total(cpm, lc ** 2)
    budget = np.full(n, np.nan)
    today = age == 0
    budget[idx[today]] = q["budget"][today]
    out["budget_today"] = budget
    return out


def entity_columns() -> list[tuple[str, str]]:
    """The numeric columns of ``_entity`` after ``budget_today``, in :func:`_scan_sql`'s order,
    with their SQL types (``bigint`` for counts, as ``count(*)``; ``float8`` for sums)."""
    from growthops.ads.analysis.window import QUANTITIES

    cols: list[str] = []
    for name, (_, windows) in QUANTITIES.items():
        cols += [f"{name}_{w}" for w in windows if w not in ("30", "90")]
        cols += [f"{name}_{w}" for w in ("30", "90") if w in windows]
    return [(c, "bigint" if c in COUNT_COLUMNS else "float8") for c in cols]


def _write_entity(conn: Any, E: dict[str, np.ndarray], columns: list[tuple[str, str]]) -> None:
    """Create ``pg_temp._entity`` (dropped at commit) and load ``E`` into it with one binary
    COPY: the six text columns and ``budget_today`` (NULL for NaN) then the numeric columns."""
    import struct

    text = ("platform", "level", "entity_id", "entity_name", "campaign_id", "adset_id")
    conn.execute(
        "create temp table _entity (" + ", ".join(f"{c} text" for c in text) + ", budget_today float8, "
        + ", ".join(f"{c} {t}" for c, t in columns) + ") on commit drop"
    )
    n = len(E.get("platform", ()))
    if n == 0:
        return
    fixed = np.empty(n, dtype=[x for c, t in columns for x in ((f"l_{c}", ">i4"),
                                                                 (c, ">i8" if t == "bigint" else ">f8"))])
    for c, t in columns:
        fixed[f"l_{c}"] = 8
        fixed[c] = np.rint(E[c]).astype(np.int64) if t == "bigint" else E[c]
    raw = fixed.tobytes()
    w = fixed.dtype.itemsize
    head = struct.pack(">h", len(text) + 1 + len(columns))
    null = struct.pack(">i", -1)
    parts = [COPY_SIGNATURE, bytes(8)]
    cols = [E[c].tolist() for c in text]
    budget = E["budget_today"].tolist()
    for i in range(n):
        parts.append(head)
        for col in cols:
            v = col[i]
            if v is None:
                parts.append(null)
            else:
                b = v.encode()
                parts.append(struct.pack(">i", len(b)) + b)
        b = budget[i]
        parts.append(null if b != b else struct.pack(">id", 8, b))
        parts.append(raw[i * w:(i + 1) * w])
    parts.append(struct.pack(">h", -1))
    with conn.cursor().copy("copy _entity from stdin (format binary)") as cp:
        cp.write(b"".join(parts))


def prepare(conn: Any, ctx: Any, as_of: date) -> dict[str, np.ndarray]:
    """What :func:`growthops.ads.analysis.window.prepare_window` does, with the numpy sums:
    the weekday factors, :func:`entity_sums`, ``pg_temp._entity`` written; returns the columns."""
    from growthops.ads.analysis.window import WORK_MEM, dow_factors

    conn.execute("select set_config('work_mem', %s, true)", [WORK_MEM])
    spend_f, rate_f = dow_factors(conn, ctx, as_of)
    columns = entity_columns()
    E = entity_sums(conn, tenant_id=ctx.tenant_id, as_of=as_of, result=ctx.result_sql(), spend_f=spend_f,
                    rate_f=rate_f, columns=[c for c, _ in columns])
    _write_entity(conn, E, columns)
    return E
