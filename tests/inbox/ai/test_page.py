"""The inbox AI page: settings, the precision-at-coverage curve once calibrated, decisions; in
English and French; another tenant's page is 404."""

from __future__ import annotations

from growthops.inbox.ai import calibrate, config
from tests.dashboard.conftest import login, user
from tests.inbox.ai.conftest import kb_tenant, label_examples


def test_ai_page_shows_the_curve_after_calibration(client, hook_db):
    t = kb_tenant(hook_db)
    other = kb_tenant(hook_db, faq=False)
    staff = login(client.app, user(hook_db, "media_buyer"))
    r = staff.get(f"/t/{t.client_key}/inbox-ai")
    assert r.status_code == 200 and 'data-testid="ai-uncalibrated"' in r.text
    with hook_db.tenant_tx(t.tenant_id) as conn:
        config.update_settings(conn, tenant_id=t.tenant_id, target_precision=0.9)
    label_examples(hook_db, t.tenant_id)
    calibrate.calibrate_tenant(hook_db, tenant_id=t.tenant_id)
    r = staff.get(f"/t/{t.client_key}/inbox-ai")
    assert 'data-testid="ai-curve"' in r.text and "<polyline" in r.text
    assert "Target precision of replies: 90 %" in r.text
    viewer = login(client.app, user(hook_db, "client_viewer", tenant_id=other.tenant_id,
                                    lang="fr"))
    assert viewer.get(f"/t/{t.client_key}/inbox-ai").status_code == 404
    fr = viewer.get(f"/t/{other.client_key}/inbox-ai")
    assert fr.status_code == 200 and "Pas encore calibrée" in fr.text
