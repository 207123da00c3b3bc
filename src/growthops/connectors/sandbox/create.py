"""Create a sandbox account (entities, hidden truth, history) and advance one by tenant."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.connectors.sandbox.account import SandboxAccount
from growthops.connectors.sandbox.model import SandboxParams, draw_entities, simulate_day
from growthops.connectors.sandbox.store import CENT, save_state, sim_from_rows, write_days
from growthops.core.errors import Conflict, InvalidInput, NotFound

PLATFORMS = ("meta", "google", "display", "tiktok", "linkedin", "other")


def create_sandbox_account(
    conn: Any,
    *,
    tenant_id: UUID | str,
    seed: int,
    start: date,
    days_history: int,
    campaigns: int = 2,
    adsets_per_campaign: int = 3,
    ads_per_adset: int = 2,
    currency: str | None = None,
    platform: str = "meta",
    params: SandboxParams | None = None,
    account_id: str | None = None,
) -> SandboxAccount:
    """Create a simulated account with ``days_history`` days of delivery from ``start``.

    Draws the account's hidden truth from ``seed`` (see :class:`SandboxParams`), creates
    ``campaigns`` × ``adsets_per_campaign`` ad sets (each with a daily budget, all starting in
    the learning phase on ``start``) × ``ads_per_adset`` ads, simulates ``start`` ..
    ``start + days_history - 1`` and writes: ``ads.metrics_daily`` (ad, ad set and campaign
    rows, conversions as reported by the last day), the sandbox state tables, and the
    ``ads.ad_accounts`` row (connector 'sandbox'). ``currency`` defaults to the tenant's.
    Deterministic for (seed, start, shape, params). Runs in the caller's tenant transaction.

    Raises :class:`InvalidInput` for a bad shape or platform, :class:`Conflict` when the tenant
    already has an ad account on ``platform``.
    """
    if platform not in PLATFORMS:
        raise InvalidInput(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    for name, v, lo, hi in (
        ("campaigns", campaigns, 1, 50),
        ("adsets_per_campaign", adsets_per_campaign, 1, 50),
        ("ads_per_adset", ads_per_adset, 1, 20),
        ("days_history", days_history, 0, 3650),
    ):
        if not lo <= int(v) <= hi:
            raise InvalidInput(f"{name}: {v} is outside [{lo}, {hi}]")
    p = params or SandboxParams()
    exists = conn.execute(
        "select connector, account_id from ads.ad_accounts where tenant_id = %s and platform = %s",
        [tenant_id, platform],
    ).fetchone()
    if exists:
        raise Conflict(
            f"tenant {tenant_id} already has a {exists['connector']} account "
            f"{exists['account_id']!r} on platform {platform!r}"
        )
    if currency is None:
        row = conn.execute(
            "select currency from core.tenants where tenant_id = %s", [tenant_id]
        ).fetchone()
        if row is None:
            raise NotFound(f"tenant {tenant_id} not found")
        currency = str(row["currency"]).strip()
    account_id = account_id or f"sandbox-{seed}"

    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5A4D])
    truth = draw_entities(rng, p, campaigns, adsets_per_campaign, ads_per_adset)
    n_s = campaigns * adsets_per_campaign
    ent: list[dict[str, Any]] = []
    ordinal = 0
    for c in range(campaigns):
        cname = p.campaign_names[c % len(p.campaign_names)] + (
            f" {c // len(p.campaign_names) + 1}" if c >= len(p.campaign_names) else ""
        )
        cid = f"sbx-c{c + 1}"
        ent.append(
            {
                "entity_id": cid,
                "level": "campaign",
                "name": cname,
                "campaign_id": None,
                "adset_id": None,
                "ordinal": ordinal,
                "daily_budget": None,
                "params": {},
                "learning_stage": "unknown",
                "learning_since": None,
            }
        )
        ordinal += 1
    for s in range(n_s):
        c = s // adsets_per_campaign
        cid = f"sbx-c{c + 1}"
        sid = f"{cid}-s{s % adsets_per_campaign + 1}"
        ent.append(
            {
                "entity_id": sid,
                "level": "adset",
                "name": f"{ent[c]['name']} · Audience {s % adsets_per_campaign + 1}",
                "campaign_id": cid,
                "adset_id": None,
                "ordinal": ordinal,
                "daily_budget": Decimal(int(truth["budget"][s])).quantize(CENT),
                "params": {
                    "k": float(truth["k"][s]),
                    "alpha": float(truth["alpha"][s]),
                    "beta": float(truth["beta"][s]),
                    "aov": float(truth["aov"][s]),
                    "cpm": float(truth["cpm"][s]),
                    "audience": float(truth["audience"][s]),
                    "roas_at_budget": float(truth["roas"][s]),
                    "initial_budget": float(truth["budget"][s]),
                },
                "learning_stage": "learning",
                "learning_since": start,
            }
        )
        ordinal += 1
    for a in range(n_s * ads_per_adset):
        s = a // ads_per_adset
        parent = ent[campaigns + s]
        ent.append(
            {
                "entity_id": f"{parent['entity_id']}-a{a % ads_per_adset + 1}",
                "level": "ad",
                "name": f"{parent['name']} · Creative {a % ads_per_adset + 1}",
                "campaign_id": parent["campaign_id"],
                "adset_id": parent["entity_id"],
                "ordinal": ordinal,
                "daily_budget": None,
                "params": {"ctr": float(truth["ctr"][a]), "quality": float(truth["quality"][a])},
                "learning_stage": "unknown",
                "learning_since": None,
            }
        )
        ordinal += 1
    for e in ent:
        e.update(
            status="active",
            bid_amount=None,
            learning_events=0,
            exposure_stock=0,
            week_spend_cents=0,
            week_budget_cents=0,
        )

    st = sim_from_rows(ent)
    last_day = start - timedelta(days=1)
    outs = [simulate_day(st, p, seed, start + timedelta(days=i)) for i in range(days_history)]
    if outs:
        last_day = outs[-1].day

    conn.execute(
        """insert into ads.sandbox_accounts
             (tenant_id, platform, account_id, seed, currency, first_day, last_day, params)
           values (%s, %s, %s, %s, %s, %s, %s, %s)""",
        [tenant_id, platform, account_id, int(seed), currency, start, last_day, Jsonb(p.to_json())],
    )
    conn.execute(
        """insert into ads.sandbox_entities
             (tenant_id, platform, entity_id, level, name, campaign_id, adset_id, ordinal, status,
              daily_budget, learning_stage, learning_since, params)
           select %s, %s, u.* from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                  %s::int[], %s::text[], %s::numeric[], %s::text[], %s::date[], %s::jsonb[])
             as u(entity_id, level, name, campaign_id, adset_id, ordinal, status, daily_budget,
                  learning_stage, learning_since, params)""",
        [
            tenant_id,
            platform,
            *(
                [e[k] for e in ent]
                for k in (
                    "entity_id",
                    "level",
                    "name",
                    "campaign_id",
                    "adset_id",
                    "ordinal",
                    "status",
                    "daily_budget",
                    "learning_stage",
                    "learning_since",
                )
            ),
            [Jsonb(e["params"]) for e in ent],
        ],
    )
    conn.execute(
        """insert into ads.ad_accounts (tenant_id, platform, account_id, connector, settings)
           values (%s, %s, %s, 'sandbox', %s)""",
        [
            tenant_id,
            platform,
            account_id,
            Jsonb({"seed": int(seed), "start": start.isoformat(), "currency": currency}),
        ],
    )
    if outs:
        write_days(conn, UUID(str(tenant_id)), platform, ent, st, outs, last_day)
    save_state(conn, UUID(str(tenant_id)), platform, st)
    return SandboxAccount(
        conn,
        tenant_id=tenant_id,
        platform=platform,
        account_id=account_id,
        seed=seed,
        currency=currency,
        first_day=start,
        last_day=last_day,
        params=p,
    )


def advance_sandbox(conn: Any, *, tenant_id: UUID | str, days: int, platform: str = "meta") -> date:
    """Load the tenant's sandbox account on ``platform`` and advance it ``days`` days.

    Returns the new last simulated day. :class:`NotFound` if there is no sandbox account.
    """
    return SandboxAccount.load(conn, tenant_id=tenant_id, platform=platform).advance(conn, days)
