"""Benchmark webhook ingestion: signed deliveries at rising rates against a bare raw-body store.

Run: ``.venv/bin/python bench/webhook_ingest.py [--rates 100,200,400] [--seconds 8]
[--max-seconds 8] [--concurrency 16] [--seed 7]`` (about two minutes on a 2-core machine).

1. A fresh embedded database (migrations applied) with one tenant, a WhatsApp number and an
   Instagram account (sandbox), and ``public.bench_raw`` for the bare endpoint.
2. Three processes beside this one, all on 127.0.0.1: the growthops app (uvicorn, one worker,
   ``GROWTHOPS_META_APP_SECRET`` set), a bare FastAPI app whose ``POST /bare`` reads the raw body
   and inserts it into ``bench_raw`` through the same kind of pool (the floor for "store a raw
   body"), and ``growthops worker`` processing the queue.
3. Deliveries are Meta-shaped (WhatsApp ``messages`` / Instagram ``messaging``, 50/50), each a new
   message, except: 10 % repeat an earlier delivery byte for byte (duplicates), 5 % are swapped
   with their neighbour (reordered), 1 % carry a wrong signature (forged).
   * **paced** runs at each rate of ``--rates`` for ``--seconds`` (open loop: each delivery is sent
     at its scheduled time whatever the answers): acknowledgement p50 / p99 (ms), sustained
     acknowledged deliveries per second. During the 200/s run the worker is killed with SIGKILL
     halfway and restarted one second later.
   * **max** runs, ``--concurrency`` requests in flight for ``--max-seconds``: deliveries per second
     of growthops and of the bare endpoint, and their ratio.
4. Checks, after the queue is drained (the recovery requeues what the killed worker held, as the
   worker's ``inbox.recover`` task does every minute): messages stored = distinct genuine messages
   sent (0 lost), 0 duplicate rows, every forged delivery answered 401 and none stored.

Targets (issue 10): growthops ≥ 0.5 × bare throughput; p99 < 100 ms at 200/s; 0 duplicates;
100 % of forged rejected; 0 messages lost across the SIGKILL. The load generator, the servers,
the worker and PostgreSQL share the machine's two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rich.console import Console
from rich.table import Table
from starlette.concurrency import run_in_threadpool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.connectors.meta_webhooks import sign  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

DB_NAME = "growthops_bench_webhooks"
SECRET = "bench-app-secret-" + "s" * 24
WA, IG = "bench-wa-1", "bench-ig-1"
console = Console(width=max(Console().width, 150))


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_name=DB_NAME, embedded_cleanup=None,
                    pool_max_size=8)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GROWTHOPS_EMBEDDED_CLEANUP",
                                                             "DATABASE_URL", "GROWTHOPS_DATABASE_URL")}
    return {**env, "GROWTHOPS_DATA_DIR": str(data_dir), "GROWTHOPS_DATABASE_NAME": DB_NAME,
            "GROWTHOPS_META_APP_SECRET": SECRET, "GROWTHOPS_SECRET_KEY": "bench-" + "x" * 40}


# ----------------------------------------------------------------------------- the servers
def bare_app(db: Database) -> Any:
    """``POST /bare``: read the raw body, insert it (one statement), answer 200."""
    app = FastAPI()

    def store(body: bytes) -> None:
        with db.pool.connection() as conn:
            conn.execute("insert into public.bench_raw (body) values (%s)", [body])

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare")
    async def bare(request: Request) -> JSONResponse:
        await run_in_threadpool(store, await request.body())
        return JSONResponse({"status": "received"})

    return app


def serve(kind: str, port: int, data_dir: Path) -> None:
    """Run one server in this process until killed."""
    import uvicorn

    db = Database(Settings(data_dir=data_dir, database_name=DB_NAME, pool_max_size=8,
                           meta_app_secret=SECRET))
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
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                             "--data-dir", str(data_dir)], env=_env(data_dir))
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


def start_worker(data_dir: Path, nice: int = 0) -> subprocess.Popen[bytes]:
    """Start ``growthops worker`` (concurrency 2) on the bench database, at CPU priority
    ``nice`` (0: the same as the web server; docs/inbox.md recommends 10 in production)."""
    return subprocess.Popen(["nice", "-n", str(nice), sys.executable, "-m", "growthops.cli",
                             "worker", "--concurrency", "2"],
                            env=_env(data_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------- setup
def setup(data_dir: Path) -> Database:
    """Create the database, the tenant, its two sandbox accounts and ``bench_raw``."""
    db = Database(_settings(data_dir))
    migrate(db)
    with db.admin() as conn:
        conn.execute("create table if not exists public.bench_raw (id bigserial primary key, "
                     "body bytea not null, received_at timestamptz not null default now())")
        conn.execute("grant insert on public.bench_raw to growthops_app")
        conn.execute("grant usage on sequence public.bench_raw_id_seq to growthops_app")
    tenant = create_tenant(db, TenantIn.model_validate(
        {"client_key": "bench-inbox", "client_name": "Bench inbox"}, strict=False))
    from growthops.inbox.accounts import connect

    with db.tenant_tx(tenant.tenant_id) as conn:
        connect(conn, tenant_id=tenant.tenant_id, platform="whatsapp", account_id=WA,
                connector="sandbox")
        connect(conn, tenant_id=tenant.tenant_id, platform="instagram", account_id=IG,
                connector="sandbox")
    db.tenant = tenant.tenant_id  # type: ignore[attr-defined]
    return db


# ------------------------------------------------------------------------------ deliveries
class Deliveries:
    """Meta-shaped deliveries: new messages, 10 % duplicates, 5 % swapped, 1 % forged."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.sent: list[tuple[str, bytes, str]] = []
        #: genuine message ids whose delivery was acknowledged (200) at least once
        self.acked: set[str] = set()

    def _new(self) -> tuple[str, bytes, str]:
        self.n += 1
        at = datetime.now(UTC)
        cust = str(33600000000 + self.rng.randrange(5000))
        if self.rng.random() < 0.5:
            mid = f"wamid.BENCH{self.n:09d}"
            body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "1555", "phone_number_id": WA},
                    "contacts": [{"profile": {"name": "Bench"}, "wa_id": cust}],
                    "messages": [{"from": cust, "id": mid, "timestamp": str(int(at.timestamp())),
                                  "type": "text", "text": {"body": f"message {self.n}"}}]}}]}]}
            return "whatsapp", json.dumps(body).encode(), mid
        mid = f"aWdfBENCH{self.n:09d}"
        ms = int(at.timestamp() * 1000)
        body = {"object": "instagram", "entry": [{"id": IG, "time": ms, "messaging": [{
            "sender": {"id": cust}, "recipient": {"id": IG}, "timestamp": ms,
            "message": {"mid": mid, "text": f"message {self.n}"}}]}]}
        return "instagram", json.dumps(body).encode(), mid

    def batch(self, count: int) -> list[tuple[str, bytes, str, str | None]]:
        """``count`` deliveries ``(platform, body, signature, genuine message id or None)`` in
        send order."""
        out: list[tuple[str, bytes, str, str | None]] = []
        for _ in range(count):
            r = self.rng.random()
            if r < 0.10 and self.sent:
                platform, body, mid = self.rng.choice(self.sent)
                out.append((platform, body, sign(body, SECRET), mid))
            elif r < 0.11:
                platform, body, _mid = self._new()  # forged: never a genuine message
                out.append((platform, body, sign(body, "forged-secret"), None))
            else:
                platform, body, mid = self._new()
                self.sent.append((platform, body, mid))
                out.append((platform, body, sign(body, SECRET), mid))
        for i in self.rng.sample(range(max(1, count - 1)), int(count * 0.05)):
            out[i], out[i + 1] = out[i + 1], out[i]
        return out


