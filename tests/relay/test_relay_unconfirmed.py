"""The relay after a create whose answer was lost: it fails over only once the upstream says
the task does not exist (mocked upstreams, so the lost answer can be staged exactly)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from omnivideo.contract.spec import ShotPlan
from omnivideo.engines.base import RenderJob, RunContext
from omnivideo.engines.relay import RelayEngine
from omnivideo.media.encode import Mp4Writer


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLING_ACCESS_KEY", "ak")
    monkeypatch.setenv("KLING_SECRET_KEY", "sk" * 20)
    monkeypatch.setenv("COMETAPI_KEY", "ck")
    monkeypatch.setattr("omnivideo.engines.relay.time.sleep", lambda s: None)
    monkeypatch.setattr("omnivideo.client._client.time.sleep", lambda s: None, raising=False)


def mp4_bytes(tmp: Path) -> bytes:
    path = tmp / "clip.mp4"
    with Mp4Writer(path, 64, 64) as writer:
        for i in range(24):
            writer.write(np.full((64, 64, 3), i * 10, dtype=np.uint8))
    return path.read_bytes()


def job(tmp: Path) -> RenderJob:
    request = {
        "model_name": "kling-v3-omni",
        "prompt": "a kite",
        "mode": "std",
        "duration": "3",
        "aspect_ratio": "16:9",
    }
    return RenderJob.of(
        task_id="123456789012345678", model="kling-v3-omni", mode="std", width=64, height=64, fps=24,
        frame_count=24, seed=1, prompt="a kite", shots=(ShotPlan(prompt="a kite", frames=24),), work_dir=tmp / "work", request=request,
    )  # fmt: skip


def kling_task(task_id: str, status: str, url: str = "") -> dict:  # type: ignore[type-arg]
    result = {"videos": [{"id": "v", "url": url, "duration": "1.0"}]} if url else {}
    data = {"task_id": task_id, "task_status": status, "task_status_msg": "", "task_info": {"external_task_id": "ov-123456789012345678"},
            "task_result": result, "final_unit_deduction": "2.4", "created_at": 1, "updated_at": 2}  # fmt: skip
    return {"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}


def not_found() -> httpx.Response:
    return httpx.Response(
        404, json={"code": 1203, "message": "task does not exist", "request_id": "r"}
    )


def test_lost_create_that_landed_is_polled_not_submitted_again(tmp_path: Path) -> None:
    clip = mp4_bytes(tmp_path)
    creates: dict[str, int] = {"a": 0, "b": 0}
    lookups = [0]

    def upstream(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if request.method == "POST":
            creates[host] += 1
            raise httpx.ReadTimeout("answer lost", request=request)  # the task did land on "a"
        if request.url.path.endswith(".mp4"):
            return httpx.Response(200, content=clip)
        lookups[0] += 1
        if lookups[0] <= 4:  # the upstream cannot answer for a while
            return httpx.Response(503, json={"code": 5001, "message": "busy", "request_id": "r"})
        return httpx.Response(200, json=kling_task("up-1", "succeed", f"http://{host}/v.mp4"))

    engine = RelayEngine(
        {
            "upstreams": ["kling=http://a", "cometapi=http://b"],
            "transport": httpx.MockTransport(upstream),
            "poll_interval_s": 0.01,
        }
    )
    saved: list[dict] = []  # type: ignore[type-arg]
    ctx = RunContext(on_save=saved.append)
    rendered = engine.render(job(tmp_path), ctx)
    assert creates == {"a": creates["a"], "b": 0} and creates["a"] >= 1
    assert (
        rendered.info == {"upstream": "kling", "upstream_task_id": "up-1"}
        and rendered.units == "2.4"
    )
    assert all(s["upstream"] == "kling" for s in saved)


def test_lost_create_that_did_not_land_fails_over(tmp_path: Path) -> None:
    clip = mp4_bytes(tmp_path)
    creates: dict[str, int] = {"a": 0, "b": 0}

    def upstream(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if request.url.path.endswith(".mp4"):
            return httpx.Response(200, content=clip)
        if host == "a":
            if request.method == "POST":
                creates["a"] += 1
                raise httpx.ReadTimeout("answer lost", request=request)
            return not_found()
        if request.method == "POST":
            creates["b"] += 1
            body = json.loads(request.content)
            return httpx.Response(
                200,
                json=kling_task("up-b", "submitted")
                | {
                    "data": {
                        **kling_task("up-b", "submitted")["data"],
                        "task_info": {"external_task_id": body["external_task_id"]},
                    }
                },
            )
        return httpx.Response(
            200,
            json={
                "code": 0,
                "message": "success",
                "request_id": "up-b",
                "data": kling_task("up-b", "succeed", "http://b/v.mp4")["data"],
            },
        )

    engine = RelayEngine(
        {
            "upstreams": ["kling=http://a", "cometapi=http://b"],
            "transport": httpx.MockTransport(upstream),
            "poll_interval_s": 0.01,
        }
    )
    rendered = engine.render(job(tmp_path), RunContext())
    assert creates["b"] == 1 and rendered.info["upstream"] == "cometapi"
