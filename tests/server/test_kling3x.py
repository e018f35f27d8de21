"""End to end over HTTP: Kling's 3.x API (model in the path) on a real server on loopback.

The real clients' bodies below are quoted from public code (stored copies found with the code
search; each is named by its copy id, as docs/kling-3x.md's sources are). Their media URLs
point at Kling's CDN, which tests cannot reach: those, and only those, are swapped for the same
kind of file served on loopback.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from omnivideo.client import Client, InvalidRequestError
from omnivideo.client.webhooks import parse as parse_callback
from omnivideo.dialects import kling3
from tests.mp4 import decode
from tests.server.conftest import Receiver
from tests.server.harness import Server
from tests.server.test_kling_video import b64, picture

pytestmark = pytest.mark.slow


class Files:
    """A loopback file server: what a client's media URLs point at in these tests."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = files.get(self.path)
                if found is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data, kind = found
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def put(self, name: str, data: bytes, kind: str) -> str:
        self.files[f"/{name}"] = (data, kind)
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    f = Files()
    yield f
    f.httpd.shutdown()


def moving_square_video(seconds: float, size: tuple[int, int] = (1280, 720)) -> bytes:
    """A dark clip with a bright square crossing it from left to right, with a tone."""
    w, h = size
    out = io.BytesIO()
    frames = round(seconds * 24)
    with av.open(out, "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        audio = box.add_stream("aac", rate=48000)
        for i in range(frames):
            rgb = np.full((h, w, 3), 20, np.uint8)
            x = square_x(i, frames, w)
            rgb[h // 2 - 60 : h // 2 + 60, x - 60 : x + 60] = 235
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                box.mux(packet)
        tone = 0.2 * np.sin(np.arange(int(48000 * seconds)) * 2 * np.pi * 440 / 48000)
        samples = tone.astype(np.float32)[None, :]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + 1024]), format="fltp", layout="mono"
            )
            frame.sample_rate = 48000
            frame.time_base = Fraction(1, 48000)
            frame.pts = start
            for packet in audio.encode(frame):
                box.mux(packet)
        for packet in itertools.chain(stream.encode(), audio.encode()):
            box.mux(packet)
    return out.getvalue()


def square_x(i: int, frames: int, w: int) -> int:
    return int(120 + (w - 240) * i / max(frames - 1, 1))


def post(server: Server, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}{path}", json=body, headers=server.headers(**headers), timeout=60
    )


def get(server: Server, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}{path}", params=params, headers=server.headers(), timeout=30
    )


def created(server: Server, path: str, body: Any) -> dict[str, Any]:
    r = post(server, path, body)
    assert r.status_code == 200, r.text
    envelope = r.json()
    assert envelope["code"] == 0 and isinstance(envelope["request_id"], str)
    data: dict[str, Any] = envelope["data"]
    assert set(data) == {"id", "status", "create_time", "update_time", "external_id"}
    assert data["status"] == "submitted" and len(data["id"]) == 18
    return data


def wait(server: Server, task_id: str, prefix: str = "") -> dict[str, Any]:
    deadline = time.time() + 180
    while time.time() < deadline:
        r = get(server, f"{prefix}/tasks", task_ids=task_id)
        assert r.status_code == 200, r.text
        (task,) = r.json()["data"]
        if task["status"] in ("succeeded", "failed"):
            return task  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


def video_of(task: dict[str, Any], tmp_path: Path) -> Path:
    assert task["status"] == "succeeded", task.get("message")
    (video,) = [o for o in task["outputs"] if o["type"] == "video"]
    target = tmp_path / f"{task['id']}.mp4"
    r = httpx.get(video["url"], timeout=60)
    assert r.status_code == 200
    target.write_bytes(r.content)
    return target


def luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as box:
        return [
            f.to_ndarray(format="gray").astype(np.float32)[::4, ::4] for f in box.decode(video=0)
        ]


# -- the example: multi-shot Omni with native audio -----------------------------------


