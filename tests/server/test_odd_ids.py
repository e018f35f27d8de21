"""Ids that no row can hold, and numbers JSON cannot carry, get each face's 4xx on both
databases, never a 500.

PostgreSQL refuses a NUL character in a text parameter and an integer wider than its column
before it runs a query; SQLite just finds nothing. Each id here reaches SQL from a request: a
path, a query parameter, a body field or a token's claim. PostgreSQL's json type also refuses
the NaN and Infinity that Python would write for a body's ``NaN`` or ``1e999``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from tests.server.harness import Server

WIDE = 2**31  # one past PostgreSQL's integer column
WIDEST = 2**63 - 1  # the contract's own limit for an element id

# (method, path, body, status, face)
LOOKUPS: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    ("GET", "/v1/videos/omni-video/1%00", None, 404, "kling"),
    ("GET", "/v1/videos/omni-video/abc%00def", None, 404, "kling"),
    ("GET", "/v1/videos/omni-video?external_task_id=a%00b", None, 404, "kling"),
    ("POST", "/v1/videos/omni-video/1%00/cancel", None, 404, "kling"),
    ("GET", "/v1/videos/omni-video/1%00/events", None, 404, "kling"),
    ("GET", "/v1/videos/text2video/1%00", None, 404, "kling"),
    ("GET", "/v1/videos/text2video?task_id=1%00", None, 404, "kling"),
    ("GET", "/kling/v1/videos/omni-video/1%00", None, 404, "cometapi"),
    ("GET", "/v1/kling/tasks/1%00", None, 404, "useapi"),
    ("GET", "/v1/kling/tasks/99999999999999999999", None, 404, "useapi"),
    ("GET", "/v1/videos/video_1%00", None, 404, "openai"),
    ("GET", "/v1/videos?after=video_1%00", None, 404, "openai"),
    ("GET", "/v1/videos/video_1%00/content", None, 404, "openai"),
    ("DELETE", "/v1/videos/video_1%00", None, 404, "openai"),
    ("GET", "/v1/general/advanced-custom-elements/1%00", None, 404, "kling"),
    ("GET", f"/v1/general/advanced-custom-elements/{WIDE}", None, 404, "kling"),
    ("POST", "/v1/general/delete-elements", {"element_id": str(WIDE)}, 404, "kling"),
    ("POST", "/v1/general/delete-elements", {"element_id": str(WIDEST)}, 404, "kling"),
    ("POST", "/v1/kling/accounts", {"email": "a\x00@b.c", "maxJobs": 1}, 400, "useapi"),
    ("GET", "/v1/kling/accounts/a%00@b.c", None, 404, "useapi"),
]


def _face_error(face: str, answer: httpx.Response) -> None:
    """The answer is an error in ``face``'s own form."""
    body = answer.json()
    if face == "useapi":
        assert set(body) == {"error", "code"} and body["code"] == answer.status_code, body
    elif face == "openai":
        assert set(body["error"]) >= {"message", "type", "code"}, body
    else:
        assert set(body) >= {"code", "message", "request_id"} and body["code"] >= 1000, body


@pytest.mark.parametrize(("method", "path", "body", "status", "face"), LOOKUPS)
def test_an_id_no_row_can_hold_is_not_found(
    server: Server, method: str, path: str, body: dict[str, Any] | None, status: int, face: str
) -> None:
    r = httpx.request(
        method, server.base_url + path, json=body, headers=server.headers(), timeout=30
    )
    assert r.status_code == status, r.text
    _face_error(face, r)


@pytest.mark.parametrize("element_id", [WIDE, str(WIDE), WIDEST, -1])
def test_a_wide_element_id_does_not_exist(server: Server, element_id: int | str) -> None:
    body = {
        "model_name": "kling-video-o1",
        "prompt": "a walk with <<<element_1>>>",
        "element_list": [{"element_id": element_id}],
    }
    r = server.create(body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 1201 and "element_list[0].element_id" in r.json()["message"]


@pytest.mark.parametrize(
    ("face", "path", "body"),
    [
        ("kling", "/v1/videos/omni-video", {"prompt": "x", "external_task_id": "a\x00b"}),
        ("useapi", "/v1/kling/videos/omni", {"prompt": "x", "email": "a\x00@b.c"}),
    ],
)
def test_a_nul_in_an_id_a_create_names_is_refused(
    server: Server, face: str, path: str, body: dict[str, Any]
) -> None:
    r = httpx.post(server.base_url + path, json=body, headers=server.headers(), timeout=30)
    assert r.status_code == 400, r.text
    _face_error(face, r)


def test_a_token_naming_an_access_key_with_a_nul_is_refused(server: Server) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"iss": "ak\x00", "exp": now + 600, "nbf": now - 5},
        "a secret of thirty-two bytes or more",
        algorithm="HS256",
    )
    r = httpx.get(
        f"{server.base_url}/v1/videos/omni-video",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 401, r.text
    assert r.json()["code"] in (1000, 1002)


@pytest.mark.parametrize(
    ("face", "path", "body"),
    [
        ("kling", "/v1/videos/omni-video", '{"prompt": "x", "cfg_scale": 1e999}'),
        ("kling", "/v1/videos/omni-video", '{"prompt": "x", "cfg_scale": NaN}'),
        ("kling", "/v1/videos/text2video", '{"prompt": "x", "unknown": [-Infinity]}'),
        ("kling", "/v1/videos/text2video", '{"prompt": "x", "cfg_scale": 1e400}'),
        ("useapi", "/v1/kling/videos/omni", '{"prompt": "x", "duration": 1e999}'),
        ("openai", "/v1/videos", '{"prompt": "x", "extra": {"n": Infinity}}'),
    ],
)
def test_a_number_json_cannot_carry_is_refused(
    server: Server, face: str, path: str, body: str
) -> None:
    headers = server.headers(**{"Content-Type": "application/json"})
    r = httpx.post(server.base_url + path, content=body, headers=headers, timeout=30)
    assert r.status_code == 400, r.text
    _face_error(face, r)
