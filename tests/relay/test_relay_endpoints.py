"""The relay forwards a classic endpoint's task to the upstream's matching endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.mp4 import decode
from tests.relay.test_relay import relay, upstream  # noqa: F401 - the upstream fixture
from tests.server.harness import Server


def test_text2video_is_relayed_to_the_upstreams_text2video(
    upstream: Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    srv = relay(tmp_path / "relay", upstream, f"omnivideo={upstream.base_url}").start()
    try:
        body = {
            "model_name": "kling-v1",
            "prompt": "a kite over the dunes",
            "negative_prompt": "rain",
            "mode": "std",
            "duration": "5",
            "aspect_ratio": "1:1",
            "camera_control": {"type": "simple", "config": {"pan": -3}},
        }
        r = httpx.post(
            f"{srv.base_url}/v1/videos/text2video", json=body, headers=srv.headers(), timeout=60
        )
        assert r.status_code == 200, r.text
        task_id = r.json()["data"]["task_id"]
        for _ in range(600):
            task = httpx.get(
                f"{srv.base_url}/v1/videos/text2video/{task_id}", headers=srv.headers()
            ).json()["data"]
            if task["task_status"] in ("succeed", "failed"):
                break
            time.sleep(0.2)
        assert task["task_status"] == "succeed", task
        theirs = task["task_info"]["upstream_task_id"]
        # The upstream ran it as a text2video task with the same fields.
        up = httpx.get(
            f"{upstream.base_url}/v1/videos/text2video/{theirs}", headers=upstream.headers()
        )
        assert up.status_code == 200 and up.json()["data"]["task_status"] == "succeed"
        omni = httpx.get(
            f"{upstream.base_url}/v1/videos/omni-video/{theirs}", headers=upstream.headers()
        )
        assert omni.json()["code"] == 1203
        target = tmp_path / "relayed.mp4"
        target.write_bytes(httpx.get(task["task_result"]["videos"][0]["url"]).content)
        d = decode(target)
        assert (d.width, d.height, d.frames) == (720, 720, 120)
        # video-extend names a video of this server, which the upstream cannot know.
        r = httpx.post(
            f"{srv.base_url}/v1/videos/video-extend",
            json={"video_id": task["task_result"]["videos"][0]["id"]},
            headers=srv.headers(),
        )
        assert r.json()["code"] == 1201 and "relay" in r.json()["message"]
    finally:
        srv.stop()


def _finished(srv: Server, path: str) -> dict[str, object]:
    for _ in range(600):
        task: dict[str, object] = httpx.get(f"{srv.base_url}{path}", headers=srv.headers()).json()[
            "data"
        ]
        if task["task_status"] in ("succeed", "failed"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish")


def test_audio_endpoints_are_relayed_to_the_upstreams(
    upstream: Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    import av

    srv = relay(tmp_path / "relay", upstream, f"omnivideo={upstream.base_url}").start()
    try:
        r = httpx.post(
            f"{srv.base_url}/v1/audio/text-to-audio",
            json={"prompt": "a kite flapping in the wind", "duration": "4.5"},
            headers=srv.headers(),
            timeout=60,
        )
        assert r.status_code == 200, r.text
        task = _finished(srv, f"/v1/audio/text-to-audio/{r.json()['data']['task_id']}")
        assert task["task_status"] == "succeed", task
        info = task["task_info"]
        assert isinstance(info, dict)
        theirs = info["upstream_task_id"]
        # The upstream ran it on its own text-to-audio endpoint.
        up = httpx.get(
            f"{upstream.base_url}/v1/audio/text-to-audio/{theirs}", headers=upstream.headers()
        ).json()["data"]
        assert up["task_status"] == "succeed"
        result = task["task_result"]
        assert isinstance(result, dict)
        (track,) = result["audios"]
        # Mirrored into the relay's own storage, not linked to the upstream's.
        assert track["url_wav"].startswith(srv.base_url)
        wav = tmp_path / "relayed.wav"
        wav.write_bytes(httpx.get(track["url_wav"]).content)
        with av.open(str(wav)) as container:
            samples = sum(f.samples for f in container.decode(audio=0))
        assert samples == 4.5 * 48_000
    finally:
        srv.stop()


def test_a_video_id_is_refused_at_submit_where_no_upstream_can_take_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from omnivideo.contract.errors import OmniError
    from omnivideo.contract.spec import ShotPlan, TaskSpec
    from omnivideo.engines.relay import RelayEngine

    monkeypatch.setenv("KLING_ACCESS_KEY", "ak")
    monkeypatch.setenv("KLING_SECRET_KEY", "sk")
    monkeypatch.setenv("OMNIVIDEO_API_KEY", "ov-key")
    spec = TaskSpec(
        endpoint="video-to-audio", model="kling-video-o1", mode="std", width=720, height=720,
        frame_count=120, shots=(ShotPlan(prompt="", frames=120),),
        engine_options={"video_id": "123"},
    )  # fmt: skip
    kling_only = RelayEngine({"upstreams": ["kling=https://kling.invalid"]})
    with pytest.raises(OmniError) as refused:
        kling_only.check(spec)
    assert refused.value.code == 1201 and "video_url" in refused.value.message
    # A link the client gave is forwarded as it is; an omnivideo upstream takes the file.
    kling_only.check(spec.model_copy(update={"engine_options": {}}))
    RelayEngine(
        {"upstreams": ["kling=https://kling.invalid", "omnivideo=http://127.0.0.1:9"]}
    ).check(spec)
