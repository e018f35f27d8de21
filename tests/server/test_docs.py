"""`/docs` works offline: the page and every asset it loads come from the server itself."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from omnivideo.server.app import create_app
from omnivideo.settings import Settings


def test_docs_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, no_auth=True))) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        links = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        links += re.findall(r"""url: ?["']([^"']+)["']""", page.text)
        assert links and all(link.startswith("/") for link in links), links
        for link in links:
            asset = client.get(link)
            assert asset.status_code == 200, link
        js = client.get("/static/swagger-ui/swagger-ui-bundle.js")
        assert "SwaggerUIBundle" in js.text
        assert client.get("/openapi.json").json()["info"]["title"] == "omnivideo"
        assert client.get("/redoc").status_code == 404
