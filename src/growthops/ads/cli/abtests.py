"""``growthops tests create | list | show | launch | close | cancel | angles | tag | name-pattern``:
creative and audience tests (``docs/creative-tests.md``).

The ads domain's commands sit at the root (``growthops anomalies``, ``growthops suggestions``),
so the tests are ``growthops tests ...``. Launch asks for approval (``growthops suggestions
approve``); closing applies the decision rule fixed at creation, or with ``--force`` analyses
now (the result says it closed early).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.ads.cli.app import app
from growthops.ads.experiments import angles, plan
from growthops.ads.experiments.closing import look
from growthops.core.cli import LangOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _, format_number, format_percent

tests_app = typer.Typer(help="Creative and audience A/B tests: create, list, show, launch, close.",
                        no_args_is_help=True)
app.add_typer(tests_app, name="tests")

TenantOpt = Annotated[str, typer.Option("--tenant", help="client_key or tenant id")]
IdArg = Annotated[int, typer.Argument(help="Test id (see: growthops tests list).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who acts (name or handle).")]


def _change(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        key, sep, raw = it.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--change: {it!r} is not field=value")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


@tests_app.command("create")
def tests_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option("--name", help="Test name.")],
    hypothesis: Annotated[str, typer.Option("--hypothesis", help="What should happen, and why.")],
    control: Annotated[str, typer.Option("--control", help="Variant A: the live ad or ad set id.")],
    metric: Annotated[str, typer.Option("--metric", help="Primary metric: ctr, cvr, cpa or roas.")],
    mde: Annotated[float, typer.Option("--mde", help="Minimum detectable effect, relative (0.1 = 10 %).")],
    by: ByOpt,
    change: Annotated[list[str], typer.Option("--change", help="The one change of variant B: field=value (JSON values allowed).")] = [],  # noqa: B006
    level: Annotated[str, typer.Option("--level", help="ad or adset")] = "ad",
    platform: Annotated[str, typer.Option("--platform")] = "meta",
    rule: Annotated[str, typer.Option("--rule", help="fixed_horizon or msprt")] = "fixed_horizon",
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    baseline: Annotated[float | None, typer.Option("--baseline", help="The control's metric; read from its last 28 days if omitted.")] = None,
    min_days: Annotated[int, typer.Option("--min-days")] = 7,
    max_days: Annotated[int, typer.Option("--max-days")] = 28,
    test_type: Annotated[str, typer.Option("--type", help="creative, audience or bidding")] = "creative",
    angle: Annotated[str | None, typer.Option("--angle")] = None,
    hook: Annotated[str | None, typer.Option("--hook")] = None,
    asset_type: Annotated[str | None, typer.Option("--asset-type")] = None,
    variant_b: Annotated[str | None, typer.Option("--variant-b", help="A variant already made (paused) on the platform.")] = None,
    launch: Annotated[bool, typer.Option("--launch", help="Ask for the launch's approval right away.")] = False,
    lang: LangOpt = "",
) -> None:
    """Create a test with its plan fixed now (sample size from the minimum detectable effect)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        t = plan.create_test(conn, tenant_id=tid, test_name=name, hypothesis=hypothesis,
                             platform=platform, level=level, variant_a=control,
                             change=_change(change), primary_metric=metric, mde_rel=mde,
                             alpha=alpha, power=power, rule=rule, baseline_value=baseline,
                             min_days=min_days, max_days=max_days, test_type=test_type,
                             angle=angle, hook=hook, asset_type=asset_type, variant_b=variant_b,
                             created_by=by)
        req = plan.request_launch(conn, tenant_id=tid, test_id=t["test_id"], actor=by) if launch else None
    console.print(_(lg, "Test {id} created: {n} {unit} per arm planned to detect {mde} on {metric}.",
                    id=t["test_id"], n=format_number(t["planned_sample_per_arm"], lg, 0), unit=t["sample_unit"],
                    mde=format_percent(t["mde_rel"], lg), metric=t["primary_metric"].upper()))
    if req:
        console.print(_(lg, "Launch waiting for approval: suggestion {sid}.", sid=req["suggestion_id"]))


