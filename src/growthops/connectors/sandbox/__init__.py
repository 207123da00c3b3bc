"""The sandbox: a simulated ad account, deterministic for a seed (demo, tests, policy benchmarks).

See :mod:`growthops.connectors.sandbox.model` for the model and its sources, and
``docs/sandbox.md`` for every parameter. Public API:

* :func:`create_sandbox_account` — build an account and its history (``ads.metrics_daily``,
  the sandbox state tables, the ``ads.ad_accounts`` row with connector 'sandbox');
* :class:`SandboxAccount` — the :class:`~growthops.connectors.base.AdPlatform`, plus
  ``advance(conn, days)``, ``true_response(entity_id, spend)``, ``true_params()``,
  ``learning_resets()``;
* :func:`advance_sandbox` — load a tenant's sandbox and advance it;
* :class:`SandboxParams` — every model parameter.
"""

from __future__ import annotations

from growthops.connectors.sandbox.account import SandboxAccount
from growthops.connectors.sandbox.create import advance_sandbox, create_sandbox_account
from growthops.connectors.sandbox.model import SandboxParams, hill

__all__ = ["SandboxAccount", "SandboxParams", "advance_sandbox", "create_sandbox_account", "hill"]
