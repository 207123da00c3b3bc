"""``/docs``: Swagger UI served from this server, never from a CDN (it works offline).

FastAPI's default ``/docs`` page loads Swagger UI's script and stylesheet from a CDN, so it is
blank on a machine without internet access. Here the page is FastAPI's own
:func:`fastapi.openapi.docs.get_swagger_ui_html` pointed at the files vendored in ``static/``
(npm package ``swagger-ui-dist``, pinned in ``package-lock.json``, see ``static/SOURCE.md``),
as FastAPI documents for self-hosting ("Custom Docs UI Static Assets"). The start-up call is in
``static/swagger-init.js``, not inline: the Content-Security-Policy allows scripts from this
origin only.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

#: The page's own markup: the stylesheet, the bundle and the start-up script, all local.
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API docs</title>
<link rel="stylesheet" href="/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI of ``/openapi.json``) from the vendored static files.

    The app must be created with ``docs_url=None``; ``/redoc`` (CDN-only) is not served.
    """
    from html import escape

    from growthops.web.pages import CSP

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        resp = HTMLResponse(_PAGE.format(title=escape(app.title)))
        resp.headers["Content-Security-Policy"] = CSP
        return resp