@tests_app.command("list")
def tests_list(tenant: TenantOpt,
               status: Annotated[str | None, typer.Option("--status")] = None,
               lang: LangOpt = "") -> None:
    """List the tenant's tests, newest first."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = plan.list_tests(conn, tenant_id=tid, status=status)
    table = Table("id", _(lg, "name"), _(lg, "status"), _(lg, "metric"), "A", "B",
                  _(lg, "winner"), _(lg, "significance"), title=_(lg, "Tests of {tenant}", tenant=tenant))
    for r in rows:
        sig = r["statistical_significance"]
        table.add_row(str(r["test_id"]), r["test_name"], r["status"], r["primary_metric"],
                      r["variant_a"], r["variant_b"] or "", r["winner"] or "",
                      format_percent(sig, lg, 1) if sig is not None else "")
    console.print(table)


def show_test(t: dict[str, Any], lg: str) -> None:
    """Print one test: plan, arms and statistics (also used by the demo)."""
    table = Table(_(lg, "field"), _(lg, "value"),
                  title=_(lg, "Test {id}: {name}", id=t["test_id"], name=t["test_name"]))
    rows = [(_(lg, "hypothesis"), t["hypothesis"]), (_(lg, "status"), t["status"]),
            (_(lg, "metric"), t["primary_metric"]),
            (_(lg, "plan"), _(lg, "{n} {unit} per arm for {mde} at alpha {alpha}, power {power}",
                              n=format_number(t["planned_sample_per_arm"], lg, 0), unit=t["sample_unit"],
                              mde=format_percent(t["mde_rel"], lg), alpha=t["alpha"],
                              power=format_percent(t["power"], lg))),
            (_(lg, "decision rule"), t["decision_rule"]["kind"]),
            ("A / B", f"{t['variant_a']} / {t['variant_b'] or '-'}")]
    for arm in ("a", "b"):
        p = t.get(f"performance_{arm}")
        if p:
            rows.append((arm.upper(), _(lg, "{imp} impressions, {clk} clicks, {conv} conversions, CTR {ctr}",
                                        imp=format_number(p["impressions"], lg, 0), clk=format_number(p["clicks"], lg, 0),
                                        conv=format_number(p["conversions"], lg, 0),
                                        ctr=format_percent(p["ctr"] or 0, lg, 2))))
    res = (t.get("result") or {}).get("stats") or {}
    if res.get("test"):
        st = res["test"]
        rows.append((_(lg, "difference"), f"{st['diff']:+.5g} [{st['ci_low']:+.5g}, {st['ci_high']:+.5g}]"))
        rows.append(("z / p", f"{st['z']:.2f} / {st['p_value']:.3g}"))
    if res.get("bayes"):
        pb = res["bayes"]["prob_best"]
        rows.append((_(lg, "probability to be best"), f"A {format_percent(pb[0], lg, 1)}, "
                                                       f"B {format_percent(pb[1], lg, 1)}"))
        el = res["bayes"]["expected_loss"]
        rows.append((_(lg, "expected loss"), f"A {el[0]:.3g}, B {el[1]:.3g}"))
    if res.get("srm"):
        rows.append((_(lg, "sample ratio (chi-square p)"), f"{res['srm']['p_value']:.3g}"))
    if t["winner"]:
        rows.append((_(lg, "winner"), f"{t['winner']} ({t['result_status']})"))
    for k, v in rows:
        table.add_row(str(k), str(v))
    console.print(table)


@tests_app.command("show")
def tests_show(test_id: IdArg, tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Show a test's plan, arms and statistics."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        t = plan.get_test(conn, tenant_id=tid, test_id=test_id)
    show_test(t, lg)


@tests_app.command("launch")
def tests_launch(test_id: IdArg, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Ask for the launch's approval (a suggestion; nothing changes on the platform before)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        req = plan.request_launch(conn, tenant_id=tid, test_id=test_id, actor=by)
    console.print(_(lg, "Launch waiting for approval: suggestion {sid}.", sid=req["suggestion_id"]))


@tests_app.command("close")
def tests_close(
    test_id: IdArg, tenant: TenantOpt, by: ByOpt,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last reporting day counted (YYYY-MM-DD).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Analyse now even if the decision rule is not met.")] = False,
    lang: LangOpt = "",
) -> None:
    """Close a running test when its decision rule is met (or now, with --force)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    day = date.fromisoformat(as_of) if as_of else None
    with get_db().tenant_tx(tid) as conn:
        ev = look(conn, tenant_id=tid, test_id=test_id, as_of=day, actor=by, final=force)
        t = plan.get_test(conn, tenant_id=tid, test_id=test_id)
    if not ev["closed"]:
        console.print(_(lg, "Test {id} keeps running: the decision rule is not met yet.", id=test_id))
    show_test(t, lg)


