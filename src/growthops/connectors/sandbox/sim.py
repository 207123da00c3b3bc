"""The simulation side of the sandbox account: advancing days, and the hidden truth.

Mixed into :class:`~growthops.connectors.sandbox.account.SandboxAccount`: :meth:`advance`
simulates whole days with the budgets, bids and statuses in force and writes them as an import
would; :meth:`true_response`, :meth:`true_params` and :meth:`learning_resets` expose the truth
the model draws from, for the benchmarks' oracle and the tests (``docs/sandbox.md``). Every
method runs in the caller's transaction and never commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from growthops.connectors.base import PlatformError
from growthops.connectors.sandbox.model import (
    SandboxParams,
    SimState,
    expected_daily,
    fatigue_factor,
    simulate_day,
)
from growthops.connectors.sandbox.store import (
    apply_due_pending,
    save_state,
    sim_from_rows,
    write_days,
)
from growthops.core.errors import InvalidInput, NotFound


class SandboxSimulation:
    """Advance and truth of the sandbox account (needs ``conn``, ``tenant_id``, ``platform``,
    ``seed``, ``last_day`` and ``params`` from the account)."""

    conn: Any
    tenant_id: Any
    platform: str
    seed: int
    last_day: date
    params: SandboxParams

    # -- simulation -----------------------------------------------------------------------------
    def _load_sim(self, *, lock: bool = False) -> tuple[SimState, list[dict[str, Any]]]:
        """Read the account and its entities into a :class:`SimState` (two queries)."""
        acc = self.conn.execute(
            "select * from ads.sandbox_accounts where tenant_id = %s and platform = %s"
            + (" for update" if lock else ""),
            [self.tenant_id, self.platform],
        ).fetchone()
        if acc is None:
            raise NotFound(
                f"no sandbox account for tenant {self.tenant_id} on platform {self.platform!r}"
            )
        self.last_day = acc["last_day"]
        self.params = SandboxParams.from_json(acc["params"])
        rows = self.conn.execute(
            "select * from ads.sandbox_entities where tenant_id = %s and platform = %s order by ordinal",
            [self.tenant_id, self.platform],
        ).fetchall()
        return sim_from_rows(rows), rows

    def advance(self, conn: Any = None, days: int = 1) -> date:
        """Simulate the ``days`` days after the last one and write them; return the new last day.

        Uses the budgets, bids and statuses in force (what executions changed). Writes the new
        days' rows into ``ads.metrics_daily`` (conversions as reported so far), adds the delayed
        conversions now reported to the earlier days' rows, and saves the state. ``conn``
        (default: the bound connection) rebinds the account. :class:`InvalidInput` if
        ``days`` < 1. Locks the account row, so two concurrent advances serialise.
        """
        if conn is not None:
            self.conn = conn
        if days < 1:
            raise InvalidInput(f"days: {days} must be at least 1")
        st, rows = self._load_sim(lock=True)
        start = self.last_day + timedelta(days=1)
        outs = [
            simulate_day(st, self.params, self.seed, start + timedelta(days=i)) for i in range(days)
        ]
        as_of = outs[-1].day
        apply_due_pending(self.conn, self.tenant_id, self.platform, as_of)
        write_days(self.conn, self.tenant_id, self.platform, rows, st, outs, as_of)
        save_state(self.conn, self.tenant_id, self.platform, st)
        self.conn.execute(
            "update ads.sandbox_accounts set last_day = %s, updated_at = now() "
            "where tenant_id = %s and platform = %s",
            [as_of, self.tenant_id, self.platform],
        )
        self.last_day = as_of
        return as_of

    # -- the truth, for oracles and tests ---------------------------------------------------------
    def true_response(self, entity_id: str, spend: Any, *, fatigue: bool = True) -> dict[str, Any]:
        """Return the expected daily ``conversions`` and ``value`` of an ad set at daily ``spend``.

        The steady-state truth the simulation draws from: Hill curve × the ads' current fatigue,
        day-of-week averaged, out of the learning phase, no bid cap. ``spend`` in major units, a
        number or an array (the result has its shape). :class:`PlatformError` 'not_found' /
        'unsupported' for an unknown id or a non-ad-set.
        """
        st, rows = self._load_sim()
        if entity_id not in st.s_ids:
            known = {r["entity_id"] for r in rows}
            raise PlatformError(
                f"{entity_id}: " + ("not an ad set" if entity_id in known else "no such entity"),
                code="unsupported" if entity_id in known else "not_found",
            )
        s = st.s_ids.index(entity_id)
        x = np.asarray(spend, float)
        conv, value = expected_daily(st, self.params, s, x, fatigue=fatigue)
        if x.ndim == 0:
            return {"conversions": float(conv), "value": float(value)}
        return {"conversions": conv, "value": value}

    def true_params(self) -> dict[str, dict[str, float]]:
        """Return each ad set's true curve: ``k``, ``alpha``, ``beta``, ``aov``, ``fatigue``.

        ``fatigue`` is the current spend-weighted wear-out multiplier of its active ads (0–1];
        expected conversions per day = ``beta · hill(spend, k, alpha) · fatigue``.
        """
        st, _ = self._load_sim()
        fat = fatigue_factor(
            st.a_cum_impr,
            st.s_audience[st.a_adset],
            self.params.fatigue_wear_in,
            self.params.fatigue_half_life,
        )
        out = {}
        for s, sid in enumerate(st.s_ids):
            mask = (st.a_adset == s) & st.a_active
            w = np.where(mask, st.a_quality * fat, 0.0)
            f = float((w / w.sum() * fat).sum()) if w.sum() > 0 else 0.0
            out[sid] = {
                "k": float(st.s_k[s]),
                "alpha": float(st.s_alpha[s]),
                "beta": float(st.s_beta[s]),
                "aov": float(st.s_aov[s]),
                "fatigue": f,
            }
        return out

    def learning_resets(self, since: datetime | None = None) -> int:
        """Return how many accepted writes restarted a learning phase (since ``since``, UTC)."""
        row = self.conn.execute(
            """select count(*) as n from ads.sandbox_changes
               where tenant_id = %s and platform = %s and significant
                 and (%s::timestamptz is null or changed_at >= %s)""",
            [self.tenant_id, self.platform, since, since],
        ).fetchone()
        return int(row["n"])
