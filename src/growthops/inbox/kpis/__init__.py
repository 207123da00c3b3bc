"""Inbox KPIs: contacts and first-response times (:mod:`.compute`, pure), stored per 2-hour
window and per day (:mod:`.store`). Definitions: ``docs/inbox.md`` and :mod:`.compute`."""