@pytest.mark.database_agnostic
def test_multi_shot_omni_with_native_audio_is_cut_where_the_shots_say(
    server: Server, receiver: Receiver, tmp_path: Path
) -> None:
    body = {
        "contents": [
            {"type": "prompt", "text": "shot 1, 2s, a quiet lake at dawn; shot 2, 3s, a neon city"}
        ],
        "settings": {
            "resolution": "1080p",
            "duration": 5,
            "audio": "native",
            "aspect_ratio": "16:9",
        },
        "options": {"callback_url": receiver.url, "external_task_id": "shots-1"},
    }
    made = created(server, "/omni-video/kling-3.0-omni", body)
    assert made["external_id"] == "shots-1"
    task = wait(server, made["id"])
    assert task["product_type"] == "omni-video" and task["model"] == "kling-3.0-omni"
    assert task["create_time"] == made["create_time"] and task["update_time"] >= task["create_time"]
    assert task["status"] == "succeeded", task.get("message")
    kinds = [o["type"] for o in task["outputs"]]
    assert kinds == ["video", "audio"]
    video = task["outputs"][0]
    assert video["duration"] == pytest.approx(5.0) and video["watermark_url"] == ""
    # kling-3.0-omni, 1080p, no video in, with audio: 1.0 unit a second.
    assert task["billing"] == [{"charge_type": "unit", "amount": 5.0}]

    path = video_of(task, tmp_path)
    d = decode(path)
    assert (d.width, d.height, d.frames, d.has_audio) == (1920, 1080, 120, True)
    diffs = [float(np.mean(np.abs(b - a))) for a, b in itertools.pairwise(luma(path))]
    # Shot 1 is 2 s = frames 0-47; the cut is between frame 47 and frame 48.
    assert diffs.index(max(diffs)) == 47 and max(diffs) > 4 * sorted(diffs)[-2], diffs
    audio = httpx.get(task["outputs"][1]["url"], timeout=30)
    assert audio.status_code == 200
    (tmp_path / "sound.m4a").write_bytes(audio.content)
    with av.open(str(tmp_path / "sound.m4a")) as box:
        assert box.streams.audio and not box.streams.video

    # The classic face shows the same task, coherently.
    classic = get(server, f"/v1/videos/omni-video/{made['id']}").json()["data"]
    assert classic["task_status"] == "succeed"
    assert classic["task_result"]["videos"][0]["url"] == video["url"]
    assert classic["final_unit_deduction"] == "5"
    assert classic["task_info"]["external_task_id"] == "shots-1"

    # The OpenAI face shows it too.
    openai_view = get(server, f"/v1/videos/video_{made['id']}").json()
    assert (openai_view["status"], openai_view["size"]) == ("completed", "1920x1080")
    assert openai_view["model"] == "kling-3.0-omni"

    # The callback is the same task object, signed as every callback is.
    deadline = time.time() + 30
    while time.time() < deadline:
        with receiver.lock:
            done = [
                (h, raw)
                for (h, raw), b in zip(receiver.raw, receiver.received, strict=True)
                if b.get("id") == made["id"] and b.get("status") == "succeeded"
            ]
        if done:
            break
        time.sleep(0.2)
    assert done, receiver.received
    headers, raw = done[0]
    view = parse_callback(raw, headers, secret=server.credentials["webhook_secret"])
    assert (view.task_id, view.status.value) == (made["id"], "succeed")
    with receiver.lock:
        payload = next(b for b in receiver.received if b.get("status") == "succeeded")
    assert payload == {**task, "update_time": payload["update_time"]}
    with receiver.lock:
        seen = [b["status"] for b in receiver.received if b.get("id") == made["id"]]
    assert seen[0] == "submitted" and seen[-1] == "succeeded"


# -- real clients' bodies, every route ---------------------------------------------------------


