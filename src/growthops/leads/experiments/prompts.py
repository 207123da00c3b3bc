"""Prompt registry (immutable versions), executions, A/B tests and their promotion.

Prompts of the leads domain: ``lead_reply`` (the first e-mail to a lead: a template with
``{name}``, ``{business}``, ``{summary}``, ``{booking_link}``..., rendered offline, or the
instruction sent to the LLM when one is configured) and ``lead_enrichment`` (the LLM's reading
instruction). Each (name, language) has one ``active`` version; new versions are ``candidate``
until promoted. A version's text never changes (trigger ``leads.prompt_immutable``).

A/B test (``leads.prompt_ab_tests``): control = the active version, treatment = a candidate.
Assignment is sticky: ``sha256("<test_id>:<lead_id>")`` → a number in [0, 1), treatment when
below ``treatment_share``; recorded in ``prompt_ab_assignments``. :func:`evaluate` computes both
arms' outcome rates (conversion or reply), the always-valid p-value (:mod:`.stats`, mSPRT) over
the assignment sequence, and the SRM check, and concludes:

* ``significant`` — p < α, each arm ≥ ``min_sample_size``, no SRM: the better arm wins;
* ``expired`` — ``max_duration_days`` passed without that: no winner (control stays);
* otherwise it keeps running.

A winner is promoted by a person (:func:`promote`), or by the rule when the test was created
with ``auto_promote`` (the rule is exactly the ``significant`` condition above with the
treatment better). Promotion makes the winner active, retires the other, and records
``prompt_evolution`` (parent = control, child = treatment, improvement = rate difference).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.leads.experiments import stats

#: Default prompts of a new tenant, per name and language.
DEFAULT_PROMPTS: dict[tuple[str, str], str] = {
    ("lead_reply", "en"): (
        "Subject: {business}: thank you for your message\n\n"
        "Hello {name},\n\nThank you for contacting {business}. We read your message"
        " ({summary}) and will come back to you shortly.\n{booking_sentence}\n\n{signature}"),
    ("lead_reply", "fr"): (
        "Subject: {business} : merci pour votre message\n\n"
        "Bonjour {name},\n\nMerci d'avoir contacté {business}. Nous avons bien lu votre message"
        " ({summary}) et revenons vers vous très vite.\n{booking_sentence}\n\n{signature}"),
    ("lead_enrichment", "en"): (
        "Read this message sent through a website contact form. Answer with JSON: "
        '{{"summary": one sentence, "intent": one of [{intents}], "tone": positive|neutral|'
        'negative, "urgency": high|medium|low}}.\n\nMessage:\n{message}'),
    ("lead_enrichment", "fr"): (
        "Lis ce message envoyé par un formulaire de contact. Réponds en JSON : "
        '{{"summary": une phrase en français, "intent": une valeur parmi [{intents}], "tone": '
        'positive|neutral|negative, "urgency": high|medium|low}}.\n\nMessage :\n{message}'),
}


def ensure_prompts(conn: Any, *, tenant_id: UUID | str) -> None:
    """Create version 1 (active) of every default prompt the tenant lacks."""
    rows = [{"name": n, "lang": lang, "text": t} for (n, lang), t in DEFAULT_PROMPTS.items()]
    conn.execute(
        """insert into leads.prompt_registry (tenant_id, prompt_name, variant_version, language,
             prompt_text, status, created_by)
           select %s, x->>'name', 1, x->>'lang', x->>'text', 'active', 'growthops'
           from jsonb_array_elements(%s::jsonb) x
           on conflict (tenant_id, prompt_name, language, variant_version) do nothing""",
        [str(tenant_id), json.dumps(rows)])


def active_prompt(conn: Any, *, tenant_id: UUID | str, name: str, language: str) -> dict[str, Any]:
    """Return the active version of prompt ``name`` in ``language`` (creating defaults)."""
    sql = """select * from leads.prompt_registry where tenant_id = %s and prompt_name = %s
             and language = %s and status = 'active'"""
    row = conn.execute(sql, [str(tenant_id), name, language]).fetchone()
    if row is None:
        ensure_prompts(conn, tenant_id=tenant_id)
        row = conn.execute(sql, [str(tenant_id), name, language]).fetchone()
    if row is None:
        raise NotFound(f"prompt: no active {name!r} in {language!r}")
    return row


def add_version(conn: Any, *, tenant_id: UUID | str, name: str, language: str, text: str,
                created_by: str) -> dict[str, Any]:
    """Add the next version of ``name``/``language`` as a candidate; return its row.

    Raises :class:`InvalidInput` for an unknown prompt name or an unknown placeholder.
    """
    if (name, language) not in DEFAULT_PROMPTS:
        raise InvalidInput(f"name: {name!r}/{language!r} is not one of "
                           f"{sorted({n for n, _ in DEFAULT_PROMPTS})} in en/fr")
    try:
        text.format(**{k: "" for k in PLACEHOLDERS})
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInput(f"text: unknown or malformed placeholder ({exc}); "
                           f"allowed: {', '.join(sorted(PLACEHOLDERS))}") from exc
    ensure_prompts(conn, tenant_id=tenant_id)
    return conn.execute(
        """insert into leads.prompt_registry (tenant_id, prompt_name, variant_version, language,
             prompt_text, status, created_by)
           select %(t)s, %(n)s, coalesce(max(variant_version), 0) + 1, %(l)s, %(x)s, 'candidate', %(by)s
           from leads.prompt_registry where tenant_id = %(t)s and prompt_name = %(n)s
             and language = %(l)s
           returning *""",
        {"t": str(tenant_id), "n": name, "l": language, "x": text, "by": created_by}).fetchone()


PLACEHOLDERS = ("name", "business", "summary", "booking_link", "booking_sentence", "signature",
                "intent", "intents", "message")


def list_prompts(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return every prompt version with its executions, errors and mean latency."""
    ensure_prompts(conn, tenant_id=tenant_id)
    return conn.execute(
        """select p.prompt_id, p.prompt_name, p.variant_version, p.language, p.variant_id,
                  p.status, p.usage_count, p.score, p.created_at, p.created_by, p.prompt_text,
                  count(e.execution_id)::int as executions,
                  count(e.execution_id) filter (where e.error_occurred)::int as errors,
                  avg(e.response_time_ms)::float8 as mean_ms
           from leads.prompt_registry p
           left join leads.prompt_performance e on e.tenant_id = p.tenant_id and e.prompt_id = p.prompt_id
           where p.tenant_id = %s
           group by p.tenant_id, p.prompt_id order by p.prompt_name, p.language, p.variant_version""",
        [str(tenant_id)]).fetchall()


