"""Work after the response, on threads of its own (an approval's execution on the ad account).

FastAPI's ``BackgroundTasks`` run a sync function in the same thread pool as the sync routes
and dependencies (anyio's, 40 threads): an approval's execution (platform calls, seconds on a
slow platform) then competes with the requests for it, and a burst of approvals could hold it
all. :func:`run_after` runs the function on the app's own bounded pool
(:data:`AFTER_RESPONSE_WORKERS` threads, created on first use, shut down with the app) and only
awaits its end on the event loop, which costs no request thread; used as an async background
task, the response is sent first, as before.

What is not changed: the function itself (for an approval,
:func:`growthops.ads.action.execution.execute_after_approval`, exactly-once by its advisory lock,
conditional claim and unique index, see docs/execution.md), nor what a crash loses (work not yet
run is lost with the process, as a background task was; an approval left ``approved`` is
executed by the hourly upkeep).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

#: Threads running after-response work per app: two executions at a time (a 2-core machine
#: serves requests on the rest); more approvals wait in the pool's queue, in order.
AFTER_RESPONSE_WORKERS = 2
_lock = threading.Lock()


def after_response_pool(app: Any) -> ThreadPoolExecutor:
    """Return the app's after-response thread pool (``app.state.after_response``), creating it."""
    with _lock:
        pool = getattr(app.state, "after_response", None)
        if pool is None:
            pool = ThreadPoolExecutor(AFTER_RESPONSE_WORKERS,
                                      thread_name_prefix="growthops-after-response")
            app.state.after_response = pool
        return pool


async def run_after(app: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` on ``app``'s after-response pool and return its result.

    Meant as an async background task (``background.add_task(run_after, app, fn, ...)``): the
    event loop only awaits the pool's future. Raises what ``fn`` raises.
    """
    future = after_response_pool(app).submit(partial(fn, *args, **kwargs))
    return await asyncio.wrap_future(future)


def shutdown(app: Any) -> None:
    """Wait for the after-response work already submitted, then stop the pool (app shutdown)."""
    with _lock:
        pool = getattr(app.state, "after_response", None)
        app.state.after_response = None
    if pool is not None:
        pool.shutdown(wait=True)
