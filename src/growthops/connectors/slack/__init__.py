"""Slack: the daily digest as Block Kit with decision buttons, and the button-click handler.

* :mod:`.client` builds the ``slack_sdk`` Web API client and logs every call (redacted).
* :mod:`.digest` renders and posts a tenant's digest (:func:`~.digest.post_digest`).
* :mod:`.interactivity` verifies, parses and records a click, then updates the message.

The HTTP route is :mod:`growthops.web.slack` (``POST /slack/interactivity``).
"""

from __future__ import annotations
