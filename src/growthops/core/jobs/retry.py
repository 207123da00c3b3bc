"""What every domain's jobs share: retries after transient database errors, the job's database.

procrastinate keeps its queue in the ``public`` schema without row-level security, so every job
carries ``tenant_id`` in its arguments and the task opens ``db.tenant_tx(tenant_id)`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import psycopg_pool
from procrastinate import JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy

if TYPE_CHECKING:
    from procrastinate.jobs import Job

    from growthops.core.db import Database

#: Retries of a daily cycle after a transient database error, waiting
#: ``BACKOFF_BASE_SECONDS ** (attempt + 1)`` seconds: 4 s, 16 s, 64 s, 256 s, 1024 s.
MAX_RETRIES = 5
BACKOFF_BASE_SECONDS = 4

#: SQLSTATEs worth retrying. Source: PostgreSQL manual, Appendix A "Error Codes":
#: class 08 connection exceptions, 40001 serialization_failure, 40P01 deadlock_detected,
#: 55P03 lock_not_available, 57P01-57P03 admin/crash shutdown and cannot_connect_now,
#: 53300 too_many_connections.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})


def is_transient_db_error(exc: BaseException | None) -> bool:
    """Return True when ``exc`` (or an exception it was raised from) is a transient DB error.

    Transient: a pool timeout, a lost or refused connection (``OperationalError`` without a
    SQLSTATE, or class 08), or one of :data:`TRANSIENT_SQLSTATES`. Everything else (bad data,
    constraint violations, bugs) is not retried.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg_pool.PoolTimeout):
            return True
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            if state is None or state.startswith("08") or state in TRANSIENT_SQLSTATES:
                return True
        exc = exc.__cause__ or exc.__context__
    return False


class TransientDbRetry(BaseRetryStrategy):
    """Retry a job after a transient database error only, with exponential backoff.

    Waits ``base ** (attempts + 1)`` seconds (procrastinate's ``exponential_wait`` formula),
    at most ``max_retries`` times; any other exception fails the job at once.
    """

    def __init__(self, max_retries: int = MAX_RETRIES, base_seconds: int = BACKOFF_BASE_SECONDS):
        self.max_retries = max_retries
        self.base_seconds = base_seconds

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        """Return when to retry ``job``, or None to fail it."""
        if job.attempts >= self.max_retries or not is_transient_db_error(exception):
            return None
        return RetryDecision(retry_in={"seconds": self.base_seconds ** (job.attempts + 1)})



def db_of(context: JobContext) -> Database:
    """Return the Database the worker was started for (``additional_context['db']``)."""
    db = context.additional_context.get("db")
    if db is None:
        from growthops.core.db import get_db

        db = get_db()
    return db


def optional(module: str, function: str) -> Any:
    """Return ``module.function``, or None when that module (not a dependency of it) is absent.

    The hourly upkeep calls modules other parts of growthops provide (hypotheses, execution);
    until they exist it skips them instead of failing.
    """
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, function, None)


