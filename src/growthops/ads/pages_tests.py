"""The dashboard page of creative and audience tests: ``/t/{client_key}/tests``.

Lists the tenant's tests with their plan and statistics (sample reached against the plan,
difference with its interval, p-value, probability that B is best, winner), then the tenant's
winning patterns and the angles to test next. Read-only (tests are created, launched and closed
from the CLI or the API; the launch is approved in the suggestions queue). Same security as
the other pages (:mod:`growthops.ads.pages`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from growthops.ads.experiments import angles, plan
from growthops.core.errors import NotFound
from growthops.core.i18n import _, format_number, format_percent
from growthops.web.deps import get_database
from growthops.web.pages import auth, lang_of, not_found, render, tenant_ctx

router = APIRouter(include_in_schema=False)


def _row(t: dict[str, Any], lang: str) -> dict[str, Any]:
    """One test as the template shows it (numbers formatted for ``lang``)."""
    unit = t["sample_unit"]
    pa, pb = t.get("performance_a") or {}, t.get("performance_b") or {}
    reached = min(pa.get(unit) or 0, pb.get(unit) or 0)
    stats = (t.get("result") or {}).get("stats") or {}
    test = stats.get("test") or {}
    look = (t.get("looks") or [{}])[-1] if t.get("looks") else {}
    p = t["p_always_valid"] if t["decision_rule"]["kind"] == "msprt" else look.get("p_value")
    prob = (stats.get("bayes") or {}).get("prob_best")
    return {
        "id": t["test_id"], "name": t["test_name"], "hypothesis": t["hypothesis"],
        "status": t["status"], "metric": t["primary_metric"].upper(),
        "rule": t["decision_rule"]["kind"], "a": t["variant_a"], "b": t["variant_b"] or "–",
        "angle": t["angle"] or "",
        "plan": _(lang, "{n} {unit} per arm for {mde}", n=format_number(t["planned_sample_per_arm"], lang, 0),
                  unit=unit, mde=format_percent(t["mde_rel"], lang)),
        "progress": format_percent(min(1.0, reached / t["planned_sample_per_arm"]), lang),
        "diff": (f"{test['diff']:+.4g} [{test['ci_low']:+.4g}, {test['ci_high']:+.4g}]"
                 if test else ""),
        "p": f"{(test.get('p_value') if test else p):.3g}" if (test or p is not None) else "",
        "prob_b": format_percent(prob[1], lang, 1) if prob else "",
        "winner": t["winner"] or "", "result": t["result_status"] or "",
    }


@router.get("/t/{client_key}/tests")
def tests_page(request: Request, client_key: str) -> Response:
    """The tenant's tests with their statistics, winning patterns and angles to test next."""
    user = auth(request)
    if isinstance(user, Response):
        return user
    lang = lang_of(request, user)
    try:
        ctx = tenant_ctx(request, user, client_key, "tests")
        tid = ctx["tenant"]["tenant_id"]
        with get_database(request).tenant_tx(tid) as conn:
            tests = plan.list_tests(conn, tenant_id=tid)
            patterns = conn.execute("select * from ads.winning_patterns where tenant_id = %s "
                                    "order by success_rate desc nulls last", [tid]).fetchall()
            nxt = angles.suggest_angles(conn, tenant_id=tid)
    except NotFound:
        return not_found(request, user)
    return render(
        request, "ads/tests.html", user=user, **ctx, tests=[_row(t, lang) for t in tests],
        patterns=[{"type": p["pattern_type"], "name": p["pattern_name"], "n": p["times_tested"],
                   "rate": format_percent(p["success_rate"] or 0, lang),
                   "lift": (format_percent(p["avg_ctr_lift"], lang, 1, sign=True)
                            if p["avg_ctr_lift"] is not None else "–"),
                   "status": p["status"]} for p in patterns],
        next_angles=nxt, title=_(lang, "Tests · {tenant}", tenant=ctx["tenant"]["client_name"]))
