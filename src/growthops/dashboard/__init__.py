"""The server-rendered dashboard (Jinja2 + htmx): overview, suggestion queue, entity, learning
and validation pages, in English and French. Router: :data:`growthops.dashboard.views.router`."""
