"""`/docs`: Swagger UI served from the package itself, so it works on a machine with no internet.

FastAPI's own page loads Swagger UI from a CDN; a self-hosted server is often on a network that
cannot reach one. The assets (the npm package ``swagger-ui-dist``, with its licence) live in
``static/swagger-ui`` and are served under ``/static/swagger-ui``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "swagger-ui"
PREFIX = "/static/swagger-ui"


def install(app: FastAPI) -> None:
    """Serve the Swagger UI assets and the `/docs` page that uses them (the app must be made
    with ``docs_url=None``)."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        # Behind a proxy at a path (root_path), the page's links must carry that path too.
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} – API",
            swagger_js_url=f"{root}{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{PREFIX}/favicon-32x32.png",
        )
