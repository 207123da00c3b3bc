"""Benchmark credit debits under concurrency and the publishing job's throughput.

Run: ``.venv/bin/python bench/posts_credits.py [--threads 8] [--debits 400] [--posts 60]``
(about 30 s on a 2-core machine; a fresh embedded database in a temporary directory).

1. Debits: ``--threads`` threads share ``--debits`` AI-reply debits on one tenant holding half
   as many credits (each debit its own tenant transaction, :func:`growthops.inbox.credits.debit`:
   idempotency check, conditional update, ledger row). Baseline in the same run: the bare
   conditional ``update user_credits set credits_remaining = credits_remaining - 1 where
   credits_remaining >= 1`` (no ledger, no idempotency), same threads and count. Prints
   debits/s of both, the ratio, and checks: exactly half succeeded, balance 0 = ledger sum.
2. Publishing: ``--posts`` posts due at once on the local Instagram server
   (:mod:`growthops.connectors.instagram.local_server`), published by 4 concurrent
   ``publish_due`` workers; prints posts/s and the number of ``media_publish`` calls (must equal
   ``--posts``: no double publication).
The client threads, the local server and PostgreSQL share the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402


def _run(threads: int, n: int, fn) -> float:
    per = [n // threads + (1 if k < n % threads else 0) for k in range(threads)]
    start = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        start.wait()
        base = sum(per[:k])
        for i in range(per[k]):
            fn(base + i)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--debits", type=int, default=400)
    ap.add_argument("--posts", type=int, default=60)
    args = ap.parse_args()
    from growthops.inbox import credits

    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-posts-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_posts",
                           embedded_cleanup="stop", pool_max_size=args.threads + 2))
    migrate(db)
    a = create_tenant(db, TenantIn(client_key="bench-credits", client_name="Bench credits"))
    b = create_tenant(db, TenantIn(client_key="bench-bare", client_name="Bench bare"))
    half = args.debits // 2
    for t in (a, b):
        with db.tenant_tx(t.tenant_id) as conn:
            credits.credit(conn, tenant_id=t.tenant_id, action_id="grant", amount=half)

    ok = {"ledger": 0, "bare": 0}
    lock = threading.Lock()

    def debit(i: int) -> None:
        try:
            with db.tenant_tx(a.tenant_id) as conn:
                credits.debit(conn, tenant_id=a.tenant_id, action_id=f"comment:{i}")
            with lock:
                ok["ledger"] += 1
        except credits.OutOfCredits:
            pass

    def bare(i: int) -> None:
        with db.tenant_tx(b.tenant_id) as conn:
            n = conn.execute("update inbox.user_credits set credits_remaining = "
                             "credits_remaining - 1 where tenant_id = %s and credits_remaining >= 1",
                             [b.tenant_id]).rowcount
        with lock:
            ok["bare"] += n

    t_bare = _run(args.threads, args.debits, bare)
    t_led = _run(args.threads, args.debits, debit)
    with db.tenant_tx(a.tenant_id) as conn:
        rec = credits.reconcile(conn, tenant_id=a.tenant_id)
    print(f"debits: {args.debits} attempts, {args.threads} threads, {half} credits")
    print(f"  bare conditional update: {args.debits / t_bare:8.0f} /s  ({ok['bare']} succeeded)")
    print(f"  credits.debit + ledger:  {args.debits / t_led:8.0f} /s  ({ok['ledger']} succeeded)")
    print(f"  ratio ledger / bare: {t_bare / t_led:.2f}x; balance {rec['balance']}, "
          f"ledger sum {rec['ledger_sum']} (both must be 0), succeeded = credits: "
          f"{ok['ledger'] == half}")

    from growthops.connectors.instagram.local_server import LocalInstagram
    from growthops.core.secrets import generate_key
    from growthops.inbox import posts
    from growthops.inbox.accounts import connect
    from growthops.inbox.publishing import publish_due
    os.environ.setdefault("GROWTHOPS_SECRET_KEYS", generate_key())
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    with LocalInstagram("IGQbench") as server:
        with db.tenant_tx(a.tenant_id) as conn:
            credits.credit(conn, tenant_id=a.tenant_id, action_id="grant2", amount=args.posts)
            acc = connect(conn, tenant_id=a.tenant_id, platform="instagram",
                          account_id="17841400000001", access_token="IGQbench",
                          metadata={"base_url": server.url, "api_version": "v21.0"})
            for k in range(args.posts):
                posts.create_post(conn, tenant_id=a.tenant_id,
                                  social_account_id=acc["social_account_id"], text=f"Post {k}",
                                  media=[{"type": "image", "url": "https://cdn.example.org/a.jpg"}],
                                  local_at=datetime(2026, 6, 1, 16, 0), created_by="bench", now=now)
        done = []

        def worker(_i: int) -> None:
            while True:
                out = publish_due(db, tenant_id=a.tenant_id, now=now + timedelta(hours=5))
                done.append(out["success"])
                if out["success"] == 0:
                    return

        t_pub = _run(4, 4, worker)
        calls = len(server.publications())
    print(f"publishing: {args.posts} due posts, 4 workers: {args.posts / t_pub:.1f} posts/s "
          f"({t_pub:.2f} s), media_publish calls {calls} (must be {args.posts}), "
          f"published {sum(done)}")
    db.close()


if __name__ == "__main__":
    main()
