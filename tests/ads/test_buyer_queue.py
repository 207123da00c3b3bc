"""What a media buyer lives with in the morning queue (issue 9): a decided suggestion never comes
back as a duplicate, a replayed day adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from growthops.ads.action.decisions import decide
from growthops.ads.cycle import run_daily_cycle
from tests.ads.test_decisions import END, account


def _rows(db, tid, sql, params=()):
    with db.tenant_tx(tid) as conn:
        return conn.execute(sql, params).fetchall()


def test_an_approved_or_refused_suggestion_is_not_suggested_again(db):
    clock = datetime.now(UTC)
    t, ids = account(db, clock=clock)
    approved, refused = ids[0], ids[1]
    with db.tenant_tx(t.tenant_id) as conn:  # no ad account: approving executes nothing
        decide(conn, tenant_id=t.tenant_id, suggestion_id=approved, decision="approved",
               decided_by="alice")
        decide(conn, tenant_id=t.tenant_id, suggestion_id=refused, decision="refused",
               decided_by="alice")
    count = "select count(*) as n from ads.suggestions"
    before = _rows(db, t.tenant_id, count)[0]["n"]
    # the same day replayed, an hour later: nothing added
    again = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END,
                            clock=clock + timedelta(hours=1))
    assert again.summary["suggestions"] == 0
    assert _rows(db, t.tenant_id, count)[0]["n"] == before
    # another day's run within the decided suggestions' validity: no new one for them either
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END - timedelta(days=1),
                    clock=clock + timedelta(hours=2))
    dups = _rows(db, t.tenant_id, """
        select d.suggestion_id, n.suggestion_id as dup from ads.suggestions d
        join ads.suggestions n on n.tenant_id = d.tenant_id and n.platform = d.platform
         and n.entity_type = d.entity_type and n.entity_id = d.entity_id and n.type = d.type
         and n.suggestion_id <> d.suggestion_id
        where d.suggestion_id = any(%s)""", [[approved, refused]])
    assert dups == []
