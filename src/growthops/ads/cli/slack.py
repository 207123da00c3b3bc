"""``growthops slack settings | sync``: a tenant's Slack preferences and an on-demand sync.

Settings are ``ads.slack_settings`` (:func:`growthops.ads.reporting.slack_threads.change_prefs`, audited);
the sync is :func:`growthops.ads.reporting.slack_threads.sync_tenant`, what the worker's
one-minute ``ads.slack_sync`` task runs (docs/slack.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from growthops.ads.cli.app import app
from growthops.core.cli import LangOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import ConfigError
from growthops.core.i18n import N_, _

slack_app = typer.Typer(help="Slack: per-suggestion threads, alerts, settings.",
                        no_args_is_help=True)
app.add_typer(slack_app, name="slack")

SETTINGS_LINE = N_("Slack settings of {tenant}: language {lang}, mode {mode}, alerts channel "
                   "{alerts}, alerts from severity {severity}.")
SYNC_LINE = N_("Slack of {tenant}: {sent} message(s) sent, {failed} failed.")
NO_TOKEN = N_("No Slack bot token: set GROWTHOPS_SLACK_BOT_TOKEN.")


def _none(value: str | None) -> Any:
    """``none`` clears a value; None keeps it (the sentinel of ``set_prefs``)."""
    from growthops.ads.reporting.slack_threads import _UNSET

    if value is None:
        return _UNSET
    return None if value.strip().lower() == "none" else value.strip()


@slack_app.command("settings")
def slack_settings(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    msg_lang: Annotated[str | None, typer.Option("--messages-lang", help="Language of the tenant's Slack messages: en, fr or none (the caller's).")] = None,
    alerts_channel: Annotated[str | None, typer.Option("--alerts-channel", help="Channel id or #name for anomaly alerts; none: the validation channel.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="threads (one message per suggestion), digest or both.")] = None,
    min_severity: Annotated[str | None, typer.Option("--min-severity", help="Lowest anomaly severity alerted: low, medium, high or critical.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who changes the settings (audited).")] = "cli",
    lang: LangOpt = "",
) -> None:
    """Show, or change, a tenant's Slack settings (only the options given change; audited)."""
    from growthops.ads.reporting.slack_threads import _UNSET, change_prefs, tenant_prefs

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    changes = {"lang": _none(msg_lang), "alerts_channel": _none(alerts_channel),
               "mode": mode if mode is not None else _UNSET,
               "alert_min_severity": min_severity if min_severity is not None else _UNSET}
    changes = {k: v for k, v in changes.items() if v is not _UNSET}
    with get_db().tenant_tx(tid) as conn:
        if changes:
            change_prefs(conn, tenant_id=tid, by=by, **changes)
        prefs = tenant_prefs(conn, tenant_id=tid, lang=lg)
    console.print(_(lg, SETTINGS_LINE, tenant=tenant, lang=prefs["lang"], mode=prefs["mode"],
                    alerts=prefs["alerts_channel"] or "–", severity=prefs["alert_min_severity"]))


@slack_app.command("sync")
def slack_sync_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    lang: LangOpt = "",
) -> None:
    """Post what is due now: new suggestions' messages, replies in threads, outcomes, alerts."""
    from growthops.ads.reporting.slack_threads import client_from_settings, sync_tenant

    lg = _lang(lang)
    client = client_from_settings()
    if client is None:
        raise ConfigError(_(lg, NO_TOKEN))
    tid = _tenant_id(tenant)
    res = sync_tenant(get_db(), tenant_id=tid, client=client, lang=lg)
    console.print(_(lg, SYNC_LINE, tenant=tenant, sent=res.total_sent,
                    failed=sum(res.failed.values())))
