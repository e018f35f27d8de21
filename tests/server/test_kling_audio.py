"""End to end over HTTP with the preview engine: Kling's audio endpoints (text-to-audio,
video-to-audio) on the official face and under CometAPI's ``/kling`` prefix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.mp4 import decode
from tests.server.harness import Server

pytestmark = pytest.mark.slow

RATE = 48_000
#: an AAC (or MP3) stream ends on a whole frame: at most this much past the samples asked for
CODEC_FRAME_S = 1152 / RATE


def post(server: Server, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", json=body, headers=server.headers(), timeout=60)


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", headers=server.headers(), timeout=30)


def finished(server: Server, path: str) -> dict[str, Any]:
    deadline = time.time() + 120
    while time.time() < deadline:
        r = get(server, path)
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()["data"]
        if task["task_status"] in ("succeed", "failed"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish")


def fetched(url: str, path: Path) -> Path:
    r = httpx.get(url, timeout=60)
    assert r.status_code == 200
    path.write_bytes(r.content)
    return path


def audio_of(path: Path) -> tuple[str, int, int, float]:
    """(codec, rate, decoded samples, stream seconds) of the first audio track."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(stream))
        seconds = float(stream.duration * stream.time_base) if stream.duration else 0.0
        return stream.codec_context.name, stream.rate, samples, seconds


@pytest.mark.parametrize("prefix", ["", "/kling"])
def test_text_to_audio_gives_five_seconds_of_sound(
    server: Server, tmp_path: Path, prefix: str
) -> None:
    body = {"prompt": "Rain on a tin roof, distant thunder", "duration": 5,
            "external_task_id": f"t2a-{prefix.strip('/') or 'official'}-{time.time_ns()}"}  # fmt: skip
    r = post(server, f"{prefix}/v1/audio/text-to-audio", body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert (created["code"], created["message"]) == (0, "SUCCEED")
    assert created["data"]["task_status"] == "submitted"
    assert created["data"]["task_info"] == {"external_task_id": body["external_task_id"]}
    task_id = created["data"]["task_id"]

    task = finished(server, f"{prefix}/v1/audio/text-to-audio/{task_id}")
    assert task["task_status"] == "succeed", task
    assert "videos" not in task["task_result"]
    (track,) = task["task_result"]["audios"]
    assert set(track) == {"id", "url_mp3", "url_wav", "duration_mp3", "duration_wav"}
    assert track["duration_mp3"] == track["duration_wav"] == "5.0"
    assert task["final_unit_deduction"] == "0.2"

    wav = audio_of(fetched(track["url_wav"], tmp_path / "a.wav"))
    assert wav == ("pcm_s16le", RATE, 5 * RATE, 5.0)
    codec, rate, samples, _ = audio_of(fetched(track["url_mp3"], tmp_path / "a.mp3"))
    assert codec.startswith("mp3") and rate == RATE
    assert 5 * RATE <= samples <= 5 * RATE + 2 * 1152

    # Found by external_task_id and listed under its own endpoint only (as Kling answers).
    by_external = get(server, f"{prefix}/v1/audio/text-to-audio/{body['external_task_id']}")
    assert by_external.json()["data"]["task_id"] == task_id
    listed = get(server, f"{prefix}/v1/audio/text-to-audio?pageNum=1&pageSize=50").json()
    assert task_id in [t["task_id"] for t in listed["data"]]
    elsewhere = get(server, f"{prefix}/v1/audio/video-to-audio/{task_id}")
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == 1203


def test_video_to_audio_gives_a_silent_video_its_sound(server: Server, tmp_path: Path) -> None:
    r = server.create(
        {"model_name": "kling-v3-omni", "prompt": "waves on a beach", "duration": "5",
         "aspect_ratio": "1:1", "sound": "off"}
    )  # fmt: skip
    assert r.status_code == 200, r.text
    source = server.wait(r.json()["data"]["task_id"])
    assert source["task_status"] == "succeed", source
    (video,) = source["task_result"]["videos"]
    silent = decode(fetched(video["url"], tmp_path / "silent.mp4"))
    assert not silent.has_audio and silent.duration_s == pytest.approx(5.0)

    for prefix, given in (("", {"video_id": video["id"]}), ("/kling", {"video_url": video["url"]})):
        body = {**given, "sound_effect_prompt": "waves crashing", "bgm_prompt": "calm piano",
                "asmr_mode": True}  # fmt: skip
        r = post(server, f"{prefix}/v1/audio/video-to-audio", body)
        assert r.status_code == 200, r.text
        task_id = r.json()["data"]["task_id"]
        task = finished(server, f"{prefix}/v1/audio/video-to-audio/{task_id}")
        assert task["task_status"] == "succeed", task
        (with_sound,) = task["task_result"]["videos"]
        (track,) = task["task_result"]["audios"]
        assert track["duration_wav"] == "5.0" and with_sound["duration"] == "5.0"
        if "video_id" in given:
            assert task["task_info"]["parent_video"]["id"] == video["id"]

        out = fetched(with_sound["url"], tmp_path / f"sound{prefix.strip('/')}.mp4")
        picture = decode(out)
        assert (picture.frames, picture.width, picture.has_audio) == (
            silent.frames, silent.width, True
        )  # fmt: skip
        codec, rate, samples, seconds = audio_of(out)
        assert (codec, rate, seconds) == ("aac", RATE, pytest.approx(5.0, abs=1 / RATE))
        assert 5 * RATE <= samples <= (5 + CODEC_FRAME_S) * RATE
        wav = audio_of(fetched(track["url_wav"], tmp_path / "v.wav"))
        assert wav == ("pcm_s16le", RATE, 5 * RATE, 5.0)


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("text-to-audio", {"prompt": "rain", "duration": 2.9}, "duration: must be between 3.0"),
        ("text-to-audio", {"prompt": "rain", "duration": "5.55"}, "one decimal"),
        ("text-to-audio", {"prompt": "r" * 201, "duration": 5}, "prompt:"),
        ("text-to-audio", {"duration": 5}, "prompt: is required"),
        ("video-to-audio", {"bgm_prompt": "piano"}, "give exactly one"),
        ("video-to-audio", {"video_id": "1", "video_url": "https://x.test/a.mp4"}, "exactly one"),
        ("video-to-audio", {"video_id": "123456789012345678"}, "no finished video"),
        ("video-to-audio", {"video_id": "1", "sound_effect_prompt": "s" * 201}, "sound_effect"),
    ],
)
def test_audio_endpoints_refuse_bad_bodies(server: Server, path: str, body: Any, says: str) -> None:
    r = post(server, f"/v1/audio/{path}", body)
    assert r.status_code == 400, r.text
    answer = r.json()
    assert answer["code"] == 1201 and says in answer["message"], answer
    assert "request_id" in answer


