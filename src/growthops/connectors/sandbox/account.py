"""The sandbox ad account: an :class:`~growthops.connectors.base.AdPlatform` persisted in PostgreSQL.

State lives in ``ads.sandbox_accounts`` / ``ads.sandbox_entities`` / ``ads.sandbox_pending`` /
``ads.sandbox_changes`` (migration 0005, tenant-owned, forced RLS); the simulated delivery is
written into ``ads.metrics_daily`` like an import would, at the ad, ad set and campaign levels
(ad sets and campaigns as sums of their ads; reach is not additive: see the model). The model
itself is in :mod:`growthops.connectors.sandbox.model` and ``docs/sandbox.md``.

Writes (budget, status, bid) take effect on the next simulated day: the sandbox simulates
whole days, and ``advance`` simulates the days after the last one written with the budgets and
statuses in force. Every method runs in the caller's transaction and never commits; reads and
writes are set-based (a fixed number of statements per call, whatever the number of entities).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import numpy as np

from growthops.connectors.base import (
    ChangeResult,
    DailyMetrics,
    EntityState,
    LearningStage,
    Level,
    PlatformError,
    Status,
    parse_amount,
)
from growthops.connectors.insights import HourlySpend
from growthops.connectors.sandbox.copy import SandboxCopy
from growthops.connectors.sandbox.model import (
    SandboxParams,
)
from growthops.connectors.sandbox.sim import SandboxSimulation
from growthops.connectors.sandbox.store import (
    CENT,
)
from growthops.core.errors import NotFound

#: Share of a day's spend delivered in each hour 0–23 (account time zone), normalised to 1 when
#: used. An assumption shaped like the delivery curves platforms show in their hourly reports
#: (little overnight, a morning rise, an evening peak), not a published figure; the intraday
#: pacing learns each entity's own curve from these hours like from a real platform's.
HOURLY_PROFILE = (1.2, 0.8, 0.5, 0.4, 0.4, 0.6, 1.2, 2.4, 3.6, 4.4, 4.8, 5.0,
                  5.2, 5.0, 4.8, 4.8, 5.0, 5.4, 6.0, 6.6, 7.0, 6.4, 4.6, 2.6)
#: Meta's ``learning_stage_info.status`` for each sandbox stage.
META_LEARNING_STATUS = {"learning": "LEARNING", "learning_limited": "FAIL", "success": "SUCCESS"}


def _significant(old: Decimal | None, new: Decimal, threshold: float) -> bool:
    """Return True when going from ``old`` to ``new`` is a significant edit.

    Significant: no previous value, or a change larger than ``threshold`` × old plus one cent
    (the cent absorbs the rounding of a change computed as exactly ``threshold``).
    """
    if old is None or old <= 0:
        return True
    return abs(new - old) > Decimal(str(threshold)) * old + CENT


class SandboxAccount(SandboxCopy, SandboxSimulation):
    """A simulated ad account bound to one connection (an :class:`AdPlatform`).

    Build one with :func:`create_sandbox_account` or :meth:`load`. ``platform`` is the label
    its metrics carry in ``ads.metrics_daily`` ('meta' by default); budgets always live on ad
    sets (Meta's ad set budgets). Money in ``Decimal`` major units of ``currency``.
    """

    def __init__(
        self,
        conn: Any,
        *,
        tenant_id: UUID | str,
        platform: str,
        account_id: str,
        seed: int,
        currency: str,
        first_day: date,
        last_day: date,
        params: SandboxParams,
    ) -> None:
        self.conn = conn
        self.tenant_id = UUID(str(tenant_id))
        self.platform = platform
        self.account_id = account_id
        self.seed = int(seed)
        self.currency = currency
        self.first_day = first_day
        self.last_day = last_day
        self.params = params

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def load(cls, conn: Any, *, tenant_id: UUID | str, platform: str = "meta") -> SandboxAccount:
        """Return the tenant's sandbox account on ``platform``; :class:`NotFound` if none."""
        row = conn.execute(
            "select * from ads.sandbox_accounts where tenant_id = %s and platform = %s",
            [tenant_id, platform],
        ).fetchone()
        if row is None:
            raise NotFound(f"no sandbox account for tenant {tenant_id} on platform {platform!r}")
        return cls._from_row(conn, row)

    @classmethod
    def _from_row(cls, conn: Any, row: dict[str, Any]) -> SandboxAccount:
        return cls(
            conn,
            tenant_id=row["tenant_id"],
            platform=row["platform"],
            account_id=row["account_id"],
            seed=row["seed"],
            currency=str(row["currency"]).strip(),
            first_day=row["first_day"],
            last_day=row["last_day"],
            params=SandboxParams.from_json(row["params"]),
        )

    def bind(self, conn: Any) -> SandboxAccount:
        """Return the same account bound to another connection (e.g. a new transaction)."""
        other = SandboxAccount.load(conn, tenant_id=self.tenant_id, platform=self.platform)
        return other

    def __repr__(self) -> str:
        return f"SandboxAccount({self.platform}:{self.account_id}, seed={self.seed}, last_day={self.last_day})"

    # -- reads ----------------------------------------------------------------------------------
    def _rows(
        self, *, entity_id: str | None = None, level: str | None = None, lock: bool = False
    ) -> list[dict[str, Any]]:
        """Entity rows with their parents' statuses (one query)."""
        sql = (
            "select e.*, c.status as campaign_status, s.status as adset_status "
            "from ads.sandbox_entities e "
            "left join ads.sandbox_entities c on c.tenant_id = e.tenant_id and c.platform = e.platform "
            "  and c.entity_id = e.campaign_id "
            "left join ads.sandbox_entities s on s.tenant_id = e.tenant_id and s.platform = e.platform "
            "  and s.entity_id = e.adset_id "
            "where e.tenant_id = %(t)s and e.platform = %(p)s "
            "  and (%(id)s::text is null or e.entity_id = %(id)s) "
            "  and (%(lv)s::text is null or e.level = %(lv)s) "
            "order by case e.level when 'campaign' then 0 when 'adset' then 1 else 2 end, e.ordinal"
        )
        if lock:
            sql += " for update of e"
        return self.conn.execute(
            sql, {"t": self.tenant_id, "p": self.platform, "id": entity_id, "lv": level}
        ).fetchall()

    def _state(self, r: dict[str, Any]) -> EntityState:
        """Turn an entity row into an :class:`EntityState` (Meta-like ``raw``)."""
        eff = r["status"].upper()
        if r["status"] == "active":
            if r.get("campaign_status") not in (None, "active"):
                eff = "CAMPAIGN_PAUSED"
            elif r.get("adset_status") not in (None, "active"):
                eff = "ADSET_PAUSED"
        raw: dict[str, Any] = {"id": r["entity_id"], "effective_status": eff, "sandbox": True}
        stage = r["learning_stage"] if r["level"] == "adset" else "unknown"
        if r["level"] == "adset" and stage in META_LEARNING_STATUS:
            raw["learning_stage_info"] = {
                "status": META_LEARNING_STATUS[stage],
                "conversions": int(r["learning_events"]),
                "last_sig_edit_ts": int(r["last_significant_edit"].timestamp())
                if r["last_significant_edit"]
                else None,
                "learning_since": r["learning_since"].isoformat() if r["learning_since"] else None,
            }
        parent = (
            r["adset_id"]
            if r["level"] == "ad"
            else r["campaign_id"]
            if r["level"] == "adset"
            else None
        )
        return EntityState(
            entity_id=r["entity_id"],
            level=r["level"],
            name=r["name"],
            status=r["status"],
            daily_budget=r["daily_budget"],
            bid_amount=r["bid_amount"],
            parent_id=parent,
            learning_stage=cast(LearningStage, stage),
            raw=raw,
        )

    def list_entities(self, level: Level | None = None) -> list[EntityState]:
        """Return every campaign, ad set and ad (or one level), campaigns first, in creation order."""
        return [self._state(r) for r in self._rows(level=level)]

    def get_entity(self, entity_id: str) -> EntityState:
        """Return one entity; :class:`PlatformError` (code 'not_found') if the account has none."""
        rows = self._rows(entity_id=entity_id)
        if not rows:
            raise PlatformError(
                f"sandbox {self.account_id}: no entity {entity_id!r}", code="not_found"
            )
        return self._state(rows[0])

    def daily_metrics(self, start: date, end: date, level: Level = "ad") -> list[DailyMetrics]:
        """Return the reported delivery per entity and day, ``start``..``end`` inclusive.

        Recent days are incomplete (attribution delay): their conversions grow as later days
        are simulated, like a platform's restated figures.
        """
        rows = self.conn.execute(
            """select entity_id, level, day, spend, impressions, clicks, conversions, conversion_value,
                      reach, entity_name, campaign_id, adset_id, daily_budget
               from ads.metrics_daily
               where tenant_id = %s and platform = %s and level = %s and day between %s and %s
               order by day, entity_id""",
            [self.tenant_id, self.platform, level, start, end],
        ).fetchall()
        return [
            DailyMetrics(
                entity_id=r["entity_id"],
                level=r["level"],
                day=r["day"],
                spend=Decimal(r["spend"]).quantize(CENT),
                impressions=int(r["impressions"]),
                clicks=int(r["clicks"]),
                conversions=int(r["conversions"]),
                conversion_value=Decimal(r["conversion_value"]).quantize(CENT),
                reach=r["reach"],
                name=r["entity_name"],
                campaign_id=r["campaign_id"],
                adset_id=r["adset_id"],
                daily_budget=r["daily_budget"],
            )
            for r in rows
        ]

    def hourly_spend(self, start: date, end: date, level: Level = "adset") -> list[HourlySpend]:
        """Return each simulated day's spend split over its 24 hours, ``start``..``end`` inclusive.

        The sandbox simulates whole days; a day's spend (``ads.metrics_daily``) is spread by
        :data:`HOURLY_PROFILE` in whole cents whose running sum stays exact, so the hours of a
        day add up to its daily row. Impressions and clicks are spread the same way (rounded).
        Hours with no spend are not returned (like a platform's breakdown).
        """
        rows = self.conn.execute(
            """select entity_id, day, spend, impressions, clicks, entity_name, campaign_id
               from ads.metrics_daily
               where tenant_id = %s and platform = %s and level = %s and day between %s and %s
               order by day, entity_id""",
            [self.tenant_id, self.platform, level, start, end],
        ).fetchall()
        shares = np.asarray(HOURLY_PROFILE) / sum(HOURLY_PROFILE)
        out: list[HourlySpend] = []
        for r in rows:
            cents = np.diff(np.round(np.cumsum(float(r["spend"]) * 100 * shares)), prepend=0.0)
            imps = np.diff(np.round(np.cumsum(int(r["impressions"]) * shares)), prepend=0.0)
            clicks = np.diff(np.round(np.cumsum(int(r["clicks"]) * shares)), prepend=0.0)
            out += [HourlySpend(entity_id=r["entity_id"], level=level, day=r["day"], hour=h,
                                spend=Decimal(int(cents[h])) / 100, impressions=int(imps[h]),
                                clicks=int(clicks[h]), name=r["entity_name"],
                                campaign_id=r["campaign_id"] if level != "campaign" else None)
                    for h in range(24) if cents[h] > 0]
        return out

    # -- writes ---------------------------------------------------------------------------------
    def _current_last_day(self) -> date:
        row = self.conn.execute(
            "select last_day from ads.sandbox_accounts where tenant_id = %s and platform = %s",
            [self.tenant_id, self.platform],
        ).fetchone()
        if row is None:
            raise PlatformError(f"sandbox {self.account_id} no longer exists", code="not_found")
        self.last_day = row["last_day"]
        return self.last_day

    def _locked(self, entity_id: str) -> dict[str, Any]:
        rows = self._rows(entity_id=entity_id, lock=True)
        if not rows:
            raise PlatformError(
                f"sandbox {self.account_id}: no entity {entity_id!r}", code="not_found"
            )
        r = rows[0]
        if r["status"] in ("archived", "deleted"):
            raise PlatformError(
                f"{entity_id}: a {r['status']} {r['level']} cannot be edited", code="invalid_state"
            )
        return r

    def _record(
        self,
        entity_id: str,
        field: str,
        before: Any,
        after: Any,
        effective: date,
        significant: bool,
    ) -> int:
        row = self.conn.execute(
            """insert into ads.sandbox_changes
                 (tenant_id, platform, entity_id, field, before_value, after_value, effective_day, significant)
               values (%s, %s, %s, %s, %s, %s, %s, %s) returning change_id""",
            [
                self.tenant_id,
                self.platform,
                entity_id,
                field,
                None if before is None else str(before),
                None if after is None else str(after),
                effective,
                significant,
            ],
        ).fetchone()
        return int(row["change_id"])

    def _restart_learning_sql(self) -> str:
        return (
            "learning_stage = 'learning', learning_since = %(eff)s, learning_events = 0, "
            "last_significant_edit = now()"
        )

    def set_daily_budget(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set an ad set's daily budget (major units, rounded to cents) from the next simulated day.

        A change of more than ``significant_change`` (20 %) restarts the learning phase.
        :class:`PlatformError`: 'not_found'; 'unsupported' on a campaign or an ad (budgets live
        on ad sets); 'invalid_state' on an archived/deleted entity; 'invalid_parameter' below
        ``min_daily_budget`` or above ``max_daily_budget``. ``validate_only`` checks and changes
        nothing.
        """
        new = parse_amount(amount, "daily_budget", positive=False)
        r = self._locked(entity_id)
        before = self._state(r)
        if r["level"] != "adset":
            raise PlatformError(
                f"{entity_id}: budgets live on ad sets in the sandbox, not on a {r['level']}",
                code="unsupported",
            )
        p = self.params
        low = parse_amount(p.min_daily_budget, "min", positive=False)
        high = parse_amount(p.max_daily_budget, "max", positive=False)
        if new < low or new > high:
            raise PlatformError(
                f"daily_budget: {new} {self.currency} is outside "
                f"[{p.min_daily_budget:.2f}, {p.max_daily_budget:.2f}]",
                code="invalid_parameter",
            )
        if validate_only:
            return ChangeResult(
                before,
                replace(before, daily_budget=new),
                {"success": True, "validate_only": True},
                validated_only=True,
            )
        old = r["daily_budget"]
        if old == new:
            return ChangeResult(
                before, before, {"success": True, "id": entity_id, "unchanged": True}
            )
        eff = self._current_last_day() + timedelta(days=1)
        significant = _significant(old, new, p.significant_change)
        sets = "daily_budget = %(v)s, updated_at = now()" + (
            ", " + self._restart_learning_sql() if significant else ""
        )
        self.conn.execute(
            f"update ads.sandbox_entities set {sets} "
            "where tenant_id = %(t)s and platform = %(p)s and entity_id = %(id)s",
            {"v": new, "eff": eff, "t": self.tenant_id, "p": self.platform, "id": entity_id},
        )
        change_id = self._record(entity_id, "daily_budget", old, new, eff, significant)
        return ChangeResult(
            before,
            self.get_entity(entity_id),
            {
                "success": True,
                "id": entity_id,
                "change_id": change_id,
                "learning_restarted": significant,
            },
        )

    def set_status(
        self, entity_id: str, status: Status, *, validate_only: bool = False
    ) -> ChangeResult:
        """Pause, activate, archive or delete an entity from the next simulated day.

        Activating an ad set (or a campaign, for its active ad sets) paused for
        ``reactivation_days`` (7) days or more restarts the learning phase (Meta). Archived and
        deleted entities cannot be edited again. :class:`PlatformError` like
        :meth:`set_daily_budget` ('invalid_parameter' for an unknown status).
        """
        if status not in ("active", "paused", "archived", "deleted"):
            raise PlatformError(
                f"status: {status!r} is not active, paused, archived or deleted",
                code="invalid_parameter",
            )
        r = self._locked(entity_id)
        before = self._state(r)
        if validate_only:
            return ChangeResult(
                before,
                replace(before, status=status),
                {"success": True, "validate_only": True},
                validated_only=True,
            )
        if r["status"] == status:
            return ChangeResult(
                before, before, {"success": True, "id": entity_id, "unchanged": True}
            )
        eff = self._current_last_day() + timedelta(days=1)
        significant = False
        params: dict[str, Any] = {
            "st": status,
            "eff": eff,
            "t": self.tenant_id,
            "p": self.platform,
            "id": entity_id,
        }
        if status == "paused":
            sets = "status = %(st)s, paused_since = %(eff)s"
        else:
            sets = "status = %(st)s, paused_since = null"
            paused_since = r["paused_since"]
            if (
                status == "active"
                and paused_since is not None
                and (eff - paused_since).days >= self.params.reactivation_days
            ):
                if r["level"] == "adset":
                    significant = True
                    sets += ", " + self._restart_learning_sql()
                elif r["level"] == "campaign":
                    significant = True
                    self.conn.execute(
                        "update ads.sandbox_entities set "
                        + self._restart_learning_sql()
                        + " where tenant_id = %(t)s and platform = %(p)s and level = 'adset' "
                        "and campaign_id = %(id)s and status = 'active'",
                        params,
                    )
        self.conn.execute(
            f"update ads.sandbox_entities set {sets}, updated_at = now() "
            "where tenant_id = %(t)s and platform = %(p)s and entity_id = %(id)s",
            params,
        )
        change_id = self._record(entity_id, "status", r["status"], status, eff, significant)
        return ChangeResult(
            before,
            self.get_entity(entity_id),
            {
                "success": True,
                "id": entity_id,
                "change_id": change_id,
                "learning_restarted": significant,
            },
        )

    def set_bid_amount(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set an ad set's bid cap (major units) from the next simulated day.

        A bid cap below the ad set's natural CPA reduces its delivery (see the model). Setting a
        first cap, or changing it by more than 20 %, restarts the learning phase (Meta lists bid
        changes among significant edits). :class:`PlatformError`: 'unsupported' off ad sets,
        'invalid_parameter' for an amount ≤ 0, plus those of :meth:`set_daily_budget`.
        """
        new = parse_amount(amount, "bid_amount", positive=False)
        r = self._locked(entity_id)
        before = self._state(r)
        if r["level"] != "adset":
            raise PlatformError(
                f"{entity_id}: bids are set on ad sets, not on a {r['level']}", code="unsupported"
            )
        if new <= 0:
            raise PlatformError(f"bid_amount: {new} must be positive", code="invalid_parameter")
        if validate_only:
            return ChangeResult(
                before,
                replace(before, bid_amount=new),
                {"success": True, "validate_only": True},
                validated_only=True,
            )
        old = r["bid_amount"]
        if old == new:
            return ChangeResult(
                before, before, {"success": True, "id": entity_id, "unchanged": True}
            )
        eff = self._current_last_day() + timedelta(days=1)
        significant = _significant(old, new, self.params.significant_change)
        sets = "bid_amount = %(v)s, updated_at = now()" + (
            ", " + self._restart_learning_sql() if significant else ""
        )
        self.conn.execute(
            f"update ads.sandbox_entities set {sets} "
            "where tenant_id = %(t)s and platform = %(p)s and entity_id = %(id)s",
            {"v": new, "eff": eff, "t": self.tenant_id, "p": self.platform, "id": entity_id},
        )
        change_id = self._record(entity_id, "bid_amount", old, new, eff, significant)
        return ChangeResult(
            before,
            self.get_entity(entity_id),
            {
                "success": True,
                "id": entity_id,
                "change_id": change_id,
                "learning_restarted": significant,
            },
        )


__all__ = ["SandboxAccount"]
