"""External platforms: ad accounts, messaging, Slack (see each subpackage).

Importing the package registers the API cost estimator used by
:func:`growthops.core.logs.service.log_api_call` (:mod:`growthops.connectors.costs`).
"""

from growthops.connectors import costs as costs  # noqa: F401  (registers the cost estimator)