def test_the_audio_command(server: Server, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMNIVIDEO_API_KEY": server.api_key, "OMNIVIDEO_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "audio", "text", "rain on a tin roof",
         "--duration", "3.5", "--base-url", server.base_url, "-o", str(tmp_path / "rain.mp3"),
         "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "succeed" and data["audios"][0]["duration"] == "3.5"
    codec, rate, samples, _ = audio_of(Path(data["files"][0]))
    assert codec.startswith("mp3") and rate == RATE and samples >= 3.5 * RATE
    refused = subprocess.run(
        [sys.executable, "-m", "omnivideo.cli.main", "audio", "video", "--base-url",
         server.base_url, "--json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    # Checked before sending, with the server's own rule and message.
    assert refused.returncode != 0
    assert "give exactly one" in refused.stdout + refused.stderr


def test_audio_callbacks_carry_the_tracks(server: Server, receiver: Any) -> None:
    r = post(server, "/kling/v1/audio/text-to-audio",
             {"prompt": "a bell", "duration": "3", "callback_url": receiver.url})  # fmt: skip
    assert r.status_code == 200, r.text
    task_id = r.json()["data"]["task_id"]
    deadline = time.time() + 120
    while receiver.statuses(task_id)[-1:] != ["succeed"] and time.time() < deadline:
        time.sleep(0.2)
    assert receiver.statuses(task_id) == ["submitted", "processing", "succeed"]
    last = [b for b in receiver.received if b["task_id"] == task_id][-1]
    # Kling's flat callback body, with the same task_result as the query answer.
    assert "code" not in last and "videos" not in last["task_result"]
    (track,) = last["task_result"]["audios"]
    assert track["duration_wav"] == "3.0" and track["url_wav"].startswith(server.base_url)
