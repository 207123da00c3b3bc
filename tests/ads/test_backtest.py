"""The backtest's replay sees only what was known on the replayed day (issue 16)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from growthops.ads.config import load_context
from growthops.ads.suggestions.candidates import Candidate
from growthops.ads.suggestions.generate import store
from tests.conftest import new_tenant


def _candidate() -> Candidate:
    texts = {
        lang: {"action": "Pause A1", "reason": "ROAS low", "expected_impact": "save"}
        for lang in ("en", "fr")
    }
    return Candidate(
        "pause", "meta", "adset", "a1", "A1", 0.9, 100.0, texts, {"horizon_days": 7, "metrics": {}}
    )


def test_replay_ignores_suggestions_created_after_its_clock(db) -> None:
    """A suggestion the account got later (refused, still valid at the replayed clock because its
    validity runs from its real creation) must not block the replay of an earlier day; one that
    existed at the replayed clock still does."""
    t = new_tenant(db)
    live_day = date(2024, 3, 31)
    live_clock = datetime.combine(live_day + timedelta(days=1), time(9), tzinfo=UTC)
    replay_day = date(2024, 3, 1)
    replay_clock = datetime.combine(replay_day + timedelta(days=1), time(9), tzinfo=UTC)
    with db.tenant_tx(t.tenant_id, rollback=True) as conn:
        ctx = load_context(conn, tenant_id=t.tenant_id)
        assert store(conn, ctx, live_day, [_candidate()], live_clock) == (1, 0)
        # a person refused it; its validity (48 h from 1 April) covers every earlier clock
        conn.execute(
            "update ads.suggestions set status = 'refused', expires_at = %s where as_of = %s",
            [live_clock + timedelta(days=400), live_day],
        )
        # replaying 1 March: the April suggestion did not exist yet
        assert store(conn, ctx, replay_day, [_candidate()], replay_clock) == (1, 0)
        # the next replayed day: the 1 March suggestion is known and pending: a duplicate
        nxt = replay_clock + timedelta(days=1)
        assert store(conn, ctx, replay_day + timedelta(days=1), [_candidate()], nxt) == (0, 1)
        n = conn.execute(
            "select count(*) as n from ads.suggestions where entity_id = 'a1'"
        ).fetchone()["n"]
        assert n == 2
