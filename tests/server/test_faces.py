"""The CometAPI, useapi.net and OpenAI faces over HTTP, and one task seen through every face."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from tests.mp4 import decode
from tests.server.conftest import Receiver
from tests.server.harness import Server

# End to end over real servers: started first, so the run ends with both cores busy.
pytestmark = pytest.mark.slow

# CometAPI's documented example (seeds), verbatim but for host and key.
COMET_SEED = {
    "prompt": "The boy in <<<image_1>>> is wearing <<<element_1>>> and, together with the girl in "
    "<<<image_2>>>, sits side by side in <<<element_2>>>, playfully and intimately chatting, close-up shot."
}


def png(size: tuple[int, int] = (640, 360), color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def curl_json(*args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        ["curl", "-s", *args], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def wait_until(fn, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


# -- CometAPI -------------------------------------------------------------------------------


@pytest.mark.database_agnostic
def test_cometapi_seed_request_and_shape_a(server: Server) -> None:
    created = curl_json(
        "--request",
        "POST",
        "--url",
        f"{server.base_url}/kling/v1/videos/omni-video",
        "--header",
        f"Authorization: Bearer {server.api_key}",
        "--header",
        "Content-Type: application/json",
        "--data",
        json.dumps(COMET_SEED),
    )
    assert created["code"] == 0, created
    task_id = created["data"]["task_id"]
    url = f"{server.base_url}/kling/v1/videos/omni-video/{task_id}"
    first = httpx.get(url, headers=server.headers()).json()
    assert first["message"] == "success" and first["request_id"] == task_id
    if first["data"]["task_status"] in ("submitted", "processing"):
        assert first["data"]["task_result"] == {}
    done = wait_until(
        lambda: (
            (b := httpx.get(url, headers=server.headers()).json())["data"]["task_status"]
            == "succeed"
            and b
        )
    )
    assert done["data"]["task_result"]["videos"][0]["url"].startswith(server.base_url)


def test_cometapi_wrapper_shape_b(fresh_server) -> None:  # type: ignore[no-untyped-def]
    srv = fresh_server()
    srv.env["OMNIVIDEO_COMETAPI_SHAPE"] = "b"
    srv.start()
    r = httpx.post(
        f"{srv.base_url}/kling/v1/videos/omni-video",
        json={"prompt": "a kite", "mode": "std"},
        headers=srv.headers(),
    )
    task_id = r.json()["data"]["task_id"]
    url = f"{srv.base_url}/kling/v1/videos/omni-video/{task_id}"
    body = wait_until(
        lambda: (
            (b := httpx.get(url, headers=srv.headers()).json())["data"]["status"] == "SUCCESS" and b
        )
    )
    assert body["code"] == "success"
    assert body["data"]["action"] == "OMNI_VIDEO" and body["data"]["progress"] == "100%"
    assert body["data"]["data"]["task_status"] == "succeed"
    assert body["data"]["data"]["task_result"]["videos"][0]["url"] == body["data"]["result_url"]


# -- useapi.net -----------------------------------------------------------------------------


def test_useapi_seed_flow_with_an_uploaded_asset(server: Server) -> None:
    asset = httpx.post(
        f"{server.base_url}/v1/kling/assets/?email=me@example.com",
        content=png(),
        headers=server.headers(**{"Content-Type": "image/png"}),
    ).json()
    assert asset["status"] == 3 and asset["fileName"].endswith(".png")
    # useapi's documented example, with host, key and image URL changed.
    created = curl_json(
        "-X",
        "POST",
        f"{server.base_url}/v1/kling/videos/omni",
        "-H",
        "Content-Type: application/json",
        "-H",
        f"Authorization: Bearer {server.api_key}",
        "-d",
        json.dumps(
            {
                "email": "me@example.com",
                "prompt": "A woman @image_1 dancing elegantly in a ballroom",
                "duration": "5",
                "aspect_ratio": "16:9",
                "image_1": asset["url"],
            }
        ),
    )
    number = created["task"]["id"]
    assert isinstance(number, int) and number < 2**53
    url = f"{server.base_url}/v1/kling/tasks/{number}?email=me@example.com"
    doc = wait_until(
        lambda: (d := httpx.get(url, headers=server.headers()).json())["status_final"] and d
    )
    assert (doc["status"], doc["status_name"]) == (99, "succeed")
    resource = doc["works"][0]["resource"]
    assert resource["duration"] == 5000 and resource["width"] > resource["height"]
    listed = httpx.get(
        f"{server.base_url}/v1/kling/assets/uploaded", headers=server.headers()
    ).json()
    assert asset["fileName"] in {a["name"] for a in listed["uploadAssetsList"]}


def test_useapi_multipart_count_and_reply_url(server: Server, receiver: Receiver) -> None:
    fields = {
        "prompt": "Two @image_1 kites",
        "duration": "3",
        "omni_version": "v3",
        "mode": "std",
        "count": "2",
        "replyUrl": receiver.url,
        "replyRef": "ref-42",
    }
    r = httpx.post(
        f"{server.base_url}/v1/kling/videos/omni",
        data=fields,
        files={"image_1": ("kite.png", png(), "image/png")},
        headers=server.headers(),
    )
    assert r.status_code == 200, r.text
    number = r.json()["task"]["id"]
    doc = wait_until(
        lambda: (
            (
                d := httpx.get(
                    f"{server.base_url}/v1/kling/tasks/{number}", headers=server.headers()
                ).json()
            )["status_final"]
            and d
        )
    )
    assert doc["status_name"] == "succeed" and len(doc["works"]) == 2
    assert doc["works"][0]["resource"]["resource"] != doc["works"][1]["resource"]["resource"]
    final = wait_until(lambda: [b for b in receiver.received if b.get("status") == 99])
    assert final[-1]["replyRef"] == "ref-42" and final[-1]["task"]["id"] == number


def test_useapi_max_jobs_and_errors(server: Server) -> None:
    base = f"{server.base_url}/v1/kling"
    made = httpx.post(
        f"{base}/accounts",
        json={"email": "busy@example.com", "password": "x", "maxJobs": 1},
        headers=server.headers(),
    )
    assert made.status_code == 201 and made.json()["maxJobs"] == 1
    assert "busy@example.com" in httpx.get(f"{base}/accounts", headers=server.headers()).json()
    body = {
        "email": "busy@example.com",
        "prompt": "a slow one",
        "omni_version": "v3",
        "duration": "3",
    }
    first = httpx.post(
        f"{base}/videos/omni",
        json=body,
        headers=server.headers(**{"X-Omnivideo-Simulate": "queue=3s"}),
    )
    assert first.status_code == 200
    full = httpx.post(f"{base}/videos/omni", json=body, headers=server.headers())
    assert (full.status_code, full.json()["code"]) == (429, 429)
    assert full.json()["error"] == (
        "account busy@example.com is at capacity (1 jobs): wait for one of its tasks to end, "
        "or raise its maxJobs (POST /v1/kling/accounts)"
    )
    long = httpx.post(f"{base}/videos/omni", json={"prompt": "x" * 1701}, headers=server.headers())
    assert (long.status_code, long.json()["code"]) == (400, 400) and long.json()[
        "error"
    ].startswith("prompt")
    unauthorized = httpx.post(
        f"{base}/videos/omni", json={"prompt": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (401, 401)
    missing = httpx.get(f"{base}/tasks/123456789", headers=server.headers())
    assert missing.status_code == 404 and "error" in missing.json()
    huge_key = httpx.post(
        f"{base}/videos/omni",
        json={"prompt": "x", "image_" + "9" * 5000: "u"},
        headers=server.headers(),
    )
    assert huge_key.status_code == 400 and huge_key.json()["error"].startswith("image_99")
    bad_type = httpx.post(
        f"{base}/assets", content=b"x", headers=server.headers(**{"Content-Type": "text/plain"})
    )
    assert (
        bad_type.status_code == 400
        and "Content-Type text/plain is not supported" in bad_type.json()["error"]
    )
    blocked = httpx.post(
        f"{base}/videos/omni",
        json={"prompt": "x", "omni_version": "v3", "duration": "3"},
        headers=server.headers(**{"X-Omnivideo-Simulate": "fail=1301"}),
    )
    number = blocked.json()["task"]["id"]
    doc = wait_until(
        lambda: (
            (d := httpx.get(f"{base}/tasks/{number}", headers=server.headers()).json())[
                "status_final"
            ]
            and d
        )
    )
    assert doc["status"] == 50 and doc["error"]
    wait_until(
        lambda: httpx.get(
            f"{base}/tasks/{first.json()['task']['id']}", headers=server.headers()
        ).json()["status_final"]
    )


# -- OpenAI Videos --------------------------------------------------------------------------


def test_openai_sdk_creates_polls_and_downloads(server: Server, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.api_key)
    video = client.videos.create(
        model="sora-2", prompt="A paper boat on a puddle", seconds="4", size="1280x720"
    )
    assert video.status == "queued" and video.id.startswith("video_")
    final = wait_until(
        lambda: (v := client.videos.retrieve(video.id)).status in ("completed", "failed") and v
    )
    assert final.status == "completed" and final.progress == 100 and final.size == "1280x720"
    content = client.videos.download_content(video.id)
    target = tmp_path / "boat.mp4"
    content.write_to_file(target)
    d = decode(target)
    assert (d.width, d.height, d.fps, d.frames) == (1280, 720, 24.0, 96)
    page = client.videos.list(limit=1)
    assert page.data[0].id == video.id


def test_openai_sdk_upload_as_first_frame_and_errors(server: Server) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.api_key)
    video = client.videos.create(
        prompt="It comes alive",
        size="720x1280",
        seconds="4",
        input_reference=("first.png", png((720, 1280), (250, 200, 10)), "image/png"),
    )
    final = wait_until(
        lambda: (v := client.videos.retrieve(video.id)).status in ("completed", "failed") and v
    )
    assert final.status == "completed", final
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="x", size="huge")
    assert "size" in str(bad.value)
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_123")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="wrong").videos.list()


# -- one task, every face -------------------------------------------------------------------


def test_each_face_reads_tasks_created_through_every_other(server: Server) -> None:
    h = server.headers()
    b = server.base_url
    made = {
        "kling": httpx.post(
            f"{b}/v1/videos/omni-video", json={"prompt": "k", "mode": "std"}, headers=h
        ).json()["data"]["task_id"],
        "cometapi": httpx.post(
            f"{b}/kling/v1/videos/omni-video", json={"prompt": "c", "mode": "std"}, headers=h
        ).json()["data"]["task_id"],
        "useapi": str(
            httpx.get(
                f"{b}/v1/kling/tasks/"
                + str(
                    httpx.post(
                        f"{b}/v1/kling/videos/omni", json={"prompt": "u", "mode": "std"}, headers=h
                    ).json()["task"]["id"]
                ),
                headers=h,
            ).json()["task"]["id"]
        ),
        "openai": httpx.post(
            f"{b}/v1/videos", json={"prompt": "o", "size": "1280x720"}, headers=h
        ).json()["id"],
    }
    task_ids = {
        "kling": made["kling"],
        "cometapi": made["cometapi"],
        "openai": made["openai"].removeprefix("video_"),
        "useapi": None,
    }
    number = int(made["useapi"])
    listed = httpx.get(f"{b}/v1/videos/omni-video", params={"pageSize": 50}, headers=h).json()[
        "data"
    ]
    # The useapi task appears in the official list too; find its task_id by prompt.
    task_ids["useapi"] = next(t["task_id"] for t in listed if t["task_id"] not in task_ids.values())
    for task_id in task_ids.values():
        assert server.wait(task_id)["task_status"] == "succeed"
        assert (
            httpx.get(f"{b}/kling/v1/videos/omni-video/{task_id}", headers=h).json()["data"][
                "task_status"
            ]
            == "succeed"
        )
        assert (
            httpx.get(f"{b}/v1/videos/video_{task_id}", headers=h).json()["status"] == "completed"
        )
        assert httpx.get(f"{b}/v1/kling/tasks/{task_id}", headers=h).json()["status"] == 99
    assert httpx.get(f"{b}/v1/kling/tasks/{number}", headers=h).json()["status"] == 99


def test_cancel_on_the_official_face_and_delete_on_openai(
    server: Server, receiver: Receiver
) -> None:
    slow = {"prompt": "slow", "mode": "std", "callback_url": receiver.url}
    task_id = server.create(slow, **{"X-Omnivideo-Simulate": "delay=30s"}).json()["data"]["task_id"]
    wait_until(lambda: server.get_task(task_id)["task_status"] == "processing")
    r = httpx.post(
        f"{server.base_url}/v1/videos/omni-video/{task_id}/cancel", headers=server.headers()
    )
    assert (
        r.json()["data"]["task_status"] == "failed"
        and r.json()["data"]["task_status_msg"] == "cancelled"
    )
    assert server.wait(task_id)["task_status_msg"] == "cancelled"
    wait_until(lambda: "failed" in receiver.statuses(task_id))
    queued = server.create(
        {"prompt": "queued", "mode": "std"}, **{"X-Omnivideo-Simulate": "queue=30s"}
    ).json()["data"]["task_id"]
    deleted = httpx.delete(
        f"{server.base_url}/v1/videos/video_{queued}", headers=server.headers()
    ).json()
    assert deleted == {"id": f"video_{queued}", "object": "video.deleted", "deleted": True}
    assert server.get_task(queued)["task_status_msg"] == "cancelled"


def test_openai_documented_curl_example(server: Server) -> None:
    # OpenAI's own example for POST /v1/videos, with host and key changed.
    created = curl_json(
        f"{server.base_url}/v1/videos",
        "-H", f"Authorization: Bearer {server.api_key}",
        "-F", "model=sora-2",
        "-F", "prompt=A calico cat playing a piano on stage",
    )  # fmt: skip
    assert created["object"] == "video" and created["status"] == "queued", created
    done = wait_until(
        lambda: (
            (
                v := httpx.get(
                    f"{server.base_url}/v1/videos/{created['id']}", headers=server.headers()
                ).json()
            )["status"]
            == "completed"
            and v
        )
    )
    assert (done["size"], done["seconds"]) == ("720x1280", "4")
    content = httpx.get(
        f"{server.base_url}/v1/videos/{created['id']}/content", headers=server.headers()
    )
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