def record_execution(conn: Any, *, tenant_id: UUID | str, prompt_id: int, lead_id: int | None,
                     provider: str, input_data: dict[str, Any], output_data: dict[str, Any],
                     response_time_ms: float | None, input_tokens: int | None = None,
                     output_tokens: int | None = None, cost_usd: float | None = None,
                     error: str | None = None, quality: float | None = None) -> int:
    """Write one ``prompt_performance`` row and count the use; return its id."""
    tokens = (input_tokens or 0) + (output_tokens or 0) if (input_tokens or output_tokens) else None
    row = conn.execute(
        """with u as (update leads.prompt_registry set usage_count = usage_count + 1,
                        updated_at = now() where tenant_id = %(t)s and prompt_id = %(p)s)
           insert into leads.prompt_performance (tenant_id, prompt_id, lead_id, provider,
             input_data, output_data, response_time_ms, input_tokens, output_tokens,
             token_count, cost_usd, error_occurred, error_message, output_quality_score)
           values (%(t)s, %(p)s, %(l)s, %(pr)s, %(i)s, %(o)s, %(ms)s, %(it)s, %(ot)s, %(tok)s,
                   %(c)s, %(e)s, %(em)s, %(q)s) returning execution_id""",
        {"t": str(tenant_id), "p": prompt_id, "l": lead_id, "pr": provider,
         "i": json.dumps(input_data), "o": json.dumps(output_data),
         "ms": round(response_time_ms) if response_time_ms is not None else None,
         "it": input_tokens, "ot": output_tokens, "tok": tokens, "c": cost_usd,
         "e": error is not None, "em": error, "q": quality}).fetchone()
    return int(row["execution_id"])


