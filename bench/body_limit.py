"""Benchmark the body-size limit: a 20 MB body is refused at once, health checks stay fast.

Run: ``.venv/bin/python bench/body_limit.py [--mb 20] [--rounds 5] [--checks 40]``
(about 20 s on a 2-core machine).

1. Creates a fresh embedded database (migrations applied) and starts the growthops app in its
   own process (uvicorn, one worker, 127.0.0.1, the default limits: 1 MiB bodies).
   The rate limits are lifted for the bench (its health checks come from one address).
2. Baseline: ``--checks`` sequential ``GET /api/v1/health`` with nothing else going on.
3. Under attack, ``--rounds`` times: one client posts a ``--mb`` MB JSON array to
   ``POST /api/v1/auth/login`` (unauthenticated, the issue's reproduction): first declared by
   its ``Content-Length`` (headers and the first 64 KiB sent, then the answer awaited), then
   the whole body streamed with chunked encoding (no length), while another
   sends health checks one after the other until the big request ends.
4. Prints the time to the big request's answer (and its status: 413 expected), the health
   checks' latency during the attack (p50, max) and its ratio to the baseline.

Before the fix (issue 8, finding 1): 13.9 s for 20 MB and a concurrent health check 12.9 s.
The client, the server and PostgreSQL share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[0]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from api import _settings, start_server  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402


async def _health_until(client: httpx.AsyncClient, done: asyncio.Event) -> list[float]:
    times = []
    while not done.is_set() or not times:
        t0 = time.perf_counter()
        r = await client.get("/api/v1/health")
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.status_code
    return times


async def _post_raw(base: str, body: bytes) -> tuple[float, int]:
    """POST with the ``Content-Length`` of ``body`` over a raw connection: send the headers and
    the first 64 KiB, then wait for the answer; return the time to the status line and the
    status. (The server answers before the body is uploaded and closes the connection, so a
    client still writing would only see a reset.)"""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
            f"application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    t0 = time.perf_counter()
    writer.write(head + body[: 1 << 16])
    await writer.drain()
    try:
        line = await reader.readline()
    except ConnectionError:
        line = b""
    elapsed = time.perf_counter() - t0
    writer.close()
    parts = line.split()
    return elapsed, int(parts[1]) if len(parts) > 1 else -1


async def _attack(base: str, body: bytes, chunked: bool) -> tuple[float, int, list[float]]:
    done = asyncio.Event()

    async def chunks() -> Any:
        for i in range(0, len(body), 1 << 16):
            yield body[i:i + (1 << 16)]

    async with httpx.AsyncClient(base_url=base, timeout=120) as big, \
            httpx.AsyncClient(base_url=base, timeout=120) as small:
        checker = asyncio.create_task(_health_until(small, done))
        await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        if chunked:
            try:
                r = await big.post("/api/v1/auth/login", content=chunks(),
                                   headers={"content-type": "application/json"})
                status = r.status_code
            except httpx.HTTPError:
                status = -1
            elapsed = time.perf_counter() - t0
        else:
            elapsed, status = await _post_raw(base, body)
        done.set()
        times = await checker
    return elapsed, status, times


async def _baseline(base: str, n: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await c.get("/api/v1/health")
            out.append(time.perf_counter() - t0)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--checks", type=int, default=40)
    args = ap.parse_args()
    body = b"[" + b"1," * (args.mb * (1 << 20) // 2) + b"1]"  # deterministic content
    with tempfile.TemporaryDirectory(prefix="growthops-bench-body-") as tmp:
        data_dir = Path(tmp)
        db = Database(_settings(data_dir))
        migrate(db)
        db.close()
        proc, base = start_server("growthops", data_dir)
        try:
            base_times = asyncio.run(_baseline(base, args.checks))
            p50_base = float(np.median(base_times))
            print(f"baseline: {args.checks} health checks alone: p50 {p50_base * 1000:.1f} ms, "
                  f"max {max(base_times) * 1000:.1f} ms")
            for chunked in (False, True):
                kind = "chunked" if chunked else "Content-Length"
                for i in range(args.rounds):
                    elapsed, status, times = asyncio.run(_attack(base, body, chunked))
                    p50 = float(np.median(times))
                    print(f"{len(body) / 2**20:.0f} MiB body ({kind}) #{i + 1}: answered {status} in "
                          f"{elapsed * 1000:.1f} ms; {len(times)} concurrent health checks: "
                          f"p50 {p50 * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
                          f"(p50 {p50 / p50_base:.2f}x the baseline)")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    # The health checks come from one address, faster than the public rate limit allows a
    # client without credentials (120/minute): lift it for the bench; the body limit is the
    # default one.
    os.environ["GROWTHOPS_RATE_LIMIT_PUBLIC"] = "1000000/minute"
    os.environ["GROWTHOPS_RATE_LIMIT_DEFAULT"] = "1000000/minute"
    main()