@pytest.mark.database_agnostic
def test_real_clients_bodies_are_accepted_on_every_route(
    server: Server, files: Files, tmp_path: Path
) -> None:
    first = files.put("first.png", picture((1280, 720), 40, "FIRST"), "image/png")
    character = files.put("character.png", picture((600, 900), 200, "HERO"), "image/png")
    motion = files.put("motion.mp4", moving_square_video(3.0), "video/mp4")
    bodies: list[tuple[str, dict[str, Any]]] = [
        # A smoke-test script of a Kling channel (copy id 56172225504): text-to-video,
        # turbo image-to-video and Omni as sent.
        (
            "/text-to-video/kling-3.0",
            {
                "contents": [{"type": "prompt", "text": "a calm ocean wave at sunset, cinematic"}],
                "settings": {"resolution": "720p", "aspect_ratio": "16:9", "duration": 5,
                             "audio": "off", "multi_shot": False},
                "options": {"watermark_info": {"enabled": False}},
            },
        ),
        (
            "/image-to-video/kling-3.0-turbo",
            {
                "contents": [{"type": "prompt", "text": "gentle zoom"},
                             {"type": "first_frame", "url": first}],
                "settings": {"resolution": "720p", "duration": 5},
                "options": {"watermark_info": {"enabled": False}},
            },
        ),
        (
            "/omni-video/kling-3.0-omni",
            {
                "contents": [{"type": "prompt", "text": "a calm ocean wave at sunset"}],
                "settings": {"resolution": "720p", "aspect_ratio": "16:9", "duration": 5,
                             "audio": "off", "multi_shot": False},
                "options": {"watermark_info": {"enabled": False}},
            },
        ),
        # A video-tool provider (copy id 68320472134): its text-to-video body (prompt at the
        # top, as C1 documents) and its motion-control body.
        (
            "/text-to-video/kling-3.0",
            {
                "prompt": "a lighthouse in a storm",
                "settings": {"multi_shot": False, "audio": "off", "resolution": "720p",
                             "aspect_ratio": "16:9", "duration": 5},
                "options": {"watermark_info": {"enabled": False}, "external_task_id": "mt-t2v-1"},
            },
        ),
        (
            "/motion-control/kling-3.0",
            {
                "contents": [{"type": "prompt", "text": "the hero dances"},
                             {"type": "image", "url": character},
                             {"type": "video", "url": motion}],
                "settings": {"character_orientation": "image", "audio": "off",
                             "resolution": "720p"},
                "options": {"watermark_info": {"enabled": False}, "external_task_id": "mt-mc-1"},
            },
        ),
        # A storyboard app (copy id 59676227633): first frame with an item id, O1 settings.
        (
            "/omni-video/kling-o1",
            {
                "contents": [{"type": "prompt", "text": "the camera drifts"},
                             {"type": "first_frame", "url": first, "id": "image_1"}],
                "settings": {"resolution": "720p", "duration": 5, "aspect_ratio": "16:9",
                             "audio": "off", "multi_shot": False},
            },
        ),
    ]  # fmt: skip
    ids: list[str] = []
    done: list[dict[str, Any]] = []
    for half in (bodies[:3], bodies[3:]):  # within the account's 5 running tasks
        started = []
        for k, (path, body) in enumerate(half):
            # Every other body goes to CometAPI's mirror of the same routes, under /kling.
            prefix = "/kling" if k % 2 else ""
            started.append(created(server, prefix + path, body)["id"])
        # Several ids at once, each answered (C3 and C4 read data[0]; every row is checked).
        r = get(server, "/tasks", task_ids=",".join(started))
        assert r.status_code == 200
        assert [row["id"] for row in r.json()["data"]] == started
        done += [wait(server, i) for i in started]
        ids += started
    assert all(t["status"] == "succeeded" for t in done), done
    rows = get(server, "/tasks", task_ids=",".join(ids)).json()["data"]
    assert [row["id"] for row in rows] == ids
    products = [t["product_type"] for t in done]
    assert products == ["text-to-video", "image-to-video", "omni-video", "text-to-video",
                        "motion-control", "omni-video"]  # fmt: skip
    # By external ids, several at once; unknown ones are left out.
    r = get(server, "/kling/tasks", external_task_ids="mt-mc-1,no-such,mt-t2v-1")
    assert [row["external_id"] for row in r.json()["data"]] == ["mt-mc-1", "mt-t2v-1"]
    # Prices of the reference's table: t2v 720p no audio 0.6/s; turbo 0.8/s; omni 0.6/s;
    # motion control 0.9/s of the 3 s video; o1 0.6/s.
    assert [t["billing"][0]["amount"] for t in done] == [3.0, 4.0, 3.0, 3.0, 2.7, 3.0]
    d = decode(video_of(done[4], tmp_path))
    assert (d.width, d.height, d.frames, d.has_audio) == (1280, 720, 72, False)
    # The turbo always has sound (Kling prices it so).
    assert [o["type"] for o in done[1]["outputs"]] == ["video", "audio"]

    # POST /tasks: newest first, filtered, a page at a time.
    r = post(server, "/tasks", {"product_type": "motion-control", "status": "succeeded"})
    page = r.json()["data"]
    assert [t["id"] for t in page["tasks"]][-1] == ids[4] and not page["has_more"]
    assert {t["product_type"] for t in page["tasks"]} == {"motion-control"}
    seen: list[str] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"page_size": 2, "product_type": ["text-to-video", "omni-video"]}
        if cursor:
            body["cursor"] = cursor
        data = post(server, "/kling/tasks", body).json()["data"]
        seen += [t["id"] for t in data["tasks"]]
        assert len(data["tasks"]) <= 2
        if not data["has_more"]:
            assert data["next_cursor"] == ""
            break
        cursor = data["next_cursor"]
    assert len(seen) == len(set(seen))
    assert {ids[0], ids[2], ids[3], ids[5]} <= set(seen) and ids[1] not in seen


