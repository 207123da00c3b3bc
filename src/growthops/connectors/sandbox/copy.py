"""Copies of sandbox ad sets and ads with one change (a creative or audience test's variant B).

Mixed into :class:`~growthops.connectors.sandbox.account.SandboxAccount`. Like Meta's
``POST /{id}/copies`` with ``status_option=PAUSED``: the copy is created paused, under the same
parent (an ad set copy brings copies of its ads, as ``deep_copy``), named with a suffix, then
the one change is applied. It delivers from the first simulated day after it is activated.

Changes the simulation understands (the hidden truth of ``docs/sandbox.md``): an ad's
``quality`` or ``ctr`` (a new creative), an ad set's ``audience`` (size), ``daily_budget`` or
``bid_amount``; ``creative``, ``targeting`` and ``optimization_goal`` are accepted and recorded
on the copy but change nothing in the simulation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from growthops.connectors.base import ChangeResult, EntityState, PlatformError, parse_amount

COPY_FIELDS = {
    "ad": ("quality", "ctr", "creative"),
    "adset": ("audience", "daily_budget", "bid_amount", "targeting", "optimization_goal"),
}
SIM_PARAMS = ("quality", "ctr", "audience")


def _one_change(level: str, changes: dict[str, Any]) -> tuple[str, Any]:
    fields = [k for k in changes if k != "name"]
    if len(fields) != 1 or fields[0] not in COPY_FIELDS.get(level, ()):
        raise PlatformError(
            f"changes: exactly one of {', '.join(COPY_FIELDS.get(level, ()))} for a copy of an "
            f"{level} (got {', '.join(fields) or 'none'})", code="invalid_parameter")
    return fields[0], changes[fields[0]]


class SandboxCopy:
    """The copy operation of the sandbox account (needs ``conn``, ``tenant_id``, ``platform``,
    ``get_entity`` and ``_rows`` from the account)."""

    conn: Any
    tenant_id: Any
    platform: str

    def get_entity(self, entity_id: str) -> EntityState:  # pragma: no cover - the account's
        raise NotImplementedError

    def _rows(self, **kw: Any) -> list[dict[str, Any]]:  # pragma: no cover - the account's
        raise NotImplementedError

    def copy_entity(self, entity_id: str, *, changes: dict[str, Any], name_suffix: str = " - copy",
                    validate_only: bool = False) -> ChangeResult:
        """Copy an ad set (with its ads) or an ad, paused, with one change; return the source as
        ``before`` and the copy as ``after``. :class:`PlatformError` 'unsupported' for a
        campaign, 'invalid_parameter' for anything but exactly one known change, 'not_found'."""
        before = self.get_entity(entity_id)
        if before.level not in COPY_FIELDS:
            raise PlatformError(f"{entity_id}: only ad sets and ads can be copied for a test",
                                code="unsupported")
        field, value = _one_change(before.level, changes)
        if field in ("daily_budget", "bid_amount"):
            value = parse_amount(value, field)
        elif field in ("quality", "ctr", "audience"):
            try:
                value = float(value)
            except (TypeError, ValueError) as exc:
                raise PlatformError(f"{field}: {value!r} is not a number",
                                    code="invalid_parameter") from exc
            if value <= 0 or (field == "ctr" and value >= 1):
                raise PlatformError(f"{field}: {value!r} is out of range", code="invalid_parameter")
        name = str(changes.get("name") or f"{before.name}{name_suffix}")
        if validate_only:
            return ChangeResult(before, replace(before, entity_id="", name=name, status="paused"),
                                {"success": True, "validate_only": True}, validated_only=True)
        src = self._rows(entity_id=entity_id)[0]
        kids = self._rows(level="ad") if before.level == "adset" else []
        kids = [k for k in kids if k["adset_id"] == entity_id]
        n = self.conn.execute(
            "select count(*) + coalesce(max(ordinal), 0) as n from ads.sandbox_entities "
            "where tenant_id = %s and platform = %s", [self.tenant_id, self.platform]).fetchone()["n"]
        new_id = f"{entity_id}-x{n}"
        rows = [self._copied(src, new_id, name, n, field, value, src["adset_id"])]
        for i, k in enumerate(kids):
            rows.append(self._copied(k, f"{new_id}-a{i + 1}", k["name"], n + 1 + i, None, None,
                                     new_id))
        self.conn.execute(
            """insert into ads.sandbox_entities (tenant_id, platform, entity_id, level, name,
                   campaign_id, adset_id, ordinal, status, daily_budget, bid_amount, learning_stage,
                   learning_since, paused_since, params)
               select %s, %s, x.entity_id, x.level, x.name, x.campaign_id, x.adset_id, x.ordinal,
                      'paused', x.daily_budget, x.bid_amount, x.learning_stage,
                      case when x.level = 'adset' then a.last_day + 1 end, a.last_day + 1, x.params
               from ads.sandbox_accounts a, jsonb_to_recordset(%s::jsonb) as x(entity_id text, level text, name text,
                    campaign_id text, adset_id text, ordinal int, daily_budget numeric,
                    bid_amount numeric, learning_stage text, params jsonb)
               where a.tenant_id = %s and a.platform = %s""",
            [self.tenant_id, self.platform, json.dumps(rows), self.tenant_id, self.platform])
        return ChangeResult(before, self.get_entity(new_id),
                            {"success": True, "copied_id": new_id, "source_id": entity_id,
                             "status_option": "PAUSED", "change": {field: str(value)},
                             "copied_children": [r["entity_id"] for r in rows[1:]]})

    @staticmethod
    def _copied(src: dict[str, Any], new_id: str, name: str, ordinal: int, field: str | None,
                value: Any, adset_id: str | None) -> dict[str, Any]:
        params = dict(src["params"] or {})
        budget, bid = src["daily_budget"], src["bid_amount"]
        if field in SIM_PARAMS:
            params[field] = value
        elif field == "daily_budget":
            budget = value
        elif field == "bid_amount":
            bid = value
        elif field is not None:
            params[f"copy_{field}"] = value   # recorded, not simulated
        return {"entity_id": new_id, "level": src["level"], "name": name,
                "campaign_id": src["campaign_id"], "adset_id": adset_id, "ordinal": ordinal,
                "daily_budget": str(budget) if isinstance(budget, Decimal) else budget,
                "bid_amount": str(bid) if isinstance(bid, Decimal) else bid,
                "learning_stage": "learning" if src["level"] == "adset" else "unknown",
                "params": params}