# ------------------------------------------------------------------------------- A/B tests
def bucket(test_id: int, lead_id: int) -> float:
    """Return the lead's sticky position in [0, 1) for a test: sha256 of ``test:lead``."""
    digest = hashlib.sha256(f"{test_id}:{lead_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def create_test(conn: Any, *, tenant_id: UUID | str, test_name: str, treatment_prompt_id: int,
                created_by: str, treatment_share: float = 0.5, outcome_metric: str = "conversion",
                min_sample_size: int = 100, max_duration_days: int = 7,
                significance_level: float = 0.05, mixture_tau: float = 0.05,
                auto_promote: bool = False, start: bool = True) -> dict[str, Any]:
    """Create (and by default start) a test of a candidate against the active version.

    Raises :class:`NotFound` for an unknown prompt, :class:`Conflict` when the prompt is not a
    candidate or a test already runs on that prompt and language, :class:`InvalidInput` for
    parameters out of range.
    """
    if not 0 < treatment_share < 1:
        raise InvalidInput("treatment_share: must be strictly between 0 and 1")
    if outcome_metric not in ("conversion", "reply"):
        raise InvalidInput("outcome_metric: one of conversion, reply")
    cand = conn.execute("select * from leads.prompt_registry where tenant_id = %s and prompt_id = %s",
                        [str(tenant_id), treatment_prompt_id]).fetchone()
    if cand is None:
        raise NotFound(f"prompt: no prompt {treatment_prompt_id}")
    if cand["status"] != "candidate":
        raise Conflict(f"prompt {cand['variant_id']} is {cand['status']}, not a candidate")
    control = active_prompt(conn, tenant_id=tenant_id, name=cand["prompt_name"],
                            language=cand["language"])
    if conn.execute("""select 1 from leads.prompt_ab_tests where tenant_id = %s and prompt_name = %s
                       and language = %s and status = 'running'""",
                    [str(tenant_id), cand["prompt_name"], cand["language"]]).fetchone():
        raise Conflict(f"a test already runs on {cand['prompt_name']}/{cand['language']}")
    if conn.execute("select 1 from leads.prompt_ab_tests where tenant_id = %s and test_name = %s",
                    [str(tenant_id), test_name]).fetchone():
        raise Conflict(f"test_name: a test named {test_name!r} exists")
    return conn.execute(
        """insert into leads.prompt_ab_tests (tenant_id, test_name, prompt_name, language,
             control_prompt_id, treatment_prompt_id, treatment_share, outcome_metric,
             min_sample_size, max_duration_days, significance_level, mixture_tau, auto_promote,
             status, started_at, created_by)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning *""",
        [str(tenant_id), test_name, cand["prompt_name"], cand["language"], control["prompt_id"],
         treatment_prompt_id, treatment_share, outcome_metric, min_sample_size,
         max_duration_days, significance_level, mixture_tau, auto_promote,
         "running" if start else "draft", datetime.now(UTC) if start else None,
         created_by]).fetchone()


def prompt_for_lead(conn: Any, *, tenant_id: UUID | str, name: str, language: str,
                    lead_id: int) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """Return ``(prompt row, running test or None, variant or None)`` for a lead.

    When a test runs on ``name``/``language``, the lead is assigned (stickily, recorded once)
    and gets its arm's version; else the active version.
    """
    test = conn.execute(
        """select * from leads.prompt_ab_tests where tenant_id = %s and prompt_name = %s
           and language = %s and status = 'running'""",
        [str(tenant_id), name, language]).fetchone()
    if test is None:
        return active_prompt(conn, tenant_id=tenant_id, name=name, language=language), None, None
    variant = ("treatment" if bucket(test["test_id"], lead_id) < float(test["treatment_share"])
               else "control")
    conn.execute(
        """insert into leads.prompt_ab_assignments (tenant_id, test_id, lead_id, variant)
           values (%s, %s, %s, %s) on conflict do nothing""",
        [str(tenant_id), test["test_id"], lead_id, variant])
    pid = test["treatment_prompt_id"] if variant == "treatment" else test["control_prompt_id"]
    prompt = conn.execute("select * from leads.prompt_registry where tenant_id = %s and prompt_id = %s",
                          [str(tenant_id), pid]).fetchone()
    return prompt, test, variant


def evaluate(conn: Any, *, tenant_id: UUID | str, test_id: int,
             now: datetime | None = None) -> dict[str, Any]:
    """Compute the test's arms, always-valid p-value, SRM p-value and conclusion; store them.

    A running test that concludes ``significant`` with ``auto_promote`` and a better treatment
    is promoted (decided by ``rule``); an ``expired`` one is completed without a winner.
    Returns the updated test row plus ``conclusion``. Raises :class:`NotFound`.
    """
    now = now or datetime.now(UTC)
    test = get_test(conn, tenant_id=tenant_id, test_id=test_id)
    outcome = "l.converted" if test["outcome_metric"] == "conversion" else "l.replied"
    seq = conn.execute(
        f"""select a.variant, {outcome} as ok from leads.prompt_ab_assignments a
            join leads.lead_memory l on l.tenant_id = a.tenant_id and l.lead_id = a.lead_id
            where a.tenant_id = %s and a.test_id = %s order by a.assigned_at, a.lead_id""",
        [str(tenant_id), test_id]).fetchall()
    variants = [r["variant"] for r in seq]
    oks = [bool(r["ok"]) for r in seq]
    arms = {v: stats.Arm(n=sum(1 for x in variants if x == v),
                         successes=sum(1 for x, o in zip(variants, oks, strict=True) if x == v and o))
            for v in ("control", "treatment")}
    p = stats.always_valid_p(variants, oks, float(test["mixture_tau"])) if seq else 1.0
    srm = stats.srm_p_value(arms["control"].n, arms["treatment"].n, float(test["treatment_share"]))
    alpha = float(test["significance_level"])
    enough = min(arms["control"].n, arms["treatment"].n) >= test["min_sample_size"]
    started = test["started_at"] or now
    if srm < stats.SRM_ALPHA:
        conclusion = "srm"
    elif p < alpha and enough:
        conclusion = "significant"
    elif now >= started + timedelta(days=test["max_duration_days"]):
        conclusion = "expired"
    else:
        conclusion = "running"
    metrics = {v: {"n": a.n, "successes": a.successes, "rate": round(a.rate, 4)}
               for v, a in arms.items()}
    row = conn.execute(
        """update leads.prompt_ab_tests set control_metrics = %s, treatment_metrics = %s,
             statistical_significance = %s, srm_p_value = %s, conclusion = %s
           where tenant_id = %s and test_id = %s returning *""",
        [json.dumps(metrics["control"]), json.dumps(metrics["treatment"]), p, srm, conclusion,
         str(tenant_id), test_id]).fetchone()
    if test["status"] == "running":
        better = arms["treatment"].rate > arms["control"].rate
        if conclusion == "significant" and test["auto_promote"] and better:
            return promote(conn, tenant_id=tenant_id, test_id=test_id, winner="treatment",
                           decided_by="rule: p < alpha, n >= min per arm, no SRM")
        if conclusion == "expired":
            row = conn.execute(
                """update leads.prompt_ab_tests set status = 'completed', ended_at = %s
                   where tenant_id = %s and test_id = %s returning *""",
                [now, str(tenant_id), test_id]).fetchone()
    return row