def test_jwt_and_the_sdk_speak_the_3x_routes(server: Server, tmp_path: Path) -> None:
    with Client(
        "omnivideo",
        base_url=server.base_url,
        access_key=server.credentials["access_key"],
        secret_key=server.credentials["secret_key"],
    ) as client:
        view = client.kling3.create(
            "text-to-video",
            "kling-3.0",
            prompt="a paper boat",
            settings={"duration": 3, "resolution": "720p"},
        )
        # Creates carry an external id: a lost answer is looked up by it, never sent twice.
        assert view.external_task_id and view.external_task_id.startswith("ov-")
        done = client.kling3.wait(view, timeout=120, interval=0.2)
        assert done.status.value == "succeed" and done.final_unit_deduction == "1.8"
        (path,) = client.kling3.download(done, tmp_path / "boat.mp4")
        assert decode(path).frames == 72
        both = client.kling3.query([view.task_id], external_task_ids=None)
        assert [t.task_id for t in both] == [view.task_id]
        page, _ = client.kling3.list(product_type="text-to-video", page_size=1)
        assert len(page) == 1
        with pytest.raises(
            InvalidRequestError, match=r"settings\.duration: must be between 3 and 15 s"
        ):
            client.kling3.create("text-to-video", "kling-3.0", prompt="x", settings={"duration": 2})


# -- every rule, each refused with its code and the field ---------------------------------------


def _image(files: Files, name: str, size: tuple[int, int]) -> str:
    return files.put(name, picture(size, 90, name), "image/png")


