"""Enrichment, the people's work, replies over real SMTP, insights, prompts and A/B statistics."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.leads import insights, replies, settings, work
from growthops.leads.enrichment.service import enrich_leads
from growthops.leads.experiments import prompts, stats
from tests.leads.conftest import q

MESSAGES = [
    ("en", "URGENT: our checkout is down, please call me back today!"),
    ("en", "Hello, could you send me a quote for a new website? Budget around 10k."),
    ("fr", "Bonjour, je souhaiterais un devis pour la refonte de notre site, merci."),
    ("fr", "C'est inadmissible, personne n'a répondu à mes mails depuis deux semaines."),
]


def _post_all(env):
    ids = []
    for i, (_lang, text) in enumerate(MESSAGES):
        r = env["client"].post("/api/v1/leads", json={"email": f"p{i}@example.org",
                                                      "name": f"P{i}", "message": text},
                               headers={"X-API-Key": env["key"]})
        assert r.status_code == 201
        ids.append(r.json()["lead_id"])
    return ids


def test_enrichment_reads_language_intent_tone_urgency_and_appends_history(leads_env):
    db, t = leads_env["db"], leads_env["tenant"]
    ids = _post_all(leads_env)
    with db.tenant_tx(t.tenant_id) as conn:
        readings = {r.lead_id: r for r in enrich_leads(conn, tenant_id=t.tenant_id)}
        assert enrich_leads(conn, tenant_id=t.tenant_id) == []  # idempotent
        enrich_leads(conn, tenant_id=t.tenant_id, lead_ids=[ids[0]], reanalyse=True)
    assert [readings[i].language for i in ids] == ["en", "en", "fr", "fr"]
    assert readings[ids[0]].urgency == "high"
    assert readings[ids[1]].intent == "quote_request" and readings[ids[2]].intent == "quote_request"
    assert readings[ids[3]].tone == "negative"
    assert all(0 <= r.confidence <= 1 for r in readings.values())
    (lead,) = q(db, t, "select * from leads.lead_memory where tenant_id = %s and lead_id = %s",
                ids[0])
    assert len(lead["tone_history"]) == 2 and len(lead["confidence_history"]) == 2
    preds = q(db, t, """select count(*) n from leads.feedback_tracking where tenant_id = %s
                        and action_type = 'ai_prediction'""")
    assert preds[0]["n"] == 5


def test_actions_are_journaled_and_guarded(leads_env):
    from growthops.core.errors import Conflict, InvalidInput

    db, t = leads_env["db"], leads_env["tenant"]
    (lid, *_rest) = _post_all(leads_env)
    with db.tenant_tx(t.tenant_id) as conn:
        enrich_leads(conn, tenant_id=t.tenant_id)
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="tag", tag="Hot", by="ann")
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="convert", by="ann")
        with pytest.raises(Conflict):
            work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="convert", by="ann")
        with pytest.raises(InvalidInput):
            work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="revert", by="ann")
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="revert", by="ann",
                 reason="cancelled the contract")
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="delete", by="ann")
        rows, _ = work.list_leads(conn, tenant_id=t.tenant_id)
        assert lid not in [r["lead_id"] for r in rows]
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="reactivate", by="ann")
        work.add_note(conn, tenant_id=t.tenant_id, lead_id=lid, note="called back", by="ann")
        work.act(conn, tenant_id=t.tenant_id, lead_id=lid, action="correct_intent",
                 intent="support", by="ann")
        journal = [e["action_type"] for e in work.journal(conn, tenant_id=t.tenant_id, lead_id=lid)]
        csv_text = work.export_csv(conn, tenant_id=t.tenant_id)
    assert journal[::-1] == ["created", "enriched", "tagged", "converted", "reverted", "deleted",
                             "reactivated", "noted", "intent_corrected"]
    (fb,) = q(db, t, """select outcome, intent_correct from leads.feedback_tracking
                       where tenant_id = %s and lead_id = %s and action_type = 'ai_prediction'""", lid)
    assert fb == {"outcome": "negative", "intent_correct": False}
    assert csv_text.splitlines()[0].startswith("lead_id,received_at")


def test_personalised_reply_goes_through_real_smtp_only_with_the_policy(leads_env):
    from aiosmtpd.controller import Controller

    from growthops.connectors.smtp import SmtpSender

    db, t = leads_env["db"], leads_env["tenant"]
    ids = _post_all(leads_env)
    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append(envelope)
            return "250 OK"

    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        sender = SmtpSender(host="127.0.0.1", port=port, starttls=False)
        with db.tenant_tx(t.tenant_id) as conn:
            enrich_leads(conn, tenant_id=t.tenant_id)
            assert replies.queue_replies(conn, tenant_id=t.tenant_id, lead_ids=ids) == []
            settings.update(conn, tenant_id=t.tenant_id, ai_personalized_reply=True,
                            business_name="Acme", booking_link="https://cal.example.com/acme")
            sends = replies.queue_replies(conn, tenant_id=t.tenant_id, lead_ids=ids)
        assert sends
        for sid in sends:
            with db.tenant_tx(t.tenant_id) as conn:
                assert replies.send_one(conn, tenant_id=t.tenant_id, send_id=sid,
                                        sender=sender) == "sent"
    finally:
        ctl.stop()
    raw = got[0].content.decode()
    assert "Message-ID: <" in raw and "text/plain" in raw and "text/html" in raw
    assert "https://cal.example.com/acme" in raw
    fr = [e for e in got if b"Bonjour" in e.content]
    assert fr, "the French lead gets a French reply"
    rows = q(db, t, "select status from leads.email_sends where tenant_id = %s")
    assert {r["status"] for r in rows} == {"sent"} and len(rows) == len(got)


def test_insights_upsert_one_row_and_keep_history(leads_env):
    db, t = leads_env["db"], leads_env["tenant"]
    _post_all(leads_env)
    with db.tenant_tx(t.tenant_id) as conn:
        enrich_leads(conn, tenant_id=t.tenant_id)
        row = insights.compute(conn, tenant_id=t.tenant_id)
        insights.compute(conn, tenant_id=t.tenant_id)
    assert row["total_leads"] == 4 and sum(row["urgency_distribution"].values()) == 4
    assert row["language_ratio"] == {"en": 0.5, "fr": 0.5}
    assert row["predictive_insights"]["fr"] and row["predictive_insights"]["en"]
    assert all(r["numbers"] for r in row["predictive_insights"]["en"])
    assert q(db, t, "select count(*) n from leads.growth_brain where tenant_id = %s")[0]["n"] == 1
    assert q(db, t, "select count(*) n from leads.growth_brain_history where tenant_id = %s")[0]["n"] >= 1


def test_prompt_versions_are_immutable_and_assignment_is_sticky(leads_env):
    import psycopg

    db, t = leads_env["db"], leads_env["tenant"]
    ids = _post_all(leads_env)
    with db.tenant_tx(t.tenant_id) as conn:
        cand = prompts.add_version(conn, tenant_id=t.tenant_id, name="lead_reply", language="en",
                                   text="Subject: Hi\n\nHello {name}!", created_by="ann")
        test = prompts.create_test(conn, tenant_id=t.tenant_id, test_name="shorter",
                                   treatment_prompt_id=cand["prompt_id"], created_by="ann")
        first = [prompts.prompt_for_lead(conn, tenant_id=t.tenant_id, name="lead_reply",
                                         language="en", lead_id=i)[2] for i in ids]
        again = [prompts.prompt_for_lead(conn, tenant_id=t.tenant_id, name="lead_reply",
                                         language="en", lead_id=i)[2] for i in ids]
        assert first == again
        ev = prompts.evaluate(conn, tenant_id=t.tenant_id, test_id=test["test_id"])
        assert ev["conclusion"] == "running" and ev["statistical_significance"] == 1.0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update leads.prompt_registry set prompt_text = 'x' where tenant_id = %s",
                     [t.tenant_id])


# --------------------------------------------------------------------- known-answer statistics
def _sim(rng, pc, pt, n, experiments, looks):
    a = rng.random((experiments, n)) < pc
    b = rng.random((experiments, n)) < pt
    idx = np.linspace(n // looks, n, looks).astype(int)
    sc, st = np.cumsum(a, 1)[:, idx - 1], np.cumsum(b, 1)[:, idx - 1]
    nn = np.broadcast_to(idx, (experiments, looks))
    return nn, sc, st


def test_aa_tests_reject_at_most_alpha_under_continuous_monitoring():
    rng = np.random.default_rng(7)
    n, sc, st = _sim(rng, 0.1, 0.1, 2000, 2000, 100)
    rate = stats.msprt_reject_matrix(n, sc, n, st, tau=0.05, alpha=0.05).mean()
    assert rate <= 0.05 + 0.015  # Monte-Carlo slack (sd ≈ 0.005)
    # the naive z-test peeked at 100 times rejects far more often (why mSPRT is used)
    from scipy.stats import norm
    pool = (sc + st) / (2 * n)
    se = np.sqrt(pool * (1 - pool) * 2 / n)
    z = np.where(se > 0, (st - sc) / n / np.where(se > 0, se, 1), 0)
    assert (2 * norm.sf(np.abs(z)) < 0.05).any(axis=1).mean() > 0.2
    # the fixed-horizon test looked at once rejects at about alpha
    assert abs((2 * norm.sf(np.abs(z[:, -1])) < 0.05).mean() - 0.05) < 0.015


def test_a_known_effect_is_detected_at_the_stated_power():
    rng = np.random.default_rng(11)
    n_arm = stats.sample_size(0.10, 0.15, alpha=0.05, power=0.8)
    n, sc, st = _sim(rng, 0.10, 0.15, n_arm, 2000, 1)
    p = np.array([stats.two_proportion_z(stats.Arm(int(n_arm), int(a)), stats.Arm(int(n_arm), int(b)))
                  for a, b in zip(sc[:, 0], st[:, 0], strict=True)])
    assert (p < 0.05).mean() >= 0.8 - 0.03
    n, sc, st = _sim(rng, 0.10, 0.15, 3 * n_arm, 1000, 60)
    assert stats.msprt_reject_matrix(n, sc, n, st, tau=0.05, alpha=0.05).mean() >= 0.9


def test_srm_flags_a_broken_split():
    assert stats.srm_p_value(5000, 5000, 0.5) > 0.5
    assert stats.srm_p_value(5300, 4700, 0.5) < stats.SRM_ALPHA