def get_test(conn: Any, *, tenant_id: UUID | str, test_id: int) -> dict[str, Any]:
    """Return one test; :class:`NotFound` otherwise."""
    row = conn.execute("select * from leads.prompt_ab_tests where tenant_id = %s and test_id = %s",
                       [str(tenant_id), test_id]).fetchone()
    if row is None:
        raise NotFound(f"no prompt test {test_id} for this tenant")
    return row


def list_tests(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's tests, newest first."""
    return conn.execute("select * from leads.prompt_ab_tests where tenant_id = %s order by test_id desc",
                        [str(tenant_id)]).fetchall()


def promote(conn: Any, *, tenant_id: UUID | str, test_id: int, winner: str,
            decided_by: str) -> dict[str, Any]:
    """End a test with ``winner`` (``treatment`` or ``control``) and apply it.

    The treatment winning becomes the active version (the control is retired); the control
    winning retires the treatment. ``prompt_evolution`` records control → treatment with the
    measured difference of rates. Raises :class:`Conflict` when the test is not running or
    is still short of ``min_sample_size`` per arm for a manual promotion of the treatment,
    :class:`InvalidInput` for another winner.
    """
    if winner not in ("treatment", "control"):
        raise InvalidInput("winner: one of treatment, control")
    test = get_test(conn, tenant_id=tenant_id, test_id=test_id)
    if test["status"] != "running":
        raise Conflict(f"test {test_id} is {test['status']}")
    c, t = test["control_metrics"] or {}, test["treatment_metrics"] or {}
    if winner == "treatment" and min(c.get("n", 0), t.get("n", 0)) < test["min_sample_size"]:
        raise Conflict(f"test {test_id}: each arm needs {test['min_sample_size']} leads before "
                       "the treatment can be promoted (evaluate it first)")
    win = test["treatment_prompt_id"] if winner == "treatment" else test["control_prompt_id"]
    lose = test["control_prompt_id"] if winner == "treatment" else test["treatment_prompt_id"]
    conn.execute("""update leads.prompt_registry set status = 'retired', updated_at = now()
                    where tenant_id = %s and prompt_id = %s""", [str(tenant_id), lose])
    conn.execute("""update leads.prompt_registry set status = 'active', updated_at = now(),
                      score = %s where tenant_id = %s and prompt_id = %s""",
                 [(t if winner == "treatment" else c).get("rate"), str(tenant_id), win])
    conn.execute(
        """insert into leads.prompt_evolution (tenant_id, parent_prompt_id, child_prompt_id,
             evolution_type, evolution_strategy, evolution_algorithm, test_id, parent_performance,
             child_performance, improvement_score, optimization_goals)
           values (%s, %s, %s, 'manual_edit', %s, 'mSPRT A/B test', %s, %s, %s, %s, %s)""",
        [str(tenant_id), test["control_prompt_id"], test["treatment_prompt_id"],
         f"winner {winner} ({decided_by})", test_id, json.dumps(c), json.dumps(t),
         round(t.get("rate", 0) - c.get("rate", 0), 4), [test["outcome_metric"]]])
    return conn.execute(
        """update leads.prompt_ab_tests set status = 'completed', ended_at = now(),
             winner_prompt_id = %s, decided_by = %s
           where tenant_id = %s and test_id = %s returning *""",
        [win, decided_by, str(tenant_id), test_id]).fetchone()