RULES: list[tuple[str, Any, int, str]] = [
    # (path, body, code, start of the message)
    ("/omni-video/kling-9", {"contents": [{"type": "prompt", "text": "x"}]}, 1203, "model:"),
    ("/motion-control/kling-3.0-omni", {}, 1203, "model:"),
    ("/omni-video/kling-3.0-omni", [], 1201, "body:"),
    ("/omni-video/kling-3.0-omni", {"contents": []}, 1201, "contents:"),
    ("/omni-video/kling-3.0-omni", {"contents": "x"}, 1201, "contents:"),
    ("/omni-video/kling-3.0-omni", {"contents": ["x"]}, 1201, "contents[0]:"),
    ("/omni-video/kling-3.0-omni", {"contents": [{"type": "audio"}]}, 1201, "contents[0].type:"),
    ("/text-to-video/kling-3.0",
     {"prompt": "x", "contents": [{"type": "refer_image", "url": "u"}]}, 1201, "contents[0].type:"),
    ("/omni-video/kling-3.0-omni", {"contents": [{"type": "prompt", "text": 5}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "a"}, {"type": "prompt", "text": "b"}]}, 1201,
     "contents[1].type:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "a"}, {"type": "first_frame"}]}, 1201,
     "contents[1].url:"),
    ("/omni-video/kling-3.0-omni", {"contents": [{"type": "prompt", "text": "  "}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-3.0-omni", {"contents": [{"type": "prompt", "text": "x" * 3073}]}, 1201,
     "contents[0].text:"),
    ("/text-to-video/kling-3.0", {"prompt": 7}, 1201, "prompt:"),
    ("/text-to-video/kling-3.0", {}, 1201, "prompt:"),
    ("/image-to-video/kling-3.0", {"contents": [{"type": "prompt", "text": "x"}]}, 1201,
     "contents:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "last_frame", "url": "u"}]}, 1201,
     "contents[1].type:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "first_frame", "url": "u"},
                   {"type": "first_frame", "url": "v"}]}, 1201, "contents[2].type:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "base_video", "url": "u"},
                   {"type": "feature_video", "url": "v"}]}, 1201, "contents:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "first_frame", "url": "u"},
                   {"type": "base_video", "url": "v"}]}, 1201, "contents[1].type:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "element", "element_id": "abc"}]},
     1201, "contents[1].element_id:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "element"}]}, 1201,
     "contents[1].element_id:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "element", "element_id": "987654"}]},
     1201, "contents[1].element_id:"),
    ("/omni-video/kling-3.0-omni", {"contents": [{"type": "prompt", "text": "x"}], "settings": 5},
     1201, "settings:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"resolution": "8k"}}, 1201,
     "settings.resolution:"),
    ("/text-to-video/kling-3.0-turbo", {"prompt": "x", "settings": {"resolution": "4k"}}, 1201,
     "settings.resolution:"),
    ("/omni-video/kling-o1",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"resolution": "4k"}}, 1201,
     "settings.resolution:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"aspect_ratio": "4:3"}}, 1201,
     "settings.aspect_ratio:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": "5"}}, 1201,
     "settings.duration:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": 5.5}}, 1201,
     "settings.duration:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": 2}}, 1201,
     "settings.duration:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": 16}}, 1201,
     "settings.duration:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": True}}, 1201,
     "settings.duration:"),
    ("/omni-video/kling-o1",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"duration": 7}}, 1201,
     "settings.duration:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"audio": "loud"}}, 1201,
     "settings.audio:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"audio": "original"}}, 1201,
     "settings.audio:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"audio": "original"}}, 1201,
     "settings.audio:"),
    ("/omni-video/kling-o1",
     {"contents": [{"type": "prompt", "text": "x"}], "settings": {"audio": "native"}}, 1201,
     "settings.audio:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "x"}, {"type": "base_video", "url": "u"}],
      "settings": {"audio": "native"}}, 1201, "settings.audio:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"multi_shot": "yes"}}, 1201,
     "settings.multi_shot:"),
    ("/motion-control/kling-3.0",
     {"contents": [{"type": "image", "url": "u"}, {"type": "video", "url": "v"}]}, 1201,
     "settings.character_orientation:"),
    ("/motion-control/kling-3.0",
     {"contents": [{"type": "image", "url": "u"}, {"type": "video", "url": "v"}],
      "settings": {"character_orientation": "side"}}, 1201, "settings.character_orientation:"),
    ("/motion-control/kling-3.0",
     {"contents": [{"type": "image", "url": "u"}],
      "settings": {"character_orientation": "image"}}, 1201, "contents:"),
    ("/motion-control/kling-3.0",
     {"contents": [{"type": "image", "url": "u"}, {"type": "video", "url": "v"}],
      "settings": {"character_orientation": "image", "resolution": "4k"}}, 1201,
     "settings.resolution:"),
    ("/motion-control/kling-3.0",
     {"contents": [{"type": "image", "url": "u"}, {"type": "video", "url": "v"}],
      "settings": {"character_orientation": "image", "audio": "native"}}, 1201,
     "settings.audio:"),
    # Multi-shot in the prompt.
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "shot 1, 2s, a; shot 2, 2s, b"}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "shot 1, 2s, a; shot 2, 0s, b; shot 3, 3s, c"}]},
     1201, "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "shot 1, 2s, a; shot 2, three, b"}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "shot 1, 2.5s, a; shot 2, 2.5s, b"}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt",
                    "text": "; ".join(f"shot {i}, 2s, s{i}" for i in range(1, 8))}],
      "settings": {"duration": 14}}, 1201, "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": f"shot 1, 2s, {'x' * 513}; shot 2, 3s, b"}]},
     1201, "contents[0].text:"),
    ("/omni-video/kling-3.0-omni",
     {"contents": [{"type": "prompt", "text": "shot 1, 2s, a; shot 3, 3s, b"}]}, 1201,
     "contents[0].text:"),
    ("/omni-video/kling-o1",
     {"contents": [{"type": "prompt", "text": "shot 1, 2s, a; shot 2, 3s, b"}]}, 1201,
     "settings.multi_shot:"),
    # Options.
    ("/text-to-video/kling-3.0", {"prompt": "x", "options": []}, 1201, "options:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "options": {"callback_url": "ftp://x"}}, 1201,
     "options.callback_url:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "options": {"callback_url": 5}}, 1201,
     "options.callback_url:"),
    ("/text-to-video/kling-3.0", {"prompt": "x", "options": {"external_task_id": "e" * 65}},
     1201, "options.external_task_id:"),
    ("/text-to-video/kling-3.0",
     {"prompt": "x", "options": {"watermark_info": {"enabled": "yes"}}}, 1201,
     "options.watermark_info.enabled:"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "code", "field"), RULES)
def test_every_rule_is_refused_naming_the_field(
    server: Server, path: str, body: Any, code: int, field: str
) -> None:
    for prefix in ("", "/kling"):
        r = post(server, prefix + path, body)
        status = 404 if code == 1203 else 400
        assert r.status_code == status, r.text
        answer = r.json()
        assert answer["code"] == code and answer["message"].startswith(field), answer
        assert "data" not in answer


