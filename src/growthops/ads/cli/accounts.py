"""``growthops accounts``: a tenant's ad accounts (``ads.ad_accounts``) without SQL.

``list`` shows them (never a credential), ``connect`` registers a Meta or Google Ads account
with its credentials read from stdin or a hidden prompt (never a command-line argument, which
would land in the shell history and the process list) and stored Fernet-encrypted by
:func:`growthops.connectors.registry.register_account`; ``sandbox`` creates a simulated account
(:func:`growthops.connectors.sandbox.create_sandbox_account`), ``advance`` fast-forwards it
(:func:`growthops.connectors.sandbox.advance_sandbox`) and ``disconnect`` removes an account.
Connections and disconnections are appended to the audit trail.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from growthops.ads.cli.app import app
from growthops.ads.cli.config import _check_platform
from growthops.core.cli import LangOpt, TenantOpt, _lang, _one, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import _, format_datetime, pgettext

accounts_app = typer.Typer(help="A tenant's ad accounts: list, connect (Meta, Google Ads), "
                                "sandbox, advance, disconnect.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")

#: The real connectors and the platform each serves (``ads.ad_accounts.connector``, 0004).
CONNECTOR_PLATFORM = {"meta": "meta", "google_ads": "google"}
#: Credential keys each real connector needs (see :mod:`growthops.connectors.registry`): Meta an
#: ``access_token``; Google Ads a ``developer_token`` and either an ``access_token`` or the
#: OAuth trio ``refresh_token`` + ``client_id`` + ``client_secret``.
_META_ID = re.compile(r"^(act_)?(\d{1,30})$")
_GOOGLE_ID = re.compile(r"^\d{10}$")
#: The sandbox state tables (migration 0005) cleared when a sandbox account is disconnected.
SANDBOX_TABLES = ("sandbox_accounts", "sandbox_entities", "sandbox_pending", "sandbox_changes")

PlatformOpt = Annotated[str, typer.Option("--platform", help="meta, google, display, tiktok, "
                                                            "linkedin or other.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who makes the change (audited).")]


def normalise_account_id(connector: str, account_id: str, lang: str = "en") -> str:
    """Return the account id as stored: ``act_<digits>`` for Meta, 10 digits for Google Ads.

    Raises :class:`InvalidInput` naming ``--account-id`` when it has not the platform's shape
    (Meta: the ad account's digits, with or without ``act_``; Google Ads: a 10-digit customer
    id, dashes allowed, as in the Google Ads interface).
    """
    raw = account_id.strip()
    if connector == "meta":
        m = _META_ID.match(raw)
        if m:
            return f"act_{m.group(2)}"
        what = _(lang, "Meta ad account id (digits, with or without act_)")
    else:
        cid = raw.replace("-", "")
        if _GOOGLE_ID.match(cid):
            return cid
        what = _(lang, "Google Ads customer id (10 digits, dashes allowed)")
    raise InvalidInput(_(lang, "--account-id: {value!r} is not a {what}",
                         value=account_id, what=what))


def parse_credentials(connector: str, text: str, lang: str = "en") -> dict[str, Any]:
    """Turn the text given on stdin into the connector's credentials object.

    A JSON object is taken as is; any other text is one token, the ``access_token``. Raises
    :class:`InvalidInput` (never quoting the secret) when the text is empty, the JSON is not an
    object, or a required key is missing: Meta needs ``access_token``; Google Ads needs
    ``developer_token`` plus ``access_token`` or ``refresh_token`` + ``client_id`` +
    ``client_secret`` (:func:`growthops.connectors.registry.get_platform`).
    """
    body = text.strip()
    if not body:
        raise InvalidInput(_(lang, "--token-stdin: no credentials on stdin (give the access token, "
                                   "or a JSON object of credentials)"))
    if body.startswith("{"):
        try:
            creds = json.loads(body)
        except json.JSONDecodeError as exc:
            problem = f"{exc.msg}, character {exc.pos}"
            raise InvalidInput(_(lang, "credentials: not a valid JSON object ({error})",
                                 error=problem)) from None
        if not isinstance(creds, dict):
            raise InvalidInput(_(lang, "credentials: not a valid JSON object ({error})",
                                 error="not an object"))
    else:
        creds = {"access_token": body}
    creds = {k: v for k, v in creds.items() if v not in (None, "")}
    if connector == "meta":
        missing = [] if creds.get("access_token") else ["access_token"]
    else:
        missing = [] if creds.get("developer_token") else ["developer_token"]
        if not creds.get("access_token"):
            missing += [k for k in ("refresh_token", "client_id", "client_secret") if not creds.get(k)]
            if missing and missing != ["developer_token"]:
                missing.append("(or access_token)")
    if missing:
        raise InvalidInput(_(lang, "credentials for {connector}: missing {keys}",
                             connector=connector, keys=", ".join(missing)))
    return creds


@accounts_app.command("list")
def accounts_list(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """List a tenant's ad accounts: connector, account, metrics days, auto-apply (no secret)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        tz = _one(conn, "select time_zone from core.tenants where tenant_id = %s",
                  [tid])["time_zone"]
        rows = conn.execute(
            """with m as (select platform, min(day) as first_day, max(day) as last_day,
                                 count(distinct day) as n_days
                          from ads.metrics_daily where tenant_id = %(t)s group by platform)
               select a.platform, a.connector, a.account_id, a.created_at,
                      a.credentials_encrypted is not null as has_credentials,
                      m.first_day, m.last_day, m.n_days, c.auto_apply_recommendations
               from ads.ad_accounts a
               left join m on m.platform = a.platform
               left join ads.platform_configs c on c.tenant_id = a.tenant_id and c.platform = a.platform
               where a.tenant_id = %(t)s order by a.platform""",
            {"t": tid},
        ).fetchall()
    if not rows:
        console.print(_(lg, "{tenant} has no ad account (growthops accounts connect | sandbox).",
                        tenant=tenant))
        return
    table = Table(_(lg, "platform"), _(lg, "connector"), _(lg, "account"), _(lg, "credentials"),
                  _(lg, "connected ({tz})", tz=tz), _(lg, "metrics (days)"),
                  pgettext(lg, "column", "auto-apply"),
                  title=_(lg, "Ad accounts of {tenant}", tenant=tenant))
    for r in rows:
        metrics = (f"{r['first_day']} → {r['last_day']} ({r['n_days']})" if r["n_days"] else "–")
        table.add_row(r["platform"], r["connector"], r["account_id"],
                      _(lg, "encrypted") if r["has_credentials"] else "–",
                      format_datetime(r["created_at"], tz, lg), metrics,
                      _(lg, "on") if r["auto_apply_recommendations"] else _(lg, "off"))
    console.print(table)