def _forged(sig: str, body: bytes) -> bool:
    return sig != sign(body, SECRET)


# ------------------------------------------------------------------------------------ load
async def paced(base: str, items: list[tuple[str, bytes, str, str | None]], rate: float,
                path: str | None, acked: set[str], on_half: Any = None) -> dict[str, Any]:
    """Send ``items`` at ``rate`` per second (open loop); return latencies and status codes."""
    lat: list[float] = []
    codes: list[tuple[int, bool]] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.perf_counter()

        async def one(i: int, platform: str, body: bytes, sig: str, mid: str | None) -> None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t0 = time.perf_counter()
            r = await client.post(path or f"/webhooks/{platform}", content=body,
                                  headers={"Content-Type": "application/json",
                                           "X-Hub-Signature-256": sig})
            lat.append(time.perf_counter() - t0)
            codes.append((r.status_code, _forged(sig, body)))
            if r.status_code == 200 and mid is not None:
                acked.add(mid)

        tasks = [asyncio.create_task(one(i, *it)) for i, it in enumerate(items)]
        if on_half is not None:
            await asyncio.sleep(len(items) / rate / 2)
            await asyncio.get_running_loop().run_in_executor(None, on_half)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    ok = sum(1 for c, f in codes if c == 200)
    return {"lat": lat, "codes": codes, "wall": wall, "acked_per_s": ok / wall}


