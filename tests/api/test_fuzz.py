"""Fuzz the JSON API from its own OpenAPI schema (schemathesis) and require no server error.

Bounded and deterministic: every operation under ``/api/v1/`` gets :data:`MAX_EXAMPLES` valid
(positive) and as many invalid (negative) generated requests, with Hypothesis
``derandomize=True`` (the seed derives from the test) and no example database. Requests carry the
API key of a tenant of their own, and the ``{tenant}`` path parameter is set to that tenant so
that generated cases reach the routes' bodies instead of stopping at the tenant check.
Besides ``not_a_server_error``, every response must be declared in the schema (status code,
content type) and match it, so the OpenAPI description stays complete.

(schemathesis' pytest loader ``from_fixture`` fails under pytest 9, ``request.node._nodeid``;
the operations' Hypothesis strategies are driven directly instead.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from growthops.app import create_app
from tests.api.conftest import make_key, synthetic_tenant

MAX_EXAMPLES = int(__import__("os").environ.get("GROWTHOPS_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_target(db):
    """A tenant with suggestions, its API key, and the app (on a server configured with a
    secret key ring, so that storing a platform token can succeed)."""
    from growthops.core.secrets import generate_key

    t = synthetic_tenant(db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GROWTHOPS_SECRET_KEYS", generate_key())
        yield {"app": create_app(db=db), "tenant": t.client_key, "key": make_key(db, t)}


def _fuzz(operation, mode: GenerationMode, target: dict) -> int:
    """Run the generated cases of one operation; return how many were sent."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case) -> None:
        nonlocal sent
        if case.path_parameters and "tenant" in case.path_parameters:
            case.path_parameters["tenant"] = target["tenant"]
        case.call_and_validate(headers={"X-API-Key": target["key"]}, checks=CHECKS)
        sent += 1

    run()
    return sent


def test_api_fuzz_finds_no_server_error(fuzz_target):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_target["app"])
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/")]
    assert len(operations) >= 25
    failures = []
    fuzzed: dict[str, int] = {}
    for op in operations:
        name = f"{op.method.upper()} {op.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzzed[name] = fuzzed.get(name, 0) + _fuzz(op, mode, fuzz_target)
            except Unsatisfiable:
                # negative: nothing of the operation can be made invalid (no parameter, no
                # body); positive: no valid example could be generated, so it went unfuzzed
                if mode is GenerationMode.POSITIVE:
                    failures.append(f"{name}: no valid example could be generated (unfuzzed)")
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{name} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
    # every operation was sent at least one generated request (none skipped silently)
    unfuzzed = sorted(n for n in {f"{o.method.upper()} {o.path}" for o in operations}
                      if not fuzzed.get(n))
    assert not unfuzzed, f"operations never fuzzed: {unfuzzed}"
    assert len(fuzzed) == len({f"{o.method.upper()} {o.path}" for o in operations})
