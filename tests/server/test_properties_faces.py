"""Generated bodies against the useapi and OpenAI faces: never a 5xx, always that face's errors.

The app runs in-process on the in-memory twin (see tests/twin.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract.strategies import junk
from tests.twin import app_client

USEAPI_KEYS = [
    "prompt", "email", "duration", "aspect_ratio", "mode", "omni_version", "count", "maxJobs",
    "replyUrl", "replyRef", "image_1", "image_7", "image_8", "image_01", "video_1", "video_2",
    "element_1", "frame_start", "frame_end", "shot_1_prompt", "shot_1_duration", "shot_2_prompt",
    "shot_2_duration", "shot_7_prompt", "refer_type", "keep_original_sound", "sound",
]  # fmt: skip
OPENAI_KEYS = [
    "prompt",
    "model",
    "seconds",
    "size",
    "input_reference",
    "input_reference[image_url]",
]
VALUES = junk | st.sampled_from(
    [
        "",
        "A cat @image_1",
        "5",
        "3",
        "16:9",
        "auto",
        "v3",
        "o1",
        "std",
        "1280x720",
        "sora-2",
        "aGVsbG8=",
        "http://10.0.0.1/x.png",
    ]
)


def bodies(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), VALUES, max_size=8) | junk


SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # The whole app in-process on the in-memory twin: the faces' code, without the sockets.
    with app_client(tmp_path_factory.mktemp("twin"), max_concurrent_tasks=10**9) as (c, key):
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


@pytest.mark.slow
@SETTINGS
@given(body=bodies(USEAPI_KEYS))
def test_useapi_face_answers_in_its_own_error_form(client: TestClient, body: Any) -> None:
    r = client.post("/v1/kling/videos/omni", json=body)
    assert r.status_code < 500, r.text
    answer = r.json()
    if r.status_code == 200:
        assert isinstance(answer["task"]["id"], int)
    else:
        assert set(answer) == {"error", "code"} and answer["code"] == r.status_code, answer


@pytest.mark.slow
@SETTINGS
@given(body=bodies(OPENAI_KEYS))
def test_openai_face_answers_in_its_own_error_form(client: TestClient, body: Any) -> None:
    r = client.post("/v1/videos", json=body)
    assert r.status_code < 500, r.text
    answer = r.json()
    if r.status_code == 200:
        assert answer["object"] == "video" and answer["status"] == "queued"
    else:
        assert set(answer) == {"error"} and answer["error"]["message"], answer
