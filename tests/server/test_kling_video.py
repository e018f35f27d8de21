"""End to end over HTTP: Kling's classic video endpoints (text2video, image2video,
multi-image2video, video-extend, account/costs) on a real server on loopback."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import openai
import pytest
from PIL import Image, ImageDraw, ImageOps

from tests.mp4 import decode
from tests.server.harness import Server

pytestmark = pytest.mark.slow


def picture(size: tuple[int, int], hue: int, label: str, fmt: str = "PNG") -> bytes:
    """A picture with structure (gradient, shapes, text), so frames can be told apart."""
    w, h = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    rgb = np.concatenate(
        [
            (x * 255 + hue) % 256 * np.ones_like(y),
            y * 255 * np.ones_like(x),
            (x * y * 255 + hue) % 256,
        ],
        axis=2,
    ).astype(np.uint8)
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    draw.ellipse((w // 5, h // 5, w // 2, h // 2), fill=(255, 255 - hue % 256, 0))
    draw.text((w // 2, h // 2), label, fill=(0, 0, 0))
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def covered(data: bytes, size: tuple[int, int]) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.fit(im.convert("RGB"), size, Image.Resampling.LANCZOS))


def post(server: Server, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", json=body, headers=server.headers(), timeout=60)


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", headers=server.headers(), timeout=30)


def created(server: Server, endpoint: str, body: Any, prefix: str = "") -> str:
    r = post(server, f"{prefix}/v1/videos/{endpoint}", body)
    assert r.status_code == 200, r.text
    envelope = r.json()
    assert (envelope["code"], envelope["message"]) == (0, "SUCCEED")
    assert envelope["data"]["task_status"] == "submitted"
    return str(envelope["data"]["task_id"])


def wait(server: Server, endpoint: str, task_id: str, prefix: str = "") -> dict[str, Any]:
    deadline = time.time() + 120
    while time.time() < deadline:
        r = get(server, f"{prefix}/v1/videos/{endpoint}/{task_id}")
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()["data"]
        if task["task_status"] in ("succeed", "failed"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"{endpoint} task {task_id} did not finish")


def download(task: dict[str, Any], tmp_path: Path) -> Path:
    assert task["task_status"] == "succeed", task
    target = tmp_path / f"{task['task_id']}.mp4"
    r = httpx.get(task["task_result"]["videos"][0]["url"], timeout=60)
    assert r.status_code == 200
    target.write_bytes(r.content)
    return target


# -- text2video ------------------------------------------------------------------------------

#: The text2video example of the wire reference (kling-v1, std, 5 s, 16:9, a `simple` zoom)
#: with every optional string sent empty, as Kling's examples do.
TEXT2VIDEO_EXAMPLE = {
    "model_name": "kling-v1",
    "prompt": "A red fox trotting through fresh snow at dawn, cinematic",
    "negative_prompt": "",
    "cfg_scale": 0.5,
    "mode": "std",
    "camera_control": {
        "type": "simple",
        "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 5},
    },
    "aspect_ratio": "16:9",
    "duration": "5",
    "callback_url": "",
    "external_task_id": "",
}


def test_text2video_example_is_created_polled_listed_and_obeyed(
    server: Server, tmp_path: Path
) -> None:
    task_id = created(server, "text2video", TEXT2VIDEO_EXAMPLE)
    task = wait(server, "text2video", task_id)
    assert task["task_info"] == {} and task["task_status_msg"] == ""
    assert float(task["final_unit_deduction"]) > 0
    d = decode(download(task, tmp_path))
    assert (d.codec, d.width, d.height, d.fps, d.frames) == ("h264", 1280, 720, 24.0, 120)
    listed = get(server, "/v1/videos/text2video?pageNum=1&pageSize=5").json()["data"]
    assert task_id in [t["task_id"] for t in listed]
    # Found and listed under its own endpoint only, as on Kling.
    assert get(server, f"/v1/videos/image2video/{task_id}").json()["code"] == 1203
    omni = get(server, "/v1/videos/omni-video?pageSize=500").json()["data"]
    assert task_id not in [t["task_id"] for t in omni]
    # Every other face still sees it.
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.api_key)
    assert client.videos.retrieve(f"video_{task_id}").status == "completed"


# -- image2video -----------------------------------------------------------------------------


def test_image2video_image_is_frame_0_and_image_tail_the_last(
    server: Server, tmp_path: Path
) -> None:
    first = picture((900, 600), 30, "FIRST")
    last = picture((900, 600), 150, "LAST", "JPEG")
    body = {
        "model_name": "kling-v1",
        "mode": "std",
        "duration": "5",
        "image": b64(first),
        "image_tail": b64(last),
        "prompt": "the sky clears",
        "external_task_id": "i2v-frames-1",
    }
    task_id = created(server, "image2video", body)
    task = wait(server, "image2video", "i2v-frames-1")
    assert task["task_id"] == task_id
    assert task["task_info"] == {"external_task_id": "i2v-frames-1"}
    path = download(task, tmp_path)
    d = decode(path)
    # The output takes the image's shape (3:2) at std's 720p short side.
    assert (d.width, d.height, d.frames) == (1080, 720, 120)
    frames = rgb_frames(path)
    assert psnr(frames[0], covered(first, (1080, 720))) >= 30
    assert psnr(frames[-1], covered(last, (1080, 720))) >= 30
    by_query = get(server, "/v1/videos/image2video?external_task_id=i2v-frames-1").json()["data"]
    assert by_query["task_id"] == task_id


def mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    im = Image.new("L", size, 0)
    ImageDraw.Draw(im).rectangle(box, fill=255)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def test_image2video_motion_brush_example_moves_the_masked_part(
    server: Server, tmp_path: Path
) -> None:
    # The worked image2video example of Kling's docs: kling-v1 pro 5 s, cfg_scale 0.5, a static
    # mask and one dynamic mask moving from (279, 219) to (417, 65) (origin bottom-left).
    image = picture((640, 640), 10, "BRUSH")
    body = {
        "model_name": "kling-v1",
        "mode": "pro",
        "duration": "5",
        "image": b64(image),
        "prompt": "the boat drifts",
        "cfg_scale": 0.5,
        "static_mask": b64(mask((640, 640), (500, 0, 639, 120))),
        "dynamic_masks": [
            {
                "mask": b64(mask((640, 640), (250, 390, 310, 450))),
                "trajectories": [{"x": 279, "y": 219}, {"x": 417, "y": 65}],
            }
        ],
    }
    task_id = created(server, "image2video", body)
    task = wait(server, "image2video", task_id)
    frames = rgb_frames(download(task, tmp_path))
    assert frames[0].shape == (1080, 1080, 3) and len(frames) == 120
    source = covered(image, (1080, 1080))
    assert psnr(frames[0], source) >= 30
    k = 1080 / 640
    # Frame 48 is 48/119 of the way along (138, 154) image px: right and down on screen. (Later
    # frames put the part under the caption band the preview draws along the bottom.)
    dx, dy = round(138 * k * 48 / 119), round(154 * k * 48 / 119)
    y0, y1, x0, x1 = round(395 * k), round(445 * k), round(255 * k), round(305 * k)
    moved = frames[48][y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    assert psnr(moved, source[y0:y1, x0:x1]) >= 28  # the masked part, on its path
    assert psnr(moved, source[y0 + dy : y1 + dy, x0 + dx : x1 + dx]) < 25
    still = (slice(0, round(110 * k)), slice(round(510 * k), 1080))
    assert psnr(frames[60][still], source[still]) >= 30  # the static mask holds
    listed = get(server, "/v1/videos/image2video?pageSize=100").json()["data"]
    assert task_id in [t["task_id"] for t in listed]


# -- bodies real clients send ------------------------------------------------------------------


def test_comfyui_node_bodies_are_accepted(server: Server) -> None:
    # KwaiVGI/ComfyUI-KLingAI-API py/api/text2video.py and image2video.py: every attribute is
    # serialised, unset ones as null or "", cfg_scale for every model, one camera axis only.
    t2v = {
        "model_name": "kling-v1",
        "prompt": "a lighthouse in a storm",
        "negative_prompt": "",
        "cfg_scale": 0.5,
        "mode": "std",
        "camera_control": {"type": "simple", "config": {"zoom": 5.0}},
        "aspect_ratio": "16:9",
        "duration": "5",
        "callback_url": None,
        "external_task_id": None,
    }
    created(server, "text2video", t2v)
    i2v = {
        "model_name": "kling-v1-6",
        "image": b64(picture((640, 480), 90, "COMFY", "JPEG")),
        "image_tail": None,
        "prompt": "",
        "negative_prompt": "",
        "cfg_scale": 0.5,
        "mode": "std",
        "static_mask": None,
        "dynamic_masks": None,
        "camera_control": None,
        "aspect_ratio": None,
        "duration": "5",
        "callback_url": None,
        "external_task_id": None,
    }
    created(server, "image2video", i2v)


def test_new_api_kling_channel_bodies_are_accepted_under_both_prefixes(server: Server) -> None:
    # QuantumNous/new-api relay/channel/task/kling/adaptor.go (convertToRequestPayload): model
    # under both names, cfg_scale 0.5, aspect_ratio even on image2video; `/kling` for sk- keys.
    base = {"mode": "std", "duration": "5", "aspect_ratio": "1:1", "model_name": "kling-v2-6",
            "model": "kling-v2-6", "cfg_scale": 0.5}  # fmt: skip
    t2v_id = created(server, "text2video", {**base, "prompt": "waves"})
    i2v_id = created(
        server,
        "image2video",
        {**base, "prompt": "waves", "image": b64(picture((600, 600), 200, "NEWAPI"))},
        prefix="/kling",
    )
    # new-api polls `GET {path}/{task_id}` on the endpoint it created on.
    assert wait(server, "text2video", t2v_id)["task_status"] == "succeed"
    assert wait(server, "image2video", i2v_id, prefix="/kling")["task_status"] == "succeed"


# -- multi-image2video and video-extend ------------------------------------------------------


def test_multi_image2video_and_video_extend(server: Server, tmp_path: Path) -> None:
    # CometAPI's multi-image-to-video example, with the images inline.
    multi = {
        "model_name": "kling-v1-6",
        "image_list": [{"image": b64(picture((600, 600), h, f"REF {h}"))} for h in (0, 80, 160)],
        "prompt": "three friends walk into a cafe",
        "mode": "std",
        "duration": "5",
        "aspect_ratio": "9:16",
    }
    task = wait(server, "multi-image2video", created(server, "multi-image2video", multi))
    d = decode(download(task, tmp_path))
    assert (d.width, d.height, d.frames) == (720, 1280, 120)

    source = wait(server, "text2video", created(server, "text2video", {"prompt": "a calm lake"}))
    video = source["task_result"]["videos"][0]
    extend_id = created(server, "video-extend", {"video_id": video["id"], "prompt": "a boat"})
    extended = wait(server, "video-extend", extend_id)
    assert extended["task_info"]["parent_video"] == {
        "id": video["id"],
        "url": video["url"],
        "duration": video["duration"],
    }
    d = decode(download(extended, tmp_path))
    # Kling adds about 5 s a call; the new video is the whole: source + extension.
    assert (d.width, d.height, d.frames) == (1280, 720, 240)
    assert float(extended["task_result"]["videos"][0]["duration"]) == pytest.approx(10.0)
    listed = get(server, "/v1/videos/video-extend").json()["data"]
    assert [t["task_id"] for t in listed] == [extend_id]
    r = post(server, "/v1/videos/video-extend", {"video_id": "no-such-video"})
    assert (r.status_code, r.json()["code"]) == (400, 1201) and "video_id" in r.json()["message"]


# -- errors and account/costs ----------------------------------------------------------------


def test_kling_tree_answers_1202_and_the_openai_face_still_works(server: Server) -> None:
    for method, path in (
        ("GET", "/v1/videos/nonexistent"),
        ("POST", "/v1/videos/foo"),
        ("DELETE", "/v1/videos/text2video"),
        ("GET", "/v1/videos/text2video/1/extra"),
        ("POST", "/kling/v1/videos/foo"),
    ):
        r = httpx.request(method, f"{server.base_url}{path}", headers=server.headers())
        body = r.json()
        assert (r.status_code, body["code"]) == (404, 1202), (method, path, r.text)
        assert isinstance(body["message"], str) and "request_id" in body
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.api_key)
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("video_123")
    assert client.videos.list().object == "list"
    r = post(server, "/v1/videos/text2video", {"prompt": "a", "duration": "7"})
    assert (r.status_code, r.json()["code"]) == (400, 1201)
    assert r.json()["message"].startswith("duration:")


def test_account_costs(server: Server) -> None:
    r = get(server, "/account/costs?start_time=1726124664368&end_time=1727366400000")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["code"] == 0 and data["resource_pack_subscribe_infos"] == []
    r = get(server, "/account/costs?end_time=1")
    assert (r.status_code, r.json()["code"]) == (400, 1201) and "start_time" in r.json()["message"]
    r = httpx.get(f"{server.base_url}/account/costs?start_time=1&end_time=2")
    assert r.status_code == 401


@pytest.mark.database_agnostic
def test_cli_generate_picks_the_endpoint_from_its_flags(server: Server, tmp_path: Path) -> None:
    first = tmp_path / "first.png"
    first.write_bytes(picture((640, 640), 70, "CLI"))
    env = {**os.environ, "OMNIVIDEO_BASE_URL": server.base_url,
           "OMNIVIDEO_API_KEY": server.api_key, "OMNIVIDEO_HOME": str(tmp_path / "home")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "generate", "a slow push in",
         "--model", "kling-v1-5", "--mode", "pro", "--first-frame", str(first),
         "--camera", "zoom=-4", "--json", "-o", str(tmp_path / "cli.mp4")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "succeed"
    # It ran on image2video, where it is found.
    assert get(server, f"/v1/videos/image2video/{result['task_id']}").json()["code"] == 0
    d = decode(Path(result["files"][0]))
    assert (d.width, d.height, d.frames) == (1080, 1080, 120)
    # `tasks show` finds it under its endpoint, from the job log or from the server alone.
    for ident in (result["task_id"], str(result["job"])):
        shown = subprocess.run(
            [sys.executable, "-m", "omnivideo.cli.main", "tasks", "show", ident, "--json"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert json.loads(shown.stdout)["status"] == "succeed", shown.stderr


def test_a_resource_pack_runs_out_with_1102_and_costs_show_the_rest(
    server: Server, tmp_path: Path
) -> None:
    cli = [sys.executable, "-m", "omnivideo.cli.main", "keys"]
    data = server.admin_args()
    made = subprocess.run([*cli, "create", "--name", "packed", "--units", "10", "--json", *data],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    key = json.loads(made.stdout)
    headers = {"Authorization": f"Bearer {key['api_key']}"}
    body = {"model_name": "kling-v1", "prompt": "a lamp", "mode": "std", "duration": "5"}

    def create(**extra: str) -> httpx.Response:
        return httpx.post(f"{server.base_url}/v1/videos/text2video", json=body,
                          headers={**headers, **extra}, timeout=60)  # fmt: skip

    def remaining() -> float:
        r = httpx.get(f"{server.base_url}/account/costs?start_time=0&end_time=99999999999999",
                      headers=headers)  # fmt: skip
        (pack,) = r.json()["data"]["resource_pack_subscribe_infos"]
        assert pack["total_quantity"] == 10.0
        return float(pack["remaining_quantity"])

    def finished(task_id: str) -> dict[str, Any]:
        for _ in range(600):
            task: dict[str, Any] = httpx.get(
                f"{server.base_url}/v1/videos/text2video/{task_id}", headers=headers
            ).json()["data"]
            if task["task_status"] in ("succeed", "failed"):
                return task
            time.sleep(0.2)
        raise AssertionError(task_id)

    # A failed task is charged nothing: its reserved units come back.
    failed = finished(create(**{"X-Omnivideo-Simulate": "fail=5000"}).json()["data"]["task_id"])
    assert failed["task_status"] == "failed" and failed["final_unit_deduction"] == "0"
    assert remaining() == 10.0
    # So is a cancelled one.
    slow = create(**{"X-Omnivideo-Simulate": "delay=30s"}).json()["data"]["task_id"]
    assert remaining() == 7.0  # reserved while it runs
    httpx.post(f"{server.base_url}/v1/videos/omni-video/{slow}/cancel", headers=headers)
    assert remaining() == 10.0
    # kling-v1 std 5 s costs 3 units: three tasks fit in 10, a fourth does not.
    for _ in range(3):
        task = finished(create().json()["data"]["task_id"])
        assert task["final_unit_deduction"] == "3"
    assert remaining() == 1.0
    refused = create()
    assert (refused.status_code, refused.json()["code"]) == (429, 1102)
    assert "1 left" in refused.json()["message"]
    listed = httpx.get(f"{server.base_url}/v1/videos/text2video?pageSize=50", headers=headers)
    assert len(listed.json()["data"]) == 5  # the refused create queued nothing
    # Another grant tops the account up.
    subprocess.run([*cli, "grant", key["access_key"], "--units", "5", "--expires", "30d", *data],
                   capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert create().status_code == 200