def test_media_rules_name_the_contents_item(server: Server, files: Files) -> None:
    small = _image(files, "small.png", (200, 200))
    wide = _image(files, "wide.png", (1300, 400))
    good = _image(files, "good.png", (640, 640))
    long_clip = files.put("long.mp4", moving_square_video(11.0), "video/mp4")
    cases = [
        ("/image-to-video/kling-3.0",
         {"contents": [{"type": "prompt", "text": "x"}, {"type": "first_frame", "url": small}]},
         "contents[1].url: image is 200x200 px"),
        ("/omni-video/kling-3.0-omni",
         {"contents": [{"type": "prompt", "text": "x"}, {"type": "refer_image", "url": good},
                       {"type": "refer_image", "url": wide}]},
         "contents[2].url: image is 1300x400 px"),
        ("/omni-video/kling-3.0-omni",
         {"contents": [{"type": "prompt", "text": "x"},
                       {"type": "first_frame", "url": good.replace("good.png", "missing.png")}]},
         "contents[1].url:"),
        # Motion control with the image's orientation takes 3-10 s of motion.
        ("/motion-control/kling-3.0",
         {"contents": [{"type": "image", "url": good}, {"type": "video", "url": long_clip}],
          "settings": {"character_orientation": "image"}},
         "contents[1].url: video lasts 11 s; it must last 3 to 10 s"),
    ]  # fmt: skip
    for path, body, message in cases:
        r = post(server, path, body)
        assert (r.status_code, r.json()["code"]) == (400, 1201), r.text
        assert r.json()["message"].startswith(message), r.json()
    # With the video's orientation, 11 s is fine (3-30 s).
    ok = {
        "contents": [{"type": "image", "url": good}, {"type": "video", "url": long_clip}],
        "settings": {"character_orientation": "video"},
    }
    r = post(server, "/motion-control/kling-3.0", ok, **{"X-Omnivideo-Simulate": "fail=1301"})
    assert r.status_code == 200, r.text


def test_tasks_queries_refuse_bad_input(server: Server) -> None:
    cases: list[tuple[httpx.Response, int, str]] = [
        (get(server, "/tasks"), 1201, "task_ids:"),
        (get(server, "/tasks", task_ids=" , "), 1201, "task_ids:"),
        (get(server, "/tasks", task_ids=",".join(str(i) for i in range(51))), 1201, "task_ids:"),
        (get(server, "/tasks", task_ids="1", external_task_ids="2"), 1201, "task_ids:"),
        (get(server, "/tasks", task_ids="123456789012345678"), 1203, "task_ids:"),
        (get(server, "/kling/tasks", external_task_ids="nope"), 1203, "external_task_ids:"),
        (post(server, "/tasks", {"page_size": 0}), 1201, "page_size:"),
        (post(server, "/tasks", {"page_size": 101}), 1201, "page_size:"),
        (post(server, "/tasks", {"status": "succeed"}), 1201, "status:"),
        (post(server, "/tasks", {"status": ["failed", 3]}), 1201, "status[1]:"),
        (post(server, "/tasks", {"product_type": "avatar"}), 1201, "product_type:"),
        (post(server, "/tasks", {"cursor": "999"}), 1201, "cursor:"),
        (post(server, "/tasks", {"cursor": 5}), 1201, "cursor:"),
        (post(server, "/tasks", [1]), 1201, "body:"),
    ]
    for r, code, field in cases:
        assert r.json()["code"] == code and r.json()["message"].startswith(field), r.text
        assert r.status_code == (404 if code == 1203 else 400)
    r = httpx.get(f"{server.base_url}/tasks", params={"task_ids": "1"}, timeout=10)
    assert r.status_code == 401 and r.json()["code"] in (1000, 1001, 1002, 1003, 1004)


def test_4k_is_2160_on_the_short_side(server: Server) -> None:
    fail = {"X-Omnivideo-Simulate": "fail=1301"}  # planned at submit; no 4k render needed
    for aspect, size in (("16:9", "3840x2160"), ("9:16", "2160x3840"), ("1:1", "2160x2160")):
        body = {"prompt": "x", "settings": {"resolution": "4k", "aspect_ratio": aspect}}
        r = post(server, "/text-to-video/kling-3.0", body, **fail)
        assert r.status_code == 200, r.text
        task_id = r.json()["data"]["id"]
        assert get(server, f"/v1/videos/video_{task_id}").json()["size"] == size


def test_a_failed_task_shows_its_message_and_costs_nothing(server: Server) -> None:
    r = post(
        server,
        "/text-to-video/kling-3.0",
        {"prompt": "blocked"},
        **{"X-Omnivideo-Simulate": "fail=1301; msg=content blocked"},
    )
    task = wait(server, r.json()["data"]["id"])
    assert task["status"] == "failed" and task["message"] == "content blocked"
    assert task["billing"] == [] and task["outputs"] == []


# -- motion control, structurally --------------------------------------------------------------