async def closed(base: str, items: list[tuple[str, bytes, str, str | None]], concurrency: int,
                 seconds: float, path: str | None, acked: set[str]) -> dict[str, Any]:
    """``concurrency`` requests in flight for up to ``seconds``; return deliveries per second."""
    it = iter(items)
    done = [0]
    errors, forged_n, forged_401, ok_n = [0], [0], [0], [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        stop = start + seconds

        async def worker() -> None:
            for platform, body, sig, mid in it:
                if time.perf_counter() > stop:
                    return
                r = await client.post(path or f"/webhooks/{platform}", content=body,
                                      headers={"Content-Type": "application/json",
                                               "X-Hub-Signature-256": sig})
                done[0] += 1
                if r.status_code == 200 and mid is not None:
                    acked.add(mid)
                forged = _forged(sig, body)
                forged_n[0] += forged
                forged_401[0] += forged and r.status_code == 401
                errors[0] += r.status_code not in (200, 401)
                ok_n[0] += r.status_code == 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"n": done[0], "per_s": done[0] / wall, "errors": errors[0], "forged": forged_n[0],
            "forged_401": forged_401[0], "ok": ok_n[0]}


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


# ------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="100,200,400", help="paced rates, deliveries per second")
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each paced run")
    ap.add_argument("--max-seconds", type=float, default=8.0, help="duration of each max run")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--worker-nice", type=int, default=10,
                    help="CPU priority of the worker (nice; 0 = the web server's)")
    ap.add_argument("--kill-at", type=float, default=200.0,
                    help="the paced rate during which the worker is SIGKILLed (0: never)")
    ap.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--serve", choices=("growthops", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir)
        return
    rates = [float(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="growthops-bench-webhooks-"))
    console.print(f"bench/webhook_ingest.py: data dir {tmp}, rates {rates}/s × {args.seconds} s, "
                  f"max runs {args.max_seconds} s at concurrency {args.concurrency}, seed {args.seed}")
    db = setup(tmp)
    gen = Deliveries(args.seed)
    bare_gen = Deliveries(args.seed + 1)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        app_proc, app_url = start_server("growthops", tmp)
        bare_proc, bare_url = start_server("bare", tmp)
        procs += [app_proc, bare_proc]
        worker = [start_worker(tmp, args.worker_nice)]
        procs.append(worker[0])
        killed = {"n": 0}
        # let the worker start (imports, its periodic tasks' first run), then warm both servers
        # (connections, pools): not counted
        time.sleep(5)
        warm_ok = 0
        for base, path, src in ((bare_url, "/bare", Deliveries(args.seed + 9)), (app_url, None, gen)):
            res = asyncio.run(paced(base, src.batch(100), 50, path, src.acked))
        warm_ok = sum(1 for c, _f in res["codes"] if c == 200)  # the growthops warm-up
        warm_forged = sum(1 for _c, f in res["codes"] if f)
        warm_401 = sum(1 for c, f in res["codes"] if f and c == 401)

        def kill_and_restart() -> None:
            worker[0].send_signal(signal.SIGKILL)
            worker[0].wait()
            killed["n"] += 1
            time.sleep(1.0)
            worker[0] = start_worker(tmp, args.worker_nice)
            procs.append(worker[0])

        table = Table("run", "target", "sent", "acked/s", "p50 ms", "p99 ms", "401 forged",
                      "other", title="Webhook ingestion (loopback, 2 cores shared)")
        paced_rows = {}
        for rate in rates:
            for name, base, path in (("bare", bare_url, "/bare"), ("growthops", app_url, None)):
                src = gen if name == "growthops" else bare_gen
                items = src.batch(int(rate * args.seconds))
                hook = kill_and_restart if (name == "growthops" and rate == args.kill_at) else None
                res = asyncio.run(paced(base, items, rate, path, src.acked, on_half=hook))
                forged = sum(1 for _c, f in res["codes"] if f)
                rejected = sum(1 for c, f in res["codes"] if f and c == 401)
                other = sum(1 for c, f in res["codes"] if not f and c != 200)
                if name == "bare":
                    rejected, other = 0, sum(1 for c, _f in res["codes"] if c != 200)
                paced_rows[(name, rate)] = res
                table.add_row(f"paced {int(rate)}/s" + (" (worker SIGKILL)" if hook else ""),
                              name, str(len(items)), f"{res['acked_per_s']:.0f}",
                              f"{_ms(res['lat'], 50):.1f}", f"{_ms(res['lat'], 99):.1f}",
                              f"{rejected}/{forged}" if name == "growthops" else "–", str(other))
        mx = {}
        for name, base, path in (("bare", bare_url, "/bare"), ("growthops", app_url, None)):
            src = gen if name == "growthops" else bare_gen
            items = src.batch(int(1500 * args.max_seconds))
            mx[name] = asyncio.run(closed(base, items, args.concurrency, args.max_seconds, path,
                                          src.acked))
            table.add_row(f"max (c={args.concurrency})", name, str(mx[name]["n"]),
                          f"{mx[name]['per_s']:.0f}", "", "",
                          f"{mx[name]['forged_401']}/{mx[name]['forged']}"
                          if name == "growthops" else "–", str(mx[name]["errors"]))
        console.print(table)
        # drain: requeue what the killed worker held (the worker's inbox.recover does it every
        # minute), then wait for the queue to empty
        from growthops.inbox.jobs import requeue

        deadline = time.monotonic() + 300
        pending = -1
        while time.monotonic() < deadline:
            requeue(db, older_than=timedelta(seconds=5))
            with db.app_tx() as conn:
                pending = sum(r["pending"] for r in conn.execute(
                    "select * from inbox.webhook_stats(now() - interval '1 day')").fetchall())
            if pending == 0:
                break
            time.sleep(2)
        with db.tenant_tx(db.tenant) as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                """select count(*) as n, count(distinct (conversation_id, platform_message_id)) as d
                   from inbox.conversation_messages where tenant_id = %s""",
                [db.tenant]).fetchone()  # type: ignore[attr-defined]
        with db.admin() as conn:
            stored_events = conn.execute("select count(*) as n from inbox.webhook_events"
                                         ).fetchone()["n"]
            rejected = conn.execute("select coalesce(sum(count), 0) as n from "
                                    "inbox.webhook_rejections").fetchone()["n"]
        sent_forged = warm_forged + mx["growthops"]["forged"] + sum(
            1 for (n, _r), res in paced_rows.items() if n == "growthops"
            for _c, f in res["codes"] if f)
        acked_deliveries = mx["growthops"]["ok"] + sum(
            1 for (n, _r), res in paced_rows.items() if n == "growthops"
            for c, _f in res["codes"] if c == 200)
        stored_other = stored_events - acked_deliveries - warm_ok
        got_401 = warm_401 + mx["growthops"]["forged_401"] + sum(
            1 for (n, _r), res in paced_rows.items() if n == "growthops"
            for c, f in res["codes"] if f and c == 401)
        genuine = len(gen.acked)
        ratio = mx["growthops"]["per_s"] / mx["bare"]["per_s"]
        p99_200 = _ms(paced_rows[("growthops", 200.0)]["lat"], 99) if ("growthops", 200.0) in \
            paced_rows else float("nan")
        checks = Table("figure", "value", "target", "ok", title="Checks")
        checks.add_row("throughput vs bare (max runs)", f"{ratio:.2f}×", "≥ 0.5×",
                       "yes" if ratio >= 0.5 else "NO")
        checks.add_row("p99 ack at 200/s (worker killed mid-run)", f"{p99_200:.1f} ms", "< 100 ms",
                       "yes" if p99_200 < 100 else "NO")
        checks.add_row("messages stored / genuine acknowledged (pending after drain)",
                       f"{row['n']} / {genuine} ({pending})", "equal, 0 lost",
                       "yes" if row["n"] == genuine and pending == 0 else "NO")
        checks.add_row("duplicate message rows", str(row["n"] - row["d"]), "0",
                       "yes" if row["n"] == row["d"] else "NO")
        checks.add_row("forged answered 401 / sent (refusals counted; events stored beyond the 200s)",
                       f"{got_401} / {sent_forged} ({rejected}; {stored_other})", "all, 0 stored",
                       "yes" if got_401 == sent_forged == rejected and stored_other == 0
                       else "NO")
        checks.add_row("worker SIGKILLs survived", str(killed["n"]), "≥ 1", "yes" if killed["n"] else "NO")
        console.print(checks)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        db.close()
        _stop_embedded(tmp)


def _stop_embedded(tmp: Path) -> None:
    """Stop the bench's embedded PostgreSQL (fast shutdown) and delete its directory."""
    import shutil

    pidfile = tmp / "pgdata" / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, signal.SIGINT)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (OSError, ValueError, IndexError):
        pass
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
