"""`/openapi.json` describes what the server really takes and answers, face by face.

The document is checked as OpenAPI, then against the routes themselves: every route that reads a
body documents it, every error is in its face's own form, and no route lists FastAPI's 422,
which this server never answers (validation errors are the face's 1201, HTTP 400).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from omnivideo.server.app import create_app
from omnivideo.settings import Settings
from tests.twin import app_client

#: POST routes that take no body: the id is in the path
BODILESS = {"/v1/videos/omni-video/{ident}/cancel"}
#: routes that read forms as well as JSON (useapi and the OpenAI SDK send either)
FORM_ROUTES = {
    "/v1/videos",
    "/v1/videos/edits",
    "/v1/videos/extensions",
    "/v1/videos/characters",
    "/v1/kling/videos/omni",
    "/v1/kling/accounts",
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    with app_client(tmp_path_factory.mktemp("twin")) as (client, key):
        yield client, key


@pytest.fixture(scope="module")
def spec(served: tuple[TestClient, str]) -> dict[str, Any]:
    answer = served[0].get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def error_body_of(path: str) -> str:
    """The error body of the face that serves ``path`` (CometAPI passes Kling's through)."""
    if path.startswith("/v1/kling/"):
        return "UseapiError"
    if path == "/v1/videos" or path.startswith(
        ("/v1/videos/{ident}", "/v1/videos/edits", "/v1/videos/extensions", "/v1/videos/characters")
    ):
        return "OpenAIError"
    return "KlingError"


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_face_is_documented(spec: dict[str, Any]) -> None:
    paths = set(spec["paths"])
    for expected in (
        "/v1/videos/omni-video",
        "/v1/videos/text2video",
        "/v1/videos/image2video",
        "/v1/videos/multi-image2video",
        "/v1/videos/video-extend",
        "/account/costs",
        "/v1/general/custom-elements",
        "/kling/v1/videos/omni-video",
        "/kling/v1/videos/text2video",
        "/v1/kling/videos/omni",
        "/v1/kling/assets",
        "/v1/videos",
        "/v1/videos/{ident}",
    ):
        assert expected in paths, expected


def test_every_post_documents_its_body(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        if method != "post" or path in BODILESS:
            continue
        body = operation.get("requestBody")
        assert body and body["required"], f"POST {path} documents no body"
        content = body["content"]
        assert content, path
        for media in content.values():
            schema = media["schema"]
            assert schema.get("$ref") or schema.get("format") == "binary", (path, schema)
        if path in FORM_ROUTES:
            assert {"application/json", "multipart/form-data"} <= set(content), path
        elif path != "/v1/kling/assets":
            assert set(content) == {"application/json"}, path


def test_bodies_come_from_the_request_models_once(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    # The contract's own models, shared by the official face and CometAPI's mirror.
    for path in ("/v1/videos/omni-video", "/kling/v1/videos/omni-video"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/OmniRequest"}
    omni = schemas["OmniRequest"]["properties"]
    assert {"prompt", "image_list", "element_list", "video_list", "multi_prompt"} <= set(omni)
    text2video = spec["paths"]["/v1/videos/text2video"]["post"]["requestBody"]
    assert text2video["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Text2VideoRequest"
    )
    # A file upload is a file part in a multipart form.
    form = spec["paths"]["/v1/kling/videos/omni"]["post"]["requestBody"]["content"]
    multipart = schemas[form["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert multipart["properties"]["image_1"]["format"] == "binary"
    assert "ValidationError" not in schemas and "HTTPValidationError" not in schemas


def test_no_route_lists_a_422(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        assert "422" not in operation["responses"], f"{method.upper()} {path}"


def test_errors_are_in_each_faces_form(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        success = [status for status in responses if status.startswith("2")]
        assert len(success) == 1 and responses[success[0]]["content"], (method, path)
        for status, response in responses.items():
            if status.startswith("2"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/" + error_body_of(path)), (method, path, status)
            assert response["description"].split(":")[0].isdigit(), response["description"]


def test_statuses_follow_each_face(spec: dict[str, Any]) -> None:
    kling = spec["paths"]["/v1/videos/omni-video"]["post"]["responses"]
    useapi = spec["paths"]["/v1/kling/videos/omni"]["post"]["responses"]
    # A depleted pack: Kling's 429 with code 1102, useapi's 402.
    assert "1102" in kling["429"]["description"]
    assert "1102" in useapi["402"]["description"] and "1102" not in useapi["429"]["description"]
    assert set(kling) >= {"200", "400", "401", "404", "429"}


def test_credentials_are_declared(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, method, operation in operations(spec):
        if path == "/healthz":
            assert "security" not in operation
            continue
        assert operation["security"] == [{"bearer": []}], (method, path)
        assert "401" in operation["responses"], (method, path)


def test_without_auth_no_credential_is_asked_for(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, no_auth=True))
    document = app.openapi()
    assert "securitySchemes" not in document["components"]
    for path, _method, operation in operations(document):
        assert "security" not in operation and "401" not in operation["responses"], path


def test_a_bad_query_parameter_is_the_documented_400(served: tuple[TestClient, str]) -> None:
    client, key = served
    answer = client.get("/v1/videos?limit=0", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "1201"