def test_motion_control_moves_the_character_along_the_videos_motion(
    server: Server, files: Files, tmp_path: Path
) -> None:
    # A character that is pure magenta, so it is found in any frame.
    image = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (400, 600), (255, 0, 255)).save(image, "PNG")
    body = {
        "contents": [
            {"type": "image", "url": b64(image.getvalue())},
            {"type": "video", "url": files.put("move.mp4", moving_square_video(3.0), "video/mp4")},
        ],
        "settings": {"character_orientation": "video", "resolution": "720p", "audio": "original"},
    }
    task = wait(server, created(server, "/motion-control/kling-3.0", body)["id"])
    path = video_of(task, tmp_path)
    d = decode(path)
    assert (d.width, d.height, d.frames, d.has_audio) == (1280, 720, 72, True)
    centres = []
    with av.open(str(path)) as box:
        for frame in box.decode(video=0):
            # The character's band (the square runs across the middle); overlays sit elsewhere.
            rgb = frame.to_ndarray(format="rgb24").astype(np.int16)[220:500]
            magenta = (rgb[..., 0] > 180) & (rgb[..., 2] > 180) & (rgb[..., 1] < 90)
            _, xs = np.nonzero(magenta)
            assert xs.size > 1000
            centres.append(float(xs.mean()))
    square = [square_x(i, 72, 1280) for i in range(72)]
    # The character is where the square is (clamped inside the frame), frame after frame.
    inside = [(c, s) for c, s in zip(centres, square, strict=True) if 250 < s < 1030]
    assert len(inside) > 40
    assert max(abs(c - s) for c, s in inside) < 40, inside
    assert centres[-1] - centres[0] > 600


# -- the classic API, as a real client calls it -------------------------------------------------


@pytest.mark.database_agnostic
def test_rawgenai_extend_body_with_cfg_scale_extends_a_kling_v1_video(
    server: Server, tmp_path: Path
) -> None:
    source = post(server, "/v1/videos/text2video", {"model_name": "kling-v1", "prompt": "a lake"})
    source_id = source.json()["data"]["task_id"]
    deadline = time.time() + 120
    while True:
        task = get(server, f"/v1/videos/text2video/{source_id}").json()["data"]
        if task["task_status"] in ("succeed", "failed") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert task["task_status"] == "succeed", task
    video_id = task["task_result"]["videos"][0]["id"]
    # rawgenai's `kling video extend` body (WHQ25/rawgenai, internal/cli/kling/video/extend.go):
    # video_id and cfg_scale always (its flag defaults to Kling's 0.5), prompt when given.
    body = {"video_id": video_id, "cfg_scale": 0.5, "prompt": "a boat sails in"}
    r = post(server, "/v1/videos/video-extend", body)
    assert r.status_code == 200 and r.json()["code"] == 0, r.text
    extend_id = r.json()["data"]["task_id"]
    while True:
        task = get(server, f"/v1/videos/video-extend/{extend_id}").json()["data"]
        if task["task_status"] in ("succeed", "failed") or time.time() > deadline + 120:
            break
        time.sleep(0.2)
    assert task["task_status"] == "succeed", task
    # The 3.x query shows classic tasks too: the extension is 10 s of video.
    (row,) = get(server, "/tasks", task_ids=extend_id).json()["data"]
    assert row["product_type"] == "video-extend" and row["outputs"][0]["duration"] == 10.0
    # A negative prompt would be dropped silently by kling-v1's extend: it is refused.
    r = post(server, "/v1/videos/video-extend", {**body, "negative_prompt": "rain"})
    assert (r.status_code, r.json()["code"]) == (400, 1201)
    assert r.json()["message"].startswith("negative_prompt: ")


