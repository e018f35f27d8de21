"""End to end over HTTP: the official Kling face on a real server on loopback."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.mp4 import decode
from tests.server.harness import Server

# End to end over real servers: started first, so the run ends with both cores busy.
pytestmark = pytest.mark.slow

SEED_TEXT_TO_VIDEO = {
    "model_name": "kling-video-o1",
    "prompt": "A red fox trotting through fresh snow at dawn, cinematic",
    "duration": "5",
    "mode": "pro",
    "aspect_ratio": "16:9",
    "callback_url": "",
    "external_task_id": "",
}


def sign(access_key: str, secret_key: str, **claims: int) -> str:
    now = int(time.time())
    payload = {"iss": access_key, "exp": now + 1800, "nbf": now - 5, **claims}
    return jwt.encode(payload, secret_key, algorithm="HS256", headers={"typ": "JWT"})


@pytest.mark.database_agnostic
def test_seed_request_with_curl_reaches_succeed_with_a_1080p_h264(
    server: Server, tmp_path: Path
) -> None:
    out = subprocess.run(
        [
            "curl",
            "-s",
            "--request",
            "POST",
            "--url",
            f"{server.base_url}/v1/videos/omni-video",
            "--header",
            f"Authorization: Bearer {server.api_key}",
            "--header",
            "Content-Type: application/json",
            "--data",
            json.dumps(SEED_TEXT_TO_VIDEO),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    created = json.loads(out.stdout)
    assert created["code"] == 0 and created["message"] == "SUCCEED"
    uuid.UUID(created["request_id"])
    data = created["data"]
    assert data["task_status"] == "submitted"
    assert len(data["task_id"]) == 18 and data["task_id"].isdigit()
    assert data["created_at"] > 1_700_000_000_000

    task = server.wait(data["task_id"])
    assert task["task_status"] == "succeed", task
    assert task["final_unit_deduction"] == "4"
    video = task["task_result"]["videos"][0]
    assert video["duration"] == "5.0"
    target = tmp_path / "out.mp4"
    subprocess.run(["curl", "-sf", "-o", str(target), video["url"]], check=True, timeout=60)
    d = decode(target)
    assert (d.codec, d.width, d.height, d.fps) == ("h264", 1920, 1080, 24.0)
    assert abs(d.duration_s - 5.0) <= 1 / 24


def test_task_object_has_every_documented_field(server: Server) -> None:
    r = server.create(
        {**SEED_TEXT_TO_VIDEO, "mode": "std", "duration": 5, "external_task_id": "fields-1"}
    )
    task_id = r.json()["data"]["task_id"]
    assert r.json()["data"]["task_info"] == {"external_task_id": "fields-1"}
    done = server.wait(task_id)
    assert set(done) == {
        "task_id",
        "task_status",
        "task_status_msg",
        "task_info",
        "task_result",
        "watermark_info",
        "final_unit_deduction",
        "created_at",
        "updated_at",
    }
    assert done["task_info"] == {"external_task_id": "fields-1"}
    assert done["updated_at"] >= done["created_at"]
    assert done["final_unit_deduction"] == "3"


def test_pending_task_shows_empty_objects(server: Server) -> None:
    r = server.create({**SEED_TEXT_TO_VIDEO, "mode": "std"}, **{"X-Omnivideo-Simulate": "queue=3s"})
    task = server.get_task(r.json()["data"]["task_id"])
    assert task["task_status"] == "submitted"
    assert task["task_info"] == {} and task["task_result"] == {}


def test_query_by_external_task_id_in_path_and_query_string(server: Server) -> None:
    ext = f"ext-{uuid.uuid4().hex[:8]}"
    task_id = server.create({**SEED_TEXT_TO_VIDEO, "mode": "std", "external_task_id": ext}).json()[
        "data"
    ]["task_id"]
    assert server.get_task(ext)["task_id"] == task_id
    r = httpx.get(
        f"{server.base_url}/v1/videos/omni-video",
        params={"external_task_id": ext},
        headers=server.headers(),
    )
    assert r.json()["data"]["task_id"] == task_id
    dup = server.create({**SEED_TEXT_TO_VIDEO, "mode": "std", "external_task_id": ext})
    assert dup.status_code == 400 and dup.json()["code"] == 1201
    assert "external_task_id" in dup.json()["message"]


def test_list_is_newest_first_and_paged(server: Server) -> None:
    ids = [
        server.create({**SEED_TEXT_TO_VIDEO, "mode": "std"}).json()["data"]["task_id"]
        for _ in range(3)
    ]
    r = httpx.get(
        f"{server.base_url}/v1/videos/omni-video",
        params={"pageNum": 1, "pageSize": 2},
        headers=server.headers(),
    )
    page = r.json()["data"]
    assert [t["task_id"] for t in page] == ids[::-1][:2]
    r2 = httpx.get(
        f"{server.base_url}/v1/videos/omni-video",
        params={"pageNum": 2, "pageSize": 2},
        headers=server.headers(),
    )
    assert r2.json()["data"][0]["task_id"] == ids[0]
    bad = httpx.get(
        f"{server.base_url}/v1/videos/omni-video",
        params={"pageSize": 501},
        headers=server.headers(),
    )
    assert (
        bad.status_code == 400
        and bad.json()["code"] == 1201
        and "pageSize" in bad.json()["message"]
    )
    for task_id in ids:
        server.wait(task_id)


def test_pyjwt_token_is_accepted_and_bad_tokens_get_their_codes(server: Server) -> None:
    ak, sk = server.credentials["access_key"], server.credentials["secret_key"]
    url = f"{server.base_url}/v1/videos/omni-video"

    def call(token: str | None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.get(url, headers=headers)

    assert call(sign(ak, sk)).json()["code"] == 0
    now = int(time.time())
    cases = {
        1004: sign(ak, sk, exp=now - 60, nbf=now - 120),
        1003: sign(ak, sk, nbf=now + 600),
        1002: "not-a-token",
    }
    for code, token in cases.items():
        r = call(token)
        assert (r.status_code, r.json()["code"]) == (401, code), r.text
    assert call(sign(ak, "wrong-secret-" + "x" * 40)).json()["code"] == 1002
    for odd in (float("nan"), "123", True, float("inf")):
        token = jwt.encode({"iss": ak, "exp": odd, "nbf": now - 5}, sk, algorithm="HS256")
        assert call(token).json()["code"] == 1002, odd
    assert (
        call(jwt.encode({"iss": ak, "nbf": now - 5}, sk, algorithm="HS256")).json()["code"] == 1002
    )
    missing = call(None)
    assert (missing.status_code, missing.json()["code"]) == (401, 1001)


def test_accounts_are_isolated(server: Server) -> None:
    other = json.loads(
        subprocess.run(
            [
                "omnivideo",
                "keys",
                "create",
                "--name",
                "other",
                "--json",
                *server.admin_args(),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    mine = server.create(
        {**SEED_TEXT_TO_VIDEO, "mode": "std", "external_task_id": "isolated"}
    ).json()["data"]["task_id"]
    headers = {"Authorization": f"Bearer {other['api_key']}"}
    theirs = httpx.get(f"{server.base_url}/v1/videos/omni-video/{mine}", headers=headers)
    missing = httpx.get(f"{server.base_url}/v1/videos/omni-video/{'1' * 18}", headers=headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == 1203
    assert theirs.json()["message"].replace(mine, "X") == missing.json()["message"].replace(
        "1" * 18, "X"
    )
    listed = httpx.get(f"{server.base_url}/v1/videos/omni-video", headers=headers).json()["data"]
    assert mine not in {t["task_id"] for t in listed}
    # The same external_task_id is free in another account.
    r = httpx.post(
        f"{server.base_url}/v1/videos/omni-video",
        headers=headers,
        json={**SEED_TEXT_TO_VIDEO, "mode": "std", "external_task_id": "isolated"},
    )
    assert r.json()["code"] == 0
    server.wait(mine)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, 1200),
        (b"", 400, 1200),
        (b"[1, 2]", 400, 1201),
        (json.dumps({"prompt": 5}).encode(), 400, 1201),
        (json.dumps({"prompt": "x", "mode": "ultra"}).encode(), 400, 1201),
        (json.dumps({"prompt": "x", "duration": "five"}).encode(), 400, 1201),
        (json.dumps({"prompt": "x", "model_name": "kling-v9"}).encode(), 404, 1203),
        (b'{"prompt": "x", "duration": ' + b"9" * 5000 + b"}", 400, 1200),
        (b"[" * 20000 + b"]" * 20000, 400, 1200),
        (json.dumps({"prompt": "x", "callback_url": "http://xn--zz/hook"}).encode(), 400, 1201),
    ],
)
def test_bad_bodies_get_kling_envelopes(
    server: Server, body: bytes, status: int, code: int
) -> None:
    r = httpx.post(
        f"{server.base_url}/v1/videos/omni-video",
        content=body,
        headers=server.headers(**{"Content-Type": "application/json"}),
    )
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert set(r.json()) == {"code", "message", "request_id"}
    assert "Traceback" not in r.text


def test_unknown_routes_and_methods_are_1202(server: Server) -> None:
    for method, path in (
        ("GET", "/v1/nothing"),
        ("PATCH", "/v1/videos/omni-video"),
        ("PUT", "/v1/videos/omni-video/1"),
    ):
        r = httpx.request(method, f"{server.base_url}{path}", headers=server.headers())
        assert (r.status_code, r.json()["code"]) == (404, 1202), r.text


def test_body_over_the_limit_is_refused(fresh_server) -> None:  # type: ignore[no-untyped-def]
    srv = fresh_server()
    srv.env["OMNIVIDEO_MAX_BODY_BYTES"] = "4096"
    srv.start()
    r = srv.create({"prompt": "x" * 10_000})
    assert (r.status_code, r.json()["code"]) == (400, 1200)
    assert "larger than 4096" in r.json()["message"]


def test_concurrency_limit_is_1303_and_queries_do_not_count(fresh_server) -> None:  # type: ignore[no-untyped-def]
    srv = fresh_server()
    srv.env["OMNIVIDEO_MAX_CONCURRENT_TASKS"] = "2"
    srv.start()
    body = {**SEED_TEXT_TO_VIDEO, "mode": "std"}
    held = [
        srv.create(body, **{"X-Omnivideo-Simulate": "queue=4s"}).json()["data"]["task_id"]
        for _ in range(2)
    ]
    for task_id in held:
        srv.get_task(task_id)
    r = srv.create(body)
    assert (r.status_code, r.json()["code"]) == (429, 1303)
    assert r.json()["message"].startswith("parallel task over resource pack limit: 2 tasks")
    for task_id in held:
        assert srv.wait(task_id)["task_status"] == "succeed"
    assert srv.create(body).json()["code"] == 0


def test_result_url_is_signed_and_serves_ranges(server: Server) -> None:
    task_id = server.create({**SEED_TEXT_TO_VIDEO, "mode": "std", "duration": "5"}).json()["data"][
        "task_id"
    ]
    url = server.wait(task_id)["task_result"]["videos"][0]["url"]
    assert "sig=" in url and "expires=" in url
    part = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.content[4:8] == b"ftyp"
    tampered = url.replace("sig=", "sig=0")
    assert httpx.get(tampered).json()["code"] == 1103
    escaped = f"{server.base_url}/files/..%2F..%2Fomnivideo.db?expires=9999999999&sig=x"
    assert httpx.get(escaped).status_code in (403, 404)


def test_simulated_failure_reaches_the_task(server: Server) -> None:
    r = server.create(
        {**SEED_TEXT_TO_VIDEO, "mode": "std"},
        **{"X-Omnivideo-Simulate": "fail=1301; msg=content blocked"},
    )
    task = server.wait(r.json()["data"]["task_id"])
    assert task["task_status"] == "failed"
    assert task["task_status_msg"] == "content blocked"
    assert task["task_result"] == {} and task["final_unit_deduction"] == "0"
    bad = server.create({**SEED_TEXT_TO_VIDEO}, **{"X-Omnivideo-Simulate": "explode=1"})
    assert (bad.status_code, bad.json()["code"]) == (400, 1201)


def test_healthz_and_docs(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{server.base_url}/docs").status_code == 200
    assert "/v1/videos/omni-video" in httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
