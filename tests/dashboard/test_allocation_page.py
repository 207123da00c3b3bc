"""The dashboard's allocation page: the latest allocation with its expected effect (en, fr),
the campaign roll-ups, the staff-only "Allocate now" button (CSRF), and the viewer's 403."""

from __future__ import annotations

from typing import Any

from tests.dashboard.conftest import build_app, csrf_of, login, q, sandbox_tenant, user


def test_allocation_page_runs_shows_and_guards(db: Any) -> None:
    t = sandbox_tenant(db)
    app = build_app(db)
    staff = login(app, user(db, "admin"))
    empty = staff.get(f"/t/{t.client_key}/allocation")
    assert empty.status_code == 200 and "No allocation yet." in empty.text
    assert "campaign-performance" in empty.text  # the cycle wrote the roll-ups
    r = staff.post(f"/t/{t.client_key}/allocation", data={"csrf": csrf_of(empty.text)})
    assert r.status_code == 303
    page = staff.get(f"/t/{t.client_key}/allocation")
    assert 'id="allocation"' in page.text and 'data-testid="allocation-effect"' in page.text
    assert "Expected over 7 days" in page.text
    assert len(q(db, t.tenant_id, "select * from ads.allocation_runs where tenant_id = %s")) == 1
    assert staff.post(f"/t/{t.client_key}/allocation", data={"csrf": "wrong"}).status_code == 403
    fr = login(app, user(db, "admin", lang="fr")).get(f"/t/{t.client_key}/allocation")
    assert "Allocation du budget" in fr.text and "Attendu sur 7 jours" in fr.text
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    seen = viewer.get(f"/t/{t.client_key}/allocation")
    assert seen.status_code == 200 and "Allocate now" not in seen.text
    assert viewer.post(f"/t/{t.client_key}/allocation", data={"csrf": csrf_of(empty.text)}).status_code == 403
