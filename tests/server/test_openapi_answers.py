"""Real answers match the OpenAPI document, including those fuzzing seldom reaches: finished
tasks with their videos, elements, uploads, useapi accounts, CometAPI's wrapper shape, event
streams and downloads. Each answer is checked by Schemathesis against its operation's
documented status, media type and schema.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from PIL import Image

from omnivideo.store.sql import open_sql_stores
from tests import pg
from tests.twin import app_client


def png(size: tuple[int, int] = (400, 400)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def png_b64() -> str:
    return base64.b64encode(png()).decode()


class Documented:
    """A client that checks every answer against the operation it called."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}
        self.schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())

    def call(
        self, method: str, path: str, template: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        answer = self.client.request(method, path, headers=headers, **kw)
        assert answer.status_code < 300, answer.text
        self.schema[template or path][method].validate_response(answer)
        return answer

    def poll(self, path: str, template: str, done: Callable[[Any], bool]) -> Any:
        """GET ``path`` until ``done`` holds for its answer (the twin renders at once)."""
        for _ in range(200):
            answer = self.call("GET", path, template).json()
            if done(answer):
                return answer
            time.sleep(0.02)
        raise AssertionError(f"{path} did not finish")


def kling_final(answer: dict[str, Any]) -> bool:
    return answer["data"]["task_status"] in ("succeed", "failed")


@pytest.fixture(params=["memory", "postgresql"])
def api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Documented]:
    # Every route's answers on the memory twin and on a real PostgreSQL: the SQL stores must
    # give the faces exactly what the twin gives them.
    if request.param == "memory":
        with app_client(tmp_path) as (client, key):
            yield Documented(client, key)
        return
    with pg.fresh_database() as url:
        stores = open_sql_stores(url)
        try:
            with app_client(tmp_path, stores) as (client, key):
                yield Documented(client, key)
        finally:
            stores.close()


OMNI = {
    "model_name": "kling-v3-omni",
    "prompt": "a paper boat",
    "duration": "3",
    "aspect_ratio": "16:9",
    "external_task_id": "boat-1",
}


def test_kling_answers(api: Documented) -> None:
    created = api.call("POST", "/v1/videos/omni-video", json=OMNI).json()["data"]
    one = "/v1/videos/omni-video/{ident}"
    task = api.poll(f"/v1/videos/omni-video/{created['task_id']}", one, kling_final)["data"]
    assert task["task_status"] == "succeed" and task["task_result"]["videos"]
    api.call("GET", "/v1/videos/omni-video")
    api.call("GET", "/v1/videos/omni-video", params={"external_task_id": "boat-1"})
    api.call("POST", f"/v1/videos/omni-video/{task['task_id']}/cancel", f"{one}/cancel")
    api.call("GET", f"/v1/videos/omni-video/{task['task_id']}/events", f"{one}/events")
    legacy = api.call("POST", "/v1/videos/text2video", json={"prompt": "a kite"}).json()["data"]
    legacy_one = "/v1/videos/text2video/{ident}"
    api.poll(f"/v1/videos/text2video/{legacy['task_id']}", legacy_one, kling_final)
    api.call("GET", "/v1/videos/text2video", params={"task_id": legacy["task_id"]})
    api.call("GET", "/account/costs", params={"start_time": 0, "end_time": 2**41})
    api.call("GET", "/healthz")


def test_element_answers(api: Documented) -> None:
    custom = {
        "element_name": "cube",
        "element_frontal_image": png_b64(),
        "element_refer_list": [{"image_url": png_b64()}],
        "tag_list": [{"tag_id": "o_104"}],
    }
    element = api.call("POST", "/v1/general/custom-elements", json=custom).json()["data"]
    api.call("GET", "/v1/general/custom-elements")
    api.call("GET", "/v1/general/presets-elements")
    advanced = {
        "element_name": "cone",
        "element_image_list": {
            "frontal_image": png_b64(),
            "refer_images": [{"image_url": png_b64()}],
        },
        "external_task_id": "cone-1",
    }
    made = api.call("POST", "/v1/general/advanced-custom-elements", json=advanced).json()["data"]
    template = "/v1/general/advanced-custom-elements/{ident}"
    api.call("GET", f"/v1/general/advanced-custom-elements/{made['task_id']}", template)
    api.call("GET", "/v1/general/advanced-custom-elements")
    api.call("GET", "/v1/general/advanced-presets-elements")
    body = {"element_id": element["element_id"]}
    api.call("POST", "/v1/general/delete-elements", json=body)


@pytest.mark.parametrize("shape", ["a", "b"])
def test_cometapi_answers(tmp_path: Path, shape: str) -> None:
    with app_client(tmp_path, cometapi_shape=shape) as (client, key):
        api = Documented(client, key)
        body = {**OMNI, "external_task_id": f"comet-{shape}"}
        created = api.call("POST", "/kling/v1/videos/omni-video", json=body).json()["data"]
        path = f"/kling/v1/videos/omni-video/{created['task_id']}"
        final = kling_final if shape == "a" else lambda a: a["data"]["status"] == "SUCCESS"
        api.poll(path, "/kling/v1/videos/omni-video/{ident}", final)
        api.call("GET", "/kling/v1/videos/omni-video")
        api.call(
            "GET",
            "/kling/v1/videos/omni-video",
            params={"external_task_id": body["external_task_id"]},
        )


def test_openai_answers(api: Documented) -> None:
    form = {"prompt": "a lighthouse", "seconds": "4", "size": "1280x720"}
    files = {"input_reference": ("first.png", png(), "image/png")}
    made = api.call("POST", "/v1/videos", data=form, files=files).json()
    one = "/v1/videos/{ident}"
    ended = ("completed", "failed")
    video = api.poll(f"/v1/videos/{made['id']}", one, lambda v: v["status"] in ended)
    assert video["status"] == "completed", video
    api.call("GET", f"/v1/videos/{made['id']}/content", f"{one}/content")
    api.call("GET", "/v1/videos", params={"limit": 5, "order": "asc"})
    api.call(
        "POST", "/v1/videos", json={"prompt": "a gull", "input_reference": {"image_url": png_b64()}}
    )
    api.call("DELETE", f"/v1/videos/{made['id']}", one)


def test_useapi_answers(api: Documented) -> None:
    api.call("POST", "/v1/kling/assets", content=png(), headers={"Content-Type": "image/png"})
    api.call("GET", "/v1/kling/assets/uploaded")
    account = {"email": "me@example.com", "maxJobs": 3}
    api.call("POST", "/v1/kling/accounts", json=account)
    api.call("GET", "/v1/kling/accounts")
    api.call("GET", "/v1/kling/accounts/me@example.com", "/v1/kling/accounts/{email}")
    fields = {"prompt": "a fox @image_1", "email": "me@example.com", "replyRef": "r1"}
    files = {"image_1": ("fox.png", png(), "image/png")}
    task = api.call("POST", "/v1/kling/videos/omni", data=fields, files=files).json()
    path = f"/v1/kling/tasks/{task['task']['id']}"
    document = api.poll(path, "/v1/kling/tasks/{ident}", lambda d: d["status_final"])
    assert document["works"], document