@tests_app.command("cancel")
def tests_cancel(test_id: IdArg, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Cancel a test that is not completed (kept, never deleted)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        plan.cancel_test(conn, tenant_id=tid, test_id=test_id, actor=by)
    console.print(_(lg, "Test {id} cancelled.", id=test_id))


@tests_app.command("angles")
def tests_angles(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Show the tenant's winning patterns and the angles to test next."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        pats = conn.execute("select * from ads.winning_patterns order by pattern_type, "
                            "success_rate desc nulls last").fetchall()
        nxt = angles.suggest_angles(conn, tenant_id=tid)
    table = Table(_(lg, "type"), _(lg, "pattern"), _(lg, "tests"), _(lg, "success rate"),
                  _(lg, "CTR lift"), _(lg, "status"), title=_(lg, "Winning patterns"))
    for p in pats:
        table.add_row(p["pattern_type"], p["pattern_name"], str(p["times_tested"]),
                      format_percent(p["success_rate"] or 0, lg),
                      format_percent(p["avg_ctr_lift"], lg, 1, sign=True) if p["avg_ctr_lift"] is not None else "",
                      p["status"])
    console.print(table)
    console.print(_(lg, "Angles to test next: {angles}",
                    angles=", ".join(f"{a['angle']} ({a['source']})" for a in nxt)))


@tests_app.command("tag")
def tests_tag(
    ad_id: Annotated[str, typer.Argument(help="The platform's ad id.")], tenant: TenantOpt,
    name: Annotated[str, typer.Option("--name", help="The ad's name.")],
    angle: Annotated[str | None, typer.Option("--angle")] = None,
    hook: Annotated[str | None, typer.Option("--hook")] = None,
    asset_type: Annotated[str | None, typer.Option("--asset-type")] = None,
    platform: Annotated[str, typer.Option("--platform")] = "meta",
    lang: LangOpt = "",
) -> None:
    """Tag an ad of the creative library (a person's tag: never overwritten by a name pattern)."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        angles.tag_ad(conn, tenant_id=tid, platform=platform, ad_id=ad_id, ad_name=name,
                      angle=angle, hook=hook, asset_type=asset_type)
    console.print(_(lg, "Ad {id} tagged.", id=ad_id))


@tests_app.command("name-pattern")
def tests_name_pattern(
    pattern: Annotated[str, typer.Argument(help="Regular expression with named groups angle, hook, asset_type.")],
    tenant: TenantOpt, by: ByOpt, lang: LangOpt = "",
) -> None:
    """Set the pattern that reads angle, hook and asset type from ad names, and apply it."""
    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        angles.set_name_pattern(conn, tenant_id=tid, pattern=pattern, actor=by)
        n = angles.parse_ad_names(conn, tenant_id=tid)
    console.print(_(lg, "Pattern saved; {n} ads tagged.", n=n))