def _audit_account(conn: Any, tid: Any, by: str, action: str, platform: str,
                   before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    from growthops.ads.action.audit import record

    record(conn, tenant_id=tid, actor=by, action=action, object_type="ad_account",
           object_id=platform, platform=platform, before=before, after=after)


def _account_row(conn: Any, tid: Any, platform: str, *, lock: bool = False) -> dict[str, Any] | None:
    return conn.execute(
        "select platform, connector, account_id, settings, credentials_encrypted is not null "
        "as has_credentials from ads.ad_accounts where tenant_id = %s and platform = %s"
        + (" for update" if lock else ""), [tid, platform]).fetchone()


def _public(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """An ad_accounts row for the audit trail: never the credentials, only whether there are."""
    if row is None:
        return None
    return {"connector": row["connector"], "account_id": row["account_id"],
            "has_credentials": row["has_credentials"], "settings": row["settings"]}


@accounts_app.command("connect")
def accounts_connect(
    tenant: TenantOpt,
    platform: Annotated[str, typer.Option("--platform", help="meta or google.")],
    connector: Annotated[str, typer.Option("--connector", help="meta or google_ads.")],
    account_id: Annotated[str, typer.Option(
        "--account-id", help="Meta ad account id (act_...) or Google Ads customer id.")],
    token_stdin: Annotated[bool, typer.Option(
        "--token-stdin", help="Read the credentials from stdin: the access token, or a JSON "
                              "object (Google Ads: developer_token, refresh_token, client_id, "
                              "client_secret, login_customer_id). Default: a hidden prompt.")] = False,
    by: Annotated[str, typer.Option("--by", help="Who connects it (audited).")] = "cli",
    lang: LangOpt = "",
) -> None:
    """Connect a Meta or Google Ads account; its credentials are stored encrypted, never shown."""
    from growthops.connectors.registry import register_account

    lg = _lang(lang)
    if CONNECTOR_PLATFORM.get(connector) != platform:
        raise InvalidInput(_(lg, "--connector: {connector!r} does not serve --platform "
                                 "{platform!r} (meta → meta, google → google_ads)",
                             connector=connector, platform=platform))
    account = normalise_account_id(connector, account_id, lg)
    if not by.strip():
        raise InvalidInput(_(lg, "--by: give the name of the person making the change (1 to 200 "
                                 "characters)"))
    text = (sys.stdin.read() if token_stdin
            else typer.prompt("Access token (or JSON credentials)", hide_input=True))
    creds = parse_credentials(connector, text, lg)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        before = _account_row(conn, tid, platform, lock=True)
        if before is not None and before["connector"] != connector:
            raise Conflict(_(lg, "{tenant} already has a {connector} account {account!r} on "
                                 "{platform}; disconnect it first (growthops accounts disconnect "
                                 "--tenant {tenant} --platform {platform} --by NAME)",
                             tenant=tenant, platform=platform,
                             connector=before["connector"], account=before["account_id"]))
        register_account(conn, tenant_id=tid, platform=platform, connector=connector,
                         account_id=account, credentials=creds,
                         settings=dict(before["settings"]) if before else None)
        after = _public(_account_row(conn, tid, platform))
        assert after is not None
        after["credential_keys"] = sorted(creds)
        _audit_account(conn, tid, by.strip(), "ad_account.connected", platform, _public(before), after)
    console.print(_(lg, "{tenant}: {connector} account {account} connected on {platform}; "
                        "credentials encrypted at rest ({keys}). They are checked at the first "
                        "call to the platform.",
                    tenant=tenant, connector=connector, account=account,
                    platform=platform, keys=", ".join(sorted(creds))), markup=False)


@accounts_app.command("sandbox")
def accounts_sandbox(
    tenant: TenantOpt,
    platform: PlatformOpt = "meta",
    seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Seed of the simulation.")] = 7,
    days_history: Annotated[int, typer.Option(min=0, max=3650, help="Days of history to simulate.")] = 42,
    campaigns: Annotated[int, typer.Option(min=1, max=50, help="Campaigns.")] = 2,
    adsets: Annotated[int, typer.Option(min=1, max=50, help="Ad sets per campaign.")] = 3,
    ads: Annotated[int, typer.Option(min=1, max=20, help="Ads per ad set.")] = 2,
    start: Annotated[str | None, typer.Option(
        "--start", help="First simulated day (YYYY-MM-DD); default: the history ends yesterday "
                        "in the tenant's time zone.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who creates it (audited).")] = "cli",
    lang: LangOpt = "",
) -> None:
    """Create a simulated ad account with its history (for trials, demos and training)."""
    from growthops.connectors.sandbox import create_sandbox_account

    lg = _lang(lang)
    _check_platform(platform, lg)
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise InvalidInput(f"--start: {start!r} is not a date (YYYY-MM-DD)") from None
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        if first is None:
            tz = _one(conn, "select time_zone from core.tenants where tenant_id = %s", [tid])
            first = datetime.now(ZoneInfo(tz["time_zone"])).date() - timedelta(days=days_history)
        acc = create_sandbox_account(conn, tenant_id=tid, seed=seed, start=first,
                                     days_history=days_history, campaigns=campaigns,
                                     adsets_per_campaign=adsets, ads_per_adset=ads, platform=platform)
        n = _one(conn, "select count(*) as n from ads.metrics_daily where tenant_id = %s "
                 "and platform = %s", [tid, platform])["n"]
        after = _public(_account_row(conn, tid, platform))
        _audit_account(conn, tid, by, "ad_account.connected", platform, None, after)
    console.print(_(lg, "{tenant}: sandbox account {account} created on {platform} (seed {seed}): "
                        "{campaigns} campaigns, {adsets} ad sets, {ads} ads, simulated {first} → "
                        "{last} ({rows} metric rows).",
                    tenant=tenant, account=acc.account_id,
                    platform=platform, seed=seed, campaigns=campaigns, adsets=campaigns * adsets,
                    ads=campaigns * adsets * ads, first=acc.first_day, last=acc.last_day, rows=n))
    console.print(_(lg, "Next: growthops daily --tenant {tenant}, then growthops accounts advance "
                        "--tenant {tenant} --days 1 to simulate the next day.",
                    tenant=tenant))


@accounts_app.command("advance")
def accounts_advance(
    tenant: TenantOpt,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days to simulate.")],
    platform: PlatformOpt = "meta",
    lang: LangOpt = "",
) -> None:
    """Fast-forward a sandbox account: simulate the next days and write their metrics."""
    from growthops.connectors.sandbox import advance_sandbox

    lg = _lang(lang)
    _check_platform(platform, lg)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = _account_row(conn, tid, platform)
        if row is None:
            raise NotFound(_(lg, "{tenant} has no ad account on {platform}",
                             tenant=tenant, platform=platform))
        if row["connector"] != "sandbox":
            raise InvalidInput(_(lg, "accounts advance fast-forwards only a sandbox account; "
                                     "{tenant}'s {platform} account {account!r} is a real "
                                     "{connector} account",
                                 tenant=tenant, platform=platform,
                                 account=row["account_id"], connector=row["connector"]))
        last = advance_sandbox(conn, tenant_id=tid, days=days, platform=platform)
        n_days = _one(conn, "select count(distinct day) as n from ads.metrics_daily "
                      "where tenant_id = %s and platform = %s", [tid, platform])["n"]
    console.print(_(lg, "{tenant}: sandbox on {platform} advanced {days} days, now simulated up to"
                        " {last} ({n_days} days of metrics).",
                    tenant=tenant, platform=platform, days=days,
                    last=last, n_days=n_days))


@accounts_app.command("disconnect")
def accounts_disconnect(
    tenant: TenantOpt,
    platform: PlatformOpt,
    by: ByOpt,
    lang: LangOpt = "",
) -> None:
    """Remove a tenant's ad account on a platform (audited); its metrics are kept.

    A sandbox account's simulation state goes with it. Refused while an execution on the
    platform is claimed but not settled (``growthops reconcile`` settles it from the platform).
    """
    lg = _lang(lang)
    _check_platform(platform, lg)
    if not by.strip() or len(by) > 200:
        raise InvalidInput(_(lg, "--by: give the name of the person making the change (1 to 200 "
                                 "characters)"))
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = _account_row(conn, tid, platform, lock=True)
        if row is None:
            raise NotFound(_(lg, "{tenant} has no ad account on {platform}",
                             tenant=tenant, platform=platform))
        n = _one(conn, "select count(*) as n from ads.execution_logs where tenant_id = %s "
                 "and platform = %s and status = 'claimed'", [tid, platform])["n"]
        if n:
            raise Conflict(_(lg, "{n} execution(s) on {platform} are still in flight (claimed, not"
                                 " settled); run growthops reconcile --tenant {tenant} first",
                             n=n, platform=platform, tenant=tenant))
        conn.execute("delete from ads.ad_accounts where tenant_id = %s and platform = %s",
                     [tid, platform])
        if row["connector"] == "sandbox":
            for table in SANDBOX_TABLES:  # 4 fixed tables, one statement each
                conn.execute(f"delete from ads.{table} where tenant_id = %s and platform = %s",
                             [tid, platform])
        _audit_account(conn, tid, by.strip(), "ad_account.disconnected", platform, _public(row), None)
    console.print(_(lg, "{tenant}: {connector} account {account} on {platform} disconnected by "
                        "{by} (audited). Its metrics are kept; nothing can be executed on "
                        "{platform} until an account is connected again.",
                    tenant=tenant, connector=row["connector"],
                    account=row["account_id"], platform=platform, by=by.strip()))