def test_cli_generate_targets_a_3x_route(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "OMNIVIDEO_BASE_URL": server.base_url,
           "OMNIVIDEO_API_KEY": server.api_key, "OMNIVIDEO_HOME": str(tmp_path / "home")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "generate",
         "shot 1, 1s, a red door; shot 2, 2s, a blue sky", "--route", "text-to-video/kling-3.0",
         "--duration", "3", "--aspect", "9:16", "--sound", "--json",
         "-o", str(tmp_path / "cli.mp4")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "succeed" and result["external_task_id"].startswith("ov-")
    d = decode(Path(result["files"][0]))
    assert (d.width, d.height, d.frames, d.has_audio) == (720, 1280, 72, True)
    (row,) = get(server, "/tasks", task_ids=result["task_id"]).json()["data"]
    # kling-3.0 720p with native audio: 0.9 a second.
    assert row["product_type"] == "text-to-video" and row["billing"][0]["amount"] == 2.7
    bad = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "generate", "x", "--route",
         "text-to-video/kling-3.0", "--resolution", "4k", "--duration", "2", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "settings.duration" in bad.stdout


def test_the_async_sdk_speaks_the_3x_routes(server: Server) -> None:
    import asyncio

    from omnivideo.client import AsyncClient

    async def run() -> None:
        async with AsyncClient("cometapi", base_url=server.base_url, api_key=server.api_key) as c:
            view = await c.kling3.create(
                "omni-video",
                "kling-3.0-omni",
                contents=[{"type": "prompt", "text": "shot 1, 1s, a; shot 2, 2s, b"}],
                settings={"duration": 3},
                options={"watermark_info": {"enabled": True}},
            )
            done = await c.kling3.wait(view, timeout=120, interval=0.2)
            assert done.status.value == "succeed" and done.videos
            # The watermarked copy asked for is an output's watermark_url.
            assert "-watermark.mp4?" in (done.videos[0].watermark_url or "")
            found = await c.kling3.query(external_task_ids=[view.external_task_id or ""])
            assert [t.task_id for t in found] == [view.task_id]
            page, _ = await c.kling3.list(product_type="omni-video", page_size=3)
            assert view.task_id in [t.task_id for t in page]

    asyncio.run(run())


def test_a_resource_pack_pays_the_3x_price(server: Server) -> None:
    cli = [sys.executable, "-m", "omnivideo.cli.main", "keys"]
    made = subprocess.run([*cli, "create", "--name", "packed-3x", "--units", "5", "--json",
                           *server.admin_args()],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    headers = {"Authorization": f"Bearer {json.loads(made.stdout)['api_key']}"}

    def create(settings: dict[str, Any]) -> httpx.Response:
        body = {"prompt": "a lamp", "settings": settings}
        return httpx.post(f"{server.base_url}/text-to-video/kling-3.0", json=body,
                          headers={**headers, "X-Omnivideo-Simulate": "delay=20s"}, timeout=60)  # fmt: skip

    # 1080p with native audio, 5 s: 1.2 a second is 6 units, more than the pack holds.
    r = create({"resolution": "1080p", "audio": "native", "duration": 5})
    assert (r.status_code, r.json()["code"]) == (429, 1102), r.text
    # 720p without audio, 3 s: 0.6 a second is 1.8 units, reserved at once.
    assert create({"duration": 3}).json()["code"] == 0
    r = httpx.get(f"{server.base_url}/account/costs?start_time=0&end_time=99999999999999",
                  headers=headers)  # fmt: skip
    (pack,) = r.json()["data"]["resource_pack_subscribe_infos"]
    assert pack["remaining_quantity"] == pytest.approx(3.2)


@pytest.mark.database_agnostic
def test_every_model_of_every_route_is_accepted(server: Server, files: Files) -> None:
    first = files.put("every.png", picture((720, 720), 10, "E"), "image/png")
    fail = {"X-Omnivideo-Simulate": "fail=1301"}  # accepted is what is checked; no render
    bodies = {
        "text-to-video": {"prompt": "a fox"},
        "image-to-video": {"contents": [{"type": "prompt", "text": "a fox"},
                                        {"type": "first_frame", "url": first}]},
        "omni-video": {"contents": [{"type": "prompt", "text": "a fox"}]},
    }  # fmt: skip
    for product, models in kling3.ROUTES.items():
        if product == "motion-control":
            continue  # rendered in its own tests
        for model in models:
            for prefix in ("", "/kling"):
                r = post(server, f"{prefix}/{product}/{model}", bodies[product], **fail)
                assert r.status_code == 200, (product, model, r.text)
                # Ended before the next, so the account's 5 running tasks are never reached.
                assert wait(server, r.json()["data"]["id"])["status"] == "failed"
    # external_task_id is unique per account, whatever the route.
    body = {"prompt": "a fox", "options": {"external_task_id": "dup-3x"}}
    assert post(server, "/text-to-video/kling-3.0", body, **fail).status_code == 200
    r = post(server, "/omni-video/kling-3.0-omni",
             {"contents": [{"type": "prompt", "text": "x"}], "options": body["options"]}, **fail)  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (400, 1201)
    assert r.json()["message"].startswith("options.external_task_id: 'dup-3x' is already used")
    # A GIF is not an input Kling takes; a feature video lasts at most 15 s.
    gif = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (400, 400), (9, 9, 9)).save(gif, "GIF")
    long_clip = files.put("sixteen.mp4", moving_square_video(16.0), "video/mp4")
    for contents, message in (
        ([{"type": "first_frame", "url": b64(gif.getvalue())}],
         "contents[1].url: image format is GIF"),
        ([{"type": "feature_video", "url": long_clip}],
         "contents[1].url: video lasts 16 s; it must last 3 to 15 s"),
    ):  # fmt: skip
        body = {"contents": [{"type": "prompt", "text": "x"}, *contents]}
        r = post(server, "/omni-video/kling-3.0-omni", body)
        assert r.json()["message"].startswith(message), r.text
