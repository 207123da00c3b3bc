"""``growthops anomalies list | investigate | resolve | dismiss | reopen`` (no SQL needed).

Status changes go through :func:`growthops.ads.analysis.triage.set_anomaly_status` (allowed
transitions, who and why stored, audited); anomalies are never deleted.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from growthops.ads.analysis.triage import list_anomalies, set_anomaly_status
from growthops.ads.cli.app import app
from growthops.core.cli import LangOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.i18n import N_, _

anomalies_app = typer.Typer(help="Anomalies: list, investigate, resolve, dismiss, reopen.",
                            no_args_is_help=True)
app.add_typer(anomalies_app, name="anomalies")

NOW_STATUS = N_("Anomaly {id} is now {status}.")
ALREADY_STATUS = N_("Anomaly {id} was already {status}.")
TenantOpt = Annotated[str, typer.Option("--tenant", help="client_key or tenant id")]
IdArg = Annotated[int, typer.Argument(help="Anomaly id (see: growthops anomalies list).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="E-mail of the growthops user who changes the status; default GROWTHOPS_OPERATOR.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept with the anomaly).")]


@anomalies_app.command("list")
def anomalies_list(
    tenant: TenantOpt,
    status: Annotated[str | None, typer.Option("--status", help="active, investigating, resolved or dismissed; all if omitted.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    lang: LangOpt = "",
) -> None:
    """List the tenant's anomalies, newest day first."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_anomalies(conn, tenant_id=tid, status=status, limit=limit)
    table = Table("id", _(lg, "day"), _(lg, "entity"), _(lg, "metric"), _(lg, "severity"),
                  _(lg, "status"), _(lg, "by"), _(lg, "note"),
                  title=_(lg, "Anomalies of {tenant}", tenant=tenant))
    for r in rows:
        table.add_row(str(r["anomaly_id"]), str(r["as_of"]),
                      r["entity_name"] or r["entity_id"], f"{r['metric']} ({r['anomaly_type']})",
                      r["severity"], r["status"], r["status_by"] or "", r["status_note"] or "")
    console.print(table)


def _change(status: str, anomaly_id: int, tenant: str, by: str | None, note: str | None,
            lang: str) -> None:
    """Set an anomaly's status as a growthops user (``--by`` or GROWTHOPS_OPERATOR, see
    :func:`growthops.ads.cli.identity.operator_identity`); print the outcome."""
    from growthops.ads.cli.identity import operator_identity

    lg = _lang(lang)
    by = operator_identity(get_db(), by, lg)[0]
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row, changed = set_anomaly_status(conn, tenant_id=tid, anomaly_id=anomaly_id,
                                          status=status, by=by, note=note)
    msg = NOW_STATUS if changed else ALREADY_STATUS
    console.print(_(lg, msg, id=anomaly_id, status=row["status"]))


@anomalies_app.command("investigate")
def anomalies_investigate(anomaly_id: IdArg, tenant: TenantOpt, by: ByOpt = None,
                          note: NoteOpt = None, lang: LangOpt = "") -> None:
    """Mark an anomaly as being investigated."""
    _change("investigating", anomaly_id, tenant, by, note, lang)


@anomalies_app.command("resolve")
def anomalies_resolve(anomaly_id: IdArg, tenant: TenantOpt, by: ByOpt = None,
                      note: NoteOpt = None, lang: LangOpt = "") -> None:
    """Close an anomaly as resolved (the cause was found and dealt with)."""
    _change("resolved", anomaly_id, tenant, by, note, lang)


@anomalies_app.command("dismiss")
def anomalies_dismiss(anomaly_id: IdArg, tenant: TenantOpt, by: ByOpt = None,
                      note: NoteOpt = None, lang: LangOpt = "") -> None:
    """Close an anomaly as dismissed (not a real problem)."""
    _change("dismissed", anomaly_id, tenant, by, note, lang)


@anomalies_app.command("reopen")
def anomalies_reopen(anomaly_id: IdArg, tenant: TenantOpt, by: ByOpt = None,
                     note: NoteOpt = None, lang: LangOpt = "") -> None:
    """Reopen a closed anomaly (status active)."""
    _change("active", anomaly_id, tenant, by, note, lang)
