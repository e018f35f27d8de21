"""End to end over HTTP: ``omnivideo serve --engine wan --audio-model DIR`` with tiny
checkpoints from disk: ``sound: on`` gives an MP4 whose sound lasts as long as its picture,
and the audio endpoints run on the audio model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from tests.mp4 import decode
from tests.server.harness import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wan_audio_server(
    tmp_path_factory: pytest.TempPathFactory, wan_model_dir: Path, audio_model_dir: Path
) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("wan-audio-data"),
        extra_args=[
            "--engine",
            "wan",
            "--model",
            str(wan_model_dir),
            "--device",
            "cpu",
            "--audio-model",
            str(audio_model_dir),
        ],
        env={
            "OMNIVIDEO_WAN_RESOLUTION": "32",
            "OMNIVIDEO_WAN_STEPS": "2",
            "OMNIVIDEO_WAN_WINDOW": "81",
            "OMNIVIDEO_WAN_AUDIO_STEPS": "3",
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        },
    ).start(timeout=180)
    yield srv
    srv.stop()


def _finished(srv: Server, path: str) -> dict[str, Any]:
    deadline = time.time() + 300
    while time.time() < deadline:
        task: dict[str, Any] = httpx.get(
            f"{srv.base_url}{path}", headers=srv.headers(), timeout=30
        ).json()["data"]
        if task["task_status"] in ("succeed", "failed"):
            return task
        time.sleep(0.3)
    raise AssertionError(f"{path} did not finish")


def test_sound_on_over_http_gives_a_track_as_long_as_the_video(
    wan_audio_server: Server, tmp_path: Path
) -> None:
    created = wan_audio_server.create(
        {"model_name": "kling-v3-omni", "prompt": "A red fox trotting through fresh snow",
         "mode": "std", "aspect_ratio": "1:1", "duration": "3", "sound": "on"}
    )  # fmt: skip
    assert created.status_code == 200, created.text
    task = wan_audio_server.wait(created.json()["data"]["task_id"], timeout=300)
    assert task["task_status"] == "succeed", task
    target = tmp_path / "out.mp4"
    target.write_bytes(httpx.get(task["task_result"]["videos"][0]["url"], timeout=60).content)
    video = decode(target)
    assert (video.frames, video.fps, video.has_audio) == (72, 24.0, True)
    with av.open(str(target)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate) == ("aac", 48_000)
        assert float(stream.duration * stream.time_base) == pytest.approx(3.0, abs=1 / 48_000)

    # With a video, Kling's rule stands: sound must be off (the kept track is the sound).
    refused = wan_audio_server.create(
        {"model_name": "kling-v3-omni", "prompt": "a fox", "sound": "on",
         "video_list": [{"video_url": task["task_result"]["videos"][0]["url"],
                         "refer_type": "base", "keep_original_sound": "yes"}]}
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["code"] == 1201
    assert "not supported with video input" in refused.json()["message"]


def test_text_to_audio_runs_on_the_audio_model(wan_audio_server: Server, tmp_path: Path) -> None:
    r = httpx.post(
        f"{wan_audio_server.base_url}/v1/audio/text-to-audio",
        json={"prompt": "a dog runs in the snow", "duration": 3.5},
        headers=wan_audio_server.headers(),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    task = _finished(wan_audio_server, f"/v1/audio/text-to-audio/{r.json()['data']['task_id']}")
    assert task["task_status"] == "succeed", task
    (track,) = task["task_result"]["audios"]
    wav = tmp_path / "t.wav"
    wav.write_bytes(httpx.get(track["url_wav"], timeout=60).content)
    with av.open(str(wav)) as container:
        assert sum(f.samples for f in container.decode(audio=0)) == 3.5 * 48_000
